"""MLflow tracking through an explicit client: one parent run per pipeline execution, nested step runs.

Runs are addressed by id (never MLflow's thread-local "active run"), so the same code works in
the CLI, inside Prefect task threads and in worker processes.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from components.core.errors import UserError
from components.core.params import TrackingParams, flatten

MAX_PARAM_CHARS = 6000  # MLflow's limit per param value


def resolve_uri(root: Path, tracking: TrackingParams) -> str:
    """``MLFLOW_TRACKING_URI`` > ``tracking.uri`` > an absolute SQLite file at the project root."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or tracking.uri
    return uri or f"sqlite:///{(root / 'mlflow.db').resolve()}"


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail fast, before any work, if an HTTP tracking server does not answer its health check."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as resp:
            if resp.status == 200:
                return
            reason = f"HTTP {resp.status}"
    except (urllib.error.URLError, OSError) as exc:
        reason = str(getattr(exc, "reason", exc))
    raise UserError(f"MLflow tracking server {uri} is unreachable ({reason})",
                    "start it (`mlflow server --host 127.0.0.1 --port 5000`) or unset MLFLOW_TRACKING_URI "
                    "to use the local mlflow.db")


def git_state(root: Path) -> tuple[str, str]:
    """(commit, dirty) of the project checkout; ("unknown", "unknown") outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout
    try:
        commit = git("rev-parse", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").strip())
        return commit, str(dirty).lower()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown", "unknown"


def _initialise_sqlite_store(uri: str) -> None:
    """Create or migrate a SQLite store under an exclusive file lock.

    MLflow builds the schema on first open; two processes doing it at once (parallel first runs on a fresh
    checkout) leave it half-migrated, and every later open fails with "table … already exists".
    """
    if not uri.startswith("sqlite:///"):
        return
    import fcntl

    from mlflow import MlflowClient

    db = Path(uri[len("sqlite:///"):])
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + "-lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)


# MLflow 3's UI opens an experiment of unknown kind on its GenAI "Traces" page; ours are model training
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}


class Tracker:
    """One MLflow experiment (the slug) on one tracking URI."""

    def __init__(self, uri: str, experiment: str, artifact_root: Path | None = None):
        from mlflow import MlflowClient

        self.uri = uri
        _initialise_sqlite_store(uri)
        self.client = MlflowClient(tracking_uri=uri)
        self.experiment_id = self._ensure_experiment(experiment, artifact_root)

    def _ensure_experiment(self, name: str, artifact_root: Path | None) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is None:
            location = None
            if artifact_root is not None and not self.uri.startswith(("http://", "https://")):
                location = (artifact_root / name).resolve().as_uri()  # beside mlflow.db, not the cwd
            try:
                self.client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_TAGS)
            except Exception:  # created concurrently by another process
                pass
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise UserError(f"MLflow could not create experiment {name!r} on {self.uri}",
                                "check that the tracking store is writable")
        for key, value in EXPERIMENT_TAGS.items():  # stores made before the tag existed
            if found.tags.get(key) != value:
                self.client.set_experiment_tag(found.experiment_id, key, value)
        return found.experiment_id

    def start_run(self, name: str, tags: dict[str, str], parent: "TrackedRun | None" = None) -> "TrackedRun":
        tags = {k: str(v) for k, v in tags.items()}
        tags["mlflow.runName"] = name
        if parent is not None:
            tags["mlflow.parentRunId"] = parent.run_id
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        return TrackedRun(self.client, run.info.run_id, self.uri, self.experiment_id, tags)


INHERITED_TAGS = ("git_commit", "git_dirty", "profile", "step", "prefect_flow_run_id", "prefect_flow_run_name",
                  "dvc_stage")


class TrackedRun:
    """A handle on one MLflow run: params, metrics, tags, artifacts, nested runs, and its end status."""

    def __init__(self, client, run_id: str, uri: str, experiment_id: str, tags: dict[str, str]):
        self.client, self.run_id, self.uri, self.experiment_id = client, run_id, uri, experiment_id
        self.tags = {k: v for k, v in tags.items() if k in INHERITED_TAGS}

    def ref(self) -> dict[str, str]:
        """A picklable reference, so a worker process (``ctx.executor.map``) can log to this run."""
        return {"uri": self.uri, "run_id": self.run_id, "experiment_id": self.experiment_id}

    @classmethod
    def from_ref(cls, ref: dict[str, str] | None) -> "TrackedRun | None":
        """Reopen a run from :meth:`ref` (``None`` when tracking is off)."""
        if not ref:
            return None
        from mlflow import MlflowClient

        return cls(MlflowClient(tracking_uri=ref["uri"]), ref["run_id"], ref["uri"], ref["experiment_id"], {})

    def reopen(self, run_id: str) -> "TrackedRun":
        """Another run of the same store by id (e.g. a nested run a worker process created)."""
        return TrackedRun(self.client, run_id, self.uri, self.experiment_id, {})

    def start_child(self, name: str, tags: dict[str, str] | None = None) -> "TrackedRun":
        """A nested run under this one, e.g. the best configuration of a grid; it inherits the
        provenance tags (commit, profile, step, Prefect flow run, DVC stage)."""
        tags = {**self.tags, **{k: str(v) for k, v in (tags or {}).items()}, "mlflow.runName": name,
                "mlflow.parentRunId": self.run_id}
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        return TrackedRun(self.client, run.info.run_id, self.uri, self.experiment_id, tags)

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, _param_value(v)) for k, v in flatten(params).items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[i:i + 100])

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(metric_name(k), float(v), now, step) for k, v in metrics.items() if v is not None]
        for i in range(0, len(items), 1000):
            self.client.log_batch(self.run_id, metrics=items[i:i + 1000])

    def log_history(self, rows: list[dict[str, Any]], step_key: str = "step") -> None:
        """A metric series (e.g. per training step) in few round trips: one ``log_batch`` per 1,000 points."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(metric_name(k), float(v), now, int(row[step_key])) for row in rows
                 for k, v in row.items() if k != step_key and v is not None and v == v]
        for i in range(0, len(items), 1000):
            self.client.log_batch(self.run_id, metrics=items[i:i + 1000])

    def set_tags(self, tags: dict[str, Any]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_artifact(self, path: Path | str, artifact_path: str | None = None) -> None:
        path = Path(path)
        if path.is_dir():
            self.client.log_artifacts(self.run_id, str(path), artifact_path)
        else:
            self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_dict(self, obj: Any, artifact_file: str) -> None:
        self.client.log_dict(self.run_id, obj, artifact_file)

    def finish(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status=status)


def metric_name(name: str) -> str:
    """MLflow accepts letters, digits, ``_ - . / `` and spaces in names; anything else becomes ``_``."""
    return re.sub(r"[^\w\-./ ]", "_", name)


def _param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."
