"""Orchestration + tracking overhead of `paperflows run`, and the cost of a no-op `dvc repro`.

Measured in one run on the same machine, each variant in a fresh process (imports included in all):

* ``direct``   — the four whyshift step functions called in a plain loop: no Prefect, no MLflow;
* ``paperflows`` — `paperflows run whyshift --profile smoke` as users and DVC stages call it: a fork of the
  warm runner (already started by an earlier call), a Prefect flow + a task per step on the local API,
  an MLflow parent run with nested step runs, staged outputs, artifacts;
* ``paperflows_cold`` — the same with ``PAPERFLOWS_WARM=0``: imports and a temporary Prefect API paid in
  the invocation itself (what every call cost before the warm runner);
* ``paperflows_server`` — warm, against an already running ``prefect server start`` (``PREFECT_API_URL``);
* ``first_call`` — once: the first call of a session, which starts the warm runner;
* ``dvc repro`` (no-op) in a temporary git repo after a first full repro.

Each variant starts from an empty ``data/`` so every step does its full work.

Usage: ``.venv/bin/python benchmarks/overhead.py [--repeats 3]``; writes ``benchmarks/results/overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROJECT = ("params.yaml", "dvc.yaml", "profiles", ".dvcignore", ".dvc/config")

DIRECT = """
import sys, time
from pathlib import Path
from components.core.execution import LocalExecutor, limit_threads, set_runtime
from components.core.params import load_config
from components.core.paths import Paths
from components.core.pipeline import StepContext
from components.core.seeding import seed_everything
from components.whyshift.pipeline import PIPELINE
root = Path.cwd()
limit_threads()
cfg = load_config("whyshift", PIPELINE.params_model, root, "smoke")
set_runtime(cfg.runtime)
seconds = {}
for step in PIPELINE.steps:  # plain calls: outputs written in place, no staging, no tracking
    outputs = {n: PIPELINE.resolve(root, p) for n, p in step.outputs.items()}
    for n, p in step.outputs.items():
        (outputs[n] if "." not in Path(p).name else outputs[n].parent).mkdir(parents=True, exist_ok=True)
    inputs = {n: PIPELINE.resolve(root, p) for n, p in {**step.reads, **step.optional_reads}.items()}
    ctx = StepContext("whyshift", step.name, "smoke", cfg.params, cfg.runtime, Paths(root, "whyshift"),
                      cfg.params.seed, None, LocalExecutor(cfg.runtime.workers),
                      {n: p for n, p in inputs.items() if p.exists()}, outputs)
    seed_everything(ctx.seed)
    t = time.perf_counter(); step.func(ctx); seconds[step.name] = time.perf_counter() - t
print("STEPS", sum(seconds.values()))
"""


def copy_project(dest: Path) -> Path:
    for name in PROJECT:
        src = REPO / name
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    return dest


def step_seconds(out: str) -> float:
    if "STEPS" in out:
        return float(out.split("STEPS")[1])
    line = next(l for l in out.splitlines() if l.startswith("whyshift (smoke):"))
    return sum(float(part.split()[-1].rstrip("s")) for part in line.split(":", 1)[1].split("·"))


def start_prefect_server(env: dict) -> tuple[subprocess.Popen, str]:
    """A running `prefect server start`, as a user with the UI open has: no per-run API start-up."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            env={**os.environ, **env, "PREFECT_UI_ENABLED": "false",
                                 "PREFECT_HOME": tempfile.mkdtemp(prefix="bench-server-")},  # its own database
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}/api"
    for _ in range(600):
        try:
            with urllib.request.urlopen(api + "/health", timeout=1):
                return proc, api
        except OSError:
            time.sleep(0.3)
    raise SystemExit("prefect server did not start")


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return wall, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-dvc", action="store_true", help="skip the no-op `dvc repro` timing (a smoke repro first)")
    args = parser.parse_args()
    env = {"PREFECT_HOME": tempfile.mkdtemp(prefix="bench-prefect-"), "PYTHONWARNINGS": "ignore"}
    variants = ("direct", "paperflows", "paperflows_cold", "paperflows_server")
    walls: dict[str, list[float]] = {k: [] for k in variants}
    steps: dict[str, list[float]] = {k: [] for k in walls}
    run = [str(BIN / "paperflows"), "run", "whyshift", "--profile", "smoke"]
    server, api = start_prefect_server(env)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = copy_project(Path(tmp) / "p")
            timed([str(BIN / "paperflows"), "warm", "stop"], root, env)
            first, _ = timed(run, root, env)  # starts the warm runner; also warms the OS cache and databases
            timed(run, root, {**env, "PREFECT_API_URL": api})  # and the one serving the running server
            for _ in range(args.repeats):  # interleaved so machine load hits every variant alike
                for name, cmd, extra in (("direct", [sys.executable, "-c", DIRECT], {}),
                                         ("paperflows", run, {}),
                                         ("paperflows_cold", run, {"PAPERFLOWS_WARM": "0"}),
                                         ("paperflows_server", run, {"PREFECT_API_URL": api})):
                    shutil.rmtree(root / "data", ignore_errors=True)  # every variant does all the work
                    wall, out = timed(cmd, root, {**env, **extra})
                    walls[name].append(wall)
                    steps[name].append(step_seconds(out))
            timed([str(BIN / "paperflows"), "warm", "stop"], root, env)
    finally:
        server.terminate()
        server.wait()
    noop = None if args.no_dvc else dvc_noop(env)
    med = {k: statistics.median(v) for k, v in walls.items()}
    step = statistics.median(steps["direct"])
    others = [k for k in variants if k != "direct"]
    result = {
        "machine": f"{platform.node()} ({os.cpu_count()} cores, load {os.getloadavg()[0]:.2f})",
        "repeats": args.repeats, "wall_s": walls, "step_s": steps, "first_call_wall_s": first,
        "overhead_s": {k: med[k] - med["direct"] for k in others},
        "overhead_ratio_of_step_time": {k: (med[k] - med["direct"]) / step for k in others},
        "dvc_repro_noop_s": noop,
    }
    out = REPO / "benchmarks" / "results" / "overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def dvc_noop(env: dict) -> list[float]:
    """Seconds of `dvc repro` when everything is up to date (smoke-sized params in a temp git repo)."""
    import yaml

    sys.path.insert(0, str(REPO))
    from components.core.params import deep_merge

    with tempfile.TemporaryDirectory() as tmp:
        repo = copy_project(Path(tmp) / "r")
        shutil.copytree(REPO / "components", repo / "components", ignore=shutil.ignore_patterns("__pycache__"))
        for committed in REPO.glob("stability/*/verdicts.json"):  # committed deps of the report stages
            (repo / committed.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(committed, repo / committed.relative_to(REPO))
        params = deep_merge(yaml.safe_load((repo / "params.yaml").read_text()),
                            yaml.safe_load((repo / "profiles/smoke.yaml").read_text()))
        (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        denv = {**env, "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONPATH": str(repo)}
        for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-qm", "b"]):
            timed(cmd, repo, denv)
        timed([str(BIN / "dvc"), "repro"], repo, denv)
        return [timed([str(BIN / "dvc"), "repro"], repo, denv)[0] for _ in range(3)]


if __name__ == "__main__":
    main()
