"""The claims table (spec §8): each row's metric computed from the evaluate outputs, its threshold next
to the paper's anchor, and a verdict from the data (reproduced / not reproduced / inconclusive)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from components.core.claims import Claim, verdict
from components.grammar import evaluation
from components.grammar.jsonl import load_jsonl

# thresholds (miniature) written next to their anchors, spec §8
G1_MIN_DROB, G1_ACC_FRACTION = 0.10, 0.5       # anchor Spider: Δacc 0.001, Δrob 0.151
G2_MIN_DROB = 0.10                             # anchor Spider: 0.670 vs 0.519 (unbal.), 0.640 vs 0.494 (bal.)
G3_MIN_SHARE = 0.8                             # anchor 139/140 = 0.99
G3B_PRECONDITION_TOP1 = 0.9
G4_MIN_PR = 0.9                                # acceptance: precision and recall ≥ 0.9
G5_SHARE = 1.0                                 # anchor AURP 112/112
G6_MAX_PRECISION, G6_MAX_LIFT = 0.5, 1.5       # anchor ragas_eval: 0.190 (faithfulness), 0.146 (SelfCheck)
G6_MIN_JUDGE_BACC, G6_MIN_SAYS = 0.7, 10       # LLM judge must tell supported from unsupported; enough "says correct"
G7_MIN_DACC, G7_ROB_FRACTION = 0.05, 0.5
LONG_DROP_BAND = (0.05, 0.15)                  # calibration target: keyword top-1 short − long (Spider ≈ 0.12 among
                                               # competent groups: Rob_r 0.675 → 0.522 at Acc_r 0.368 → 0.353)


# Rows that cannot count as a reproduction (issue 16): kind and the one-line reason. Every other row is a claim.
NOT_COUNTED = {
    "G1-any": ("context", "added after G1 failed on its pre-registered system: it searches every system for the "
                          "effect, with no adjustment for the number of systems tried"),
    "G1b": ("check", "a property of the metric: robustness is computed over competent groups only, so resampling "
                     "gap-group examples cannot change it"),
    "G3": ("check", "the oracle reader cannot err on a correctly retrieved document, so under the closed-domain rule "
                    "the errors of keyword+oracle are retrieval failures by construction"),
    "G3b": ("check", "the brittle reader is built to miss non-canonical synonyms, and the diagnosis compares the "
                     "same retrieved ids: with sound bm25 retrieval its errors are generator errors by construction"),
    "G4": ("check", "the attribution rules read the injected defects and true document ids the truth is built from "
                    "(validation mode), so with rule readers the scores are largely by construction"),
    "G5": ("check", "a missing document can never be retrieved, so its group is a gap group under the closed-domain "
                    "rule, and the db_missing rule reads the same missing-document list"),
    "G7": ("check", "the project's addition, not in spec §8, and largely by construction: the unbalanced keep rates "
                    "are lower for the defect groups, which are gap groups by construction, and robustness excludes "
                    "gap groups, so balancing moves accuracy and leaves robustness to subsampling noise"),
    "LQ": ("check", "calibration of the query generator, not a claim of the paper: long-query filler uses words no "
                    "document contains and the distractor probability was set (on this retrieval measurement only, "
                    "never on a claim's output) so that the drop lies in the stated band"),
}


def _claim(cid: str, **fields) -> Claim:
    """A row with its spec id; kind and note from ``NOT_COUNTED`` (a ``claim`` when not listed there)."""
    kind, note = NOT_COUNTED.get(cid, ("claim", ""))
    return Claim(id=cid, kind=kind, note=note, **fields)


@dataclass
class Inputs:
    metrics: pd.DataFrame
    diagnosis: dict
    reference_free: dict
    results: Path  # evaluate/results
    seed: int
    reps: int


def _row(m: pd.DataFrame, system: str, attr: str, balance: str) -> pd.Series | None:
    sel = m[(m["system"] == system) & (m["attribute"] == attr) & (m["balance"] == balance)]
    return sel.iloc[0] if len(sel) else None


def _frame(inp: Inputs, system: str, name: str) -> pd.DataFrame | None:
    path = inp.results / system / f"{name}.jsonl"
    return pd.DataFrame(load_jsonl(path)) if path.exists() else None


def _missing(cid: str, claim: str, metric: str, expected: str, anchor: str, why: str) -> tuple[Claim, dict]:
    return _claim(cid, claim=claim, metric=metric, expected=expected, anchor=anchor, observed=f"not run: {why}",
                  verdict="inconclusive"), {}


def g1(inp: Inputs, system: str = "keyword+learned") -> tuple[Claim, dict]:
    claim = f"Accuracy can hide robustness differences: short vs long on the unbalanced sets ({system})"
    metric, expected = "Δacc and Δrob = short − long (group-paired bootstrap 95 % CI)", \
        f"Δrob ≥ {G1_MIN_DROB} and |Δacc| ≤ {G1_ACC_FRACTION}·Δrob"
    anchor = "Spider open unbalanced: Acc 0.3476 vs 0.3463, Rob 0.6699 vs 0.5189 (Δacc 0.001, Δrob 0.151)"
    s, l = _frame(inp, system, "short_unbalanced"), _frame(inp, system, "long_unbalanced")
    if s is None or l is None:
        return _missing("G1", claim, metric, expected, anchor, f"{system} not evaluated")
    dacc = evaluation.paired_delta(s, l, "accuracy", inp.reps, inp.seed)
    drob = evaluation.paired_delta(s, l, "robustness", inp.reps, inp.seed)
    ok = drob["value"] >= G1_MIN_DROB and drob["lo"] > 0 and abs(dacc["value"]) <= G1_ACC_FRACTION * drob["value"]
    refuted = drob["hi"] < G1_MIN_DROB or abs(dacc["value"]) > G1_ACC_FRACTION * max(drob["hi"], 0)
    obs = (f"Δacc {dacc['value']:.3f} [{dacc['lo']:.3f}, {dacc['hi']:.3f}], "
           f"Δrob {drob['value']:.3f} [{drob['lo']:.3f}, {drob['hi']:.3f}]")
    return (_claim("G1", claim=claim, metric=metric, expected=expected, anchor=anchor, observed=obs,
                   verdict=verdict(ok, refuted)), {"g1_dacc": dacc["value"], "g1_drob": drob["value"]})


def g1_any(inp: Inputs) -> tuple[Claim, dict]:
    """The same property searched over every system (the paper shows it for one system pair)."""
    claim = "Accuracy can hide robustness differences: some RAG system shows it (unbalanced, short vs long)"
    metric = "systems with Δrob ≥ 0.10 (CI > 0) and |Δacc| ≤ 0.5·Δrob"
    expected = "≥ 1 system"
    anchor = "Spider open unbalanced (one system): Δacc 0.001, Δrob 0.151"
    hits, total = [], 0
    for system in sorted(inp.metrics["system"].unique()):
        s, l = _frame(inp, system, "short_unbalanced"), _frame(inp, system, "long_unbalanced")
        if s is None or l is None:
            continue
        total += 1
        dacc = evaluation.paired_delta(s, l, "accuracy", inp.reps, inp.seed)
        drob = evaluation.paired_delta(s, l, "robustness", inp.reps, inp.seed)
        if drob["value"] >= G1_MIN_DROB and drob["lo"] > 0 and abs(dacc["value"]) <= G1_ACC_FRACTION * drob["value"]:
            hits.append(f"{system} (Δacc {dacc['value']:.3f}, Δrob {drob['value']:.3f})")
    obs = f"{len(hits)}/{total}: " + ("; ".join(hits) if hits else "none")
    return (_claim("G1-any", claim=claim, metric=metric, expected=expected, anchor=anchor, observed=obs,
                   verdict=verdict(bool(hits), total > 0 and not hits)), {"g1_any_systems": float(len(hits))})


def g1b(inp: Inputs, system: str = "keyword+learned") -> tuple[Claim, dict]:
    claim = "Robustness is insensitive to gap-group composition, accuracy is not"
    metric = f"Rob and Acc after resampling gap-group examples ×{{0.3, 1, 2}} ({system}, long, balanced)"
    expected, anchor = "ΔRob = 0 exactly; ΔAcc ≠ 0 when #gap > 0", "metric property behind H2 (test_metric.py toy)"
    f = _frame(inp, system, "long_balanced")
    if f is None:
        return _missing("G1b", claim, metric, expected, anchor, f"{system} not evaluated")
    ms = [evaluation.metrics(evaluation.resample_gap(f, k, inp.seed)) for k in (0.3, 1.0, 2.0)]
    rob = [m["robustness"] for m in ms]
    acc = [m["accuracy"] for m in ms]
    n_gap = ms[1]["n_gap"]
    drob = max(rob) - min(rob) if all(math.isfinite(r) for r in rob) else math.nan
    ok = drob < 1e-12 and (n_gap == 0 or max(acc) - min(acc) > 0)
    obs = f"Rob {', '.join(f'{r:.4f}' for r in rob)}; Acc {', '.join(f'{a:.4f}' for a in acc)}; #gap {int(n_gap)}"
    return (_claim("G1b", claim=claim, metric=metric, expected=expected, anchor=anchor, observed=obs,
                   verdict=verdict(ok, not ok)), {"g1b_rob_range": drob, "g1b_acc_range": max(acc) - min(acc)})


def g2(inp: Inputs) -> tuple[Claim, dict]:
    claim = "Hypothesis testing: long queries hurt robustness"
    metric = "Rob_short − Rob_long, balanced (group-paired bootstrap 95 % CI)"
    expected = f"≥ {G2_MIN_DROB} for keyword+oracle and keyword+learned"
    anchor = "Spider: 0.670 vs 0.519 (unbalanced), 0.640 vs 0.494 (balanced)"
    parts, oks, refs, vals = [], [], [], {}
    for system in ("keyword+oracle", "keyword+learned"):
        s, l = _frame(inp, system, "short_balanced"), _frame(inp, system, "long_balanced")
        if s is None or l is None:
            parts.append(f"{system}: not evaluated")
            oks.append(False)
            continue
        d = evaluation.paired_delta(s, l, "robustness", inp.reps, inp.seed)
        parts.append(f"{system}: {d['value']:.3f} [{d['lo']:.3f}, {d['hi']:.3f}]")
        oks.append(d["value"] >= G2_MIN_DROB and d["lo"] > 0)
        refs.append(d["hi"] < G2_MIN_DROB)
        vals[f"g2_drob_{system.replace('+', '_')}"] = d["value"]
    return (_claim("G2", claim=claim, metric=metric, expected=expected, anchor=anchor, observed="; ".join(parts),
                   verdict=verdict(all(oks), any(refs))), vals)


def g3(inp: Inputs) -> tuple[Claim, dict]:
    claim = "The long-query drop is attributable to the retriever when the generator is sound"
    metric = "retrieval-failure share among incorrect examples of non-robust groups (keyword+oracle, long, balanced)"
    expected, anchor = f"≥ {G3_MIN_SHARE}", "Spider long: 139/140 = 0.99 (short 67/68)"
    r = _row(inp.metrics, "keyword+oracle", "long", "balanced")
    if r is None or not math.isfinite(r["retrieval_failure_share"]):
        return _missing("G3", claim, metric, expected, anchor, "keyword+oracle long has no non-robust errors")
    v = float(r["retrieval_failure_share"])
    f = _frame(inp, "keyword+oracle", "long_balanced")
    sound = ""
    if f is not None and {"retrieval_ok", "answer_in_doc", "c"} <= set(f.columns):
        ok = f[f["retrieval_ok"] & f["answer_in_doc"]]
        sound = f"; oracle correct on {ok['c'].mean():.3f} of {len(ok)} right-document reads (why it is a check)"
    return (_claim("G3", claim=claim, metric=metric, expected=expected, anchor=anchor,
                   observed=f"{v:.3f} ({int(r['n_non_robust'])} non-robust groups){sound}",
                   verdict=verdict(v >= G3_MIN_SHARE, v < G3_MIN_SHARE)), {"g3_retrieval_share": v})


def g3b(inp: Inputs) -> tuple[Claim, dict]:
    claim = "… and to the generator when retrieval is sound"
    metric = "generator share among incorrect examples of non-robust groups (bm25+brittle, short, balanced)"
    expected = f"≥ {G3_MIN_SHARE} (precondition: bm25 top-1 ≥ {G3B_PRECONDITION_TOP1} on short)"
    anchor = "operationalised by the project (paper: H4 by contrast)"
    r = _row(inp.metrics, "bm25+brittle", "short", "balanced")
    if r is None:
        return _missing("G3b", claim, metric, expected, anchor, "bm25+brittle not evaluated")
    top1, v = float(r["top1_retrieval_accuracy"]), float(r["generator_share"])
    pre = top1 >= G3B_PRECONDITION_TOP1
    obs = f"{v:.3f}; bm25 top-1 on short {top1:.3f}"
    return (_claim("G3b", claim=claim, metric=metric, expected=expected, anchor=anchor, observed=obs,
                   verdict=verdict(pre and v >= G3_MIN_SHARE, pre and v < G3_MIN_SHARE)),
            {"g3b_generator_share": v, "g3b_bm25_top1_short": top1})


def g4(inp: Inputs) -> tuple[Claim, dict]:
    claim = "GRAMMAR identifies the defective module"
    metric = ("macro precision / recall of group attributions (set of modules over a group's errors, context "
              "comparison) vs the truth, pooled over all systems and both attributes, balanced")
    expected, anchor = f"both ≥ {G4_MIN_PR}", "H1/H3 (AURP: all 112 gap groups → retrieval DB)"
    hit_p, n_p, hit_r, n_r = {}, {}, {}, {}
    worst = (1.0, "")
    for system, sets in inp.diagnosis.items():
        for name, d in sets.items():
            if not name.endswith("_balanced"):
                continue
            for m, v in d["per_module"].items():
                if v["n_pred"]:
                    hit_p[m] = hit_p.get(m, 0) + v["precision"] * v["n_pred"]
                    n_p[m] = n_p.get(m, 0) + v["n_pred"]
                if v["n_true"]:
                    hit_r[m] = hit_r.get(m, 0) + v["recall"] * v["n_true"]
                    n_r[m] = n_r.get(m, 0) + v["n_true"]
            worst = min(worst, (min(d["macro_precision"], d["macro_recall"]), f"{system} {name}"))
    if not n_p:
        return _missing("G4", claim, metric, expected, anchor, "no attributions")
    p = float(np.mean([hit_p[m] / n_p[m] for m in n_p]))
    r = float(np.mean([hit_r[m] / n_r[m] for m in n_r]))
    obs = f"P {p:.3f}, R {r:.3f} (worst single set: {worst[0]:.3f}, {worst[1]})"
    return (_claim("G4", claim=claim, metric=metric, expected=expected, anchor=anchor, observed=obs,
                   verdict=verdict(p >= G4_MIN_PR and r >= G4_MIN_PR, p < G4_MIN_PR or r < G4_MIN_PR)),
            {"g4_macro_precision": p, "g4_macro_recall": r, "g4_worst_set": worst[0]})


def g5(inp: Inputs) -> tuple[Claim, dict]:
    claim = "Missing documents appear as gap groups attributed to the retrieval DB"
    metric = "share of missing-document groups tagged gap and attributed to retrieval DB (missing), per system"
    expected, anchor = f"= {G5_SHARE:.2f} for every system", "AURP 112/112"
    shares = []
    for system, sets in inp.diagnosis.items():
        for name, d in sets.items():
            if d["n_missing_doc_groups"]:
                shares.append((d["missing_doc_recovered"] / d["n_missing_doc_groups"], f"{system} {name}"))
    if not shares:
        return _missing("G5", claim, metric, expected, anchor, "no missing-document groups (defect fraction 0)")
    low = min(shares)
    obs = f"min {low[0]:.3f} over {len(shares)} system × set ({low[1]})"
    return (_claim("G5", claim=claim, metric=metric, expected=expected, anchor=anchor, observed=obs,
                   verdict=verdict(low[0] >= G5_SHARE, low[0] < G5_SHARE)), {"g5_min_share": low[0]})


def g6(inp: Inputs) -> tuple[Claim, dict]:
    """Decided only by an LLM judge (the paper tests LLM-based RAGAS / SelfCheck); the rule proxies are lexical
    stand-ins, reported but never deciding (rule changed by issue 16)."""
    claim = "Reference-free evaluators are unreliable in closed domains (GRAMMAR's reference-based judge is exact)"
    metric = ("precision and lift (precision / accuracy) of an LLM faithfulness judge's 'says correct' on long "
              "queries of keyword+oracle and keyword+learned (lexical proxies reported, not deciding)")
    expected = (f"precision ≤ {G6_MAX_PRECISION} and lift ≤ {G6_MAX_LIFT} on both systems; preconditions: the judge "
                f"tells supported from unsupported answers (balanced accuracy ≥ {G6_MIN_JUDGE_BACC}) and says "
                f"'correct' ≥ {G6_MIN_SAYS} times per system")
    anchor = "AURP short, GPT-4: faithfulness P 0.190 (R 0.917), SelfCheck P 0.146 (R 0.50)"
    parts, vals = [], {}
    for system in ("keyword+oracle", "keyword+learned"):
        b = inp.reference_free.get(system, {}).get("long")
        if not b:
            continue
        for proxy in ("faithfulness", "consistency"):
            sc = b[proxy]
            parts.append(f"{system} lexical {proxy}: P {sc['precision']:.3f}, lift {sc['lift']:.2f}")
            vals[f"g6_{system.replace('+', '_')}_{proxy}_precision"] = sc["precision"]
    lexical = "; ".join(parts) if parts else "no lexical proxies evaluated"
    judge = inp.reference_free.get("llm_judge")
    if not judge:
        return (_claim("G6", claim=claim, metric=metric, expected=expected, anchor=anchor,
                       observed=f"not decided: no LLM judge run (grammar.g6_judge.enabled false); {lexical}",
                       verdict="inconclusive"), vals)
    bacc = float(judge["competence"]["balanced_accuracy"])
    rows, oks, refs, enough = [], [], [], []
    for system in ("keyword+oracle", "keyword+learned"):
        sc = judge["systems"].get(system)
        if not sc:
            rows.append(f"{system}: not judged")
            enough.append(False)
            continue
        rows.append(f"{system}: P {sc['precision']:.3f}, lift {sc['lift']:.2f} ({int(sc['n_says_correct'])}/"
                    f"{int(sc['n'])} says correct)")
        enough.append(sc["n_says_correct"] >= G6_MIN_SAYS)
        oks.append(sc["precision"] <= G6_MAX_PRECISION and sc["lift"] <= G6_MAX_LIFT)
        refs.append(sc["precision"] > G6_MAX_PRECISION or sc["lift"] > G6_MAX_LIFT)
        vals[f"g6_llm_{system.replace('+', '_')}_precision"] = sc["precision"]
    pre = bacc >= G6_MIN_JUDGE_BACC and all(enough)
    obs = (f"{judge.get('model', 'LLM')} judge (balanced accuracy on the control set {bacc:.2f}, "
           f"{judge.get('seconds', math.nan):.0f} s): " + "; ".join(rows) + f"; {lexical}")
    return (_claim("G6", claim=claim, metric=metric, expected=expected, anchor=anchor, observed=obs,
                   verdict=verdict(pre and bool(oks) and all(oks), pre and any(refs))), vals)


def g7(inp: Inputs) -> tuple[Claim, dict]:
    claim = "Balancing changes what accuracy says (gap-group composition), not what robustness says"
    metric = "|Acc_bal − Acc_unbal| vs |Rob_bal − Rob_unbal| on long queries, systems with the oracle generator"
    expected = f"|ΔAcc| ≥ {G7_MIN_DACC} and |ΔRob| ≤ {G7_ROB_FRACTION}·|ΔAcc| for a majority of retrievers"
    anchor = "Spider open long: Acc 0.346 (unbal.) vs 0.268 (bal.); Rob 0.519 vs 0.494"
    parts, hits, n = [], 0, 0
    for system in sorted(s for s in inp.metrics["system"].unique() if s.endswith("+oracle")):
        b, u = _row(inp.metrics, system, "long", "balanced"), _row(inp.metrics, system, "long", "unbalanced")
        if b is None or u is None:
            continue
        n += 1
        da, dr = abs(b["accuracy"] - u["accuracy"]), abs(b["robustness"] - u["robustness"])
        hit = da >= G7_MIN_DACC and dr <= G7_ROB_FRACTION * da
        hits += hit
        parts.append(f"{system}: ΔAcc {da:.3f}, ΔRob {dr:.3f}")
    if not n:
        return _missing("G7", claim, metric, expected, anchor, "no oracle-reader systems")
    obs = f"{hits}/{n} systems; " + "; ".join(parts)
    return (_claim("G7", claim=claim, metric=metric, expected=expected, anchor=anchor, observed=obs,
                   verdict=verdict(hits > n / 2, hits <= n / 2)), {"g7_systems": float(hits)})


def long_query_drop(inp: Inputs) -> tuple[Claim, dict]:
    claim = "Long queries lower keyword retrieval only modestly (generator calibration, issue 16)"
    metric = "keyword top-1 retrieval accuracy short − long (keyword+oracle, balanced, documents in the DB)"
    lo, hi = LONG_DROP_BAND
    expected, anchor = f"in [{lo}, {hi}]", "Spider: Rob_r 0.675 → 0.522 with Acc_r 0.368 → 0.353 (retrieval-only)"
    s, l = _row(inp.metrics, "keyword+oracle", "short", "balanced"), _row(inp.metrics, "keyword+oracle", "long", "balanced")
    if s is None or l is None:
        return _missing("LQ", claim, metric, expected, anchor, "keyword+oracle not evaluated")
    a, b = float(s["top1_retrieval_accuracy"]), float(l["top1_retrieval_accuracy"])
    d = a - b
    return (_claim("LQ", claim=claim, metric=metric, expected=expected, anchor=anchor,
                   observed=f"{d:.3f} (short {a:.3f}, long {b:.3f})", verdict=verdict(lo <= d <= hi, not lo <= d <= hi)),
            {"lq_keyword_top1_drop": d})


def all_claims(inp: Inputs) -> tuple[list[Claim], dict[str, float]]:
    rows, values = [], {}
    for fn in (g1, g1_any, g1b, g2, g3, g3b, g4, g5, g6, g7, long_query_drop):
        c, v = fn(inp)
        rows.append(c)
        values.update({k: float(x) for k, x in v.items() if x is not None and math.isfinite(float(x))})
    return rows, values
