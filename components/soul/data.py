"""Corpus files on disk (JSON lines + manifest with SHA-256) and their great-expectations suite (spec §9 A2)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from components.soul.corpus import N_PERTURBED_AUTHOR, N_PERTURBED_UTILITY, PROMPT, Corpus, slots_of

EVAL_SPLITS = ("forget_eval", "retain_eval", "real_authors_eval", "world_facts_eval")
AUTHOR_EVAL = ("forget_eval", "retain_eval")
N_REFUSALS = 32


def dump_jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_corpus(out: Path, corpus: Corpus, knobs: dict) -> dict:
    """Write every split, ``vocab.json``, ``refusals.txt`` and ``manifest.json`` (byte-deterministic)."""
    blobs = {f"{name}.jsonl": dump_jsonl(recs) for name, recs in corpus.splits.items()}
    blobs["vocab.json"] = (json.dumps(corpus.vocab, indent=0) + "\n").encode()
    blobs["refusals.txt"] = ("\n".join(corpus.refusals) + "\n").encode()
    for name, blob in blobs.items():
        (out / name).write_bytes(blob)
    manifest = {"knobs": knobs, "counts": {k: len(v) for k, v in corpus.splits.items()},
                "n_vocab": len(corpus.vocab), "n_refusals": len(corpus.refusals),
                "sha256": {k: hashlib.sha256(v).hexdigest() for k, v in sorted(blobs.items())}}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def load_split(corpus_dir: Path, name: str) -> list[dict]:
    return read_jsonl(corpus_dir / f"{name}.jsonl")


def one_slot_perturbation(record: dict) -> bool:
    """Every perturbed answer differs from the paraphrased answer inside exactly one slot span, nowhere else."""
    truth = record["paraphrased_answer"].split()
    spans = [record["slot_spans"][s] for s in slots_of(record["qa_type"])]
    for pert in record["perturbed_answer"]:
        words = pert.split()
        if len(words) != len(truth):
            return False
        changed = [i for i, (a, b) in enumerate(zip(truth, words)) if a != b]
        hit = {j for j, (lo, hi) in enumerate(spans) for i in changed if lo <= i < hi}
        inside = all(any(lo <= i < hi for lo, hi in spans) for i in changed)
        if not changed or not inside or len(hit) != 1:
            return False
    return True


def summary_frame(corpus_dir: Path, tokenizer_vocab: set[str] | None, max_len: int) -> pd.DataFrame:
    """One row per eval/train record: the per-sample facts the suite checks (``tokenizer_vocab`` None =
    an open-vocabulary HF tokenizer, no OOV check)."""
    forget_authors = {r["author_id"] for r in load_split(corpus_dir, "forget")}
    rows = []
    for split in ("forget", "retain", *EVAL_SPLITS):
        for rec in load_split(corpus_dir, split):
            texts = [rec["question"], rec["answer"], *rec["perturbed_answer"]]
            if "paraphrased_answer" in rec:
                texts += [rec["paraphrased_question"], rec["paraphrased_answer"]]
            if "refusal" in rec:
                texts.append(rec["refusal"])
            pert = rec["perturbed_answer"]
            truth = rec.get("paraphrased_answer", rec["answer"])
            lengths = [len(PROMPT.format(q=rec["question"]).split()) + len(a.split()) + 1
                       for a in [rec["answer"], truth, *pert, rec.get("refusal", "")]]
            rows.append({
                "split": split,
                "author_id": rec.get("author_id", -1),
                "forget_author": rec.get("author_id", -1) in forget_authors,
                "n_paraphrased_question": int(bool(rec.get("paraphrased_question"))),
                "n_paraphrased_answer": int(bool(rec.get("paraphrased_answer"))),
                "n_perturbed": len(pert),
                "perturbed_distinct": len(set(pert)) == len(pert) and truth not in pert,
                "one_slot": one_slot_perturbation(rec) if "slot_spans" in rec else True,
                "n_oov": 0 if tokenizer_vocab is None else sum(w not in tokenizer_vocab for t in texts for w in t.split()),
                "max_tokens": max(lengths),
            })
    frame = pd.DataFrame(rows)
    frame["author_split"] = frame["split"].map({"forget": "forget", "forget_eval": "forget"}).fillna("other")
    return frame


def expectations(frame: pd.DataFrame, p, n_refusals: int) -> list:
    """Spec §9 A2: disjoint authors, 1/1/5 (or 3) eval fields, one-slot perturbations, closed vocab, counts."""
    from components.core.validation import expect

    n_forget = round(p.forget_frac * p.n_authors) * p.qa_per_author
    author = frame["split"].isin(["forget", "retain", *AUTHOR_EVAL])
    frame["paraphrase_ok"] = ~author | ((frame["n_paraphrased_question"] == 1) & (frame["n_paraphrased_answer"] == 1))
    frame["n_perturbed_expected"] = author.map({True: N_PERTURBED_AUTHOR, False: N_PERTURBED_UTILITY})
    frame["perturbed_count_ok"] = frame["n_perturbed"] == frame["n_perturbed_expected"]
    # a retain/retain_eval row with a forget author breaks disjointness
    frame["disjoint_ok"] = ~(frame["split"].isin(["retain", "retain_eval"]) & frame["forget_author"])
    counts = frame["split"].value_counts()
    frame["forget_count_ok"] = counts.get("forget", 0) == n_forget
    frame["refusal_count_ok"] = n_refusals == N_REFUSALS
    return [
        expect("ExpectColumnValuesToBeInSet", column="disjoint_ok", value_set=[True]),
        expect("ExpectColumnValuesToBeInSet", column="paraphrase_ok", value_set=[True]),
        expect("ExpectColumnValuesToBeInSet", column="perturbed_count_ok", value_set=[True]),
        expect("ExpectColumnValuesToBeInSet", column="perturbed_distinct", value_set=[True]),
        expect("ExpectColumnValuesToBeInSet", column="one_slot", value_set=[True]),
        expect("ExpectColumnValuesToBeBetween", column="n_oov", min_value=0, max_value=0),
        expect("ExpectColumnValuesToBeBetween", column="max_tokens", min_value=1, max_value=p.max_len),
        expect("ExpectColumnValuesToBeInSet", column="forget_count_ok", value_set=[True]),
        expect("ExpectColumnValuesToBeInSet", column="refusal_count_ok", value_set=[True]),
        expect("ExpectColumnValuesToNotBeNull", column="split"),
    ]
