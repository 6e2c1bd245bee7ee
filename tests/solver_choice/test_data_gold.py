"""Spec §9.1 (gold programs: every solver, accuracy 1), §9.2 (dataset properties), §9.7 (isolation)."""

import os
import stat

from components.solver_choice import generators as G
from components.solver_choice import logic as L
from components.solver_choice import programs as P
from components.solver_choice.executor import cache_key, execute_all
from components.solver_choice.solvers import prover9_binary

N = int(os.environ.get("SOLVER_CHOICE_GOLD_N", "12"))  # spec: ≥ 200 (set the env var for the full check)


def _items():
    pq = G.prontoqa(3, N, (1, 5), "t")
    pw, _ = G.proofwriter(4, N, (0, 3), ["AttNoneg", "AttNeg", "RelNoneg", "RelNeg"], 4, (8, 14), (5, 9), 0.3, "t")
    fo, _ = G.folio(5, 6, (3, 6), 0.6, "t")
    return pq, pw, fo


def test_gold_programs_execute_and_are_correct_on_every_solver():
    pq, pw, fo = _items()
    tasks = [(lang, P.gold_program(it, lang), len(it["options"]), "fixed")
             for it in pq + pw + fo for lang in P.LANGUAGES]
    res = execute_all(tasks, 2, 10.0, 30.0)
    for it in pq + pw:
        for lang in P.LANGUAGES:
            r = res[cache_key(lang, "fixed", len(it["options"]), P.gold_program(it, lang))]
            assert r["flag"] == "success" and r["answer"] == it["answer"], (it["id"], lang, r)
    for it in fo:
        a = [res[cache_key(lang, "fixed", 3, P.gold_program(it, lang))] for lang in ("fol", "z3")]
        assert a[0]["answer"] == a[1]["answer"] == it["answer"], (it["id"], a)


def test_prontoqa_properties():
    items = G.prontoqa(7, 40, (1, 5), "t")
    assert sum(it["answer"] == "A" for it in items) == 20
    for it in items:
        label, depth = L.fc_label(it["premises"], it["goal"])
        assert label == it["answer"] and depth == it["hops"]
        qpred = L.as_literal(it["goal"])[0]
        heads = [L.horn_rule(p)[1][0] for p in it["premises"] if L.horn_rule(p)[1][0][0] == qpred]
        assert len(heads) == 2 and heads[0][2] != heads[1][2]  # one distractor, opposite polarity


def test_proofwriter_properties():
    items, stats = G.proofwriter(8, 24, (0, 3), ["AttNoneg", "AttNeg", "RelNoneg", "RelNeg"], 4, (8, 14), (5, 9),
                                 0.3, "t")
    cells = {}
    for it in items:
        cells[(it["depth"], it["answer"])] = cells.get((it["depth"], it["answer"]), 0) + 1
        rules = [r for r in (L.horn_rule(p) for p in it["premises"]) if r]
        assert not L.contradictory(L.forward_chain(rules))
        assert L.z3_label(it["premises"], it["goal"]) == it["answer"]
    assert set(cells.values()) == {2} and len(cells) == 12
    assert stats["candidates"] >= 24


def test_folio_nonhorn_share():
    items, _ = G.folio(9, 9, (3, 6), 0.6, "t")
    assert sum(it["nonhorn"] for it in items) / len(items) >= 0.6
    for it in items:
        assert (G.horn_label(it["premises"], it["goal"]) != it["answer"]) == it["nonhorn"]
    assert sorted(it["answer"] for it in items) == list("AAABBBCCC")


def test_pyke_isolation_many_programs_in_one_worker():
    pq = G.prontoqa(11, 16, (1, 5), "t")
    progs = [P.gold_program(it, "pyke") for it in pq]
    one = execute_all([("pyke", p, 2, "fixed") for p in progs], 1, 10.0, 30.0)
    assert [one[cache_key("pyke", "fixed", 2, p)]["answer"] for p in progs] == [it["answer"] for it in pq]
    assert not any(n.startswith("compiled_krb") for n in os.listdir("."))


def test_prover9_binary_is_private():
    path = prover9_binary()
    mode = path.parent.stat().st_mode
    assert not mode & (stat.S_IWGRP | stat.S_IWOTH) and os.access(path, os.X_OK)
