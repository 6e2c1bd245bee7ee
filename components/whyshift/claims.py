"""The whyshift claims table (spec §8): each verdict computed from the evaluate outputs by the spec's rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from components.core.claims import Claim, verdict

NON_ERM_FAMILIES = ("DRO", "imbalance", "causal", "fairness")


def main_label(a: dict) -> str:
    """The main pair's label: ground truth on synthetic twins, the DISDE estimate on real data."""
    return a["main_true_label"] if a["main_true_label"] != "n/a" else a["main_est_label"]


def split_settings(analysis: dict) -> tuple[list[str], list[str]]:
    """(X settings, Y|X settings) by the label of each setting's main pair."""
    x = [s for s, a in analysis.items() if main_label(a) == "X"]
    yx = [s for s, a in analysis.items() if main_label(a) == "Y|X"]
    return x, yx


MIN_SETTINGS_PER_KIND = 3   # C4/C6/C7 rest on at least this many settings of each kind (issue 12)
Z95 = 1.96


def c1_calibration(calibration: pd.DataFrame) -> Claim:
    px = calibration[calibration["scenario"] == "pure_x"]["est_yx_frac"]
    py = calibration[calibration["scenario"] == "pure_yx"]["est_yx_frac"]
    ok_x, ok_y = px.abs() <= 0.15, py.between(0.9, 1.1)
    return Claim(
        id="C1", kind="claim",
        claim="DISDE separates pure covariate (X) shift from pure concept (Y|X) shift",
        metric="estimated Y|X fraction on gauss8 pure_x and pure_yx (one value per seed)",
        expected="|pure_x| ≤ 0.15 and pure_yx in [0.9, 1.1] for every seed",
        anchor="basis of the paper's dominance labels (P2); no paper number",
        observed=f"pure_x {_vals(px)}; pure_yx {_vals(py)}",
        verdict=verdict(bool(ok_x.all() and ok_y.all()), bool((~ok_x).all() or (~ok_y).all())),
        note="rule made two-sided (issue 12): the spec's pure_x yx_frac ≤ 0.15 let a spurious negative Y|X "
             "term (−0.22) pass; a pure X shift must give |yx_frac| ≤ 0.15 (A4: |yx| small)")


# A pair's true label is decidable when its drop passes the 5 pp filter, its label is not on the knife edge
# and the estimator can see the shared distribution. Defined up front (issue 12), on the exact truth only.
DECIDABLE_MARGIN = 0.2   # |true yx_frac − 0.5| at least this
DECIDABLE_ESS = 0.2      # exact Kish ESS fraction of the S-weights, both sides, at least this


def decidable(disde: pd.DataFrame, min_total: float) -> pd.Series:
    """Pairs whose true dominance label an estimate on these sample sizes could get right or wrong."""
    ess = disde[["true_ess_p", "true_ess_q"]].min(axis=1) if "true_ess_p" in disde else pd.Series(1.0, disde.index)
    return ((disde["true_total"] > min_total) & ((disde["true_yx_frac"] - 0.5).abs() >= DECIDABLE_MARGIN)
            & (ess >= DECIDABLE_ESS) & disde["true_label"].isin(["Y|X", "X"]))


DECIDABLE_RULE = (f"true drop > 5 pp, |true yx_frac − 0.5| ≥ {DECIDABLE_MARGIN}, exact Kish ESS ≥ "
                  f"{DECIDABLE_ESS:.0%} of the sample on both sides")
MIN_DECIDABLE_PAIRS, MIN_DECIDABLE_SETTINGS = 5, 2


def c2_labels(disde: pd.DataFrame, min_total: float) -> list[Claim]:
    """C2 on the decidable pairs; the other pairs above the filter in a row of their own (context)."""
    ok = decidable(disde, min_total) if len(disde) else pd.Series(dtype=bool)
    dec = disde[ok] if len(disde) else disde
    agree = float((dec["est_label"] == dec["true_label"]).mean()) if len(dec) else float("nan")
    n_set = dec["setting_id"].nunique() if len(dec) else 0
    enough = len(dec) >= MIN_DECIDABLE_PAIRS and n_set >= MIN_DECIDABLE_SETTINGS
    kinds = dec["true_label"].value_counts().to_dict() if len(dec) else {}
    rest = disde[(~ok) & (disde["true_total"] > min_total)] if len(disde) else disde
    rest_agree = float((rest["est_label"] == rest["true_label"]).mean()) if len(rest) else float("nan")
    main = Claim(
        id="C2", kind="claim",
        claim="Dominance labels (Y|X vs X) estimated from data match the ground truth",
        metric=f"agreement of estimated vs true label over the decidable pairs ({DECIDABLE_RULE})",
        expected="≥ 0.9 (not reproduced < 0.7)", anchor="README dominance table, e.g. Income CA: Y|X 13/14",
        observed=(f"{agree:.3f} over {len(dec)} decidable pairs in {n_set} settings (true labels {kinds})"
                  if len(dec) else "no decidable pair"),
        verdict=verdict(agree >= 0.9, agree < 0.7) if enough else "inconclusive",
        note=("judged on decidable pairs only (issue 12); the spec's rule took every pair with a true drop "
              "> 5 pp, many of them on the knife edge or without overlap"
              + ("" if enough else f"; inconclusive: needs ≥ {MIN_DECIDABLE_PAIRS} decidable pairs in ≥ "
                 f"{MIN_DECIDABLE_SETTINGS} settings")))
    other = Claim(
        id="C2-undecidable", kind="context",
        claim="Label agreement on the pairs above 5 pp whose true label is not decidable",
        metric="agreement of estimated vs true label over pairs with true drop > 5 pp that fail the "
               "decidability rule", expected="none (reported, not judged)", anchor="-",
        observed=f"{rest_agree:.3f} over {len(rest)} pairs" if len(rest) else "no such pair",
        verdict="inconclusive",
        note="these pairs' true label sits on the knife edge or their supports barely overlap, so an "
             "estimate could not decide it; reported so no pair is hidden")
    return [main, other]


def identity(disde: pd.DataFrame, calibration: pd.DataFrame) -> Claim:
    err = float(max(disde["identity_error"].max() if len(disde) else 0.0, calibration["identity_error"].max()))
    return Claim(
        id="C1-identity", kind="check",
        note="an algebraic identity of the decomposition: it holds for any data, so it checks the code only",
        claim="The three DISDE terms (X: P→S, Y|X on S, X: S→Q) sum to the total degradation",
        metric="max |x_p2s + yx + x_s2q − total| over every decomposition", expected="≤ 1e-9",
        anchor="identity of the decomposition (DISDE)",
        observed=f"{err:.2e} over {len(disde) + len(calibration)} decompositions",
        verdict="reproduced" if err <= 1e-9 else "not reproduced")


def c3_prevalence(disde: pd.DataFrame, min_total: float, real: bool) -> Claim:
    big = disde[disde["est_total"] > min_total]
    frac = float((big["est_label"] == "Y|X").mean()) if len(big) else float("nan")
    observed = f"{frac:.2f} of {len(big)} pairs"
    if not real:
        observed += " (synthetic: a property of the generator's knobs, not of nature)"
    return Claim(
        id="C3", kind="claim",
        claim="Y|X shifts dominate natural tabular shifts (P2)",
        metric=f"fraction of pairs with degradation > {min_total:.0%} labelled Y|X by DISDE",
        expected="> 0.5 on real data (not reproduced < 0.3)", anchor="≥ 266/350 (76%) in the README table",
        observed=observed,
        verdict=verdict(frac > 0.5, frac < 0.3) if real and len(big) else "inconclusive")


def acc_se(a: float, n: float) -> float:
    """Binomial standard error of an accuracy measured on n rows."""
    return math.sqrt(max(a * (1 - a), 1e-12) / max(n, 1))


C4_NAME = ("C4 Robust, imbalance, causal and fairness methods are not better than ERM tree ensembles "
           "under Y|X shift (P4)")


def c4_robust_methods(analysis: dict, yx: list[str]) -> Claim:
    """Per non-ERM family: mean over Y|X settings of (family best − ERM-tree best), both best-by-ID-val on the
    main target, with a standard error from the target samples (unpaired, so conservative)."""
    if len(yx) < MIN_SETTINGS_PER_KIND:
        return _missing(C4_NAME, f"needs ≥ {MIN_SETTINGS_PER_KIND} Y|X settings by ground truth, has {len(yx)}")
    per_fam: dict[str, list[tuple[float, float]]] = {}
    for s in yx:
        a = analysis[s]
        erm, n = a["erm_tree_best_by_id_val"], a.get("n_main_target", 2000)
        for fam in NON_ERM_FAMILIES:
            if fam in a["family_best_by_id_val"] and not math.isnan(erm):
                f = a["family_best_by_id_val"][fam]
                per_fam.setdefault(fam, []).append((f - erm, math.hypot(acc_se(f, n), acc_se(erm, n))))
    fams = {f: v for f, v in per_fam.items() if len(v) >= MIN_SETTINGS_PER_KIND}
    if not fams:
        return _missing(C4_NAME, "no family fitted in ≥ 3 Y|X settings")
    stats = {f: (float(np.mean([d for d, _ in v])), math.sqrt(sum(se ** 2 for _, se in v)) / len(v))
             for f, v in fams.items()}
    upper = {f: m + Z95 * se for f, (m, se) in stats.items()}
    lower = {f: m - Z95 * se for f, (m, se) in stats.items()}
    shown = ", ".join(f"{f} {100 * m:+.1f} ± {100 * se:.1f}" for f, (m, se) in sorted(stats.items()))
    return Claim(
        id="C4", kind="claim", claim=C4_NAME.partition(" ")[2],
        metric="per non-ERM family: mean over Y|X settings of its best-by-ID-val main-target accuracy minus "
               "that of {xgb, lightgbm} (pp, ± standard error from the target samples)",
        expected="every family's 95% upper bound ≤ +1 pp (not reproduced: some family's 95% lower bound > +1 pp)",
        anchor="qualitative (P4)",
        observed=f"{shown} over {len(yx)} Y|X settings",
        verdict=verdict(all(u <= 0.01 for u in upper.values()), any(lo > 0.01 for lo in lower.values())),
        note="rule changed (issue 12): the spec's per-(setting, family) count ignored the ≈ 1 pp target-sample "
             "noise of each difference; now a mean per family with its standard error, ≥ 3 Y|X settings")


def c5_variance(analysis: dict) -> Claim:
    """The paper's comparison: model class and (base-learner) hyper-parameters vs the method choice within a
    class, the method's own knobs (DRO radius, ambiguity-set size, JTT λ, ...) counted as the method."""
    rows = [(a["r2_class"], a["r2_hp_base"], a["r2_variant_given_class"]) for a in analysis.values()
            if not math.isnan(a.get("r2_class", float("nan"))) and "r2_variant_given_class" in a]
    n = len(rows)
    wins = sum(c + h > m for c, h, m in rows)
    need = math.ceil(5 / 7 * n)
    return Claim(
        id="C5", kind="claim",
        claim="Model class and hyper-parameters matter more for OOD accuracy than the method (P4)",
        metric="settings where R²(model class) + R²(base hyper-parameters | method) > R²(method and its own "
               "knobs | class), nested ANOVA of main-target accuracy over configurations",
        expected=f"≥ 5 of 7 settings (here ≥ {need} of {n})", anchor="qualitative (P4)",
        observed=f"{wins} of {n}; R²_class {_vals(pd.Series([c for c, _, _ in rows]))}, "
                 f"R²_hp {_vals(pd.Series([h for _, h, _ in rows]))}, "
                 f"R²_method|class {_vals(pd.Series([m for _, _, m in rows]))}",
        verdict=verdict(n > 0 and wins >= need, n > 0 and n - wins >= need),
        note="rule changed to the paper's comparison (issue 12): the spec compared R²_class alone with "
             "R²_method|class and counted the DRO radius as a hyper-parameter")


C6_NAME = "C6 ID accuracy predicts OOD accuracy under X shift but only weakly under Y|X shift (P4)"


def _kind_mean(analysis: dict, settings: list[str]) -> tuple[float, float]:
    """Mean r over settings and its standard error: between-setting spread plus target-sample noise."""
    r = np.array([analysis[s]["r_linear"] for s in settings], float)
    noise = np.array([analysis[s].get("r_linear_sd", 0.0) for s in settings], float)
    ok = ~np.isnan(r)
    r, noise = r[ok], np.nan_to_num(noise[ok])
    if len(r) == 0:
        return float("nan"), float("nan")
    spread = r.std(ddof=1) if len(r) > 1 else 0.0
    return float(r.mean()), float(math.sqrt(spread ** 2 / len(r) + np.mean(noise ** 2) / len(r)))


def c6_on_the_line(analysis: dict, x: list[str], yx: list[str]) -> Claim:
    if min(len(x), len(yx)) < MIN_SETTINGS_PER_KIND:
        return _missing(C6_NAME, f"needs ≥ {MIN_SETTINGS_PER_KIND} settings of each kind by ground truth "
                                 f"(X: {len(x)}, Y|X: {len(yx)})")
    (r_x, se_x), (r_yx, se_yx) = _kind_mean(analysis, x), _kind_mean(analysis, yx)
    gap, se = r_x - r_yx, math.hypot(se_x, se_yx)
    return Claim(
        id="C6", kind="claim", claim=C6_NAME.partition(" ")[2],
        metric="mean Pearson r(ID-test acc, main-target acc) over configurations: X settings vs Y|X settings "
               "(± standard error: between settings plus target-sample noise, parametric bootstrap)",
        expected="r_X ≥ 0.8 and r_X − r_YX ≥ 0.2 with its 95% lower bound > 0 (not reproduced: the 95% upper "
                 "bound of r_X − r_YX < 0.2, or of r_X < 0.8)",
        anchor="qualitative (P4)",
        observed=f"r_X {r_x:.2f} ± {se_x:.2f} ({len(x)} settings), r_YX {r_yx:.2f} ± {se_yx:.2f} ({len(yx)} "
                 f"settings), r_X − r_YX {gap:+.2f} ± {se:.2f}",
        verdict=verdict(r_x >= 0.8 and gap >= 0.2 and gap - Z95 * se > 0,
                        gap + Z95 * se < 0.2 or r_x + Z95 * se_x < 0.8),
        note="rule given an uncertainty (issue 12): decided only with ≥ 3 settings per kind and a gap "
             "outside the target-sample and between-setting noise")


def method_mean_ranks(analysis: dict, settings: list[str]) -> pd.Series:
    """Mean rank (1 = best) of each method's best-by-ID-val main-target accuracy across ``settings``."""
    ranks = [setting_ranks(analysis, s) for s in settings]
    return pd.concat(ranks, axis=1).mean(axis=1) if ranks else pd.Series(dtype=float)


def setting_ranks(analysis: dict, s: str) -> pd.Series:
    return pd.Series({m: b["ood_acc_main"] for m, b in analysis[s]["best_by_id_val"].items()}).rank(ascending=False)


def _tau(a: pd.Series, b: pd.Series) -> float:
    common = a.index.intersection(b.index)
    return float(kendalltau(a[common], b[common]).statistic) if len(common) >= 3 else float("nan")


def tau_null_test(analysis: dict, x: list[str], yx: list[str]) -> dict:
    """Is agreement between settings of the same kind higher than across kinds?

    D = mean τ over same-kind setting pairs − mean τ over X–Y|X pairs (τ between single-setting rankings);
    its null comes from every relabelling of the settings with the same kind counts (exact permutation test).
    """
    from itertools import combinations

    settings = list(x) + list(yx)
    ranks = {s: setting_ranks(analysis, s) for s in settings}
    tau = {(a, b): _tau(ranks[a], ranks[b]) for a, b in combinations(settings, 2)}

    def stat(xs: set) -> tuple[float, float, float]:
        same = [t for (a, b), t in tau.items() if (a in xs) == (b in xs)]
        cross = [t for (a, b), t in tau.items() if (a in xs) != (b in xs)]
        ms, mc = float(np.nanmean(same)), float(np.nanmean(cross))
        return ms - mc, ms, mc

    d_obs, same, cross = stat(set(x))
    null = [stat(set(c))[0] for c in combinations(settings, len(x))]
    p = float(np.mean([d >= d_obs - 1e-12 for d in null]))
    return {"d": d_obs, "tau_same": same, "tau_cross": cross, "p": p, "n_perm": len(null)}


C7_NAME = "C7 Algorithmic conclusions flip between X and Y|X shifts (P3)"
C7_ALPHA, C7_NULL = 0.1, 0.5


def c7_flips(analysis: dict, x: list[str], yx: list[str]) -> Claim:
    if min(len(x), len(yx)) < MIN_SETTINGS_PER_KIND:
        return _missing(C7_NAME, f"needs ≥ {MIN_SETTINGS_PER_KIND} settings of each kind by ground truth "
                                 f"(X: {len(x)}, Y|X: {len(yx)})")
    rx, ryx = method_mean_ranks(analysis, x), method_mean_ranks(analysis, yx)
    tau = _tau(rx, ryx)
    t = tau_null_test(analysis, x, yx)
    return Claim(
        id="C7", kind="claim", claim=C7_NAME.partition(" ")[2],
        metric="method rankings (best-by-ID-val main-target accuracy) agree less across kinds than within a "
               "kind: D = mean τ(same-kind setting pairs) − mean τ(X–Y|X pairs), exact permutation null over "
               "relabellings of the settings",
        expected=f"p ≤ {C7_ALPHA} (not reproduced: p ≥ {C7_NULL}, rankings agree across kinds as well as within)",
        anchor="qualitative (P3)",
        observed=f"D = {t['d']:+.2f} (τ same-kind {t['tau_same']:.2f}, cross-kind {t['tau_cross']:.2f}), "
                 f"p = {t['p']:.2f} over {t['n_perm']} relabellings; spec's τ(X ranks, Y|X ranks) = {tau:.2f}",
        verdict=verdict(t["p"] <= C7_ALPHA, t["p"] >= C7_NULL),
        note="rule changed (issue 12): the spec's τ < 0.5 had no null — τ between settings of the same kind "
             "ranged −0.38 to +0.27, so a low cross-kind τ alone says nothing; now tested against that null")


C8_NAME = "C8 Risk regions (covariate regions with the largest Y|X shift) are identifiable (P5)"


def region_lift(r: dict) -> float:
    """(true gap in the found leaf − overall true gap) / (true gap in the planted R − overall): 1 = as much
    excess Y|X shift as the planted region, > 1 = a region of larger shift than the one planted."""
    den = r.get("true_gap_planted", float("nan")) - r.get("true_gap_all", float("nan"))
    return (r["true_gap_leaf"] - r["true_gap_all"]) / den if den > 0 else float("nan")


C8_MATCH, C8_MISS = 0.8, 0.5


def region_outcome(r: dict) -> str:
    """"found" if the top leaf's true gap beats the average point's and reaches 0.8 of the planted region's;
    "missed" if it is no more shifted than the average point or below half the planted region's; else "partial".
    (In these twins σ_b, σ_δ shift the conditional everywhere, so R is not always the most shifted region.)"""
    leaf, planted, overall = r["true_gap_leaf"], r["true_gap_planted"], r["true_gap_all"]
    if leaf <= overall or leaf <= C8_MISS * planted:
        return "missed"
    return "found" if leaf >= C8_MATCH * planted else "partial"


def c8_risk_region(regions: dict) -> Claim:
    rows = {s: r for s, r in regions.items() if r.get("planted") and "true_gap_leaf" in r
            and not math.isnan(r.get("true_gap_planted", float("nan")))}
    if len(rows) < MIN_SETTINGS_PER_KIND:
        return _missing(C8_NAME, f"needs ≥ {MIN_SETTINGS_PER_KIND} settings with a planted region and truth, "
                                 f"has {len(rows)}")
    outcome = {s: region_outcome(r) for s, r in rows.items()}
    shown = "; ".join(f"#{s} {outcome[s]} (true gap leaf {r['true_gap_leaf']:.2f} vs R {r['true_gap_planted']:.2f}, "
                      f"all {r['true_gap_all']:.2f}; est. {r['leaf_gap']:.2f}, held-out {r.get('leaf_gap_heldout', float('nan')):.2f}; "
                      f"Jaccard {r['jaccard']:.2f})" for s, r in rows.items())
    found = np.mean([o == "found" for o in outcome.values()])
    missed = np.mean([o == "missed" for o in outcome.values()])
    return Claim(
        id="C8", kind="claim", claim=C8_NAME.partition(" ")[2],
        metric="true Y|X gap |P_src(Y=1|x) − P_tgt(Y=1|x)| in the tree's top leaf vs in the planted region R and "
               "overall (exact conditionals), on the main pairs with a planted region",
        expected=f"found (leaf > overall and ≥ {C8_MATCH} × R's) in ≥ 75% of them (not reproduced: missed — leaf "
                 f"≤ overall or ≤ {C8_MISS} × R's — in ≥ 75%)",
        anchor="CA→PR risk region (Example.ipynb)", observed=shown,
        verdict=verdict(found >= 0.75, missed >= 0.75),
        note="rule changed to the paper's definition (issue 12): the risk region is where the Y|X gap is "
             "largest, so the found leaf is scored by its true gap, not by Jaccard overlap with R (a leaf of "
             "larger true gap than R is a success); the leaf gap is re-estimated on held-out rows")


SYNTHETIC_ONLY = "not measurable on synthetic twins (needs the paper profile with real ACS data)"


def c9_ca_pr(analysis: dict, real: bool) -> Claim:
    a = analysis.get("1")
    ok = real and a is not None and a["main_target"] == "PR"
    ca, pr = (a["id_acc_reference"], a["main_acc_reference"]) if ok else (float("nan"), float("nan"))
    return Claim(
        id="C9", kind="claim",
        claim="Income CA→PR: a CA-trained model scores 0.8478 on CA and 0.7145 on PR (P5)",
        metric="reference XGBoost accuracy on CA (ID test) / PR (real ACS Income)",
        expected="within ±2 pp of the anchors", anchor="0.8478 / 0.7145 (Example.ipynb)",
        observed=f"{ca:.4f} / {pr:.4f}" if ok else SYNTHETIC_ONLY,
        verdict=verdict(abs(ca - 0.8478) <= 0.02 and abs(pr - 0.7145) <= 0.02,
                        abs(ca - 0.8478) > 0.02 or abs(pr - 0.7145) > 0.02) if ok else "inconclusive")


def p6_ca_al(disde: pd.DataFrame, real: bool) -> Claim:
    pair = disde[(disde["setting_id"] == 1) & (disde["target"] == "AL")] if real else disde.iloc[0:0]
    ok = len(pair) == 1
    total, frac = (float(pair["est_total"].iloc[0]), float(pair["est_yx_frac"].iloc[0])) if ok else (0.0, 0.0)
    return Claim(
        id="P6", kind="claim",
        claim="Income CA→AL with default XGBoost: 4.79 pp degradation, Y|X proportion 0.635",
        metric="DISDE total degradation and yx_frac on real ACS Income (needs pairs: all)",
        expected="within ±2 pp and ±0.15 of the anchors", anchor="4.79 pp / 0.635 (Example.ipynb)",
        observed=f"{100 * total:.2f} pp / {frac:.3f}" if ok else SYNTHETIC_ONLY,
        verdict=verdict(abs(total - 0.0479) <= 0.02 and abs(frac - 0.635) <= 0.15,
                        abs(total - 0.0479) > 0.02 or abs(frac - 0.635) > 0.15) if ok else "inconclusive")


def all_claims(analysis: dict, disde: pd.DataFrame, calibration: pd.DataFrame, regions: dict,
               min_total: float, real: bool = False) -> list[Claim]:
    x, yx = split_settings(analysis)
    return [c1_calibration(calibration), *c2_labels(disde, min_total), identity(disde, calibration),
            c3_prevalence(disde, min_total, real), c4_robust_methods(analysis, yx), c5_variance(analysis),
            c6_on_the_line(analysis, x, yx), c7_flips(analysis, x, yx), c8_risk_region(regions),
            c9_ca_pr(analysis, real), p6_ca_al(disde, real)]


def _missing(claim: str, why: str) -> Claim:
    """A row that could not be measured: ``claim`` starts with its spec id (``"C4 ..."``)."""
    cid, _, text = claim.partition(" ")
    return Claim(id=cid, kind="claim", claim=text, metric="-", expected="-", anchor="qualitative", observed=f"not measurable: {why}",
                 verdict="inconclusive")


def _mean(values) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def _vals(series: pd.Series) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in series) + "]"
