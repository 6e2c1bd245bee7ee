"""The four steps of ``sciie``: declared inputs in, declared (staged) outputs out — see ``pipeline.py``."""

from __future__ import annotations

from pathlib import Path

from components.core.errors import UserError
from components.core.io import read_json, sha256_files, write_json
from components.core.pipeline import StepContext
from components.core.seeding import derive_seed

FIX_PREPARE = "rerun `paperflows run sciie --step prepare` with the same params and profile"
FIX_TRAIN = "rerun `paperflows run sciie --step train` with the same params and profile"


def run_seed(p, i: int) -> int:
    """The seed of seed index i: data, masks and initialisation shared by every configuration (pairing)."""
    return derive_seed(p.seed, "run", i)


def gen_params(p):
    from components.sciie.synth import GenParams

    g = p.generator
    return GenParams(concepts_per_type=g.concepts_per_type, p_amb=g.p_amb, p_filler=g.p_filler,
                     n_templates=tuple(g.n_templates), paraphrases=g.paraphrases, p_label_flip=g.p_label_flip,
                     p_drop=g.p_drop, p_orphan=g.p_orphan)


def clean(g):
    from dataclasses import replace

    return replace(g, p_label_flip=0.0, p_drop=0.0)


def prepare(ctx: StepContext) -> None:
    """World, fixed test set and KG corpus, per (regime, seed) train/dev sets in SciERC JSON-lines; GX on
    per-document summaries; corpus statistics; real SciERC when ``paper.data_dir`` is set."""
    from components.core.validation import validate_and_log
    from components.sciie import data as D
    from components.sciie import synth as S
    from components.sciie.params import REAL
    from components.sciie.scierc import read_jsonl, validate_doc, write_jsonl

    p = ctx.params
    out = ctx.outputs["prepared"]
    W = p.model.max_width
    g = gen_params(p)
    world = S.build_world(p.generator.world_seed, g)
    write_json(out / "world.json", {**world, "triples": S.world_triples(world)})
    test, _ = S.generate_docs(world, clean(g), derive_seed(p.generator.test_seed, "test"), p.data.n_test, "test")
    kg, kg_facts = S.generate_docs(world, clean(g), derive_seed(p.generator.kg_seed, "kg"), p.data.n_kg, "kg")
    write_jsonl(out / "test.json", test)
    write_jsonl(out / "kg_corpus.json", kg)
    write_json(out / "kg_gold.json", {"per_document": kg_facts,
                                      "edges": sorted({tuple(f) for d in kg_facts for f in d["facts"]})})
    rows = [D.summary_row(d, "test", "-", -1, W) for d in test] + [D.summary_row(d, "kg", "-", -1, W) for d in kg]
    stats = {"test": D.corpus_stats(test, world), "kg": D.corpus_stats(kg, world), "regimes": {}}
    if REAL in p.regimes() and not p.paper.data_dir:
        raise UserError("runs include regime 'scierc' (real SciERC) but sciie.paper.data_dir is not set",
                        "set sciie.paper.data_dir to SciERC's processed_data/json folder (spec §4.4), or drop the "
                        "scierc run")
    for regime in p.synthetic_regimes():
        for i in range(p.train.seeds):
            sets = S.regime_docs(world, g, regime, run_seed(p, i), p.data.n_dev, p.data.b_ner_share, W)
            for name, docs in sets.items():
                for d in docs:  # synthetic data: strict (regime D's random arguments exempt)
                    validate_doc(d, where=f"{regime}/seed{i}/{name}: ", max_width=W,
                                 args_must_be_entities=not d.get("_random_relations"))
                write_jsonl(out / regime / f"seed{i}" / f"{name}.json", docs)
                rows += [D.summary_row(d, name, regime, i, W) for d in docs]
            if i == 0:
                stats["regimes"][regime] = {"train_seed0": D.corpus_stats(sets["train"], world)}
    if p.paper.data_dir:
        real, counts = load_real(p.paper.data_dir, W)
        for split, docs in real.items():
            write_jsonl(out / REAL / f"{split}.json", docs)
            rows += [D.summary_row(d, f"real_{split}", "scierc", -1, 10 ** 6) for d in docs]
            stats[f"scierc_{split}"] = D.corpus_stats(docs, None)
        stats["scierc_tolerated"] = counts
    frame = D.summary_frame(rows)
    for r in ("rel_args_not_entities", "max_width"):  # real data: counted, not fatal (§4.4)
        frame.loc[frame.split.str.startswith("real_"), r] = 0 if r != "max_width" else 1
    validate_and_log(ctx, [("sciie-documents", frame, D.expectations(frame, W))], out)
    frame.to_csv(out / "summary.csv", index=False)
    write_json(out / "stats.json", stats)
    write_json(out / "manifest.json", {"profile": ctx.profile, "seed": p.seed, "seeds": p.train.seeds,
                                       "regimes": p.regimes(), "sha256": sha256_files(out)})
    if ctx.run:
        ctx.run.log_metrics({"n_documents": len(frame), "test_relations_per_doc": stats["test"]["relations_per_doc"],
                             "test_ambiguous_share": stats["test"].get("ambiguous_share_method_task", 0.0)})
        ctx.run.log_dict(stats, "stats.json")
    ctx.log(f"{len(frame)} documents in {len(p.regimes())} regimes × {p.train.seeds} seeds + test/kg; GX passed")


def load_real(data_dir: str, W: int) -> tuple[dict, dict]:
    """Real SciERC (``{train,dev,test}.json``) with real-data tolerance: widths > W and relation arguments that
    are not annotated entities are counted, not fatal (spec §4.4)."""
    from components.sciie.scierc import read_jsonl

    real = Path(data_dir)
    if not real.is_dir():
        raise UserError(f"sciie.paper.data_dir: {real} is not a directory",
                        "place SciERC's processed_data/json/{train,dev,test}.json there (spec §4.4)")
    counts: dict = {}
    docs = {split: read_jsonl(real / f"{split}.json", max_width=W, strict=False, counts=counts)
            for split in ("train", "dev", "test")}
    return docs, counts


def _check_prepared(p, prepared: Path, profile: str) -> dict:
    from components.core.io import verify_sha256

    mpath = prepared / "manifest.json"
    meta = read_json(mpath) if mpath.exists() else None
    if meta is None or meta.get("seed") != p.seed or meta.get("seeds") != p.train.seeds \
            or meta.get("regimes") != p.regimes() or meta.get("profile") != profile:
        raise UserError(f"{prepared} was prepared with other params or another profile", FIX_PREPARE)
    verify_sha256(prepared, meta["sha256"], FIX_PREPARE)
    return meta


def jobs_of(p) -> list[tuple[str, str, str, int]]:
    return [(r.regime, c, r.encoder, i) for r in p.runs for c in r.configs for i in range(p.train.seeds)]


def train(ctx: StepContext) -> None:
    """Every (regime, config, encoder, seed) trained in one fan-out; one nested MLflow run per training."""
    import pandas as pd

    from components.sciie.params import CONFIGS
    from components.sciie.training import TrainJob, job_cost, plan_batches, run_tag, train_batches

    p = ctx.params
    prepared, out = ctx.inputs["prepared"], ctx.outputs["models"]
    _check_prepared(p, prepared, ctx.profile)
    dumped = p.model_dump()
    jobs, children = [], []
    for regime, cfg, enc, i in jobs_of(p):
        child = None
        if ctx.run:
            child = ctx.run.start_child(run_tag(regime, cfg, enc, i), {"regime": regime, "config": cfg})
            wE, wR, wC = CONFIGS[cfg]
            child.log_params({"regime": regime, "config": cfg, "encoder": enc, "seed_index": i,
                              "seed": run_seed(p, i), "lambda_ner": wE, "lambda_rel": wR, "lambda_coref": wC,
                              **{f"model.{k}": v for k, v in p.model.model_dump().items()},
                              "epochs": p.train.epochs, "lr": p.train.lr})
        children.append(child)
        jobs.append(TrainJob(regime, cfg, enc, i, run_seed(p, i), str(prepared), str(out), dumped,
                             predict_kg=(regime == p.kg.regime and cfg == p.kg.config and enc == "bilstm"),
                             ref=child.ref() if child else None))

    costs = [job_cost(j, p.train.epochs, p.data.b_ner_share) for j in jobs]
    plan = plan_batches(costs, [j.encoder for j in jobs], ctx.runtime.workers)
    try:
        # one task per planned batch (the core's planner keeps them apart: as many items as its target)
        nested = ctx.fan_out(train_batches, [[jobs[i] for i in b] for b in plan],
                             f"train ({len(jobs)} runs in {len(plan)} batches)")
    except BaseException:
        for c in filter(None, children):
            c.finish("FAILED")
        raise
    results: list = [None] * len(jobs)
    for b, rs in zip(plan, nested):
        for i, r in zip(b, rs):
            results[i] = r
    runs = pd.DataFrame(results)
    runs["run_id"] = [c.run_id if c else "" for c in children]
    runs.to_csv(out / "runs.csv", index=False)
    logs = []
    for r in results:
        h = pd.read_csv(out / r["tag"] / "train_log.csv")
        logs.append(h.assign(tag=r["tag"], regime=r["regime"], config=r["config"], encoder=r["encoder"],
                             seed_index=r["seed_index"]))
    pd.concat(logs).to_csv(out / "train_log.csv", index=False)
    write_json(out / "meta.json", {"profile": ctx.profile, "seed": p.seed, "jobs": [list(j) for j in jobs_of(p)]})
    for c, r in zip(children, results):
        if c:
            c.finish()
    total = float(runs.train_seconds.sum() + runs.predict_seconds.sum() + runs.feature_seconds.sum())
    ctx.timings["worker_seconds_total"] = total
    ctx.log(f"{len(runs)} trainings; worker seconds {total:.0f}")


def evaluate(ctx: StepContext) -> None:
    """Official metrics per run (runs.csv), per-document counts (doc_counts.parquet), paired statistics per claim
    (paired.csv), the KG with and without coreference per seed (kg.csv + exported example graphs)."""
    import numpy as np
    import pandas as pd

    from components.core.io import write_parquet
    from components.sciie import kg as KG
    from components.sciie.claims import PAIRS
    from components.sciie.metrics import COUNTS, doc_counts, paired_bootstrap, scores_from_counts
    from components.sciie.scierc import read_jsonl
    from components.sciie.training import run_tag, test_file

    p = ctx.params
    prepared, models, out = ctx.inputs["prepared"], ctx.inputs["models"], ctx.outputs["metrics"]
    _check_prepared(p, prepared, ctx.profile)
    meta = read_json(models / "meta.json") if (models / "meta.json").exists() else {}
    if meta.get("jobs") != [list(j) for j in jobs_of(p)] or meta.get("seed") != p.seed:
        raise UserError("the trained models differ from the params (data/sciie/models)", FIX_TRAIN)
    tests: dict = {}  # test file → documents (real SciERC runs are scored on its own test split)
    runs = pd.read_csv(models / "runs.csv")
    rows, per_doc = [], []
    for r in runs.itertuples():
        tf = test_file(prepared, r.regime)
        if tf not in tests:
            tests[tf] = read_jsonl(tf, strict=tf.parent == prepared)
        test = tests[tf]
        pred = read_jsonl(models / r.tag / "pred_test.json", strict=False)
        if [d["doc_key"] for d in pred] != [d["doc_key"] for d in test]:
            raise UserError(f"{models / r.tag / 'pred_test.json'} does not cover {tf.name}", FIX_TRAIN)
        counts = [doc_counts(g, q) for g, q in zip(test, pred)]
        tot = {k: sum(c[k] for c in counts) for k in COUNTS}
        sc = scores_from_counts(tot)
        from components.sciie.params import CONFIGS

        wE, wR, wC = CONFIGS[r.config]
        if not (wE > 0 and wR > 0):
            sc["relp_p"] = sc["relp_r"] = sc["relp_f1"] = float("nan")  # Rel+ needs trained NER and relations
        rows.append({"regime": r.regime, "config": r.config, "encoder": r.encoder, "seed_index": r.seed_index,
                     "tag": r.tag, **sc, "train_seconds": r.train_seconds, "first_loss": r.first_loss,
                     "final_loss": r.final_loss})
        per_doc += [{"tag": r.tag, "doc": i, **c} for i, c in enumerate(counts)]
        if ctx.run and isinstance(r.run_id, str) and r.run_id:
            ctx.run.reopen(r.run_id).log_metrics({f"test_{k}": v for k, v in sc.items() if v == v})
    table = pd.DataFrame(rows)
    table.to_csv(out / "runs.csv", index=False)
    pdoc = pd.DataFrame(per_doc)
    write_parquet(out / "doc_counts.parquet", pdoc)

    def counts_of(regime, config, enc):
        tags = [run_tag(regime, config, enc, i) for i in range(p.train.seeds)]
        if not all(t in set(pdoc.tag) for t in tags):
            return None
        return np.stack([pdoc[pdoc.tag == t].sort_values("doc")[list(COUNTS)].to_numpy(float) for t in tags])

    paired = []
    for cid, (rm, cm, rs, cs, enc, metric) in PAIRS.items():
        M, S_ = counts_of(rm, cm, enc), counts_of(rs, cs, enc)
        if M is None or S_ is None:
            paired.append({"id": cid, "ran": False, "metric": metric,
                           "comparison": f"{rm} {cm} − {rs} {cs} ({enc})"})
            continue
        b = paired_bootstrap(M, S_, metric, p.stats.n_boot, derive_seed(p.seed, "bootstrap", cid))
        paired.append({"id": cid, "ran": True, "metric": metric, "comparison": f"{rm} {cm} − {rs} {cs} ({enc})",
                       **{k: v for k, v in b.items() if not isinstance(v, list)},
                       "deltas": b["deltas"], "f1_m": b["f1_m"], "f1_s": b["f1_s"]})
    write_json(out / "paired.json", paired)
    pd.DataFrame([{k: v for k, v in r.items() if not isinstance(v, list)} for r in paired]).to_csv(
        out / "paired.csv", index=False)

    gold = KG.gold_edges(read_json(prepared / "kg_gold.json")["edges"])
    kg_rows = []
    for i in range(p.train.seeds):
        tag = run_tag(p.kg.regime, p.kg.config, "bilstm", i)
        f = models / tag / "pred_kg.json"
        if not f.exists():
            continue
        docs = read_jsonl(f, strict=False)
        for variant, wc in (("with_coref", True), ("without_coref", False)):
            g = KG.build_kg(docs, wc, p.kg.min_count)
            kg_rows.append({"seed_index": i, "variant": variant, **KG.summarise(g, gold)})
            if i == 0:
                KG.export(g, out / "kg", f"kg_{p.kg.regime}_seed0_{variant}")
                write_json(out / "kg" / f"kg_{p.kg.regime}_seed0_{variant}.json",
                           {"nodes": g["nodes"], "edges": [[*e, c] for e, c in sorted(g["edges"].items())]})
    gold_kg = KG.build_kg(read_jsonl(prepared / "kg_corpus.json"), True, 1, ent_key="ner", rel_key="relations",
                          cl_key="clusters")
    kg_rows.append({"seed_index": -1, "variant": "gold_annotations_with_coref", **KG.summarise(gold_kg, gold)})
    pd.DataFrame(kg_rows).to_csv(out / "kg.csv", index=False)
    write_json(out / "claims_eval.json", {"paired": paired, "kg": kg_rows})
    if ctx.run:
        for name in ("runs.csv", "paired.csv", "kg.csv"):
            ctx.run.log_artifact(out / name)
    ctx.log(f"{len(table)} runs scored; {sum(r['ran'] for r in paired)} paired comparisons; {len(kg_rows)} KG rows")


def report(ctx: StepContext) -> None:
    from components.sciie.report import build_report

    build_report(ctx, ctx.params)


__all__ = ["prepare", "train", "evaluate", "report"]
