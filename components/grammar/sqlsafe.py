"""SQL templates checked against the database's own schema before they run.

Templates are SQL text with ``'[table.column]'`` placeholders; values always travel as ``?`` parameters,
but table and column names are part of the text. This project's templates are built from the schema
whitelist, and the paper profile reads templates and databases a user supplies — so every template is
checked against the schema the database itself reports: only the SELECT shape templates need (SELECT,
DISTINCT, FROM, JOIN … ON, WHERE … AND/OR, ORDER BY), every table and column must exist, one statement.
A name carrying SQL (``industry FROM company; DROP TABLE person``) fails here with the name in the error.
"""

from __future__ import annotations

import re
import sqlite3

from components.core.errors import DataValidationError

KEYWORDS = {"SELECT", "DISTINCT", "FROM", "JOIN", "INNER", "LEFT", "OUTER", "ON", "WHERE", "AND", "OR", "AS",
            "ORDER", "BY", "ASC", "DESC", "IS", "NOT", "NULL"}
TOKEN = re.compile(r"\s+|'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?|\d+|[,=()*<>!]+|.")
PLACEHOLDER = re.compile(r"'\[([^\]]*)\]'")
IDENT = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)?")


def database_schema(con: sqlite3.Connection) -> dict[str, set[str]]:
    """{table: {columns}} as SQLite reports it (names read as data, never put into SQL text)."""
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: {r[0] for r in con.execute("SELECT name FROM pragma_table_info(?)", (t,))} for t in tables}


def check_template(sql: str, schema: dict[str, set[str]], where: str) -> None:
    """Raise a :class:`DataValidationError` naming the first identifier or token not allowed in ``sql``.

    Names compare case-insensitively (as SQLite's do); ``FROM employment e`` / ``JOIN company AS c`` aliases are
    resolved; one trailing ``;`` is allowed (the official templates end with one)."""
    def refuse(token: str, why: str) -> None:
        raise DataValidationError(f"{where}: SQL identifier {token!r} {why} (tables: {', '.join(sorted(schema))})",
                                  "fix the template: table and column names must be the database's own, and a "
                                  "template is one SELECT statement")

    columns = {t.lower(): {c.lower() for c in cols} for t, cols in schema.items()}
    tokens = [t for t in TOKEN.findall(sql.rstrip().removesuffix(";")) if not t.isspace()]
    if not tokens or tokens[0].upper() != "SELECT":
        refuse(tokens[0] if tokens else "", "does not start a SELECT statement")
    aliases: dict[str, str] = {}  # name or alias (lower case) → table (lower case)
    for i, tok in enumerate(tokens[:-1]):
        if tok.upper() in ("FROM", "JOIN"):
            table = tokens[i + 1].lower()
            aliases[table] = table
            rest = tokens[i + 2:i + 4]
            if rest[:1] and rest[0].upper() == "AS" and len(rest) > 1:
                aliases[rest[1].lower()] = table
            elif rest[:1] and IDENT.fullmatch(rest[0]) and rest[0].upper() not in KEYWORDS:
                aliases[rest[0].lower()] = table

    def column(ref: str, placeholder: bool = False) -> None:
        head, _, col = ref.partition(".")
        table = head.lower() if placeholder else aliases.get(head.lower(), "")
        if table not in columns or col.lower() not in columns[table]:
            refuse(ref, "is not a column of the database")

    for prev, tok in zip([""] + tokens, tokens):  # in order: the error names the first bad token
        if prev.upper() in ("FROM", "JOIN"):
            if tok.lower() not in columns:
                refuse(tok, "is not a table of the database")
        elif tok.startswith("'"):
            ref = PLACEHOLDER.fullmatch(tok)
            if ref:
                column(ref.group(1), placeholder=True)
        elif tok.upper() in KEYWORDS or tok.isdigit() or re.fullmatch(r"[,=()*<>!]+", tok):
            continue
        elif IDENT.fullmatch(tok):
            if "." in tok:
                column(tok)
            elif tok.lower() not in aliases and not any(tok.lower() in columns.get(t, ()) for t in aliases.values()):
                refuse(tok, "is not a column of the tables in FROM/JOIN")
        else:
            refuse(tok, "is not allowed in a template")
