"""The four steps of ``physics_gnn``: files in, files out (``data/physics_gnn/``, ``reports/physics_gnn/``)."""

from __future__ import annotations

from components.core.errors import DataValidationError, UserError
from components.core.io import atomic_dir, read_json, write_json
from components.core.pipeline import StepContext
from components.core.tracking import TrackedRun


def _chunks(items: list, size: int) -> list[tuple]:
    return [tuple(items[i:i + size]) for i in range(0, len(items), size)]


def prepare(ctx: StepContext) -> None:
    """Simulate every system's training pool and fresh test sets; validate each system (GX)."""
    import pandas as pd

    from components.core.validation import validate_frame
    from components.physics_gnn.data import (expectations, simulate, summary_frame, test_sizes, train_size,
                                             write_arrays)

    p = ctx.params
    reports, metrics = [], {}
    with atomic_dir(ctx.paths.data / "prepared") as out:  # old data stays until every system validates
        for system in ctx.progress(p.systems, "systems"):
            s = p.system(system)
            n0 = train_size(p, system)
            frames = []
            n_train = getattr(s, "n_train_traj", 1)
            train = simulate(p, system, "train", n0, n_train)
            write_arrays(out / system / "train.npz", train)
            frames.append(summary_frame(p, system, "train", train))
            for n, k in test_sizes(p, system):
                test = simulate(p, system, "test", n, k)
                write_arrays(out / system / f"test_N{n}.npz", test)
                frames.append(summary_frame(p, system, "test", test))
            frame = pd.concat(frames, ignore_index=True)
            sizes = sorted({n0, *[n for n, _ in test_sizes(p, system)]})
            try:
                reports.append(validate_frame(frame, expectations(p, system, sizes), f"physics_gnn-{system}"))
            except DataValidationError as exc:
                if ctx.run:
                    ctx.run.log_dict({"suite": system, "failed": exc.failures}, "ge_validation_failed.json")
                raise
            write_json(out / system / "meta.json", {"system": system, "train_N": n0, "test_sets": test_sizes(p, system),
                                                    "n_train_traj": n_train, "n_states": s.n_states})
            metrics[f"{system}.max_energy_drift_rel"] = float(frame["energy_drift_rel"].max())
            if "constraint_residual" in frame:
                metrics[f"{system}.max_constraint_residual"] = float(frame["constraint_residual"].max())
            else:
                metrics[f"{system}.max_momentum_drift"] = float(frame["momentum_drift"].max())
        write_json(out / "ge_validation.json", reports)
    if ctx.run:
        ctx.run.log_dict(reports, "ge_validation.json")
        ctx.run.log_metrics({**metrics, "ge_expectations_evaluated": sum(r["evaluated"] for r in reports),
                             "ge_expectations_failed": 0, "ge_success": 1.0})
    ctx.log(f"{len(p.systems)} systems simulated and validated ({sum(r['evaluated'] for r in reports)} expectations)")


def planned_runs(p) -> list[tuple[str, str, int]]:
    """(system, model, seed) of every training run, costly models first so workers finish together."""
    from components.physics_gnn.models import applies_to

    runs = []
    for system in p.systems:
        for model in p.system(system).models:
            if not applies_to(model, system):
                raise UserError(f"model {model} does not apply to {system}",
                                f"remove it from physics_gnn.{system}.models (explicit constraints: pendulum only)")
            runs += [(system, model, seed) for seed in p.train.seeds]
    cost = {"LGN": 0, "CLGN": 0, "LGNN": 1, "HGNN": 2, "CHGNN": 2, "CLGNN": 1, "HGN": 3, "CHGN": 3}
    return sorted(runs, key=lambda r: (cost.get(r[1], 9), r[2]))


def train(ctx: StepContext) -> None:
    """Train every (system, model, seed) with Lightning in a batched fan-out; one MLflow child run each."""
    from components.physics_gnn.training import RunJob, train_batch

    p = ctx.params
    prepared = ctx.paths.data / "prepared"
    ctx.paths.require(*[prepared / s / "train.npz" for s in p.systems], step="prepare")
    runs = planned_runs(p)
    dumped = p.model_dump()
    manifest = []
    with atomic_dir(ctx.paths.data / "models") as out:
        jobs = []
        for system, model, seed in runs:
            child = ctx.run.start_child(f"{system}-{model}-seed{seed}", {"system": system, "model": model,
                                                                         "seed": seed, "kind": "model"}) \
                if ctx.run else None
            jobs.append(RunJob(system, model, seed, str(prepared), str(out), dumped, child.ref() if child else None))
        results = [r for batch in ctx.executor.map(train_batch, _chunks(jobs, p.train.runs_per_task), "train")
                   for r in batch]
        for job, res in zip(jobs, results):
            manifest.append({**res, "run_id": job.run["run_id"] if job.run else None})
        write_json(out / "runs.json", manifest)
    if ctx.run:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=ctx.run.uri)
        for row in manifest:
            if row["run_id"]:
                client.set_terminated(row["run_id"])
        ctx.run.log_metrics({"n_runs": len(manifest), "guard_hits": sum(r["guard_hit"] for r in manifest),
                             "nan_steps_total": sum(r["nan_steps"] for r in manifest)})
    ctx.timings["train_seconds_sum"] = sum(r["train_seconds"] for r in manifest)
    ctx.log(f"{len(manifest)} runs trained; guard hits: {sum(r['guard_hit'] for r in manifest)}")


def evaluate(ctx: StepContext) -> None:
    """Roll every trained model (and the oracle) out on the training size and the zero-shot sizes."""
    import pandas as pd

    from components.physics_gnn.evaluation import ORACLE, EvalJob, evaluate_batch

    p = ctx.params
    prepared, models = ctx.paths.data / "prepared", ctx.paths.data / "models"
    ctx.paths.require(*[prepared / s / "train.npz" for s in p.systems], step="prepare")
    ctx.paths.require(models / "runs.json", step="train")
    manifest = read_json(models / "runs.json")
    planned = {(s, m, k) for s, m, k in planned_runs(p)}
    trained = {(r["system"], r["model"], r["seed"]) for r in manifest}
    if planned != trained:
        raise UserError("the trained models differ from the models in params (data/physics_gnn/models/runs.json)",
                        "rerun `paperflows run physics_gnn --step train`")
    dumped = p.model_dump()
    with atomic_dir(ctx.paths.data / "evaluate") as out:
        jobs = [EvalJob(s, ORACLE, 0, str(prepared), str(models), str(out), dumped) for s in p.systems]
        jobs += [EvalJob(r["system"], r["model"], r["seed"], str(prepared), str(models), str(out), dumped)
                 for r in manifest]
        rows = [row for batch in ctx.executor.map(evaluate_batch, _chunks(jobs, p.train.runs_per_task), "rollouts")
                for row in batch]
        frame = pd.DataFrame(rows)
        frame.to_csv(out / "summary.csv", index=False)  # inside the atomic folder
    if ctx.run:
        run_ids = {(r["system"], r["model"], r["seed"]): r["run_id"] for r in manifest}
        for (system, model, seed), group in frame.groupby(["system", "model", "seed"]):
            rid = run_ids.get((system, model, seed))
            if rid is None:
                continue
            run = TrackedRun.from_ref({**ctx.run.ref(), "run_id": rid})
            metrics = {}
            for _, row in group.iterrows():
                for col in ("rollout_err", "energy_err", "momentum_err", "constraint_violation", "rollout_seconds"):
                    if col in row and pd.notna(row[col]):
                        metrics[f"N{row['N']}.{col}"] = float(row[col])
            run.log_metrics(metrics)
        ctx.run.log_artifact(ctx.paths.data / "evaluate" / "summary.csv")
    ctx.log(f"{len(jobs)} rollout jobs, {len(frame)} (model, seed, N) rows")


def report(ctx: StepContext) -> None:
    """Figures, claims table and metrics from the evaluate outputs."""
    from components.physics_gnn.report import build_report

    ctx.paths.require(ctx.paths.data / "evaluate" / "summary.csv", step="evaluate")
    ctx.paths.require(ctx.paths.data / "models" / "runs.json", step="train")
    build_report(ctx)


__all__ = ["prepare", "train", "evaluate", "report"]
