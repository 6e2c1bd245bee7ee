"""The three ways in, as a user meets them, in a real browser: a Prefect server with served deployments, a smoke
run started from a deployment's form, its report artifact, and the MLflow UI over the runs it recorded.

Without a browser the same deployment is started through the API, every non-browser assertion still runs, and
the test then skips naming what is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from browser import ARTIFACTS, BrowserSession, why_no_browser
from helpers import BIN, SMOKE_OUTPUTS, copy_project, free_port, stop, wait_healthy

pytestmark = pytest.mark.integration

PROGRESS_LINES = ("outputs go to runs/smoke", "[whyshift prepare]", "[whyshift report] claims:")


def test_a_smoke_run_started_from_the_prefect_form_is_readable_in_both_uis(tmp_path):
    from flows.cli import mlflow_run_link

    no_browser = why_no_browser()
    port = free_port()
    base, api = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_UI_ENABLED": "true",
           "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PREFECT_SERVER_DATABASE_TIMEOUT": "60", "PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT": "30"}  # loaded CI
    env.pop("PREFECT_LOCAL_STORAGE_PATH", None)
    log = open(tmp_path / "servers.log", "wb")
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                               str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    root = copy_project(tmp_path / "project")
    serve = mlflow_ui = None
    try:
        wait_healthy(api + "/health", server)
        serve = subprocess.Popen([str(BIN / "paperflows"), "serve"], cwd=root, env=env, stdout=log,
                                 stderr=subprocess.STDOUT)
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, LogFilter, LogFilterFlowRunId
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
            deployment = _wait_for(lambda: client.read_deployment_by_name("whyshift/whyshift"), 120,
                                   "`paperflows serve` did not register whyshift", serve)
            schema = deployment.parameter_openapi_schema
            assert schema["properties"]["profile"]["enum"] == ["smoke", "default", "full", "paper"]  # a typed form
            for field in ("steps", "overrides"):  # lists from the start, not "None — type 'None'"
                assert schema["properties"][field]["type"] == "array" and schema["properties"][field]["default"] == []
            assert set(deployment.tags) == {"paperflows", "whyshift", "deployment"}

            if no_browser:
                client.create_flow_run_from_deployment(deployment.id, parameters={"profile": "smoke"})
            else:
                with BrowserSession("prefect-run-form") as ui:
                    _submit_smoke_run_from_the_form(ui, f"{base}/deployments/deployment/{deployment.id}/run")
            only_this = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
            flow_run = _wait_for(lambda: client.read_flow_runs(deployment_filter=only_this)[0], 30,
                                 "no flow run was created", serve)
            assert flow_run.parameters["profile"] == "smoke"
            flow_run = _wait_for(lambda: _if(client.read_flow_run(flow_run.id), lambda r: r.state.is_final()),
                                 600, "the smoke run did not finish", serve)
            assert flow_run.state.is_completed(), flow_run.state
            assert flow_run.name == "whyshift · smoke"  # named by the flow, not a random name from the form
            messages = _wait_for(lambda: _if([m.message for m in client.read_logs(LogFilter(
                flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])), limit=200)],
                lambda ms: all(any(line in m for m in ms) for line in PROGRESS_LINES)), 30,
                "the run log lacks progress lines", serve)  # logs reach the API in batches
            artifact = next(a for a in client.read_artifacts() if a.flow_run_id == flow_run.id)

        report = root / SMOKE_OUTPUTS / "reports/whyshift/report.md"  # a form run with other params: its own folder,
        assert report.exists() and not (root / "reports/whyshift").exists()  # the DVC-tracked reports untouched
        figures = report.read_text().count("](figures/")
        assert figures >= 3

        from mlflow import MlflowClient

        store = MlflowClient(f"sqlite:///{root}/mlflow.db")
        experiment = store.get_experiment_by_name("whyshift")
        parent = next(r for r in store.search_runs([experiment.experiment_id])
                      if "mlflow.parentRunId" not in r.data.tags)
        assert parent.info.run_name == "whyshift · smoke"
        assert parent.data.tags["prefect_flow_run_name"] == flow_run.name
        assert {"claims_reproduced", "claims_not_reproduced", "claims_inconclusive"} <= set(parent.data.metrics)
        if no_browser:
            pytest.skip(f"the deployment ran and its outputs are right; the browser part needs a browser: {no_browser}")

        with BrowserSession("prefect-report-artifact") as ui:
            ui.page.goto(f"{base}/artifacts/artifact/{artifact.id}")
            ui.page.get_by_role("heading", name="Claims").wait_for()
            ui.page.wait_for_function("() => [...document.images].every(i => i.complete)")
            images = ui.images()
            assert len(images) == figures and all(i["width"] > 0 for i in images), images  # figures render
            assert not [f for f in ui.failed if "/artifacts/" in f[1]], ui.failed  # no 404 for a figure
            verdict = ui.page.get_by_role("columnheader", name="verdict").first.bounding_box()
            assert verdict["x"] + verdict["width"] <= ui.size["width"]  # the verdicts are on screen

        mlflow_port = free_port()
        mlflow_ui = subprocess.Popen(
            [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{root}/mlflow.db", "--host",
             "127.0.0.1", "--port", str(mlflow_port), "--workers", "1"], cwd=root, stdout=log,
            stderr=subprocess.STDOUT, env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
        wait_healthy(f"http://127.0.0.1:{mlflow_port}/health", mlflow_ui)
        with BrowserSession("mlflow-runs") as ui:
            link = mlflow_run_link(f"http://127.0.0.1:{mlflow_port}", experiment.experiment_id, parent.info.run_id)
            ui.page.goto(link.split("/runs/")[0] + "?workflowType=machine_learning")  # the run list
            ui.page.get_by_role("link", name="whyshift · smoke").first.click()
            ui.page.get_by_text("claims_inconclusive").first.wait_for()  # the parent run: its claim counts
            assert parent.info.run_id in ui.page.url
            ui.page.goto(link)  # the link `paperflows run` prints opens the same run
            ui.page.get_by_text("claims_reproduced").first.wait_for()
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)  # the servers' log beside the screenshots
        log.flush()
        shutil.copy2(tmp_path / "servers.log", ARTIFACTS / "servers.log")
        raise
    finally:
        for proc in (mlflow_ui, serve):
            if proc is not None:
                stop(proc)
        stop(server)
        log.close()


def _submit_smoke_run_from_the_form(ui: BrowserSession, form_url: str) -> None:
    """Choose profile `smoke` in the deployment's custom-run form and submit it, as a user would."""
    from playwright.sync_api import expect

    page = ui.page
    page.goto(form_url)
    profile = page.locator("button.p-select-button__control").first  # the `profile` enum, a Prefect select
    expect(profile).to_have_text("default")  # expect(...) waits for the UI to settle (Vue updates asynchronously)
    profile.focus()
    page.keyboard.press("ArrowDown")  # opens the option list
    options = page.get_by_role("option")
    expect(options).to_have_text(["smoke", "default", "full", "paper"])
    options.filter(has_text="smoke").click()
    expect(profile).to_have_text("smoke")
    expect(options.first).to_be_hidden()  # the option list closed: the form holds the choice
    page.get_by_role("button", name="Submit").click()
    page.wait_for_function("() => !location.pathname.endsWith('/run') || "
                           "document.body.innerText.includes('Something went wrong')")  # submitted, or refused
    if page.url.endswith("/run"):  # a server error (seen once on a loaded CI box): a user submits again
        print(f"first submission refused by the server; failed requests: {ui.failed}")
        page.get_by_role("button", name="Submit").click()
        page.wait_for_url(lambda url: not url.endswith("/run"))


def _if(value, ok):
    """``value`` if ``ok(value)``, else None (for :func:`_wait_for`)."""
    return value if ok(value) else None


def _wait_for(get, timeout: float, what: str, serve: subprocess.Popen):
    """Poll ``get()`` until it returns something (exceptions count as not yet); fail with ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = get()
            if value is not None:
                return value
        except Exception:  # not registered / not created yet
            pass
        assert serve.poll() is None, f"`paperflows serve` exited with {serve.returncode}"
        assert time.monotonic() < deadline, what
        time.sleep(1)
