"""The grammar report: claims table, metric tables per RAG system × attribute, figures, metrics.json."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from components.core.io import read_json
from components.core.reporting import Report, write_outputs
from components.grammar.claims import Inputs, all_claims
from components.grammar.evaluation import MODULES

CLAIM_NUMBERS = {"G1": "g1_drob", "G1-any": "g1_any_systems", "G1b": "g1b_rob_range", "G2": "g2_drob_keyword_oracle",
                 "G3": "g3_retrieval_share", "G3b": "g3b_generator_share", "G4": "g4_macro_recall",
                 "G5": "g5_min_share", "G6": "g6_keyword_oracle_faithfulness_precision", "G7": "g7_systems"}
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
               for s, by_attr in reference_free.items() for a, d in by_attr.items() for e, v in d.items()],
              floatfmt=".3f")
    optional_sections(rep, read_json(ctx.inputs["llm_arm"]), read_json(ctx.inputs["interop"]))
    claims = write_outputs(ctx, rep, claims, flat_metrics(metrics, claim_values))
    counted = [c for c in claims if c.kind == "claim"]
    if ctx.run:
        ctx.run.log_metrics({f"claim_{cid}_observed": claim_values[key] for cid, key in CLAIM_NUMBERS.items()
                             if key in claim_values})
        ctx.run.set_tags({f"verdict_{c.id}": c.verdict for c in claims})
        ctx.run.log_metrics({"n_reproduced": sum(c.verdict == "reproduced" for c in counted)})
    ctx.log(f"{sum(c.verdict == 'reproduced' for c in counted)}/{len(counted)} claims reproduced "
            f"({len(claims) - len(counted)} checks/context rows not counted)")


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
            "G1 evidence: on keyword+learned both modules degrade on long queries — keyword top-1 retrieval "
            f"{val('keyword+learned', 'short', 'unbalanced', 'top1_retrieval_accuracy'):.2f} (short) vs "
            f"{val('keyword+learned', 'long', 'unbalanced', 'top1_retrieval_accuracy'):.2f} (long), reader (b) "
            f"span-F1 {reader.get('val_span_f1_short', math.nan):.2f} vs {reader.get('val_span_f1_long', math.nan):.2f} — "
            "so accuracy falls as much as robustness and the unbalanced keep rates cannot offset it; in the Spider "
            "anchor retrieval accuracy was nearly equal for short and long (Acc_r 0.368 vs 0.353). Systems whose "
            "retriever is nearly as good on long queries show the effect (G1-any).")
    path = results / "keyword+oracle" / "long_balanced.jsonl"
    if path.exists():
        rows = load_jsonl(path)
        empty = sum(not str(r["response"]).strip() for r in rows) / len(rows)
        parts.append(
            f"G6 evidence: the oracle reader abstains (empty answer) on {empty:.0%} of keyword+oracle long queries — "
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
        rep.table([{"file": f, **{k: m[k] for k in ("n_examples", "n_groups", "n_gap", "n_robust", "n_non_robust",
                                                   "accuracy", "accuracy_r", "knowledge_accuracy", "robustness",
                                                   "robustness_r")}} for f, m in interop.items()],
                  floatfmt=".4f")


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
