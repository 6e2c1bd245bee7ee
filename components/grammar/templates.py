"""SQL templates with ``'[table.column]'`` placeholders: rule-based generation from the schema
(spec §3.1 step 1 constraints) and the hand-checked set T1–T8 it must reproduce (spec §4.2).

Placeholders become ``?`` parameters when a template is executed: values never enter SQL text.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from components.grammar.schema import SCHEMA, ident

PLACEHOLDER = re.compile(r"'\[([a-z_]+\.[a-z_]+)\]'")


@dataclass(frozen=True)
class SqlTemplate:
    id: str
    sql: str  # with '[table.column]' placeholders
    projected: str  # the one projected column (table.column)
    attribute: str  # lexicon key of what is asked (spec's "perspective")
    doc_table: str  # entity table whose document holds the answer
    doc_pk: str  # table.column of that document's id
    sql_with_ids: str = ""  # twin projecting the true document's primary key

    @property
    def placeholders(self) -> list[str]:
        return PLACEHOLDER.findall(self.sql)

    def parameterised(self, with_ids: bool = False) -> str:
        """The SQL text with each placeholder replaced by ``?`` (values are bound separately)."""
        return PLACEHOLDER.sub("?", self.sql_with_ids if with_ids else self.sql)

    def to_dict(self) -> dict:
        return {**asdict(self), "placeholders": self.placeholders}


def _simple(table: str, col: str) -> tuple[str, str]:
    t = SCHEMA[table]
    where = f"{ident(f'{table}.{t.key}')} = '[{table}.{t.key}]'"
    body = f"FROM {table} WHERE {where}"
    pk = ident(f"{table}.{t.primary_key[0]}")
    return f"SELECT {ident(f'{table}.{col}')} {body}", f"SELECT {ident(f'{table}.{col}')}, {pk} {body}"


def _association(table: str, col: str) -> tuple[str, str, str]:
    """Descriptive column of an association table, keyed by the names of both referenced entities."""
    t = SCHEMA[table]
    joins, wheres = [], []
    for fk_col, ref, ref_col in t.foreign_keys:
        joins.append(f"JOIN {ref} ON {ident(f'{table}.{fk_col}')} = {ident(f'{ref}.{ref_col}')}")
        key = SCHEMA[ref].key
        wheres.append(f"{ident(f'{ref}.{key}')} = '[{ref}.{key}]'")
    body = f"FROM {table} {' '.join(joins)} WHERE {' AND '.join(wheres)}"
    doc_table = t.foreign_keys[-1][1]  # the resume (person document) states the tenure
    pk = ident(f"{doc_table}.{SCHEMA[doc_table].primary_key[0]}")
    return (f"SELECT {ident(f'{table}.{col}')} {body}", f"SELECT {ident(f'{table}.{col}')}, {pk} {body}", doc_table)


def _reference(table: str, fk_col: str, ref: str, ref_col: str) -> tuple[str, str]:
    """The name of an entity referenced by a foreign key, keyed by the referencing entity's name."""
    t = SCHEMA[table]
    ref_key = SCHEMA[ref].key
    body = (f"FROM {table} JOIN {ref} ON {ident(f'{table}.{fk_col}')} = {ident(f'{ref}.{ref_col}')} "
            f"WHERE {ident(f'{table}.{t.key}')} = '[{table}.{t.key}]'")
    pk = ident(f"{table}.{t.primary_key[0]}")
    return f"SELECT {ident(f'{ref}.{ref_key}')} {body}", f"SELECT {ident(f'{ref}.{ref_key}')}, {pk} {body}"


FK_ATTRIBUTE = {"client_company_id": "project.client", "manager_person_id": "project.manager"}


def generate_from_schema() -> list[SqlTemplate]:
    """Every template the rules allow: one projected descriptive column (never an id, never a column
    of the WHERE clause), WHERE on unique human-readable keys, joins only through foreign keys."""
    out: list[SqlTemplate] = []
    for table, t in SCHEMA.items():
        if t.key is None:  # association table: descriptive columns keyed by both entity names
            for col in t.descriptive:
                sql, twin, doc = _association(table, col)
                out.append(SqlTemplate("", sql, f"{table}.{col}", f"{table}.{col}", doc,
                                       f"{doc}.{SCHEMA[doc].primary_key[0]}", twin))
            continue
        for col in t.descriptive:
            sql, twin = _simple(table, col)
            out.append(SqlTemplate("", sql, f"{table}.{col}", f"{table}.{col}", table,
                                   f"{table}.{t.primary_key[0]}", twin))
        for fk_col, ref, ref_col in t.foreign_keys:
            sql, twin = _reference(table, fk_col, ref, ref_col)
            out.append(SqlTemplate("", sql, f"{ref}.{SCHEMA[ref].key}", FK_ATTRIBUTE[fk_col], table,
                                   f"{table}.{t.primary_key[0]}", twin))
    return out


# The hand-checked set (spec §4.2): (id, attribute). birth_year is generated but not in the set.
HAND_CHECKED = {"T1": "company.industry", "T2": "company.headquarters", "T3": "company.founded_year",
                "T4": "person.nationality", "T5": "person.college", "T6": "employment.years_working",
                "T7": "project.client", "T8": "project.manager"}


def hand_checked_templates(ids: list[str]) -> list[SqlTemplate]:
    """T1–T8 as produced by :func:`generate_from_schema` (a mismatch is a bug, not a silent drop)."""
    generated = {t.attribute: t for t in generate_from_schema()}
    out = []
    for tid in ids:
        attribute = HAND_CHECKED[tid]
        if attribute not in generated:
            raise ValueError(f"hand-checked template {tid} ({attribute}) is not generated from the schema")
        g = generated[attribute]
        out.append(SqlTemplate(tid, g.sql, g.projected, g.attribute, g.doc_table, g.doc_pk, g.sql_with_ids))
    return out


def check_constraints(t: SqlTemplate) -> list[str]:
    """The static criteria of spec §3.1 step 1 that a template violates (empty = valid)."""
    problems = []
    select = t.sql.split(" FROM ")[0]
    where = t.sql.split(" WHERE ", 1)[1] if " WHERE " in t.sql else ""
    if not t.sql.startswith("SELECT ") or "*" in select:
        problems.append("not a SELECT of named columns")
    if select.count(",") != 0:
        problems.append("one_perspective: more than one projected column")
    if not t.placeholders or not set(PLACEHOLDER.findall(where)):
        problems.append("one_placeholder: no placeholder in WHERE")
    if t.projected in re.findall(r"([a-z_]+\.[a-z_]+) =", where):
        problems.append("projected column appears in WHERE")
    table, col = t.projected.split(".")
    if col in SCHEMA[table].surrogate:
        problems.append("projects a surrogate id")
    return problems
