"""Paper profile wiring: the TOFU loader maps local files onto the miniature's schema, never downloads."""

import json

import pytest

from components.core.errors import UserError
from components.core.params import load_config
from components.soul.params import DataParams, SoulParams
from components.soul.runs import expand_runs
from components.soul.tofu_data import FILES, load_tofu_corpus
from helpers import REPO


def fake_tofu(root, n_forget=40):
    root.mkdir(parents=True)
    pert = lambda i: {"question": f"q{i} ?", "answer": f"a{i}", "paraphrased_answer": f"pa{i}",  # noqa: E731
                      "perturbed_answer": [f"w{i}{j}" for j in range(5)]}
    rows = {"forget10": [{"question": f"q{i} ?", "answer": f"a{i}"} for i in range(n_forget)],
            "retain90": [{"question": f"r{i} ?", "answer": f"b{i}"} for i in range(360)],
            "forget10_perturbed": [pert(i) for i in range(n_forget)],
            "retain_perturbed": [pert(100 + i) for i in range(n_forget)],
            "real_authors_perturbed": [{"question": "who ?", "answer": "x", "perturbed_answer": ["y", "z", "v"]}] * 5,
            "world_facts_perturbed": [{"question": "where ?", "answer": "p", "perturbed_answer": ["q", "r", "s"]}] * 5}
    for name in FILES:
        (root / f"{name}.json").write_text("".join(json.dumps(r) + "\n" for r in rows[name]))


def test_tofu_loader_schema(tmp_path):
    fake_tofu(tmp_path / "tofu")
    p = DataParams(source="tofu", root=str(tmp_path / "tofu"), n_authors=20, qa_per_author=20, forget_frac=0.1,
                   n_real_authors=10, n_world_facts=10, n_generic=10, max_len=512)
    corpus = load_tofu_corpus(p)
    fe = corpus.splits["forget_eval"]
    assert len(fe) == 40 and {r["author_id"] for r in fe} == {0, 1}
    assert all(r["refusal"] in corpus.refusals and len(r["perturbed_answer"]) == 5 for r in fe)
    assert fe[0]["paraphrased_answer"] == "pa0" and len(corpus.splits["finetune_full"]) == 400


def test_tofu_missing_files_is_a_user_error(tmp_path):
    p = DataParams(source="tofu", root=str(tmp_path / "none"), n_authors=20, qa_per_author=20, forget_frac=0.1,
                   n_real_authors=10, n_world_facts=10, n_generic=10)
    with pytest.raises(UserError, match="forget10.json"):
        load_tofu_corpus(p)


def test_profiles_parse_and_size_the_grid():
    runs = {prof: expand_runs(load_config("soul", SoulParams, REPO, prof).params.unlearn)
            for prof in ("smoke", "default", "paper")}
    assert len(runs["smoke"]) == 10
    default = runs["default"]
    assert {r["optimizer"] for r in default} == {"adamw", "sophia_soul", "sophia_ref"}
    assert {r["objective"] for r in default if r["optimizer"] == "sophia_ref"} == {"graddiff"}
    main = [r for r in default if r["block"] == "main"]
    assert len({r["seed"] for r in main}) >= 5 and len({r["run_id"] for r in default}) == len(default)  # issue 13
    assert {r["block"] for r in default} >= {"main", "clip", "ref_sophia", "extra"}
    for objective in {r["objective"] for r in main}:  # matched γ: the same γ for both optimizers
        assert len({r["gamma"] for r in main if r["objective"] == objective}) == 1
    paper = load_config("soul", SoulParams, REPO, "paper").params
    assert paper.data.source == "tofu" and paper.model.hf_model_dir and paper.unlearn.epochs == 5
