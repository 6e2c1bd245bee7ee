"""Real processes on loopback: a Prefect server with served deployments, an MLflow tracking server,
and `dvc repro` in a temporary git repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from helpers import BIN, REPO, copy_project, free_port, run_cli

pytestmark = pytest.mark.integration


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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


def test_served_deployment_triggered_through_the_api_completes(tmp_path, server_log):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_UI_ENABLED": "false",
           "PREFECT_HOME": str(tmp_path / "prefect-home")}
    env.pop("PREFECT_LOCAL_STORAGE_PATH", None)
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                               str(port)], env=env, stdout=server_log, stderr=subprocess.STDOUT)
    root = copy_project(tmp_path / "project")
    serve = None
    try:
        wait_healthy(api + "/health", server)
        serve = subprocess.Popen([str(BIN / "paperflows"), "serve"], cwd=root, env=env, stdout=server_log,
                                 stderr=subprocess.STDOUT)
        from prefect.client.orchestration import get_client
        from prefect.deployments import run_deployment
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: api}):
            deadline = time.monotonic() + 120
            while True:
                with get_client(sync_client=True) as client:
                    try:
                        deployment = client.read_deployment_by_name("whyshift/whyshift")
                        break
                    except Exception:
                        assert serve.poll() is None and time.monotonic() < deadline, "serve did not register"
                        time.sleep(1)
            schema = deployment.parameter_openapi_schema
            assert schema["properties"]["profile"]["enum"] == ["smoke", "default", "paper"]  # a typed UI form
            flow_run = run_deployment("whyshift/whyshift", parameters={"profile": "smoke"}, timeout=600)
        assert flow_run.state.is_completed(), flow_run.state
        assert (root / "reports/whyshift/claims.json").exists()
    finally:
        if serve is not None:
            stop(serve)
        stop(server)


def test_dvc_repro_noop_and_param_change_in_a_git_repo(tmp_path):
    from components.core.params import deep_merge

    repo = tmp_path / "repo"
    copy_project(repo)
    shutil.copytree(REPO / "components", repo / "components", ignore=shutil.ignore_patterns("__pycache__"))
    for committed in REPO.glob("stability/*/verdicts.json"):  # committed deps of the report stages
        (repo / committed.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(committed, repo / committed.relative_to(REPO))
    # the test repo's defaults are the smoke sizes, so every stage takes seconds
    smoke = deep_merge(yaml.safe_load((repo / "params.yaml").read_text()),
                       yaml.safe_load((repo / "profiles/smoke.yaml").read_text()))
    (repo / "params.yaml").write_text(yaml.safe_dump(smoke, sort_keys=False))
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONPATH": str(repo)}

    def sh(*cmd: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        return proc

    sh("git", "init", "-q")
    sh("git", "add", "-A")
    sh("git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")

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

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["whyshift"]["evaluate"]["truth_rows"] = 6000
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    changed = sh(str(BIN / "dvc"), "repro", "whyshift-report")
    assert ran(changed) == ["whyshift-evaluate", "whyshift-report"]
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{repo}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("whyshift").experiment_id])
    stages = {r.data.tags["dvc_stage"] for r in runs if "mlflow.parentRunId" not in r.data.tags}
    assert stages == {"whyshift-prepare", "whyshift-train", "whyshift-evaluate", "whyshift-report"}
