"""The report: claims table, per-action errors, significance, expert usage, figures, deviations."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from components.core.claims import mean_sd
from components.core.io import read_json
from components.core.reporting import Report, write_outputs, write_plot

ORDER = ("moveint_k3", "moveint_k3_noreg", "moveint_k1", "mild_like_label", "mild_like", "recurrent_lstm_label",
         "recurrent_lstm", "knn", "mean_window", "const_mean")
LEARNED = ORDER[:7]

DEVIATIONS = [
    "MILD-like latent HMM: hmmlearn's GaussianHMM (full covariance, k-means init) with the covariance "
    "regulariser as a fixed ridge cov_reg·I after every M-step (hmmlearn's MAP prior would divide it by the "
    "state occupancy); GMR uses the filtered (causal) state weights.",
    "MILD `variant: full` (VAE trained with KL to the HMM state) is not implemented; `simple` only.",
    "Synthetic data only in smoke/default; the paper profile wires the Bütepage and NuiSI HHI files "
    "(Pepper, YuMi and handover layouts are not implemented).",
    "The generator seed is derived from `moveint.seed` (no separate data seed), so a new seed block also "
    "draws new demos.",
    "Coupled actions (handshake, fist bumps) run their interaction motion on the human's clock for both agents "
    "(the spec's 'same phase for both'); the robot's reach and retreat are lagged.",
    "Label-free MILD: the four per-action HMMs are joined block-diagonally (start spread over actions), so the "
    "forward variable infers the action from the human motion.",
]


def profile_deviations(p) -> list[str]:
    """Deviations that depend on this run's params (each with its measured reason; see the README)."""
    out = []
    if not p.model.leaky_output:
        out.append("`leaky_output: false`: the code's LeakyReLU on the decoder output, the means and the experts' "
                   "log-std is off. Measured at this budget (~500 steps, seed 0): with it moveint_k3 reached 0.43 "
                   "(mean-window floor 0.21) — 42 % of the targets are negative and σ_h could not drop below ~0.6; "
                   "without it 0.18. Same switch for MILD's VAE.")
    if p.train.standardise:
        out.append("`standardise: true`: every learned model trains on z-scored windows (fit-split statistics); "
                   "predictions are mapped back, so every error is in the §6 unit. Measured: 0.18 → 0.14 for "
                   "moveint_k3 (positions and per-frame velocities differ ~50× in scale).")
    if p.train.lr != 5e-4:
        out.append(f"lr {p.train.lr:g} (paper 5e-4) and {p.train.traj_per_batch} trajectories per step: the paper "
                   "runs ~60k optimizer steps, this profile a few hundred.")
    return out


def load_summary(evaluate_dir) -> dict[str, dict[int, dict]]:
    by = defaultdict(dict)
    for e in read_json(evaluate_dir / "summary.json"):
        by[e["model"]][e["seed"]] = e
    return by


def seed_lists(by: dict, key: str) -> dict[str, list[float]]:
    return {m: [by[m][s][key] for s in sorted(by[m])] for m in by if all(key in by[m][s] for s in by[m])}


def fitted_flags(by: dict) -> dict[str, list[bool]]:
    const = float(np.mean([e["mean_over_actions"] for e in by["const_mean"].values()])) if "const_mean" in by \
        else float("inf")
    return {m: [bool(by[m][s]["finite"] and by[m][s]["mean_over_actions"] < const) for s in sorted(by[m])]
            for m in by}


def build_report(ctx) -> None:
    from components.moveint.claims import build_claims

    p = ctx.params
    ev, prepared = ctx.inputs["evaluate"], ctx.inputs["prepared"]
    meta = read_json(prepared / "meta.json")
    manifest = read_json(ctx.inputs["models"] / "runs.json")
    by = load_summary(ev)
    mse = seed_lists(by, "mean_over_actions")
    claims = build_claims(mse, seed_lists(by, "usage_entropy"), seed_lists(by, "usage_min"), fitted_flags(by),
                          ctx.profile)
    actions = [str(a) for a in meta["actions"]]
    models = [m for m in ORDER if m in by]

    rep = Report("MoVEInt: mixture of variational experts for HRI — reproduction (synthetic miniature)"
                 if meta["source"] == "synthetic" else f"MoVEInt on {meta['dataset']}")
    rep.text(f"Profile `{ctx.profile}`, dataset `{meta['dataset']}`: {meta['train_demos']} training / "
             f"{meta['test_demos']} test demos ({meta['train_windows']} / {meta['test_windows']} windows), "
             f"{p.train.seeds} seed(s), {p.train.epochs} epochs. Error: spec §6, MSE ×100 [m²] for Cartesian "
             "windows (positions and per-frame velocities), final checkpoints only. Baselines named `_label` get "
             "the ground-truth action label, as in their original code; MoVEInt never does.")
    rep.heading("Claims")
    rep.claims(claims)

    rep.heading("Prediction error per action (mean over seeds of the per-window mean; ± = mean per-window std)")
    rows = []
    for m in models:
        seeds = sorted(by[m])
        row = {"model": m, "mean over actions": mean_sd([by[m][s]["mean_over_actions"] for s in seeds])}
        for a, name in enumerate(actions):
            mu = np.mean([by[m][s]["per_action_mean"][a] for s in seeds])
            sd = np.mean([by[m][s]["per_action_std"][a] for s in seeds])
            row[name] = f"{mu:.3g} ± {sd:.2g}"
        row["position only"] = f"{np.mean([by[m][s].get('position_only_mean', np.nan) for s in seeds]):.3g}"
        row["per-trajectory mean"] = f"{np.mean([by[m][s]['per_trajectory'] for s in seeds]):.3g}"
        rows.append(row)
    rep.table(rows)

    rep.heading("Significance (Mann–Whitney U, two-sided, per-window errors of moveint_k3 vs each model)")
    sig = []
    if "moveint_k3" in by:
        from components.moveint.metrics import mann_whitney

        for m in models:
            if m == "moveint_k3":
                continue
            ps = []
            for s in sorted(by["moveint_k3"]):
                other = s if s in by[m] else min(by[m])
                a = np.load(ev / f"errors_moveint_k3_seed{s}.npy")
                b = np.load(ev / f"errors_{m}_seed{other}.npy")
                ps.append(mann_whitney(a, b))
            sig.append({"vs": m, "p per seed": ", ".join(f"{x:.2g}" for x in ps), "max p": max(ps)})
        rep.table(sig)

    entropy = seed_lists(by, "usage_entropy")
    if entropy:
        rep.heading("Expert usage (test windows, argmax α)")
        rows = []
        for m in [m for m in models if m in entropy]:
            seeds = sorted(by[m])
            rows.append({"model": m, "usage per seed": "; ".join(
                "/".join(f"{u:.2f}" for u in by[m][s]["usage"]) for s in seeds),
                "Ĥ": mean_sd(entropy[m]), "min u": mean_sd([by[m][s]["usage_min"] for s in seeds]),
                "separation": mean_sd([by[m][s]["separation"] for s in seeds]),
                "phase AMI": mean_sd([by[m][s]["phase_ami"] for s in seeds])})
        rep.table(rows)

    rep.heading("Training")
    rep.table([{"model": r["model"], "seed": r["seed"], "epochs": r["epochs"], "steps": r["steps"],
                "seconds": round(r["train_seconds"], 1), "params": r["n_params"],
                **{k: v for k, v in r["final"].items() if k.endswith("pred_mse") or k.endswith("loss")}}
               for r in manifest])
    _figures(rep, ev, prepared, by, models, actions)
    rep.heading("Deviations from the spec")
    for d in DEVIATIONS + profile_deviations(p):
        rep.text(f"- {d}")
    metrics = {f"{m}.mse_mean": float(np.mean(v)) for m, v in mse.items()}
    metrics.update({f"{m}.usage_entropy_mean": float(np.mean(v)) for m, v in entropy.items()})
    write_plot(ctx, "mse_by_model", [{"model": m, "mse_mean": float(np.mean(v)), "mse_sd": float(np.std(v, ddof=1)) if len(v) > 1
                                      else 0.0, "seeds": len(v)} for m, v in mse.items()])
    write_outputs(ctx, rep, claims, metrics, headline=[k for k in metrics if k.endswith(".mse_mean")][:11])


def _figures(rep: Report, ev, prepared, by: dict, models: list[str], actions: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from components.moveint.data import load_split

    fig, ax = plt.subplots(figsize=(10, 3.5))
    width = 0.8 / max(len(models), 1)
    for i, m in enumerate(models):
        vals = np.mean([by[m][s]["per_action_mean"] for s in by[m]], 0)
        ax.bar(np.arange(len(actions)) + i * width, vals, width, label=m)
    ax.set_xticks(np.arange(len(actions)) + 0.4 - width / 2, actions)
    ax.set_yscale("log")
    ax.set_ylabel("MSE ×100 [m²]")
    ax.legend(fontsize=7, ncol=4)
    rep.figure("per_action_mse", fig, "Test error per action (mean over seeds; log scale)")

    test = load_split(prepared / "test.npz")
    first = [int(test.demos()[np.flatnonzero([test.action[test.demo == d][0] == a for d in test.demos()])[0]])
             for a in range(len(actions))]
    alphas = {m: np.load(ev / f"alpha_{m}.npy") for m in ("moveint_k3", "moveint_k3_noreg") if (ev / f"alpha_{m}.npy").exists()}
    if alphas:
        fig, axes = plt.subplots(len(alphas), len(actions), figsize=(12, 2.4 * len(alphas)), squeeze=False)
        for r, (m, al) in enumerate(alphas.items()):
            for c, d in enumerate(first):
                msk = test.demo == d
                axes[r, c].plot(al[msk])
                axes[r, c].step(np.arange(msk.sum()), test.phase[msk] / 2, "k:", lw=0.8)
                axes[r, c].set_title(f"{m}: {actions[c]}", fontsize=8)
                axes[r, c].set_ylim(-0.05, 1.05)
        rep.figure("gate_over_time", fig, "Gate weights α_k over one test demo per action (seed 0); dotted: "
                   "true phase (0, 0.5, 1 = reach, interact, retreat)")
        fig, ax = plt.subplots(figsize=(5, 3))
        for i, (m, al) in enumerate(alphas.items()):
            u = np.bincount(al.argmax(1), minlength=al.shape[1]) / len(al)
            ax.bar(np.arange(len(u)) + 0.4 * i, u, 0.4, label=m)
        ax.set_xlabel("expert")
        ax.set_ylabel("share of test windows")
        ax.legend(fontsize=7)
        rep.figure("expert_usage", fig, "Expert usage (argmax α), seed 0")
    if test.xr.shape[1] == 90:  # Cartesian: wrist height of the first target frame
        shown = [m for m in ("moveint_k3", "mild_like_label", "recurrent_lstm_label") if (ev / f"pred_{m}.npy").exists()]
        preds = {m: np.load(ev / f"pred_{m}.npy") for m in shown}
        fig, axes = plt.subplots(1, len(actions), figsize=(13, 3))
        for c, d in enumerate(first):
            msk = test.demo == d
            ax = axes[c]
            ax.plot(test.xh[msk][:, 4 * 18 + 8], "k--", lw=1, label="human wrist z (input, last frame)")
            ax.plot(test.xr[msk][:, 8], "k", lw=1.5, label="robot wrist z (true)")
            for m in shown:
                ax.plot(preds[m][msk][:, 8], lw=1, label=m)
            ax.set_title(actions[c], fontsize=9)
        axes[0].set_ylabel("z rel. human shoulder [m]")
        axes[-1].legend(fontsize=6)
        rep.figure("rollouts", fig, "One test demo per action (seed 0): human input, true and predicted robot "
                   "wrist height (first frame of each predicted window)")
