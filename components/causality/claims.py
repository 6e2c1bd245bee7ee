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
from components.causality.metrics import bootstrap_ci, paired_log_ratio
from components.core.claims import verdict

FLEXIBLE = ("t_learner", "x_learner", "causal_forest", "dr_learner", "tarnet", "cfr")
ADJUSTED_ATT = ("ols", "ps_match", "ipw", "aipw", "dml", "t_learner", "x_learner", "s_learner", "causal_forest",
                "dr_learner", "tarnet", "cfr")
BACKDOOR = ("ols", "s_learner", "t_learner", "x_learner", "ps_match", "ipw", "aipw", "dml", "causal_forest",
            "dr_learner", "tarnet", "cfr")
NAIVE_BIAS_MIN = 5000.0        # LaLonde: naive |ATT − 1,794| must exceed $5k to count as "badly biased"
GAP_CLOSED_MIN = 0.5           # median adjusted estimator closes ≥ 50 % of the naive gap
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
                "construction; the spec's C6a also needs IV recovery (row C6a, not run)",
}
# claims whose rule departs from the spec's §8 rule (shown in the row's note)
DEVIATIONS = {
    "C3b": "ihdp_a has 4 replications in the default profile (spec: 5)",
    "C5": "spec rule: ihdp_b, mean ε_ATE(ipw) / mean ε_ATE(aipw) ≥ 2; this row uses a purpose-built SCM "
          "(scm_poor_overlap) and RMSE instead",
    "C8": "spec rule: PC and GES both improve with n; this row judges PC only (GES shown in observed)",
    "C12": "spec: sachs_cont and pgmpy's sachs_bn; this row uses the continuous Sachs data only",
    "C13": "spec rule: every adjusted estimate closer than naive, one within ±1,000 and a spread ≥ $1,000 over "
           "ols, ps_match, ipw-ATT, entropy_bal, aipw_att with 200 bootstrap resamples; this row's rule is "
           "'the median adjusted estimator closes ≥ 50 % of the gap' with the profile's resamples",
}


def _row(cid: str, claim: str, metric: str, expected: str, anchor: str, observed: str, result: str,
         inputs: dict | None = None, explain: str = "") -> dict:
    """``explain``: what in the data made a rule fail (shown in the report for verdicts other than reproduced)."""
    kind = "check" if cid in CHECK_NOTES else "claim"
    return {"id": cid, "kind": kind, "claim": claim, "metric": metric, "expected": expected, "anchor": anchor,
            "observed": observed, "verdict": result, "inputs": inputs or {}, "explain": explain,
            "note": CHECK_NOTES.get(cid) or DEVIATIONS.get(cid, "")}


def _missing(cid: str, claim: str, metric: str, expected: str, anchor: str, what: str) -> dict:
    return _row(cid, claim, metric, expected, anchor, f"n/a ({what} not in this profile)", "inconclusive")


# spec §8 claims with no data or estimator in the pipeline yet (issue 15): id → (claim, data + metric, expected,
# anchor, why not run)
NOT_RUN = {
    "C2": ("Double robustness: AIPW is protected by either correct nuisance model",
           "RMSE of aipw, ipw and the outcome model (ols) on scm_ks, four nuisance combinations",
           "(PS ok, OR wrong): RMSE_AIPW ≤ 0.5 × RMSE_OR; (PS wrong, OR ok): RMSE_AIPW ≤ 0.5 × RMSE_IPW and "
           "≤ 1.2 × RMSE_OR", "Kang & Schafer 2007 [R]",
           "the Kang–Schafer SCM (scm_ks) and its misspecified nuisance models are not built"),
    "C6a": ("Hidden confounding biases back-door estimators; an instrument recovers the effect",
            "bias of ols and 2SLS on scm_iv (strong instrument)", "|bias_OLS| ≥ 0.3·τ and |bias_2SLS| ≤ 0.1·τ",
            "n = 20,000: 2SLS 1.50, OLS 2.17 [M]",
            "scm_iv and a 2SLS estimator are not built (the bias half on scm_hidden is the check row C6a-bias)"),
    "C6b": ("Front-door adjustment recovers the effect under hidden confounding",
            "bias of naive and front-door on scm_frontdoor", "|bias_naive| ≥ 0.3·τ and |bias_frontdoor| ≤ 0.1·τ",
            "n = 20,000: front-door 1.49, naive 3.80 [M]", "scm_frontdoor and a front-door estimator are not built"),
    "C6c": ("Regression discontinuity recovers the jump", "rdd_ll estimate on scm_rdd",
            "within 2 SE of 2.0 in ≥ 18 / 20 replications", "—",
            "scm_rdd and the local-linear rdd_ll estimator are not built"),
    "C6d": ("Real regression discontinuities show positive jumps", "rdd_ll on rdd_lmb and rdd_transfers",
            "95 % CI lower bound > 0 at the middle bandwidth", "LMB 21.28 (OLS, |x − 0.5| < 0.02); transfers 0.10 [M]",
            "the rdd_lmb and rdd_transfers datasets and rdd_ll are not wired"),
    "C7": ("Weak instruments hurt: 2SLS is worse and biased toward OLS",
           "RMSE of 2SLS and median estimate on scm_iv, weak vs strong instrument",
           "RMSE_weak ≥ 2 × RMSE_strong and the median weak estimate between τ and the OLS median",
           "n = 20,000, one draw: strong 1.50, weak 1.65, OLS 2.50 [M]", "scm_iv and a 2SLS estimator are not built"),
    "C10": ("FCI detects latent confounding", "edge mark on (X₂, X₃) of dag_latent (3 replications)",
            "↔ in ≥ 2 / 3 replications", "—", "the latent-confounder SCM (dag_latent) and FCI are not wired"),
    "C14": ("NHEFS: the textbook IPW estimate of smoking cessation on weight gain",
            "ipw with the textbook propensity model, Hájek weights, no clipping, on nhefs", "|est − 3.44| ≤ 0.3",
            "3.44 kg; naive 2.54 [V]", "the NHEFS data (causaldata) and the textbook IPW are not wired"),
    "C16": ("A proxy-based latent-variable model (CEVAE) reduces bias",
            "ε_ATE of cevae_lite vs ols on proxies, scm_proxy (3 replications)",
            "lower in all 3 paired replications → reproduced; otherwise inconclusive",
            "expected inconclusive at miniature scale",
            "scm_proxy and cevae_lite are not built (no maintained CEVAE implementation vetted for the stack)"),
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


def lalonde_gap(lalonde: pd.DataFrame) -> dict:
    meta = ("LaLonde: the naive observational ATT (NSW treated vs CPS controls) is badly biased against the "
            "experimental benchmark, and covariate adjustment closes most of the gap (S1, S12)",
            "ATT on lalonde_cps vs the NSW experimental 1,794.34; gap closed = 1 − |adj − 1,794| / |naive − 1,794|",
            f"|naive − 1,794| ≥ {NAIVE_BIAS_MIN:,.0f} and the median adjusted estimator closes ≥ {GAP_CLOSED_MIN:.0%} "
            "of the gap (not reproduced if the median closes ≤ 0 %)",
            "experimental 1,794.34 [V]; naive −8,497.52 [V]; prototype OLS 699, IPW-ATT 615, 1-NN PSM 2,648 [M]")
    if lalonde.empty or "naive" not in set(lalonde.method):
        return _missing("C13", *meta, "lalonde_cps")
    by = lalonde.set_index("method")
    naive_err = abs(by.loc["naive", "att"] - NSW_EXPERIMENTAL_ATT)
    adjusted = [m for m in ADJUSTED_ATT if m in by.index and np.isfinite(by.loc[m, "att"])]
    if not adjusted:
        return _missing("C13", *meta, "an adjusted LaLonde estimator")
    closed = {m: 1 - abs(by.loc[m, "att"] - NSW_EXPERIMENTAL_ATT) / naive_err for m in adjusted}
    median_closed = float(np.median(list(closed.values())))
    ests = [by.loc[m, "att"] for m in adjusted]
    observed = (f"naive {by.loc['naive', 'att']:,.0f}; " +
                "; ".join(f"{m} {by.loc[m, 'att']:,.0f}" +
                          (f" [{by.loc[m, 'low']:,.0f}, {by.loc[m, 'high']:,.0f}]" if np.isfinite(by.loc[m, "low"]) else "")
                          for m in adjusted) +
                f"; median gap closed {median_closed:.0%}; spread of adjusted {max(ests) - min(ests):,.0f}")
    result = verdict(naive_err >= NAIVE_BIAS_MIN and median_closed >= GAP_CLOSED_MIN,
                     naive_err < NAIVE_BIAS_MIN or median_closed <= 0)
    return _row("C13", *meta, observed, result, {"naive_error": naive_err, "gap_closed": closed})


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
    meta = ("Constraint-based discovery (PC) improves with sample size (S8)",
            "SHD vs the true CPDAG and skeleton F1 on dag_gauss (d = 10), smallest vs largest n",
            f"mean SHD(n_max) < mean SHD(n_min) and skeleton F1(n_max) ≥ {PC_SKELETON_F1_MIN} "
            "(not reproduced if SHD(n_max) > SHD(n_min))", "survey §causal discovery [R]; Spirtes et al. [R]")
    pc = _disc(discovery, "pc", "gauss")
    if pc.empty or pc.n.nunique() < 2:
        return _missing("C8", *meta, "PC on dag_gauss at two sample sizes")
    by_n = pc.groupby("n")[["shd", "skeleton_f1"]].mean()
    lo, hi = by_n.index.min(), by_n.index.max()
    ges = _disc(discovery, "ges", "gauss")
    ges_txt = ("; GES SHD " + ", ".join(f"n={n}: {v:.1f}" for n, v in ges.groupby("n").shd.mean().items())
               if not ges.empty else "")
    observed = ("PC SHD " + ", ".join(f"n={n}: {r.shd:.1f} (skel F1 {r.skeleton_f1:.2f})" for n, r in by_n.iterrows())
                + ges_txt + f" ({pc.rep.nunique()} graphs)")
    result = verdict(by_n.shd[hi] < by_n.shd[lo] and by_n.skeleton_f1[hi] >= PC_SKELETON_F1_MIN,
                     by_n.shd[hi] > by_n.shd[lo])
    return _row("C8", *meta, observed, result, by_n.reset_index().to_dict("list"))


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


def ipw_overlap(per_unit: pd.DataFrame) -> dict:
    meta = ("IPW is unstable under poor overlap; AIPW much less so (S5)",
            "RMSE of the ATE over replications on scm_poor_overlap (propensity slope ×3.75)",
            f"RMSE(ipw) ≥ {IPW_RMSE_RATIO_MIN} × RMSE(aipw) (not reproduced if RMSE(ipw) < RMSE(aipw))",
            "survey [R]; prototype IHDP-B ε_ATE 1.20 vs 0.09 [M]")
    ipw_b, aipw_b = (_reps(per_unit, "scm_poor_overlap", m, "ate_bias") for m in ("ipw", "aipw"))
    if not len(ipw_b) or not len(aipw_b):
        return _missing("C5", *meta, "ipw and aipw on scm_poor_overlap")
    r_ipw, r_aipw = float(np.sqrt((ipw_b ** 2).mean())), float(np.sqrt((aipw_b ** 2).mean()))
    observed = f"RMSE ipw {r_ipw:.3f} vs aipw {r_aipw:.3f} (ratio {r_ipw / r_aipw:.1f}, n={len(ipw_b)})"
    return _row("C5", *meta, observed, verdict(r_ipw >= IPW_RMSE_RATIO_MIN * r_aipw, r_ipw < r_aipw),
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
            "SHD vs the consensus graph, percentile among random DAGs with 18 edges",
            "every algorithm below the random baseline's 5th percentile (not reproduced if none is)",
            "prototype sachs_bn PC: SHD 11 vs 17 edges [M] (a different, discrete truth)")
    s = discovery[discovery.kind == "sachs"] if not discovery.empty else discovery
    if s.empty:
        return _missing("C12", *meta, "sachs")
    below = s.shd < s.random_shd_p5
    observed = ("; ".join(f"{r.algorithm} SHD {r.shd} (pct {r.shd_percentile:.3f})" for r in s.itertuples())
                + f"; random mean {s.random_shd_mean.iloc[0]:.1f}, p5 {s.random_shd_p5.iloc[0]:.0f}")
    note = ("at or above the random baseline's 5th percentile: " + ", ".join(s.algorithm[~below]) +
            "; PC/GES return CPDAGs whose undirected edges count as mismatches against the directed (and cyclic) "
            "consensus graph, and the 7,466 rows pool perturbation conditions (Sachs et al. 2005 [R]) that the "
            "methods treat as i.i.d. samples"
            if (~below).any() else "")
    return _row("C12", *meta, observed, verdict(bool(below.all()), not bool(below.any())), explain=note)


def evaluate_claims(summary, per_unit, lalonde, discovery, pairs, p) -> list[dict]:
    """One row per spec §8 claim, in the spec's order (plus the check row C6a-bias next to C6a)."""
    return [adjustment_removes_bias(per_unit), not_run("C2"), flexible_beats_linear(per_unit, p),
            no_heterogeneity_contrast(per_unit, p), cfr_vs_tarnet(per_unit, p), ipw_overlap(per_unit),
            not_run("C6a"), hidden_confounder(per_unit, p), not_run("C6b"), not_run("C6c"), not_run("C6d"),
            not_run("C7"), pc_consistency(discovery), lingam_needs_nongaussian(discovery), not_run("C10"),
            pairs_beat_chance(pairs), sachs_informative(discovery), lalonde_gap(lalonde), not_run("C14"),
            jobs_att(per_unit), not_run("C16")]
