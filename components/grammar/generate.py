"""GRAMMAR-Gen end to end (the body of ``prepare``): DB → templates → text templates → QA groups →
documents with defects → balanced/unbalanced sets → reader-training pairs. Pure: returns the artefacts."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from components.core.seeding import derive_seed
from components.grammar import database, documents, queries, templates


@dataclass
class Generated:
    rows: dict
    train_rows: dict
    sql_templates: list
    texts: dict  # attribute → template id → list of text templates
    examples: list[dict]
    unbalanced: list[str]
    docs: list[dict]
    defects: dict
    reader_pairs: list[dict]
    fill_log: dict


def defect_groups(examples: list[dict], chosen: dict) -> dict[str, list[str]]:
    """group id → injected DB causes: ``db_missing`` (true doc absent), ``db_content`` (fact deleted)."""
    missing = set(chosen["missing_docs"])
    deleted = set(chosen["deleted_fact"]["docs"])
    column = chosen["deleted_fact"]["column"]
    out: dict[str, list[str]] = {}
    for e in examples:
        causes = []
        if any(d in missing for d in e["true_doc_ids"]):
            causes.append("db_missing")
        elif e["asks"] == column and any(d in deleted for d in e["true_doc_ids"]):
            causes.append("db_content")
        out[e["group_id"]] = causes
    return out


def text_templates_for(llm, sql_templates, attributes, k: int, seed: int) -> dict:
    return {attr: {t.id: llm.paraphrase(t.placeholders, t.attribute, attr, k, derive_seed(seed, t.id, attr))
                   for t in sql_templates} for attr in attributes}


def generate(p, db_path: Path, train_db_path: Path, llm) -> Generated:
    q = p.queries
    rows = database.generate_rows(p.db, p.seed)
    database.write_db(db_path, rows)
    train_rows = database.generate_rows(p.db, p.seed + 1, exclude_names=database.all_names(rows))
    database.write_db(train_db_path, train_rows)
    sql = templates.hand_checked_templates(q.templates)
    for t in sql:
        problems = templates.check_constraints(t)
        if problems:
            raise queries.TemplateError(f"{t.id} violates {problems}")
    # every draw derives from grammar.seed, so another seed block (the stability check) changes them all
    texts = text_templates_for(llm, sql, q.attributes, q.K, derive_seed(p.seed, "paraphrase", q.paraphrase_seed))
    examples, fill_log = queries.populate(db_path, sql, texts, q.K, p.seed)
    chosen = documents.choose_defects(rows, p.defects, p.seed)
    docs = documents.render_documents(rows, chosen, p.seed)
    causes = defect_groups(examples, chosen)
    defects = {**chosen, "groups": {g: c for g, c in sorted(causes.items())}}
    unbalanced = queries.unbalanced_ids(examples, {g for g, c in causes.items() if c}, q.keep, q.K,
                                        derive_seed(p.seed, "unbalanced", q.unbalanced_seed))
    reader_pairs = reader_training_pairs(train_db_path, train_rows, sql, texts, q.K, p.seed)
    return Generated(rows, train_rows, sql, texts, examples, unbalanced, docs, defects, reader_pairs, fill_log)


def reader_training_pairs(train_db_path: Path, train_rows: dict, sql, texts, k: int, seed: int) -> list[dict]:
    """(query, true document, answer) on the training DB (no defects); long ones are validation only."""
    ex, _ = queries.populate(train_db_path, sql, texts, k, seed + 1)
    docs = {d["doc_id"]: d["text"] for d in documents.render_documents(
        train_rows, {"missing_docs": [], "deleted_fact": {"column": "", "docs": []}}, seed + 1)}
    rng = random.Random(derive_seed(seed, "reader-split"))
    groups = sorted({e["group_id"] for e in ex})
    val_groups = set(rng.sample(groups, max(1, len(groups) // 10)))
    return [{"query": e["query"], "document": docs[e["true_doc_ids"][0]], "answer": e["answer"][0],
             "attribute": e["attribute"], "split": "val" if e["group_id"] in val_groups else "train"}
            for e in ex]
