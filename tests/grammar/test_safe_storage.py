"""Retriever indexes stored as data reproduce the fitted retrievers' scores exactly; SQL templates are checked
against the database's own schema (a hostile name fails with that name, nothing runs)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from components.core.errors import DataValidationError
from components.grammar.retrievers import load_retriever, make_retriever, save_retriever
from components.grammar.schema import create_statements
from components.grammar.sqlsafe import check_template, database_schema
from components.grammar.templates import generate_from_schema

DOCS = ["Acme Corp is a robotics company headquartered in Oslo, founded in 1999.",
        "Jane Doe studied at Kyoto University; Jane Doe is Japanese and works at Acme.",
        "Project Falcon, managed by Jane Doe, serves the client Acme Corp.",
        "Beta Ltd is a shipping company in Oslo. Beta Ltd was founded in 2005 in Oslo."]
QUERIES = ["Where is Acme Corp headquartered?", "Which college did Jane Doe attend?", "oslo oslo company",
           "words nobody wrote", "Who manages Project Falcon for Acme?"]


@pytest.mark.parametrize("name", ["keyword", "tfidf", "bm25"])
def test_stored_index_scores_are_bit_identical(tmp_path, name):
    fitted = make_retriever(name, 1.2, 0.6).fit(DOCS)
    save_retriever(fitted, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.json", f"{name}.npz"]
    with np.load(tmp_path / f"{name}.npz", allow_pickle=False) as z:  # plain arrays only
        assert all(z[k].dtype != object for k in z.files)
    loaded = load_retriever(name, tmp_path)
    assert np.array_equal(loaded.scores(QUERIES), fitted.scores(QUERIES))


def test_bm25_matches_rank_bm25_exactly():
    from rank_bm25 import BM25Okapi

    from components.grammar.retrievers import tokens

    reference = BM25Okapi([tokens(d) for d in DOCS], k1=1.2, b=0.6)
    ours = make_retriever("bm25", 1.2, 0.6).fit(DOCS)
    assert np.array_equal(ours.scores(QUERIES), np.stack([reference.get_scores(tokens(q)) for q in QUERIES]))


@pytest.fixture()
def db(tmp_path) -> Path:
    path = tmp_path / "db.sqlite"
    with closing(sqlite3.connect(path)) as con:
        for stmt in create_statements():
            con.execute(stmt)
    return path


def _schema(path: Path) -> dict[str, set[str]]:
    with closing(sqlite3.connect(path)) as con:
        return database_schema(con)


def test_every_generated_template_passes_the_schema_check(db):
    schema = _schema(db)
    assert schema["company"] >= {"name", "industry"}
    for t in generate_from_schema():
        check_template(t.sql, schema, t.attribute)
        check_template(t.sql_with_ids, schema, t.attribute)


@pytest.mark.parametrize("sql, bad", [
    ("SELECT company.industry FROM company; DROP TABLE person WHERE company.name = '[company.name]'", ";"),
    ("SELECT industry FROM company WHERE company.name = '[company.name]' UNION SELECT sql FROM sqlite_master",
     "UNION"),
    ("SELECT company.industry, (SELECT name FROM sqlite_master) FROM company", "sqlite_master"),
    ("SELECT company.secret FROM company WHERE company.name = '[company.name]'", "company.secret"),
    ("SELECT company.industry FROM company WHERE company.name = '[company.name) OR 1=1 --]'",
     "company.name) OR 1=1 --"),
    ("DELETE FROM company", "DELETE"),
])
def test_hostile_templates_are_refused_naming_the_identifier(db, sql, bad):
    with pytest.raises(DataValidationError) as err:
        check_template(sql, _schema(db), "template T9")
    assert repr(bad) in str(err.value) and "template T9" in str(err.value)


def test_a_hostile_column_in_a_template_stops_query_generation(db, tmp_path):
    from components.grammar.queries import populate
    from components.grammar.templates import SqlTemplate

    t = generate_from_schema()[0]
    hostile = SqlTemplate("T1", t.sql.replace(t.projected, f"{t.projected} FROM company; DROP TABLE person --", 1),
                          t.projected, t.attribute, t.doc_table, t.doc_pk, t.sql_with_ids)
    with pytest.raises(DataValidationError, match="template T1"):
        populate(db, [hostile], {"short": {"T1": ["x"]}}, 1, 0)
    assert "person" in _schema(db)


def test_official_templates_are_checked_against_the_users_database(tmp_path, db):
    from components.grammar.official_data import SQLITE, TEMPLATES, load_official

    root = tmp_path / "bench"
    (root / Path(SQLITE[0]).parent).mkdir(parents=True)
    (root / SQLITE[0]).write_bytes(db.read_bytes())
    (root / Path(TEMPLATES).parent).mkdir(parents=True)
    hostile = "SELECT company.industry, company.company_id FROM company WHERE company.name = '[company.name]' " \
              "UNION SELECT sql, 1 FROM sqlite_master"
    (root / TEMPLATES).write_text(json.dumps({"('company',)": [hostile]}))
    with pytest.raises(DataValidationError, match="UNION"):
        load_official("spider", root, ("short",))
