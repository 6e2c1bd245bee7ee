"""Claim rules of spec §8: every verdict reachable, fit and seed guards."""

import pytest

from components.moveint.claims import build_claims, collapse_verdict, ordering_verdict


@pytest.mark.parametrize("ours, base, expected", [
    ([1.0, 1.1, 0.9], [2.0, 2.0, 2.0], "reproduced"),
    ([1.95, 1.95, 1.95], [2.0, 2.0, 2.0], "inconclusive"),  # lower in every seed, but ratio 0.975 > 0.95
    ([3.0, 3.0, 1.0], [2.0, 2.0, 2.0], "not reproduced"),  # baseline lower in 2 of 3
    ([1.0, 3.0, 1.0], [2.0, 2.0, 2.0], "inconclusive"),  # wins 2/3: neither rule
    ([1.0], [2.0], "inconclusive"),  # one seed
])
def test_ordering_rule(ours, base, expected):
    assert ordering_verdict(ours, base)[0] == expected


@pytest.mark.parametrize("h_reg, h_noreg, min_u, expected", [
    ([0.9, 0.8, 0.95], [0.2, 0.3, 0.1], [0.2, 0.15, 0.3], "reproduced"),
    ([0.1, 0.1, 0.9], [0.2, 0.3, 0.1], [0.0, 0.0, 0.3], "not reproduced"),
    ([0.9, 0.9, 0.9], [0.8, 0.9, 0.7], [0.3, 0.3, 0.3], "inconclusive"),  # no-reg does not collapse either
    ([0.9, 0.9], [0.1, 0.1], [0.3, 0.3], "inconclusive"),
])
def test_collapse_rule(h_reg, h_noreg, min_u, expected):
    assert collapse_verdict(h_reg, h_noreg, min_u)[0] == expected


def _inputs(k3=(1.0, 1.0, 1.0), fitted=True):
    mse = {"moveint_k3": list(k3), "moveint_k3_noreg": [1.2] * 3, "moveint_k1": [1.5] * 3,
           "mild_like_label": [2.0] * 3, "mild_like": [2.5] * 3, "recurrent_lstm_label": [0.5] * 3,
           "recurrent_lstm": [0.9] * 3, "knn": [3.0], "mean_window": [4.0], "const_mean": [10.0]}
    ent = {"moveint_k3": [0.9] * 3, "moveint_k3_noreg": [0.2] * 3, "moveint_k1": [1.0] * 3}
    mins = {"moveint_k3": [0.2] * 3, "moveint_k3_noreg": [0.0] * 3, "moveint_k1": [1.0] * 3}
    fit = {m: [fitted] * len(v) for m, v in mse.items()}
    return mse, ent, mins, fit


def test_claims_table_ids_kinds_and_verdicts():
    rows = {c.id: c for c in build_claims(*_inputs(), profile="default")}
    assert list(rows) == ["C1", "C1-nolabel", "C2", "C2-nolabel", "C3", "C4", "C5", "C6", "S1", "S2"]
    assert [r.id for r in rows.values() if r.kind == "claim"] == ["C1", "C2", "C3", "C5", "C6"]
    assert rows["C1"].verdict == "reproduced" and rows["C2"].verdict == "not reproduced"
    assert rows["C2-nolabel"].verdict == "not reproduced"  # 1.0 vs 0.9: baseline lower in every seed
    assert rows["C3"].verdict == "reproduced" and rows["C4"].verdict == "reproduced"
    assert rows["C5"].verdict == rows["C6"].verdict == "inconclusive"
    assert rows["C5"].observed.startswith("not run: ") and rows["C6"].observed.startswith("not run: ")
    assert rows["S1"].verdict == "reproduced" and rows["S1"].kind == "check"


def test_unfitted_model_makes_the_row_inconclusive():
    mse, ent, mins, fit = _inputs()
    fit["mild_like_label"] = [True, False, True]
    rows = {c.id: c for c in build_claims(mse, ent, mins, fit, profile="default")}
    assert rows["C1"].verdict == "inconclusive" and "did not fit" in rows["C1"].observed


def test_missing_models_are_not_run_rows():
    mse, ent, mins, fit = _inputs()
    del mse["moveint_k1"], mse["recurrent_lstm_label"]
    rows = {c.id: c for c in build_claims(mse, ent, mins, fit, profile="default")}
    assert rows["C2"].observed.startswith("not run: ") and rows["C4"].observed.startswith("not run: ")


def test_comparisons_resting_on_a_model_below_the_mean_window_floor_are_inconclusive():
    from components.moveint.claims import build_claims

    seeds = 3
    mse = {"moveint_k3": [0.6] * seeds, "mild_like_label": [0.25] * seeds, "mild_like": [0.26] * seeds,
           "recurrent_lstm_label": [0.14] * seeds, "recurrent_lstm": [0.13] * seeds, "moveint_k1": [0.63] * seeds,
           "moveint_k3_noreg": [0.6] * seeds, "mean_window": [0.21] * seeds}
    fitted = {m: [True] * seeds for m in mse}
    entropy = {"moveint_k3": [0.6] * seeds, "moveint_k3_noreg": [0.3] * seeds}
    rows = {c.id: c for c in build_claims(mse, entropy, {"moveint_k3": [0.02] * seeds}, fitted, "default")}
    assert rows["C1"].verdict == "inconclusive" and "mean-window floor" in rows["C1"].observed
    assert rows["C2"].verdict == "inconclusive" and rows["C3"].verdict == "inconclusive"
    mse["moveint_k3"], mse["mild_like_label"] = [0.1] * seeds, [0.15] * seeds  # both fit: the rule decides again
    rows = {c.id: c for c in build_claims(mse, entropy, {"moveint_k3": [0.02] * seeds}, fitted, "default")}
    assert rows["C1"].verdict == "reproduced"


def test_ablation_and_sanity_rows_reach_not_reproduced():
    mse, ent, mins, fit = _inputs()
    mse["moveint_k1"] = [0.9] * 3  # single expert better than K = 3
    mse["mean_window"] = [1.1]  # the no-reg model (1.2) does not beat the floor
    rows = {c.id: c for c in build_claims(mse, ent, mins, fit, profile="default")}
    assert rows["C4"].verdict == "not reproduced" and rows["C4"].kind == "context"
    assert rows["S1"].verdict == "not reproduced" and "moveint_k3_noreg" in rows["S1"].observed
    # the fit gate is the same for both sides of C3: the no-reg model under the floor → inconclusive
    assert rows["C3"].verdict == "inconclusive" and "moveint_k3_noreg" in rows["C3"].observed
