"""Claim rows: the spec's ids, and the kind of each row (issue 16: by-construction rows are checks, G1-any context)."""

import pandas as pd
import pytest

from components.grammar import claims
from components.grammar.report import CLAIM_NUMBERS

SPEC_IDS = {"G1", "G1b", "G2", "G3", "G3b", "G4", "G5", "G6"}  # spec §8


def _empty_inputs(tmp_path) -> claims.Inputs:
    metrics = pd.DataFrame(columns=["system", "attribute", "balance", "accuracy", "robustness",
                                    "retrieval_failure_share", "generator_share", "top1_retrieval_accuracy",
                                    "n_non_robust"])
    return claims.Inputs(metrics, {}, {}, tmp_path / "results", 0, 10)


def test_every_spec_claim_has_a_row_with_a_unique_id_even_when_nothing_was_evaluated(tmp_path):
    rows, values = claims.all_claims(_empty_inputs(tmp_path))
    ids = [c.id for c in rows]
    assert len(ids) == len(set(ids)) and SPEC_IDS <= set(ids) and set(ids) == set(CLAIM_NUMBERS)
    for c in rows:
        assert not c.claim.startswith(c.id + " ")
        if c.id in ("G1", "G1b", "G3", "G3b", "G4", "G5", "G7", "LQ"):  # nothing to measure: inconclusive, said why
            assert c.verdict == "inconclusive" and c.observed.startswith("not run: "), c
    g6 = next(c for c in rows if c.id == "G6")  # issue 16: it was "not reproduced" with nothing evaluated
    assert g6.verdict == "inconclusive" and "no LLM judge" in g6.observed
    assert next(c for c in rows if c.id == "G2").verdict == "inconclusive"
    assert set(values) <= {"g1_any_systems"}


def test_kinds_follow_the_fidelity_issue(tmp_path):
    rows, _ = claims.all_claims(_empty_inputs(tmp_path))
    kinds = {c.id: c.kind for c in rows}
    assert {i for i, k in kinds.items() if k == "check"} == {"G1b", "G3", "G3b", "G4", "G5", "G7", "LQ"}
    assert kinds["G1-any"] == "context"
    assert {i for i, k in kinds.items() if k == "claim"} == {"G1", "G2", "G6"}
    for c in rows:
        assert bool(c.note.strip()) == (c.kind != "claim")


def test_a_check_row_keeps_its_kind_whatever_the_verdict():
    row = claims._claim("G5", claim="x", metric="m", expected="e", anchor="a", observed="o", verdict="not reproduced")
    assert row.kind == "check" and "never be retrieved" in row.note
    with pytest.raises(ValueError, match="needs a note"):
        claims.Claim(id="G5", kind="check", claim="x", metric="m", expected="e", anchor="a", observed="o",
                     verdict="reproduced")


# --- verdict rules: each reachable verdict of G1–G7 (and LQ) on hand-made inputs ---------------------------------

def _write(results, system: str, name: str, groups: list[tuple[int, int]]) -> None:
    """A per-example results file with the given (correct, n) per group (group ids shared across files)."""
    from components.grammar.jsonl import write_jsonl

    rows = [{"example_id": f"g{i}#{j}", "group_id": f"g{i}", "c": int(j < k), "r_gt": int(j < k)}
            for i, (k, n) in enumerate(groups) for j in range(n)]
    write_jsonl(results / system / f"{name}.jsonl", rows)


def _inputs(tmp_path, metrics_rows=(), diagnosis=None, reference_free=None) -> claims.Inputs:
    cols = ["system", "attribute", "balance", "accuracy", "robustness", "retrieval_failure_share", "generator_share",
            "top1_retrieval_accuracy", "n_non_robust"]
    return claims.Inputs(pd.DataFrame(list(metrics_rows), columns=cols), diagnosis or {}, reference_free or {},
                         tmp_path / "results", 0, 200)


ACC_HIDES = ([(10, 10)] * 16 + [(0, 10)] * 4, [(8, 10)] * 16 + [(0, 1)] * 4)  # Δacc 0.02, Δrob 0.20
NO_DROP = ([(10, 10)] * 16 + [(0, 10)] * 4,) * 2
UNCERTAIN = ([(10, 10)] * 4, [(10, 10), (10, 10), (6, 10), (2, 10)])  # Δrob 0.30 on 4 groups: CI reaches 0
UNCERTAIN_G1 = ([(10, 10)] * 4 + [(0, 10)] * 2, [(10, 10), (10, 10), (6, 10), (2, 10)] + [(0, 2)] * 2)  # Δacc 0.03


@pytest.mark.parametrize("sets,expected", [(ACC_HIDES, "reproduced"), (NO_DROP, "not reproduced"),
                                           (UNCERTAIN_G1, "inconclusive")])
def test_g1_reaches_each_verdict(tmp_path, sets, expected):
    inp = _inputs(tmp_path)
    _write(inp.results, "keyword+learned", "short_unbalanced", sets[0])
    _write(inp.results, "keyword+learned", "long_unbalanced", sets[1])
    assert claims.g1(inp)[0].verdict == expected


def test_g1_refutes_when_accuracy_moves_as_much_as_robustness(tmp_path):
    inp = _inputs(tmp_path)
    _write(inp.results, "keyword+learned", "short_unbalanced", [(10, 10)] * 20)
    _write(inp.results, "keyword+learned", "long_unbalanced", [(5, 10)] * 20)  # Δacc = Δrob = 0.5
    assert claims.g1(inp)[0].verdict == "not reproduced"


@pytest.mark.parametrize("sets,expected", [(ACC_HIDES, "reproduced"), (NO_DROP, "not reproduced"),
                                           (UNCERTAIN, "inconclusive")])
def test_g2_reaches_each_verdict(tmp_path, sets, expected):
    inp = _inputs(tmp_path)
    for system in ("keyword+oracle", "keyword+learned"):
        _write(inp.results, system, "short_balanced", sets[0])
        _write(inp.results, system, "long_balanced", sets[1])
    assert claims.g2(inp)[0].verdict == expected


def test_g1b_reaches_both_verdicts(tmp_path):
    inp = _inputs(tmp_path)
    _write(inp.results, "keyword+learned", "long_balanced", [(10, 10), (5, 10), (0, 10), (0, 10)])
    assert claims.g1b(inp)[0].verdict == "reproduced"
    _write(inp.results, "keyword+learned", "long_balanced", [(0, 10)] * 4)  # no competent group: Rob undefined
    assert claims.g1b(inp)[0].verdict == "not reproduced"


def _m(system, attr, balance, **kw):
    base = {"system": system, "attribute": attr, "balance": balance, "accuracy": 0.5, "robustness": 0.8,
            "retrieval_failure_share": 1.0, "generator_share": 1.0, "top1_retrieval_accuracy": 1.0, "n_non_robust": 3}
    return {**base, **kw}


@pytest.mark.parametrize("share,expected", [(0.95, "reproduced"), (0.5, "not reproduced"),
                                            (float("nan"), "inconclusive")])
def test_g3_reaches_each_verdict(tmp_path, share, expected):
    inp = _inputs(tmp_path, [_m("keyword+oracle", "long", "balanced", retrieval_failure_share=share)])
    assert claims.g3(inp)[0].verdict == expected


@pytest.mark.parametrize("share,top1,expected", [(0.9, 0.95, "reproduced"), (0.5, 0.95, "not reproduced"),
                                                 (0.9, 0.5, "inconclusive")])
def test_g3b_reaches_each_verdict(tmp_path, share, top1, expected):
    inp = _inputs(tmp_path, [_m("bm25+brittle", "short", "balanced", generator_share=share,
                                top1_retrieval_accuracy=top1)])
    assert claims.g3b(inp)[0].verdict == expected


def _diag(p, r, recovered=4):
    per_module = {"retriever": {"precision": p, "recall": r, "n_pred": 10, "n_true": 10}}
    return {"sys": {"long_balanced": {"per_module": per_module, "macro_precision": p, "macro_recall": r,
                                      "n_missing_doc_groups": 4, "missing_doc_recovered": recovered}}}


def test_g4_and_g5_reach_their_verdicts(tmp_path):
    assert claims.g4(_inputs(tmp_path, diagnosis=_diag(0.95, 0.92)))[0].verdict == "reproduced"
    assert claims.g4(_inputs(tmp_path, diagnosis=_diag(0.95, 0.6)))[0].verdict == "not reproduced"
    assert claims.g4(_inputs(tmp_path))[0].verdict == "inconclusive"
    assert claims.g5(_inputs(tmp_path, diagnosis=_diag(1, 1, 4)))[0].verdict == "reproduced"
    assert claims.g5(_inputs(tmp_path, diagnosis=_diag(1, 1, 3)))[0].verdict == "not reproduced"
    assert claims.g5(_inputs(tmp_path))[0].verdict == "inconclusive"


def _judge(bacc, precision, lift, says=20):
    sc = {"precision": precision, "recall": 0.9, "lift": lift, "n": 40.0, "n_says_correct": float(says)}
    return {"llm_judge": {"model": "m", "seconds": 1.0, "n_calls": 120, "competence": {"balanced_accuracy": bacc, "n": 40},
                          "systems": {"keyword+oracle": sc, "keyword+learned": sc}}}


@pytest.mark.parametrize("rf,expected", [(_judge(0.9, 0.2, 1.1), "reproduced"), (_judge(0.9, 0.8, 2.0), "not reproduced"),
                                         (_judge(0.5, 0.2, 1.0), "inconclusive"),  # a judge that cannot tell
                                         (_judge(0.9, 0.2, 1.0, says=3), "inconclusive"),  # too few "says correct"
                                         ({}, "inconclusive")])  # lexical proxies only never decide
def test_g6_reaches_each_verdict_and_needs_a_competent_llm_judge(tmp_path, rf, expected):
    assert claims.g6(_inputs(tmp_path, reference_free=rf))[0].verdict == expected


@pytest.mark.parametrize("unbal,expected", [(dict(accuracy=0.6, robustness=0.81), "reproduced"),
                                            (dict(accuracy=0.6, robustness=0.6), "not reproduced")])
def test_g7_reaches_its_verdicts(tmp_path, unbal, expected):
    rows = [_m(s, "long", "balanced") for s in ("bm25+oracle", "keyword+oracle")]
    rows += [_m(s, "long", "unbalanced", **unbal) for s in ("bm25+oracle", "keyword+oracle")]
    assert claims.g7(_inputs(tmp_path, rows))[0].verdict == expected
    assert claims.g7(_inputs(tmp_path))[0].verdict == "inconclusive"


@pytest.mark.parametrize("long_top1,expected", [(0.9, "reproduced"), (0.99, "not reproduced"), (0.4, "not reproduced")])
def test_long_query_calibration_band(tmp_path, long_top1, expected):
    rows = [_m("keyword+oracle", "short", "balanced", top1_retrieval_accuracy=1.0),
            _m("keyword+oracle", "long", "balanced", top1_retrieval_accuracy=long_top1)]
    assert claims.long_query_drop(_inputs(tmp_path, rows))[0].verdict == expected
