"""Spec §9.9 (correlation with CIs) and the §8 verdict rules: each rule reaches each of its verdicts."""

import math

import numpy as np
import pytest

from components.solver_choice import claims as C
from components.solver_choice import metrics as M


def test_perfectly_linear_points_give_r_one():
    x = np.linspace(0.1, 0.9, 12)
    assert M.pearson(x, 2 * x - 0.1) == pytest.approx(1.0)
    assert M.pearson(x, -x) == pytest.approx(-1.0)
    assert math.isnan(M.pearson(x, np.ones(12)))


def _arrays(rates):
    rng = np.random.default_rng(0)
    arrays, points = {}, []
    for i, er in enumerate(rates):
        for ds in ("prontoqa", "proofwriter", "folio"):
            s = (rng.random(60) < er).astype(float)
            c = s * (rng.random(60) < 0.9)
            key = (f"t{i}", "fol", ds)
            arrays[key] = (s, c)
            points.append({"translator": key[0], "lang": "fol", "dataset": ds, "exe_rate": s.mean(),
                           "acc_strict": c.mean(), "exe_acc": c.sum() / max(s.sum(), 1)})
    return arrays, points


def test_bootstrap_correlation_ci_brackets_a_strong_r():
    arrays, points = _arrays([0.1, 0.4, 0.7, 0.95])
    boot = M.Bootstrap(arrays, 300, 1)
    corr = M.correlations(points, boot, [f"t{i}" for i in range(4)], ["prontoqa", "proofwriter", "folio"])
    c = corr["fol"]["acc_strict"]
    assert corr["fol"]["n_points"] == 12 and c["r"] > 0.9 and c["ci"][0] > 0.8 and c["ci"][0] <= c["r"] <= c["ci"][1]


@pytest.mark.parametrize("obs, lo, hi, expected", [
    (0.5, 0.3, 0.7, "reproduced"), (0.1, 0.02, 0.15, "not reproduced"), (0.25, -0.1, 0.4, "inconclusive"),
    (0.1, 0.05, 0.3, "inconclusive"), (float("nan"), 0, 1, "inconclusive")])
def test_threshold_rule_reaches_each_verdict(obs, lo, hi, expected):
    assert C.threshold_rule(obs, lo, hi, 0.20, 0.0) == expected


def _corr(r, lo, hi):
    return {k: {"n_points": 12, "acc_strict": {"r": r[k], "ci": [lo[k], hi[k]]}, "exe_acc": {"r": r[k], "ci": [lo[k], hi[k]]},
                "_reps": {"acc_strict": np.full(200, r[k]) + np.linspace(-0.01, 0.01, 200)}} for k in r}


def test_s2_s3_verdicts():
    good = _corr({"fol": 0.98, "pyke": 0.94, "z3": 0.85}, {"fol": 0.9, "pyke": 0.85, "z3": 0.81},
                 {"fol": 1, "pyke": 1, "z3": 0.9})
    assert C.s2(good, True)["verdict"] == "reproduced"
    assert C.s2(good, False)["verdict"] == "inconclusive"
    assert C.s3(good, True)["verdict"] == "reproduced"
    bad = _corr({"fol": 0.3, "pyke": 0.94, "z3": 0.85}, {"fol": 0.1, "pyke": 0.85, "z3": 0.81},
                {"fol": 0.5, "pyke": 1, "z3": 0.9})
    assert C.s2(bad, True)["verdict"] == "not reproduced"
    assert C.s3(bad, True)["verdict"] == "not reproduced"
    mid = _corr({"fol": 0.75, "pyke": 0.74, "z3": 0.73}, {"fol": 0.5, "pyke": 0.5, "z3": 0.5}, {"fol": 1, "pyke": 1, "z3": 1})
    assert C.s2(mid, True)["verdict"] == "inconclusive"
    straddle = _corr({"fol": 0.3, "pyke": 0.5, "z3": 0.4}, {"fol": -0.2, "pyke": 0.1, "z3": 0.1}, {"fol": 0.7, "pyke": 1, "z3": 1})
    assert C.s2b(good, True)["verdict"] == "reproduced" and C.s2b(straddle, True)["verdict"] == "inconclusive"


def test_s4_s5_a1_verdicts():
    assert C.s4({"fol": 1.0, "z3": 1.0, "pyke": 0.6}, {f"q{k}": (0.2, 0.5) for k in range(1, 5)}, True)["verdict"] == "reproduced"
    assert C.s4({"fol": 1.0, "z3": 1.0, "pyke": 0.95}, {f"q{k}": (0.5, 0.2) for k in range(1, 5)}, True)["verdict"] == "not reproduced"
    assert C.s4({"fol": 1.0, "z3": 1.0, "pyke": 0.6}, {"q1": (0.5, 0.2), "q2": (0.5, 0.2), "q3": (0.2, 0.5), "q4": (0.2, 0.5)},
                True)["verdict"] == "inconclusive"
    mk = lambda a, b: {"means": {"fol": 0.8, "pyke": 0.5, "z3": 0.6},  # noqa: E731
                       "diffs": {"pyke": {"diff": 0.3, "ci": a}, "z3": {"diff": 0.2, "ci": b}}}
    assert C.s5(mk([0.1, 0.4], [0.05, 0.3]), True)["verdict"] == "reproduced"
    assert C.s5(mk([-0.4, -0.1], [0.05, 0.3]), True)["verdict"] == "not reproduced"
    assert C.s5(mk([-0.1, 0.4], [0.05, 0.3]), True)["verdict"] == "inconclusive"
    h = {"n_rel": 10, "n_att": 10, "fixed_rel": 1.0, "compat_rel": 0.4, "att_equal": True}
    assert C.a1(h)["verdict"] == "reproduced"
    assert C.a1({**h, "compat_rel": 1.0})["verdict"] == "not reproduced"
    assert C.a1({**h, "compat_rel": 0.9})["verdict"] == "inconclusive"
    assert C.a1({"n_rel": 0})["verdict"] == "inconclusive"
