"""The closed-domain schema: tables, keys, and the identifier whitelist every SQL statement is built from.

Identifiers (table and column names) never come from data or user input: SQL text is assembled only
from this whitelist, values always travel as ``?`` parameters.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    primary_key: tuple[str, ...]
    key: str | None = None  # the unique human-readable column (None for association tables)
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (column, ref table, ref column)
    surrogate: tuple[str, ...] = ()  # ids: never projected, never placeholders

    @property
    def descriptive(self) -> tuple[str, ...]:
        """Columns worth asking about: not ids, not the key, not foreign keys."""
        fks = {fk[0] for fk in self.foreign_keys}
        return tuple(c for c in self.columns if c not in self.surrogate and c != self.key and c not in fks)


SCHEMA: dict[str, Table] = {
    "company": Table("company", ("company_id", "name", "industry", "headquarters", "founded_year"),
                     ("INTEGER", "TEXT", "TEXT", "TEXT", "INTEGER"), ("company_id",), "name",
                     surrogate=("company_id",)),
    "person": Table("person", ("person_id", "name", "nationality", "college", "birth_year"),
                    ("INTEGER", "TEXT", "TEXT", "TEXT", "INTEGER"), ("person_id",), "name",
                    surrogate=("person_id",)),
    "employment": Table("employment", ("company_id", "person_id", "years_working"),
                        ("INTEGER", "INTEGER", "INTEGER"), ("company_id", "person_id"), None,
                        (("company_id", "company", "company_id"), ("person_id", "person", "person_id")),
                        surrogate=("company_id", "person_id")),
    "project": Table("project", ("project_id", "name", "client_company_id", "manager_person_id", "start_year"),
                     ("INTEGER", "TEXT", "INTEGER", "INTEGER", "INTEGER"), ("project_id",), "name",
                     (("client_company_id", "company", "company_id"), ("manager_person_id", "person", "person_id")),
                     surrogate=("project_id",)),
}
ENTITY_TABLES = ("company", "person", "project")  # tables with a retrieval document per row


def column(ref: str) -> tuple[str, str]:
    """``"table.column"`` → (table, column), only if both are in the whitelist."""
    table, _, col = ref.partition(".")
    if table not in SCHEMA or col not in SCHEMA[table].columns:
        raise ValueError(f"{ref!r} is not a column of the schema")
    return table, col


def ident(ref: str) -> str:
    """A whitelisted ``table.column`` identifier, safe to place in SQL text."""
    table, col = column(ref)
    return f"{table}.{col}"


def create_statements() -> list[str]:
    out = []
    for t in SCHEMA.values():
        cols = [f"{c} {ty}" + (" NOT NULL" if c in t.primary_key or c == t.key else "")
                for c, ty in zip(t.columns, t.types)]
        if t.key:
            cols[t.columns.index(t.key)] += " UNIQUE"
        cols.append(f"PRIMARY KEY ({', '.join(t.primary_key)})")
        cols += [f"FOREIGN KEY ({c}) REFERENCES {rt}({rc})" for c, rt, rc in t.foreign_keys]
        out.append(f"CREATE TABLE {t.name} ({', '.join(cols)})")
    return out
