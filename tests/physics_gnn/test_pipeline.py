"""The smoke pipeline end to end through the real CLI, and this paper's bad inputs."""

import json
import shutil
import sqlite3

import pytest

from components.core.paths import output_root
from helpers import copy_project, project_of, run_cli, run_smoke


def assert_user_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr[-2000:])


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_smoke(tmp_path_factory, "physics_gnn")


def test_outputs_and_claims(smoke):
    root, proc = smoke
    assert "Traceback" not in proc.stdout + proc.stderr
    rep = root / "reports" / "physics_gnn"
    for name in ("report.md", "report.html", "claims.json", "metrics.json", "figures/rollout_error_vs_time.png",
                 "figures/energy_error_vs_time.png", "figures/zero_shot_vs_size.png"):
        assert (rep / name).stat().st_size > 0, name
    claims = json.loads((rep / "claims.json").read_text())
    assert len(claims) >= 14
    for row in claims:
        assert list(row) == ["id", "kind", "claim", "metric", "expected", "anchor", "observed", "verdict", "note"]
        assert row["verdict"] in {"reproduced", "not reproduced", "inconclusive"}
        assert row["kind"] == "claim" or row["note"]
    by_id = {c["id"]: c for c in claims}
    assert len(by_id) == len(claims)
    assert {i for i, c in by_id.items() if c["kind"] == "check"} == {"P5-total"}  # true by architecture
    assert "spring N=5 → 10" in by_id["P3"]["claim"] and by_id["P3"]["kind"] == "claim"
    # smoke trains LGNN/CLGNN on the pendulum for 4 steps: LGNN cannot fit, so P1a is inconclusive and says
    # why, with the measured ratio after it; P1b is "not run"
    assert by_id["P1a"]["verdict"] == "inconclusive" and "LGNN (0/1 seeds fit)" in by_id["P1a"]["observed"]
    assert "CLGNN/LGNN rollout error" in by_id["P1a"]["observed"]
    assert by_id["P1b"]["observed"].startswith("not run: ")
    metrics = json.loads((rep / "metrics.json").read_text())
    assert metrics["n_runs"] == 4
    assert metrics["spring.oracle.N5.rollout_err"] < 1e-3 and metrics["pendulum.oracle.N3.rollout_err"] < 1e-3
    assert metrics["pendulum.CLGNN.N3.rollout_err"] > 10 * metrics["pendulum.oracle.N3.rollout_err"]
    assert metrics["spring.static.N10.rollout_err"] > 10 * metrics["spring.oracle.N10.rollout_err"]
    assert metrics["n_fit"] <= 4
    assert metrics["pendulum.CLGNN.N3.constraint_violation"] < 0.05
    counted = [c for c in claims if c["kind"] == "claim"]  # totals count claim rows only, never checks
    assert metrics["claims_reproduced"] == sum(c["verdict"] == "reproduced" for c in counted)
    assert metrics["checks_and_context"] == len(claims) - len(counted) == 1
    html = (rep / "report.html").read_text()
    assert "data:image/png;base64" in html and "zero-shot generalisation" in html
    assert "Checks and context" in html  # P5-total listed apart from the counted claims
    assert "Fit per model" in html


def test_data_files_and_validation(smoke):
    import numpy as np

    root, _ = smoke
    prep = root / "data" / "physics_gnn" / "prepared"
    assert json.loads((prep / "spring" / "meta.json").read_text())["test_sets"] == [[5, 2], [10, 2]]
    with np.load(prep / "spring" / "train.npz") as z:
        assert z["pos"].shape == (4, 20, 5, 2)
    assert sorted(p.name for p in (prep / "spring").glob("test_N*.npz")) == ["test_N10.npz", "test_N5.npz"]
    ge = json.loads((prep / "ge_validation.json").read_text())
    assert [r["success"] for r in ge] == [True, True] and all(r["evaluated"] >= 7 for r in ge)


def test_mlflow_nested_runs(smoke):
    root, _ = smoke
    con = sqlite3.connect(project_of(root) / "mlflow.db")
    names = {r[0] for r in con.execute("select name from runs")}
    assert {"physics_gnn · smoke", "prepare", "train", "evaluate", "report"} <= names
    models = {"spring-LGNN-seed0", "spring-FGNN-seed0", "pendulum-LGNN-seed0", "pendulum-CLGNN-seed0"}
    assert models <= names
    for name in models:  # the train step closes the runs its workers logged into
        assert con.execute("select status from runs where name=?", (name,)).fetchone()[0] == "FINISHED", name
    run_id = con.execute("select run_uuid from runs where name='pendulum-CLGNN-seed0'").fetchone()[0]
    keys = {r[0] for r in con.execute("select key from metrics where run_uuid=?", (run_id,))}
    assert {"val_mse", "val_nmse", "fit", "N3.rollout_err", "N4.energy_err"} <= keys
    train_id = con.execute("select run_uuid from runs where name='train'").fetchone()[0]
    parent = con.execute("select value from tags where run_uuid=? and key='mlflow.parentRunId'", (run_id,)).fetchone()
    assert parent == (train_id,)
    from mlflow import MlflowClient

    top = con.execute("select value from tags where run_uuid=? and key='mlflow.parentRunId'", (train_id,)).fetchone()[0]
    logged = MlflowClient(f"sqlite:///{project_of(root)}/mlflow.db").list_artifacts(top, "data")
    assert "data/summary.csv" in {a.path for a in logged}  # the declared artifact of evaluate


def test_corrupted_prepared_data_is_a_clear_error_and_keeps_outputs(smoke):
    root, _ = smoke
    target = root / "data" / "physics_gnn" / "prepared" / "pendulum" / "train.npz"
    runs = root / "data" / "physics_gnn" / "models" / "runs.json"
    before = runs.read_bytes()
    good = target.read_bytes()
    target.write_bytes(good[: len(good) // 3])
    try:
        proc = run_cli(["run", "physics_gnn", "--profile", "smoke", "--step", "train"], root)
    finally:
        target.write_bytes(good)
    assert_user_error(proc, "pendulum/train.npz is unreadable or incomplete", "--step prepare")
    assert runs.read_bytes() == before
    staging = root / "data" / "physics_gnn" / ".staging"
    assert not staging.exists() or not any(staging.iterdir())


@pytest.mark.parametrize("override,needles", [
    ("physics_gnn.train.lr=-1", ["physics_gnn.train.lr", "greater than 0"]),
    ("physics_gnn.spring.models=[CLGNN]", ["physics_gnn.spring.models", "pendulum only"]),
    ("physics_gnn.pendulum.models=[XGNN]", ["physics_gnn.pendulum.models"]),
    ("physics_gnn.train.epoch=3", ["physics_gnn.train.epoch: unknown key", "epochs"]),
])
def test_bad_params(tmp_path, override, needles):
    root = copy_project(tmp_path / "project")
    assert_user_error(run_cli(["run", "physics_gnn", "--profile", "smoke", "--set", override], root), *needles)


def test_missing_upstream(tmp_path):
    root = copy_project(tmp_path / "project")
    proc = run_cli(["run", "physics_gnn", "--profile", "smoke", "--step", "evaluate"], root)
    assert_user_error(proc, "missing upstream output", "paperflows run physics_gnn --profile smoke --step prepare")


def test_rollout_dt_must_divide_the_stored_interval(tmp_path):
    root = copy_project(tmp_path / "project")
    proc = run_cli(["run", "physics_gnn", "--profile", "smoke", "--set", "physics_gnn.spring.rollout_dt=0.03"], root)
    assert_user_error(proc, "physics_gnn.spring", "rollout_dt 0.03 must divide the stored interval")


def test_failed_expectations_stop_prepare_and_keep_old_data(smoke):
    root, _ = smoke
    prepared = root / "data" / "physics_gnn" / "prepared" / "spring" / "train.npz"
    before = prepared.read_bytes()
    overrides = ["physics_gnn.spring.dt=0.02", "physics_gnn.spring.stride=5"]
    other = output_root(project_of(root), "smoke", overrides)  # where a run with these params writes
    shutil.copytree(root / "data", other / "data")
    proc = run_cli(["run", "physics_gnn", "--profile", "smoke", "--step", "prepare",
                    "--set", overrides[0], "--set", overrides[1]], root)
    assert_user_error(proc, "physics_gnn-spring", "energy_drift_rel")
    assert (other / prepared.relative_to(root)).read_bytes() == before
