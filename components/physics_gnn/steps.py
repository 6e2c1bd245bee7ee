"""The four steps of ``physics_gnn``: declared inputs in, declared (staged) outputs out — see ``pipeline.py``."""

from __future__ import annotations

from components.core.errors import UserError
from components.core.io import read_json, write_json
from components.core.pipeline import StepContext

# Relative cost of one training run / rollout set per model (forward + backward on a batch of 256, one
# thread, measured: LGN/CLGN's generic Euler–Lagrange path is ~40× a graph NODE); balances the fan-out.
MODEL_COST = {"LGN": 20.0, "CLGN": 20.0, "LGNN": 4.0, "CLGNN": 4.0, "HGN": 3.0, "CHGN": 3.0, "HGNN": 3.0,
              "CHGNN": 3.0, "LNN": 2.0, "HNN": 1.0, "NODE": 0.5}


def model_cost(model: str) -> float:
    return MODEL_COST.get(model, 1.5)


def prepare(ctx: StepContext) -> None:
    """Simulate every system's training pool and fresh test sets; validate each system (GX)."""
    import pandas as pd

    from components.core.validation import validate_and_log
    from components.physics_gnn.data import (expectations, simulate, summary_frame, test_sizes, train_size,
                                             write_arrays)

    p = ctx.params
    out = ctx.outputs["prepared"]  # staged: published only if every system validates
    metrics = {}

    def suites():
        for system in ctx.progress(p.systems, "systems"):
            s = p.system(system)
            n0 = train_size(p, system)
            n_train = getattr(s, "n_train_traj", 1)
            pool = simulate(p, system, "train", n0, n_train)  # (not `train`: that name is the train step's)
            write_arrays(out / system / "train.npz", pool)
            frames = [summary_frame(p, system, "train", pool)]
            for n, k in test_sizes(p, system):
                test = simulate(p, system, "test", n, k)
                write_arrays(out / system / f"test_N{n}.npz", test)
                frames.append(summary_frame(p, system, "test", test))
            frame = pd.concat(frames, ignore_index=True)
            write_json(out / system / "meta.json", {"system": system, "train_N": n0, "test_sets": test_sizes(p, system),
                                                    "n_train_traj": n_train, "n_states": s.n_states})
            metrics[f"{system}.max_energy_drift_rel"] = float(frame["energy_drift_rel"].max())
            if "constraint_residual" in frame:
                metrics[f"{system}.max_constraint_residual"] = float(frame["constraint_residual"].max())
            else:
                metrics[f"{system}.max_momentum_drift"] = float(frame["momentum_drift"].max())
            sizes = sorted({n0, *[n for n, _ in test_sizes(p, system)]})
            yield f"physics_gnn-{system}", frame, expectations(p, system, sizes)

    reports = validate_and_log(ctx, suites(), out)
    if ctx.run:
        ctx.run.log_metrics(metrics)
    ctx.log(f"{len(p.systems)} systems simulated and validated ({sum(r['evaluated'] for r in reports)} expectations)")


def planned_runs(p) -> list[tuple[str, str, int]]:
    """(system, model, seed) of every training run, in params order."""
    from components.physics_gnn.models import applies_to

    runs = []
    for system in p.systems:
        for model in p.system(system).models:
            if not applies_to(model, system):
                raise UserError(f"model {model} does not apply to {system}",
                                f"remove it from physics_gnn.{system}.models (explicit constraints: pendulum only)")
            runs += [(system, model, seed) for seed in p.train.seeds]
    return runs


def train(ctx: StepContext) -> None:
    """Train every (system, model, seed) with Lightning in a batched fan-out; one MLflow child run each."""
    from components.physics_gnn.training import RunJob, train_batch

    p = ctx.params
    prepared, out = ctx.inputs["prepared"], ctx.outputs["models"]
    dumped = p.model_dump()
    jobs, children = [], []
    for system, model, seed in planned_runs(p):
        child = ctx.run.start_child(f"{system}-{model}-seed{seed}", {"system": system, "model": model,
                                                                     "seed": seed, "kind": "model"}) \
            if ctx.run else None
        children.append(child)
        jobs.append(RunJob(system, model, seed, str(prepared), str(out), dumped, child.ref() if child else None))
    try:
        results = ctx.fan_out(train_batch, jobs, "train", cost=lambda job: model_cost(job.model))
    except BaseException:
        for child in filter(None, children):
            child.finish("FAILED")
        raise
    manifest = [{**res, "run_id": child.run_id if child else None} for res, child in zip(results, children)]
    write_json(out / "runs.json", manifest)
    for child in filter(None, children):  # the workers logged into them by reference; close them here
        child.finish()
    if ctx.run:
        ctx.run.log_metrics({"n_runs": len(manifest), "n_fit": sum(r["fit"] for r in manifest),
                             "nan_steps_total": sum(r["nan_steps"] for r in manifest)})
    ctx.timings["train_seconds_sum"] = sum(r["train_seconds"] for r in manifest)
    ctx.log(f"{len(manifest)} runs trained; {sum(r['fit'] for r in manifest)} met the fit criterion")


def evaluate(ctx: StepContext) -> None:
    """Roll every trained model (and the oracle) out on the training size and the zero-shot sizes."""
    import pandas as pd

    from components.physics_gnn.evaluation import BASELINES, EvalJob, evaluate_batch

    p = ctx.params
    prepared, models = ctx.inputs["prepared"], ctx.inputs["models"]
    manifest = read_json(models / "runs.json")
    planned = set(planned_runs(p))
    trained = {(r["system"], r["model"], r["seed"]) for r in manifest}
    if planned != trained:
        raise UserError("the trained models differ from the models in params (data/physics_gnn/models/runs.json)",
                        "rerun `paperflows run physics_gnn --step train`")
    dumped, out = p.model_dump(), ctx.outputs["rollouts"]
    jobs = [EvalJob(s, b, 0, str(prepared), str(models), str(out), dumped) for s in p.systems for b in BASELINES]
    jobs += [EvalJob(r["system"], r["model"], r["seed"], str(prepared), str(models), str(out), dumped)
             for r in manifest]
    per_job = ctx.fan_out(evaluate_batch, jobs, "rollouts",
                          cost=lambda job: 1.0 if job.model in BASELINES else model_cost(job.model))
    frame = pd.DataFrame([row for rows in per_job for row in rows])
    frame.to_csv(ctx.outputs["summary"], index=False)
    if ctx.run:
        run_ids = {(r["system"], r["model"], r["seed"]): r["run_id"] for r in manifest}
        for (system, model, seed), group in frame.groupby(["system", "model", "seed"]):
            rid = run_ids.get((system, model, seed))
            if rid is None:
                continue
            metrics = {}
            for _, row in group.iterrows():
                for col in ("rollout_err", "energy_err", "momentum_err", "momentum_total_err", "constraint_violation",
                            "rollout_seconds"):
                    if col in row and pd.notna(row[col]):
                        metrics[f"N{row['N']}.{col}"] = float(row[col])
            ctx.run.reopen(rid).log_metrics(metrics)
    ctx.log(f"{len(jobs)} rollout jobs, {len(frame)} (model, seed, N) rows")


def report(ctx: StepContext) -> None:
    """Figures, claims table and metrics from the evaluate outputs."""
    from components.physics_gnn.report import build_report

    build_report(ctx)


__all__ = ["prepare", "train", "evaluate", "report"]
