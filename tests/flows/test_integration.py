"""Real processes on loopback: an MLflow tracking server and `dvc repro` in a temporary git repository
(the served Prefect deployment is driven from its UI form in test_browser.py)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from helpers import BIN, DvcRepo, copy_project, free_port, run_cli, stop, wait_healthy

pytestmark = pytest.mark.integration


@pytest.fixture
def server_log(tmp_path):
    return open(tmp_path / "server.log", "wb")


def test_pipeline_runs_reach_an_mlflow_server_over_http(tmp_path, server_log):
    from mlflow import MlflowClient

    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{tmp_path}/server.db",
         "--artifacts-destination", str(tmp_path / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"], stdout=server_log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        uri = f"http://127.0.0.1:{port}"
        wait_healthy(uri + "/health", server)
        root = copy_project(tmp_path / "project")
        proc = run_cli(["run", "whyshift", "--profile", "smoke"], root, env={"MLFLOW_TRACKING_URI": uri})
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert not (root / "mlflow.db").exists()  # nothing fell back to the local store
        client = MlflowClient(uri)
        runs = client.search_runs([client.get_experiment_by_name("whyshift").experiment_id])
        parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
        assert sorted(r.data.tags["step"] for r in runs if r.data.tags.get("mlflow.parentRunId") ==
                      parent.info.run_id) == ["evaluate", "prepare", "report", "train"]
        assert "report/claims.json" in {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
        assert list((tmp_path / "artifacts").rglob("claims.json"))  # stored by the server, not the client
    finally:
        stop(server)


def test_dvc_repro_noop_and_param_change_in_a_git_repo(tmp_path):
    dvc_repo = DvcRepo(tmp_path / "repo")
    repo, sh = dvc_repo.path, dvc_repo.sh

    def ran(proc) -> list[str]:
        return re.findall(r"Running stage '([^']+)'", proc.stdout)

    # one pipeline's chain (the others' stages are exercised by their own smoke tests)
    first = sh(str(BIN / "dvc"), "repro", "whyshift-report")
    assert ran(first) == ["whyshift-prepare", "whyshift-train", "whyshift-evaluate", "whyshift-report"]
    assert (repo / "reports/whyshift/claims.json").exists() and (repo / "dvc.lock").exists()
    start = time.perf_counter()
    again = sh(str(BIN / "dvc"), "repro", "whyshift-report")
    assert ran(again) == [] and "up to date" in again.stdout, again.stdout
    assert time.perf_counter() - start < 30
    status = sh(str(BIN / "dvc"), "status", "whyshift-report")
    assert "up to date" in status.stdout

    dvc_repo.commit("results")
    changed = sh(str(BIN / "dvc"), "exp", "run", "-S", "whyshift.evaluate.truth_rows=6000", "whyshift-report")
    assert ran(changed) == ["whyshift-evaluate", "whyshift-report"]  # a param change reruns what reads it
    shown = sh(str(BIN / "dvc"), "exp", "show", "--md", "--no-pager").stdout
    assert "whyshift.evaluate.truth_rows" in shown and "6000" in shown, shown[:2000]

    # a grid with one more hyper-parameter value: only the new configuration is fitted, the rest are reused
    grown = sh(str(BIN / "dvc"), "exp", "run", "-S", "whyshift.grid.methods.rf.min_samples_leaf=[1,8]",
               "whyshift-report")
    assert ran(grown) == ["whyshift-prepare", "whyshift-train", "whyshift-evaluate", "whyshift-report"]
    assert "25 configurations: 24 already done, 1 to fit" in grown.stdout + grown.stderr, grown.stderr[-3000:]
    diff = json.loads(sh(str(BIN / "dvc"), "metrics", "diff", "HEAD", "--json").stdout)
    assert diff["reports/whyshift/headline.json"]["n_configs"] == {"old": 24, "new": 25, "diff": 1}, diff
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{repo}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("whyshift").experiment_id])
    stages = {r.data.tags["dvc_stage"] for r in runs if "mlflow.parentRunId" not in r.data.tags}
    assert stages == {"whyshift-prepare", "whyshift-train", "whyshift-evaluate", "whyshift-report"}


def test_default_run_records_its_stages_in_dvc_and_a_remote_round_trip_restores_them(tmp_path):
    """`paperflows run` with the project's own params leaves `dvc status` clean, a second run skips every
    step, and `dvc push` → fresh clone → `dvc pull` restores the reports without computing anything."""
    dvc_repo = DvcRepo(tmp_path / "repo")
    repo, sh = dvc_repo.path, dvc_repo.sh
    env = {"PYTHONPATH": dvc_repo.pythonpath}

    first = run_cli(["run", "whyshift"], repo, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "(recorded in dvc.lock)" in first.stdout
    whyshift = [f"whyshift-{s}" for s in ("prepare", "train", "evaluate", "report")]  # the other papers never ran
    assert "Data and pipelines are up to date" in sh(str(BIN / "dvc"), "status", *whyshift).stdout
    metrics = json.loads(sh(str(BIN / "dvc"), "metrics", "show", "--json").stdout)
    shown = next(iter(metrics.values()))["data"]["reports/whyshift/headline.json"]["data"]
    assert 4 < len(shown) <= 15 and "claims_reproduced" in shown  # a table a person reads
    plots = sh(str(BIN / "dvc"), "plots", "show", "--json", "reports/whyshift/plots/id_vs_ood.csv").stdout
    assert "ood_acc_main" in plots and "id_test_acc" in plots  # rendered from the declared x/y

    again = run_cli(["run", "whyshift"], repo, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr.count("up to date with dvc.lock") == 4, again.stderr[-2000:]
    forced = run_cli(["run", "whyshift", "--step", "report", "--force"], repo, env=env)
    assert forced.returncode == 0 and "up to date with dvc.lock" not in forced.stderr
    before = (repo / "reports/whyshift/report.md").read_text()
    other = run_cli(["run", "whyshift", "--set", "whyshift.seed=3"], repo, env=env)
    assert other.returncode == 0 and "recorded in dvc.lock" not in other.stdout, other.stderr[-2000:]
    out = re.search(r"outputs go to (runs/default-[0-9a-f]{8})/data/whyshift", other.stderr).group(1)
    assert (repo / out / "reports/whyshift/claims.json").exists()  # other params: their own folder, as logged
    assert (repo / "reports/whyshift/report.md").read_text() == before  # the project's results untouched
    assert "Data and pipelines are up to date" in sh(str(BIN / "dvc"), "status", *whyshift).stdout

    report = (repo / "reports/whyshift/report.md").read_text()
    remote = tmp_path / "remote"
    sh(str(BIN / "dvc"), "remote", "add", "--local", "-d", "store", str(remote))
    sh(str(BIN / "dvc"), "push")
    dvc_repo.commit("results")
    clone = tmp_path / "clone"
    sh("git", "clone", "-q", str(repo), str(clone))
    assert not (clone / "reports/whyshift/report.md").exists()
    sh(str(BIN / "dvc"), "remote", "add", "--local", "-d", "store", str(remote), cwd=clone)
    sh(str(BIN / "dvc"), "pull", *whyshift, cwd=clone)
    assert (clone / "reports/whyshift/report.md").read_text() == report
    assert "Data and pipelines are up to date" in sh(str(BIN / "dvc"), "status", *whyshift, cwd=clone).stdout
