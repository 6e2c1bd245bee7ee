"""The four steps of ``whyshift``: files in, files out (``data/whyshift/``, ``reports/whyshift/``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from components.core.errors import UserError
from components.core.grid import ShardStore, fingerprint
from components.core.io import read_json, write_json, write_parquet
from components.core.pipeline import StepContext
from components.whyshift.grid import config_cost, expand_grid, fit_units, grid_frame


def prepare(ctx: StepContext) -> None:
    """Generate every setting's source splits and targets, validate them, and enumerate the grid."""
    from components.core.validation import validate_and_log
    from components.whyshift.data import expectations, setting_dir, validation_frame, write_setting
    p = ctx.params
    configs = expand_grid(p)  # bad grid keys fail before any work
    rows = p.data.rows.model_dump()
    load = _setting_loader(p)
    out = ctx.outputs["prepared"]  # staged: published only if every setting validates

    def suites():
        for sid in ctx.progress(p.data.settings, "settings"):
            data = load(sid)
            write_setting(setting_dir(out, sid), data)
            expected = rows if p.data.source == "synthetic" else None  # real sizes come from the data
            yield (f"whyshift-setting-{sid:02d}", validation_frame(data),
                   expectations(data, data.train.shape[1] - 2, expected))

    reports = validate_and_log(ctx, suites(), out)
    write_parquet(out / "grid.parquet", grid_frame(configs))
    if ctx.run:
        ctx.run.log_metrics({"n_settings": len(p.data.settings), "n_configs": len(configs)})
    ctx.log(f"{len(p.data.settings)} settings validated ({sum(r['evaluated'] for r in reports)} expectations); "
            f"{len(configs)} configurations")


def _setting_loader(p):
    """setting id → built (synthetic twin) or loaded (real data) setting, same frame layout."""
    if p.data.source == "real":
        from components.whyshift.real_data import data_root, load_setting_real

        root = data_root(p.data.root)
        return lambda sid: load_setting_real(sid, root, seed=p.seed, max_target_rows=p.data.rows.target)
    from components.whyshift.generator import WorldKnobs
    from components.whyshift.settings import build_setting

    knobs = {name: WorldKnobs(**w.model_dump()) for name, w in p.data.worlds.items()}
    return lambda sid: build_setting(sid, knobs, dict(p.data.domains), p.data.rows.model_dump(), seed=p.seed)


def train(ctx: StepContext) -> None:
    """Fit the grid in batches (one task each); finished batches are shards, so a rerun resumes."""
    from components.whyshift.data import setting_dir
    from components.whyshift.fitting import fit_jobs, summarise

    p = ctx.params
    prepared = ctx.inputs["prepared"]
    configs = expand_grid(p)
    prepared_ids = set(pd.read_parquet(prepared / "grid.parquet")["config_id"])
    if prepared_ids != {c["config_id"] for c in configs}:
        raise UserError("the grid in params differs from the prepared grid (data/whyshift/prepared/grid.parquet)",
                        "rerun `paperflows run whyshift --step prepare` (or `dvc repro`)")
    store = ShardStore(ctx.paths.data / "train" / "shards")  # a cache for resuming, not a declared output
    code = [Path(__file__).parent, Path(__file__).parents[1] / "core"]
    _reset_if_stale(store, fingerprint({"data": p.data.model_dump(), "train": p.train.model_dump(),
                                        "seed": p.seed}, [prepared / "settings", *code]))
    done = set(store.collect()["config_id"]) if any(store.directory.glob("*.parquet")) else set()
    todo = [c for c in configs if c["config_id"] not in done]
    units = fit_units(todo, p.train)  # configs that share work stay in one batch
    jobs = [(str(setting_dir(prepared, u[0]["setting_id"])), str(store.directory), u, p.train.model_dump())
            for u in units]
    ctx.timings["reused"] = len(configs) - len(todo)
    ctx.log(f"{len(configs)} configurations: {len(configs) - len(todo)} already done, {len(todo)} to fit")
    ctx.fan_out(fit_jobs, jobs, "fit", key=lambda job: job[0],  # a batch = units of one setting
                cost=lambda job: sum(config_cost(c) for c in job[2]))
    ids = {c["config_id"] for c in configs}
    long = store.collect(sort_by=("config_id", "eval_set"))
    long = long[long["config_id"].isin(ids)].drop_duplicates(["config_id", "eval_set"])
    metas = {sid: read_json(setting_dir(prepared, sid) / "setting.json") for sid in p.data.settings}
    results, target_metrics = summarise(long, metas, ctx.profile)
    if len(results) != len(configs):
        raise RuntimeError(f"results have {len(results)} rows for {len(configs)} configurations")
    write_parquet(ctx.outputs["results"], results)
    write_parquet(ctx.outputs["target_metrics"], target_metrics)
    n_err = int((results["status"] != "ok").sum())
    if ctx.run:
        ctx.run.log_metrics({"n_configs": len(results), "n_ok": len(results) - n_err, "n_error": n_err,
                             "fit_seconds_total": float(results["fit_seconds"].sum())})
    ctx.log(f"{len(results) - n_err} ok, {n_err} errors")


def _reset_if_stale(store: ShardStore, fingerprint: str) -> None:
    """Shards are reusable only under the same fingerprint; otherwise the grid starts afresh."""
    marker = store.directory / "fingerprint.json"
    if marker.exists() and read_json(marker).get("fingerprint") == fingerprint:
        return
    for shard in store.directory.glob("*.parquet"):
        shard.unlink()
    write_json(marker, {"fingerprint": fingerprint})


def evaluate(ctx: StepContext) -> None:
    """Reference model, degradation on every target, DISDE (estimated and true), calibration scenarios."""
    from components.whyshift.analysis import calibration_rows, evaluate_settings, summarise_settings
    from components.whyshift.tracking import log_best_runs
    from components.whyshift.data import setting_dir

    p = ctx.params
    prepared = ctx.inputs["prepared"]
    results_path = ctx.inputs["results"]
    jobs = [(str(setting_dir(prepared, sid)), p.model_dump()) for sid in p.data.settings]
    per_setting = ctx.fan_out(evaluate_settings, jobs, "disde")
    degradation = pd.concat([d for d, _, _ in per_setting], ignore_index=True)
    disde = pd.concat([d for _, d, _ in per_setting], ignore_index=True)
    regions = {str(r["setting_id"]): r for _, _, r in per_setting if r}
    calibration = calibration_rows(p)
    analysis = summarise_settings(pd.read_parquet(results_path), degradation, disde, p)
    out = ctx.outputs["evaluate"]
    write_parquet(out / "degradation.parquet", degradation)
    write_parquet(out / "disde.parquet", disde)
    write_parquet(out / "calibration.parquet", calibration)
    write_json(out / "analysis.json", analysis)
    write_json(out / "risk_regions.json", regions)
    if ctx.run:
        ctx.run.log_metrics({"n_disde_pairs": len(disde), "max_identity_error": float(disde["identity_error"].max())})
        log_best_runs(ctx.run, pd.read_parquet(results_path), analysis)
    ctx.log(f"DISDE on {len(disde)} pairs, {len(calibration)} calibration decompositions")


def report(ctx: StepContext) -> None:
    """Figures, claims table and metrics from the evaluate outputs."""
    from components.whyshift.report import build_report

    build_report(ctx)


__all__ = ["prepare", "train", "evaluate", "report"]
