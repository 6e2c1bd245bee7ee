"""The SciERC JSON-lines format (spec §4.1): read, validate, write. One JSON object per line; token
indices are document-level and inclusive at both ends. Unknown keys survive a round trip."""

from __future__ import annotations

import json
from pathlib import Path

from components.core.errors import UserError
from components.core.io import write_text

ENTITY_TYPES = ("Task", "Method", "Metric", "Material", "OtherScientificTerm", "Generic")
RELATION_TYPES = ("USED-FOR", "FEATURE-OF", "HYPONYM-OF", "PART-OF", "COMPARE", "CONJUNCTION", "EVALUATE-FOR")
SYMMETRIC = frozenset({"COMPARE", "CONJUNCTION"})


class SciercFormatError(UserError):
    """A document breaks the format: names the file, the document, the field and the rule."""


def sentence_offsets(doc: dict) -> list[int]:
    out, o = [], 0
    for s in doc["sentences"]:
        out.append(o)
        o += len(s)
    return out


def n_tokens(doc: dict) -> int:
    return sum(len(s) for s in doc["sentences"])


def validate_doc(doc, *, where: str = "", max_width: int | None = None, strict: bool = True,
                 args_must_be_entities: bool | None = None) -> dict:
    """Check one document; raise :class:`SciercFormatError` naming the document, field and rule.

    ``strict`` (synthetic data): a width over ``max_width`` and a relation argument that is not an annotated
    entity are errors; otherwise (real data) they are counted and returned. Returns the tolerated counts."""
    key = doc.get("doc_key", "?") if isinstance(doc, dict) else "?"

    def fail(field: str, rule: str):
        raise SciercFormatError(f"{where}document {key!r}: field `{field}`: {rule}",
                                "fix the file (SciERC JSON-lines, spec §4.1) or regenerate it")

    if not isinstance(doc, dict):
        fail("<document>", "each line must be a JSON object")
    if not isinstance(doc.get("doc_key"), str) or not doc["doc_key"]:
        fail("doc_key", "a non-empty string is required")
    sents = doc.get("sentences")
    if not isinstance(sents, list) or not sents or not all(
            isinstance(s, list) and s and all(isinstance(t, str) for t in s) for s in sents):
        fail("sentences", "a non-empty list of non-empty token lists (strings) is required")
    offs = sentence_offsets(doc)
    n = n_tokens(doc)
    args_strict = strict if args_must_be_entities is None else args_must_be_entities
    counts = {"width_over_max": 0, "rel_arg_not_entity": 0}
    for fld in ("ner", "relations"):
        v = doc.get(fld)
        if not isinstance(v, list) or len(v) != len(sents):
            fail(fld, f"one list per sentence is required (len(sentences) = {len(sents)}, "
                      f"got {len(v) if isinstance(v, list) else type(v).__name__})")

    def span(field, s, e, k):
        if not (isinstance(s, int) and isinstance(e, int)) or isinstance(s, bool) or isinstance(e, bool):
            fail(field, f"span bounds must be integers, got [{s!r}, {e!r}]")
        if s < 0 or e < s:
            fail(field, f"span [{s}, {e}]: needs 0 ≤ start ≤ end (end < start)")
        if k is not None and not (offs[k] <= s and e <= offs[k] + len(sents[k]) - 1):
            fail(field, f"span [{s}, {e}] crosses the boundary of sentence {k} "
                        f"(tokens {offs[k]}..{offs[k] + len(sents[k]) - 1})")
        if max_width is not None and e - s + 1 > max_width:
            if strict:
                fail(field, f"span [{s}, {e}] is wider than max_span_width {max_width}")
            counts["width_over_max"] += 1

    ents = set()
    for k, items in enumerate(doc["ner"]):
        for item in items:
            if not (isinstance(item, list) and len(item) == 3):
                fail(f"ner[{k}]", f"entries are [start, end, label], got {item!r}")
            span(f"ner[{k}]", item[0], item[1], k)
            if item[2] not in ENTITY_TYPES:
                fail(f"ner[{k}]", f"unknown label {item[2]!r} (schema: {', '.join(ENTITY_TYPES)})")
            ents.add((item[0], item[1]))
    for k, items in enumerate(doc["relations"]):
        for item in items:
            if not (isinstance(item, list) and len(item) == 5):
                fail(f"relations[{k}]", f"entries are [s1, e1, s2, e2, label], got {item!r}")
            span(f"relations[{k}]", item[0], item[1], k)
            span(f"relations[{k}]", item[2], item[3], k)
            if item[4] not in RELATION_TYPES:
                fail(f"relations[{k}]", f"unknown label {item[4]!r} (schema: {', '.join(RELATION_TYPES)})")
            for a in ((item[0], item[1]), (item[2], item[3])):
                if a not in ents:
                    if args_strict:
                        fail(f"relations[{k}]", f"argument {list(a)} is not an annotated entity span")
                    counts["rel_arg_not_entity"] += 1
    clusters = doc.get("clusters", [])
    if not isinstance(clusters, list):
        fail("clusters", "a list of clusters is required")
    for c, cl in enumerate(clusters):
        if not isinstance(cl, list) or len(cl) < 2:
            fail(f"clusters[{c}]", f"a cluster needs ≥ 2 mentions, got {len(cl) if isinstance(cl, list) else cl!r}")
        for m in cl:
            if not (isinstance(m, list) and len(m) == 2):
                fail(f"clusters[{c}]", f"mentions are [start, end], got {m!r}")
            span(f"clusters[{c}]", m[0], m[1], None)
            if m[1] > n - 1:
                fail(f"clusters[{c}]", f"mention {m} lies beyond the document length {n}")
    if "_ner_observed" in doc and not isinstance(doc["_ner_observed"], bool):
        fail("_ner_observed", "must be true or false")
    return counts


def parse_jsonl(text: str, where: str = "") -> list[dict]:
    docs, seen = [], set()
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SciercFormatError(f"{where}line {i}: not valid JSON ({exc.msg} at column {exc.colno})",
                                    "each line must hold one JSON object (SciERC JSON-lines)") from None
        key = doc.get("doc_key") if isinstance(doc, dict) else None
        if key in seen:
            raise SciercFormatError(f"{where}line {i}: document {key!r}: field `doc_key`: duplicate doc_key",
                                    "doc_key must be unique within a file")
        seen.add(key)
        docs.append(doc)
    return docs


def read_jsonl(path: Path | str, *, max_width: int | None = None, strict: bool = True,
               args_must_be_entities: bool | None = None, counts: dict | None = None) -> list[dict]:
    """Read and validate a SciERC JSON-lines file; errors name the file, line/document and field."""
    path = Path(path)
    if not path.is_file():
        raise SciercFormatError(f"{path}: no such file", "check the data directory")
    docs = parse_jsonl(path.read_text(encoding="utf-8"), f"{path}: ")
    for i, d in enumerate(docs, 1):
        c = validate_doc(d, where=f"{path}: line {i}: ", max_width=max_width, strict=strict,
                         args_must_be_entities=args_must_be_entities)
        if counts is not None:
            for k, v in c.items():
                counts[k] = counts.get(k, 0) + v
    return docs


def dumps_jsonl(docs: list[dict]) -> str:
    return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)


def write_jsonl(path: Path | str, docs: list[dict]) -> Path:
    return write_text(path, dumps_jsonl(docs))


def canonical(doc: dict) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entities(doc: dict, key: str = "ner") -> list[tuple[int, int, str]]:
    return [(s, e, l) for sent in doc.get(key, []) for s, e, l in sent]


def relations(doc: dict, key: str = "relations") -> list[tuple[int, int, int, int, str]]:
    return [tuple(r) for sent in doc.get(key, []) for r in sent]
