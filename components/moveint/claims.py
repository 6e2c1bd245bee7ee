"""Claims C1–C6 of spec §8 with the spec's rules, plus the sanity rows; every verdict from the data.

Inputs are per-seed summaries: ``mse[model]`` = list over seeds of the mean-over-actions error,
``entropy[model]`` / ``min_usage[model]`` the expert-usage numbers, ``fitted[model]`` whether each seed's
model beat the constant predictor (mean training robot window). A rule resting on a model that did not
fit — no better than the constant predictor in some seed, or on average no better than the per-action mean
window (the S1 floor) — or on fewer than 3 seeds, is inconclusive with the reason.
"""

from __future__ import annotations

import math

import numpy as np

from components.core.claims import Claim, mean_sd, verdict

MIN_SEEDS = 3


def _majority(n: int) -> int:
    return math.ceil(2 * n / 3)  # "2 of 3 seeds"


def fit_problem(fitted: dict[str, list[bool]], *models: str) -> str | None:
    bad = [f"{m} (seed {i})" for m in models for i, ok in enumerate(fitted.get(m, [False])) if not ok]
    return f"did not fit (no better than the constant predictor): {', '.join(bad)}" if bad else None


def floor_problem(mse: dict[str, list[float]], *models: str) -> str | None:
    """A model no better than the per-action mean window (the sanity floor S1) has not learned the interaction:
    comparisons resting on it decide nothing."""
    if "mean_window" not in mse:
        return None
    floor = float(np.mean(mse["mean_window"]))
    bad = [f"{m} {np.mean(mse[m]):.3g}" for m in models if m in mse and float(np.mean(mse[m])) >= floor]
    return f"not above the mean-window floor {floor:.3g} (did not fit): {', '.join(bad)}" if bad else None


def ordering_verdict(ours: list[float], base: list[float]) -> tuple[str, str]:
    """C1/C2 rule: lower in every seed **and** mean ratio ≤ 0.95 → reproduced; baseline lower in ≥ 2 of 3
    seeds → not reproduced; else inconclusive. Returns (verdict, reason)."""
    n = len(ours)
    if n < MIN_SEEDS or len(base) != n:
        return "inconclusive", f"{n} seed(s); the rule needs {MIN_SEEDS}"
    ratio = float(np.mean(ours) / np.mean(base))
    wins = sum(o < b for o, b in zip(ours, base))
    base_wins = sum(b < o for o, b in zip(ours, base))
    v = verdict(wins == n and ratio <= 0.95, base_wins >= _majority(n))
    return v, f"ratio {ratio:.3f}, lower in {wins}/{n} seeds"


def collapse_verdict(h_reg: list[float], h_noreg: list[float], min_u: list[float]) -> tuple[str, str]:
    """C3 rule: Ĥ(k3) ≥ Ĥ(noreg) and min_k u_k(k3) ≥ 0.10 in ≥ 2 of 3 seeds; inconclusive when the
    unregularised model does not collapse either (mean Ĥ(noreg) ≥ 0.7)."""
    n = len(h_reg)
    if n < MIN_SEEDS:
        return "inconclusive", f"{n} seed(s); the rule needs {MIN_SEEDS}"
    if float(np.mean(h_noreg)) >= 0.7:
        return "inconclusive", f"no-reg model does not collapse either (mean Ĥ {np.mean(h_noreg):.2f} ≥ 0.7)"
    holds = sum(a >= b and u >= 0.10 for a, b, u in zip(h_reg, h_noreg, min_u))
    return ("reproduced" if holds >= _majority(n) else "not reproduced"), f"holds in {holds}/{n} seeds"


def _obs(mse: dict[str, list[float]], *models: str) -> str:
    return "; ".join(f"{m} {mean_sd(mse[m])}" for m in models if m in mse)


def build_claims(mse: dict[str, list[float]], entropy: dict[str, list[float]], min_usage: dict[str, list[float]],
                 fitted: dict[str, list[bool]], profile: str) -> list[Claim]:
    unit = "mean-over-actions MSE ×100 [m²] on the test split, per seed"
    rows: list[Claim] = []

    def compare(cid: str, ours: str, base: str, claim: str, kind: str = "claim", note: str = "") -> Claim:
        if ours not in mse or base not in mse:
            return Claim(id=cid, kind=kind, claim=claim, metric=unit, expected=f"{ours} < {base}", anchor="n/a",
                         observed=f"not run: {ours if ours not in mse else base} not trained in this profile",
                         verdict="inconclusive", note=note)
        v, why = ordering_verdict(mse[ours], mse[base])
        problem = fit_problem(fitted, ours, base) or floor_problem(mse, ours, base)
        if problem:
            v, why = "inconclusive", f"{why}; {problem}"
        return Claim(id=cid, kind=kind, claim=claim, metric=unit,
                     expected=f"{ours} < {base} in every seed and mean ratio ≤ 0.95",
                     anchor="per-dataset table: numbers not available", observed=f"{_obs(mse, ours, base)}; {why}",
                     verdict=v, note=note)

    rows.append(compare("C1", "moveint_k3", "mild_like_label",
                        "MoVEInt is more accurate than HMM-based MILD (baseline with the action label, as in its code)"))
    rows.append(compare("C1-nolabel", "moveint_k3", "mild_like",
                        "MoVEInt is more accurate than MILD when neither gets the action label", kind="context",
                        note="spec asks for both settings; the paper's baselines used the label, so C1 is the claim row"))
    rows.append(compare("C2", "moveint_k3", "recurrent_lstm_label",
                        "MoVEInt is more accurate than the recurrent approach (Bütepage-like LSTM with the label)"))
    rows.append(compare("C2-nolabel", "moveint_k3", "recurrent_lstm",
                        "MoVEInt is more accurate than the recurrent baseline without the action label",
                        kind="context", note="label-free setting of C2 (spec: report both)"))
    # C3
    if "moveint_k3" in entropy and "moveint_k3_noreg" in entropy:
        v, why = collapse_verdict(entropy["moveint_k3"], entropy["moveint_k3_noreg"], min_usage["moveint_k3"])
        problem = fit_problem(fitted, "moveint_k3", "moveint_k3_noreg") or \
            floor_problem(mse, "moveint_k3", "moveint_k3_noreg")
        if problem:
            v, why = "inconclusive", f"{why}; {problem}"
        obs = (f"Ĥ k3 {mean_sd(entropy['moveint_k3'])}, noreg {mean_sd(entropy['moveint_k3_noreg'])}; "
               f"min u k3 {mean_sd(min_usage['moveint_k3'])}; {why}")
    else:
        v, obs = "inconclusive", "not run: moveint_k3 and moveint_k3_noreg are both needed"
    rows.append(Claim(id="C3", kind="claim", claim="The additional regularisation prevents mode collapse of the "
                      "latent mixture", metric="normalised expert-usage entropy Ĥ; min_k u_k (test windows)",
                      expected="Ĥ(k3) ≥ Ĥ(noreg) and min u(k3) ≥ 0.10 in ≥ 2 of 3 seeds",
                      anchor="no number in the paper", observed=obs, verdict=v))
    # C4 (ablation)
    if "moveint_k3" in mse and "moveint_k1" in mse:
        ratio = float(np.mean(mse["moveint_k3"]) / np.mean(mse["moveint_k1"]))
        problem = fit_problem(fitted, "moveint_k3", "moveint_k1") or floor_problem(mse, "moveint_k3", "moveint_k1")
        v4 = "inconclusive" if problem or len(mse["moveint_k3"]) < MIN_SEEDS else \
            ("reproduced" if ratio <= 1.0 else "not reproduced")
        lower = sum(a < b for a, b in zip(mse["moveint_k3"], mse["moveint_k1"]))
        obs4 = f"{_obs(mse, 'moveint_k3', 'moveint_k1')}; ratio {ratio:.3f}, k3 lower in {lower}/{len(mse['moveint_k1'])} seeds"
        obs4 += f"; {problem}" if problem else ""
    else:
        v4, obs4 = "inconclusive", "not run: moveint_k3 and moveint_k1 are both needed"
    rows.append(Claim(id="C4", kind="context", claim="The mixture helps (K = 3 vs a single expert)",
                      metric=unit, expected="mean ratio k3/k1 ≤ 1.0 over seeds", anchor="ablation, no paper number",
                      observed=obs4, verdict=v4, note="ablation inferred by the spec, not a claim of the paper"))
    rows.append(Claim(id="C5", kind="claim", claim="Per-dataset, per-action numbers of the paper's table",
                      metric="MSE per action per dataset", expected="orderings as in the paper's table",
                      anchor="not available", verdict="inconclusive",
                      observed=f"not run: the paper's numbers are not available and the {profile} profile uses "
                               "synthetic data"))
    rows.append(Claim(id="C6", kind="claim", claim="Real-world human-to-robot handovers succeed with 4 partners",
                      metric="success rate", expected="—", anchor="not available", verdict="inconclusive",
                      observed="not run: needs a real robot and human partners"))
    # sanity rows
    learned = [m for m in ("moveint_k3", "moveint_k3_noreg", "moveint_k1", "mild_like", "mild_like_label",
                           "recurrent_lstm", "recurrent_lstm_label") if m in mse]
    if "mean_window" in mse and learned:
        floor = float(np.mean(mse["mean_window"]))
        worse = [m for m in learned if float(np.mean(mse[m])) >= floor]
        rows.append(Claim(id="S1", kind="check", claim="Every learned model beats the per-action mean window "
                          "(oracle label, same normalised time)", metric=unit, expected="mean MSE < mean_window's",
                          anchor="spec sanity row", observed=f"mean_window {floor:.4g}; "
                          + (f"not beaten by {', '.join(worse)}" if worse else "beaten by all"),
                          verdict="not reproduced" if worse else "reproduced",
                          note="sanity floor of the spec, not a claim of the paper"))
    if "knn" in mse:
        rows.append(Claim(id="S2", kind="context", claim="k-nearest-neighbour windows (k = 5), for context",
                          metric=unit, expected="—", anchor="—", observed=_obs(mse, "knn", "const_mean"),
                          verdict="inconclusive", note="reported for context only (spec §8)"))
    return rows
