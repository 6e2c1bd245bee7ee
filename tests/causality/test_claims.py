"""Claim rules decide from the data: each verdict flips when the numbers do."""

import types

import pandas as pd

from components.causality import claims as C

P = types.SimpleNamespace(seed=0, evaluate=types.SimpleNamespace(bootstrap=500))


def _pc_table(shd_small_n, shd_large_n, f1_large_n=0.95):
    rows = []
    for rep in range(3):
        rows.append({"kind": "dag", "algorithm": "pc", "noise": "gauss", "n": 200, "rep": rep, "shd": shd_small_n,
                     "skeleton_f1": 0.8})
        rows.append({"kind": "dag", "algorithm": "pc", "noise": "gauss", "n": 5000, "rep": rep, "shd": shd_large_n,
                     "skeleton_f1": f1_large_n})
    return pd.DataFrame(rows)


def test_pc_consistency_rule():
    assert C.pc_consistency(_pc_table(4, 1))["verdict"] == "reproduced"
    assert C.pc_consistency(_pc_table(1, 4))["verdict"] == "not reproduced"
    assert C.pc_consistency(_pc_table(4, 1, f1_large_n=0.7))["verdict"] == "inconclusive"
    assert C.pc_consistency(pd.DataFrame())["verdict"] == "inconclusive"


def _lalonde(naive, adjusted):
    rows = [{"method": "naive", "att": naive, "low": naive - 100, "high": naive + 100}]
    rows += [{"method": m, "att": v, "low": v - 500, "high": v + 500} for m, v in adjusted.items()]
    return pd.DataFrame(rows)


def test_lalonde_gap_rule():
    good = C.lalonde_gap(_lalonde(-8497.52, {"ols": 1200.0, "ipw": 1500.0, "aipw": 2500.0}))
    assert good["verdict"] == "reproduced" and "naive -8,498" in good["observed"]
    assert C.lalonde_gap(_lalonde(-8497.52, {"ols": -9000.0, "ipw": -12000.0}))["verdict"] == "not reproduced"
    assert C.lalonde_gap(_lalonde(1000.0, {"ols": 1700.0}))["verdict"] == "not reproduced"  # naive not biased


def _effects(dataset, biases):
    return pd.DataFrame([{"dataset": dataset, "method": m, "rep": r, "ate_bias": b + 0.01 * r, "ate_true": 2.0,
                          "ate_err": abs(b + 0.01 * r), "pehe_out": 1.0}
                         for m, b in biases.items() for r in range(5)])


def test_hidden_confounder_rule():
    control = _effects("scm_lin", {"aipw": 0.01})
    biased = pd.concat([_effects("scm_hidden", {"ols": 1.7, "aipw": 1.6, "ipw": 1.8}), control])
    assert C.hidden_confounder(biased, P)["verdict"] == "reproduced"
    unbiased = pd.concat([_effects("scm_hidden", {"ols": 1.7, "aipw": 0.05}), control])
    assert C.hidden_confounder(unbiased, P)["verdict"] == "not reproduced"


def test_flexible_vs_linear_rule_uses_paired_ratios():
    rows = [{"dataset": "ihdp_b", "method": m, "rep": r, "pehe_out": v * (1 + 0.1 * r)}
            for r in range(6) for m, v in (("ols", 3.0), ("t_learner", 1.0), ("tarnet", 1.2))]
    frame = pd.DataFrame(rows)
    assert C.flexible_beats_linear(frame, P)["verdict"] == "reproduced"
    worse = frame.assign(pehe_out=frame.pehe_out.where(frame.method != "tarnet", 9.0))
    row = C.flexible_beats_linear(worse, P)
    assert row["verdict"] == "not reproduced" and "tarnet" in row["explain"]


def test_lingam_rule():
    def table(f1_unif, f1_gauss):
        return pd.DataFrame([{"kind": "dag", "algorithm": "direct_lingam", "noise": noise, "n": 1000, "rep": r,
                              "directed_f1": f1} for r in range(3) for noise, f1 in (("unif", f1_unif),
                                                                                   ("gauss", f1_gauss))])

    assert C.lingam_needs_nongaussian(table(0.95, 0.2))["verdict"] == "reproduced"
    assert C.lingam_needs_nongaussian(table(0.3, 0.4))["verdict"] == "not reproduced"


def _ihdp_a(ols, flexible):
    """√PEHE_out on ihdp_a: ``flexible`` maps method → value relative to OLS's, with a little per-rep noise."""
    rows = [{"dataset": "ihdp_a", "method": "ols", "rep": r, "pehe_out": ols * (1 + 0.05 * r)} for r in range(5)]
    rows += [{"dataset": "ihdp_a", "method": m, "rep": r, "pehe_out": v * (1 + 0.05 * ((r * 3) % 5))}
             for m, v in flexible.items() for r in range(5)]
    return pd.DataFrame(rows)


def test_no_heterogeneity_contrast_rule_reaches_each_verdict():
    assert C.no_heterogeneity_contrast(_ihdp_a(0.12, {"t_learner": 1.4, "x_learner": 0.7}), P)["verdict"] == "reproduced"
    refuted = C.no_heterogeneity_contrast(_ihdp_a(1.0, {"t_learner": 0.3, "x_learner": 0.4}), P)
    assert refuted["verdict"] == "not reproduced" and "t_learner" in refuted["explain"]
    one_wins = C.no_heterogeneity_contrast(_ihdp_a(1.0, {"t_learner": 2.0, "causal_forest": 0.3}), P)
    assert one_wins["verdict"] == "not reproduced"  # a single learner clearly better than OLS refutes it
    tied = C.no_heterogeneity_contrast(_ihdp_a(1.0, {"t_learner": 2.0, "causal_forest": 0.98}), P)
    assert tied["verdict"] == "inconclusive", tied["observed"]  # mean ℓ ≤ 0 for one, but its CI spans 0
    missing = C.no_heterogeneity_contrast(pd.DataFrame(), P)
    assert missing["id"] == "C3b" and missing["verdict"] == "inconclusive"


def test_every_spec_claim_has_one_row_with_id_and_kind():
    from components.core.claims import Claim

    rows = C.evaluate_claims(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), P)
    ids = [r["id"] for r in rows]
    assert ids == ["C1", "C2", "C3a", "C3b", "C4", "C5", "C6a", "C6a-bias", "C6b", "C6c", "C6d", "C7", "C8", "C9",
                   "C10", "C11", "C12", "C13", "C14", "C15", "C16"]
    claims = [Claim(**{k: r[k] for k in ("id", "kind", "claim", "metric", "expected", "anchor", "observed",
                                         "verdict", "note")}) for r in rows]  # a check without a note would raise
    assert {c.id for c in claims if c.kind == "check"} == {"C1", "C6a-bias"}
    assert all(c.verdict == "inconclusive" for c in claims)  # no data, no verdict
    for cid in C.NOT_RUN:
        row = rows[ids.index(cid)]
        assert row["observed"].startswith("not run: ") and row["kind"] == "claim"
    assert all(rows[ids.index(cid)]["note"] for cid in C.DEVIATIONS)  # changed rules are named in the row
