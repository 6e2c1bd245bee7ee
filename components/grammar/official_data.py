"""Loaders of the official GRAMMAR data layouts (spec §4.8) for the ``paper`` profile: Spider, Spider-closed, AURP.

Reads data files of ``github.com/xinzhel/grammar`` by path (never its code), from ``data_dir`` = the repository's
``benchmarks/<source>/`` folder:

* ``SQLTemplateGenerator/sql_templates_with_ids.json``: ``{"('table', ...)": [SQL, ...]}``; each SQL projects the
  asked column first, then the primary key(s) of the true documents;
* ``QADataGenerator/{short,long}_with_ids.json``: per template (in the order above) a list of semantic groups
  ``[answer_repr, [query, ...]]``, where ``answer_repr`` is the Python repr of the answer rows, e.g.
  ``"[('Oil and gas', 1.0)]"`` — parsed with ``ast.literal_eval`` (never ``eval``, spec §2 item 2);
* ``retrieval_database/*.json``: ``{key: text}`` or ``{key: [text, ...]}`` (several documents per key; an empty
  list is a key without documents, the AURP knowledge-gap situation);
* optionally the SQLite DB (``rel_database/company_employee.sqlite``), opened read-only.

The result is this project's example / document records, so the evaluate code can score them.
"""

from __future__ import annotations

import ast
import json
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from components.core.errors import DataValidationError
from components.grammar.sqlsafe import check_template, database_schema

SOURCES = ("spider", "spider_closed", "aurp")
TEMPLATES = "SQLTemplateGenerator/sql_templates_with_ids.json"
QA = "QADataGenerator/{attr}_with_ids.json"
DOCUMENTS = "retrieval_database"
SQLITE = ("rel_database/company_employee.sqlite", "rel_database/aurp.sqlite")
SELECT = re.compile(r"^\s*select\s+(?:distinct\s+)?(?P<cols>.+?)\s+from\s", re.IGNORECASE | re.DOTALL)


@dataclass
class OfficialData:
    source: str
    templates: list[dict]
    examples: list[dict]
    documents: list[dict]
    sqlite: Path | None
    unresolved: list[str] = field(default_factory=list)  # true ids with no document (gap groups, as in AURP)

    @property
    def coverage(self) -> float:
        """Share of examples whose every true document is in the retrieval DB."""
        keys = {d["key"] for d in self.documents}
        ok = [all(t in keys for t in e["true_doc_ids"]) for e in self.examples]
        return sum(ok) / len(ok) if ok else 0.0


def _read_json(path: Path):
    if not path.is_file():
        raise DataValidationError(f"{path} not found", "set grammar.paper.data_dir to the repository's "
                                                       "benchmarks/<source>/ folder (official layout)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataValidationError(f"{path} is not valid JSON ({exc})", "restore the file from the repository") from None


def n_id_columns(sql: str) -> int:
    """Projected columns after the asked one (the primary keys the ``with_ids`` template adds)."""
    m = SELECT.match(sql)
    if not m:
        raise DataValidationError(f"cannot read the SELECT list of {sql!r}", "templates must be SELECT ... FROM ...")
    return len([c for c in m.group("cols").split(",") if c.strip()]) - 1


def normalise_id(value) -> str:
    """1.0 → "1"; other values as text (keys of the document JSON files are strings)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def load_templates(path: Path) -> list[dict]:
    raw = _read_json(path)
    if not isinstance(raw, dict) or not all(isinstance(v, list) for v in raw.values()):
        raise DataValidationError(f"{path}: expected {{\"('table',)\": [SQL, ...]}}", "use sql_templates_with_ids.json")
    out = []
    for tables, sqls in raw.items():
        for sql in sqls:
            out.append({"id": f"T{len(out) + 1}", "tables": tables, "sql": sql, "n_ids": n_id_columns(sql)})
    return out


def parse_answer(text: str, n_ids: int, where: str) -> tuple[list[str], list[str]]:
    """(answer cells, true ids) from one group's answer repr; exactly one answer row (no_answer_multiplicity)."""
    try:
        rows = ast.literal_eval(text) if isinstance(text, str) else text
    except (ValueError, SyntaxError):
        raise DataValidationError(f"{where}: answer {text!r} is not a literal list of tuples",
                                  "restore the QADataGenerator file from the repository") from None
    if not isinstance(rows, (list, tuple)) or len(rows) != 1 or not isinstance(rows[0], (list, tuple)):
        raise DataValidationError(f"{where}: expected exactly one answer row, got {text!r}",
                                  "groups with several answer rows break no_answer_multiplicity; drop them")
    row = list(rows[0])
    if len(row) <= n_ids:
        raise DataValidationError(f"{where}: answer row {row} has no column besides the {n_ids} id(s)",
                                  "use the *_with_ids.json files")
    cut = len(row) - n_ids
    return [normalise_id(v) for v in row[:cut]], [normalise_id(v) for v in row[cut:]]


def load_examples(path: Path, attr: str, templates: list[dict]) -> list[dict]:
    raw = _read_json(path)
    if not isinstance(raw, list) or len(raw) != len(templates):
        raise DataValidationError(f"{path}: expected one list of groups per template ({len(templates)})",
                                  "the QA file and sql_templates_with_ids.json must come from the same run")
    out = []
    for t, groups in zip(templates, raw):
        for j, group in enumerate(groups):
            where = f"{path.name} template {t['id']} group {j}"
            if not (isinstance(group, list) and len(group) == 2 and isinstance(group[1], list)):
                raise DataValidationError(f"{where}: expected [answer_repr, [query, ...]]", "use the official layout")
            answer, ids = parse_answer(group[0], t["n_ids"], where)
            gid = f"{t['id']}:{j}"
            for k, query in enumerate(group[1]):
                out.append({"example_id": f"{gid}#{attr}#{k}", "group_id": gid, "template_id": t["id"],
                            "attribute": attr, "variant_idx": k, "query": str(query), "answer": answer,
                            "sql": t["sql"], "true_doc_ids": ids})
    return out


def load_documents(folder: Path) -> list[dict]:
    """Every ``*.json`` of the retrieval DB folder: ``{key: text | [text, ...]}`` → documents with a ``key``."""
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise DataValidationError(f"no document files in {folder}", "point grammar.paper.data_dir at the folder "
                                                                     "holding retrieval_database/*.json")
    out = []
    for path in files:
        raw = _read_json(path)
        if not isinstance(raw, dict):
            raise DataValidationError(f"{path}: expected {{key: text or [text, ...]}}", "use the official layout")
        for key, value in raw.items():
            texts = value if isinstance(value, list) else [value]
            for i, text in enumerate(texts):
                if not isinstance(text, str):
                    raise DataValidationError(f"{path}: document {key!r} is not text", "use the official layout")
                doc_id = str(key) if not isinstance(value, list) else f"{key}#{i}"
                out.append({"doc_id": f"{path.stem}/{doc_id}", "key": str(key), "text": text})
    return out


def open_sqlite(data_dir: Path) -> Path | None:
    for rel in SQLITE:
        path = data_dir / rel
        if path.is_file():
            try:
                with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
                    con.execute("SELECT name FROM sqlite_master").fetchall()
            except sqlite3.DatabaseError as exc:
                raise DataValidationError(f"{path} is not a readable SQLite DB ({exc})",
                                          "convert the dump to SQLite (spec §4.8)") from None
            return path
    return None


def load_official(source: str, data_dir: Path, attributes: tuple[str, ...] = ("short", "long")) -> OfficialData:
    if source not in SOURCES:
        raise DataValidationError(f"unknown grammar.paper.source {source!r}", f"use one of {', '.join(SOURCES)}")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataValidationError(f"grammar.paper.data_dir {data_dir} does not exist",
                                  "set it to the repository's benchmarks/<source>/ folder")
    templates = load_templates(data_dir / TEMPLATES)
    sqlite = open_sqlite(data_dir)
    if sqlite:  # the user's templates are checked against the user's database before anything runs them
        with closing(sqlite3.connect(f"file:{sqlite}?mode=ro", uri=True)) as con:
            schema = database_schema(con)
        for t in templates:
            check_template(t["sql"], schema, f"{data_dir / TEMPLATES} {t['id']}")
    examples = [e for a in attributes for e in load_examples(data_dir / QA.format(attr=a), a, templates)]
    by_attr = {a: [e["group_id"] for e in examples if e["attribute"] == a and e["variant_idx"] == 0] for a in attributes}
    if len({tuple(v) for v in by_attr.values()}) > 1:
        raise DataValidationError(f"{data_dir}: the attributes' QA files hold different groups",
                                  "use short/long files generated from the same fills")
    documents = load_documents(data_dir / DOCUMENTS)
    keys = {d["key"] for d in documents}
    unresolved = sorted({t for e in examples for t in e["true_doc_ids"] if t not in keys})
    return OfficialData(source, templates, examples, documents, sqlite, unresolved)
