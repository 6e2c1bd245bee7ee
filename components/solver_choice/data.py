"""Datasets on disk (JSON lines), their great-expectations suites (per-item summary frames) and the loader
for Logic-LM's benchmark files (paper profile)."""

from __future__ import annotations

import json
from pathlib import Path

from components.core.errors import UserError
from components.core.io import write_text

DATASETS = ("prontoqa", "proofwriter", "folio")
LOGICLM_DIRS = {"prontoqa": "ProntoQA", "proofwriter": "ProofWriter", "folio": "FOLIO"}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    return write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{n} is not valid JSON ({exc.msg})",
                            "rerun the step that wrote it (`paperflows run solver_choice --step prepare`)") from None
    return rows


def load_logiclm(root: str | None, dataset: str) -> list[dict]:
    """Logic-LM's ``data/<Name>/dev.json`` records ``{id, context, question, options, answer}``."""
    if not root:
        raise UserError("solver_choice.data.logiclm_dir is not set", "point it at Logic-LLM's data/ folder")
    path = Path(root) / LOGICLM_DIRS[dataset] / "dev.json"
    if not path.exists():
        raise UserError(f"{path} not found", "set solver_choice.data.logiclm_dir to Logic-LLM's data/ folder")
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc.msg})", "use Logic-LM's dev.json unchanged") from None
    items = []
    for i, r in enumerate(records):
        missing = {"id", "context", "question", "options", "answer"} - set(r)
        if missing:
            raise UserError(f"{path}: record {i} lacks {sorted(missing)}", "use Logic-LM's dev.json layout")
        answer = str(r["answer"]).strip().strip("()")[:1]
        if answer not in "ABC" or not answer:
            raise UserError(f"{path}: record {r['id']} has answer {r['answer']!r}", "answers must be A, B or C")
        items.append({"id": f"{dataset}-{r['id']}", "dataset": dataset, "context": r["context"],
                      "question": r["question"], "options": list(r["options"]), "answer": answer,
                      "sentences": [], "hops": -1, "depth": -1, "theory": "real", "distractors": 0})
    return items


def summary_frame(items: list[dict], train_texts: set[str], gold_ok: dict[str, set[str]]):
    import pandas as pd

    rows = []
    for it in items:
        rows.append({"id": it["id"], "dataset": it["dataset"], "label": it["answer"], "depth": int(it["depth"]),
                     "theory": it["theory"], "n_sentences": len(it["sentences"]),
                     "is_A": float(it["answer"] == "A"), "nonhorn": float(bool(it.get("nonhorn", False))),
                     "fc_equals_classical": bool(it.get("fc_equals_classical", True)),
                     "in_train": it["context"] in train_texts,
                     "gold_all_languages": all(it["id"] in ok for ok in gold_ok.values()),
                     "cell_count_ok": bool(it.get("cell_count_ok", True))})
    return pd.DataFrame(rows)


def expectations(dataset: str, n: int, p_nonhorn: float) -> list:
    from components.core.validation import expect

    labels = ["A", "B"] if dataset == "prontoqa" else ["A", "B", "C"]
    exps = [expect("ExpectTableRowCountToEqual", value=n),
            expect("ExpectColumnValuesToBeUnique", column="id"),
            expect("ExpectColumnValuesToBeInSet", column="label", value_set=labels),
            expect("ExpectColumnValuesToNotBeNull", column="depth"),
            expect("ExpectColumnValuesToBeInSet", column="in_train", value_set=[False]),
            expect("ExpectColumnValuesToBeInSet", column="gold_all_languages", value_set=[True]),
            expect("ExpectColumnValuesToBeInSet", column="fc_equals_classical", value_set=[True])]
    if dataset == "prontoqa":
        exps.append(expect("ExpectColumnMeanToBeBetween", column="is_A", min_value=0.45, max_value=0.55))
    if dataset == "proofwriter":
        exps.append(expect("ExpectColumnValuesToBeInSet", column="cell_count_ok", value_set=[True]))
    if dataset == "folio":
        exps.append(expect("ExpectColumnMeanToBeBetween", column="nonhorn", min_value=p_nonhorn, max_value=1.0))
    return exps
