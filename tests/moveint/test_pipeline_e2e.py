"""The smoke pipeline end to end through the real CLI (spec §9.10–9.11, 9.13), plus this paper's bad inputs."""

import json

import numpy as np
import pytest

from helpers import copy_project, pipeline_runs, run_cli, run_smoke

IDS = ["C1", "C1-nolabel", "C2", "C2-nolabel", "C3", "C4", "C5", "C6", "S1", "S2"]
MODELS = ["moveint_k3", "moveint_k3_noreg", "moveint_k1", "mild_like", "recurrent_lstm", "recurrent_lstm_label"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    return run_smoke(tmp_path_factory, "moveint")


def test_outputs_and_claims(smoke_run):
    root, _ = smoke_run
    rep = root / "reports" / "moveint"
    for name in ("report.md", "report.html", "claims.json", "metrics.json", "figures/per_action_mse.png",
                 "figures/gate_over_time.png", "figures/expert_usage.png", "figures/rollouts.png"):
        assert (rep / name).stat().st_size > 0, name
    claims = json.loads((rep / "claims.json").read_text())
    assert [c["id"] for c in claims] == IDS
    by = {c["id"]: c for c in claims}
    for cid in ("C1", "C2", "C3"):  # one seed in smoke: the rules need three
        assert by[cid]["verdict"] == "inconclusive" and "1 seed(s); the rule needs 3" in by[cid]["observed"]
    assert by["C5"]["observed"].startswith("not run: ") and by["C6"]["observed"].startswith("not run: ")
    metrics = json.loads((rep / "metrics.json").read_text())
    assert metrics["claims_inconclusive"] == 5 and metrics["claims_reproduced"] == 0
    assert 0 < metrics["knn.mse_mean"] < metrics["const_mean.mse_mean"]
    html = (rep / "report.html").read_text()
    assert "data:image/png;base64" in html and "GaussianHMM" in html


def test_prepared_and_trained(smoke_run):
    root, _ = smoke_run
    data = root / "data" / "moveint"
    meta = json.loads((data / "prepared" / "meta.json").read_text())
    assert meta["train_demos"] == 12 and meta["test_demos"] == 4 and meta["d_h"] == meta["d_r"] == 90
    with np.load(data / "prepared" / "train.npz") as z:
        assert z["xh"].shape == (meta["train_windows"], 90)
    ge = json.loads((data / "prepared" / "ge_validation.json").read_text())
    assert len(ge) == 2 and all(g["success"] and g["evaluated"] == 9 for g in ge)
    runs = json.loads((data / "models" / "runs.json").read_text())
    assert sorted(r["model"] for r in runs) == sorted(MODELS) and all(r["finite"] for r in runs)
    assert {r["model"]: r["n_params"] for r in runs}["moveint_k3"] == 16123
    assert all((data / "models" / m / "seed0.ckpt").exists() for m in MODELS)
    summary = json.loads((data / "evaluate" / "summary.json").read_text())
    assert {e["model"] for e in summary} == set(MODELS) | {"mild_like_label", "knn", "mean_window", "const_mean"}
    k3 = next(e for e in summary if e["model"] == "moveint_k3")
    assert len(k3["usage"]) == 3 and abs(sum(k3["usage"]) - 1) < 1e-9 and len(k3["per_action_mean"]) == 4


def test_mlflow_runs(smoke_run):
    client, parent, steps, runs = pipeline_runs(smoke_run[0], "moveint")
    assert steps["prepare"].data.metrics["ge_expectations_failed"] == 0
    children = {r.info.run_name: r for r in runs
                if r.data.tags.get("mlflow.parentRunId") == steps["train"].info.run_id}
    assert set(children) == {f"{m}-seed0" for m in MODELS}
    k3 = children["moveint_k3-seed0"]
    assert k3.data.params["K"] == "3" and "test/mean_over_actions" in k3.data.metrics
    assert "test_label/mean_over_actions" in children["mild_like-seed0"].data.metrics
    assert all(r.info.status == "FINISHED" for r in runs)


def test_evaluation_is_deterministic(smoke_run):
    root, _ = smoke_run
    ev = root / "data" / "moveint" / "evaluate"
    before = json.loads((ev / "summary.json").read_text())
    proc = run_cli(["run", "moveint", "--profile", "smoke", "--step", "evaluate"], root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((ev / "summary.json").read_text()) == before


def test_corrupted_model_is_refused_and_output_kept(smoke_run):
    root, _ = smoke_run
    victim = root / "data/moveint/models/moveint_k3/seed0.ckpt"
    original = victim.read_bytes()
    before = (root / "data/moveint/evaluate/summary.json").read_bytes()
    try:
        victim.write_bytes(original[: len(original) // 3])
        proc = run_cli(["run", "moveint", "--profile", "smoke", "--step", "evaluate"], root)
    finally:
        victim.write_bytes(original)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "seed0.ckpt" in proc.stderr and "--step train" in proc.stderr
    assert (root / "data/moveint/evaluate/summary.json").read_bytes() == before


@pytest.mark.parametrize("override, needles", [
    ("moveint.model.prior_std=wide", ["prior_std"]),
    ("moveint.data.synthetic.test_per_action=9", ["test_per_action"]),
    ("moveint.train.models=[moveint_k9]", ["models"]),
    ("moveint.model.K=0", ["K"]),
])
def test_malformed_params_exit_2(tmp_path, override, needles):
    root = copy_project(tmp_path / "project")
    proc = run_cli(["run", "moveint", "--profile", "smoke", "--set", override], root)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("paperflows: error:") == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr
    assert not (root / "data" / "moveint").exists()


def test_paper_profile_without_data_dir_fails_clearly(tmp_path):
    root = copy_project(tmp_path / "project")
    proc = run_cli(["run", "moveint", "--profile", "paper", "--step", "prepare"], root)
    assert proc.returncode == 2 and "moveint.paper.data_dir" in proc.stderr and "Traceback" not in proc.stderr
