"""The four steps of ``moveint``: declared inputs in, declared (staged) outputs out — see ``pipeline.py``."""

from __future__ import annotations

from components.core.errors import UserError
from components.core.io import read_json, write_json
from components.core.pipeline import StepContext
from components.core.seeding import derive_seed


def dataset_name(p) -> str:
    return f"synthetic_{p.data.synthetic.robot_space}" if p.data.source == "synthetic" else p.paper.dataset


def prepare(ctx: StepContext) -> None:
    """Generate (or load) the interaction demos, window them, validate with great-expectations."""
    from components.core.validation import validate_and_log
    from components.moveint.data import expectations, load_real, save_split, synthetic_splits, validation_frame

    p = ctx.params
    out = ctx.outputs["prepared"]
    name = dataset_name(p)
    if p.data.source == "synthetic":
        train, test = synthetic_splits(p.data.synthetic, derive_seed(p.seed, "data"))
        n_actions, cartesian = len(p.data.synthetic.actions), p.data.synthetic.robot_space == "cartesian"
    else:
        train, test = load_real(p.paper.data_dir, p.paper.dataset)
        n_actions, cartesian = int(train.action.max()) + 1, True
    save_split(out / "train.npz", train)
    save_split(out / "test.npz", test)
    d_in, d_out = train.xh.shape[1], train.xr.shape[1]
    suites = {f"moveint-{name}-{split}": (validation_frame(s, o, split, d_out // 5, cartesian),
                                          expectations(n_actions, d_in, d_out, cartesian))
              for split, s, o in (("train", train, test), ("test", test, train))}
    validate_and_log(ctx, suites, out)
    meta = {"dataset": name, "source": p.data.source, "d_h": d_in, "d_r": d_out, "n_actions": n_actions,
            "actions": list(p.data.synthetic.actions) if p.data.source == "synthetic" else list(range(n_actions)),
            "train_demos": len(train.demos()), "test_demos": len(test.demos()),
            "train_windows": len(train.xh), "test_windows": len(test.xh)}
    write_json(out / "meta.json", meta)
    if ctx.run:
        ctx.run.log_metrics({k: v for k, v in meta.items() if isinstance(v, int)})
    ctx.log(f"{name}: {meta['train_demos']}/{meta['test_demos']} demos, "
            f"{meta['train_windows']}/{meta['test_windows']} windows (train/test), validated")


def train_jobs(p, prepared: str, out: str) -> list[dict]:
    dumped = p.model_dump()
    return [{"model": m, "seed": k, "prepared": prepared, "out": out, "params": dumped}
            for m in p.train.models for k in range(p.train.seeds)]


def train(ctx: StepContext) -> None:
    """Train every model × seed with Lightning in a batched fan-out; one MLflow child run each."""
    from components.moveint.training import COST, train_batch

    p = ctx.params
    jobs = train_jobs(p, str(ctx.inputs["prepared"]), str(ctx.outputs["models"]))
    children = []
    for job in jobs:
        child = ctx.run.start_child(f"{job['model']}-seed{job['seed']}", {"model": job["model"], "seed": job["seed"],
                                                                          "kind": "model"}) if ctx.run else None
        children.append(child)
        job["run"] = child.ref() if child else None
    try:
        results = ctx.fan_out(train_batch, jobs, "train", cost=lambda j: COST.get(j["model"], 1.0))
    except BaseException:
        for child in filter(None, children):
            child.finish("FAILED")
        raise
    manifest = [{**r, "run_id": c.run_id if c else None} for r, c in zip(results, children)]
    write_json(ctx.outputs["models"] / "runs.json", manifest)
    for child in filter(None, children):
        child.finish()
    ctx.timings["train_seconds_sum"] = sum(r["train_seconds"] for r in manifest)
    if ctx.run:
        ctx.run.log_metrics({"n_runs": len(manifest), "n_nonfinite": sum(not r["finite"] for r in manifest)})
    ctx.log(f"{len(manifest)} models trained in {ctx.timings['train_seconds_sum']:.0f} s of worker time")


def evaluate(ctx: StepContext) -> None:
    """Final checkpoints only: §6 metrics on the test split, per (model, seed), plus the references."""
    from components.moveint.evaluation import REFERENCES, evaluate_batch
    from components.moveint.training import COST

    p = ctx.params
    manifest = read_json(ctx.inputs["models"] / "runs.json")
    planned = {(j["model"], j["seed"]) for j in train_jobs(p, "", "")}
    if planned != {(r["model"], r["seed"]) for r in manifest}:
        raise UserError("the trained models differ from the models in params (data/moveint/models/runs.json)",
                        "rerun `paperflows run moveint --step train`")
    dumped, out = p.model_dump(), ctx.outputs["evaluate"]
    base = {"prepared": str(ctx.inputs["prepared"]), "models": str(ctx.inputs["models"]), "out": str(out),
            "params": dumped, "first_seed": 0}
    jobs = [{**base, "model": r["model"], "seed": r["seed"]} for r in manifest]
    jobs += [{**base, "model": ref, "seed": 0} for ref in REFERENCES]
    per_job = ctx.fan_out(evaluate_batch, jobs, "evaluate", cost=lambda j: COST.get(j["model"], 0.5))
    entries = [e for es in per_job for e in es]
    write_json(out / "summary.json", entries)
    if ctx.run:
        run_ids = {(r["model"], r["seed"]): r["run_id"] for r in manifest}
        for e in entries:
            rid = run_ids.get(({"mild_like_label": "mild_like"}.get(e["model"], e["model"]), e["seed"]))
            if rid:
                keys = ("mean_over_actions", "per_trajectory", "usage_entropy", "usage_min", "separation", "phase_ami")
                prefix = "test_label" if e["model"] == "mild_like_label" else "test"
                ctx.run.reopen(rid).log_metrics({f"{prefix}/{k}": e[k] for k in keys
                                                 if k in e and e[k] == e[k]})
                tag = f"{e['model']}_seed{e['seed']}"
                ctx.run.reopen(rid).log_artifact(out / f"errors_{tag}.npy", "evaluation")
    ctx.log(f"{len(entries)} evaluated entries")


def report(ctx: StepContext) -> None:
    from components.moveint.report import build_report

    build_report(ctx)


__all__ = ["prepare", "train", "evaluate", "report"]
