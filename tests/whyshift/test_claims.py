"""Verdict rules of the whyshift claims table (issue 12): every rule reaches each of its verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.whyshift import claims as C

R, N, I = "reproduced", "not reproduced", "inconclusive"


# ------------------------------------------------------------------------------------------- C1

def _cal(px, py):
    rows = [{"scenario": "pure_x", "est_yx_frac": v, "identity_error": 0.0} for v in px]
    rows += [{"scenario": "pure_yx", "est_yx_frac": v, "identity_error": 0.0} for v in py]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("px,py,want", [
    ([0.05, -0.1, 0.0], [1.0, 0.95, 1.05], R),
    ([-0.2, 0.05, 0.0], [1.0, 1.0, 1.0], I),      # two-sided: a spurious negative Y|X term fails that seed
    ([-0.3, -0.2, -0.25], [1.0, 1.0, 1.0], N),    # fails for every seed (the old one-sided rule passed it)
    ([0.0, 0.0, 0.0], [0.5, 0.6, 0.7], N),
])
def test_c1_is_two_sided(px, py, want):
    assert C.c1_calibration(_cal(px, py)).verdict == want


# ------------------------------------------------------------------------------------------- C2

def _pairs(n, est_right, yx_frac=0.9, total=0.1, ess=0.5, settings=3):
    return pd.DataFrame({
        "setting_id": [i % settings for i in range(n)], "true_total": total, "true_yx_frac": yx_frac,
        "true_label": "Y|X", "est_label": ["Y|X" if i < est_right else "X" for i in range(n)],
        "true_ess_p": ess, "true_ess_q": ess, "est_total": total, "identity_error": 0.0})


@pytest.mark.parametrize("frame,want", [
    (_pairs(10, 10), R), (_pairs(10, 5), N), (_pairs(10, 8), I),
    (_pairs(3, 3), I),                         # too few decidable pairs
    (_pairs(10, 10, settings=1), I),           # one setting only
    (_pairs(10, 0, yx_frac=0.6), I),           # knife-edge labels: not decidable
    (_pairs(10, 0, ess=0.05), I),              # no overlap: not decidable
])
def test_c2_judges_decidable_pairs_only(frame, want):
    main, other = C.c2_labels(frame, 0.05)
    assert main.verdict == want and main.kind == "claim"
    assert other.kind == "context" and other.verdict == I


def test_c2_reports_undecidable_pairs_in_their_own_row():
    frame = pd.concat([_pairs(10, 10), _pairs(4, 0, yx_frac=0.55)], ignore_index=True)
    main, other = C.c2_labels(frame, 0.05)
    assert "over 10 decidable" in main.observed and "over 4 pairs" in other.observed


def test_identity_is_a_check():
    row = C.identity(_pairs(3, 3), _cal([0.0], [1.0]))
    assert row.kind == "check" and row.verdict == R and row.note


# ------------------------------------------------------------------------------------------- C4

def _c4_analysis(diffs: dict[str, float], n_settings=4, erm=0.7, n=2000):
    return {str(s): {"erm_tree_best_by_id_val": erm, "n_main_target": n,
                     "family_best_by_id_val": {f: erm + d for f, d in diffs.items()}}
            for s in range(n_settings)}


@pytest.mark.parametrize("diffs,n_settings,want", [
    ({"DRO": -0.02, "imbalance": -0.015, "causal": -0.02, "fairness": -0.03}, 4, R),
    ({"DRO": 0.04, "imbalance": 0.0, "causal": 0.0, "fairness": 0.0}, 4, N),
    ({"DRO": 0.01, "imbalance": 0.0, "causal": 0.0, "fairness": 0.0}, 4, I),   # within the noise
    ({"DRO": -0.05, "imbalance": -0.05, "causal": -0.05, "fairness": -0.05}, 2, I),  # < 3 Y|X settings
])
def test_c4_verdicts(diffs, n_settings, want):
    a = _c4_analysis(diffs, n_settings)
    assert C.c4_robust_methods(a, list(a)).verdict == want


# ------------------------------------------------------------------------------------------- C5

@pytest.mark.parametrize("cls,hp,meth,want", [(0.3, 0.5, 0.1, R), (0.05, 0.05, 0.6, N)])
def test_c5_verdicts(cls, hp, meth, want):
    a = {str(s): {"r2_class": cls, "r2_hp_base": hp, "r2_variant_given_class": meth} for s in range(7)}
    assert C.c5_variance(a).verdict == want


def test_c5_inconclusive_when_split():
    a = {str(s): {"r2_class": 0.3, "r2_hp_base": 0.3, "r2_variant_given_class": 0.9 if s < 3 else 0.1}
         for s in range(7)}
    assert C.c5_variance(a).verdict == I


def test_c5_counts_the_method_knobs_as_method():
    from components.whyshift.variance import anova

    rng = np.random.default_rng(0)
    rows = []
    for size in (0.1, 1.0):                     # the DRO radius moves accuracy by 10 pp, base hps by ~0
        for lr in (0.001, 0.01):
            rows.append({"model_class": "mlp", "method": "chi_dro", "ood_acc_main": 0.6 + 0.1 * (size > 0.5)
                         + 0.001 * rng.standard_normal(), "hp_json": f'{{"size": {size}, "lr": {lr}}}'})
    for lr in (0.1, 0.3):
        rows.append({"model_class": "tree", "method": "xgb", "ood_acc_main": 0.7 + 0.001 * (lr > 0.2),
                     "hp_json": f'{{"learning_rate": {lr}}}'})
    out = anova(pd.DataFrame(rows))
    assert out["r2_variant_given_class"] > out["r2_method_given_class"]
    assert out["r2_hp_base"] < 0.05 < out["r2_hp"]


# ------------------------------------------------------------------------------------------- C6

def _c6(rx, ryx, sd=0.02):
    a = {f"x{i}": {"r_linear": v, "r_linear_sd": sd} for i, v in enumerate(rx)}
    a |= {f"y{i}": {"r_linear": v, "r_linear_sd": sd} for i, v in enumerate(ryx)}
    return a, [f"x{i}" for i in range(len(rx))], [f"y{i}" for i in range(len(ryx))]


@pytest.mark.parametrize("rx,ryx,want", [
    ([0.9, 0.92, 0.88], [0.3, 0.4, 0.35, 0.2], R),
    ([0.9, 0.92, 0.88], [0.9, 0.92, 0.91, 0.89], N),
    ([0.85, 0.95, 0.6], [0.5, 0.9, 0.3, 0.8], I),
    ([0.9, 0.92], [0.3, 0.4, 0.35, 0.2], I),          # < 3 X settings
])
def test_c6_verdicts(rx, ryx, want):
    assert C.c6_on_the_line(*_c6(rx, ryx)).verdict == want


# ------------------------------------------------------------------------------------------- C7

METHODS = [f"m{i}" for i in range(12)]


def _c7(x_perm, yx_perm, n_x=3, n_yx=4, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    a = {}
    for kind, order, n in (("x", x_perm, n_x), ("y", yx_perm, n_yx)):
        for i in range(n):
            acc = np.array([order.index(m) for m in METHODS], float) + noise * rng.standard_normal(len(METHODS))
            a[f"{kind}{i}"] = {"best_by_id_val": {m: {"ood_acc_main": float(v)} for m, v in zip(METHODS, acc)}}
    return a, [f"x{i}" for i in range(n_x)], [f"y{i}" for i in range(n_yx)]


def test_c7_reproduced_when_rankings_flip_between_kinds():
    assert C.c7_flips(*_c7(METHODS, METHODS[::-1], noise=1.0)).verdict == R


def test_c7_not_reproduced_when_kinds_agree():
    assert C.c7_flips(*_c7(METHODS, METHODS, noise=3.0)).verdict == N


def test_c7_inconclusive_with_too_few_settings():
    assert C.c7_flips(*_c7(METHODS, METHODS[::-1], n_x=2)).verdict == I


def test_c7_inconclusive_between_null_and_alpha():
    # a weak kind effect: find a seed whose permutation p lies in (0.1, 0.5) — the rule's middle zone
    for seed in range(40):
        args = _c7(METHODS, METHODS[:6][::-1] + METHODS[6:], noise=6.0, seed=seed)
        p = C.tau_null_test(*args)["p"]
        if C.C7_ALPHA < p < C.C7_NULL:
            assert C.c7_flips(*args).verdict == I
            return
    pytest.fail("no seed reached the inconclusive zone")


# ------------------------------------------------------------------------------------------- C8

def _region(leaf, planted=0.3, overall=0.1):
    return {"planted": True, "true_gap_leaf": leaf, "true_gap_planted": planted, "true_gap_all": overall,
            "jaccard": 0.1, "leaf_gap": leaf + 0.2, "leaf_gap_heldout": leaf + 0.1}


@pytest.mark.parametrize("leaves,want", [
    ([0.35, 0.3, 0.25, 0.4], R),            # leaves with as much (or more) true gap as R
    ([0.1, 0.12, 0.11, 0.3], N),            # leaves no more shifted than the average point
    ([0.35, 0.3, 0.12, 0.11], I),
    ([0.35, 0.3], I),                        # < 3 planted settings
])
def test_c8_verdicts(leaves, want):
    assert C.c8_risk_region({str(i): _region(v) for i, v in enumerate(leaves)}).verdict == want


def test_c8_outcomes():
    assert C.region_outcome(_region(0.5)) == "found"              # larger true gap than R, no overlap needed
    assert C.region_outcome(_region(0.2)) == "partial"
    assert C.region_outcome(_region(0.12)) == "missed"
    assert C.region_outcome(_region(0.3, planted=0.2, overall=0.35)) == "missed"   # below the average point


# ------------------------------------------------------------------------- identity, C3, C9, P6

def test_identity_fails_when_the_terms_do_not_add_up():
    frame = _pairs(3, 3).assign(identity_error=[0.0, 1e-6, 0.0])
    assert C.identity(frame, _cal([0.0], [1.0])).verdict == N


def _c3_pairs(n_yx: int, n_x: int, n_small: int = 2) -> pd.DataFrame:
    labels = ["Y|X"] * n_yx + ["X"] * n_x + ["Y|X"] * n_small
    totals = [0.1] * (n_yx + n_x) + [0.01] * n_small          # small drops are filtered out
    return pd.DataFrame({"est_total": totals, "est_label": labels})


@pytest.mark.parametrize("n_yx,n_x,real,want", [
    (8, 2, True, R), (2, 8, True, N), (4, 6, True, I),         # 0.8 / 0.2 / 0.4 of the > 5 pp pairs
    (8, 2, False, I),                                           # synthetic: a property of the knobs
    (0, 0, True, I),                                            # no pair above the filter
])
def test_c3_verdicts(n_yx, n_x, real, want):
    assert C.c3_prevalence(_c3_pairs(n_yx, n_x), 0.05, real).verdict == want


@pytest.mark.parametrize("ca,pr,real,main,want", [
    (0.85, 0.72, True, "PR", R), (0.85, 0.60, True, "PR", N), (0.80, 0.7145, True, "PR", N),
    (0.85, 0.72, False, "PR", I),                               # synthetic twin: not measurable
    (0.85, 0.72, True, "HI", I),                                # main target is not PR
])
def test_c9_verdicts(ca, pr, real, main, want):
    analysis = {"1": {"main_target": main, "id_acc_reference": ca, "main_acc_reference": pr}}
    assert C.c9_ca_pr(analysis, real).verdict == want


@pytest.mark.parametrize("total,frac,real,want", [
    (0.05, 0.60, True, R), (0.10, 0.60, True, N), (0.05, 0.20, True, N),
    (0.05, 0.60, False, I),                                     # synthetic: not measurable
])
def test_p6_verdicts(total, frac, real, want):
    frame = pd.DataFrame({"setting_id": [1, 1], "target": ["AL", "PR"], "est_total": [total, 0.2],
                          "est_yx_frac": [frac, 0.9]})
    assert C.p6_ca_al(frame, real).verdict == want


def test_p6_inconclusive_without_the_al_pair():
    frame = pd.DataFrame({"setting_id": [1], "target": ["PR"], "est_total": [0.2], "est_yx_frac": [0.9]})
    assert C.p6_ca_al(frame, True).verdict == I
