"""Incremental grids (issue 23): adding configurations fits only the new ones, removing some refits nothing,
a change of data or code refits everything — through `paperflows run` and through `dvc repro`."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from helpers import BIN, DvcRepo, run_cli

pytestmark = pytest.mark.integration

FITTED = re.compile(r"(\d+) configurations: (\d+) already done, (\d+) to fit")


def edit_params(repo: DvcRepo, change) -> None:
    params = yaml.safe_load((repo.path / "params.yaml").read_text())
    change(params["whyshift"])
    (repo.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def grow_and_drop(w: dict) -> None:
    """One more rf value (a new config), SVM removed (one config fewer): 24 → 24."""
    w["grid"]["methods"]["rf"]["min_samples_leaf"] = [1, 8]
    del w["grid"]["methods"]["svm"]


def drop_gbm(w: dict) -> None:
    del w["grid"]["methods"]["gbm"]


def more_rows(w: dict) -> None:
    w["data"]["rows"]["train"] += 20


def touch_code(repo: DvcRepo) -> None:
    path = repo.path / "components" / "whyshift" / "fitting.py"
    path.write_text(path.read_text() + "\n# a code change\n")


def results(repo: DvcRepo) -> pd.DataFrame:
    return pd.read_parquet(repo.path / "data/whyshift/train/results.parquet")


def check_sequence(repo: DvcRepo, fit) -> None:
    """The same edits through either entry point; ``fit()`` → (configs, reused, fitted) of the train step."""
    assert fit() == (24, 0, 24)
    before = results(repo).set_index("config_id")
    edit_params(repo, grow_and_drop)
    assert fit() == (24, 23, 1)  # only the new rf config is fitted
    after = results(repo).set_index("config_id")
    assert "svm" not in set(after["method"]) and len(after) == 24
    kept = before.index.intersection(after.index)
    assert len(kept) == 23
    pd.testing.assert_series_equal(before.loc[kept, "fit_seconds"], after.loc[kept, "fit_seconds"])  # reused
    edit_params(repo, drop_gbm)
    assert fit() == (23, 23, 0)  # removing refits nothing
    assert set(results(repo)["method"]) == set(after["method"]) - {"gbm"}
    touch_code(repo)
    assert fit() == (23, 0, 23)  # code changed: everything is refitted
    edit_params(repo, more_rows)
    assert fit() == (23, 0, 23)  # data changed: everything is refitted


def test_incremental_grid_through_paperflows_run(tmp_path):
    repo = DvcRepo(tmp_path / "repo")

    def fit():
        proc = run_cli(["run", "whyshift", "--step", "prepare", "--step", "train"], repo.path,
                       env={"PYTHONPATH": repo.pythonpath})
        assert proc.returncode == 0, proc.stderr[-3000:]
        return tuple(int(n) for n in FITTED.search(proc.stderr).groups())

    check_sequence(repo, fit)


def test_incremental_grid_through_dvc_repro(tmp_path):
    repo = DvcRepo(tmp_path / "repo")

    def fit():
        proc = repo.sh(str(BIN / "dvc"), "repro", "whyshift-train")
        assert "Running stage 'whyshift-train'" in proc.stdout, proc.stdout[-2000:]
        return tuple(int(n) for n in FITTED.search(proc.stdout + proc.stderr).groups())

    check_sequence(repo, fit)
