"""Seeded generator of the fictional relational DB (spec §4.1), written with parameterised SQLite.

The same schema with ``seed + 1`` and the main DB's names excluded gives the reader-training DB, so
reader (b) never sees an evaluation entity.
"""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from pathlib import Path

from components.core.io import atomic_path
from components.grammar import lexicon
from components.grammar.schema import SCHEMA, create_statements


def _name(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.choice(lexicon.SYLLABLES) for _ in range(rng.randint(lo, hi))).capitalize()


def _unique_names(rng: random.Random, n: int, make, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        name = make(rng)
        low = name.lower()
        if name in taken or any(b in low.split() or b == low for b in lexicon.BLOCKLIST):
            continue
        taken.add(name)
        out.append(name)
    return out


def generate_rows(db, seed: int, exclude_names: set[str] | None = None) -> dict[str, list[tuple]]:
    """Rows per table as tuples in schema column order; deterministic in (db params, seed)."""
    rng = random.Random(seed)
    taken = set(exclude_names or ())
    lo, hi = db.year_range
    n_c, n_p, n_j = db.rows.company, db.rows.person, db.rows.project
    industries = lexicon.INDUSTRIES[:db.n_industries]
    cities = lexicon.CITIES[:db.n_cities]
    nationalities = lexicon.NATIONALITIES[:db.n_nationalities]
    colleges = lexicon.COLLEGES[:db.n_colleges]
    companies = _unique_names(rng, n_c, lambda r: f"{_name(r, 2, 3)} {r.choice(lexicon.COMPANY_SUFFIXES)}", taken)
    people = _unique_names(rng, n_p, lambda r: f"{_name(r, 2, 2)} {_name(r, 2, 3)}", taken)
    projects = _unique_names(rng, n_j, lambda r: f"{_name(r, 2, 2)} {r.choice(lexicon.PROJECT_NOUNS)}", taken)
    company = [(i + 1, nm, rng.choice(industries), rng.choice(cities), rng.randint(lo, hi))
               for i, nm in enumerate(companies)]
    person = [(i + 1, nm, rng.choice(nationalities), rng.choice(colleges), rng.randint(lo, hi))
              for i, nm in enumerate(people)]
    employment = [(rng.randint(1, n_c), pid, rng.randint(1, 30)) for pid in range(1, n_p + 1)]
    project = [(i + 1, nm, rng.randint(1, n_c), rng.randint(1, n_p), rng.randint(lo, hi))
               for i, nm in enumerate(projects)]
    return {"company": company, "person": person, "employment": employment, "project": project}


def write_db(path: Path, rows: dict[str, list[tuple]]) -> Path:
    """Create the SQLite file atomically; every INSERT is parameterised."""
    with atomic_path(path) as tmp:
        with closing(sqlite3.connect(tmp)) as con:
            con.execute("PRAGMA foreign_keys = ON")
            for stmt in create_statements():
                con.execute(stmt)
            for table, data in rows.items():
                cols = SCHEMA[table].columns
                con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                data)
            con.commit()
    return path


def read_rows(path: Path) -> dict[str, list[tuple]]:
    """All rows of every table, ordered by primary key (a read-only connection)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        return {t: con.execute(f"SELECT {', '.join(s.columns)} FROM {t} ORDER BY {', '.join(s.primary_key)}")
                .fetchall() for t, s in SCHEMA.items()}


def all_names(rows: dict[str, list[tuple]]) -> set[str]:
    return {r[1] for t in ("company", "person", "project") for r in rows[t]}
