"""Paper profile: the TOFU benchmark read from local JSON-lines files (never downloaded at run time).

Expected files under ``soul.data.root`` (or ``$PAPERFLOWS_DATA/tofu``), as exported from the HF
dataset ``locuslab/TOFU`` (``datasets.load_dataset('locuslab/TOFU', cfg)['train'].to_json(...)``):
``forget10.json``, ``retain90.json``, ``forget10_perturbed.json``, ``retain_perturbed.json``,
``real_authors_perturbed.json``, ``world_facts_perturbed.json``. The record schema is mapped onto
the miniature's (spec §4.2), so every later step runs unchanged.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from components.core.errors import UserError
from components.soul.corpus import Corpus, refusal_strings

FILES = ("forget10", "retain90", "forget10_perturbed", "retain_perturbed", "real_authors_perturbed",
         "world_facts_perturbed")


def tofu_root(root: str | None) -> Path:
    base = root or (Path(os.environ["PAPERFLOWS_DATA"]) / "tofu" if os.environ.get("PAPERFLOWS_DATA") else None)
    if base is None:
        raise UserError("soul.data.source=tofu needs the TOFU files on disk",
                        "set soul.data.root or PAPERFLOWS_DATA (see components/soul/tofu_data.py)")
    return Path(base)


def _read(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8").strip()
    return json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line]


def _eval_record(rec: dict, author_qa: bool) -> dict:
    out = {"question": rec["question"], "answer": rec["answer"],
           "perturbed_answer": list(rec["perturbed_answer"])}
    if author_qa:
        out.update(paraphrased_question=rec.get("paraphrased_question", rec["question"]),
                   paraphrased_answer=rec.get("paraphrased_answer", rec["answer"]), author_id=-1, qa_type="tofu")
    return out


def load_tofu_corpus(p) -> Corpus:
    root = tofu_root(p.root)
    missing = [f"{name}.json" for name in FILES if not (root / f"{name}.json").exists()]
    if missing:
        raise UserError(f"TOFU files missing under {root}: {', '.join(missing)}",
                        "export them once with `datasets` (see components/soul/tofu_data.py); no download at run time")
    raw = {name: _read(root / f"{name}.json") for name in FILES}
    # TOFU has 20 QA per author, in author order: author id = row // 20
    forget = [{**_eval_record(r, True), "author_id": i // 20} for i, r in enumerate(raw["forget10_perturbed"])]
    retain = [{"question": r["question"], "answer": r["answer"], "author_id": 10_000 + i // 20}
              for i, r in enumerate(raw["retain90"])]
    refusals = refusal_strings()
    rng = random.Random(f"{p.seed}-refusal")
    forget = [{**r, "refusal": rng.choice(refusals)} for r in forget]
    qa = [{"question": r["question"], "answer": r["answer"]} for r in raw["forget10"] + raw["retain90"]]
    splits = {
        "pretrain": [], "heldout": [],
        "finetune_full": qa,
        "finetune_retain": [{"question": r["question"], "answer": r["answer"]} for r in raw["retain90"]],
        "forget": forget, "retain": retain, "forget_eval": forget,
        "retain_eval": [_eval_record(r, True) for r in raw["retain_perturbed"]],
        "real_authors_eval": [_eval_record(r, False) for r in raw["real_authors_perturbed"]],
        "world_facts_eval": [_eval_record(r, False) for r in raw["world_facts_perturbed"]],
    }
    return Corpus(splits=splits, refusals=refusals, vocab=[])
