"""Prepared-data layout checks: great-expectations suites on per-sample summary frames (spec §4.9),
and the light loaders later steps use to refuse corrupted prepared files with a clear message."""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path

import pandas as pd

from components.core.errors import DataValidationError
from components.grammar.queries import LEFTOVER, keep_rate
from components.grammar.schema import SCHEMA


def table_frames(db_path: Path, rows_cfg, year_range) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(entity rows with their key, year and FK check; per-table counts vs configured)."""
    lo, hi = year_range
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as con:
        counts = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in SCHEMA}
        fk_bad = {}
        for t, s in SCHEMA.items():
            bad = 0
            for col, ref, ref_col in s.foreign_keys:
                bad += con.execute(f"SELECT COUNT(*) FROM {t} LEFT JOIN {ref} ON {t}.{col} = {ref}.{ref_col} "
                                   f"WHERE {ref}.{ref_col} IS NULL").fetchone()[0]
            fk_bad[t] = bad
        ents = []
        for t in ("company", "person", "project"):
            year_col = {"company": "founded_year", "person": "birth_year", "project": "start_year"}[t]
            for name, year in con.execute(f"SELECT name, {year_col} FROM {t}"):
                ents.append({"table": t, "name": name, "year": int(year)})
    expected = {"company": rows_cfg.company, "person": rows_cfg.person, "employment": rows_cfg.person,
                "project": rows_cfg.project}
    count_frame = pd.DataFrame([{"table": t, "rows": counts[t], "expected": expected[t], "fk_unresolved": fk_bad[t]}
                                for t in SCHEMA])
    frame = pd.DataFrame(ents)
    frame["year_lo"], frame["year_hi"] = lo, hi
    return frame, count_frame


def query_frame(examples: list[dict], db_path: Path) -> pd.DataFrame:
    """One row per query: words, leftover placeholders, answer/doc counts, group size, SQL row count."""
    sizes = Counter((e["group_id"], e["attribute"]) for e in examples)
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as con:
        sql_rows = {}
        for e in examples:
            key = (e["sql"], tuple(e["params"]))
            if key not in sql_rows:
                sql_rows[key] = len(con.execute(e["sql"], e["params"]).fetchall())
    return pd.DataFrame([{"example_id": e["example_id"], "attribute": e["attribute"],
                          "n_words": len(e["query"].split()), "n_leftover": len(LEFTOVER.findall(e["query"])),
                          "n_answer_cells": len([a for a in e["answer"] if str(a).strip()]),
                          "n_true_docs": len(e["true_doc_ids"]), "group_size": sizes[(e["group_id"], e["attribute"])],
                          "sql_rows": sql_rows[(e["sql"], tuple(e["params"]))]} for e in examples])


def document_frame(docs: list[dict], all_facts: dict[str, list[tuple[str, str]]], defects: dict) -> pd.DataFrame:
    """One row per entity: rendered or not vs defects.json; facts kept vs expected after deletion."""
    by_id = {d["doc_id"]: d for d in docs}
    missing = set(defects["missing_docs"])
    deleted = set(defects["deleted_fact"]["docs"])
    column = defects["deleted_fact"]["column"]
    rows = []
    for doc_id, facts in all_facts.items():
        doc = by_id.get(doc_id)
        expected = [s for a, s in facts if not (doc_id in deleted and a == column)]
        present = sum(s in doc["text"] for s in expected) if doc else 0
        leaked = sum(s in doc["text"] for a, s in facts if doc_id in deleted and a == column) if doc else 0
        rows.append({"doc_id": doc_id, "rendered": doc is not None, "expected_rendered": doc_id not in missing,
                     "facts_present": present, "facts_expected": len(expected) if doc_id not in missing else 0,
                     "deleted_leaked": leaked, "n_words": len(doc["text"].split()) if doc else 0})
    return pd.DataFrame(rows)


def keep_frame(examples: list[dict], kept: set[str], defect_groups: set[str], keep) -> pd.DataFrame:
    """Realised keep rate per (attribute, defect class) vs the knob, and the min variants per group."""
    rows = []
    for attr in sorted({e["attribute"] for e in examples}):
        for is_defect in (False, True):
            members = [e for e in examples if e["attribute"] == attr and (e["group_id"] in defect_groups) == is_defect]
            if not members:
                continue
            n_kept = sum(e["example_id"] in kept for e in members)
            per_group = Counter(e["group_id"] for e in members if e["example_id"] in kept)
            groups = {e["group_id"] for e in members}
            rate = keep_rate(keep, attr, is_defect)
            rows.append({"attribute": attr, "defect_groups": is_defect, "n": len(members),
                         "realised": n_kept / len(members), "knob": rate,
                         "abs_dev": abs(n_kept / len(members) - rate),
                         "tolerance": max(0.05, 1 / math.sqrt(len(members))),
                         "min_per_group": min(per_group.get(g, 0) for g in groups)})
    return pd.DataFrame(rows)


def suites(frames: dict[str, pd.DataFrame], k: int, min_words: int) -> dict[str, list]:
    from components.core.validation import expect

    out = {
        "grammar-entities": [
            expect("ExpectColumnValuesToBeUnique", column="name"),
            expect("ExpectColumnValuesToNotBeNull", column="name"),
            expect("ExpectColumnPairValuesAToBeGreaterThanB", column_A="year", column_B="year_lo", or_equal=True),
            expect("ExpectColumnPairValuesAToBeGreaterThanB", column_A="year_hi", column_B="year", or_equal=True)],
        "grammar-tables": [
            expect("ExpectColumnPairValuesToBeEqual", column_A="rows", column_B="expected"),
            expect("ExpectColumnValuesToBeBetween", column="fk_unresolved", min_value=0, max_value=0)],
        "grammar-documents": [
            expect("ExpectColumnPairValuesToBeEqual", column_A="rendered", column_B="expected_rendered"),
            expect("ExpectColumnPairValuesToBeEqual", column_A="facts_present", column_B="facts_expected"),
            expect("ExpectColumnValuesToBeBetween", column="deleted_leaked", min_value=0, max_value=0),
            expect("ExpectColumnValuesToBeUnique", column="doc_id")],
        "grammar-unbalanced": [
            expect("ExpectColumnPairValuesAToBeGreaterThanB", column_A="tolerance", column_B="abs_dev", or_equal=True),
            expect("ExpectColumnValuesToBeBetween", column="min_per_group", min_value=1)],
    }
    for attr in ("short", "long"):
        if f"grammar-queries-{attr}" not in frames:
            continue
        words = {"min_value": 2, "max_value": 8} if attr == "short" else {"min_value": min_words}
        out[f"grammar-queries-{attr}"] = [
            expect("ExpectColumnValuesToBeUnique", column="example_id"),
            expect("ExpectColumnValuesToBeBetween", column="group_size", min_value=k, max_value=k),
            expect("ExpectColumnValuesToBeBetween", column="n_leftover", min_value=0, max_value=0),
            expect("ExpectColumnValuesToBeBetween", column="n_words", **words),
            expect("ExpectColumnValuesToBeBetween", column="n_answer_cells", min_value=1),
            expect("ExpectColumnValuesToBeBetween", column="n_true_docs", min_value=1),
            expect("ExpectColumnValuesToBeBetween", column="sql_rows", min_value=1, max_value=1)]
    return out


REQUIRED_KEYS = ("example_id", "group_id", "attribute", "query", "answer", "true_doc_ids", "asks")


def load_query_set(path: Path, k: int | None) -> list[dict]:
    """A prepared ``qa_*.jsonl``, refused with a named problem if it is unreadable or breaks invariants."""
    fix = "rerun `paperflows run grammar --step prepare` to regenerate the prepared data"
    if not path.exists():
        return []
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataValidationError(f"{path.name} line {i} is not valid JSON ({exc.msg})", fix) from None
        missing = [key for key in REQUIRED_KEYS if key not in row]
        if missing:
            raise DataValidationError(f"{path.name} line {i} lacks {missing}", fix)
        rows.append(row)
    if k is not None:
        sizes = Counter(r["group_id"] for r in rows)
        bad = sorted(g for g, n in sizes.items() if n != k)
        if bad:
            raise DataValidationError(f"{path.name}: {len(bad)} group(s) do not have K={k} variants, e.g. {bad[0]!r}",
                                      fix)
    return rows
