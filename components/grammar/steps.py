"""The four steps of ``grammar``: files in, files out (``data/grammar/``, ``reports/grammar/``)."""

from __future__ import annotations

from pathlib import Path

from components.core.io import write_json
from components.core.pipeline import StepContext

QUERY_SETS = "qa_{attr}_{balance}.jsonl"


def prepare(ctx: StepContext) -> None:
    """Generate DBs, templates, QA groups, documents with defects and splits; validate with GX."""
    from components.core.validation import validate_and_log
    from components.grammar import data, documents
    from components.grammar.database import all_names
    from components.grammar.generate import generate
    from components.grammar.llm import LLMCache, make_llm
    from components.grammar.jsonl import write_jsonl

    p = ctx.params
    out = ctx.outputs["prepared"]  # staged: published only if every suite validates
    cache = LLMCache()
    llm = make_llm(p.llm.paraphrase, p.llm, cache, p.queries.long_min_words, p.queries.distractor_entity_prob,
                   p.queries.long_style)
    gen = generate(p, out / "db.sqlite", out / "db_train.sqlite", llm)
    for attr in p.queries.attributes:
        mine = [e for e in gen.examples if e["attribute"] == attr]
        write_jsonl(out / QUERY_SETS.format(attr=attr, balance="balanced"), mine)
        kept = set(gen.unbalanced)
        write_jsonl(out / QUERY_SETS.format(attr=attr, balance="unbalanced"),
                    [e for e in mine if e["example_id"] in kept])
        write_json(out / f"text_templates_{attr}.json", gen.texts[attr])
    write_json(out / "unbalanced_ids.json", gen.unbalanced)
    write_json(out / "sql_templates.json", [{"id": t.id, "sql": t.sql, "placeholders": t.placeholders,
                                             "asks": t.attribute} for t in gen.sql_templates])
    write_json(out / "sql_templates_generated.json", generated_templates(gen.sql_templates))
    write_json(out / "sql_templates_with_ids.json", [{"id": t.id, "sql": t.sql_with_ids, "doc_pk": t.doc_pk}
                                                     for t in gen.sql_templates])
    write_jsonl(out / "documents.jsonl", gen.docs)
    write_json(out / "defects.json", gen.defects)
    write_jsonl(out / "reader_train.jsonl", gen.reader_pairs)
    write_json(out / "reader_train_names.json", sorted(all_names(gen.train_rows)))
    write_json(out / "fill_log.json", gen.fill_log)
    cache.save(out / "llm_cache.json")
    write_json(out / "official_summary.json", official_summary(p))

    defect_groups = {g for g, c in gen.defects["groups"].items() if c}
    entities, counts = data.table_frames(out / "db.sqlite", p.db.rows, p.db.year_range)
    frames = {"grammar-entities": entities, "grammar-tables": counts,
              "grammar-documents": data.document_frame(gen.docs, documents.entity_facts(gen.rows), gen.defects),
              "grammar-unbalanced": data.keep_frame(gen.examples, set(gen.unbalanced), defect_groups, p.queries.keep)}
    qf = data.query_frame(gen.examples, out / "db.sqlite")
    for attr in p.queries.attributes:
        frames[f"grammar-queries-{attr}"] = qf[qf["attribute"] == attr].reset_index(drop=True)
    expectations = data.suites(frames, p.queries.K, p.queries.long_min_words)
    reports = validate_and_log(ctx, {suite: (frames[suite], exp) for suite, exp in expectations.items()}, out)
    keep = frames["grammar-unbalanced"].to_dict("records")
    n_groups = len({e["group_id"] for e in gen.examples})
    if ctx.run:
        ctx.run.log_metrics({"n_groups": n_groups, "n_queries": len(gen.examples), "n_documents": len(gen.docs),
                             "n_unbalanced": len(gen.unbalanced), "n_defect_groups": len(defect_groups),
                             **{f"keep_{k['attribute']}_{'defect' if k['defect_groups'] else 'other'}": k["realised"]
                                for k in keep}})
    ctx.log(f"{n_groups} groups, {len(gen.examples)} queries, {len(gen.docs)} documents, "
            f"{len(defect_groups)} defect groups; {sum(r['evaluated'] for r in reports)} expectations passed")


def official_summary(p) -> dict:
    """The official data set of ``grammar.paper`` loaded and validated ({} when unset). Evaluating on it is not
    wired yet (README, deviations): the rest of the flow runs on the generated miniature."""
    from components.core.errors import UserError
    from components.grammar.official_data import load_official

    if p.paper.source is None:
        return {}
    if not p.paper.data_dir:
        raise UserError(f"grammar.paper.source is {p.paper.source} but grammar.paper.data_dir is unset",
                        "set grammar.paper.data_dir to the repository's benchmarks/<source>/ folder")
    data = load_official(p.paper.source, Path(p.paper.data_dir), tuple(p.queries.attributes))
    return {"source": data.source, "templates": len(data.templates), "examples": len(data.examples),
            "groups": len({e["group_id"] for e in data.examples}), "documents": len(data.documents),
            "coverage": data.coverage, "unresolved_true_ids": data.unresolved,
            "sqlite": str(data.sqlite) if data.sqlite else None}


def generated_templates(kept) -> list[dict]:
    """Every template the schema rules generate, its constraint check, and whether it is in the kept set."""
    from components.grammar.templates import check_constraints, generate_from_schema

    kept_sql = {t.sql: t.id for t in kept}
    return [{"sql": t.sql, "asks": t.attribute, "violations": check_constraints(t), "kept_as": kept_sql.get(t.sql)}
            for t in generate_from_schema()]


def _check_query_sets(ctx: StepContext) -> Path:
    """The prepared folder, after refusing corrupted query sets before any work."""
    from components.grammar.data import load_query_set

    prepared = ctx.inputs["prepared"]
    for attr in ctx.params.queries.attributes:
        load_query_set(prepared / QUERY_SETS.format(attr=attr, balance="balanced"), ctx.params.queries.K)
    return prepared


def train(ctx: StepContext) -> None:
    """Reader (b) with Lightning ∥ retrieval indexes and MiniLM embeddings (two worker jobs)."""
    from components.grammar.training import run_jobs

    p = ctx.params
    prepared = _check_query_sets(ctx)
    out = ctx.outputs["train"]
    child = ctx.run.start_child("reader_b", {"model": "span_reader"}) if ctx.run else None
    jobs = [{"kind": "reader", "prepared": str(prepared), "out": str(out), "seed": p.seed,
             "reader": p.reader.model_dump(), "run": child.ref() if child else None},
            {"kind": "indexes", "prepared": str(prepared), "out": str(out), "retrievers": p.retrieval.retrievers,
             "attributes": p.queries.attributes, "bm25_k1": p.retrieval.bm25_k1, "bm25_b": p.retrieval.bm25_b}]
    try:
        results = ctx.fan_out(run_jobs, jobs, "train", key=lambda job: job["kind"])  # side by side
    except BaseException:
        if child:
            child.finish("FAILED")
        raise
    write_json(out / "train_summary.json", results)
    if child:
        child.finish()
    merged = {k: v for r in results for k, v in r.items() if k != "kind"}
    if ctx.run:
        ctx.run.log_metrics(merged)
    ctx.log("reader (b): span-F1 short {:.3f} / long {:.3f}; indexes for {}".format(
        merged["val_span_f1_short"], merged["val_span_f1_long"], ", ".join(p.retrieval.retrievers)))


def evaluate(ctx: StepContext) -> None:
    """Every RAG system on every query set: results, metrics, diagnosis, reference-free baselines."""
    from components.grammar.evaluate import run_evaluation

    _check_query_sets(ctx)
    run_evaluation(ctx)


def report(ctx: StepContext) -> None:
    """Figures, claims table and metrics from the evaluate outputs."""
    from components.grammar.report import build_report

    build_report(ctx)


__all__ = ["prepare", "train", "evaluate", "report"]
