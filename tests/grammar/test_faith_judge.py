"""G6's LLM faithfulness judge: sampling, the competence control and scoring, with a stub chat model."""

import json

import pytest

from components.grammar import faith_judge
from components.grammar.jsonl import write_jsonl
from components.grammar.llm import ChatLLM


def _setup(tmp_path):
    prepared, results = tmp_path / "prepared", tmp_path / "results"
    docs = [{"doc_id": f"company:{i}", "text": f"Firm{i} operates in the trade{i} industry."} for i in range(6)]
    write_jsonl(prepared / "documents.jsonl", docs)
    qa = [{"example_id": f"e{i}", "query": f"industry of Firm{i}?", "answer": [f"trade{i}"], "template_id": "T1",
           "true_doc_ids": [f"company:{i}"]} for i in range(6)]
    write_jsonl(prepared / "qa_long_balanced.jsonl", qa)
    for system in faith_judge.SYSTEMS:  # e0-e2 right document and answer; e3-e5 wrong document, its value read
        rows = [{"example_id": f"e{i}", "retrieved_ids": [f"company:{i if i < 3 else (i + 1) % 6}"],
                 "response": f"trade{i if i < 3 else (i + 1) % 6}", "c": int(i < 3)} for i in range(6)]
        write_jsonl(results / system / "long_balanced.jsonl", rows)
    return prepared, results


def _params(per_system=6, control=4):
    from types import SimpleNamespace

    from components.grammar.params import G6Judge, LlmParams

    return SimpleNamespace(seed=0, g6_judge=G6Judge(enabled=True, backend="smollm2", per_system=per_system,
                                                    control=control), llm=LlmParams())


def test_a_judge_that_checks_the_source_is_competent_and_shows_the_closed_domain_blind_spot(tmp_path, monkeypatch):
    def grounded(messages, temperature, max_tokens, seed):  # "Yes" iff the answer occurs in the source
        text = messages[-1]["content"]
        source, answer = text.split("\n\nQuestion:")[0], text.split("Answer: ")[1].split("\n")[0]
        return "Yes" if answer in source else "No"

    monkeypatch.setattr(faith_judge, "make_llm", lambda backend, params, cache: ChatLLM("stub", "stub", grounded, cache))
    prepared, results = _setup(tmp_path)
    out = faith_judge.run_g6_judge(_params(), prepared, results, tmp_path / "cache")
    assert out["competence"]["balanced_accuracy"] == 1.0
    sc = out["systems"]["keyword+oracle"]
    # faithful to the wrong document: says "correct" on all 6, 3 truly correct → precision 0.5, lift 1
    assert (sc["n_says_correct"], sc["precision"], sc["lift"]) == (6, 0.5, 1.0)
    assert out["n_calls"] > 0 and json.loads((tmp_path / "cache" / "g6_judge_cache.json").read_text())


def test_an_always_yes_judge_is_not_competent(tmp_path, monkeypatch):
    monkeypatch.setattr(faith_judge, "make_llm",
                        lambda backend, params, cache: ChatLLM("stub", "stub", lambda *a: "Yes.", cache))
    prepared, results = _setup(tmp_path)
    out = faith_judge.run_g6_judge(_params(), prepared, results, tmp_path / "cache")
    assert out["competence"]["balanced_accuracy"] == pytest.approx(0.5)


@pytest.mark.parametrize("reply,yes", [("Yes", True), ("yes, it is", True), ("No.", False), ("no", False),
                                       ("The answer is not stated", False)])
def test_parse_yes(reply, yes):
    assert faith_judge.parse_yes(reply) is yes
