"""The four steps of ``causality``: declared inputs in, declared outputs out (see ``pipeline.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.core.errors import UserError
from components.core.io import read_json, sha256_files, write_json, write_parquet
from components.core.pipeline import StepContext


def prepare(ctx: StepContext) -> None:
    """Load the wheel-shipped datasets, generate the SCMs, write them and validate each with its GX suite."""
    from components.causality import catalog
    from components.causality import data as D
    from components.causality.datasets import provenance, tuebingen
    from components.core.validation import validate_and_log

    p = ctx.params
    counts: dict[str, dict] = {}
    out = ctx.outputs["prepared"]  # staged: published only if every dataset validates

    def suites():
        for es in catalog.effect_sets(p, ctx.log):
            D.write_effect_set(out, es.name, es.frames, es.meta)
            frame = D.effect_validation_frame(es.frames)
            counts[es.name] = {"rows": len(es.frames[0]), "stored_reps": len(es.frames), "source": es.meta["source"]}
            yield (f"causality-effects-{es.name}", frame,
                   D.effect_expectations(frame, es.rows_per_rep, len(es.frames), es.meta["truth"]))
        for gs in catalog.discovery_sets(p):
            D.write_discovery_set(out, gs.name, gs.frames, gs.truths, gs.meta)
            summary = D.discovery_summary(gs.frames, gs.truths)
            counts[gs.name] = {"rows": len(gs.frames[0]), "reps": len(gs.frames), "source": gs.meta["source"],
                               "truth_acyclic": bool(summary.truth_acyclic.all())}
            yield (f"causality-discovery-{gs.name}", summary,
                   D.discovery_expectations(len(gs.frames[0]), gs.frames[0].shape[1], gs.edges, gs.require_acyclic))
        for name, frame, rows in catalog.study_sets(p):
            write_parquet(out / "studies" / f"{name}.parquet", frame)
            counts[name] = {"rows": len(frame), "source": provenance("causaldata")}
            yield f"causality-studies-{name}", D.study_validation_frame(name, frame), D.study_expectations(name, rows)
        if p.data.tuebingen_pairs:
            pairs = tuebingen(p.data.tuebingen_pairs, p.data.tuebingen_max_points, p.seed)
            write_parquet(out / "pairs" / "tuebingen.parquet", pairs)
            summary = D.pairs_summary(pairs)
            counts["tuebingen"] = {"pairs": int(summary.shape[0]), "swapped_share": float(summary.swapped.mean())}
            yield "causality-pairs-tuebingen", summary, D.pairs_expectations(p.data.tuebingen_pairs)

    reports = validate_and_log(ctx, suites(), out)
    write_json(out / "manifest.json", {"profile": ctx.profile, "seed": p.seed, "datasets": counts,
                                       "sha256": sha256_files(out)})
    if ctx.run:
        ctx.run.log_metrics({"n_datasets": len(counts)})
    ctx.log(f"{len(counts)} datasets written, {len(reports)} suites passed "
            f"({sum(r['evaluated'] for r in reports)} expectations)")


def _methods_for(p, meta: dict) -> list[str]:
    d = p.data
    kind = meta["kind"]
    if kind == "ihdp":
        cfg = d.ihdp.get(meta["dataset"])
        return list(cfg.methods) if cfg is not None else []
    block = {"lalonde": d.lalonde, "jobs": d.jobs, "acic": d.acic, "scm": d.scm}[kind]
    return list(block.methods) if block is not None else []


def train(ctx: StepContext) -> None:
    """Fan every (dataset × method × replication), (graph × algorithm × rep) and (pair × method) unit out."""
    from components.causality.data import verify_manifest
    from components.causality.work import STUDY_COLUMNS, EffectUnit, GraphUnit, PairUnit, StudyUnit, run_units

    p = ctx.params
    prepared = ctx.inputs["prepared"]
    verify_manifest(prepared)
    datasets = read_json(prepared / "manifest.json")["datasets"]
    units: list = []
    for meta in [read_json(f) for f in sorted((prepared / "effects").glob("*/meta.json"))]:
        for method in _methods_for(p, meta):
            units += [EffectUnit(str(prepared), meta["dataset"], rep, method, p.seed, rep < meta["stored_reps"],
                                 datasets[meta["dataset"]]["rows"], p.effects) for rep in range(meta["reps"])]
    for meta in [read_json(f) for f in sorted((prepared / "discovery").glob("*/meta.json"))]:
        units += [GraphUnit(str(prepared), meta["dataset"], rep, algo, p.seed, datasets[meta["dataset"]]["rows"],
                            p.discovery)
                  for algo in p.discovery.algorithms for rep in range(meta["reps"])]
    pairs_path = prepared / "pairs" / "tuebingen.parquet"
    if pairs_path.exists():
        ids = list(pd.read_parquet(pairs_path, columns=["pair"]).pair.unique())
        units += [PairUnit(str(pairs_path), pair, method, p.seed, p.discovery)
                  for method in p.discovery.pair_methods for pair in ids]
    st = p.data.studies
    if st is not None:
        plan = {"ks": st.ks_reps, "iv": st.iv_reps, "frontdoor": st.reps, "rdd": st.reps, "rdd_dowhy": 1,
                "latent": st.latent_reps}
        plan.update({name: 1 for name in ("nhefs", "rdd_lmb", "rdd_transfers")
                     if (prepared / "studies" / f"{name}.parquet").exists()})
        units += [StudyUnit(str(prepared), study, rep, p.seed, st) for study, reps in plan.items() for rep in range(reps)]
    if not units:
        raise UserError("nothing to train: no prepared dataset matches the params",
                        "enable datasets under causality.data and rerun `paperflows run causality --step prepare`")
    ctx.log(f"{len(units)} work units")
    results = ctx.fan_out(run_units, units, "units", cost=lambda u: u.cost)
    effects = [r for kind, r in results if kind == "effect"]
    graphs = [r for kind, r in results if kind == "graph"]
    pair_rows = [r for kind, r in results if kind == "pair"]
    study_rows = [row for kind, r in results if kind == "study" for row in r]
    write_parquet(ctx.outputs["studies"], pd.DataFrame(study_rows, columns=STUDY_COLUMNS))
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "tau"} for r in effects])
    write_parquet(ctx.outputs["effects"], table)
    for dataset in sorted({r["dataset"] for r in effects}):
        parts = [pd.DataFrame({"method": r["method"], "rep": r["rep"], "unit_id": np.arange(len(r["tau"])),
                               "tau_hat": r["tau"]})
                 for r in effects if r["dataset"] == dataset and r["tau"] is not None]
        if parts:
            write_parquet(ctx.outputs["cate"] / f"{dataset}.parquet", pd.concat(parts, ignore_index=True))
    write_json(ctx.outputs["graphs"], graphs)
    write_parquet(ctx.outputs["pairs"], pd.DataFrame(pair_rows, columns=["pair", "method", "decision", "status",
                                                                         "error", "runtime_s"]))
    errors = [r for r in effects + graphs + pair_rows + study_rows if r["status"] != "ok"]
    for r in errors[:5]:
        ctx.log(f"error in {r.get('dataset', r.get('pair', r.get('study')))}/{r.get('method', r.get('algorithm'))}: "
                f"{r['error'][:200]}")
    if ctx.run:
        ctx.run.log_metrics({"n_units": len(units), "n_errors": len(errors),
                             "fit_seconds_total": float(np.nansum([r["runtime_s"] for r in effects + graphs]))})
    ctx.log(f"{len(effects)} effect fits, {len(graphs)} graphs, {len(pair_rows)} pair decisions, "
            f"{len(study_rows)} identification-study rows, {len(errors)} errors")


def evaluate(ctx: StepContext) -> None:
    """Metrics per unit and per (dataset, method), claim inputs and verdicts; nested MLflow runs per method."""
    from components.causality import evaluation as E
    from components.causality.claims import evaluate_claims
    from components.causality.data import verify_manifest
    from components.causality.tracking import log_method_runs

    p = ctx.params
    prepared = ctx.inputs["prepared"]
    verify_manifest(prepared)
    units = pd.read_parquet(ctx.inputs["effects"])
    cate = {f.stem: pd.read_parquet(f) for f in ctx.inputs["cate"].glob("*.parquet")}
    per_unit = E.effect_metrics(prepared, units, cate, p.seed) if len(units) else pd.DataFrame()
    summary = E.summarise_effects(per_unit) if len(per_unit) else pd.DataFrame()
    lalonde = E.lalonde_intervals(per_unit) if len(per_unit) and "lalonde_cps" in set(per_unit.dataset) else pd.DataFrame()
    graphs = pd.DataFrame(read_json(ctx.inputs["graphs"]))
    discovery = E.discovery_metrics(prepared, graphs, p.discovery.random_graphs, p.seed) if len(graphs) else pd.DataFrame()
    pairs_path = prepared / "pairs" / "tuebingen.parquet"
    decisions = pd.read_parquet(ctx.inputs["pairs"])
    pairs = (E.pair_metrics(pd.read_parquet(pairs_path), decisions) if pairs_path.exists() and len(decisions)
             else pd.DataFrame())
    jobs_baselines = (E.jobs_policy_baselines(prepared, p.data.jobs.splits, p.seed)
                      if (prepared / "effects" / "jobs").exists() and p.data.jobs else {})
    studies = E.study_summary(pd.read_parquet(ctx.inputs["studies"]))
    claims = evaluate_claims(summary, per_unit, lalonde, discovery, pairs, p, studies)
    out = ctx.outputs
    per_unit.to_csv(out["effects"], index=False)
    summary.to_csv(out["effects_summary"], index=False)
    lalonde.to_csv(out["lalonde"], index=False)
    discovery.to_csv(out["discovery"], index=False)
    pairs.to_csv(out["pairs"], index=False)
    studies.to_csv(out["studies"], index=False)
    raw_studies = pd.read_parquet(ctx.inputs["studies"])
    write_json(out["claims_eval"], {"claims": claims, "jobs_policy_baselines": jobs_baselines,
                                    "errors": int((units.status != "ok").sum()) if len(units) else 0,
                                    "study_errors": int((raw_studies.status != "ok").sum())})
    if ctx.run:
        log_method_runs(ctx.run, summary, discovery, pairs)
    ctx.log(f"{len(per_unit)} effect rows, {len(discovery)} graph rows, {len(claims)} claim rows evaluated")


def report(ctx: StepContext) -> None:
    """Figures, family tables, claims table, metrics.json."""
    from components.causality.report import build_report

    build_report(ctx)


__all__ = ["prepare", "train", "evaluate", "report"]
