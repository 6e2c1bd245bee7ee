"""One whole setting of the paper grid (2,704 configurations, ``--profile full``) through ``paperflows run
whyshift`` on a Dask cluster started on loopback (scheduler + 2 single-threaded workers, the README's
recipe), with the train step killed part-way and resumed — the measurement behind the README's
full-grid projection. Writes ``benchmarks/results/grid_setting.json``.

It runs in a scratch clone of this checkout (its own outputs and MLflow store) with this checkout's
interpreter: ``.venv/bin/python benchmarks/grid_setting.py [--kill-at 0.4]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUN = [str(BIN / "paperflows"), "run", "whyshift", "--profile", "full"]


class PeakRSS(threading.Thread):
    """Largest resident set of each Dask worker process, sampled twice a second."""

    def __init__(self, parents: list[int]):
        super().__init__(daemon=True)
        self.parents, self.peak, self.stop = parents, {}, threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            for pid in self.parents:
                try:
                    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
                for proc in procs:  # the worker (a nanny's child) and the nanny itself
                    try:
                        rss = proc.memory_info().rss / 2**20
                        self.peak[proc.pid] = max(self.peak.get(proc.pid, 0.0), rss)
                    except psutil.NoSuchProcess:
                        pass
            time.sleep(0.5)


def cluster(log) -> tuple[str, list[subprocess.Popen]]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT)]
    procs += [subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard",
                                "--name", f"w{i}"], stdout=log, stderr=subprocess.STDOUT) for i in range(2)]
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
    return address, procs


def timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start, proc.stderr


def shard_configs(shards: Path) -> int:
    import pandas as pd

    files = list(shards.glob("*.parquet"))
    return pd.concat([pd.read_parquet(f, columns=["config_id"]) for f in files])["config_id"].nunique() if files else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kill-at", type=float, default=0.4, help="kill the train step after this share of configs")
    args = parser.parse_args()
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        subprocess.run(["git", "clone", "-q", str(REPO), str(root)], check=True)
        env = {**os.environ, "PYTHONPATH": str(root), "PAPERFLOWS_WARM": "0", "PAPERFLOWS_DVC_SYNC": "0"}
        log = open(Path(tmp) / "dask.log", "wb")
        address, procs = cluster(log)
        env["PAPERFLOWS_DASK_ADDRESS"] = address
        rss = PeakRSS([p.pid for p in procs[1:]])
        rss.start()
        try:
            prepare_s, _ = timed([*RUN, "--step", "prepare"], root, env)
            out = root / "runs" / "full" / "data" / "whyshift"  # components.core.paths.output_root
            shards = out / "train" / "shards"
            # train, killed part-way (the CLI and everything it started; the workers live on)
            start = time.perf_counter()
            proc = subprocess.Popen([*RUN, "--step", "train"], cwd=root, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            while shard_configs(shards) < args.kill_at * 2704:
                if proc.poll() is not None:
                    raise SystemExit("the train step ended before the kill point")
                time.sleep(1.0)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            killed_after_s = time.perf_counter() - start
            done_at_kill = shard_configs(shards)
            resume_s, stderr = timed([*RUN, "--step", "train"], root, env)
            resumed = next(int(line.split(":")[1].split()[0]) for line in stderr.splitlines() if "already done" in line)
            rest_s, _ = timed([*RUN, "--step", "evaluate", "--step", "report"], root, env)
        finally:
            rss.stop.set()
            for p in reversed(procs):
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        results = pd.read_parquet(out / "train" / "results.parquet")
        import mlflow

        mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
        n_runs = len(mlflow.search_runs(experiment_names=["whyshift"], output_format="list"))
        per_method = results.assign(cpu_s=results["fit_seconds"] + results["eval_seconds"]).groupby("method").agg(
            configs=("config_id", "size"), mean_fit_s=("fit_seconds", "mean"), mean_eval_s=("eval_seconds", "mean"),
            total_cpu_s=("cpu_s", "sum"))
        claims = json.loads((root / "runs" / "full" / "reports" / "whyshift" / "claims.json").read_text())
        n_shards = len(list(shards.glob("*.parquet")))
    train_s = killed_after_s + resume_s
    fit_cpu = float(per_method["total_cpu_s"].sum())
    result = {
        "machine": f"{os.uname().nodename} ({os.cpu_count()} cores)", "cluster": "dask scheduler + 2 workers "
        "(--nthreads 1) on 127.0.0.1", "profile": "full (settings [1], the paper grid, default data sizes)",
        "configs": int(len(results)), "status_ok": int((results["status"] == "ok").sum()),
        "wall_s": {"prepare": prepare_s, "train_until_kill": killed_after_s, "train_resume": resume_s,
                   "train_total": train_s, "evaluate_and_report": rest_s},
        "configs_at_kill": done_at_kill, "configs_reused_on_resume": resumed,
        "configs_per_s": len(results) / train_s, "fit_and_eval_cpu_s": fit_cpu,
        "shards": n_shards, "mlflow_runs_in_experiment": n_runs,
        "peak_rss_mb_per_process_of_the_workers": sorted(rss.peak.values(), reverse=True),
        "load_average_at_end": os.getloadavg(),
        "per_method": per_method.round(4).reset_index().to_dict(orient="records"),
        "claims": {r["id"]: r["verdict"] for r in claims},
        "projection_full_paper_grid_default_rows": {
            "settings": 22, "hours_on_2_workers": 22 * train_s / 3600,
            "hours_on_N_workers": "≈ 22 × fit_and_eval_cpu_s / N / 3600 (ideal scaling)",
            "hours_on_16_workers_ideal": 22 * fit_cpu / 16 / 3600},
    }
    path = REPO / "benchmarks" / "results" / "grid_setting.json"
    path.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
