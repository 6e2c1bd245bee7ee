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


def official_frame(records: list[dict], closed_domain: bool = True) -> pd.DataFrame:
    """One row per record: group, c(e) under the closed-domain rule, r(e) (stored, else from the ids)."""
    rows = []
    for i, rec in enumerate(records):
        missing = [k for k in REQUIRED if k not in rec]
        if missing:
            raise DataValidationError(f"record {i} lacks {missing}", "pass a results_*.json of the official layout")
        r = stored = rec.get("retrieval_judgement")
        if r is None and rec.get("true_document_ids") is not None and rec.get("retrieved_document_ids") is not None:
            r = int({str(x) for x in rec["true_document_ids"]} == {str(x) for x in rec["retrieved_document_ids"]})
        judged = str(rec["judgement"]).strip().lower() == "correct"
        c = judged and (r != 0 if closed_domain else True)
        rows.append({"group_id": str(rec["query_tag"]), "c": int(c),
                     "r_gt": int(r) if r is not None else int(c), "r_stored": stored is not None})
    return pd.DataFrame(rows)


def rescore_file(path: Path) -> dict:
    try:
        records = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataValidationError(f"cannot read {path}: {exc}", "pass a folder of official results_*.json") from None
    if not isinstance(records, list):
        raise DataValidationError(f"{path} is not a JSON list of results", "pass official results_*.json files")
    frame = official_frame(records)
    out = evaluation.metrics(frame, "c", "r_gt")
    out["retrieval_judgement_stored"] = float(frame["r_stored"].mean()) if len(frame) else 0.0
    return out


def rescore_dir(directory: Path) -> dict[str, dict]:
    """Every ``*.json`` list of results under ``directory`` (others, e.g. gpt_usage.json, are skipped)."""
    if not directory.is_dir():
        raise DataValidationError(f"interop folder {directory} does not exist",
                                  "set grammar.interop.import_dir to a folder of official results_*.json")
    out = {}
    for path in sorted(directory.glob("*.json")):
        head = path.read_text(encoding="utf-8").lstrip()[:1]
        if head == "[":
            out[path.name] = rescore_file(path)
    return out
