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


def test_full_profile_is_the_smollm2_variant():
    """Issue 13 item 5: `--profile full` runs SmolLM2-135M (pretrained, its own tokenizer) on a small grid;
    default and smoke keep the tiny GPT-2."""
    full = load_config("soul", SoulParams, REPO, "full").params
    assert full.model.smollm2 and full.model.hf_model_dir is None and full.data.source == "synthetic"
    runs = expand_runs(full.unlearn, full.seed)
    assert len(runs) == 12 and {r["optimizer"] for r in runs} == {"adamw", "sophia_soul"}
    assert {r["objective"] for r in runs} == {"graddiff"} and len({r["seed"] for r in runs}) == 3
    for prof in ("default", "smoke"):
        assert not load_config("soul", SoulParams, REPO, prof).params.model.smollm2


def test_smollm2_prepare_uses_its_tokenizer(tmp_path, monkeypatch):
    """The word-level tokenizer is not built when SmolLM2 is the base: prepare saves the model's own one."""
    import components.soul.tokenizer as tok_mod
    from components.soul import steps

    saved = []

    class Tok:
        def save_pretrained(self, path):
            saved.append(path)

    monkeypatch.setattr(tok_mod, "smollm2_tokenizer", lambda: Tok())
    built = []
    monkeypatch.setattr("components.soul.tokenizer.build_tokenizer", lambda vocab: built.append(1))
    cfg = load_config("soul", SoulParams, REPO, "smoke", ["soul.model.smollm2=true"])

    class Ctx:
        params, seed, run = cfg.params, 0, None
        outputs = {"corpus": tmp_path / "corpus"}

        @staticmethod
        def log(msg):
            pass

    (tmp_path / "corpus").mkdir()
    monkeypatch.setattr("components.core.validation.validate_and_log",
                        lambda ctx, suites, out: [{"evaluated": 0}])
    steps.prepare(Ctx)
    assert saved == [str(tmp_path / "corpus" / "tokenizer")] and not built
