"""Loaders of the official GRAMMAR data layouts (spec §4.8) on fixtures in those layouts with invented content."""

import shutil
import sqlite3
from pathlib import Path

import pytest

from components.core.errors import DataValidationError
from components.grammar.official_data import load_official, n_id_columns, parse_answer

LAYOUTS = Path(__file__).parent / "fixtures" / "official_layouts"


def test_spider_layout_gives_groups_answers_true_ids_and_documents(tmp_path):
    root = tmp_path / "spider"
    shutil.copytree(LAYOUTS / "spider", root)
    with sqlite3.connect(root / "rel_database" / "company_employee.sqlite") as con:
        con.executescript((root / "rel_database" / "schema.sql").read_text())
    data = load_official("spider", root)
    assert [t["n_ids"] for t in data.templates] == [1, 2]
    groups = {e["group_id"] for e in data.examples}
    assert groups == {"T1:0", "T1:1", "T2:0"} and len(data.examples) == 2 * 3 * 2
    tenure = next(e for e in data.examples if e["group_id"] == "T2:0" and e["attribute"] == "long")
    assert tenure["answer"] == ["3"] and tenure["true_doc_ids"] == ["1", "11"]  # 1.0 → "1": keys are strings
    assert {d["doc_id"] for d in data.documents} == {"company_documents/1", "company_documents/2",
                                                      "employee_documents/1#0"}
    assert data.sqlite is not None and data.sqlite.name == "company_employee.sqlite"
    assert data.unresolved == ["11"]  # the employee id is not a document key (the repo keys resumes by company)


def test_aurp_layout_has_a_client_group_without_a_document():
    data = load_official("aurp", LAYOUTS / "aurp")
    assert data.unresolved == ["Wenlow Crossings"] and data.sqlite is None
    assert data.coverage == pytest.approx(0.5)  # half the examples ask about a client with no document: gap groups
    assert {e["answer"][0] for e in data.examples} == {"2031-02-01", "Ferries"}


def test_answers_are_parsed_as_literals_never_evaluated():
    assert parse_answer("[('Kelp', 1.0)]", 1, "x") == (["Kelp"], ["1"])
    with pytest.raises(DataValidationError, match="not a literal"):
        parse_answer("[(__import__('os').getcwd(), 1)]", 1, "x")
    with pytest.raises(DataValidationError, match="exactly one answer row"):
        parse_answer("[('a', 1), ('b', 2)]", 1, "x")
    assert n_id_columns("SELECT e.Year_working, e.Company_ID, e.People_ID FROM employment e") == 2


def test_broken_layouts_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(DataValidationError, match="does not exist"):
        load_official("aurp", tmp_path / "nope")
    with pytest.raises(DataValidationError, match="unknown grammar.paper.source"):
        load_official("wiki", tmp_path)
    root = tmp_path / "aurp"
    shutil.copytree(LAYOUTS / "aurp", root)
    (root / "QADataGenerator" / "long_with_ids.json").write_text("[[]]")
    with pytest.raises(DataValidationError, match="one list of groups per template"):
        load_official("aurp", root)
    (root / "QADataGenerator" / "long_with_ids.json").unlink()
    with pytest.raises(DataValidationError, match="long_with_ids.json not found"):
        load_official("aurp", root)
