"""Seeded generators of ProntoQA-lite, ProofWriter-lite and FOLIO-lite (spec §4.1–4.3).

Every item carries its sentences, each with a section tag (fact / rule / query) and its logical form, so
gold programs and labels derive from the form, never from the text. Items are plain dicts (JSON lines).
"""

from __future__ import annotations

import random

from components.solver_choice import logic as L

CONCEPTS = ["wumpus", "yumpus", "zumpus", "dumpus", "rompus", "numpus", "tumpus", "vumpus", "impus", "jompus",
            "gorpus", "shumpus", "lempus", "sterpus", "grimpus", "lorpus", "brimpus"]
FAMILIES = {"colour": ["red", "blue", "orange"], "temperature": ["hot", "cold"], "size": ["large", "small"],
            "taste": ["sweet", "bitter"], "texture": ["wooden", "metallic"], "emotion": ["happy", "sad"],
            "state": ["liquid", "opaque"]}
NAMES = ["Max", "Alex", "Wren", "Fae", "Rex", "Sam", "Polly", "Stella"]
PEOPLE = ["Anne", "Bob", "Charlie", "Dave", "Erin", "Fiona", "Gary", "Harry"]
ANIMALS = ["bald eagle", "bear", "cat", "cow", "dog", "lion", "mouse", "rabbit", "squirrel", "tiger"]
ATTRS = ["big", "blue", "cold", "furry", "green", "kind", "nice", "quiet", "red", "rough", "round", "smart", "white",
         "young"]
RELS = {"chases": "chase", "eats": "eat", "likes": "like", "needs": "need", "sees": "see", "visits": "visit"}
FOLIO_PREDS = {"Student": ("a student", "students"), "Musician": ("a musician", "musicians"),
               "DrinksCoffee": ("drinks coffee", "drink coffee"), "Athlete": ("an athlete", "athletes"),
               "Tired": ("tired", "tired"), "Happy": ("happy", "happy"), "Teacher": ("a teacher", "teachers"),
               "Rich": ("rich", "rich")}
FOLIO_COPULA = {"DrinksCoffee": False}  # verb phrases take no "is"
LABEL_TEXT = {"A": "True", "B": "False", "C": "Unknown"}


def ident(words: str) -> str:
    return "".join(w.capitalize() for w in words.split())


def _plural(c: str) -> str:
    return c[:-2] + "uses" if c.endswith("us") else c + "s"


def _art(w: str) -> str:
    return ("an " if w[0] in "aeiou" else "a ") + w


def _sent(text: str, section: str, form: list) -> dict:
    return {"text": text, "section": section, "form": form}


def _item(dataset: str, idx: str, sentences: list[dict], question: str, options: list[str], label: str,
          meta: dict) -> dict:
    premises = [s["form"] for s in sentences if s["section"] != "query"]
    query = next(s["form"] for s in sentences if s["section"] == "query")
    ctx = " ".join(s["text"] for s in sentences if s["section"] != "query")
    return {"id": f"{dataset}-{idx}", "dataset": dataset, "context": ctx, "question": question, "options": options,
            "answer": label, "sentences": sentences, "premises": premises, "goal": query, **meta}


# ------------------------------------------------------------------ ProntoQA-lite

def prontoqa_item(rng: random.Random, idx: str, hops: int, asked_true: bool) -> dict:
    """A linear chain c0 ⊂ … ⊂ c_{h-1}; c_{h-1} carries the query property; one distractor of opposite polarity."""
    concepts = rng.sample(CONCEPTS, hops + 1)
    chain, distractor = concepts[:hops], concepts[hops]
    fams = rng.sample(sorted(FAMILIES), min(hops + 1, len(FAMILIES)))
    name = rng.choice(NAMES)
    qfam = fams[0]
    qprop = rng.choice(FAMILIES[qfam])
    qpol = rng.random() < 0.5
    sentences = [_sent(f"{name} is {_art(chain[0])}.", "fact", L.atom(ident(chain[0]), name))]
    rules = []
    for k in range(hops - 1):
        a, b = chain[k], chain[k + 1]
        form = ["all", "x", ["imp", L.atom(ident(a), "x"), L.atom(ident(b), "x")]]
        text = rng.choice([f"Every {a} is {_art(b)}.", f"Each {a} is {_art(b)}.", f"{_plural(a).capitalize()} are "
                           f"{_plural(b)}."])
        rules.append(_sent(text, "rule", form))

    def prop_rule(concept: str, prop: str, pol: bool) -> dict:
        form = ["all", "x", ["imp", L.atom(ident(concept), "x"), L.lit(ident(prop), ["x"], pol)]]
        nt = "" if pol else "not "
        text = rng.choice([f"Every {concept} is {nt}{prop}.", f"Each {concept} is {nt}{prop}.",
                           f"{_plural(concept).capitalize()} are {nt}{prop}."])
        return _sent(text, "rule", form)

    rules.append(prop_rule(chain[-1], qprop, qpol))
    for k, fam in zip(range(hops - 1), fams[1:]):  # other concepts carry properties of other families
        rules.append(prop_rule(chain[k], rng.choice(FAMILIES[fam]), rng.random() < 0.5))
    rules.append(prop_rule(distractor, qprop, not qpol))
    rng.shuffle(rules)
    asked_pol = qpol if asked_true else not qpol
    nt = "" if asked_pol else "not "
    query = _sent(f"{name} is {nt}{qprop}.", "query", L.lit(ident(qprop), [name], asked_pol))
    sentences += rules + [query]
    label = "A" if asked_true else "B"
    return _item("prontoqa", idx, sentences, f"True or false: {name} is {nt}{qprop}?", ["A) True", "B) False"],
                 label, {"hops": hops, "depth": hops, "theory": "chain", "distractors": 1})


def prontoqa(seed: int, n: int, hops: tuple[int, int], split: str) -> list[dict]:
    rng = random.Random(seed)
    labels = [i % 2 == 0 for i in range(n)]
    rng.shuffle(labels)
    out = []
    for i in range(n):
        h = hops[0] + i % (hops[1] - hops[0] + 1)
        out.append(prontoqa_item(rng, f"{split}{i:04d}", h, labels[i]))
    return out


# ------------------------------------------------------------------ ProofWriter-lite

def _pw_literal(rng, ents, rel_type: bool, allow_neg: bool, var: str | None = None, p_neg: float = 0.3):
    """A literal (form, text builder) over an attribute or (Rel types) a relation."""
    subj = var or rng.choice(ents)
    val = not (allow_neg and rng.random() < p_neg)
    if rel_type and rng.random() < 0.4:
        rel = rng.choice(sorted(RELS))
        obj = rng.choice([e for e in ents if e != subj] or ents)
        return L.lit(ident(rel), [subj if var else ident(subj), ident(obj)], val), ("rel", rel, obj, val)
    attr = rng.choice(ATTRS)
    return L.lit(ident(attr), [subj if var else ident(subj)], val), ("att", attr, None, val)


def _pw_text(subject: str, info, pronoun: bool = False) -> str:
    kind, word, obj, val = info
    if kind == "att":
        return f"{subject} {'is' if val else 'is not'} {word}" if not pronoun else \
            f"{subject} {'are' if val else 'are not'} {word}"
    verb = word if not pronoun else RELS[word]
    if not val:
        verb = ("does not " if not pronoun else "do not ") + RELS[word]
    return f"{subject} {verb} the {obj}"


def _name(e: str, rel_type: bool) -> str:
    return f"the {e}" if rel_type else e


def proofwriter_theory(rng: random.Random, theory: str, n_ents: int, n_facts: int, n_rules: int, p_neg: float):
    rel_type = theory.startswith("Rel")
    neg = theory.endswith("Neg") and not theory.endswith("Noneg")
    ents = rng.sample(ANIMALS if rel_type else PEOPLE, n_ents)
    sentences, seen = [], set()
    while len([s for s in sentences if s["section"] == "fact"]) < n_facts:
        form, info = _pw_literal(rng, ents, rel_type, neg, p_neg=p_neg)
        key = str(form)
        if key in seen:
            continue
        seen.add(key)
        subj = _name(ents[[ident(e) for e in ents].index(L.as_literal(form)[1][0])], rel_type)
        sentences.append(_sent(_pw_text(subj, info).capitalize() + ".", "fact", form))
    for _ in range(n_rules):
        n_body = rng.choice([1, 1, 2])
        body = [_pw_literal(rng, ents, rel_type, neg, var="x", p_neg=p_neg) for _ in range(n_body)]
        if n_body == 2 and body[0][1][1] == body[1][1][1]:
            body = body[:1]
            n_body = 1
        head = _pw_literal(rng, ents, rel_type, neg and rng.random() < 0.5, var="x", p_neg=p_neg)
        if head[1][0] == "rel" or any(b[1][0] == "rel" and b[1][1] == head[1][1] for b in body):
            head = (L.lit(ident(head[1][1] if head[1][0] == "att" else rng.choice(ATTRS)), ["x"], head[1][3]),
                    ("att", head[1][1] if head[1][0] == "att" else "round", None, head[1][3]))
            head = (L.lit(ident(head[1][1]), ["x"], head[1][3]), head[1])
        if head[1][1] in {b[1][1] for b in body}:
            continue
        bform = body[0][0] if n_body == 1 else ["and", body[0][0], body[1][0]]
        form = ["all", "x", ["imp", bform, head[0]]]
        conds = " and ".join(_pw_text("", b[1]).strip().removeprefix("is ").strip() if b[1][0] == "att"
                             else _pw_text("", b[1]).strip() for b in body)
        if all(b[1][0] == "att" for b in body):
            conds = " and ".join(("" if b[1][3] else "not ") + b[1][1] for b in body)
            text = rng.choice([f"If someone is {conds} then they {_pw_text('', head[1], True).strip()}.",
                               f"If something is {conds} then it {_pw_text('', head[1]).strip()}."])
        else:
            parts = [(("is " if b[1][3] else "is not ") + b[1][1]) if b[1][0] == "att" else _pw_text("", b[1]).strip()
                     for b in body]
            text = f"If someone {' and '.join(parts)} then they {_pw_text('', head[1], True).strip()}."
        sentences.append(_sent(text, "rule", form))
    return ents, sentences, rel_type


def proofwriter(seed: int, n: int, depths: tuple[int, int], theories: list[str], n_ents: int,
                n_facts: tuple[int, int], n_rules: tuple[int, int], p_neg: float, split: str,
                classical_check: bool = True, max_tries: int = 200000) -> tuple[list[dict], dict]:
    """Balanced A/B/C per depth (exact when n divides); rejects contradictions and FC ≠ classical items."""
    rng = random.Random(seed)
    dlist = list(range(depths[0], depths[1] + 1))
    cells = [(d, lab) for d in dlist for lab in "ABC"]
    quota = {c: n // len(cells) + (1 if i < n % len(cells) else 0) for i, c in enumerate(cells)}
    out: list[dict] = []
    stats = {"candidates": 0, "contradiction": 0, "semantic_mismatch": 0, "z3_unknown": 0}
    tries = 0
    while any(quota.values()) and tries < max_tries:
        tries += 1
        theory = theories[tries % len(theories)]
        ents, sents, rel_type = proofwriter_theory(rng, theory, n_ents, rng.randint(*n_facts),
                                                   rng.randint(*n_rules), p_neg)
        premises = [s["form"] for s in sents]
        rules = [r for r in (L.horn_rule(p) for p in premises) if r is not None]
        known = L.forward_chain(rules)
        if L.contradictory(known):
            stats["contradiction"] += 1
            continue
        maxd = max(known.values())
        want = [c for c, q in quota.items() if q > 0]
        # pick a query literal for a still-open cell
        rng.shuffle(want)
        for d, lab in want:
            if lab == "C":
                if maxd < d:
                    continue
                cands = []
                for (p, a, v) in known:  # an underived literal over known symbols
                    for e in ents:
                        alt = (p, (ident(e),) + a[1:], v)
                        if alt not in known and (p, alt[1], not v) not in known:
                            cands.append(alt)
                if not cands:
                    continue
                q = rng.choice(sorted(cands))
            else:
                cands = sorted(k for k, dd in known.items() if dd == d)
                if not cands:
                    continue
                q = rng.choice(cands)
                if lab == "B":
                    q = (q[0], q[1], not q[2])
            asked = q
            qform = L.lit(q[0], q[1], q[2])
            label, depth = L.fc_label(premises, qform)
            if label != lab:
                continue
            stats["candidates"] += 1
            if classical_check:
                cl = L.z3_label(premises, qform)
                if cl == "?":
                    stats["z3_unknown"] += 1
                    break
                if cl != label:
                    stats["semantic_mismatch"] += 1
                    break
            names = {ident(e): _name(e, rel_type) for e in ents}
            pred, args, val = asked
            if len(args) == 2:
                rel = next(r for r in RELS if ident(r) == pred)
                qtext = _pw_text(names[args[0]], ("rel", rel, next(e for e in ents if ident(e) == args[1]), val))
            else:
                attr = next(a for a in ATTRS if ident(a) == pred)
                qtext = _pw_text(names[args[0]], ("att", attr, None, val))
            qtext = qtext[0].upper() + qtext[1:] + "."
            sentences = sents + [_sent(qtext, "query", qform)]
            item = _item("proofwriter", f"{split}{len(out):04d}", sentences,
                         f"Based on the above information, is the following statement true, false, or unknown? {qtext}",
                         ["A) True", "B) False", "C) Unknown"], lab,
                         {"hops": d, "depth": d, "theory": theory, "distractors": 0})
            out.append(item)
            quota[(d, lab)] -= 1
            break
    if any(quota.values()):
        raise RuntimeError(f"ProofWriter-lite: could not fill {sum(quota.values())} cells in {max_tries} theories")
    order = list(range(len(out)))
    rng.shuffle(order)
    out = [out[i] for i in order]
    for i, it in enumerate(out):
        it["id"] = f"proofwriter-{split}{i:04d}"
    return out, stats


# ------------------------------------------------------------------ FOLIO-lite

def _fp(pred: str, subj: str, val: bool = True) -> str:
    """NL for a unary FOLIO predicate about a subject."""
    sing = FOLIO_PREDS[pred][0]
    if FOLIO_COPULA.get(pred, True):
        return f"{subj} is {'' if val else 'not '}{sing}"
    return f"{subj} {'drinks' if val else 'does not drink'} coffee"


def _fplural(pred: str) -> str:
    return FOLIO_PREDS[pred][1]


def _fpl_phrase(pred: str) -> str:
    """'are students' / 'drink coffee' for 'All X ...' sentences."""
    return f"are {_fplural(pred)}" if FOLIO_COPULA.get(pred, True) else _fplural(pred)


def _fwho(pred: str) -> str:
    return f"people who {_fpl_phrase(pred)}"


def folio_premise(rng: random.Random, preds: list[str], consts: list[str]) -> dict:
    kind = rng.choice(["all", "all", "neg", "or", "xor", "iff", "ex", "fact", "fact", "nfact", "and", "orfact"])
    a, b = rng.sample(preds, 2)
    c = rng.choice(consts)
    X = lambda p: L.atom(p, "x")  # noqa: E731
    if kind == "all":
        return _sent(f"All {_fwho(a)} {_fpl_phrase(b)}.", "rule", ["all", "x", ["imp", X(a), X(b)]])
    if kind == "neg":
        nb = f"are not {_fplural(b)}" if FOLIO_COPULA.get(b, True) else f"do not {_fplural(b)}"
        return _sent(f"{_fwho(a).capitalize()} {nb}.", "rule", ["all", "x", ["imp", X(a), L.neg(X(b))]])
    if kind == "or":
        return _sent(f"Everyone either {_fpl_phrase(a)} or {_fpl_phrase(b)}.", "rule", ["all", "x", ["or", X(a), X(b)]])
    if kind == "xor":
        return _sent(f"Everyone either {_fpl_phrase(a)} or {_fpl_phrase(b)}, but not both.", "rule",
                     ["all", "x", ["xor", X(a), X(b)]])
    if kind == "iff":
        return _sent(f"{_fp(a, 'A person')} if and only if they {_fpl_phrase(b)}.", "rule",
                     ["all", "x", ["iff", X(a), X(b)]])
    if kind == "ex":
        return _sent(f"Some {_fwho(a)} {_fpl_phrase(b)}.",
                     "rule", ["ex", "x", ["and", X(a), X(b)]])
    if kind == "fact":
        return _sent(_fp(a, c) + ".", "fact", L.atom(a, c))
    if kind == "nfact":
        return _sent(_fp(a, c, False) + ".", "fact", L.neg(L.atom(a, c)))
    if kind == "and":
        return _sent(f"{_fp(a, c)} and {_fp(b, c).removeprefix(c + ' ')}.", "fact", ["and", L.atom(a, c), L.atom(b, c)])
    return _sent(f"{_fp(a, c)} or {_fp(b, c).removeprefix(c + ' ')}.", "fact", ["or", L.atom(a, c), L.atom(b, c)])


def folio_conclusion(rng: random.Random, preds: list[str], c: str) -> dict:
    kind = rng.choice(["lit", "lit", "lit", "nlit", "and", "or"])
    a, b = rng.sample(preds, 2)
    if kind == "lit":
        return _sent(_fp(a, c) + ".", "query", L.atom(a, c))
    if kind == "nlit":
        return _sent(_fp(a, c, False) + ".", "query", L.neg(L.atom(a, c)))
    if kind == "and":
        return _sent(f"{_fp(a, c)} and {_fp(b, c).removeprefix(c + ' ')}.", "query", ["and", L.atom(a, c), L.atom(b, c)])
    return _sent(f"{_fp(a, c)} or {_fp(b, c).removeprefix(c + ' ')}.", "query", ["or", L.atom(a, c), L.atom(b, c)])


def horn_label(premises: list[list], goal: list) -> str:
    """The label forward chaining gives on the Horn premises only (↔ as two rules; ∨, ⊕, ∃ dropped)."""
    horn = []
    for p in premises:
        if p[0] == "all" and p[2][0] == "iff":
            f, g = p[2][1], p[2][2]
            horn += [["all", "x", ["imp", f, g]], ["all", "x", ["imp", g, f]]]
        elif L.horn_rule(p) is not None:
            horn.append(p)
    return L.fc_label(horn, goal)[0]


def folio(seed: int, n: int, n_premises: tuple[int, int], p_nonhorn: float, split: str,
          max_tries: int = 20000, z3_timeout_ms: int = 2000) -> tuple[list[dict], dict]:
    """Labels by Z3 over an open sort (Prover9 confirms them in prepare); ≥ p_nonhorn items need non-Horn logic."""
    import math

    rng = random.Random(seed)
    quota = {lab: n // 3 + (1 if i < n % 3 else 0) for i, lab in enumerate("ABC")}
    horn_budget = n - math.ceil(p_nonhorn * n)
    out, stats, tries = [], {"candidates": 0, "z3_unknown": 0, "inconsistent": 0, "horn_rejected": 0}, 0
    while any(quota.values()) and tries < max_tries:
        tries += 1
        preds = rng.sample(sorted(FOLIO_PREDS), 4)
        consts = rng.sample(PEOPLE, 1)
        sents = list({str(s["form"]): s for s in (folio_premise(rng, preds, consts)
                                                   for _ in range(rng.randint(*n_premises)))}.values())
        if not any(s["section"] == "fact" for s in sents):
            continue
        q = folio_conclusion(rng, preds, consts[0])
        premises = [s["form"] for s in sents]
        stats["candidates"] += 1
        lab = L.z3_label(premises, q["form"], timeout_ms=z3_timeout_ms)
        if lab == "?":
            stats["z3_unknown"] += 1
            continue
        if lab == "!":
            stats["inconsistent"] += 1
            continue
        if quota[lab] == 0:
            continue
        nonhorn = horn_label(premises, q["form"]) != lab
        if not nonhorn:  # C items are always Horn-equal (forward chaining is sound): keep budget for them
            if horn_budget == 0 or (lab != "C" and horn_budget <= quota["C"]):
                stats["horn_rejected"] += 1
                continue
            horn_budget -= 1
        sents = sents + [q]
        out.append(_item("folio", f"{split}{len(out):04d}", sents,
                         f"Based on the above information, is the following statement true, false, or uncertain? "
                         f"{q['text']}", ["A) True", "B) False", "C) Uncertain"], lab,
                         {"hops": len(sents) - 1, "depth": len(sents) - 1, "theory": "folio", "distractors": 0,
                          "nonhorn": nonhorn}))
        quota[lab] -= 1
    if any(quota.values()):
        raise RuntimeError(f"FOLIO-lite: could not fill {sum(quota.values())} label slots in {max_tries} candidates")
    rng.shuffle(out)
    for i, it in enumerate(out):
        it["id"] = f"folio-{split}{i:04d}"
    return out, stats
