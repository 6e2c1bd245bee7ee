"""Pre-registered claim rules (spec §8): thresholds live here, next to their anchors.

Each rule reads the evaluate tables and returns a row with the spec's claim id and a kind (claim / check),
plus claim, metric, expected, anchor, observed, verdict, the raw inputs, ``explain`` (what in the data made
a rule fail) and ``note`` (why a check cannot count, or how a claim's rule departs from the spec).
A rule whose data is not in the profile returns "inconclusive"; a spec claim the pipeline cannot test
yet has a "not run: why" row (``NOT_RUN``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.causality.datasets import NSW_EXPERIMENTAL_ATT
from components.causality.identification import NHEFS_IPW_ANCHOR
from components.causality.metrics import bootstrap_ci, paired_log_ratio
from components.core.claims import verdict

FLEXIBLE = ("t_learner", "x_learner", "causal_forest", "dr_learner", "tarnet", "cfr")
ADJUSTED_ATT = ("ols", "ps_match", "ipw", "aipw", "dml", "t_learner", "x_learner", "s_learner", "causal_forest",
                "dr_learner", "tarnet", "cfr")
BACKDOOR = ("ols", "s_learner", "t_learner", "x_learner", "ps_match", "ipw", "aipw", "dml", "causal_forest",
            "dr_learner", "tarnet", "cfr")
HIDDEN_BIAS_MIN = 0.25         # scm_hidden: |bias| ≥ 25 % of τ for every back-door estimator
CONTROL_BIAS_MAX = 0.10        # scm_lin (no hidden U): AIPW |bias| ≤ 10 % of τ
LINGAM_F1_MIN, LINGAM_GAP_MIN = 0.8, 0.2
PC_SKELETON_F1_MIN = 0.9
IPW_RMSE_RATIO_MIN = 2.0
ADJUST_RATIO_MAX = 0.25


# checks (kind "check"): rows whose outcome is fixed by how the synthetic data were generated
CHECK_NOTES = {
    "C1": "scm_lin's confounders are all observed and its outcome is linear with τ = 2, so consistent back-door "
          "estimators remove the bias by construction of the generator: it checks the estimators, not the survey",
    "C6a-bias": "U enters both T and Y of scm_hidden and is never observed, so back-door bias is true by "
                "construction; the recovery half (an instrument) is the claim row C6a",
}
# context rows (kind "context"): added to look for an effect outside the pre-registered row
CONTEXT_NOTES = {
    "C5-scm": "context, not a claim: a purpose-built SCM (scm_poor_overlap, propensity slope ×3.75) added after the "
              "pre-registered IHDP-B row (C5) showed the reverse; it shows where IPW's instability does appear",
}
# claims whose data or sizes depart from the spec (shown in the row's note; reasons in components/causality/README.md)
DEVIATIONS = {
    "C3b": "ihdp_a has 4 replications in the default profile (spec: 5)",
    "C7": "scm_iv has 200 replications per instrument (spec default: 20): at 20 the weak-instrument median was 1.66 "
          "on seed block 0 and 1.497 on block 1000 (sampling noise of a median at first-stage F ≈ 2.5 is ≈ 0.25)",
    "C8": "dag_gauss graphs have expected degree 3 (spec: edge probability 2/(d − 1), degree 2), where PC was "
          "already near-perfect at n = 200 (mean SHD 0.7 over 3 graphs) and the old verdict rested on one edge",
    "C12": "spec: sachs_cont and pgmpy's sachs_bn; pgmpy is not installed, so only the continuous Sachs data is "
           "judged; baselines: random DAGs with 18 edges (spec), the empty graph and degree-matched random graphs "
           "(the truth with shuffled labels)",
    "C13": "the spec asks for 200 bootstrap resamples (intervals only; the rule uses point estimates): the profile "
           "keeps 10 because the five ATT estimators cost ≈ 20 s per resample on 16,177 rows (DoWhy matching and "
           "weighting, cross-fitted XGBoost AIPW), ≈ 4,000 CPU-s for 200",
}


def _row(cid: str, claim: str, metric: str, expected: str, anchor: str, observed: str, result: str,
         inputs: dict | None = None, explain: str = "") -> dict:
    """``explain``: what in the data made a rule fail (shown in the report for verdicts other than reproduced)."""
    kind = "check" if cid in CHECK_NOTES else "context" if cid in CONTEXT_NOTES else "claim"
    return {"id": cid, "kind": kind, "claim": claim, "metric": metric, "expected": expected, "anchor": anchor,
            "observed": observed, "verdict": result, "inputs": inputs or {}, "explain": explain,
            "note": CHECK_NOTES.get(cid) or CONTEXT_NOTES.get(cid) or DEVIATIONS.get(cid, "")}


def _missing(cid: str, claim: str, metric: str, expected: str, anchor: str, what: str) -> dict:
    return _row(cid, claim, metric, expected, anchor, f"n/a ({what} not in this profile)", "inconclusive")


# spec §8 claims with no data or estimator in the pipeline yet (issue 15): id → (claim, data + metric, expected,
# anchor, why not run)
NOT_RUN = {
    "C16": ("A proxy-based latent-variable model (CEVAE) reduces bias",
            "ε_ATE of cevae_lite vs ols on proxies, scm_proxy (3 replications)",
            "lower in all 3 paired replications → reproduced; otherwise inconclusive",
            "expected inconclusive at miniature scale",
            "no maintained CEVAE fits the stack (CausalML's needs pyro-ppl or JAX, neither in the lock; the "
            "AMLab reference is TensorFlow/Edward) and the spec's own cevae_lite is not written: the spec itself "
            "expects this row inconclusive at miniature scale"),
}


def not_run(cid: str) -> dict:
    claim, metric, expected, anchor, why = NOT_RUN[cid]
    return _row(cid, claim, metric, expected, anchor, f"not run: {why}", "inconclusive")


def _reps(per_unit: pd.DataFrame, dataset: str, method: str, column: str) -> pd.Series:
    if per_unit.empty or column not in per_unit.columns:
        return pd.Series(dtype=float)
    sel = per_unit[(per_unit.dataset == dataset) & (per_unit.method == method)]
    return sel.set_index("rep")[column].dropna()


def _flexible_vs_ols(per_unit: pd.DataFrame, dataset: str, p) -> tuple[pd.Series, dict, str] | None:
    """OLS's √PEHE_out per replication, and each flexible learner's paired log-ratio (mean, CI) against it."""
    base = _reps(per_unit, dataset, "ols", "pehe_out")
    present = [m for m in FLEXIBLE if len(_reps(per_unit, dataset, m, "pehe_out"))]
    if len(base) < 2 or not present:
        return None
    stats = {}
    for m in present:
        other = _reps(per_unit, dataset, m, "pehe_out")
        common = base.index.intersection(other.index)
        stats[m] = paired_log_ratio(other[common].to_numpy(), base[common].to_numpy(), p.evaluate.bootstrap, p.seed)
    observed = (f"√PEHE_out ols {base.mean():.2f}; " +
                "; ".join(f"{m} ℓ={s[0]:+.2f} [{s[1]:+.2f}, {s[2]:+.2f}]" for m, s in stats.items()) +
                f" (n={len(base)} reps)")
    return base, stats, observed


def flexible_beats_linear(per_unit: pd.DataFrame, p) -> dict:
    meta = ("Flexible CATE learners beat a linear constant-effect model on IHDP-B (survey S3)",
            "√PEHE_out paired log-ratio ℓ = log(√PEHE_method / √PEHE_ols) over replications, bootstrap 95 % CI",
            "every flexible learner: mean ℓ < 0 and CI upper < 0 (not reproduced if any CI lower > 0)",
            "Hill 2011 / Shalit et al. 2017 [R]; prototype 5 reps: OLS 3.59, T 1.43, X 1.68, CF 2.59, DR 2.10 [M]")
    found = _flexible_vs_ols(per_unit, "ihdp_b", p)
    if found is None:
        return _missing("C3a", *meta, "ihdp_b with ols and a flexible learner")
    base, stats, observed = found
    result = verdict(all(s[2] < 0 for s in stats.values()), any(s[1] > 0 for s in stats.values()))
    failing = [m for m, s in stats.items() if s[2] >= 0]
    note = "; ".join(_loss_pattern(m, _reps(per_unit, "ihdp_b", m, "pehe_out"), base, stats[m]) for m in failing)
    return _row("C3a", *meta, observed, result, {m: list(s) for m, s in stats.items()}, note)


def _loss_pattern(method: str, pehe: pd.Series, ols: pd.Series, stat: tuple) -> str:
    """Where a learner loses to OLS: replications with weak heterogeneity (small OLS error) expose its noise floor."""
    common = pehe.index.intersection(ols.index)
    a, b = pehe[common], ols[common]
    lose = a > b
    ci = "includes 0" if stat[1] <= 0 <= stat[2] else "lies above 0"
    text = (f"{method}: ℓ CI [{stat[1]:+.2f}, {stat[2]:+.2f}] {ci}; it beats OLS in {int((~lose).sum())}/"
            f"{len(common)} replications")
    if lose.any():
        text += (f" and loses where OLS's √PEHE is small (mean {b[lose].mean():.2f}, weak heterogeneity) while its own "
                 f"error stays at {a[lose].mean():.2f} (a variance floor)")
    if lose.any() and (~lose).any():
        text += f"; where heterogeneity is strong it wins ({a[~lose].mean():.2f} vs OLS {b[~lose].mean():.2f})"
    return text


def no_heterogeneity_contrast(per_unit: pd.DataFrame, p) -> dict:
    meta = ("The flexible learners' advantage over a constant-effect model disappears without heterogeneity (IHDP-A)",
            "√PEHE_out paired log-ratio ℓ = log(√PEHE_flexible / √PEHE_ols) on ihdp_a, bootstrap 95 % CI",
            "every flexible learner: mean ℓ > 0 (not reproduced if any flexible learner's CI upper < 0)",
            "prototype: OLS 0.12; T 1.43; X 0.71; CF 0.46 [M]")
    found = _flexible_vs_ols(per_unit, "ihdp_a", p)
    if found is None:
        return _missing("C3b", *meta, "ihdp_a with ols and a flexible learner")
    _, stats, observed = found
    result = verdict(all(s[0] > 0 for s in stats.values()), any(s[2] < 0 for s in stats.values()))
    beating = [m for m, s in stats.items() if s[0] <= 0]
    explain = ("still at or below OLS's error without heterogeneity: " + ", ".join(beating)) if beating else ""
    return _row("C3b", *meta, observed, result, {m: list(s) for m, s in stats.items()}, explain)


LALONDE_METHODS = ("ols", "ps_match", "ipw", "entropy_bal", "aipw_att")  # spec §8 C13 (ipw = Hájek ATT weights)
WITHIN_BENCHMARK, SPREAD_MIN = 1000.0, 1000.0


def lalonde_gap(lalonde: pd.DataFrame, per_unit: pd.DataFrame | None = None) -> dict:
    meta = ("LaLonde: adjustment moves every estimate toward the experiment, but the estimates vary (S1, S12)",
            "ATT on lalonde_cps (NSW treated + CPS controls) of ols, ps_match, ipw (ATT weights), entropy_bal, "
            "aipw_att vs the NSW experimental 1,794.34",
            "every adjusted |est − 1,794| < |naive − 1,794| (10,292); at least one within ±1,000; max − min ≥ 1,000 "
            "(not reproduced if any adjusted estimate is no closer than naive, or all agree within ±1,000 of the "
            "benchmark with a spread < 1,000)",
            "experimental 1,794.34 [V]; naive −8,497.52 [V]; prototype OLS 699, IPW-ATT 615, 1-NN PSM 2,648 [M]")
    if lalonde.empty or "naive" not in set(lalonde.method):
        return _missing("C13", *meta, "lalonde_cps")
    by = lalonde.set_index("method")
    missing = [m for m in LALONDE_METHODS if m not in by.index or not np.isfinite(by.loc[m, "att"])]
    if missing:
        return _missing("C13", *meta, "LaLonde estimators " + ", ".join(missing))
    naive_err = abs(by.loc["naive", "att"] - NSW_EXPERIMENTAL_ATT)
    ests = {m: float(by.loc[m, "att"]) for m in LALONDE_METHODS}
    errs = {m: abs(v - NSW_EXPERIMENTAL_ATT) for m, v in ests.items()}
    spread = max(ests.values()) - min(ests.values())
    boot_share = ""
    if per_unit is not None and len(per_unit):
        lal = per_unit[(per_unit.dataset == "lalonde_cps") & (per_unit.rep > 0)]
        wide = lal.pivot_table(index="rep", columns="method", values="att_hat")
        if len(wide) and all(m in wide.columns for m in LALONDE_METHODS):
            spreads = wide[list(LALONDE_METHODS)].max(axis=1) - wide[list(LALONDE_METHODS)].min(axis=1)
            boot_share = (f"; spread ≥ 1,000 in {int((spreads >= SPREAD_MIN).sum())}/{len(spreads)} bootstrap "
                          f"resamples (median {spreads.median():,.0f})")
    observed = (f"naive {by.loc['naive', 'att']:,.0f}; " +
                "; ".join(f"{m} {ests[m]:,.0f}" +
                          (f" [{by.loc[m, 'low']:,.0f}, {by.loc[m, 'high']:,.0f}]" if np.isfinite(by.loc[m, "low"]) else "")
                          for m in LALONDE_METHODS) +
                f"; spread {spread:,.0f}; closest {min(errs.values()):,.0f} from the benchmark" + boot_share)
    closer = all(e < naive_err for e in errs.values())
    one_within = min(errs.values()) <= WITHIN_BENCHMARK
    result = verdict(closer and one_within and spread >= SPREAD_MIN,
                     not closer or (spread < SPREAD_MIN and max(errs.values()) <= WITHIN_BENCHMARK))
    explain = "" if result == "reproduced" else (
        f"spread {spread:,.0f} < 1,000" if spread < SPREAD_MIN else
        "no estimate within ±1,000" if not one_within else "an adjusted estimate is no closer than naive")
    return _row("C13", *meta, observed, result, {"naive_error": naive_err, "estimates": ests, "spread": spread},
                explain)


def hidden_confounder(per_unit: pd.DataFrame, p) -> dict:
    meta = ("With a hidden confounder every unconfoundedness-based estimator is biased (S6)",
            "mean ATE bias over replications on scm_hidden (U drives T and Y, not observed); control: scm_lin",
            f"every back-door estimator |bias| ≥ {HIDDEN_BIAS_MIN:.0%}·τ with bootstrap CI excluding 0, while AIPW on "
            f"scm_lin has |bias| ≤ {CONTROL_BIAS_MAX:.0%}·τ (not reproduced if any |bias| < 10 %·τ on scm_hidden)",
            "survey §without unconfoundedness [R]; τ = 2 by construction")
    if per_unit.empty or "scm_hidden" not in set(per_unit.dataset):
        return _missing("C6a-bias", *meta, "scm_hidden")
    hidden = per_unit[per_unit.dataset == "scm_hidden"]
    tau = float(hidden.ate_true.mean())
    stats = {}
    for m in BACKDOOR:
        bias = hidden[hidden.method == m].ate_bias.dropna().to_numpy()
        if len(bias):
            stats[m] = (float(bias.mean()), *bootstrap_ci(bias, p.evaluate.bootstrap, p.seed))
    control = _reps(per_unit, "scm_lin", "aipw", "ate_bias")
    if not stats:
        return _missing("C6a-bias", *meta, "a back-door estimator on scm_hidden")
    biased = all(abs(s[0]) >= HIDDEN_BIAS_MIN * tau and (s[1] > 0 or s[2] < 0) for s in stats.values())
    control_ok = len(control) > 0 and abs(control.mean()) <= CONTROL_BIAS_MAX * 2.0
    observed = ("; ".join(f"{m} {s[0]:+.2f} [{s[1]:+.2f}, {s[2]:+.2f}]" for m, s in stats.items()) +
                f" (τ={tau:.2f}); control scm_lin AIPW bias " +
                (f"{control.mean():+.3f}" if len(control) else "n/a"))
    result = verdict(biased and control_ok, any(abs(s[0]) < 0.1 * tau for s in stats.values()))
    control_bias = float(control.mean()) if len(control) else None
    return _row("C6a-bias", *meta, observed, result, {"bias": stats, "control_aipw_bias": control_bias})


def _disc(discovery: pd.DataFrame, algorithm: str, noise: str) -> pd.DataFrame:
    if discovery.empty:
        return discovery
    return discovery[(discovery.kind == "dag") & (discovery.algorithm == algorithm) & (discovery.noise == noise)]


def lingam_needs_nongaussian(discovery: pd.DataFrame) -> dict:
    meta = ("LiNGAM identifies edge directions under non-Gaussian noise and not under Gaussian noise (S9)",
            "directed F1 of DirectLiNGAM (causal-learn) on dag_unif vs dag_gauss, same graphs, middle n",
            f"F1_unif ≥ {LINGAM_F1_MIN} and F1_unif − F1_gauss ≥ {LINGAM_GAP_MIN} (not reproduced if the gap ≤ 0)",
            "Shimizu et al. 2006 [R]")
    unif, gauss = _disc(discovery, "direct_lingam", "unif"), _disc(discovery, "direct_lingam", "gauss")
    if unif.empty or gauss.empty:
        return _missing("C9", *meta, "direct_lingam on dag_unif and dag_gauss")
    sizes = sorted(set(unif.n) & set(gauss.n))
    n = sizes[len(sizes) // 2]
    fu, fg = unif[unif.n == n].directed_f1, gauss[gauss.n == n].directed_f1
    observed = (f"n={n}: F1_unif {fu.mean():.2f} ± {fu.std(ddof=1) if len(fu) > 1 else 0:.2f}, "
                f"F1_gauss {fg.mean():.2f} ± {fg.std(ddof=1) if len(fg) > 1 else 0:.2f} ({len(fu)} graphs)")
    gap = fu.mean() - fg.mean()
    return _row("C9", *meta, observed, verdict(fu.mean() >= LINGAM_F1_MIN and gap >= LINGAM_GAP_MIN, gap <= 0),
                {"n": int(n), "f1_unif": float(fu.mean()), "f1_gauss": float(fg.mean())})


def pc_consistency(discovery: pd.DataFrame) -> dict:
    meta = ("Constraint- and score-based discovery (PC, GES) improve with sample size (S8)",
            "SHD vs the true CPDAG and skeleton F1 on dag_gauss (d = 10), smallest vs largest n",
            f"for PC and for GES: mean SHD(n_max) < mean SHD(n_min) and skeleton F1(n_max) ≥ {PC_SKELETON_F1_MIN} "
            "(not reproduced if either has SHD(n_max) > SHD(n_min))", "survey §causal discovery [R]; Spirtes et al. [R]")
    by_algo = {}
    for algo in ("pc", "ges"):
        g = _disc(discovery, algo, "gauss")
        if g.empty or g.n.nunique() < 2:
            return _missing("C8", *meta, f"{algo.upper()} on dag_gauss at two sample sizes")
        by_algo[algo] = g.groupby("n")[["shd", "skeleton_f1"]].mean()
    observed = "; ".join(
        f"{a.upper()} SHD " + ", ".join(f"n={n}: {r.shd:.1f} (skel F1 {r.skeleton_f1:.2f})" for n, r in b.iterrows())
        for a, b in by_algo.items()) + f" ({_disc(discovery, 'pc', 'gauss').rep.nunique()} graphs)"
    ok, bad, why = True, False, []
    for a, b in by_algo.items():
        lo, hi = b.index.min(), b.index.max()
        ok &= bool(b.shd[hi] < b.shd[lo] and b.skeleton_f1[hi] >= PC_SKELETON_F1_MIN)
        bad |= bool(b.shd[hi] > b.shd[lo])
        if b.skeleton_f1[hi] < PC_SKELETON_F1_MIN:
            why.append(f"{a.upper()} skeleton F1 at n={hi} is {b.skeleton_f1[hi]:.2f} < {PC_SKELETON_F1_MIN}")
        if not b.shd[hi] < b.shd[lo]:
            why.append(f"{a.upper()} SHD does not fall ({b.shd[lo]:.1f} → {b.shd[hi]:.1f})")
    return _row("C8", *meta, observed, verdict(ok, bad),
                {a: b.reset_index().to_dict("list") for a, b in by_algo.items()}, "; ".join(why))


def cfr_vs_tarnet(per_unit: pd.DataFrame, p) -> dict:
    meta = ("Representation balancing (CFR, MMD penalty) improves on TARNet (S4)",
            "paired log-ratio of √PEHE_out, cfr / tarnet, on ihdp_b", "CI upper < 0 (not reproduced if CI lower > 0)",
            "Shalit et al. 2017: 0.76 vs 0.95 (IHDP-1000) [R]; miniature expected inconclusive")
    a, b = _reps(per_unit, "ihdp_b", "cfr", "pehe_out"), _reps(per_unit, "ihdp_b", "tarnet", "pehe_out")
    common = a.index.intersection(b.index)
    if len(common) < 2:
        return _missing("C4", *meta, "cfr and tarnet on ihdp_b")
    m, lo, hi = paired_log_ratio(a[common].to_numpy(), b[common].to_numpy(), p.evaluate.bootstrap, p.seed)
    observed = (f"√PEHE_out cfr {a.mean():.2f} vs tarnet {b.mean():.2f}; ℓ={m:+.3f} [{lo:+.3f}, {hi:+.3f}] "
                f"(n={len(common)})")
    note = (f"the paired CI [{lo:+.3f}, {hi:+.3f}] contains 0 over {len(common)} replications; Shalit et al.'s gain "
            "came from 1,000 replications with tuned, larger networks and a Wasserstein/MMD search over α"
            if lo <= 0 <= hi else "")
    return _row("C4", *meta, observed, verdict(hi < 0, lo > 0), {"mean": m, "low": lo, "high": hi}, note)


def ipw_overlap(per_unit: pd.DataFrame, p) -> dict:
    meta = ("IPW is unstable under poor overlap; AIPW much less so (S5)",
            "mean ε_ATE over replications on ihdp_b, ipw vs aipw (clip 0.01); paired bootstrap CI of the difference",
            f"mean ε_ATE(ipw) ≥ {IPW_RMSE_RATIO_MIN} × mean ε_ATE(aipw) (not reproduced if the paired CI of "
            "ε_ATE(ipw) − ε_ATE(aipw) lies below 0)",
            "survey [R]; prototype IHDP-B ε_ATE 1.20 vs 0.09 (own IPW, clip 0.01, 10 reps) [M]")
    ipw_e, aipw_e = (_reps(per_unit, "ihdp_b", m, "ate_err") for m in ("ipw", "aipw"))
    common = ipw_e.index.intersection(aipw_e.index)
    if len(common) < 2:
        return _missing("C5", *meta, "ipw and aipw on ihdp_b")
    a, b = ipw_e[common].to_numpy(), aipw_e[common].to_numpy()
    lo, hi = bootstrap_ci(a - b, p.evaluate.bootstrap, p.seed)
    ratio = a.mean() / b.mean()
    observed = (f"mean ε_ATE ipw {a.mean():.3f} vs aipw {b.mean():.3f} (ratio {ratio:.2f}); difference "
                f"{(a - b).mean():+.3f} [{lo:+.3f}, {hi:+.3f}]; ipw lower in {int((a < b).sum())}/{len(common)} reps")
    result = verdict(ratio >= IPW_RMSE_RATIO_MIN, hi < 0)
    explain = (f"the reverse holds on IHDP-B: DoWhy's Hájek IPW (logistic PS, clip {p.effects.ps_clip:g}) has the "
               f"smaller ATE error in {int((a < b).sum())}/{len(common)} replications; the purpose-built poor-overlap "
               "SCM is the context row C5-scm" if ratio < 1
               else "" if result == "reproduced" else f"ratio {ratio:.2f} < {IPW_RMSE_RATIO_MIN}")
    return _row("C5", *meta, observed, result, {"ratio": ratio, "diff_low": lo, "diff_high": hi}, explain)


def ipw_overlap_scm(per_unit: pd.DataFrame) -> dict:
    meta = ("IPW is unstable under poor overlap: a purpose-built SCM (context for C5)",
            "RMSE of the ATE over replications on scm_poor_overlap (propensity slope ×3.75)",
            f"RMSE(ipw) ≥ {IPW_RMSE_RATIO_MIN} × RMSE(aipw) (not reproduced if RMSE(ipw) < RMSE(aipw))",
            "survey [R]")
    ipw_b, aipw_b = (_reps(per_unit, "scm_poor_overlap", m, "ate_bias") for m in ("ipw", "aipw"))
    if not len(ipw_b) or not len(aipw_b):
        return _missing("C5-scm", *meta, "ipw and aipw on scm_poor_overlap")
    r_ipw, r_aipw = float(np.sqrt((ipw_b ** 2).mean())), float(np.sqrt((aipw_b ** 2).mean()))
    observed = f"RMSE ipw {r_ipw:.3f} vs aipw {r_aipw:.3f} (ratio {r_ipw / r_aipw:.1f}, n={len(ipw_b)})"
    return _row("C5-scm", *meta, observed, verdict(r_ipw >= IPW_RMSE_RATIO_MIN * r_aipw, r_ipw < r_aipw),
                {"rmse_ipw": r_ipw, "rmse_aipw": r_aipw})


def adjustment_removes_bias(per_unit: pd.DataFrame) -> dict:
    meta = ("Back-door adjustment removes measured-confounding bias (S1)",
            "mean ε_ATE on scm_lin: naive vs ols, ipw, aipw", f"every adjusted ≤ {ADJUST_RATIO_MAX} × naive "
            "(not reproduced if any adjusted ≥ naive)", "textbook [R]; τ = 2 by construction")
    naive = _reps(per_unit, "scm_lin", "naive", "ate_err")
    adj = {m: _reps(per_unit, "scm_lin", m, "ate_err") for m in ("ols", "ipw", "aipw")}
    adj = {m: v for m, v in adj.items() if len(v)}
    if not len(naive) or not adj:
        return _missing("C1", *meta, "scm_lin")
    observed = f"naive {naive.mean():.3f}; " + "; ".join(f"{m} {v.mean():.3f}" for m, v in adj.items())
    return _row("C1", *meta, observed, verdict(all(v.mean() <= ADJUST_RATIO_MAX * naive.mean() for v in adj.values()),
                                               any(v.mean() >= naive.mean() for v in adj.values())))


def jobs_att(per_unit: pd.DataFrame) -> dict:
    meta = ("Adjustment reduces ATT error on Jobs (NSW + PSID-1)", "mean ε_ATT over splits vs the experimental ATT",
            "every adjusted estimator < naive (not reproduced if any ≥ naive)",
            "experimental ATT 0.0779 [V]; naive vs PSID ≈ −0.111 [V]")
    if per_unit.empty or "jobs" not in set(per_unit.dataset):
        return _missing("C15", *meta, "jobs")
    jobs = per_unit[per_unit.dataset == "jobs"].groupby("method").att_err.mean()
    if "naive" not in jobs.index:
        return _missing("C15", *meta, "naive on jobs")
    others = jobs.drop("naive")
    observed = f"naive {jobs['naive']:.3f}; " + "; ".join(f"{m} {v:.3f}" for m, v in others.items())
    return _row("C15", *meta, observed, verdict(bool((others < jobs["naive"]).all()) and len(others) > 0,
                                               bool((others >= jobs["naive"]).any())))


def pairs_beat_chance(pairs: pd.DataFrame) -> dict:
    meta = ("Bivariate methods infer cause → effect better than chance on the Tübingen pairs (S11)",
            "unweighted accuracy after seeded orientation randomisation; one-sided binomial test vs 0.5",
            "every method p < 0.05 (not reproduced if every method ≤ 50 %)",
            "Mooij et al. 2016: ANM-HSIC ≈ 63 % ± 10 % (weighted) [R]")
    methods = pairs[pairs.method != "always_x_to_y"] if not pairs.empty else pairs
    if methods.empty:
        return _missing("C11", *meta, "tuebingen")
    observed = "; ".join(f"{r.method} {r.correct}/{r.pairs} = {r.accuracy:.0%} (p={r.p_value:.3f})"
                         for r in pairs.itertuples())
    failing = methods[methods.p_value >= 0.05]
    note = ("not better than chance at p < 0.05: " + ", ".join(f"{r.method} ({r.accuracy:.0%})" for r in failing.itertuples())
            + "; ANM runs on a seeded subsample (params anm_max_points) because GP + HSIC is cubic in n"
            if len(failing) else "")
    return _row("C11", *meta, observed, verdict(bool((methods.p_value < 0.05).all()), bool((methods.accuracy <= 0.5).all())),
                explain=note)


def sachs_informative(discovery: pd.DataFrame) -> dict:
    meta = ("Discovery is informative on real data: Sachs (18-edge consensus graph)",
            "SHD vs the consensus graph against three baselines: the empty graph (SHD 18), random DAGs with 18 edges "
            "and degree-matched random graphs (the truth with shuffled node labels)",
            "every algorithm below the empty graph's SHD and below the 5th percentile of both random baselines "
            "(not reproduced if none is below the empty graph)",
            "prototype sachs_bn PC: SHD 11 vs 17 edges [M] (a different, discrete truth)")
    s = discovery[discovery.kind == "sachs"] if not discovery.empty else discovery
    if s.empty or "empty_shd" not in s.columns:
        return _missing("C12", *meta, "sachs")
    beats = (s.shd < s.empty_shd) & (s.shd < s.random_shd_p5) & (s.shd < s.degree_matched_shd_p5)
    r0 = s.iloc[0]
    observed = ("; ".join(f"{r.algorithm} SHD {r.shd} (pct random {r.shd_percentile:.3f}, degree-matched "
                          f"{r.degree_matched_percentile:.3f})" for r in s.itertuples())
                + f"; empty graph {r0.empty_shd:.0f}; random DAGs mean {r0.random_shd_mean:.1f} (p5 "
                f"{r0.random_shd_p5:.0f}); degree-matched mean {r0.degree_matched_shd_mean:.1f} (p5 "
                f"{r0.degree_matched_shd_p5:.0f})")
    note = ("not informative against these baselines: " + ", ".join(s.algorithm[~beats]) +
            "; PC/GES return CPDAGs whose undirected edges count as mismatches against the directed (and cyclic) "
            "consensus graph, and the 7,466 rows pool perturbation conditions (Sachs et al. 2005 [R]) that the "
            "methods treat as i.i.d. samples" if (~beats).any() else "")
    return _row("C12", *meta, observed, verdict(bool(beats.all()), bool((s.shd >= s.empty_shd).all())), explain=note)


# --- identification studies (identification.py; rows of the evaluate step's studies table) ------------------

def _study(studies: pd.DataFrame, study: str, setting: str | None, method: str) -> pd.Series | None:
    if studies is None or studies.empty:
        return None
    sel = studies[(studies.study == study) & (studies.method == method)]
    if setting is not None:
        sel = sel[sel.setting == setting]
    return sel.iloc[0] if len(sel) else None


KS_HALF, KS_OR_SLACK = 0.5, 1.2
BIAS_BIG, BIAS_SMALL = 0.3, 0.1
RDD_COVER_MIN, RDD_COVER_FAIL = 0.9, 0.75
FCI_SHARE_MIN = 2 / 3
NHEFS_TOL = 0.3
WEAK_RMSE_RATIO = 2.0


def double_robustness(studies: pd.DataFrame) -> dict:
    meta = ("Double robustness: AIPW stays accurate if either the propensity or the outcome model is correct (S2)",
            "RMSE of the ATE (τ = 10) over replications on scm_ks: outcome regression (ols), Hájek IPW and AIPW; "
            "'wrong' nuisances use Kang–Schafer's transformed covariates Z",
            f"(PS ok, OR wrong): RMSE_AIPW ≤ {KS_HALF} × RMSE_OR; (PS wrong, OR ok): RMSE_AIPW ≤ {KS_HALF} × RMSE_IPW "
            f"and ≤ {KS_OR_SLACK} × RMSE_OR; both wrong reported only (not reproduced if AIPW is no better than the "
            "wrong single model in either combination)", "Bang & Robins 2005; Kang & Schafer 2007 [R]")
    cells = {}
    for setting in ("PS ok, OR ok", "PS ok, OR wrong", "PS wrong, OR ok", "PS wrong, OR wrong"):
        for m in ("ols", "ipw", "aipw"):
            r = _study(studies, "ks", setting, m)
            if r is not None:
                cells[(setting, m)] = float(r.rmse)
    if len(cells) < 12:
        return _missing("C2", *meta, "scm_ks")
    observed = "; ".join(f"{st}: " + ", ".join(f"{m} {cells[(st, m)]:.2f}" for m in ("ols", "ipw", "aipw"))
                         for st in ("PS ok, OR ok", "PS ok, OR wrong", "PS wrong, OR ok", "PS wrong, OR wrong"))
    observed += f" (RMSE, {int(_study(studies, 'ks', 'PS ok, OR ok', 'aipw').reps)} reps)"
    a1, or1 = cells[("PS ok, OR wrong", "aipw")], cells[("PS ok, OR wrong", "ols")]
    a2, ipw2, or2 = cells[("PS wrong, OR ok", "aipw")], cells[("PS wrong, OR ok", "ipw")], cells[("PS wrong, OR ok", "ols")]
    parts = {"ps_protects": a1 <= KS_HALF * or1, "or_protects": a2 <= KS_HALF * ipw2, "or_efficient": a2 <= KS_OR_SLACK * or2}
    result = verdict(all(parts.values()), a1 >= or1 or a2 >= ipw2)
    explain = "" if result == "reproduced" else "; ".join(
        {"ps_protects": f"(PS ok, OR wrong) AIPW {a1:.2f} > {KS_HALF} × OR {or1:.2f}",
         "or_protects": f"(PS wrong, OR ok) AIPW {a2:.2f} > {KS_HALF} × IPW {ipw2:.2f}",
         "or_efficient": f"(PS wrong, OR ok) AIPW {a2:.2f} > {KS_OR_SLACK} × the correct outcome model's {or2:.2f}: "
                         "AIPW stays consistent (protected against the wrong PS) but the wrong PS's extreme weights "
                         "multiply the residuals and cost variance"}[k] for k, v in parts.items() if not v)
    return _row("C2", *meta, observed, result, {f"{k[0]}|{k[1]}": v for k, v in cells.items()}, explain)


def _recovers(cid: str, meta: tuple, biased: pd.Series | None, fixed: pd.Series | None, names: tuple[str, str]) -> dict:
    if biased is None or fixed is None:
        return _missing(cid, *meta, names[1])
    tau = float(fixed.truth)
    b, f = float(biased.bias), float(fixed.bias)
    observed = (f"bias {names[0]} {b:+.3f} ({abs(b) / tau:.0%} of τ), {names[1]} {f:+.3f} ({abs(f) / tau:.1%} of τ); "
                f"mean {names[1]} {fixed['mean']:.3f} (sd {fixed.sd:.3f}, {int(fixed.reps)} reps, n={int(fixed.n)}); "
                f"τ = {tau:g}")
    result = verdict(abs(b) >= BIAS_BIG * tau and abs(f) <= BIAS_SMALL * tau,
                     abs(f) >= abs(b) or abs(b) < BIAS_SMALL * tau)
    return _row(cid, *meta, observed, result, {"bias_backdoor": b, "bias_identified": f, "tau": tau})


def iv_recovers(studies: pd.DataFrame) -> dict:
    meta = ("Hidden confounding biases back-door estimation; a strong instrument recovers the effect (S6)",
            "mean bias of OLS and 2SLS (linearmodels IV2SLS) on scm_iv with the strong instrument (γ = 1)",
            f"|bias_OLS| ≥ {BIAS_BIG}·τ and |bias_2SLS| ≤ {BIAS_SMALL}·τ (not reproduced if |bias_2SLS| ≥ |bias_OLS|)",
            "n = 20,000: 2SLS 1.50, OLS 2.17 [M]")
    row = _recovers("C6a", meta, _study(studies, "iv", "strong", "ols"), _study(studies, "iv", "strong", "iv_2sls"),
                    ("OLS", "2SLS"))
    f = _study(studies, "iv", "strong", "first_stage_f")
    if f is not None and not row["observed"].startswith("n/a"):
        row["observed"] += f"; median first-stage F {f['median']:.0f}"
    return row


def frontdoor_recovers(studies: pd.DataFrame) -> dict:
    meta = ("The front-door criterion recovers the effect under hidden confounding (S6)",
            "mean bias of the naive difference and of the front-door two-stage regression on scm_frontdoor",
            f"|bias_naive| ≥ {BIAS_BIG}·τ and |bias_frontdoor| ≤ {BIAS_SMALL}·τ (not reproduced if |bias_frontdoor| ≥ "
            "|bias_naive|)", "n = 20,000: front-door 1.49, naive 3.80 [M]")
    return _recovers("C6b", meta, _study(studies, "frontdoor", None, "naive"),
                     _study(studies, "frontdoor", None, "frontdoor"), ("naive", "front-door"))


def rdd_recovers(studies: pd.DataFrame) -> dict:
    meta = ("Regression discontinuity recovers the jump (S6)",
            "local-linear rdd_ll (uniform kernel, HC1 SE) on scm_rdd: replications whose estimate lies within 2 SE of 2",
            f"≥ {RDD_COVER_MIN:.0%} of replications (18 / 20) (not reproduced if ≤ {RDD_COVER_FAIL:.0%}, i.e. ≤ 15 / 20)",
            "jump 2 by construction; DoWhy's RDD (IV on the running variable) shown for the spec §2 caveat")
    r = _study(studies, "rdd", None, "rdd_ll")
    if r is None:
        return _missing("C6c", *meta, "scm_rdd")
    share = r.within_2se / r.reps
    observed = (f"{int(r.within_2se)}/{int(r.reps)} within 2 SE ({r.setting}); mean {r['mean']:.3f} (sd {r.sd:.3f}, "
                f"mean SE {r.se_mean:.3f}, n={int(r.n)})")
    dw, ll = _study(studies, "rdd_dowhy", None, "rdd_dowhy"), _study(studies, "rdd_dowhy", None, "rdd_ll")
    if dw is not None and ll is not None:
        observed += f"; at {dw.setting}, n={int(dw.n)}: DoWhy RDD {dw['mean']:.3f} vs rdd_ll {ll['mean']:.3f}"
    return _row("C6c", *meta, observed, verdict(share >= RDD_COVER_MIN, share <= RDD_COVER_FAIL),
                {"within_2se": int(r.within_2se), "reps": int(r.reps)})


def _middle(studies: pd.DataFrame, study: str) -> pd.Series | None:
    sel = studies[(studies.study == study) & (studies.method == "rdd_ll")] if studies is not None and len(studies) else None
    if sel is None or sel.empty:
        return None
    sel = sel.assign(h=sel.setting.str.replace("h=", "").astype(float)).sort_values("h")
    return sel.iloc[(len(sel) - 1) // 2]


def real_rdd_positive(studies: pd.DataFrame) -> dict:
    meta = ("Real regression discontinuities: positive jumps (S6)",
            "rdd_ll (uniform kernel, HC1 SE) on rdd_lmb (cutoff 0.5, outcome ADA score) and rdd_transfers (treated "
            "below 0, outcome Support) at the middle of three bandwidths",
            "95 % CI lower bound > 0 on both (not reproduced if either CI upper bound < 0)",
            "LMB 21.28 (difference in means, |x − 0.5| < 0.02, n = 915) [V]; local-linear LMB 19.8 (h 0.05), transfers "
            "0.10 (h 0.02) [M]")
    mids = {name: _middle(studies, name) for name in ("rdd_lmb", "rdd_transfers")}
    if any(v is None for v in mids.values()):
        return _missing("C6d", *meta, "rdd_lmb and rdd_transfers")
    lows = {k: v["mean"] - 1.96 * v.se_mean for k, v in mids.items()}
    highs = {k: v["mean"] + 1.96 * v.se_mean for k, v in mids.items()}
    observed = "; ".join(f"{k} {v.setting}: {v['mean']:.3f} (SE {v.se_mean:.3f}, 95 % CI [{lows[k]:.3f}, "
                         f"{highs[k]:.3f}], n={int(v.n)})" for k, v in mids.items())
    anchor = _study(studies, "rdd_lmb", None, "diff_in_means")
    if anchor is not None:
        observed += f"; LMB difference in means {anchor['mean']:.2f} (n={int(anchor.n)})"
    return _row("C6d", *meta, observed, verdict(all(v > 0 for v in lows.values()), any(v < 0 for v in highs.values())),
                {k: float(v["mean"]) for k, v in mids.items()})


def weak_instrument(studies: pd.DataFrame) -> dict:
    meta = ("Weak instruments give worse 2SLS estimates, biased toward OLS (S7)",
            "RMSE and median of 2SLS on scm_iv, weak (γ = 0.05) vs strong (γ = 1) instrument",
            f"RMSE_weak ≥ {WEAK_RMSE_RATIO} × RMSE_strong and τ < median(2SLS_weak) < median(OLS) (not reproduced if "
            f"RMSE_weak < RMSE_strong, or the weak median lies > {BIAS_SMALL}·τ on the far side of τ from OLS)",
            "n = 20,000, one draw: strong 1.50, weak 1.65, OLS 2.50 [M]")
    weak, strong = _study(studies, "iv", "weak", "iv_2sls"), _study(studies, "iv", "strong", "iv_2sls")
    ols_w, f_w = _study(studies, "iv", "weak", "ols"), _study(studies, "iv", "weak", "first_stage_f")
    if weak is None or strong is None or ols_w is None:
        return _missing("C7", *meta, "scm_iv")
    tau = float(weak.truth)
    med, ols_med = float(weak["median"]), float(ols_w["median"])
    between = min(tau, ols_med) < med < max(tau, ols_med)
    away = (med - tau) * (ols_med - tau) < 0 and abs(med - tau) > BIAS_SMALL * tau
    ratio = weak.rmse / strong.rmse
    observed = (f"RMSE 2SLS weak {weak.rmse:.2f} vs strong {strong.rmse:.3f} (ratio {ratio:.0f}); median 2SLS weak "
                f"{med:.3f}, OLS {ols_med:.3f}, τ {tau:g}; median first-stage F weak "
                f"{f_w['median'] if f_w is not None else float('nan'):.1f} ({int(weak.reps)} reps, n={int(weak.n)})")
    return _row("C7", *meta, observed, verdict(ratio >= WEAK_RMSE_RATIO and between, ratio < 1 or away),
                {"rmse_ratio": float(ratio), "median_weak": med, "median_ols": ols_med})


def fci_latent(studies: pd.DataFrame) -> dict:
    meta = ("FCI detects latent confounding with a bidirected edge (S10)",
            "FCI (causal-learn, Fisher-z, α = 0.01) mark on (X₂, X₃) of dag_latent, which share the hidden L",
            "↔ in ≥ 2/3 of replications (not reproduced if ↔ in < 1/3)", "survey [R]; Spirtes et al. [R]")
    if studies is None or studies.empty:
        return _missing("C10", *meta, "dag_latent")
    r = studies[(studies.study == "latent") & (studies.setting == "X2-X3")]
    if r.empty:
        return _missing("C10", *meta, "dag_latent")
    r = r.iloc[0]
    others = studies[(studies.study == "latent") & (studies.setting != "X2-X3")]
    share = r.bidirected / r.reps
    observed = (f"X2–X3: {r.marks} over {int(r.reps)} reps (n={int(r.n)}); other edges: " +
                "; ".join(f"{o.setting} {o.marks}" for o in others.itertuples()))
    return _row("C10", *meta, observed, verdict(share >= FCI_SHARE_MIN, share < 1 / 3), {"bidirected_share": float(share)})


def nhefs_textbook(studies: pd.DataFrame) -> dict:
    meta = ("NHEFS: the textbook IPW estimate of quitting smoking on weight gain",
            "ipw with Hernán & Robins' PS model (logistic, unpenalised), Hájek weights, no clipping, on nhefs (1,566)",
            f"|est − 3.44| ≤ {NHEFS_TOL} kg (not reproduced otherwise)", "3.44 kg [V]; naive 2.54 [V]; Hernán & Robins "
            "ch. 12: 3.4 kg [R]")
    ipw, naive = _study(studies, "nhefs", None, "ipw"), _study(studies, "nhefs", None, "naive")
    if ipw is None:
        return _missing("C14", *meta, "nhefs")
    mx, ess = _study(studies, "nhefs", None, "max_weight"), _study(studies, "nhefs", None, "effective_n")
    observed = (f"IPW {ipw['mean']:.3f} kg; naive {naive['mean']:.3f} kg; max weight {mx['mean']:.1f}, effective n "
                f"{ess['mean']:.0f} of {int(ipw.n)}")
    err = abs(ipw["mean"] - NHEFS_IPW_ANCHOR)
    return _row("C14", *meta, observed, verdict(err <= NHEFS_TOL, err > NHEFS_TOL), {"ipw": float(ipw["mean"])})


def evaluate_claims(summary, per_unit, lalonde, discovery, pairs, p, studies: pd.DataFrame | None = None) -> list[dict]:
    """One row per spec §8 claim, in the spec's order (plus the check row C6a-bias and the context row C5-scm)."""
    studies = studies if studies is not None else pd.DataFrame()
    return [adjustment_removes_bias(per_unit), double_robustness(studies), flexible_beats_linear(per_unit, p),
            no_heterogeneity_contrast(per_unit, p), cfr_vs_tarnet(per_unit, p), ipw_overlap(per_unit, p),
            ipw_overlap_scm(per_unit), iv_recovers(studies), hidden_confounder(per_unit, p),
            frontdoor_recovers(studies), rdd_recovers(studies), real_rdd_positive(studies), weak_instrument(studies),
            pc_consistency(discovery), lingam_needs_nongaussian(discovery), fci_latent(studies),
            pairs_beat_chance(pairs), sachs_informative(discovery), lalonde_gap(lalonde, per_unit),
            nhefs_textbook(studies), jobs_att(per_unit), not_run("C16")]
