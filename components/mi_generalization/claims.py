"""Claims M1–M6 (spec §8) and the check rows: each rule decides from the data and can reach every verdict.

Every function returns a plain dict with the ``Claim`` keys plus ``explain`` (why, for the report).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from components.core.claims import mean_sd, verdict
from components.mi_generalization.evaluation import boot_ci, per_run_average, t_ci

H_X, H_Y = 2.0, 1.0  # prototype identity, binary label (bits)


def _row(cid, kind, claim, metric, expected, anchor, observed, verdict_, note="", explain=""):
    return {"id": cid, "kind": kind, "claim": claim, "metric": metric, "expected": expected, "anchor": anchor,
            "observed": observed, "verdict": verdict_, "note": note, "explain": explain}


def _unfit(frames: list[pd.DataFrame], min_acc: float) -> list[str]:
    bad = []
    for g in frames:
        for tag, acc in zip(g["tag"], g["train_acc"]):
            if not acc >= min_acc:
                bad.append(f"{tag} (train acc {acc:.3f})")
    return bad


def _fmt_ci(m, lo, hi) -> str:
    return f"{m:+.4f} [{lo:+.4f}, {hi:+.4f}]" if np.isfinite(lo) else f"{m:+.4f} [CI n/a]"


def m1_tighter(pairs: dict[str, pd.DataFrame], n_boot: int, seed: int, min_acc: float, suffix: str = "") -> dict:
    """B_XR < B_inc and B_XR < B_cmi: both ratios of means < 1 and both paired-difference CIs above 0."""
    claim = "the Î-based bound is tighter than the SGLD relaxations (H4) [bound form inferred]"
    metric = "r = mean B_XR / mean B_sim per simulator; bootstrap 95 % CI of mean(B_sim − B_XR) over runs"
    expected = "both ratios < 1 and both CIs exclude 0"
    anchor = "no bound values in the paper (not available)"
    sims = [k for k in ("incoherence", "cmi") if k in pairs]
    if len(sims) < 2 or any(len(pairs[k]) < 2 for k in sims):
        return _row("M1" + suffix, "claim", claim, metric, expected, anchor,
                    "not run: needs ≥ 2 runs of both simulators", "inconclusive")
    parts, ok, bad = [], [], []
    for k in sims:
        g = pairs[k]
        r = g["b_xr"].mean() / g["bound"].mean()
        m, lo, hi = boot_ci(g["bound"] - g["b_xr"], n_boot, seed)
        parts.append(f"{k}: r={r:.3f}, B_sim−B_XR {_fmt_ci(m, lo, hi)} (n={len(g)})")
        ok.append(r < 1 and lo > 0)
        bad.append(r > 1 and hi < 0)
    observed = "; ".join(parts)
    unfit = _unfit([pairs[k] for k in sims], min_acc)
    if unfit:
        return _row("M1" + suffix, "claim", claim, metric, expected, anchor, observed, "inconclusive",
                    explain=f"networks that did not fit: {', '.join(unfit[:4])}")
    v = verdict(all(ok), any(bad))
    return _row("M1" + suffix, "claim", claim, metric, expected, anchor, observed, v,
                explain="" if v == "reproduced" else "a ratio is ≥ 1 or a paired CI includes 0")


def m2_valid(pairs: dict[str, pd.DataFrame], n_boot: int, seed: int, min_acc: float, suffix: str = "") -> dict:
    """mean B_XR ≥ mean gap_01 (i.i.d. test): CI of the paired difference (per run, averaged over the run's
    simulator networks) above 0 → reproduced, below 0 → not reproduced."""
    claim = "B_XR is a valid bound on the expected generalisation gap (implicit in 'bound')"
    metric = "mean over runs of (B_XR − gap_01), gap_01 = 0-1 test error (fresh i.i.d. set) − train error; 95 % CI"
    expected = "lower CI end ≥ 0"
    anchor = "no number in the paper"
    if not pairs or sum(len(g) for g in pairs.values()) < 2:
        return _row("M2" + suffix, "claim", claim, metric, expected, anchor, "not run: needs ≥ 2 E2 networks",
                    "inconclusive")
    diff = per_run_average(pairs, "b_xr") - per_run_average(pairs, "gap_01")
    m, lo, hi = boot_ci(diff.values, n_boot, seed)
    all_nets = pd.concat(list(pairs.values()))
    frac = float((all_nets["b_xr"] >= all_nets["gap_01"]).mean())
    observed = (f"B_XR {all_nets['b_xr'].mean():.4f}, gap_01 {all_nets['gap_01'].mean():.4f} "
                f"(gap_code {all_nets['gap_code'].mean():.4f}); B_XR − gap {_fmt_ci(m, lo, hi)} over {len(diff)} runs; "
                f"B_XR ≥ gap in {frac:.0%} of {len(all_nets)} networks")
    unfit = _unfit(list(pairs.values()), min_acc)
    if unfit:
        return _row("M2" + suffix, "claim", claim, metric, expected, anchor, observed, "inconclusive",
                    explain=f"networks that did not fit: {', '.join(unfit[:4])}")
    if not np.isfinite(lo):
        return _row("M2" + suffix, "claim", claim, metric, expected, anchor, observed, "inconclusive",
                    explain="one run: no CI")
    v = verdict(lo >= 0, hi < 0)
    return _row("M2" + suffix, "claim", claim, metric, expected, anchor, observed, v,
                explain={"reproduced": "", "not reproduced": "the plug-in value lies below the observed mean gap: "
                         "Î is a plug-in for I(S;W), not a certified bound",
                         "inconclusive": "the CI of B_XR − gap includes 0"}[v])


M3_TOL, M3_IYY_MIN = 0.15, 0.95  # spec §8: |I(X;T1) − 2| ≤ 0.15, I(Y;Ŷ) ≥ 0.95
MERGED_BELOW, NEAR_ONE_BIT = 1.95, 1.25  # below 1.95 bits two prototypes (partly) share a T1 code; ≈ 1 bit: more
M3_MIN_REPEATS = 10  # see m3_accuracy
M3_NOTE = ("rule departs from the spec's mean-only form: judged on the 95 % t-CI of the mean over repeats (a "
           "5-repeat mean flipped under seed + 1000)")


def _m3_row(claim, metric, expected, anchor, observed, verdict_, explain=""):
    """M3's row, with the CI rule and the reason for a verdict other than reproduced in ``note`` (in claims.json)."""
    note = M3_NOTE + (f"; {explain}" if explain else "")
    return _row("M3", "claim", claim, metric, expected, anchor, observed, verdict_, note=note, explain=explain)


def m3_accuracy(e1: pd.DataFrame, widths: dict[str, int], min_acc: float, level: float = 0.95,
                min_repeats: int = M3_MIN_REPEATS) -> dict:
    """E1 final epoch, judged on the uncertainty of the mean over repeats (Student-t CI at ``level``).

    reproduced: the CI of mean I(X;T1) lies inside 2 ± 0.15, the CI of mean I(Y;Ŷ) at or above 0.95 and every
    estimate in [0, log2 K]; not reproduced: the I(X;T1) CI lies wholly outside 2 ± 0.15, the I(Y;Ŷ) CI wholly
    below 0.95, or an estimate leaves [0, log2 K]; otherwise inconclusive. The per-repeat values are a mixture
    (≈ 2.00 bits when the four prototypes get distinct codes, ≈ 1.5 or 1.0 when some share one), so fewer than
    ``min_repeats`` repeats give no verdict: a small block without a merged repeat has a near-zero-width CI.
    """
    claim = "the representation estimates MI accurately (H2), sanity form on the prototype set"
    metric = (f"E1 final epoch, mean over repeats with its {level:.0%} t-CI: I(X;T1) vs H(X) = 2 bits, "
              "I(Y;Ŷ) vs H(Y) = 1 bit")
    expected = (f"CI of mean I(X;T1) within 2 ± {M3_TOL}, CI of mean I(Y;Ŷ) ≥ {M3_IYY_MIN}, all in [0, log2 K]; "
                "CI wholly outside → not reproduced")
    anchor = "no accuracy figure in the paper"
    if e1.empty:
        return _m3_row(claim, metric, expected, anchor, "not run: no E1 repeats", "inconclusive")
    ixt, iyy = e1["i_xt_t1"].to_numpy(float), e1["i_yt_yhat"].to_numpy(float)
    in_range = all(((e1[f"{q}_{layer}"] >= -1e-9) & (e1[f"{q}_{layer}"] <= math.log2(k) + 1e-9)).all()
                   for layer, k in widths.items() for q in ("i_xt", "i_yt"))
    mx, lx, hx, sx, n = t_ci(ixt, level)
    my, ly, hy, sy, _ = t_ci(iyy, level)
    merged, near_one = int((ixt < MERGED_BELOW).sum()), int((ixt < NEAR_ONE_BIT).sum())
    if n >= 2:
        observed = (f"I(X;T1) {mx:.3f} [{lx:.3f}, {hx:.3f}] (SD {sx:.2f}), I(Y;Ŷ) {my:.3f} [{ly:.3f}, {hy:.3f}] "
                    f"(SD {sy:.3f}), {level:.0%} t-CI over n={n} repeats")
    else:
        observed = f"I(X;T1) {mx:.3f}, I(Y;Ŷ) {my:.3f} (n={n}, no CI)"
    observed += (f"; {merged}/{n} repeats below {MERGED_BELOW} bits (prototypes merged; {near_one} below "
                 f"{NEAR_ONE_BIT}, ≈ 1 bit or less); all in range: {in_range}")
    unfit = _unfit([e1], min_acc)
    if unfit:
        return _m3_row(claim, metric, expected, anchor, observed, "inconclusive",
                       explain=f"repeats that did not fit: {', '.join(unfit[:4])}")
    lo_ok, hi_ok = H_X - M3_TOL, H_X + M3_TOL
    if not in_range:
        return _m3_row(claim, metric, expected, anchor, observed, "not reproduced",
                       explain="an estimate leaves [0, log2 K]")
    if n < min_repeats:
        return _m3_row(claim, metric, expected, anchor, observed, "inconclusive",
                       explain=f"{n} repeats < {min_repeats}: too few for a CI of a mean over a two-mode mixture")
    ok = lx >= lo_ok and hx <= hi_ok and ly >= M3_IYY_MIN
    misses = [why for bad, why in ((hx < lo_ok or lx > hi_ok, f"the I(X;T1) CI lies outside 2 ± {M3_TOL}"),
                                   (hy < M3_IYY_MIN, f"the I(Y;Ŷ) CI lies below {M3_IYY_MIN}")) if bad]
    v = verdict(ok, bool(misses))
    if v == "inconclusive":
        spans = [why for bad, why in ((lx < lo_ok <= hx, f"the I(X;T1) CI spans {lo_ok:.2f}"),
                                      (lx <= hi_ok < hx, f"the I(X;T1) CI spans {hi_ok:.2f}"),
                                      (ly < M3_IYY_MIN <= hy, f"the I(Y;Ŷ) CI spans {M3_IYY_MIN}")) if bad]
        explain = "; ".join(spans) + ": the repeats cannot decide it at this precision"
    else:
        explain = "; ".join(misses)
    return _m3_row(claim, metric, expected, anchor, observed, v, explain=explain)


def m4_explains(sweep: pd.DataFrame, min_runs: int = 6) -> dict:
    """Spearman ρ(Î, gap_01) over the E3 sweep: ρ ≥ 0.5 and p < 0.05 → reproduced; ρ ≤ 0 → not reproduced."""
    from scipy.stats import spearmanr

    claim = "the MI estimate explains generalisation (H3) [inferred operationalisation]"
    metric = "Spearman ρ(Î, gap_01) over the noise-variance sweep (incoherence networks)"
    expected = "ρ ≥ 0.5 with p < 0.05"
    anchor = "no number in the paper"
    if len(sweep) < min_runs or sweep["var"].nunique() < 2:
        return _row("M4", "claim", claim, metric, expected, anchor,
                    f"not run: {len(sweep)} networks at {sweep['var'].nunique() if len(sweep) else 0} variances "
                    f"(needs ≥ {min_runs} at ≥ 2)", "inconclusive")
    rho, p = spearmanr(sweep["i_hat"], sweep["gap_01"])
    rho2, p2 = spearmanr(sweep["i_xbar_t_t1"], sweep["gap_01"])
    rho, rho2 = (float(x) if np.isfinite(x) else 0.0 for x in (rho, rho2))
    by_var = ", ".join(f"var {v:g}: Î {g['i_hat'].mean():.3f}, gap {g['gap_01'].mean():.3f}"
                       for v, g in sweep.groupby("var"))
    observed = f"ρ(Î, gap) = {rho:+.3f} (p = {p:.3g}); ρ(I(X̄;T1), gap) = {rho2:+.3f} (p = {p2:.3g}); n = {len(sweep)}; {by_var}"
    v = verdict(rho >= 0.5 and p < 0.05, rho <= 0)
    return _row("M4", "claim", claim, metric, expected, anchor, observed, v,
                explain={"reproduced": "", "not reproduced": "Î does not increase with the gap across the sweep",
                         "inconclusive": "positive but weak or not significant"}[v])


def m5_benchmark(e4: pd.DataFrame, source: str, classes: int = 10, tol: float = 0.2) -> dict:
    """E4: I(Y;Ŷ) → log2 10 as accuracy → 1. Digits (default): report only; IDX data (paper): as M3, the 95 %
    t-CI of the mean over repeats at or above log2 10 − tol → reproduced, wholly below → not reproduced."""
    claim = "on benchmark data I(Y;Ŷ) approaches H(Y) as accuracy → 1 (companion experiments)"
    metric = "E4 final epoch: I(Y;Ŷ) vs log2 10 = 3.32 bits; test accuracy"
    expected = f"I(Y;Ŷ) ≥ {math.log2(classes) - tol:.2f} bits (paper profile)"
    anchor = "no number in the paper"
    if e4.empty:
        return _row("M5", "claim", claim, metric, expected, anchor, "not run: no E4 repeats in this profile",
                    "inconclusive")
    parts = [f"{ds}: I(Y;Ŷ) {mean_sd(g['i_yt_yhat'])}, I(X;T1) {mean_sd(g['i_xt_t1'])}, train acc "
             f"{g['train_acc'].mean():.3f}, test acc {g['test_acc'].mean():.3f}" for ds, g in e4.groupby("kind")]
    observed = "; ".join(parts)
    if source == "digits":
        return _row("M5", "claim", claim, metric, expected, anchor, observed, "inconclusive",
                    explain="digits is a stand-in for MNIST/Fashion-MNIST: reported, not judged (spec §8)")
    floor = math.log2(classes) - tol  # as M3: judged on the 95 % t-CI of the mean over repeats
    cis = {ds: t_ci(g["i_yt_yhat"]) for ds, g in e4.groupby("kind")}
    observed += "; 95 % t-CI of mean I(Y;Ŷ): " + ", ".join(
        f"{ds} [{lo:.3f}, {hi:.3f}]" for ds, (_, lo, hi, _, _) in cis.items())
    if any(n < 2 for *_, n in cis.values()):
        return _row("M5", "claim", claim, metric, expected, anchor, observed, "inconclusive",
                    explain="fewer than 2 repeats of a dataset: no CI")
    ok = all(lo >= floor for _, lo, _, _, _ in cis.values())
    bad = any(hi < floor for _, _, hi, _, _ in cis.values())
    v = verdict(ok, bad)
    return _row("M5", "claim", claim, metric, expected, anchor, observed, v,
                explain={"reproduced": "", "not reproduced": f"a CI lies below {floor:.2f} bits",
                         "inconclusive": f"a CI spans {floor:.2f} bits"}[v])


def m6_numbers() -> dict:
    return _row("M6", "claim", "numeric values of the paper's figures and tables", "—", "—", "not available",
                "not run: the paper's figure/table values are not available (spec §8: never compared)", "inconclusive")


def estimator_check(rows: list[dict]) -> dict:
    bad = [r["case"] for r in rows if not r["ok"]]
    observed = f"{len(rows) - len(bad)}/{len(rows)} known-MI cases within tolerance (max |err| " \
               f"{max(r['abs_err'] for r in rows if np.isfinite(r['tol'])):.1e})"
    return _row("EST", "check", "the Gibbs, binning and KDE estimators recover known MI", "closed-form MI cases",
                "all within tolerance", "spec §9 checks 1–2 (+ baselines)", observed,
                verdict(not bad, bool(bad)), note="implementation identity on constructed inputs, not a claim of "
                "the paper", explain=f"failed: {', '.join(bad)}" if bad else "")


def bound_identity_check() -> dict:
    from components.mi_generalization import bounds as B

    b = B.xu_raginsky(2.0, 256)
    ok = abs(b - 0.05203) < 1e-5 and abs(B.noise_var(0) - 3e-6) < 1e-18
    return _row("BND", "check", "bound formulas match the spec's worked values", "B_XR(Î=2 bits, n=256); σ_0²",
                "0.05203; 3e-6", "spec §3.2 example", f"B_XR = {b:.5f}, σ_0² = {B.noise_var(0):.1e}",
                verdict(ok, not ok), note="arithmetic identity, true by construction")


def e1_reference_check(e1: pd.DataFrame) -> dict:
    """Context: the figure's reference lines (I(X;T1) vs H(X), I(Y;T1)) at the first and last epoch."""
    if e1.empty:
        return _row("E1-fit", "check", "E1 trains to accuracy 1 by epoch 20 (spec §9.12)", "train accuracy",
                    "1.0 by epoch 20", "spec §9.12", "not run: no E1 repeats", "inconclusive",
                    note="a sanity check of the training set-up, not a claim of the paper")
    ok = bool((e1["epoch_acc1"] <= 20).all())
    return _row("E1-fit", "check", "E1 trains to accuracy 1 by epoch 20 (spec §9.12)", "first epoch with train acc 1",
                "≤ 20 in every repeat", "spec §9.12", f"epochs {list(e1['epoch_acc1'].astype(int))}",
                verdict(ok, not ok), note="a sanity check of the training set-up, not a claim of the paper")
