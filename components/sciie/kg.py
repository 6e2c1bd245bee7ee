"""Knowledge-graph construction from predictions (spec §3.3): coreference resolution to a representative,
phrase normalisation, typed nodes, document-count-weighted edges; exact P/R against the generator's facts;
export as a JSON-lines edge list and GraphML (networkx)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

from components.sciie.synth import ANAPHOR_PHRASES

_PUNCT = re.compile(r"[^\w\s-]")


def normalise(phrase: str) -> str:
    """Lower-case; strip punctuation; collapse whitespace; strip a plural "s" from the last token if it is longer
    than 3 characters and does not end in "ss"."""
    toks = _PUNCT.sub(" ", phrase.lower()).split()
    if toks and len(toks[-1]) > 3 and toks[-1].endswith("s") and not toks[-1].endswith("ss"):
        toks[-1] = toks[-1][:-1]
    return " ".join(toks)


def _tokens(doc: dict) -> list[str]:
    return [t for s in doc["sentences"] for t in s]


def doc_triples(doc: dict, with_coref: bool, ent_key: str = "predicted_ner", rel_key: str = "predicted_relations",
                cl_key: str = "predicted_clusters") -> tuple[set, list]:
    """One document's (head, relation, tail) triples of normalised phrases, and its typed node mentions."""
    toks = _tokens(doc)
    etype = {(s, e): l for sent in doc.get(ent_key, []) for s, e, l in sent}

    def phrase(s, e):
        return " ".join(toks[s: e + 1])

    rep: dict = {}
    if with_coref:
        for cl in doc.get(cl_key, []):
            named = [(s, e) for s, e in cl if (s, e) in etype and etype[(s, e)] != "Generic"]
            if not named:
                continue
            best = sorted(named, key=lambda m: (-(m[1] - m[0]), m[0]))[0]
            for s, e in cl:
                rep[(s, e)] = (phrase(*best), etype[best])

    def node(s, e):
        if (s, e) in rep:
            return rep[(s, e)]
        t = etype.get((s, e))
        return (phrase(s, e), t) if t is not None else None

    triples, nodes = set(), []
    for sent in doc.get(rel_key, []):
        for s1, e1, s2, e2, lab in sent:
            a, b = node(s1, e1), node(s2, e2)
            if a is None or b is None:
                continue
            na, nb = normalise(a[0]), normalise(b[0])
            if "Generic" in (a[1], b[1]) or na in ANAPHOR_PHRASES or nb in ANAPHOR_PHRASES or not na or not nb:
                continue
            triples.add((na, lab, nb))
            nodes += [(na, a[1]), (nb, b[1])]
    return triples, nodes


def build_kg(docs: list[dict], with_coref: bool, min_count: int = 1, **keys) -> dict:
    counts: Counter = Counter()
    types: dict = defaultdict(Counter)
    for d in docs:
        tr, nodes = doc_triples(d, with_coref, **keys)
        counts.update(tr)
        for n, t in nodes:
            types[n][t] += 1
    edges = {e: c for e, c in counts.items() if c >= min_count}
    used = {n for h, _, t in edges for n in (h, t)}
    node_type = {n: sorted(types[n].items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for n in used}
    return {"edges": edges, "nodes": node_type}


def gold_edges(facts: list[list[str]]) -> set:
    return {(normalise(h), r, normalise(t)) for h, r, t in facts}


def edge_prf(pred: set, gold: set) -> dict:
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(gold) if gold else 0.0
    return {"edge_p": p, "edge_r": r, "edge_f1": 2 * p * r / (p + r) if p + r else 0.0, "n_edges": len(pred),
            "n_gold": len(gold), "tp": tp}


def summarise(kg: dict, gold: set) -> dict:
    n_nodes = len(kg["nodes"])
    return {**edge_prf(set(kg["edges"]), gold), "n_nodes": n_nodes,
            "edges_per_node": len(kg["edges"]) / n_nodes if n_nodes else 0.0}


def to_networkx(kg: dict):
    import networkx as nx

    g = nx.MultiDiGraph()
    for n, t in sorted(kg["nodes"].items()):
        g.add_node(n, type=t)
    for (h, r, t), c in sorted(kg["edges"].items()):
        g.add_edge(h, t, key=r, relation=r, weight=int(c))
    return g


def export(kg: dict, folder: Path, name: str) -> None:
    """``{name}.jsonl`` (one edge per line) and ``{name}.graphml``."""
    import io
    import json

    import networkx as nx

    from components.core.io import write_bytes, write_text

    lines = [json.dumps({"head": h, "head_type": kg["nodes"][h], "relation": r, "tail": t,
                         "tail_type": kg["nodes"][t], "weight": int(c)})
             for (h, r, t), c in sorted(kg["edges"].items())]
    write_text(Path(folder) / f"{name}.jsonl", "".join(x + "\n" for x in lines))
    buf = io.BytesIO()
    nx.write_graphml(to_networkx(kg), buf)
    write_bytes(Path(folder) / f"{name}.graphml", buf.getvalue())
