"""The sciie report: generator statistics vs SciERC, per-regime results, paired differences with CIs, loss
curves, the KG with and without coreference, the honest reading, deviations, and the claims table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from components.core.claims import mean_sd
from components.core.io import read_json
from components.core.reporting import Report, write_outputs, write_plot

DEVIATIONS = [
    "**Encoder**: random 64-d word embeddings → BiLSTM 64 per direction (no GloVe, char-CNN or ELMo offline); "
    "MiniLM-L6 (frozen, first sub-token, projected to 128) for M10 (spec §3.2).",
    "**Sizes**: W = 4, width embedding 16, FFNN 1 × 100, ρ_R = 0.4, ρ_C = 0.3 of document tokens, K = 30, 15 epochs, "
    "Adam 1e-3 without decay, clip 5, fixed epochs (no dev model selection) — spec §3.2 SciIE-mini defaults.",
    "**Gold mentions in training beams** (`gold_mentions_in_beam: true`, as in the pilot): training only, never at "
    "inference; with `_ner_observed = false` only relation arguments and cluster mentions are forced in.",
    "**Soft head**: attention logits are a linear function of h_t (e2e-coref's projection) instead of w_α · FFNN_α.",
    "**Coreference antecedent distance**: bucketed distance in kept-mention order (e2e-coref style), not tokens.",
    "**Dev sets** are generated per (regime, seed) but not used for selection in the default profile "
    "(`train.predict_dev: false`, pre-registration: fixed epochs); the per-epoch log has losses only.",
    "**M8 (C100/C350)** and **M11 (real SciERC)** are paper-profile rows, not run here. Real SciERC is wired by "
    "path: `sciie.paper.data_dir` (placed by a person, never downloaded) is read with real-data tolerance in "
    "`prepare`, a `scierc` run trains on its train split and is scored on its test split (spans wider than W are "
    "not enumerated, so they count as misses).",
    "**Speed** (measured, same functions): the BiLSTM runs as two padded one-direction passes instead of a packed "
    "sequence (≈ 4× less CPU forward + backward; the backward direction reverses each sentence in place), the "
    "relation/coref pair layer is split by input block, the mention scores are computed once per step (the beam and "
    "the pair scores share one dropout draw), and a regime-B `ner` step without NER labels skips the forward pass.",
    "**M9 CI**: bootstrap over seeds of the per-seed ΔR / ΔP (the KG is a corpus-level set; no per-document "
    "decomposition), not the two-level document bootstrap of §6.",
    "**Generator**: concept names keep ≤ 4 tokens (multi-token Metric heads such as \"word error rate\" get one "
    "modifier) so W = 4 covers every mention; Method ambiguity is spread evenly over the Zipf popularity ranks so the "
    "ambiguous-mention share tracks `p_amb`; regime D also drops the coreference clusters (coref is unused there).",
    "**Verdict guards**: fewer than 3 seeds, a compared run whose final training loss exceeds 0.8 × its first-epoch "
    "loss, or a side with F1 = 0 on every seed make a row inconclusive (the §8 rule is otherwise applied as written, "
    "\"reproduced\" checked first).",
    "**Controls** M6 (positive, by construction) and M7 (negative) are `check` rows, as is M9 (largely by "
    "construction); they do not count in the totals.",
]

HONEST = (
    "**Honest reading (spec §8, restated).** At miniature scale the pilot found the multi-task gain **only in regime "
    "B**, a label-scarcity regime the paper did not test. In the paper's own setting (all tasks annotated "
    "everywhere, regime A) the pilot found a small deficit that shrinks to zero as the auxiliary weights fall, and no "
    "gain. B is a positive control **by construction**: with `p_orphan = 0` relation labels reveal every entity "
    "boundary and, through the relations' type signatures, most entity types. Its success shows the mechanism "
    "works, not that the paper's claim holds; B's result is **not** a reproduction of P4. The verdicts of this run "
    "per regime are in the paired table and the claims table; the multi-task headline numbers of the paper come "
    "from separately tuned configurations (spec §2.3), whereas every comparison here is within one architecture and "
    "one hyperparameter family.")


def build_report(ctx, p) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from components.sciie.claims import build_claims
    from components.sciie.data import SCIERC_STATS

    prepared, metrics, models = ctx.inputs["prepared"], ctx.inputs["metrics"], ctx.inputs["models"]
    runs = pd.read_csv(metrics / "runs.csv")
    train_runs = pd.read_csv(models / "runs.csv")
    paired = read_json(metrics / "paired.json")
    kg = pd.read_csv(metrics / "kg.csv")
    stats = read_json(prepared / "stats.json")
    logs = pd.read_csv(models / "train_log.csv")
    trimmed = {t.split(":", 1)[0].strip(): t.split(":", 1)[1].strip() for t in p.trimmed if ":" in t}
    claims = build_claims(paired, train_runs, kg[kg.seed_index >= 0], p, trimmed, scores=runs)

    rep = Report("SciIE / SciERC: multi-task entities, relations and coreference (Luan et al., EMNLP 2018) — "
                 f"profile `{ctx.profile}`")
    rep.text("A SciIE-style span model (SciIE-mini, spec §3.2) trained in Lightning on the seeded synthetic SciERC-"
             "format corpus `scierc_synth`; multi-task vs single-task within one architecture, paired by seed; "
             "official entity / relation (Rel, Rel+) F1 and MUC / B³ / CEAF-e / CoNLL; a knowledge graph with and "
             "without coreference merging against the generator's exact fact graph.")
    rep.heading("Claims")
    rep.claims(claims)
    rep.text(HONEST)
    v = {c.id: c for c in claims}
    rep.text("**This run, per regime.** Regime A (the paper's setting) NER: M1 (A15) " + v["M1"].verdict + ", M2 (A30) "
             + v["M2"].verdict + ", M5 (down-weighted auxiliaries) " + v["M5"].verdict + ". Relations in A30 (M3): "
             + v["M3"].verdict + "; coreference in A30 (M4): " + v["M4"].verdict + ". Regime B positive control (M6, "
             "not a reproduction of P4): " + v["M6"].verdict + ". Rows not run say why. Where M3 reproduces, note "
             "that with `p_orphan = 0` every entity is a relation argument, so NER labels supervise exactly the spans "
             "the relation beam must find; the paper profile repeats A and B with `p_orphan = 0.3`.")

    rep.heading("Generator statistics vs SciERC (P1)")
    t = stats["test"]
    rep.table([{"corpus": "scierc_synth test", "documents": t["documents"], "entities": t["entities"],
                "relations": t["relations"], "relations/doc": t["relations_per_doc"], "clusters": t["clusters"],
                "cross-sentence clusters": t["cross_sentence_cluster_share"],
                "ambiguous Method/Task share": t.get("ambiguous_share_method_task")},
               {"corpus": "SciERC (paper, [R])", "documents": SCIERC_STATS["documents"],
                "entities": SCIERC_STATS["entities"], "relations": SCIERC_STATS["relations"],
                "relations/doc": SCIERC_STATS["relations_per_doc"], "clusters": SCIERC_STATS["clusters"]}])
    rep.table([{"split": "test", **{k: v for k, v in t["entities_by_type"].items()}}])
    rep.table([{"split": "test", **{k: v for k, v in t["relations_by_type"].items()}}])

    rep.heading("Results per regime and configuration (test, mean ± sd over seeds; per-seed values)")
    rows = []
    for (regime, enc, cfg), g in runs.groupby(["regime", "encoder", "config"], sort=True):
        g = g.sort_values("seed_index")
        row = {"regime": regime, "encoder": enc, "config": cfg, "n": len(g)}
        for m, name in (("ent_f1", "entity F1"), ("rel_f1", "Rel F1"), ("relp_f1", "Rel+ F1"), ("conll_f1", "CoNLL")):
            vals = g[m].dropna()
            row[name] = mean_sd(vals) if len(vals) else "—"
        row["entity F1 per seed"] = ", ".join(f"{v:.3f}" for v in g.ent_f1)
        rows.append(row)
    rep.table(rows)

    rep.heading("Paired differences (two-level bootstrap, 95 % CI)")
    prow = [{"id": r["id"], "comparison": r["comparison"], "metric": r["metric"],
             "mean Δ": r.get("mean_delta"), "CI low": r.get("ci_lo"), "CI high": r.get("ci_hi"),
             "wins": f"{r['wins']}/{r['n_seeds']}" if r.get("ran") else "not run",
             "per-seed Δ": ", ".join(f"{d:+.3f}" for d in r.get("deltas", []))} for r in paired]
    rep.table(prow)
    ran = [r for r in paired if r.get("ran")]
    if ran:
        rep.figure("delta_f1", _delta_figure(ran), "Δ F1 (M − S) per claim with 95 % CIs and per-seed Δ; dashed: ±δ")
    if len(logs):
        rep.figure("loss_curves", _loss_figure(logs), "Training loss per epoch (mean over seeds)")

    rep.heading("Knowledge graph (KG corpus, A30 `all` predictions)")
    if len(kg):
        rep.table(kg.to_dict("records"))
        f = metrics / "kg"
        if (f / f"kg_{p.kg.regime}_seed0_with_coref.json").exists():
            rep.figure("kg", _kg_figure(f, p.kg.regime, kg),
                       "KG before/after coreference merging: edge P/R per seed, and the subgraph around the most "
                       "connected node (seed 0)")
    rep.text("The row `gold_annotations_with_coref` builds the KG from the gold annotations with coreference: its "
             "edge P and R (1.0 when the construction is exact) check the KG code against the generator's facts.")

    rep.heading("Runtime")
    from components.core.index import step_records

    recs = {k: v for k, v in step_records(ctx.paths.data).items() if v.get("profile") == ctx.profile}
    if recs:
        rep.text("Step wall times of this profile's last run: " + ", ".join(
            f"{k} {v['seconds']:.0f} s" for k, v in recs.items()) + f" (sum {sum(v['seconds'] for v in recs.values()):.0f}"
            " s, without process start-up). Per-training mean seconds (inside the worker, "
            "wall time on a shared machine):")
    tr = train_runs.groupby(["regime", "config", "encoder"]).train_seconds.mean().reset_index()
    rep.table(tr.to_dict("records"))
    rep.heading("Deviations from the spec")
    for d in DEVIATIONS + [f"**Trimmed (§4.3)**: {t}" for t in p.trimmed]:
        rep.text("- " + d)

    metrics_out = {}
    for r in paired:
        if r.get("ran"):
            metrics_out[f"{r['id']}_mean_delta"] = r["mean_delta"]
            metrics_out[f"{r['id']}_ci_lo"] = r["ci_lo"]
            metrics_out[f"{r['id']}_ci_hi"] = r["ci_hi"]
    for (regime, enc, cfg), g in runs.groupby(["regime", "encoder", "config"]):
        for m in ("ent_f1", "rel_f1", "conll_f1"):
            v = g[m].dropna()
            if len(v):
                metrics_out[f"{regime}_{cfg}_{enc}_{m}"] = float(v.mean())
    kgs = kg[kg.seed_index >= 0]
    for var in ("with_coref", "without_coref"):
        s = kgs[kgs.variant == var]
        if len(s):
            metrics_out[f"kg_{var}_edge_r"] = float(s.edge_r.mean())
            metrics_out[f"kg_{var}_edge_p"] = float(s.edge_p.mean())
    metrics_out["train_worker_seconds"] = float(train_runs.train_seconds.sum())
    wanted = [f"{c}_mean_delta" for c in ("M1", "M2", "M3", "M4", "M5", "M6", "M7", "M10")] + [
        "kg_with_coref_edge_r", "kg_without_coref_edge_r", "kg_with_coref_edge_p"]
    headline = [k for k in wanted if k in metrics_out][:11]
    write_plot(ctx, "delta_f1", [{"claim": r["id"], "mean_delta": r["mean_delta"], "ci_lo": r["ci_lo"],
                                  "ci_hi": r["ci_hi"]} for r in paired if r.get("ran")]
               or [{"claim": "none run", "mean_delta": float("nan"), "ci_lo": float("nan"), "ci_hi": float("nan")}])
    write_outputs(ctx, rep, claims, metrics_out, headline=headline)


def _delta_figure(ran):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(ran)))
    for i, r in enumerate(ran):
        ax.errorbar(r["mean_delta"], i, xerr=[[r["mean_delta"] - r["ci_lo"]], [r["ci_hi"] - r["mean_delta"]]],
                    fmt="o", color="k", capsize=3)
        ax.scatter(r["deltas"], [i] * len(r["deltas"]), s=12, alpha=0.5, color="tab:blue")
    ax.axvline(0, color="grey", lw=0.8)
    ax.axvline(0.01, color="grey", lw=0.8, ls="--")
    ax.axvline(-0.01, color="grey", lw=0.8, ls="--")
    ax.set_yticks(range(len(ran)))
    ax.set_yticklabels([f"{r['id']}: {r['comparison']}" for r in ran], fontsize=7)
    ax.set_xlabel("Δ F1 (multi-task − single-task)")
    return fig


def _loss_figure(logs):
    import matplotlib.pyplot as plt

    groups = list(logs.groupby(["regime", "config", "encoder"]))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for (regime, cfg, enc), g in groups:
        if "loss" not in g:
            continue
        m = g.groupby("epoch").loss.mean()
        ax.plot(m.index, m.values, label=f"{regime} {cfg}{'' if enc == 'bilstm' else ' ' + enc}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("weighted training loss / document")
    ax.legend(fontsize=6, ncol=2)
    return fig


def _kg_figure(folder, regime, kg):
    import matplotlib.pyplot as plt
    import networkx as nx

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    kgs = kg[kg.seed_index >= 0]
    for var, c in (("without_coref", "tab:orange"), ("with_coref", "tab:blue")):
        s = kgs[kgs.variant == var]
        axes[0].scatter(s.edge_r, s.edge_p, label=var, color=c)
    axes[0].set_xlabel("edge recall")
    axes[0].set_ylabel("edge precision")
    axes[0].legend(fontsize=7)
    graphs = {v: json.loads((folder / f"kg_{regime}_seed0_{v}.json").read_text())
              for v in ("without_coref", "with_coref")}
    g_with = graphs["with_coref"]
    deg: dict = {}
    for h, _, t, c in g_with["edges"]:
        deg[h] = deg.get(h, 0) + c
        deg[t] = deg.get(t, 0) + c
    center = max(deg, key=lambda n: (deg[n], n)) if deg else None
    for ax, v in zip(axes[1:], ("without_coref", "with_coref")):
        G = nx.DiGraph()
        for h, r, t, c in graphs[v]["edges"]:
            if center in (h, t):
                G.add_edge(h, t, label=r)
        if center is not None:
            G.add_node(center)
        pos = nx.spring_layout(G, seed=0)
        nx.draw_networkx(G, pos, ax=ax, node_size=120, font_size=6, arrows=True, node_color="#cde")
        nx.draw_networkx_edge_labels(G, pos, nx.get_edge_attributes(G, "label"), ax=ax, font_size=5)
        ax.set_title(f"{v}: {G.number_of_edges()} edges at '{center}'", fontsize=8)
        ax.axis("off")
    return fig
