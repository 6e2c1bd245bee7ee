"""The report step: claims, tables and figures (error vs time, energy drift, zero-shot vs size) from
``evaluate/summary.csv`` and the per-step series; writes report.md/html, claims.json, metrics.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from components.core.index import step_records
from components.core.io import read_json
from components.core.reporting import Report, write_outputs, write_plot
from components.physics_gnn.claims import build_claims
from components.physics_gnn.data import train_size

METRICS = ("rollout_err", "energy_err", "momentum_err", "momentum_total_err")
# the few numbers the default claims rest on (≤ 11, those present in the profile's metrics)
HEADLINE = ("n_fit", "n_runs", "pendulum.CGNODE.N3.rollout_err", "pendulum.GNODE.N3.rollout_err",
            "spring.LGNN.N5.energy_err", "spring.HGNN.N5.energy_err", "spring.HGN.N5.rollout_err",
            "spring.FGNN.N5.energy_err", "spring.LGNN.N50.rollout_err", "spring.static.N50.rollout_err",
            "spring.HGNN.N5.momentum_err")
BASELINE_STYLE = {"oracle": dict(color="k", ls="--"), "static": dict(color="0.6", ls=":")}


def gmean(values) -> float:
    vals = np.asarray(values, dtype=float)
    vals = vals[np.isfinite(vals)]
    return float(np.exp(np.log(np.maximum(vals, 1e-300)).mean())) if len(vals) else float("nan")


def seed_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (system, model, N): seed geometric mean and min–max of every primary scalar."""
    rows = []
    for (system, model, n), g in summary.groupby(["system", "model", "N"], sort=False):
        row = {"system": system, "model": model, "N": int(n), "seeds": len(g)}
        for m in METRICS + ("constraint_violation",):
            if m in g and g[m].notna().any():
                row[m] = gmean(g[m])
                row[f"{m}_min"], row[f"{m}_max"] = float(g[m].min()), float(g[m].max())
        row["diverged"] = int(g["n_diverged"].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def load_series(ev: Path, system: str, model: str, seeds: list[int], n: int) -> pd.DataFrame | None:
    """Per-step GM series, geometric mean over seeds."""
    frames = [pd.read_csv(ev / system / f"{model}_seed{s}_N{n}_series.csv") for s in seeds
              if (ev / system / f"{model}_seed{s}_N{n}_series.csv").exists()]
    if not frames:
        return None
    out = frames[0][["t"]].copy()
    for col in frames[0].columns:
        if col != "t":
            out[col] = np.exp(np.mean([np.log(np.maximum(f[col].to_numpy(), 1e-300)) for f in frames], 0))
    return out


def fit_rows(runs: pd.DataFrame) -> list[dict]:
    """Per (system, model): seeds meeting the fit criterion, validation nMSE per seed, steps used."""
    rows = []
    for (system, model), g in runs.groupby(["system", "model"], sort=False):
        g = g.sort_values("seed")
        rows.append({"system": system, "model": model, "seeds_fit": f"{int(g['fit'].sum())}/{len(g)}",
                     "val_nmse_per_seed": ", ".join(f"{v:.3g}" for v in g["val_nmse"]),
                     "steps_per_seed": ", ".join(str(int(v)) for v in g["steps"]),
                     "step_cap": int(g["max_steps"].max()), "nan_steps": int(g["nan_steps"].sum()),
                     "seconds_per_run": float(g["train_seconds"].mean())})
    return rows


def _curves(ev, summary, systems, train_ns, metric, title):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(systems), figsize=(5.5 * len(systems), 4), squeeze=False)
    for ax, system in zip(axes[0], systems):
        sub = summary[(summary["system"] == system) & (summary["N"] == train_ns[system])]
        for model in sub["model"].unique():
            seeds = sorted(sub[sub["model"] == model]["seed"].unique())
            s = load_series(ev, system, model, seeds, train_ns[system])
            if s is None or f"{metric}_gm" not in s:
                continue
            style = BASELINE_STYLE.get(model, {})
            ax.plot(s["t"], s[f"{metric}_gm"], label=model, **style)
        ax.set_yscale("log")
        ax.set_xlabel("time")
        ax.set_ylabel(f"{title} (geometric mean over trajectories)")
        ax.set_title(f"{system} (N={train_ns[system]})")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _zero_shot(table, systems):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(systems), figsize=(5.5 * len(systems), 4), squeeze=False)
    for ax, system in zip(axes[0], systems):
        sub = table[table["system"] == system].sort_values("N")
        for model, g in sub.groupby("model", sort=False):
            if model in BASELINE_STYLE:
                continue
            err = [g["rollout_err"] - g["rollout_err_min"], g["rollout_err_max"] - g["rollout_err"]]
            ax.errorbar(g["N"], g["rollout_err"], yerr=err, marker="o", capsize=3, label=model)
        ax.set_yscale("log")
        ax.set_xscale("log")
        ax.set_xlabel("system size N")
        ax.set_ylabel("rollout error (primary scalar; bars: seed min–max)")
        ax.set_title(system)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def compute_text(runs: pd.DataFrame, summary: pd.DataFrame) -> str:
    """Where the workers' CPU went (process time inside each training run and rollout job; imports and
    orchestration excluded) — the budget is CPU on 2 shared cores, wall time depends on the load."""
    parts = []
    if "cpu_seconds" in runs:
        per = runs.groupby("model", sort=False)["cpu_seconds"].sum()
        parts.append(f"training {runs['cpu_seconds'].sum():.0f} ("
                     + ", ".join(f"{m} {v:.0f}" for m, v in per.items()) + ")")
    if "rollout_cpu_seconds" in summary:
        jobs = summary.drop_duplicates(["system", "model", "seed"])
        per = jobs.groupby("model", sort=False)["rollout_cpu_seconds"].sum()
        parts.append(f"rollouts {jobs['rollout_cpu_seconds'].sum():.0f} ("
                     + ", ".join(f"{m} {v:.0f}" for m, v in per.items()) + ")")
    return ("Worker CPU seconds (inside the runs, all seeds and systems; imports and orchestration not included): "
            + "; ".join(parts) + ".") if parts else ""


def _init_text(init: str) -> str:
    if init == "lecun":
        return ("weights initialised N(0, 1/fan_in) with zero biases (code: N(0, 1) weights and biases) — measured "
                "on the default data with PyTorch's default init, the deep compositions of narrow MLPs start at "
                "validation nMSE ≈ 1.0 for 100–500 steps and spring GNODE (width 16) fit in 0 of 3 seeds (0.16–0.43) within "
                "1,000 steps, 3 of 3 at steps 150–375 with this init; the code's N(0, 1) init stalled at 0.90; ")
    return {"normal": "the code's N(0, 1) initialisation; ", "torch": "PyTorch's default initialisation; "}[init]


def _gnode_text(gnode: dict) -> str:
    """The graph NODEs' architecture per system, when the profile changes the code's (README: why)."""
    if not gnode:
        return ""
    parts = []
    for system, arch in gnode.items():
        bits = [f"width {arch.hidden}" if arch.hidden else None,
                f"{arch.mpass} message-passing steps" if arch.mpass != 1 else None,
                "node state (r_i, v_i) in the message passing" if arch.node_state else None,
                f"edge inputs {'+'.join(arch.edge_features)}" if arch.edge_features else None]
        parts.append(f"{system} " + ", ".join(b for b in bits if b))
    return ("GNODE/CGNODE architecture (code: width 5, one message-passing step, distance or displacement edges): "
            + "; ".join(parts) + " — the code's own knobs (mpass, hidden, its GNODE variant's position–velocity node "
            "embedding); measured reasons in components/physics_gnn/README.md. ")


def build_report(ctx) -> None:
    import matplotlib

    matplotlib.use("Agg")
    p = ctx.params
    ev = ctx.inputs["rollouts"]
    summary = pd.read_csv(ctx.inputs["summary"])
    runs = pd.DataFrame(read_json(ctx.inputs["runs"]))
    systems = [s for s in p.systems if s in set(summary["system"])]
    train_ns = {s: train_size(p, s) for s in systems}
    table = seed_table(summary)
    claims = build_claims(summary, train_ns.get("spring", 5), train_ns.get("pendulum", 3),
                          [n for n in p.spring.zero_shot_N if n != train_ns.get("spring")], runs, p.train.fit_nmse)

    rep = Report("Physics-informed GNNs for dynamical systems (Thangamuthu et al., NeurIPS 2022 D&B)")
    unfit = runs[~runs["fit"].astype(bool)]
    rep.text(f"Profile **{ctx.profile}**: systems {', '.join(systems)}; {len(runs)} training runs "
             f"({len(set(runs['model']))} models × seeds {list(p.train.seeds)}), batch {p.train.batch_size}, Adam "
             f"{p.train.lr}, float64. **Fit criterion (pre-registered, the same for every model):** validation "
             f"MSE of every target block ≤ {p.train.fit_nmse:g} × its variance (R² ≥ {1 - p.train.fit_nmse:g}), "
             f"checked every {p.train.check_every} steps; each run trains until it holds or until the step cap "
             f"of {p.train.epochs} epochs (no wall-clock limit); loss on standardised targets, "
             f"{p.train.lr_schedule} learning-rate schedule. A claim resting on a model that fits in fewer "
             "than 2/3 of its seeds is inconclusive and names it. Runs that did not fit: "
             + (", ".join(f"{r.system}/{r.model}/seed{r.seed}" for r in unfit.itertuples()) or "none") + ". "
             "Rollouts start from fresh initial conditions (never from the training pool); errors are geometric "
             "means over trajectories and time steps (spec §6), reported as the geometric mean over seeds with "
             "the seed min–max; `static` is the no-motion rollout (q̂_t = q_0), `oracle` the true field.")
    rep.heading("Claims")
    rep.claims(claims)
    rep.text("Verdict rule: a ratio condition must hold in at least 2/3 of the seeds and on the seed geometric "
             "mean; 'not reproduced' means the expected direction is reversed on the seed mean; anything "
             "else is inconclusive. Models not trained in this profile give 'not run' rows; select them with "
             "`physics_gnn.<system>.models`.")
    rep.heading("Fit per model")
    rep.table(fit_rows(runs))
    rep.heading("Rollout error over time")
    rep.figure("rollout_error_vs_time", _curves(ev, summary, systems, train_ns, "rollout", "rollout error"),
               "Relative rollout error per stored step at the training size, per model (log scale); "
               "dashed: the oracle (true field, same integrator).")
    rep.heading("Energy drift")
    rep.figure("energy_error_vs_time", _curves(ev, summary, systems, train_ns, "energy", "energy error"),
               "Relative error of the true Hamiltonian on the predicted trajectory per step (log scale).")
    if "spring" in systems:
        rep.figure("momentum_error_vs_time", _curves(ev, summary, ["spring"], train_ns, "momentum",
                                                     "momentum error"),
                   "Relative error of the particles' momenta m·v_i per step (spring; the paper's relative form).")
    rep.heading("Zero-shot generalisation to larger systems")
    rep.figure("zero_shot_vs_size", _zero_shot(table, systems),
               "Primary rollout error against the system size; the leftmost point is the training size.")
    rep.heading("Errors per model, system and size")
    cols = ["system", "model", "N", "seeds", "rollout_err", "energy_err", "momentum_err", "momentum_total_err",
            "constraint_violation", "diverged"]
    rep.table(table[[c for c in cols if c in table]].to_dict("records"))
    rep.heading("Training")
    tr = runs.groupby(["system", "model"], sort=False).agg(
        seeds=("seed", "count"), seeds_fit=("fit", "sum"), steps_mean=("steps", "mean"),
        val_nmse=("val_nmse", gmean), val_mse=("val_mse", gmean), nan_steps=("nan_steps", "sum"),
        seconds_per_run=("train_seconds", "mean"),
        **({"cpu_seconds_per_run": ("cpu_seconds", "mean")} if "cpu_seconds" in runs else {})).reset_index()
    rep.table(tr.to_dict("records"))
    rep.heading("Deviations from the paper")
    rep.text(f"Same step cap for every model ({p.train.epochs} epochs on {p.spring.n_train_traj}/"
             f"{p.pendulum.n_train_traj} training trajectories, batch {p.train.batch_size}, Adam lr {p.train.lr}, "
             f"{p.train.lr_schedule} schedule), stopped early at the fit criterion; the code uses 10,000 epochs at "
             "a constant lr 1e-3, infeasible on 2 cores. "
             + ("Targets standardised (issue 14): the loss is each target block's MSE over its training variance "
                "and the model's outputs carry the block's standard deviation as a fixed scale (V for L; T and V "
                "for decoupled H; the force of NODE models; the deltas of FGNN; one scale for a coupled H; none "
                "for a coupled L, whose q̈ does not change with the scale of L) — measured on spring LGNN, seed 0: "
                "validation nMSE 1.02 after 300 steps on raw targets vs 0.010 with them; the top 1 % of the "
                "samples carry 42–44 % of the acceleration variance (stretched springs, fast pendulum links). "
                if p.train.standardise_targets else "Raw targets, plain MSE (the code's loss). ")
             + "The kept weights are the fit check with the lowest validation error (the code keeps the lowest "
             "training loss). Rollouts of learned models at a coarser dt than the ground truth (the oracle row "
             "measures that floor); pendulum ground truth in angle coordinates (RK4), constraints exact to "
             "round-off; learned masses of the pendulum NODE models kept positive (SquarePlus); spring GNODE "
             "reads its acceleration off ff2 directly (unit mass), as the code; "
             + _init_text(p.model.init) + _gnode_text(p.model.gnode) +
             "Momentum error: relative on the per-particle momenta (the "
             "relative error of the zero total momentum is degenerate), the absolute total kept as a check; the 3D "
             "deformable solid (external Julia data, not generated offline) is not run. Models, systems and "
             "baselines beyond this profile's lists (all 13 models, 4-body gravity, the non-graph NODE/HNN/LNN of "
             "Fig. 1) run in the `full` profile (components/physics_gnn/README.md). "
             f"This profile: spring models {list(p.spring.models)} with zero-shot N {list(p.spring.zero_shot_N)}, "
             f"pendulum models {list(p.pendulum.models)} with zero-shot N {list(p.pendulum.zero_shot_N)}; "
             f"learned-model rollout dt {p.spring.rollout_dt:g} (spring) / {p.pendulum.rollout_dt:g} (pendulum). "
             "The spec's default also trains pendulum LGNN and CLGNN (P1a), zero-shot spring N = 20 and pendulum "
             "N = 4, 5, 10 at rollout dt 0.01 / 0.005: in `default` they are moved to `full` to keep the 5-minute "
             "budget (measured: the spec's default lists took 17.6 min at load 9–14 with a 500-step cap).")
    records = step_records(ctx.paths.data)
    if records:
        rep.text("Step runtimes (s): " + ", ".join(f"{k} {v['seconds']:.1f}" for k, v in records.items()))
    compute = compute_text(runs, summary)
    if compute:
        rep.text(compute)

    metrics = {}
    for row in table.itertuples():
        for m in METRICS + ("constraint_violation",):
            val = getattr(row, m, float("nan"))
            if isinstance(val, float) and np.isfinite(val):
                metrics[f"{row.system}.{row.model}.N{row.N}.{m}"] = val
    metrics["n_runs"] = float(len(runs))
    metrics["n_fit"] = float(runs["fit"].sum())
    write_plot(ctx, "rollout_error_vs_size", table[["system", "model", "N", "rollout_err"]]
               .sort_values(["system", "model", "N"]).to_dict("records"))
    claims = write_outputs(ctx, rep, claims, metrics, headline=[k for k in HEADLINE if k in metrics])
