"""Helpers shared by tests (importable: ``from helpers import ...``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROJECT_FILES = ("params.yaml", "dvc.yaml", "profiles", "README.md", ".dvcignore", ".dvc/config")


def copy_project(dest: Path) -> Path:
    """The files that make a paperflows project (code comes from the installed package)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, dirs_exist_ok=True)
        elif src.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(args: list[str], cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """``paperflows`` as a user runs it: a real process, its exit code and both streams."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(BIN / "paperflows"), *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


SMOKE_OUTPUTS = Path("runs") / "smoke"  # where a smoke run writes (not the project's own params)


def run_smoke(tmp_path_factory, slug: str, *extra: str) -> tuple[Path, subprocess.CompletedProcess]:
    """``paperflows run <slug> --profile smoke`` in a fresh project copy; it must succeed without a traceback.

    Returns the run's output root (``<project>/runs/smoke[-<hash of the --set overrides>]``: ``data/<slug>``,
    ``reports/<slug>`` below it; the CLI finds the project from there, :func:`pipeline_runs` its MLflow store)
    and the process."""
    from components.core.paths import output_root

    root = copy_project(tmp_path_factory.mktemp(slug) / "project")
    proc = run_cli(["run", slug, "--profile", "smoke", *extra], root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (root / "data").exists() and not (root / "reports" / slug).exists()  # DVC-tracked outputs untouched
    overrides = [v for flag, v in zip(extra, extra[1:]) if flag == "--set"]
    return output_root(root, "smoke", overrides), proc


def project_of(path: Path) -> Path:
    """The project copy holding ``path`` (a run's output root lies inside it)."""
    return next(p for p in (path, *path.parents) if (p / "params.yaml").is_file())


def pipeline_runs(root: Path, slug: str):
    """The MLflow client, the one parent run, its step runs by step name, and every run of ``slug``."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{project_of(root)}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name(slug).experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    steps = {r.data.tags["step"]: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id}
    assert sorted(steps) == sorted(["prepare", "train", "evaluate", "report"])
    return client, parents[0], steps, runs


def assert_bad_params_refused(tmp_path: Path, slug: str, override: str, needles: list[str]) -> None:
    """``--set <override>`` on a smoke run: exit 2, one message naming the key, no traceback, nothing written."""
    root = copy_project(tmp_path / "project")
    proc = run_cli(["run", slug, "--profile", "smoke", "--set", override], root)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("paperflows: error:") == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)
    assert not (root / "data").exists() and not (root / "runs").exists()  # failed before any work


def assert_truncated_input_refused(root: Path, slug: str, victim: str, kept: str, step: str, upstream: str,
                                   name: str) -> None:
    """Cut ``data/<slug>/<victim>`` in half and run ``step`` on the smoke outputs under ``root``: exit 2, one message
    naming the file (``name``) and the ``--step <upstream>`` that rewrites it, no traceback, ``kept`` untouched;
    the victim is restored afterwards."""
    data = root / "data" / slug
    original, before = (data / victim).read_bytes(), (data / kept).read_bytes()
    try:
        (data / victim).write_bytes(original[: len(original) // 2])
        proc = run_cli(["run", slug, "--profile", "smoke", "--step", step], root)
    finally:
        (data / victim).write_bytes(original)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and name in proc.stderr and f"--step {upstream}" in proc.stderr
    assert (data / kept).read_bytes() == before  # nothing half-written


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    """Poll ``url`` until it answers 200; fail at once if the server process exits."""
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
    """Terminate a server process (kill after 20 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class DvcRepo:
    """A project checkout in a fresh git repository whose defaults are the smoke sizes (stages take seconds)."""

    def __init__(self, path: Path):
        import yaml

        from components.core.params import deep_merge

        self.path = path
        copy_project(path)
        shutil.copytree(REPO / "components", path / "components", ignore=shutil.ignore_patterns("__pycache__"))
        for committed in REPO.glob("stability/*/verdicts.json"):  # committed deps of the report stages
            (path / committed.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(committed, path / committed.relative_to(REPO))
        smoke = deep_merge(yaml.safe_load((path / "params.yaml").read_text()),
                           yaml.safe_load((path / "profiles/smoke.yaml").read_text()))
        (path / "params.yaml").write_text(yaml.safe_dump(smoke, sort_keys=False))
        (path / ".gitignore").write_text("/mlflow.db\n/mlflow.db-*\n/mlartifacts/\n/data/*/.runs/\n/data/*/.staging/\n")
        self.pythonpath = os.pathsep.join(filter(None, [str(path), os.environ.get("PYTHONPATH")]))
        self.env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONPATH": self.pythonpath}
        self.sh("git", "init", "-q")
        self.commit("base")

    def sh(self, *cmd: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(cmd, cwd=cwd or self.path, env=self.env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        return proc

    def commit(self, message: str) -> None:
        self.sh("git", "add", "-A")
        self.sh("git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", message)
