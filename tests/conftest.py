"""Shared fixtures: an isolated project copy, Prefect home and MLflow store per test session.

Tests never touch the developer's ``mlflow.db``, ``data/``, ``reports/`` or ``~/.prefect``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import copy_project

QUIET = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false", "DVC_NO_ANALYTICS": "1", "ITERATIVE_DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "PAPERFLOWS_WARM_IDLE": "300",  # warm runners the tests start end soon after (and at session end)
}
os.environ.update(QUIET)
for _name in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI", "PAPERFLOWS_DASK_ADDRESS", "PAPERFLOWS_ROOT"):
    os.environ.pop(_name, None)


_SESSION_HOMES: list[str] = []  # the Prefect home this test process made (each xdist worker has its own)


@pytest.fixture(scope="session", autouse=True)
def prefect_home(tmp_path_factory):
    """One Prefect database for the session, never the developer's ``~/.prefect``."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    _SESSION_HOMES.append(str(home))
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(home / "storage")
    return home


@pytest.fixture(autouse=True)
def restore_environ():
    """Undo environment changes a test makes, including MLflow's: ``mlflow.set_tracking_uri`` (called by
    Lightning's MLFlowLogger) exports MLFLOW_TRACKING_URI, which would redirect later subprocesses."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A fresh project copy as the working directory; MLflow defaults to its own ``mlflow.db``."""
    root = copy_project(tmp_path / "project")
    monkeypatch.chdir(root)
    monkeypatch.delenv("PAPERFLOWS_ROOT", raising=False)
    return root


def pytest_sessionfinish(session, exitstatus):
    """Warm runners started by this process's tests end with its session (never another session's: the
    xdist controller, which runs no test, stops none)."""
    from flows.warm import stop_all

    for home in _SESSION_HOMES:
        stop_all(home)
