"""Retrieval documents rendered from DB rows, with the injected defects (spec §4.5).

Each entity row gives one paragraph of fact sentences interleaved with filler. The renderer checks
that every fact sentence carries the value of its own column (the official code once swapped fields).
"""

from __future__ import annotations

import random

from components.core.seeding import derive_seed
from components.grammar import lexicon

# attribute → sentence pattern. ``{name}`` is the entity's key, ``{value}`` the fact, ``{other}`` a second entity.
FACTS: dict[str, str] = {
    "company.industry": "{name} operates in the {value} industry.",
    "company.headquarters": "{name} is headquartered in {value}.",
    "company.founded_year": "{name} was founded in {value}.",
    "person.nationality": "{name} is a {value} citizen.",
    "person.college": "{name} studied at {value}.",
    "person.birth_year": "{name} was born in {value}.",
    "person.employer": "{name} works at {value}.",
    "employment.years_working": "{name} has worked at {other} for {value} years.",
    "project.start_year": "{name} started in {value}.",
    "project.client": "The client of {name} is {value}.",
    "project.manager": "{name} is managed by {value}.",
}
FILLER = (
    "The {generic} {generic2} was discussed at length during a meeting in {city}.",
    "Analysts describe the {industry} {generic} as demanding but full of {generic2}.",
    "A recent {generic} mentioned new {generic2} targets for the coming year.",
    "Colleagues note a steady focus on {generic} and {generic2}.",
    "Several {generic} partners from {city} visited for a {generic2} session.",
    "Internal notes stress careful {generic} and clear {generic2}.",
)


def _filler(rng: random.Random) -> str:
    return rng.choice(FILLER).format(generic=rng.choice(lexicon.DOC_WORDS),
                                     generic2=rng.choice(lexicon.DOC_WORDS),
                                     city=rng.choice(lexicon.CITIES), industry=rng.choice(lexicon.INDUSTRIES))


DOMAINS = {"company.industry": lexicon.INDUSTRIES, "company.headquarters": lexicon.CITIES,
           "person.nationality": lexicon.NATIONALITIES, "person.college": lexicon.COLLEGES}
YEARS = ("company.founded_year", "person.birth_year", "project.start_year", "employment.years_working")


def _fits_column(attribute: str, value) -> bool:
    """Is ``value`` a plausible cell of ``attribute``'s column (catches swapped fields)?"""
    if attribute in DOMAINS:
        return value in DOMAINS[attribute]
    if attribute in YEARS:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str) and bool(value.strip()) and not value.strip().isdigit()


def fact_sentence(attribute: str, name: str, value, other: str = "") -> str:
    """One fact sentence; asserts the value belongs to the intended column and appears in the text."""
    text = FACTS[attribute].format(name=name, value=value, other=other)
    if not _fits_column(attribute, value) or str(value) not in text or name not in text:
        raise AssertionError(f"fact sentence for {attribute} lost its value (field swap?): {text!r}")
    return text


def entity_facts(rows: dict[str, list[tuple]]) -> dict[str, list[tuple[str, str]]]:
    """doc id → [(attribute, sentence)] in rendering order."""
    companies = {r[0]: r for r in rows["company"]}
    people = {r[0]: r for r in rows["person"]}
    employer = {pid: (cid, years) for cid, pid, years in rows["employment"]}
    out: dict[str, list[tuple[str, str]]] = {}
    for cid, name, industry, hq, founded in rows["company"]:
        out[f"company:{cid}"] = [(a, fact_sentence(a, name, v)) for a, v in
                                 (("company.industry", industry), ("company.headquarters", hq),
                                  ("company.founded_year", founded))]
    for pid, name, nationality, college, born in rows["person"]:
        cid, years = employer[pid]
        company = companies[cid][1]
        out[f"person:{pid}"] = [(a, fact_sentence(a, name, v)) for a, v in
                                (("person.nationality", nationality), ("person.college", college),
                                 ("person.birth_year", born), ("person.employer", company))]
        out[f"person:{pid}"].append(("employment.years_working",
                                     fact_sentence("employment.years_working", name, years, company)))
    for jid, name, client, manager, start in rows["project"]:
        out[f"project:{jid}"] = [(a, fact_sentence(a, name, v)) for a, v in
                                 (("project.start_year", start), ("project.client", companies[client][1]),
                                  ("project.manager", people[manager][1]))]
    return out


def choose_defects(rows: dict[str, list[tuple]], defects, seed: int) -> dict:
    """Which documents are missing and which person documents lose the tenure sentence (seeded)."""
    rng = random.Random(derive_seed(seed, "defects"))
    table = defects.missing_docs.table
    ids = [f"{table}:{r[0]}" for r in rows[table]]
    missing = sorted(rng.sample(ids, round(defects.missing_docs.fraction * len(ids))), key=_doc_order)
    people = [f"person:{r[0]}" for r in rows["person"] if f"person:{r[0]}" not in missing]
    deleted = sorted(rng.sample(people, round(defects.deleted_fact.fraction * len(people))), key=_doc_order)
    return {"missing_docs": missing, "deleted_fact": {"column": defects.deleted_fact.column, "docs": deleted}}


def _doc_order(doc_id: str) -> tuple[str, int]:
    table, _, num = doc_id.partition(":")
    return table, int(num)


def render_documents(rows: dict[str, list[tuple]], chosen: dict, seed: int) -> list[dict]:
    """Documents (id, text, facts kept) after removing missing docs and deleted facts."""
    deleted_docs = set(chosen["deleted_fact"]["docs"])
    deleted_col = chosen["deleted_fact"]["column"]
    out = []
    for doc_id, facts in sorted(entity_facts(rows).items(), key=lambda kv: _doc_order(kv[0])):
        if doc_id in chosen["missing_docs"]:
            continue
        rng = random.Random(derive_seed(seed, "doc", doc_id))
        kept = [(a, s) for a, s in facts if not (doc_id in deleted_docs and a == deleted_col)]
        sentences = [s for _, s in kept]
        for _ in range(rng.randint(2, 4)):
            sentences.insert(rng.randint(1, len(sentences)), _filler(rng))
        out.append({"doc_id": doc_id, "text": " ".join(sentences), "facts": [a for a, _ in kept]})
    return out
