"""The whyshift report: figures, claims rows (verdicts from the data), metrics.json."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.core.index import step_records
from components.core.io import read_json
from components.core.reporting import Report, write_outputs, write_plot
from components.whyshift.claims import all_claims, method_mean_ranks, region_lift, split_settings

LABEL_COLOURS = {"Y|X": "tab:red", "X": "tab:blue", "neither": "tab:gray"}


HEADLINE = ("n_configs", "mean_abs_err_yx_pp", "mean_abs_err_total_pp", "calibration_pure_x_yx_frac",
            "calibration_pure_yx_yx_frac", "mean_degradation_main_pp", "max_identity_error")


def build_report(ctx) -> None:
    import matplotlib

    matplotlib.use("Agg")
    p = ctx.params
    ev = ctx.inputs["evaluate"]
    disde = pd.read_parquet(ev / "disde.parquet")
    calibration = pd.read_parquet(ev / "calibration.parquet")
    degradation = pd.read_parquet(ev / "degradation.parquet")
    analysis = _by_setting(read_json(ev / "analysis.json"))
    results = pd.read_parquet(ctx.inputs["results"])
    regions = _by_setting(read_json(ev / "risk_regions.json"))
    min_total = p.evaluate.disde.min_total
    real = p.data.source == "real"
    claims = all_claims(analysis, disde, calibration, regions, min_total, real)
    x_settings, yx_settings = split_settings(analysis)

    rep = Report("WhyShift — distribution shifts on tabular data" + ("" if real else " (synthetic twins)"))
    data_note = ("Data are the real datasets under the configured root; there is no ground truth, so labels "
                 "come from the DISDE estimates." if real else
                 "Data are synthetic twins with closed-form densities, so every decomposition is checked "
                 "against its true value.")
    rep.text(f"Profile **{ctx.profile}**: {len(analysis)} settings, {len(results)} configurations "
             f"({int((results['status'] == 'ok').sum())} ok), {len(disde)} DISDE pairs, "
             f"{len(calibration)} calibration decompositions. {data_note} The paper reports 86,000 "
             "configurations; this project's full grid is 59,488 (profile paper).")
    rep.heading("Claims")
    rep.claims(claims)
    rep.text(_overlap_note(disde, min_total))
    rep.heading("Settings")
    rep.text(f"Settings whose main pair is X-dominated ({'DISDE estimate' if real else 'ground truth'}): "
             f"{', '.join(x_settings) or 'none'}; "
             f"Y|X-dominated: {', '.join(yx_settings) or 'none'}.")
    rep.table([{"setting": sid, "main target": a["main_target"], "configs ok": f"{a['n_ok']}/{a['n_configs']}",
                "pairs decomposed": a["n_pairs_evaluated"], "dominance (estimated)": a["dominance_est"],
                "dominance (truth)": a["dominance_true"],
                "main pair (est / true)": f"{a['main_est_label']} / {a['main_true_label']}",
                "ID–OOD r": a["r_linear"], "ID–OOD r (probit)": a["r_probit"], "R² class": a["r2_class"],
                "R² method|class": a["r2_method_given_class"], "R² hp": a["r2_hp"],
                "R² method+own knobs|class": a.get("r2_variant_given_class"), "R² base hp": a.get("r2_hp_base")}
               for sid, a in analysis.items()])
    rep.heading("Degradation against the Y|X fraction")
    rep.figure("degradation_vs_yx", _scatter(disde, calibration, min_total),
               "Each point a source→target pair: estimated Y|X fraction vs total degradation, coloured by the "
               "true dominance label; crosses are the gauss8 calibration scenarios.")
    rep.figure("disde_main_pairs", _bars(disde),
               "DISDE terms of each setting's main pair, estimated (left bar) and true (right bar).")
    rep.heading("Accuracy on the line")
    rep.figure("id_vs_ood", _id_vs_ood(results, analysis),
               "ID-test vs main-target accuracy of every configuration, per setting, coloured by family.")
    rep.heading("Method ranking")
    rep.figure("method_ranking", _ranking(analysis, x_settings, yx_settings),
               "Mean rank (1 = best) of each method's best-by-ID-val main-target accuracy, over X settings and "
               "over Y|X settings.")
    rep.heading("Risk regions (main pairs)")
    rep.text("The tree's top leaf is scored by its exact gap |P_source(Y=1|x) − P_target(Y=1|x)| from the "
             "generator, against the planted region R's: lift = (leaf − overall) / (R − overall); a lift above 1 "
             "means the algorithm found a region of larger Y|X shift than the one planted. The conditionals and "
             "the tree are cross-fitted on halves and the leaf's gap is re-estimated on the held-out half; "
             "Jaccard overlap with R is shown for reference.")
    rep.table([{"setting": s, "target": r["target"], "planted region": r["planted"], "Jaccard": r["jaccard"],
                "leaf mass": r["leaf_mass"], "estimated gap (leaf, tree rows)": r["leaf_gap"],
                "estimated gap (leaf, held-out)": r.get("leaf_gap_heldout"),
                "lift vs planted": region_lift(r) if r["planted"] and "true_gap_leaf" in r else None,
                "true gap (leaf)": r.get("true_gap_leaf"), "true gap (planted R)": r.get("true_gap_planted"),
                "true gap (all)": r.get("true_gap_all"), "rules": " and ".join(r["rules"])}
               for s, r in regions.items()])
    rep.heading("Calibration scenarios (gauss8)")
    cal = calibration.groupby("scenario")[["est_total", "true_total", "est_yx", "true_yx", "est_yx_frac"]].mean()
    rep.table(cal.reset_index().to_dict("records"))
    rep.heading("Best configuration by ID validation accuracy")
    rep.table([{"setting": sid, "method": m, "family": b["family"], "ID-val acc": b["id_val_acc"],
                "main-target acc": b["ood_acc_main"], "oracle main-target acc": a["oracle"].get(m),
                "hyper-parameters": b["hp_json"]}
               for sid, a in analysis.items() for m, b in a["best_by_id_val"].items()])

    records = step_records(ctx.paths.data)
    metrics = {
        "n_configs": len(results), "n_error": int((results["status"] != "ok").sum()),
        "n_disde_pairs": len(disde), "max_identity_error": float(disde["identity_error"].max()),
        "mean_abs_err_yx_pp": 100 * float(disde["abs_err_yx"].mean()),
        "mean_abs_err_total_pp": 100 * float(disde["abs_err_total"].mean()),
        "calibration_pure_x_yx_frac": float(calibration.query("scenario == 'pure_x'")["est_yx_frac"].mean()),
        "calibration_pure_yx_yx_frac": float(calibration.query("scenario == 'pure_yx'")["est_yx_frac"].mean()),
        "mean_degradation_main_pp": 100 * float(degradation.query("is_main")["degradation"].mean()),
        **{f"seconds_{k}": float(v["seconds"]) for k, v in records.items() if k != "report"},
    }
    metrics = {k: v for k, v in metrics.items() if np.isfinite(v)}
    rep.heading("Run")
    rep.text("Step runtimes (s): " + ", ".join(
        f"{k} {v['seconds']:.1f} ({v['profile']}" + (f", {v['reused']} results reused from shards" if v.get("reused")
                                                     else "") + ")" for k, v in records.items()))
    ok = results[results["status"] == "ok"]
    write_plot(ctx, "id_vs_ood", ok[["setting_id", "family", "method", "id_test_acc", "ood_acc_main"]]
               .sort_values(["setting_id", "id_test_acc"]).to_dict("records"))
    claims = write_outputs(ctx, rep, claims, metrics, headline=[k for k in HEADLINE if k in metrics])


def _by_setting(d: dict) -> dict:
    """JSON keys are strings: order settings numerically (1, 5, 10, ...), not as text."""
    return dict(sorted(d.items(), key=lambda kv: int(kv[0])))


def _overlap_note(disde: pd.DataFrame, min_total: float) -> str:
    """Where estimated labels go wrong: low overlap (few effective points under S) and labels near the cut."""
    if disde["true_total"].isna().all():
        return "Real data have no ground truth, so the agreement of estimated and true labels is not measured."
    big = disde[disde["true_total"] > min_total]
    if big.empty:
        return "No pair degrades by more than the threshold, so label agreement is not measured."
    ess = np.minimum(big["ess_p"], big["ess_q"])
    near = (big["true_yx_frac"] - 0.5).abs() < 0.15
    groups = (("good overlap (Kish ESS of the weights ≥ 100)", ess >= 100),
              ("poor overlap (ESS < 100)", ess < 100),
              ("true Y|X fraction within 0.15 of the 0.5 cut", near),
              ("good overlap and away from the cut", (ess >= 100) & ~near))
    parts = []
    for name, mask in groups:
        sub = big[mask]
        if len(sub):
            agree = (sub["est_label"] == sub["true_label"]).mean()
            err = 100 * (sub["est_yx"] - sub["true_yx"]).abs().mean()
            parts.append(f"{name}: agreement {agree:.2f} over {len(sub)} pairs, mean |yx error| {err:.1f} pp")
    return ("Label agreement by subgroup of the pairs above the threshold (DISDE's Y|X term is measured on "
            "the shared distribution S, so it needs points that P and Q share): " + "; ".join(parts) + ".")


def _scatter(disde: pd.DataFrame, calibration: pd.DataFrame, min_total: float):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, colour in LABEL_COLOURS.items():
        part = disde[disde["true_label"] == label]
        ax.scatter(np.clip(part["est_yx_frac"], -0.5, 1.5), 100 * part["est_total"], s=18, c=colour,
                   alpha=0.7, label=f"pairs, true {label}")
    ax.scatter(np.clip(calibration["est_yx_frac"], -0.5, 1.5), 100 * calibration["est_total"], marker="x",
               c="black", label="gauss8 calibration")
    ax.axhline(100 * min_total, ls="--", c="gray", lw=0.8)
    ax.axvline(0.5, ls=":", c="gray", lw=0.8)
    ax.set_xlabel("estimated Y|X fraction of the degradation (clipped to [-0.5, 1.5])")
    ax.set_ylabel("total degradation (pp)")
    ax.legend(fontsize=8)
    return fig


def _bars(disde: pd.DataFrame):
    import matplotlib.pyplot as plt

    main = disde[disde["is_main"]].sort_values("setting_id")
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(main))
    for offset, prefix in ((-0.2, "est"), (0.2, "true")):
        bottom_pos, bottom_neg = np.zeros(len(main)), np.zeros(len(main))
        for term, colour in (("x_p2s", "tab:blue"), ("yx", "tab:red"), ("x_s2q", "tab:cyan")):
            vals = 100 * main[f"{prefix}_{term}"].to_numpy()
            base = np.where(vals >= 0, bottom_pos, bottom_neg)
            ax.bar(x + offset, vals, 0.38, bottom=base, color=colour, alpha=1.0 if prefix == "est" else 0.55,
                   label=f"{term}" if prefix == "est" else None)
            bottom_pos += np.where(vals >= 0, vals, 0)
            bottom_neg += np.where(vals < 0, vals, 0)
    ax.set_xticks(x, [f"#{s}→{t}" for s, t in zip(main["setting_id"], main["target"])], fontsize=8)
    ax.set_ylabel("pp of accuracy")
    ax.axhline(0, c="black", lw=0.6)
    ax.legend(fontsize=8)
    return fig


def _id_vs_ood(results: pd.DataFrame, analysis: dict):
    import matplotlib.pyplot as plt

    ok = results[results["status"] == "ok"]
    settings = list(analysis)
    cols = min(4, len(settings))
    rows = -(-len(settings) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3 * rows), squeeze=False)
    families = sorted(ok["family"].unique())
    colours = dict(zip(families, plt.cm.tab10.colors))
    for ax, sid in zip(axes.flat, settings):
        part = ok[ok["setting_id"] == int(sid)]
        for fam, g in part.groupby("family"):
            ax.scatter(g["id_test_acc"], g["ood_acc_main"], s=10, color=colours[fam], label=fam, alpha=0.7)
        a = analysis[sid]
        ax.set_title(f"#{sid} → {a['main_target']} ({a['main_true_label']}), r={a['r_linear']:.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(settings):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.supxlabel("ID-test accuracy", fontsize=8)
    fig.supylabel("main-target accuracy", fontsize=8)
    return fig


def _ranking(analysis: dict, x: list[str], yx: list[str]):
    import matplotlib.pyplot as plt

    ranks = pd.DataFrame({"X settings": method_mean_ranks(analysis, x),
                          "Y|X settings": method_mean_ranks(analysis, yx)})
    ranks = ranks.sort_values(ranks.columns[0] if ranks[ranks.columns[0]].notna().any() else ranks.columns[1])
    fig, ax = plt.subplots(figsize=(7, max(3, 0.25 * len(ranks))))
    y = np.arange(len(ranks))
    ax.barh(y - 0.2, ranks["X settings"].fillna(0), 0.4, label=f"X settings ({len(x)})")
    ax.barh(y + 0.2, ranks["Y|X settings"].fillna(0), 0.4, label=f"Y|X settings ({len(yx)})")
    ax.set_yticks(y, ranks.index, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("mean rank (1 = best)")
    ax.legend(fontsize=8)
    return fig
