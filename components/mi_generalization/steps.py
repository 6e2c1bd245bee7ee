"""The four steps of ``mi_generalization``: declared inputs in, declared (staged) outputs out — see ``pipeline.py``."""

from __future__ import annotations

from components.core.errors import UserError
from components.core.io import read_json, sha256_files, write_json
from components.core.pipeline import StepContext
from components.core.seeding import derive_seed


def _bound_variants(p) -> list[tuple[float, int]]:
    return [(var, run) for var in p.variances for run in range(p.runs_at(var))]


def prepare(ctx: StepContext) -> None:
    """Generate the prototype sets and one sorted-diagonal set per (noise variance, run); load the benchmark;
    validate each family with its great-expectations suite (per-sample summary frames)."""
    import pandas as pd

    from components.core.validation import validate_and_log
    from components.mi_generalization import data as D

    p, d = ctx.params, ctx.params.data
    out = ctx.outputs["prepared"]  # staged: published only if every suite passes
    counts: dict[str, dict] = {}

    def suites():
        protos = {"proto": d.proto.noise_var}
        if p.e5.repeats:
            protos["proto_e5"] = p.e5.noise_var
        for name, var in protos.items():
            s = D.prototype_set(d.proto.size, d.proto.n, var, d.proto.noise_mean, d.proto.normalise,
                                derive_seed(p.seed, "proto", name))
            D.save_npz(out / "proto" / f"{name}.npz", s)
            counts[name] = {"n": d.proto.n, "noise_var": var}
            yield f"mi_generalization-{name}", D.proto_summary(s), D.proto_expectations(d.proto.n, d.proto.size)
        frames = []
        for var, run in ctx.progress(_bound_variants(p), "sorted-diagonal sets"):
            s = D.bound_set(d.bound.size, d.bound.train_size, var, d.bound.noise_mean, d.bound.iid_test_size,
                            derive_seed(p.seed, "bound", var, run))
            D.save_npz(out / "bound" / f"var{var:g}_run{run}.npz", s)
            frames.append(D.bound_summary(f"var{var:g}_run{run}", s))
        if frames:
            frame = pd.concat(frames, ignore_index=True)
            counts["bound"] = {"variants": len(frames), "pool": d.bound.train_size, "iid_test": d.bound.iid_test_size}
            tol = 1.0 / min(d.bound.train_size, d.bound.iid_test_size)
            yield "mi_generalization-bound", frame, D.bound_expectations(len(frame), d.bound.size, tol)
        if p.e4.repeats:
            names = ["digits"] if d.benchmark.source == "digits" else list(d.benchmark.datasets)
            for name in names:
                s = (D.digits_set(d.benchmark.test_share, derive_seed(p.seed, "digits")) if name == "digits"
                     else D.idx_set(d.benchmark.data_dir, name))
                D.save_npz(out / "benchmark" / f"{name}.npz", s)
                counts[name] = {"train": len(s["y_train"]), "test": len(s["y_test"]), "width": s["x_train"].shape[1]}
                frame = D.benchmark_summary(s)
                yield (f"mi_generalization-{name}", frame,
                       D.benchmark_expectations(len(frame), s["x_train"].shape[1], 10))

    reports = validate_and_log(ctx, suites(), out)
    write_json(out / "meta.json", {"profile": ctx.profile, "seed": p.seed, "datasets": counts,
                                   "entropies_bits": {"H(X) prototypes": 2.0, "H(Y) binary": 1.0},
                                   "sha256": sha256_files(out)})
    if ctx.run:
        ctx.run.log_metrics({"n_datasets": sum(c.get("variants", 1) for c in counts.values())})
    ctx.log(f"{len(counts)} dataset families written, {len(reports)} suites passed "
            f"({sum(r['evaluated'] for r in reports)} expectations)")


def planned_jobs(p, prepared: str, out: str) -> list:
    from components.mi_generalization.training import Job

    dumped = p.model_dump()
    jobs = [Job("e1", r, prepared, out, dumped) for r in range(p.e1.repeats)]
    jobs += [Job("e5", r, prepared, out, dumped, kind=a) for a in p.e5.activations for r in range(p.e5.repeats)]
    names = ["digits"] if p.data.benchmark.source == "digits" else list(p.data.benchmark.datasets)
    jobs += [Job("e4", r, prepared, out, dumped, kind=n) for n in names for r in range(p.e4.repeats)]
    var0 = p.data.bound.noise_var
    jobs += [Job("e2", r, prepared, out, dumped, kind=k, var=var0, optimizer=o)
             for o in p.e2.optimizers for k in p.e2.simulators for r in range(p.e2.runs)]
    e3_opt = p.e2.optimizers[0]
    jobs += [Job("e2", r, prepared, out, dumped, kind="incoherence", var=v, optimizer=e3_opt)
             for v in p.e3.variances for r in range(p.e3.runs)]
    return jobs


def train(ctx: StepContext) -> None:
    """Train every network in a batched fan-out (MI computed inside the loop); one MLflow child run each."""
    from dataclasses import replace

    from components.core.io import verify_sha256
    from components.mi_generalization.training import train_batch

    p = ctx.params
    prepared, out = ctx.inputs["prepared"], ctx.outputs["models"]
    meta = read_json(prepared / "meta.json") if (prepared / "meta.json").exists() else None
    if meta is None or meta.get("seed") != p.seed:
        raise UserError(f"{prepared} was prepared with other params",
                        "rerun `paperflows run mi_generalization --step prepare`")
    jobs = planned_jobs(p, str(prepared), str(out))
    missing = sorted({f for f in _inputs_of(jobs) if not (prepared / f).exists()})
    if missing:
        raise UserError(f"prepared data missing for the planned runs: {', '.join(missing[:3])}",
                        "rerun `paperflows run mi_generalization --step prepare` with the same params")
    needed = set(_inputs_of(jobs))  # a changed or truncated file fails here, naming it, before any training
    verify_sha256(prepared, {k: v for k, v in meta["sha256"].items() if k in needed},
                  "rerun `paperflows run mi_generalization --step prepare`")
    children = []
    for i, job in enumerate(jobs):
        child = ctx.run.start_child(job.tag, {"exp": job.exp, "kind": job.kind, "var": job.var, "run": job.run,
                                              "optimizer": job.optimizer}) if ctx.run else None
        children.append(child)
        jobs[i] = replace(job, ref=child.ref() if child else None)
    ctx.log(f"{len(jobs)} networks to train")
    try:
        results = ctx.fan_out(train_batch, jobs, "train", cost=lambda j: j.cost)
    except BaseException:
        for child in filter(None, children):
            child.finish("FAILED")
        raise
    manifest = [{**r, "run_id": c.run_id if c else None} for r, c in zip(results, children)]
    write_json(out / "runs.json", manifest)
    for child in filter(None, children):
        child.finish()
    seconds = {e: sum(r["train_seconds"] for r in manifest if r["exp"] == e) for e in ("e1", "e2", "e4", "e5")}
    if ctx.run:
        ctx.run.log_metrics({"n_networks": len(manifest), **{f"train_seconds_{e}": s for e, s in seconds.items()}})
    ctx.timings.update({f"train_seconds_{e}": s for e, s in seconds.items()})
    ctx.log(f"{len(manifest)} networks trained; worker seconds " + ", ".join(f"{e} {s:.0f}" for e, s in seconds.items()))


def _inputs_of(jobs) -> list[str]:
    files = []
    for j in jobs:
        if j.exp == "e1":
            files.append("proto/proto.npz")
        elif j.exp == "e5":
            files.append("proto/proto_e5.npz")
        elif j.exp == "e4":
            files.append(f"benchmark/{j.kind}.npz")
        else:
            files.append(f"bound/var{j.var:g}_run{j.run}.npz")
    return files


def evaluate(ctx: StepContext) -> None:
    """Final metrics per network, bootstrap CIs, the estimators' known-MI checks, claim verdicts."""
    import pandas as pd

    from components.mi_generalization import claims as C
    from components.mi_generalization import evaluation as E

    p = ctx.params
    models = ctx.inputs["models"]
    manifest = read_json(models / "runs.json")
    planned = {j.tag for j in planned_jobs(p, "", "")}
    if planned != {r["tag"] for r in manifest}:
        raise UserError("the trained networks differ from the networks in params (data/mi_generalization/models)",
                        "rerun `paperflows run mi_generalization --step train`")
    table = E.run_table(manifest, p.evaluate.plugin, p.evaluate.sigma)
    if "exp" in table and (table.exp == "e1").any():
        first = []
        for tag in table.loc[table.exp == "e1", "tag"]:
            curve = pd.read_csv(models / f"{tag}_curves.csv")
            hit = curve.loc[curve.train_acc >= 1.0, "epoch"]
            first.append(float(hit.min()) if len(hit) else float("inf"))
        table.loc[table.exp == "e1", "epoch_acc1"] = first
    boot, seed, fit = p.evaluate.bootstrap, derive_seed(p.seed, "bootstrap"), p.evaluate.fit_train_acc
    var0 = p.data.bound.noise_var
    opt0 = p.e2.optimizers[0]
    pairs = E.bound_pairs(table, opt0, var0)
    e1 = table[table.exp == "e1"] if len(table) else table
    widths = {"t1": p.e1.hidden[0], "t2": p.e1.hidden[1] if len(p.e1.hidden) > 1 else 2, "yhat": 2}
    sweep = table[(table.exp == "e2") & (table.kind == "incoherence") & (table.optimizer == opt0)] if len(table) else table
    checks = E.estimator_checks()
    rows = [C.m1_tighter(pairs, boot, seed, fit), C.m2_valid(pairs, boot, seed, fit), C.m3_accuracy(e1, widths, fit),
            C.m4_explains(sweep), C.m5_benchmark(table[table.exp == "e4"] if len(table) else table,
                                                 p.data.benchmark.source),
            C.m6_numbers(), C.estimator_check(checks), C.bound_identity_check(), C.e1_reference_check(e1)]
    for opt in p.e2.optimizers[1:]:  # the paper profile's SGD variant: M1/M2 again, as context
        alt = E.bound_pairs(table, opt, var0)
        for r in (C.m1_tighter(alt, boot, seed, fit, f"-{opt}"), C.m2_valid(alt, boot, seed, fit, f"-{opt}")):
            r.update(kind="context", note=f"M1/M2 rerun with optimizer {opt} (the bounds' assumptions hold); the "
                                          f"counted rows use {opt0}, as the official code")
            rows.append(r)
    aggregates = _aggregates(table, pairs, boot, seed)
    table.to_csv(ctx.outputs["runs"], index=False)
    write_json(ctx.outputs["summary"], {"claims": rows, "estimator_checks": checks, "aggregates": aggregates,
                                        "optimizer": opt0, "var": var0, "plugin": p.evaluate.plugin})
    if ctx.run:
        run_ids = {r["tag"]: r["run_id"] for r in manifest}
        for rec in table.to_dict("records"):
            if run_ids.get(rec["tag"]):
                ctx.run.reopen(run_ids[rec["tag"]]).log_metrics(
                    {f"eval_{k}": v for k, v in rec.items() if k in ("gap_01", "gap_code", "gap_ce", "i_hat", "b_xr",
                                                                     "bound", "test_acc", "epoch_acc1")
                     and v == v and abs(v) != float("inf")})
        ctx.run.log_metrics({k: v for k, v in aggregates.items() if v == v})
    ctx.log("claims: " + ", ".join(f"{r['id']} {r['verdict']}" for r in rows))


def _aggregates(table, pairs, boot: int, seed: int) -> dict:
    from components.mi_generalization.evaluation import boot_ci

    out = {}
    for kind, g in pairs.items():
        for col in ("bound", "b_xr", "gap_01", "gap_code", "gap_ce", "i_hat", "train_acc", "err_iid"):
            m, lo, hi = boot_ci(g[col], boot, seed)
            out[f"e2.{kind}.{col}_mean"], out[f"e2.{kind}.{col}_lo"], out[f"e2.{kind}.{col}_hi"] = m, lo, hi
        out[f"e2.{kind}.ratio"] = float(g["b_xr"].mean() / g["bound"].mean())
    e1 = table[table.exp == "e1"] if len(table) else table
    for col in ("i_xt_t1", "i_yt_yhat", "i_xbar_t_t1", "train_acc", "test_acc"):
        if len(e1) and col in e1:
            out[f"e1.{col}_mean"] = float(e1[col].mean())
    if len(e1) and "i_xt_t1" in e1:  # M3's t-CIs and the count of repeats that merged prototypes
        from components.mi_generalization.claims import MERGED_BELOW
        from components.mi_generalization.evaluation import t_ci

        for col in ("i_xt_t1", "i_yt_yhat"):
            _, out[f"e1.{col}_lo"], out[f"e1.{col}_hi"], _, _ = t_ci(e1[col])
        out["e1.repeats"] = float(len(e1))
        out["e1.merged_repeats"] = float((e1["i_xt_t1"] < MERGED_BELOW).sum())
    return out


def report(ctx: StepContext) -> None:
    from components.mi_generalization.report import build_report

    build_report(ctx)


__all__ = ["prepare", "train", "evaluate", "report"]
