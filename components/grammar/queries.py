"""Query population (spec §3.1 step 3, §4.4): Cartesian product of DISTINCT placeholder values, one
answer row per kept fill, K text variants per semantic group; balanced and seeded unbalanced sets."""

from __future__ import annotations

import itertools
import math
import random
import re
import sqlite3
from contextlib import closing
from pathlib import Path

from components.core.seeding import derive_seed
from components.grammar.schema import ident
from components.grammar.sqlsafe import check_template, database_schema
from components.grammar.templates import SqlTemplate

LEFTOVER = re.compile(r"\[[a-z_]+\.[a-z_]+\]|\{[a-z_]+\}")


class TemplateError(ValueError):
    """A template breaks a generation invariant (it is rejected, never silently shrunk)."""


def check_text_templates(sql: SqlTemplate, texts: list[str], k: int) -> None:
    if len(texts) != k or len(set(texts)) != k:
        raise TemplateError(f"{sql.id}: expected {k} distinct text templates, got {len(set(texts))}")
    for text in texts:
        missing = [p for p in sql.placeholders if f"'[{p}]'" not in text]
        if missing:
            raise TemplateError(f"{sql.id}: text template lacks placeholder(s) {missing}: {text!r}")


def fill(text: str, values: dict[str, str], distractor: str = "") -> str:
    out = text
    for ref, value in values.items():
        out = out.replace(f"[{ref}]", value)
    out = out.replace("{distractor}", distractor)
    if LEFTOVER.search(out):
        raise TemplateError(f"unfilled placeholder in {out!r}")
    return out


def _distinct(con, ref: str) -> list[str]:
    col = ident(ref)
    table = col.split(".")[0]
    return [r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM {table} ORDER BY {col}")]


def populate(db_path: Path, templates: list[SqlTemplate], texts: dict[str, dict[str, list[str]]],
             k: int, seed: int) -> tuple[list[dict], dict]:
    """All examples (every attribute, K variants per group) and a per-template fill log.

    ``texts[attribute][template id]`` are the text templates. A template whose fill returns more than
    one row is dropped whole (no_answer_multiplicity); empty answers drop only that fill.
    """
    examples: list[dict] = []
    log: dict[str, dict] = {}
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as con:
        schema = database_schema(con)
        for t in templates:
            for sql in (t.sql, t.sql_with_ids):
                if sql:
                    check_template(sql, schema, f"template {t.id} ({t.attribute})")
            for attr in texts:
                check_text_templates(t, texts[attr][t.id], k)
            domains = [_distinct(con, ref) for ref in t.placeholders]
            names_by_table = {ref.split(".")[0]: dom for ref, dom in zip(t.placeholders, domains)}
            kept, empty, multi = [], 0, 0
            for combo in itertools.product(*domains):
                rows = con.execute(t.parameterised(), combo).fetchall()
                if not rows:
                    empty += 1
                    continue
                if len(rows) > 1:
                    multi += 1
                    break
                ids = con.execute(t.parameterised(with_ids=True), combo).fetchall()
                kept.append((combo, rows[0], sorted({f"{t.doc_table}:{r[-1]}" for r in ids})))
            log[t.id] = {"fills": math.prod(len(d) for d in domains), "empty": empty, "kept": len(kept),
                         "multi_row": multi, "dropped": multi > 0}
            if multi:
                continue
            for combo, answer, doc_ids in kept:
                values = dict(zip(t.placeholders, combo))
                group_id = f"{t.id}:" + "|".join(combo)
                first_table = t.placeholders[0].split(".")[0]
                others = [n for n in names_by_table[first_table] if n != combo[0]]
                for attr, by_template in texts.items():
                    for i, text in enumerate(by_template[t.id]):
                        rng = random.Random(derive_seed(seed, group_id, attr, i))
                        query = fill(text, values, rng.choice(others) if others else "")
                        examples.append({"example_id": f"{group_id}#{attr}#{i}", "group_id": group_id,
                                         "template_id": t.id, "attribute": attr, "variant_idx": i,
                                         "query": query, "answer": [str(v) for v in answer],
                                         "sql": t.parameterised(), "params": list(combo),
                                         "true_doc_ids": doc_ids, "asks": t.attribute})
    return examples, log


def unbalanced_ids(examples: list[dict], defect_groups: set[str], keep, k: int, seed: int) -> list[str]:
    """Seeded subsample with keep rates fixed before evaluation (by defect class, not by outcomes).

    Per group the kept count is the rate × K rounded stochastically (so the realised rate matches the
    knob on average) and at least one.
    """
    by_group: dict[tuple[str, str], list[dict]] = {}
    for e in examples:
        by_group.setdefault((e["group_id"], e["attribute"]), []).append(e)
    kept: list[str] = []
    for (gid, attr), members in sorted(by_group.items()):
        rate = keep_rate(keep, attr, gid in defect_groups)
        rng = random.Random(derive_seed(seed, "unbalanced", gid, attr))
        n = int(rate * len(members)) + (rng.random() < (rate * len(members)) % 1)
        n = max(1, min(len(members), n))
        kept += sorted(e["example_id"] for e in rng.sample(members, n))
    return kept


def keep_rate(keep, attribute: str, defect_group: bool) -> float:
    if attribute == "short":
        return keep.short
    return keep.long_defect_groups if defect_group else keep.long
