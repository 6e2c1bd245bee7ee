"""Claim rules decide from the data: each verdict flips when the numbers do."""

import types

import pandas as pd

from components.causality import claims as C

P = types.SimpleNamespace(seed=0, evaluate=types.SimpleNamespace(bootstrap=500),
                          effects=types.SimpleNamespace(ps_clip=0.01))


def _pc_table(shd_small_n, shd_large_n, f1_large_n=0.95, ges=(4, 1)):
    rows = []
    for rep in range(3):
        for algo, (small, large) in (("pc", (shd_small_n, shd_large_n)), ("ges", ges)):
            rows.append({"kind": "dag", "algorithm": algo, "noise": "gauss", "n": 200, "rep": rep, "shd": small,
                         "skeleton_f1": 0.8})
            rows.append({"kind": "dag", "algorithm": algo, "noise": "gauss", "n": 5000, "rep": rep, "shd": large,
                         "skeleton_f1": f1_large_n if algo == "pc" else 0.95})
    return pd.DataFrame(rows)


def test_pc_and_ges_consistency_rule():
    assert C.pc_consistency(_pc_table(4, 1))["verdict"] == "reproduced"
    assert C.pc_consistency(_pc_table(1, 4))["verdict"] == "not reproduced"
    assert C.pc_consistency(_pc_table(4, 1, ges=(1, 3)))["verdict"] == "not reproduced"  # GES counts too
    low_f1 = C.pc_consistency(_pc_table(4, 1, f1_large_n=0.7))
    assert low_f1["verdict"] == "inconclusive" and "PC skeleton F1" in low_f1["explain"]
    assert C.pc_consistency(_pc_table(4, 1).query("algorithm == 'pc'"))["verdict"] == "inconclusive"  # GES missing
    assert C.pc_consistency(pd.DataFrame())["verdict"] == "inconclusive"


def _lalonde(naive, adjusted):
    rows = [{"method": "naive", "att": naive, "low": naive - 100, "high": naive + 100}]
    rows += [{"method": m, "att": v, "low": v - 500, "high": v + 500} for m, v in adjusted.items()]
    return pd.DataFrame(rows)


def _five(*values):
    return dict(zip(C.LALONDE_METHODS, values))


def test_lalonde_rule_is_the_specs():
    good = C.lalonde_gap(_lalonde(-8497.52, _five(1200.0, 2300.0, 1300.0, 1500.0, 1750.0)))
    assert good["verdict"] == "reproduced" and "naive -8,498" in good["observed"] and "spread 1,100" in good["observed"]
    narrow = C.lalonde_gap(_lalonde(-8497.52, _five(1200.0, 1900.0, 1300.0, 1500.0, 1750.0)))
    assert narrow["verdict"] == "not reproduced" and "spread" in narrow["explain"]  # all agree near the benchmark
    far = C.lalonde_gap(_lalonde(-8497.52, _five(-900.0, 4000.0, 3000.0, 3500.0, 5000.0)))
    assert far["verdict"] == "inconclusive" and "within ±1,000" in far["explain"]
    worse = C.lalonde_gap(_lalonde(-8497.52, _five(1200.0, -12000.0, 1300.0, 1500.0, 1750.0)))
    assert worse["verdict"] == "not reproduced"
    assert C.lalonde_gap(_lalonde(-8497.52, {"ols": 1200.0}))["verdict"] == "inconclusive"  # spec estimators missing


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
    assert ids == ["C1", "C2", "C3a", "C3b", "C4", "C5", "C5-scm", "C6a", "C6a-bias", "C6b", "C6c", "C6d", "C7", "C8",
                   "C9", "C10", "C11", "C12", "C13", "C14", "C15", "C16"]
    claims = [Claim(**{k: r[k] for k in ("id", "kind", "claim", "metric", "expected", "anchor", "observed",
                                         "verdict", "note")}) for r in rows]  # a check without a note would raise
    assert {c.id for c in claims if c.kind == "check"} == {"C1", "C6a-bias"}
    assert {c.id for c in claims if c.kind == "context"} == {"C5-scm"}
    assert all(c.verdict == "inconclusive" for c in claims)  # no data, no verdict
    for cid in C.NOT_RUN:
        row = rows[ids.index(cid)]
        assert row["observed"].startswith("not run: ") and row["kind"] == "claim"
    assert all(rows[ids.index(cid)]["note"] for cid in C.DEVIATIONS)  # changed rules are named in the row


def _ihdp_ate(ipw, aipw):
    return pd.DataFrame([{"dataset": "ihdp_b", "method": m, "rep": r, "ate_err": v * (1 + 0.1 * r)}
                         for r in range(6) for m, v in (("ipw", ipw), ("aipw", aipw))])


def test_ipw_overlap_rule_on_ihdp_b_reaches_each_verdict():
    assert C.ipw_overlap(_ihdp_ate(1.2, 0.1), P)["verdict"] == "reproduced"
    reverse = C.ipw_overlap(_ihdp_ate(0.1, 0.4), P)
    assert reverse["verdict"] == "not reproduced" and "reverse" in reverse["explain"]
    assert C.ipw_overlap(_ihdp_ate(0.15, 0.1), P)["verdict"] == "inconclusive"  # worse, but not 2×
    assert C.ipw_overlap(pd.DataFrame(), P)["verdict"] == "inconclusive"


def _studies(rows):
    base = {"setting": "", "reps": 20, "n": 2000, "mean": float("nan"), "median": float("nan"), "sd": 0.1,
            "se_mean": float("nan"), "truth": float("nan"), "bias": float("nan"), "rmse": float("nan"),
            "within_2se": float("nan"), "marks": "", "bidirected": float("nan")}
    return pd.DataFrame([{**base, **r} for r in rows])


def _ks(cells):
    return _studies([{"study": "ks", "setting": st, "method": m, "rmse": v, "truth": 10.0}
                     for st, vals in cells.items() for m, v in zip(("ols", "ipw", "aipw"), vals)])


def test_double_robustness_rule():
    cells = {"PS ok, OR ok": (0.05, 1.4, 0.05), "PS ok, OR wrong": (6.3, 1.4, 1.8),
             "PS wrong, OR ok": (0.05, 11.0, 0.055), "PS wrong, OR wrong": (6.3, 11.0, 21.0)}
    assert C.double_robustness(_ks(cells))["verdict"] == "reproduced"
    inefficient = C.double_robustness(_ks({**cells, "PS wrong, OR ok": (0.05, 11.0, 0.17)}))
    assert inefficient["verdict"] == "inconclusive" and "1.2 ×" in inefficient["explain"]
    broken = C.double_robustness(_ks({**cells, "PS ok, OR wrong": (6.3, 1.4, 7.0)}))
    assert broken["verdict"] == "not reproduced"
    assert C.double_robustness(pd.DataFrame())["verdict"] == "inconclusive"


def _iv(ols_bias, iv_bias, weak_rmse=5.0, weak_median=1.8, ols_median=2.5):
    return _studies([
        {"study": "iv", "setting": "strong", "method": "ols", "bias": ols_bias, "truth": 1.5, "mean": 1.5 + ols_bias},
        {"study": "iv", "setting": "strong", "method": "iv_2sls", "bias": iv_bias, "truth": 1.5, "mean": 1.5 + iv_bias,
         "rmse": 0.05},
        {"study": "iv", "setting": "strong", "method": "first_stage_f", "median": 1000.0},
        {"study": "iv", "setting": "weak", "method": "iv_2sls", "truth": 1.5, "rmse": weak_rmse, "median": weak_median},
        {"study": "iv", "setting": "weak", "method": "ols", "truth": 1.5, "median": ols_median},
        {"study": "iv", "setting": "weak", "method": "first_stage_f", "median": 2.5}])


def test_iv_and_frontdoor_recovery_rules():
    assert C.iv_recovers(_iv(0.67, 0.01))["verdict"] == "reproduced"
    assert C.iv_recovers(_iv(0.67, 0.3))["verdict"] == "inconclusive"  # 2SLS biased 20 % of τ, still below OLS
    assert C.iv_recovers(_iv(0.67, 0.9))["verdict"] == "not reproduced"
    assert C.iv_recovers(_iv(0.05, 0.01))["verdict"] == "not reproduced"  # no confounding bias to remove
    fd = _studies([{"study": "frontdoor", "method": "naive", "bias": 2.3, "truth": 1.5, "mean": 3.8},
                   {"study": "frontdoor", "method": "frontdoor", "bias": -0.02, "truth": 1.5, "mean": 1.48}])
    assert C.frontdoor_recovers(fd)["verdict"] == "reproduced"
    assert C.frontdoor_recovers(pd.DataFrame())["verdict"] == "inconclusive"


def test_weak_instrument_rule():
    assert C.weak_instrument(_iv(0.67, 0.01))["verdict"] == "reproduced"
    assert C.weak_instrument(_iv(0.67, 0.01, weak_median=1.45))["verdict"] == "inconclusive"  # noise around τ
    assert C.weak_instrument(_iv(0.67, 0.01, weak_median=1.2))["verdict"] == "not reproduced"  # away from OLS
    assert C.weak_instrument(_iv(0.67, 0.01, weak_rmse=0.04))["verdict"] == "not reproduced"


def test_rdd_rules():
    def synth(within):
        return _studies([{"study": "rdd", "setting": "h=0.3", "method": "rdd_ll", "within_2se": within, "mean": 2.0,
                          "se_mean": 0.08, "truth": 2.0}])

    assert C.rdd_recovers(synth(19))["verdict"] == "reproduced"
    assert C.rdd_recovers(synth(17))["verdict"] == "inconclusive"
    assert C.rdd_recovers(synth(14))["verdict"] == "not reproduced"

    def real(lmb, transfers):
        rows = [{"study": "rdd_lmb", "method": "rdd_ll", "setting": f"h={h}", "mean": lmb, "se_mean": 2.4, "n": 900}
                for h in (0.025, 0.05, 0.1)]
        rows += [{"study": "rdd_transfers", "method": "rdd_ll", "setting": f"h={h}", "mean": transfers,
                  "se_mean": 0.03, "n": 900} for h in (0.01, 0.015, 0.02)]
        return _studies(rows)

    ok = C.real_rdd_positive(real(19.8, 0.1))
    assert ok["verdict"] == "reproduced" and "rdd_lmb h=0.05" in ok["observed"] and "h=0.015" in ok["observed"]
    assert C.real_rdd_positive(real(19.8, 0.03))["verdict"] == "inconclusive"
    assert C.real_rdd_positive(real(-19.8, 0.1))["verdict"] == "not reproduced"


def test_fci_and_nhefs_rules():
    def latent(bidirected):
        return _studies([{"study": "latent", "setting": "X2-X3", "method": "fci", "reps": 3, "bidirected": bidirected,
                          "marks": "↔ ×%d" % bidirected}])

    assert C.fci_latent(latent(2))["verdict"] == "reproduced"
    assert C.fci_latent(latent(1))["verdict"] == "inconclusive"
    assert C.fci_latent(latent(0))["verdict"] == "not reproduced"

    def nhefs(ipw):
        return _studies([{"study": "nhefs", "method": m, "mean": v, "n": 1566} for m, v in
                         (("ipw", ipw), ("naive", 2.54), ("max_weight", 16.7), ("effective_n", 1013.0))])

    assert C.nhefs_textbook(nhefs(3.44))["verdict"] == "reproduced"
    assert C.nhefs_textbook(nhefs(2.9))["verdict"] == "not reproduced"


def test_sachs_rule_against_empty_and_degree_matched_baselines():
    def sachs(shds):
        return pd.DataFrame([{"kind": "sachs", "algorithm": a, "shd": v, "empty_shd": 18, "random_shd_mean": 27.0,
                              "random_shd_p5": 22.0, "shd_percentile": 0.0, "degree_matched_shd_mean": 26.0,
                              "degree_matched_shd_p5": 21.0, "degree_matched_percentile": 0.0}
                             for a, v in shds.items()])

    assert C.sachs_informative(sachs({"pc": 12, "ges": 14}))["verdict"] == "reproduced"
    assert C.sachs_informative(sachs({"pc": 12, "ges": 19}))["verdict"] == "inconclusive"
    # below the random baselines, but no better than predicting no edges at all
    assert C.sachs_informative(sachs({"pc": 19, "ges": 20}))["verdict"] == "not reproduced"
