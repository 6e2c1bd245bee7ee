"""The mi_generalization report: claims table, information-plane curves, bounds vs the observed gap, the sweep."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from components.core.claims import Claim
from components.core.io import read_json
from components.core.reporting import Report, write_outputs, write_plot

CLAIM_KEYS = ("id", "kind", "claim", "metric", "expected", "anchor", "observed", "verdict", "note")
LAYERS = (("t1", "T1"), ("t2", "T2"), ("yhat", "Ŷ"))

DEVIATIONS = [
    "**Test set**: the primary gap uses a fresh i.i.d. test set (new base images and noise); the official code's "
    "re-noised training images (noise variance 2·var, training noise shared) give `gap_code`, reported beside it.",
    "**Train error**: computed once on all training samples after the last update (the code updated its train "
    "metrics twice with the J^c batch).",
    "**Data per run**: both simulators of a run share one generated set (the code drew one per simulator); J, U "
    "and the shuffle are drawn per simulator.",
    "**Curves of E2/E3**: MI and test metrics every `e2.eval_every` epochs (and after the last update), not every "
    "epoch — measured: per-epoch Gibbs MI on three layers was ~25 % of a simulator step; the bound accumulators are "
    "per step as in the code.",
    "**Bound form**: B_XR = √(2σ²·Î·ln2/n) with Î = I(X̄;T1) + I(Y;Ŷ) and σ = ½ (0-1 loss) is the spec's "
    "[inferred] reconstruction; the paper's exact bound was not available.",
    "**E3 sweep**: the noise variance of E2 reuses all E2 incoherence runs; the other variances have `e3.runs` each.",
    "**E1 repeats**: 40, not the spec's 5. Measured: ≈ 1 CPU-s a repeat (single thread); the final I(X;T1) is a "
    "mixture (≈ 2.00 bits, or ≈ 1.5/1.0 when prototypes share a code; SD ≈ 0.28 over 120 repeats), so 5 repeats "
    "give a 95 % t-CI of ± 0.35 and 40 give ± 0.09 (the ≲ 0.1 asked for, at ≈ 40 CPU-s).",
    "**E4 (default)**: scikit-learn's digits (64→96→32→10) stands in for MNIST/Fashion-MNIST, so M5 is reported, "
    "not judged.",
]


HEADLINE = ("networks", *(f"e2.{kind}.{col}" for kind in ("incoherence", "cmi") for col in ("bound_mean", "b_xr_mean",
                                                                                               "gap_01_mean", "ratio")),
            "e1.i_xt_t1_mean", "e1.i_yt_yhat_mean")  # bounds vs the observed gap (M1–M3), E1's MI (M4–M5)


def build_report(ctx) -> None:
    import matplotlib

    matplotlib.use("Agg")
    summary = read_json(ctx.inputs["summary"])
    table = pd.read_csv(ctx.inputs["runs"])
    models = ctx.inputs["models"]
    claims = [Claim(**{k: c[k] for k in CLAIM_KEYS}) for c in summary["claims"]]
    rep = Report("A probabilistic representation of DNNs: MI estimates and generalisation bounds (Lan & Barner 2021)")
    rep.text(f"Profile **{ctx.profile}**, seed {ctx.params.seed}. Networks trained: {len(table)}. Verdicts are "
             "decided from the data by the rules in `components/mi_generalization/claims.py` (spec §8). "
             "MI values are in bits, from the Gibbs representation P(F=k|x) = softmax_k(f(x)) of each layer, "
             "computed inside the training loop on the training inputs; 'epoch e' means the weights after e "
             "updates (the companion code measured before each epoch's update).")
    rep.heading("Claims")
    rep.claims(claims)
    for c in summary["claims"]:
        if c.get("explain"):
            rep.text(f"**{c['id']} ({c['verdict']})**: {c['explain']}.")
    e2 = table[table.exp == "e2"] if len(table) else table
    if len(e2):
        _bound_sections(rep, e2, summary)
    e1 = table[table.exp == "e1"] if len(table) else table
    if len(e1):
        rep.heading("E1 — prototype set: information-plane curves")
        curves = [pd.read_csv(models / f"{t}_curves.csv") for t in e1.tag]
        rep.figure("e1_mi_curves", _mi_curves(curves, 2.0, 1.0),
                   "Gibbs MI per layer over epochs (mean over repeats, band = min–max): I(X;T_l), I(Y;T_l), I(X̄;T_l) "
                   "with the reference lines H(X) = 2 bits and H(Y) = 1 bit.")
        rep.table(e1[["tag", "train_acc", "test_acc", "i_xt_t1", "i_yt_t1", "i_xt_t2", "i_yt_yhat", "i_xbar_t_t1",
                      "epoch_acc1"]].to_dict("records"))
    e4 = table[table.exp == "e4"] if len(table) else table
    if len(e4):
        rep.heading("E4 — benchmark")
        curves = [pd.read_csv(models / f"{t}_curves.csv") for t in e4.tag]
        rep.figure("e4_mi_curves", _mi_curves(curves, None, math.log2(10)),
                   "E4: Gibbs MI per layer over epochs (mean over repeats); the dashed line is H(Y) = log2 10.")
        rep.table(e4[["tag", "train_acc", "test_acc", "i_xt_t1", "i_yt_yhat", "i_xbar_t_t1"]].to_dict("records"))
    e5 = table[table.exp == "e5"] if len(table) else table
    if len(e5):
        _e5_section(rep, e5, models)
    rep.heading("Estimators on distributions with known MI")
    rep.table([{k: r[k] for k in ("case", "expected", "observed", "abs_err", "ok")} for r in summary["estimator_checks"]],
              floatfmt=".6g")
    rep.heading("Deviations from the spec")
    for text in DEVIATIONS:
        rep.text(text)
    metrics = {k: v for k, v in summary["aggregates"].items() if isinstance(v, (int, float)) and math.isfinite(v)}
    metrics["networks"] = float(len(table))
    e2_runs = e2[["tag", "kind", "var", "optimizer", "run", "gap_01", "b_xr", "bound"]] if len(e2) else pd.DataFrame(
        [{"tag": "none", "gap_01": float("nan"), "b_xr": float("nan")}])
    write_plot(ctx, "bound_vs_gap", e2_runs.to_dict("records"))
    claims = write_outputs(ctx, rep, claims, metrics, headline=[k for k in HEADLINE if k in metrics])


def _bound_sections(rep: Report, e2: pd.DataFrame, summary: dict) -> None:
    import matplotlib.pyplot as plt

    rep.heading("E2 — bounds against the observed gap")
    var0, opt0 = summary["var"], summary["optimizer"]
    main = e2[(e2["var"] == var0) & (e2.optimizer == opt0)]
    rows = []
    for kind, g in main.groupby("kind"):
        rows.append({"simulator": kind, "runs": len(g), "B_sim": g["bound"].mean(), "B_XR": g["b_xr"].mean(),
                     "ratio B_XR/B_sim": g["b_xr"].mean() / g["bound"].mean(), "Î (bits)": g["i_hat"].mean(),
                     "gap_01 (iid)": g["gap_01"].mean(), "gap_code": g["gap_code"].mean(), "gap_CE": g["gap_ce"].mean(),
                     "train acc": g["train_acc"].mean(), "iid test err": g["err_iid"].mean()})
    rep.table(rows)
    fig, ax = plt.subplots(figsize=(8, 4))
    labels, means, errs = [], [], []
    for kind, g in main.groupby("kind"):
        labels += [f"B_{'inc' if kind == 'incoherence' else 'cmi'}", f"B_XR ({kind[:3]} net)", f"gap_01 ({kind[:3]} net)"]
        for col in ("bound", "b_xr", "gap_01"):
            means.append(g[col].mean())
            errs.append(g[col].std(ddof=1) / math.sqrt(len(g)) if len(g) > 1 else 0.0)
    ax.bar(range(len(labels)), means, yerr=errs, color=["#888", "#3a7", "#c44"] * (len(labels) // 3), capsize=3)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("fraction (0-1 loss scale)")
    ax.set_title(f"E2 (var {var0:g}, {opt0}): bounds vs observed gap (mean ± s.e. over runs)")
    rep.figure("bounds_vs_gap", fig, "Mean SGLD bounds, the Xu–Raginsky plug-in value B_XR and the observed 0-1 gap "
               "on the i.i.d. test set, per simulator network (error bars: standard error over runs).")
    fig, ax = plt.subplots(figsize=(7, 4))
    for kind, marker in (("incoherence", "o"), ("cmi", "s")):
        g = main[main.kind == kind].sort_values("run")
        if len(g):
            ax.scatter(g["run"], g["gap_01"], marker=marker, color="#c44", label=f"gap_01 ({kind})")
            ax.scatter(g["run"], g["b_xr"], marker=marker, facecolor="none", edgecolor="#3a7", label=f"B_XR ({kind})")
    ax.set_xlabel("run")
    ax.set_ylabel("value")
    ax.legend(fontsize=7)
    rep.figure("bound_vs_gap_per_run", fig, "B_XR against the observed gap per run and network (single runs are noisy; "
               "the claims compare means over runs).")
    sweep = e2[(e2.kind == "incoherence") & (e2.optimizer == opt0)]
    if sweep["var"].nunique() > 1:
        fig, ax = plt.subplots(figsize=(6, 4))
        for v, g in sweep.groupby("var"):
            ax.scatter(g["i_hat"], g["gap_01"], label=f"var {v:g}")
        ax.set_xlabel("Î = I(X̄;T1) + I(Y;Ŷ) (bits)")
        ax.set_ylabel("gap_01 (i.i.d. test)")
        ax.legend()
        rep.figure("sweep_ihat_vs_gap", fig, "E3: Î against the observed gap across input-noise variances (M4).")
        rep.table([{"var": v, "networks": len(g), "Î": g["i_hat"].mean(), "I(X̄;T1)": g["i_xbar_t_t1"].mean(),
                    "gap_01": g["gap_01"].mean(), "B_inc": g["bound"].mean(), "B_XR": g["b_xr"].mean()}
                   for v, g in sweep.groupby("var")])
    alt = e2[(e2["var"] == var0) & (e2.optimizer != opt0)]
    if len(alt):
        rep.text("Other optimizers (context rows M1-/M2- in the claims table): " + "; ".join(
            f"{o}/{k}: B_sim {g['bound'].mean():.4f}, B_XR {g['b_xr'].mean():.4f}, gap {g['gap_01'].mean():.4f}"
            for (o, k), g in alt.groupby(["optimizer", "kind"])))


def _mi_curves(curves: list[pd.DataFrame], h_x: float | None, h_y: float):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
    for ax, (layer, label) in zip(axes, LAYERS):
        for q, name, color in (("i_xt", "I(X;{})", "#246"), ("i_yt", "I(Y;{})", "#c44"), ("i_xbar_t", "I(X̄;{})", "#3a7")):
            col = f"{q}_{layer}"
            if col not in curves[0]:
                continue
            stack = np.stack([c[col].to_numpy(float) for c in curves])
            ep = curves[0]["epoch"].to_numpy()
            ax.plot(ep, stack.mean(0), color=color, label=name.format(label))
            ax.fill_between(ep, stack.min(0), stack.max(0), color=color, alpha=0.15)
        if h_x is not None:
            ax.axhline(h_x, ls="--", color="#246", lw=0.8)
        ax.axhline(h_y, ls="--", color="#c44", lw=0.8)
        ax.set_title(label)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("bits")
    return fig


def _e5_section(rep: Report, e5: pd.DataFrame, models) -> None:
    rep.heading("E5 — Gibbs estimator against binning and KDE (context)")
    rows = []
    for tag, kind in zip(e5.tag, e5.kind):
        last = pd.read_csv(models / f"{tag}_curves.csv").iloc[-1]
        row = {"network": tag, "activation": kind}
        for col in last.index:
            if col.endswith("_t1") and ("i_xt" in col or "i_yt" in col):
                row[col] = float(last[col])
        rows.append(row)
    rep.text("Final-epoch estimates of layer T1 (bits). Binning and KDE depend on their bin size / noise variance; "
             "the Gibbs estimator on the activation scale. None of these rows is a claim of the paper.")
    rep.table(rows)
