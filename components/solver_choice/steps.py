"""The four steps of ``solver_choice`` (declared in ``pipeline.py``): prepare → train → evaluate → report."""

from __future__ import annotations

import json
import time
from pathlib import Path

from components.core.errors import UserError
from components.core.io import atomic_path, read_json, write_json
from components.core.pipeline import StepContext
from components.core.seeding import derive_seed
from components.solver_choice.data import DATASETS, read_jsonl, write_jsonl
from components.solver_choice.programs import LANGUAGES


def _gen(job: dict) -> dict:
    """One dataset (train + test) — module level so it can run in a worker."""
    from components.solver_choice import generators as G

    p, ds, seed = job["p"], job["ds"], job["seed"]
    d = p["data"][ds]
    stats = {}
    if ds == "prontoqa":
        test = G.prontoqa(derive_seed(seed, ds, "test"), d["n_test"], tuple(d["hops_test"]), "test")
        train = G.prontoqa(derive_seed(seed, ds, "train"), d["n_train_problems"], tuple(d["hops_train"]), "train")
    elif ds == "proofwriter":
        args = (d["theory_types"], d["n_entities"], tuple(d["n_facts"]), tuple(d["n_rules"]), d["p_negation"])
        test, stats = G.proofwriter(derive_seed(seed, ds, "test"), d["n_test"], tuple(d["depth_test"]), *args, "test")
        train, _ = G.proofwriter(derive_seed(seed, ds, "train"), d["n_train_problems"], tuple(d["depth_train"]),
                                 *args, "train", classical_check=False)
    else:
        test, stats = G.folio(derive_seed(seed, ds, "test"), d["n_test"], tuple(d["n_premises"]), d["p_nonhorn"],
                              "test")
        train, _ = G.folio(derive_seed(seed, ds, "train"), d["n_train_problems"], tuple(d["n_premises"]), 0.0, "train")
        stats["prover9_disagree"] = _prover9_check(test)
    return {"ds": ds, "test": test, "train": train, "stats": stats}


def _prover9_check(items: list[dict]) -> int:
    """FOLIO-lite gold labels: Prover9 (goal / negated goal) must agree with the Z3 label; returns disagreements."""
    from components.solver_choice import formats as F
    from components.solver_choice.solvers import prove

    bad = 0
    for it in items:
        prem = [F.to_ladr(_consts(p)) + "." for p in it["premises"]]
        g = F.to_ladr(_consts(it["goal"]))
        lab = "A" if prove(prem, g, 10) == "proved" else "B" if prove(prem, f"-({g})", 10) == "proved" else "C"
        it["fc_equals_classical"] = lab == it["answer"]
        bad += lab != it["answer"]
    return bad


def _consts(f: list) -> list:
    from components.solver_choice import logic as L

    if f[0] == "atom":
        return ["atom", f[1], [a if L.is_var(a) else "c_" + a for a in f[2]]]
    if f[0] == "not":
        return ["not", _consts(f[1])]
    if f[0] in ("all", "ex"):
        return [f[0], f[1], _consts(f[2])]
    return [f[0], _consts(f[1]), _consts(f[2])]


def prepare(ctx: StepContext) -> None:
    """Generate the three datasets, gold programs in all three languages, translator training pairs; GX suites."""
    from components.solver_choice import programs as P
    from components.solver_choice.data import expectations, load_logiclm, summary_frame
    from components.core.validation import validate_and_log

    p = ctx.params
    out = ctx.outputs["prepared"]
    if p.data.source == "logiclm":
        for ds in DATASETS:
            write_jsonl(out / "data" / f"{ds}_test.jsonl", load_logiclm(p.data.logiclm_dir, ds))
            write_jsonl(out / "data" / f"{ds}_train.jsonl", [])
        write_json(out / "stats.json", {"source": "logiclm", "seed": p.seed})
        write_json(out / "ge_validation.json", [])
        return
    t0 = time.perf_counter()
    jobs = [{"p": p.model_dump(), "ds": ds, "seed": p.seed} for ds in DATASETS]
    results = ctx.fan_out(_batch_gen, jobs, "generate datasets", cost=lambda j: {"folio": 3, "proofwriter": 2}.get(j["ds"], 1))
    stats: dict = {"source": "synthetic", "seed": p.seed, "profile": ctx.profile}
    train_texts = set()
    for r in results:
        train_texts |= {it["context"] for it in r["train"]}
    frames = []
    for r in results:
        ds, test, train = r["ds"], r["test"], r["train"]
        if ds == "proofwriter":
            cells: dict = {}
            for it in test:
                cells[(it["depth"], it["answer"])] = cells.get((it["depth"], it["answer"]), 0) + 1
            balanced = len(set(cells.values())) == 1
            for it in test:
                it["cell_count_ok"] = balanced
        write_jsonl(out / "data" / f"{ds}_test.jsonl", test)
        write_jsonl(out / "data" / f"{ds}_train.jsonl", train)
        gold_ok = {}
        for lang in LANGUAGES:
            rows = [{"id": it["id"], "program": P.gold_program(it, lang)} for it in test]
            write_jsonl(out / "gold" / lang / f"{ds}.jsonl", rows)
            gold_ok[lang] = {r_["id"] for r_ in rows if r_["program"].strip()}
        stats[ds] = {"n_test": len(test), "n_train": len(train), **r["stats"],
                     "labels": {lab: sum(it["answer"] == lab for it in test) for lab in "ABC"}}
        frames.append((f"solver_choice-{ds}", summary_frame(test, train_texts, gold_ok),
                       expectations(ds, len(test), p.data.folio.p_nonhorn)))
    for lang in LANGUAGES:
        pairs = []
        for r in results:
            for it in r["train"]:
                pairs += P.sentence_targets(it, lang)
        write_jsonl(out / "pairs" / f"{lang}.jsonl", pairs)
        stats[f"pairs_{lang}"] = len(pairs)
    validate_and_log(ctx, frames, out)
    stats["seconds"] = time.perf_counter() - t0
    write_json(out / "stats.json", stats)
    if ctx.run:
        ctx.run.log_metrics({f"{ds}_n_test": stats[ds]["n_test"] for ds in DATASETS})
    ctx.log(f"datasets: " + ", ".join(f"{ds} {stats[ds]['n_test']} test / {stats[ds]['n_train']} train" for ds in DATASETS))


def _batch_gen(jobs: list[dict]) -> list[dict]:
    return [_gen(j) for j in jobs]


def _batch_train(jobs: list[dict]) -> list[dict]:
    from components.solver_choice.seq2seq import train_language

    return [train_language(j) for j in jobs]


def train(ctx: StepContext) -> None:
    """One seq2seq translator per language (Lightning), checkpoints at the quality levels."""
    p = ctx.params
    prepared, out = ctx.inputs["prepared"], ctx.outputs["translators"]
    stats = read_json(prepared / "stats.json")
    if stats.get("seed") != p.seed:
        raise UserError(f"{prepared} was prepared with another seed", "rerun `paperflows run solver_choice --step prepare`")
    if p.data.source == "logiclm":
        write_json(out / "manifest.json", {"languages": {}, "note": "no seq2seq translators for real benchmarks"})
        return
    jobs = []
    for lang in LANGUAGES:
        child = ctx.run.start_child(f"train/{lang}", {"lang": lang}) if ctx.run else None
        if child:
            child.log_params({**p.translators.model.model_dump(), "levels": p.translators.levels})
        jobs.append({"lang": lang, "pairs": str(prepared / "pairs" / f"{lang}.jsonl"), "out": str(out / lang),
                     "seed": derive_seed(p.seed, "seq2seq", lang), "levels": p.translators.levels,
                     "max_len": p.translators.max_len, "model": p.translators.model.model_dump(),
                     "run": child.ref() if child else None, "_child": child})
    children = [j.pop("_child") for j in jobs]
    results = ctx.fan_out(_batch_train, jobs, "train translators")
    for c in filter(None, children):
        c.finish()
    write_json(out / "manifest.json", {"languages": {r["lang"]: r for r in results}, "levels": p.translators.levels})
    ctx.log("line exact-match: " + "; ".join(f"{r['lang']} " + "/".join(f"{c['line_exact_match']:.2f}" for c in r["curve"])
                                             for r in results))


def _batch_decode(jobs: list[dict]) -> list[dict]:
    from components.solver_choice.seq2seq import decode_job

    return [decode_job(j) for j in jobs]


def _chat_jobs(p, prepared: Path, items: dict, cache_dir: Path) -> list[dict]:
    """One job per (chat translator, language, dataset): its first ``n_items`` test items, few-shot.

    Nine jobs per translator keep both workers busy; each worker process loads the model once."""
    from components.solver_choice.translators import few_shot_examples

    t = p.translators
    chats = []
    if t.smollm2.enabled:
        chats.append(("smollm2", t.smollm2.n_items, t.smollm2.shots, t.smollm2.max_tokens, {}))
    if t.openai_compat.enabled:
        o = t.openai_compat
        if not o.base_url or not o.model:
            raise UserError("translators.openai_compat needs base_url and model",
                            "set them under solver_choice.translators.openai_compat in profiles/paper.yaml")
        chats.append((f"openai_{o.model}", None, o.shots, o.max_tokens, o.model_dump()))
    # the paper profile's real benchmarks have no training split: their prompts are zero-shot
    train = {ds: read_jsonl(prepared / "data" / f"{ds}_train.jsonl") for ds in DATASETS} if chats else {}
    return [{"translator": name, "lang": lang, "dataset": ds, "max_tokens": max_tokens, "openai": openai,
             "items": items[ds][:n] if n else items[ds], "shots": few_shot_examples(train[ds], k),
             "cache": str(cache_dir / f"{name}_{lang}_{ds}.json")}
            for name, n, k, max_tokens, openai in chats for lang in LANGUAGES for ds in DATASETS]


def _batch_chat(jobs: list[dict]) -> list[dict]:
    from components.solver_choice.translators import chat_translate_job

    return [chat_translate_job(j) for j in jobs]


def evaluate(ctx: StepContext) -> None:
    """Translate → execute (pool, cache, parent-enforced limit) → per-item records → points → correlations."""
    import numpy as np
    import pandas as pd

    from components.solver_choice import metrics as M
    from components.solver_choice.executor import cache_key, execute_all
    from components.solver_choice.translators import GoldTranslator, NoisyGoldTranslator, seq2seq_program

    p = ctx.params
    prepared, models, out = ctx.inputs["prepared"], ctx.inputs["translators"], ctx.outputs["evaluation"]
    items = {ds: read_jsonl(prepared / "data" / f"{ds}_test.jsonl") for ds in DATASETS}
    manifest = read_json(models / "manifest.json")
    t0 = time.perf_counter()
    programs: dict[tuple, list[str]] = {}  # (translator, lang, ds) → program per item
    if p.data.source == "synthetic":
        gold = GoldTranslator()
        for lang in LANGUAGES:
            for ds in DATASETS:
                programs[("gold", lang, ds)] = [gold.translate(it, lang) for it in items[ds]]
                for eps in p.translators.noisy_gold:
                    tr = NoisyGoldTranslator(eps, p.seed)
                    programs[(tr.name, lang, ds)] = [tr.translate(it, lang) for it in items[ds]]
        levels = [f"q{k + 1}" for k in range(len(p.translators.levels))]
        if set(manifest.get("languages", {})) != set(LANGUAGES):
            raise UserError(f"{models} lacks trained translators", "rerun `paperflows run solver_choice --step train`")
        inputs = sorted({(s["section"], s["text"]) for ds in DATASETS for it in items[ds] for s in it["sentences"]} |
                        {("decl", s["text"]) for ds in DATASETS for it in items[ds] for s in it["sentences"]})
        jobs = [{"key": f"{lang}/{lv}", "lang": lang, "level": lv, "dir": str(models / lang), "inputs": inputs,
                 "max_len": p.translators.max_len} for lang in LANGUAGES for lv in levels]
        decoded = {r["key"]: dict(zip(map(tuple, inputs), r["outputs"]))
                   for r in ctx.fan_out(_batch_decode, jobs, "decode")}
        for lang in LANGUAGES:
            for lv in levels:
                outs = decoded[f"{lang}/{lv}"]
                for ds in DATASETS:
                    programs[(f"seq2seq_{lv}", lang, ds)] = [seq2seq_program(it, lang, outs) for it in items[ds]]
    else:
        levels = []
    chat_jobs = _chat_jobs(p, prepared, items, ctx.paths.data / "llm_cache")
    for r in ctx.fan_out(_batch_chat, chat_jobs, "LLM translation",
                         cost=lambda j: {"proofwriter": 2, "folio": 1.5}.get(j["dataset"], 1)):
        programs[(r["translator"], r["lang"], r["dataset"])] = r["programs"]
    t_translate = time.perf_counter() - t0
    nopt = {ds: len(items[ds][0]["options"]) if items[ds] else 3 for ds in DATASETS}
    tasks = [(lang, prog, nopt[ds], "fixed") for (t, lang, ds), progs in programs.items() for prog in progs]
    harness = [(it, prog) for it, prog in zip(items["proofwriter"], programs.get(("gold", "pyke", "proofwriter"), []))]
    tasks += [("pyke", prog, nopt["proofwriter"], "logiclm") for _, prog in harness]
    cache: dict = {}
    t1 = time.perf_counter()
    results = execute_all(tasks, p.execution.workers, p.execution.solver_timeout, p.execution.item_limit, cache)
    t_exec = time.perf_counter() - t1
    records, points = [], []
    for (t, lang, ds), progs in sorted(programs.items()):
        recs = []
        for it, prog in zip(items[ds], progs):
            r = results[cache_key(lang, "fixed", nopt[ds], prog)]
            recs.append({"translator": t, "lang": lang, "dataset": ds, "id": it["id"], "gold": it["answer"],
                         "depth": it["depth"], "theory": it["theory"], **{k: r[k] for k in ("flag", "error", "answer")},
                         "detail": r["detail"], "seconds": r.get("seconds", 0.0)})
        records += recs
        pt = M.point(recs, derive_seed(p.seed, "backup", t, lang, ds), nopt[ds])
        points.append({"translator": t, "lang": lang, "dataset": ds, **{k: v for k, v in pt.items() if k != "errors"},
                       "errors": json.dumps(pt["errors"], sort_keys=True)})
        _write_programs(out, t, lang, ds, items[ds], progs, recs)
    h = _harness(harness, results, nopt["proofwriter"])
    seq = [f"seq2seq_{lv}" for lv in levels]
    arrays = {(r["translator"], r["lang"], r["dataset"]): None for r in points}
    frame = pd.DataFrame(records)
    for key in arrays:
        sub = frame[(frame.translator == key[0]) & (frame.lang == key[1]) & (frame.dataset == key[2])]
        arrays[key] = ((sub.flag == "success").to_numpy(float),
                       ((sub.flag == "success") & (sub.answer == sub.gold)).to_numpy(float))
    boot = M.Bootstrap(arrays, p.evaluate.bootstrap, derive_seed(p.seed, "bootstrap"))
    corr = M.correlations(points, boot, seq, list(DATASETS))
    spread = M.spread_max(points, boot, seq, list(DATASETS))
    diffs = M.mean_exe_rate_diffs(points, boot, seq, list(DATASETS))
    pd.DataFrame(points).to_csv(out / "points.csv", index=False, float_format="%.6f")
    frame.to_csv(out / "records.csv", index=False)
    write_json(out / "correlations.json", {
        "correlations": {k: {kk: vv for kk, vv in v.items() if kk != "_reps"} for k, v in corr.items()},
        "spread": spread, "exe_rate_means": diffs, "levels": levels,
        "seconds": {"translate": t_translate, "execute": t_exec, "programs": len(tasks), "unique": len(cache)}})
    write_json(out / "harness_compat.json", h)
    write_json(out / "cache.json", cache)
    with atomic_path(out / "bootstrap.npz") as tmp:  # replicate correlations per (language, accuracy): arrays only
        with open(tmp, "wb") as fh:
            np.savez(fh, **{f"{lang}.{acc}": reps for lang, v in corr.items() for acc, reps in v["_reps"].items()})
    if ctx.run:
        for pt in points:
            ctx.run.log_metrics({f"{pt['translator']}.{pt['lang']}.{pt['dataset']}.{m}": float(pt[m])
                                 for m in ("exe_rate", "acc_strict", "acc_random") if pt[m] == pt[m]})
        ctx.run.log_metrics({f"r_{k}_{a}": v[a]["r"] for k, v in corr.items() for a in ("acc_strict", "exe_acc")
                             if v[a]["r"] == v[a]["r"]})
    ctx.timings.update({"translate_seconds": t_translate, "execute_seconds": t_exec})
    ctx.log(f"{len(tasks)} programs ({len(cache)} unique) executed in {t_exec:.0f} s; max spread "
            f"{spread['max_spread']:.2f}")


def _write_programs(out: Path, t: str, lang: str, ds: str, items, progs, recs) -> None:
    write_jsonl(out / "programs" / t / lang / f"{ds}.jsonl",
                [{"id": it["id"], "program": pr} for it, pr in zip(items, progs)])
    write_jsonl(out / "exec" / t / lang / f"{ds}.jsonl",
                [{k: r[k] for k in ("id", "flag", "error", "answer", "gold", "detail", "seconds")} for r in recs])


def _harness(harness, results, nopt) -> dict:
    from components.solver_choice.executor import cache_key

    rows = []
    for it, prog in harness:
        f = results[cache_key("pyke", "fixed", nopt, prog)]
        c = results[cache_key("pyke", "logiclm", nopt, prog)]
        rel = len(it["goal"][1][2] if it["goal"][0] == "not" else it["goal"][2]) == 2
        rows.append({"id": it["id"], "rel_query": rel, "gold": it["answer"], "fixed": f["answer"], "compat": c["answer"]})
    rel = [r for r in rows if r["rel_query"]]
    att = [r for r in rows if not r["rel_query"]]
    acc = lambda rs, k: sum(r[k] == r["gold"] for r in rs) / len(rs) if rs else float("nan")  # noqa: E731
    return {"n_rel": len(rel), "n_att": len(att), "fixed_rel": acc(rel, "fixed"), "compat_rel": acc(rel, "compat"),
            "fixed_att": acc(att, "fixed"), "compat_att": acc(att, "compat"),
            "att_equal": all(r["fixed"] == r["compat"] for r in att), "rows": rows}


def report(ctx: StepContext) -> None:
    from components.solver_choice.report import build

    build(ctx, ctx.params)
