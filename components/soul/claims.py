"""Config selection at matched utility and the claims of spec §8, verdicts computed from eval.parquet.

Selection (spec §7 report): per (objective, optimizer) seed means; eligible configs keep mean MU ≥
0.9·MU(original); pick the highest mean log10 FQ_tofu. SO vs FO is then compared seed by seed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from components.core.claims import Claim, mean_sd, verdict

MU_KEEP = 0.9          # eligible: mean MU ≥ 0.9 · MU(original) (spec §7)
MU_TOLERANCE = 0.02    # C4: MU_SO ≥ MU_FO − 0.02
TIME_OK, TIME_BAD = 1.5, 2.0   # C7
NEWTON_OK, GD_FACTOR = 0.1, 100  # C8
MIN_SEEDS = 3          # "reproduced" needs the direction on every one of ≥ 3 seeds
CONFIG_KEYS = ["block", "objective", "optimizer", "lr_mult", "gamma", "rho"]
C7_NOTE = ("true by construction of the SOUL variant: its SophiaG takes no extra Hessian pass (the diagonal "
           "estimate is the squared gradient of the same step), so its step costs about an AdamW step whatever "
           "the data (issue 13)")
C9_NOTE = ("not a claim of the paper: spec §8 lists the sophia_ref comparison as descriptive (does the ordering "
           "survive removing SOUL's changes D1–D3?)")
C10_NOTE = ("not in spec §8: MIA robustness against the original model rather than SO vs FO (that is C5); "
            "descriptive")


def select_configs(frame: pd.DataFrame, block: str = "main") -> pd.DataFrame:
    """One selected config per (objective, optimizer) of ``block``; ``eligible`` False when none keeps MU."""
    mu_orig = float(frame.loc[frame["model"] == "original", "MU"].iloc[0])
    runs = frame[(frame["kind"] == "unlearn") & (frame["block"] == block)]
    means = runs.groupby(CONFIG_KEYS, dropna=False)[["MU", "log10_FQ_tofu"]].mean().reset_index()
    rows = []
    for (objective, optimizer), group in means.groupby(["objective", "optimizer"]):
        ok = group[group["MU"] >= MU_KEEP * mu_orig]
        pick = ok.sort_values("log10_FQ_tofu", ascending=False).head(1)
        eligible = len(pick) == 1
        if not eligible:  # still report the best-utility config, flagged
            pick = group.sort_values("MU", ascending=False).head(1)
        rows.append({**pick.iloc[0].to_dict(), "eligible": eligible, "mu_threshold": MU_KEEP * mu_orig})
    return pd.DataFrame(rows)


def seed_values(frame: pd.DataFrame, config: pd.Series, metric: str) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for k in CONFIG_KEYS:
        mask &= (frame[k] == config[k]).to_numpy() | (frame[k].isna() & pd.isna(config[k])).to_numpy()
    return frame[mask & (frame["kind"] == "unlearn").to_numpy()].set_index("seed")[metric].sort_index()


def paired_deltas(frame, selected, objective, metric, so="sophia_soul", fo="adamw") -> tuple[np.ndarray, bool]:
    """Δ_s = value(SO, seed s) − value(FO, seed s) for the selected configs; also whether both were eligible."""
    def row(optimizer):
        hit = selected[(selected["objective"] == objective) & (selected["optimizer"] == optimizer)]
        return hit.iloc[0] if len(hit) else None

    so_cfg, fo_cfg = row(so), row(fo)
    if so_cfg is None or fo_cfg is None:
        return np.array([]), False
    a = seed_values(frame, so_cfg, metric)
    b = seed_values(frame, fo_cfg, metric)
    seeds = a.index.intersection(b.index)
    eligible = bool(so_cfg["eligible"] and fo_cfg["eligible"])
    return (a.loc[seeds] - b.loc[seeds]).to_numpy(dtype=float), eligible


def paired_verdict(deltas: np.ndarray, eligible: bool = True, strict: bool = True) -> str:
    """Spec §8: reproduced = mean Δ and every Δ_s in the expected (positive) direction over ≥ 3 seeds;
    not reproduced = mean Δ opposite and |mean| > sd; else inconclusive (also when no config is eligible)."""
    if len(deltas) == 0 or not eligible:
        return "inconclusive"
    mean = float(np.mean(deltas))
    sd = float(np.std(deltas, ddof=1)) if len(deltas) > 1 else float("inf")
    ok = (deltas > 0) if strict else (deltas >= 0)
    reproduced = len(deltas) >= MIN_SEEDS and (mean > 0 or (not strict and mean >= 0)) and bool(ok.all())
    refuted = len(deltas) >= 2 and mean < 0 and abs(mean) > sd
    return verdict(reproduced, refuted)


def describe(deltas: np.ndarray) -> str:
    if len(deltas) == 0:
        return "no paired seeds"
    text = f"Δ(SO−FO) = {mean_sd(deltas)}"
    if len(deltas) >= 2 and np.std(deltas) > 0:
        from scipy.stats import ttest_1samp

        text += f", paired t p = {ttest_1samp(deltas, 0.0).pvalue:.2g}"
    return text


def combine(verdicts: list[str]) -> str:
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    if all(v == "not reproduced" for v in verdicts):
        return "not reproduced"
    return "inconclusive"


def build_claims(frame: pd.DataFrame, toy: dict) -> tuple[list[Claim], dict]:
    selected = select_configs(frame)
    claims: list[Claim] = []
    facts: dict = {"selected": selected}
    anchors = {"graddiff": "FQ 0.02 → 1.00 (TOFU forget10, LLaMA2-7B; magnitude not expected)",
               "po": "FQ 0.72 → 0.92 (TOFU forget10, LLaMA2-7B)", "npo": "P3 (qualitative, abstract)",
               "ga": "P3 (qualitative; GA rows not in the teaser)"}
    names = {"graddiff": ("C1", "GradDiff (P1)"), "po": ("C2", "PO (P2)"), "npo": ("C3", "NPO (P3)"),
             "ga": ("C3b", "GA (P3)")}
    for objective in ("graddiff", "po", "npo", "ga"):
        d, eligible = paired_deltas(frame, selected, objective, "log10_FQ_tofu")
        facts[f"delta_log10fq_{objective}"] = d
        cid, label = names[objective]
        claims.append(Claim(
            id=cid, kind="claim",
            claim=f"Second-order (SophiaG) beats first-order (AdamW) on forget quality for {label} "
                  "at matched utility",
            metric="log10 FQ_tofu (KS vs retain model), selected configs, paired by seed",
            expected="SO > FO on every seed (≥ 3)", anchor=anchors[objective],
            observed=describe(d) + ("" if eligible else "; no config kept MU ≥ 0.9·MU(original)"),
            verdict=paired_verdict(d, eligible)))
    # C4 utility
    mu = {o: paired_deltas(frame, selected, o, "MU") for o in ("graddiff", "po")}
    parts, ok_all, bad_all = [], True, True
    for o, (d, _) in mu.items():
        if len(d) == 0:
            ok_all = bad_all = False
            continue
        ok_all &= bool(np.mean(d) >= -MU_TOLERANCE and (d >= -MU_TOLERANCE).sum() >= 2)
        bad_all &= bool(np.mean(d) < -MU_TOLERANCE)
        parts.append(f"{o}: ΔMU {mean_sd(d)}")
    claims.append(Claim(id="C4", kind="claim",
                        claim="Second-order unlearning does not cost model utility (GradDiff, PO)",
                        metric="MU (harmonic mean of 9), selected configs", expected=f"MU_SO ≥ MU_FO − {MU_TOLERANCE}",
                        anchor="GradDiff MU 0.757 → 0.774; PO 0.858 → 0.864", observed="; ".join(parts) or "n/a",
                        verdict=verdict(ok_all, bad_all)))
    # C5 MIA, C6 repo FQ: both objectives must agree
    for cid, metric, label, strict in (("C5", "mia_auc_k20", "MIA robustness (Min-20% AUC, aligned labels)", False),
                                       ("C6", "log10_FQ_soulcode", "the repo's own FQ definition", True)):
        vs, parts = [], []
        for o in ("graddiff", "po"):
            d, eligible = paired_deltas(frame, selected, o, metric)
            vs.append(paired_verdict(d, eligible, strict))
            parts.append(f"{o}: {describe(d)} → {vs[-1]}")
        claims.append(Claim(id=cid, kind="claim", claim=f"SO ≥ FO under {label} (GradDiff, PO)", metric=metric,
                            expected="SO ≥ FO" if not strict else "SO > FO", anchor="P3 (qualitative)",
                            observed="; ".join(parts), verdict=combine(vs)))
    # C7 time
    main = frame[(frame["kind"] == "unlearn") & (frame["block"] == "main")]
    so_t = main.loc[main["optimizer"] == "sophia_soul", "mean_step_seconds"].median()
    fo_t = main.loc[main["optimizer"] == "adamw", "mean_step_seconds"].median()
    ratio = float(so_t / fo_t) if fo_t and fo_t == fo_t else float("nan")
    facts["time_ratio"] = ratio
    claims.append(Claim(id="C7", kind="check", note=C7_NOTE,
                        claim="Second-order unlearning costs only reasonable extra time (P4)",
                        metric="median step seconds SO / FO, main grid", expected=f"≤ {TIME_OK}",
                        anchor="'reasonable' (abstract)", observed=f"{ratio:.3g}",
                        verdict=verdict(ratio <= TIME_OK, ratio > TIME_BAD)))
    # C8 influence bridge
    steps = toy["gd_steps_to_newton"]
    gd_far = steps is None or steps >= GD_FACTOR
    claims.append(Claim(
        id="C8", kind="claim",
        claim="One Newton step on the retain loss (influence unlearning) lands near the retrained model; "
              "gradient descent needs far more steps (P6)",
        metric="‖θ − θ_r‖/‖θ_o − θ_r‖, logistic-regression toy",
        expected=f"Newton ≤ {NEWTON_OK} and GD needs ≥ {GD_FACTOR} steps to match",
        anchor="derivation (paper §4); spec toy: Newton ≈ 0.05, GD@2000 ≈ 0.05",
        observed=f"Newton {toy['rel_newton']:.3g}, diagonal {toy['rel_diag']:.3g}, GD@100 "
                 f"{toy['rel_gd'].get('100', float('nan')):.3g}, GD steps to match Newton: "
                 f"{steps if steps is not None else '>' + str(toy['gd_max_steps'])}",
        verdict=verdict(toy["rel_newton"] <= NEWTON_OK and gd_far, toy["rel_newton"] > NEWTON_OK or not gd_far)))
    # C9: does the conclusion survive reference Sophia (D1–D3 removed)?
    ref = frame[(frame["kind"] == "unlearn") & (frame["block"] == "ref_sophia")]
    if len(ref):
        sel_ref = pd.concat([selected[selected["optimizer"] == "adamw"], select_configs(frame, "ref_sophia")])
        facts["selected_ref"] = sel_ref
        vs, parts = [], []
        for o in ("graddiff", "po"):
            d, eligible = paired_deltas(frame, sel_ref, o, "log10_FQ_tofu", so="sophia_ref")
            vs.append(paired_verdict(d, eligible))
            parts.append(f"{o}: {describe(d)} → {vs[-1]}")
        claims.append(Claim(id="C9", kind="context", note=C9_NOTE,
                            claim="The SO > FO forget-quality ordering also holds with reference Sophia "
                                  "(GNB Hessian every k steps, single momentum), i.e. it does not hinge on "
                                  "SOUL's modifications", metric="log10 FQ_tofu, sophia_ref vs AdamW",
                            expected="SO_ref > FO (GradDiff, PO)", anchor="D1–D3 (spec)",
                            observed="; ".join(parts), verdict=combine(vs)))
    # C10: MIA AUC rises after unlearning
    orig_auc = float(frame.loc[frame["model"] == "original", "mia_auc_k20"].iloc[0])
    gains = []
    for _, cfg in selected.iterrows():
        gains.append(float(seed_values(frame, cfg, "mia_auc_k20").mean()) - orig_auc)
    gains_arr = np.array(gains)
    facts["mia_gain"] = gains_arr
    claims.append(Claim(id="C10", kind="context", note=C10_NOTE,
                        claim="Unlearning raises the Min-k% MIA AUC (forget items look less memorised)",
                        metric="mia_auc_k20 (members = forget, aligned labels), selected configs − original",
                        expected="> 0 for every selected (objective, optimizer)", anchor="P3 (MIA robustness)",
                        observed=f"original AUC {orig_auc:.3g}; gain {mean_sd(gains_arr)} over "
                                 f"{len(gains_arr)} configs, min {gains_arr.min() if len(gains_arr) else math.nan:.3g}",
                        verdict=verdict(bool(len(gains_arr)) and bool((gains_arr > 0).all()),
                                        bool(len(gains_arr)) and float(gains_arr.mean()) < 0)))
    return claims, facts
