"""Real SciERC wiring (paper profile, spec §4.4 / §11): a `scierc` run trains on the placed train split and is
scored on its test split; M11 reaches each verdict; asking for it without `sciie.paper.data_dir` is one clear error."""

import copy

import pandas as pd
import pytest

from components.sciie.claims import m11_claim, m11_rule
from components.sciie.params import SciieParams
from components.sciie.scierc import read_jsonl, write_jsonl
from helpers import copy_project, run_cli
from sciie.examples import SPEC_EXAMPLE

SPEC_DOC = {"doc_key": "HAND", **SPEC_EXAMPLE}

RUNS = [{"regime": "A8", "configs": ["ner", "all"]}, {"regime": "scierc", "configs": ["all"]}]


def _params(**kw):
    return SciieParams.model_validate({"runs": RUNS, "kg": {"regime": "A8"}, **kw})


def test_params_accept_the_real_regime_and_keep_it_out_of_the_generator():
    p = _params()
    assert p.regimes() == ["A8", "scierc"] and p.synthetic_regimes() == ["A8"]


def test_a_scierc_run_trains_on_the_real_split_and_predicts_its_test_split(tmp_path):
    from components.sciie.steps import run_seed
    from components.sciie.training import TrainJob, train_one

    docs = []
    for i in range(3):
        d = copy.deepcopy(SPEC_DOC)
        d["doc_key"] = f"HAND_{i}_abs"
        docs.append(d)
    prepared = tmp_path / "prepared"
    for split in ("train", "dev", "test"):
        write_jsonl(prepared / "scierc" / f"{split}.json",
                    [dict(d, doc_key=f"{split}_{d['doc_key']}") for d in docs])
    p = _params(train={"epochs": 2, "seeds": 1}, stats={"min_wins": 1})
    r = train_one(TrainJob("scierc", "all", "bilstm", 0, run_seed(p, 0), str(prepared), str(tmp_path / "m"),
                           p.model_dump()))
    assert r["n_train"] == 3
    pred = read_jsonl(tmp_path / "m" / r["tag"] / "pred_test.json", strict=False)
    assert [d["doc_key"] for d in pred] == [f"test_HAND_{i}_abs" for i in range(3)]


def test_m11_rule_and_row():
    near = {"ent_f1": 0.62, "rel_f1": 0.36, "conll_f1": 0.50}
    assert m11_rule(near, 5) == "reproduced"
    assert m11_rule(dict(near, rel_f1=0.30), 5) == "not reproduced"
    assert m11_rule(near, 2) == "inconclusive"
    p = _params()
    assert m11_claim(None, p).observed.startswith("not run")
    scores = pd.DataFrame([{"regime": "scierc", "config": "all", "encoder": "bilstm", **near}] * 5)
    row = m11_claim(scores, p)
    assert row.kind == "claim" and row.verdict == "reproduced" and "paper 0.642" in row.observed


def test_scierc_run_without_data_dir_is_one_clear_error(tmp_path):
    root = copy_project(tmp_path / "project")
    proc = run_cli(["run", "sciie", "--profile", "smoke", "--step", "prepare", "--set",
                    "sciie.runs=[{regime: A8, configs: [ner, all]}, {regime: scierc, configs: [all]}]"], root)
    assert proc.returncode == 2, proc.stderr
    assert "sciie.paper.data_dir" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(root.rglob("prepared"))
