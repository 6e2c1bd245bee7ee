"""Re-score results stored in the official GRAMMAR repository's layout with this project's metric code.

The official ``benchmarks/<dataset>/eval_results/results_*.json`` files (xinzhel/grammar) are JSON lists of
``RAGResult`` records: ``query``, ``answer``, ``gpt_response``, ``judgement`` ("Correct"/"Incorrect"),
``query_tag`` (the semantic group), ``true_document_ids``, ``retrieved_document_ids``,
``retrieval_judgement`` (0/1 or null), optionally ``retrieved_documents`` and ``closed_domain``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from components.core.errors import DataValidationError
from components.grammar import evaluation

REQUIRED = ("query", "judgement", "query_tag")
RETRIEVAL_KEYS = ("retrieval_judgement", "true_document_ids", "retrieved_document_ids", "retrieved_documents")


def record_status(rec) -> str:
    """``ok``, ``unjudged`` (no Correct/Incorrect judgement yet), ``ungrouped`` (no query_tag), or ``llm_only``
    (no retrieval at all: the closed-domain rule cannot apply, e.g. the LLM-only baseline's records)."""
    if not isinstance(rec, dict) or "query" not in rec:
        return "not_a_result"
    if str(rec.get("judgement", "")).strip().lower() not in ("correct", "incorrect"):
        return "unjudged"
    if rec.get("query_tag") is None:
        return "ungrouped"
    if all(rec.get(k) is None for k in RETRIEVAL_KEYS):
        return "llm_only"
    return "ok"


def official_frame(records: list[dict], closed_domain: bool = True) -> pd.DataFrame:
    """One row per scorable record: group, c(e) under the closed-domain rule, r(e) (stored, else from the ids).

    Records that are not ``ok`` (see ``record_status``) are left out; ``rescore_file`` counts them.
    """
    rows = []
    for rec in records:
        if record_status(rec) != "ok":
            continue
        r = stored = rec.get("retrieval_judgement")
        if r is None and rec.get("true_document_ids") is not None and rec.get("retrieved_document_ids") is not None:
            r = int({str(x) for x in rec["true_document_ids"]} == {str(x) for x in rec["retrieved_document_ids"]})
        judged = str(rec["judgement"]).strip().lower() == "correct"
        c = judged and (r != 0 if closed_domain else True)
        rows.append({"group_id": str(rec["query_tag"]), "c": int(c),
                     "r_gt": int(r) if r is not None else int(c), "r_stored": stored is not None,
                     "r_known": r is not None})
    return pd.DataFrame(rows, columns=["group_id", "c", "r_gt", "r_stored", "r_known"])


def rescore_file(path: Path) -> dict:
    """Metrics of one file, or ``{"skipped": reason}`` when nothing in it can be scored (never raises on content)."""
    try:
        records = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {"skipped": f"not readable JSON ({type(exc).__name__})"}
    if isinstance(records, dict):
        if records and all(isinstance(v, list) for v in records.values()):
            return {"skipped": "older layout (a dict of record lists per entity type, `retrieval_failed` flags "
                               "instead of document ids): not scored"}
        return {"skipped": "not a list of result records (e.g. token usage)"}
    if not isinstance(records, list):
        return {"skipped": "not a list of result records"}
    status = [record_status(r) for r in records]
    counts = {k: status.count(k) for k in ("unjudged", "ungrouped", "llm_only", "not_a_result")}
    if not records or counts["not_a_result"] == len(records):
        return {"skipped": "no result records"}
    if status.count("ok") == 0:
        worst = max(counts, key=counts.get)
        why = {"unjudged": "unjudged: no record has a Correct/Incorrect judgement (run the judge first)",
               "llm_only": "LLM-only records (no retrieval): the closed-domain rule and robustness do not apply",
               "ungrouped": "no record has a query_tag (semantic group)",
               "not_a_result": "no result records"}[worst]
        return {"skipped": why, **{f"n_{k}": float(v) for k, v in counts.items()}}
    frame = official_frame(records)
    out = evaluation.metrics(frame, "c", "r_gt")
    out["retrieval_judgement_stored"] = float(frame["r_stored"].mean())
    out["retrieval_unknown"] = float((~frame["r_known"]).sum())  # judged, retrieval not recoverable: rule not applied
    out.update({f"n_skipped_{k}": float(v) for k, v in counts.items()})
    return out


def rescore_dir(directory: Path) -> dict[str, dict]:
    """Every ``*.json`` under ``directory``: metrics per scorable file, ``{"skipped": reason}`` for the others
    (token usage, unjudged responses, LLM-only runs, older layouts); one bad file never aborts the folder."""
    if not directory.is_dir():
        raise DataValidationError(f"interop folder {directory} does not exist",
                                  "set grammar.interop.import_dir to a folder of official results_*.json")
    return {path.name: rescore_file(path) for path in sorted(directory.glob("*.json"))}


def scored(result: dict[str, dict]) -> dict[str, dict]:
    return {name: m for name, m in result.items() if "skipped" not in m}
