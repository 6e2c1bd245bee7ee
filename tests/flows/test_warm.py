"""The warm runner: `paperflows run` as a fork of a long-lived process — same output, exit codes and
records as an in-process run, one daemon per environment, project code read afresh every run."""

import os
from pathlib import Path

import pytest

from flows import warm
from flows.cli import QUIET_ENV
from helpers import SMOKE_OUTPUTS, copy_project, run_cli


def test_runs_reuse_one_daemon_and_keep_exit_codes_and_output(tmp_path):
    root = copy_project(tmp_path / "p")
    env = {"PAPERFLOWS_WARM_IDLE": "120", "WARM_TEST": "1"}
    bad = run_cli(["run", "whyshift", "--profile", "smoke", "--set", "whyshift.seed=x"], root, env)
    assert bad.returncode == 2 and "whyshift.seed" in bad.stderr and "Traceback" not in bad.stderr
    sock = warm.home() / f"{warm.key({**QUIET_ENV, **os.environ, **env})}.sock"
    assert sock.exists()  # the failed run already went through the daemon
    inode = sock.stat().st_ino
    ok = run_cli(["run", "whyshift", "--profile", "smoke", "--step", "prepare"], root, env)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "whyshift (smoke): prepare" in ok.stdout and (root / SMOKE_OUTPUTS / "data/whyshift/prepared/grid.parquet").exists()
    missing = run_cli(["run", "whyshift", "--profile", "smoke", "--step", "evaluate"], root, env)
    assert missing.returncode == 2 and "--step train" in missing.stderr
    assert sock.stat().st_ino == inode  # one daemon served all three


def test_environment_decides_the_daemon():
    base = dict(os.environ)
    assert warm.key(base) == warm.key({**base, "UNRELATED": "x"})
    assert warm.key(base) != warm.key({**base, "MLFLOW_TRACKING_URI": "http://127.0.0.1:1"})
    assert warm.key(base) != warm.key({**base, "PREFECT_HOME": "/elsewhere"})


def test_in_process_when_disabled(monkeypatch):
    monkeypatch.setenv("PAPERFLOWS_WARM", "0")
    assert not warm.enabled(["run", "whyshift"])
    monkeypatch.setenv("PAPERFLOWS_WARM", "1")
    assert warm.enabled(["run", "whyshift"]) and not warm.enabled(["list"])


def test_daemon_imports_no_project_code():
    """Edits to components/ or flows/cli.py take effect at the next run: the daemon never imports them
    before forking, and each child drops any project module it inherited."""
    source = Path(warm.__file__).read_text()
    assert "import components" not in source and "from components" not in source
    assert all(not name.startswith(("components", "flows")) for name in warm.PRELOAD)


def test_a_stopped_run_takes_its_worker_processes_with_it():
    """Runs lead their own process group (``_child``); stopping one signals the group, so task-runner
    workers do not train on as orphans after the run is killed."""
    import signal
    import subprocess
    import sys
    import time

    from flows.warm import _forward

    code = ("import os, subprocess, sys, time; os.setpgid(0, 0); "
            "w = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
            "print(w.pid, flush=True); time.sleep(600)")
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    worker = int(run.stdout.readline())
    _forward(run.pid, signal.SIGTERM)
    run.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stat = Path(f"/proc/{worker}/stat")
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":  # gone, or a zombie
            break
        time.sleep(0.1)
    else:
        os.kill(worker, signal.SIGKILL)
        raise AssertionError("the worker outlived its run")
