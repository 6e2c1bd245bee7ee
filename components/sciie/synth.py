"""``scierc_synth``: the seeded synthetic SciERC-format generator of spec §4.2 (world, documents, regimes).

The world (lexicon, concepts, homonyms, global fact graph) comes from ``world_seed``; documents from their own
seeds. Relations attach to the Generic anaphor G, not to the main method m (SciERC's annotation style), so
cross-sentence facts are recoverable only through coreference. Every draw uses ``random.Random`` seeded by
``derive_seed``: same seeds, byte-identical files.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from components.core.seeding import derive_seed

MODIFIERS = ["neural", "graph", "latent", "sparse", "robust", "deep", "bayesian", "hierarchical", "adaptive",
             "statistical", "discriminative", "generative", "semantic", "joint", "structured"]
HEADS = {
    "Method": ["network", "model", "algorithm", "parser", "classifier", "decoder", "tagger", "framework"],
    "Task": ["recognition", "translation", "parsing", "segmentation", "retrieval", "summarization", "tracking",
             "labeling"],
    "Material": ["corpus", "treebank", "dataset", "benchmark", "collection", "lexicon", "archive", "database"],
    "Metric": ["accuracy", "f-score", "error rate", "precision", "recall", "perplexity", "bleu score",
               "word error rate"],
    "OtherScientificTerm": ["features", "constraints", "embeddings", "kernels", "priors", "representations",
                            "rules", "templates"],
}
TYPED = ("Method", "Task", "Material", "Metric", "OtherScientificTerm")
ANAPHORS = [["it"], ["this", "method"], ["our", "approach"], ["the", "proposed", "model"]]
ANAPHOR_PHRASES = frozenset(" ".join(a) for a in ANAPHORS)
CONNECTORS = {
    "propose": [["we", "propose"], ["we", "present"], ["we", "introduce"], ["we", "develop"],
                ["this", "paper", "describes"]],
    "for": [["for"], ["to", "address"], ["to", "solve"], ["targeting"]],
    "combines": [["combines"], ["integrates"], ["uses"], ["merges"]],
    "and": [["and"], ["together", "with"], ["as", "well", "as"]],
    "evaluate": [["we", "evaluate"], ["we", "test"], ["we", "assess"], ["we", "benchmark"]],
    "on": [["on"], ["using"], ["over"]],
    "with": [["with"], ["measured", "by"], ["in", "terms", "of"]],
    "outperforms": [["outperforms"], ["beats"], ["improves", "over"], ["surpasses"]],
    "of": [["of"], ["in"], ["inside"]],
    "learned": [["are", "learned", "jointly"], ["are", "estimated"], ["are", "trained", "end-to-end"]],
    "kindof": [["is", "a", "kind", "of"], ["is", "a", "subtask", "of"], ["is", "an", "instance", "of"]],
    "using": [["using"], ["based", "on"], ["relying", "on"]],
}
FILLERS = [["novel"], ["efficient"], ["also"], ["significantly"], ["in", "this", "paper"], [","]]
TEMPLATES = ("COMBINE", "EVALUATE", "COMPARE", "FEATURE", "HYPONYM")


@dataclass(frozen=True)
class GenParams:
    concepts_per_type: int = 60
    p_amb: float = 0.8
    p_filler: float = 0.3
    n_templates: tuple[int, int] = (2, 4)
    paraphrases: int = 5  # connectors drawn from the first `paraphrases` variants of each set
    p_label_flip: float = 0.0
    p_drop: float = 0.0
    p_orphan: float = 0.0
    zipf: float = 1.0


# ------------------------------------------------------------------ world
def build_world(world_seed: int, g: GenParams) -> dict:
    rng = random.Random(derive_seed(world_seed, "world"))
    n = g.concepts_per_type
    used: set[str] = set()
    concepts: dict[str, list[dict]] = {}
    n_amb = int(round(g.p_amb * n))
    amb_phrases: list[str] = []
    while len(amb_phrases) < n_amb:
        a, b = rng.sample(MODIFIERS, 2)
        ph = f"{a} {b}"
        if ph not in used:
            used.add(ph)
            amb_phrases.append(ph)

    def fresh(t: str) -> str:
        for _ in range(10_000):
            head = rng.choice(HEADS[t])
            mods = rng.sample(MODIFIERS, min(rng.choice((1, 2)), 4 - len(head.split())))  # names ≤ 4 tokens
            ph = " ".join(mods + [head])
            if ph not in used:
                used.add(ph)
                return ph
        raise ValueError(f"cannot draw {n} distinct {t} names: lower concepts_per_type")

    for t in TYPED:
        if t in ("Method", "Task"):
            # ambiguity spread evenly over index (= Method popularity rank), not left to chance
            amb_idx = [i for i in range(n) if int((i + 1) * g.p_amb) > int(i * g.p_amb)]
            amb_idx = amb_idx[:n_amb]
            order = amb_idx if t == "Method" else rng.sample(range(n), n_amb)
            names = {i: amb_phrases[j] for j, i in enumerate(order)}
            concepts[t] = [{"name": names.get(i) or fresh(t), "type": t, "ambiguous": i in names} for i in range(n)]
        else:
            concepts[t] = [{"name": fresh(t), "type": t, "ambiguous": False} for _ in range(n)]
    parent = {}
    for i in range(1, n):
        if rng.random() < 0.5:
            parent[i] = rng.randrange(i)
    facts = []
    for m in range(n):
        f = {"used_for": rng.sample(range(n), rng.choice((1, 2))),
             "materials": rng.sample(range(n), rng.choice((1, 2))),
             "metrics": rng.sample(range(n), rng.choice((1, 2))),
             "compare": rng.sample([x for x in range(n) if x != m], rng.choice((1, 2))),
             "parts": rng.sample(range(n), rng.choice((2, 3))),
             "feature": rng.randrange(n)}
        f["conj"] = sorted(rng.sample(f["parts"], 2))
        facts.append(f)
    return {"world_seed": world_seed, "concepts": concepts, "task_parent": {str(k): v for k, v in parent.items()},
            "method_facts": facts}


def world_triples(world: dict) -> list[list[str]]:
    """The global fact graph as (head name, relation, tail name) triples."""
    C = world["concepts"]
    out = []
    for m, f in enumerate(world["method_facts"]):
        mn = C["Method"][m]["name"]
        out += [[mn, "USED-FOR", C["Task"][t]["name"]] for t in f["used_for"]]
        out += [[C["Material"][x]["name"], "EVALUATE-FOR", mn] for x in f["materials"]]
        out += [[C["Metric"][x]["name"], "EVALUATE-FOR", mn] for x in f["metrics"]]
        out += [[mn, "COMPARE", C["Method"][x]["name"]] for x in f["compare"]]
        out += [[C["OtherScientificTerm"][x]["name"], "PART-OF", mn] for x in f["parts"]]
        out += [[C["OtherScientificTerm"][x]["name"], "FEATURE-OF", mn] for x in [f["feature"]]]
    for c, p in world["task_parent"].items():
        out.append([C["Task"][int(c)]["name"], "HYPONYM-OF", C["Task"][p]["name"]])
    return out


# ------------------------------------------------------------------ documents
class _Doc:
    def __init__(self):
        self.sentences: list[list[str]] = []
        self.ner: list[list[list]] = []
        self.rel: list[list[list]] = []
        self.offset = 0
        self.cur: list[str] = []
        self.cur_ner: list[list] = []
        self.cur_rel: list[list] = []

    def words(self, toks):
        self.cur += list(toks)

    def mention(self, toks, label) -> tuple[int, int]:
        s = self.offset + len(self.cur)
        self.cur += list(toks)
        e = self.offset + len(self.cur) - 1
        self.cur_ner.append([s, e, label])
        return (s, e)

    def relate(self, a, b, label):
        self.cur_rel.append([a[0], a[1], b[0], b[1], label])

    def end(self):
        self.cur.append(".")
        self.sentences.append(self.cur)
        self.ner.append(self.cur_ner)
        self.rel.append(self.cur_rel)
        self.offset += len(self.cur)
        self.cur, self.cur_ner, self.cur_rel = [], [], []


def _zipf_weights(n: int, s: float) -> list[float]:
    return [1.0 / (r + 1) ** s for r in range(n)]


def generate_doc(world: dict, g: GenParams, rng: random.Random, doc_key: str) -> tuple[dict, list[list[str]]]:
    """One document and its realised facts (head name, relation, tail name; G resolved to m)."""
    C = world["concepts"]
    n = len(C["Method"])
    m = rng.choices(range(n), weights=_zipf_weights(n, g.zipf))[0]
    f = world["method_facts"][m]
    mname = C["Method"][m]["name"].split()
    t = rng.choice(f["used_for"])
    tname = C["Task"][t]["name"].split()
    d = _Doc()
    facts: list[list[str]] = []

    def conn(key):
        out = []
        if rng.random() < g.p_filler:
            out += rng.choice(FILLERS)
        return out + rng.choice(CONNECTORS[key][: g.paraphrases])

    def name(t_, i):
        return C[t_][i]["name"].split()

    def fact(h, r, tl):
        facts.append([" ".join(h), r, " ".join(tl)])

    def orphan():
        if g.p_orphan and rng.random() < g.p_orphan:
            d.words(conn("using"))
            d.mention(name("OtherScientificTerm", rng.randrange(n)), "OtherScientificTerm")

    d.words(conn("propose"))
    m_span = d.mention(mname, "Method")
    d.words(conn("for"))
    t_span = d.mention(tname, "Task")
    d.relate(m_span, t_span, "USED-FOR")
    fact(mname, "USED-FOR", tname)
    orphan()
    d.end()
    cluster = [list(m_span)]
    children = [int(c) for c, p in world["task_parent"].items() if p == t]
    avail = [x for x in TEMPLATES if x != "HYPONYM" or children]
    k = min(len(avail), rng.randint(*g.n_templates))
    for tpl in rng.sample(avail, k):
        G = rng.choice(ANAPHORS)
        if tpl == "COMBINE":
            o1, o2 = (name("OtherScientificTerm", x) for x in f["conj"])
            gs = d.mention(G, "Generic")
            d.words(conn("combines"))
            a = d.mention(o1, "OtherScientificTerm")
            d.words(conn("and"))
            b = d.mention(o2, "OtherScientificTerm")
            d.relate(a, gs, "PART-OF")
            d.relate(b, gs, "PART-OF")
            d.relate(a, b, "CONJUNCTION")
            fact(o1, "PART-OF", mname), fact(o2, "PART-OF", mname), fact(o1, "CONJUNCTION", o2)
        elif tpl == "EVALUATE":
            mat, met = name("Material", rng.choice(f["materials"])), name("Metric", rng.choice(f["metrics"]))
            d.words(conn("evaluate"))
            gs = d.mention(G, "Generic")
            d.words(conn("on"))
            a = d.mention(mat, "Material")
            d.words(conn("with"))
            b = d.mention(met, "Metric")
            d.relate(a, gs, "EVALUATE-FOR")
            d.relate(b, gs, "EVALUATE-FOR")
            fact(mat, "EVALUATE-FOR", mname), fact(met, "EVALUATE-FOR", mname)
        elif tpl == "COMPARE":
            m2 = name("Method", rng.choice(f["compare"]))
            gs = d.mention(G, "Generic")
            d.words(conn("outperforms"))
            a = d.mention(m2, "Method")
            d.words(conn("on"))
            b = d.mention(tname, "Task")
            d.relate(gs, a, "COMPARE")
            d.relate(gs, b, "USED-FOR")
            fact(mname, "COMPARE", m2), fact(mname, "USED-FOR", tname)
        elif tpl == "FEATURE":
            o = name("OtherScientificTerm", f["feature"])
            a = d.mention(o, "OtherScientificTerm")
            d.words(conn("of"))
            gs = d.mention(G, "Generic")
            d.words(conn("learned"))
            d.relate(a, gs, "FEATURE-OF")
            fact(o, "FEATURE-OF", mname)
        else:  # HYPONYM
            t3 = name("Task", rng.choice(children))
            a = d.mention(t3, "Task")
            d.words(conn("kindof"))
            b = d.mention(tname, "Task")
            d.relate(a, b, "HYPONYM-OF")
            fact(t3, "HYPONYM-OF", tname)
            gs = None
        if gs is not None:
            cluster.append(list(gs))
        orphan()
        d.end()
    doc = {"doc_key": doc_key, "dataset": "scierc", "sentences": d.sentences, "ner": d.ner, "relations": d.rel,
           "clusters": [cluster] if len(cluster) >= 2 else []}
    _noise(doc, g, rng)
    return doc, facts


def _noise(doc: dict, g: GenParams, rng: random.Random) -> None:
    from components.sciie.scierc import ENTITY_TYPES

    if g.p_drop:
        for k, sent in enumerate(doc["ner"]):
            keep = [e for e in sent if rng.random() >= g.p_drop]
            kept = {(e[0], e[1]) for e in keep}
            doc["ner"][k] = keep
            doc["relations"][k] = [r for r in doc["relations"][k] if (r[0], r[1]) in kept and (r[2], r[3]) in kept]
    if g.p_label_flip:
        for sent in doc["ner"]:
            for e in sent:
                if rng.random() < g.p_label_flip:
                    e[2] = rng.choice([t for t in ENTITY_TYPES if t != e[2]])


def generate_docs(world: dict, g: GenParams, seed: int, n: int, tag: str) -> tuple[list[dict], list[list]]:
    rng = random.Random(derive_seed(seed, "docs", tag))
    docs, facts = [], []
    for i in range(n):
        d, f = generate_doc(world, g, rng, f"SYN_{seed}_{i:06d}")
        docs.append(d)
        facts.append({"doc_key": d["doc_key"], "facts": f})
    return docs, facts


REGIME = re.compile(r"^([ABCD])(\d+)$")


def parse_regime(name: str) -> tuple[str, int]:
    m = REGIME.match(name)
    if not m or int(m.group(2)) < 1:
        raise ValueError(f"unknown regime {name!r}: use A<n>, B<n>, C<n> or D<n> (e.g. A30)")
    return m.group(1), int(m.group(2))


def random_relations(doc: dict, rng: random.Random, max_width: int) -> dict:
    """Regime D: every gold relation replaced by one between two random candidate spans of the same sentence."""
    from components.sciie.scierc import RELATION_TYPES, sentence_offsets

    out = dict(doc)
    offs = sentence_offsets(doc)
    rels = []
    for k, sent in enumerate(doc["relations"]):
        n = len(doc["sentences"][k])
        spans = [(offs[k] + i, offs[k] + j) for i in range(n) for j in range(i, min(n, i + max_width))]
        new = []
        for _ in sent:
            a, b = rng.sample(spans, 2) if len(spans) > 1 else (spans[0], spans[0])
            new.append([a[0], a[1], b[0], b[1], rng.choice(RELATION_TYPES)])
        rels.append(new)
    out["relations"] = rels
    out["clusters"] = []
    out["_random_relations"] = True
    return out


def regime_docs(world: dict, g: GenParams, regime: str, seed: int, n_dev: int, ner_share: float,
                max_width: int) -> dict:
    """Train and dev sets of one (regime, seed). A_n, B_n and D_n of the same seed share their documents."""
    kind, n = parse_regime(regime)
    gen_seed = derive_seed(seed, "train")
    train, _ = generate_docs(world, g, gen_seed, n, f"train-{n}")
    dev, _ = generate_docs(world, g.__class__(**{**g.__dict__, "p_label_flip": 0.0, "p_drop": 0.0}),
                           derive_seed(seed, "dev"), n_dev, "dev")
    if kind == "B":
        rng = random.Random(derive_seed(seed, "ner_mask", regime))
        k = int(round(ner_share * n))
        observed = set(rng.sample(range(n), k))
        train = [{**d, "_ner_observed": i in observed} for i, d in enumerate(train)]
    elif kind == "D":
        rng = random.Random(derive_seed(seed, "random_relations", regime))
        train = [random_relations(d, rng, max_width) for d in train]
    return {"train": train, "dev": dev}
