"""Spec §9 A1/A2: byte-deterministic corpus, its invariants, and the great-expectations suite."""

import json

import pytest

from components.core.errors import DataValidationError
from components.soul.corpus import build_corpus, vocabulary
from components.soul.data import expectations, load_split, one_slot_perturbation, summary_frame, write_corpus
from components.soul.params import DataParams


def small(seed=1000, **kw):
    base = dict(seed=seed, n_authors=20, forget_frac=0.1, n_real_authors=20, n_world_facts=20, n_generic=50)
    return DataParams(**{**base, **kw})


def write(tmp_path, p, name="c"):
    out = tmp_path / name
    out.mkdir()
    return out, write_corpus(out, build_corpus(p), p.model_dump())


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    _, m1 = write(tmp_path, small(), "a")
    _, m2 = write(tmp_path, small(), "b")
    _, m3 = write(tmp_path, small(seed=7), "c")
    assert m1["sha256"] == m2["sha256"]
    assert m1["sha256"]["forget.jsonl"] != m3["sha256"]["forget.jsonl"]


def test_invariants(tmp_path):
    p = small()
    out, manifest = write(tmp_path, p)
    forget, retain = load_split(out, "forget"), load_split(out, "retain")
    assert {r["author_id"] for r in forget}.isdisjoint({r["author_id"] for r in retain})
    assert len(forget) == p.forget_frac * p.n_authors * p.qa_per_author == 20
    assert manifest["n_refusals"] == 32 and len(set((out / "refusals.txt").read_text().split("\n")) - {""}) == 32
    for rec in load_split(out, "forget_eval") + load_split(out, "retain_eval"):
        assert len(rec["perturbed_answer"]) == 5 and len(set(rec["perturbed_answer"])) == 5
        assert rec["paraphrased_answer"] not in rec["perturbed_answer"]
        assert one_slot_perturbation(rec)
        assert rec["refusal"] in (out / "refusals.txt").read_text() if "refusal" in rec else True
    for split in ("real_authors_eval", "world_facts_eval"):
        assert all(len(r["perturbed_answer"]) == 3 for r in load_split(out, split))
    assert len(load_split(out, "retain_eval")) == len(forget)
    vocab = set(vocabulary())
    for split in ("pretrain", "finetune_full"):
        for rec in load_split(out, split):
            text = rec.get("text") or rec["question"] + " " + rec["answer"]
            assert set(text.split()) <= vocab


def test_one_slot_detector_rejects_two_changes():
    p = small()
    rec = build_corpus(p).splits["forget_eval"][0]
    words = rec["paraphrased_answer"].split()
    lo, hi = next(iter(rec["slot_spans"].values()))
    bad = words.copy()
    bad[lo] = "wrong"
    bad[0] = "changed"  # a change outside every slot span
    assert not one_slot_perturbation({**rec, "perturbed_answer": [" ".join(bad)]})


def test_suite_passes_then_names_failures_on_corruption(tmp_path):
    from components.core.validation import validate_frame

    p = small()
    out, _ = write(tmp_path, p)
    frame = summary_frame(out, set(vocabulary()), p.max_len)
    assert validate_frame(frame, expectations(frame, p, 32), "ok")["success"]
    recs = load_split(out, "retain")
    recs[0]["author_id"] = load_split(out, "forget")[0]["author_id"]  # leak a forget author into retain
    recs[1]["perturbed_answer"] = recs[1]["perturbed_answer"][:4]   # a missing perturbed answer
    (out / "retain.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    frame = summary_frame(out, set(vocabulary()), p.max_len)
    with pytest.raises(DataValidationError) as err:
        validate_frame(frame, expectations(frame, p, 31), "bad")
    msg = str(err.value)
    assert "disjoint_ok" in msg and "perturbed_count_ok" in msg and "refusal_count_ok" in msg
