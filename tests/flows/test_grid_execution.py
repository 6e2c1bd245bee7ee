"""The grid on real processes: an existing Dask cluster (scheduler + 2 workers on loopback) gives the
same results as a local run, and a run killed mid-grid resumes with nothing lost or duplicated."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pandas as pd
import pytest

from helpers import BIN, SMOKE_OUTPUTS, copy_project, free_port, run_cli

pytestmark = pytest.mark.integration

METRICS = ["id_val_acc", "id_test_acc", "id_test_f1", "ood_acc_main", "ood_f1_main", "ood_acc_mean",
           "ood_acc_worst", "ood_acc_median"]
SMALL_BATCHES = ["--set", "runtime.batch_size=1"]


def results(root):
    return pd.read_parquet(root / SMOKE_OUTPUTS / "data/whyshift/train/results.parquet").set_index("config_id").sort_index()


def prepared(tmp_path, name):
    root = copy_project(tmp_path / name)
    proc = run_cli(["run", "whyshift", "--profile", "smoke", "--step", "prepare"], root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    root = prepared(tmp_path_factory.mktemp("local"), "p")
    proc = run_cli(["run", "whyshift", "--profile", "smoke", "--step", "train", *SMALL_BATCHES], root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return results(root)


def test_dask_cluster_gives_the_local_results(tmp_path, local_run):
    port = free_port()
    log = open(tmp_path / "dask.log", "wb")
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT)
    workers = [subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-nanny",
                                 "--no-dashboard", "--name", f"w{i}"], stdout=log, stderr=subprocess.STDOUT)
               for i in range(2)]
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        root = prepared(tmp_path, "p")
        proc = run_cli(["run", "whyshift", "--profile", "smoke", "--step", "train", *SMALL_BATCHES], root,
                       env={"PAPERFLOWS_DASK_ADDRESS": address})
        assert proc.returncode == 0, proc.stderr[-3000:]
        remote = results(root)
        assert list(remote.index) == list(local_run.index)
        pd.testing.assert_frame_equal(remote[METRICS], local_run[METRICS])
        ran_on = set(remote["worker"].str.split(":").str[-1].astype(int))
        assert ran_on <= {w.pid for w in workers}, (ran_on, [w.pid for w in workers])
        # a second run on the same (long-lived) workers, under its own temporary Prefect API
        shutil.rmtree(root / SMOKE_OUTPUTS / "data/whyshift/train/shards")
        again = run_cli(["run", "whyshift", "--profile", "smoke", "--step", "train", *SMALL_BATCHES], root,
                        env={"PAPERFLOWS_DASK_ADDRESS": address})
        assert again.returncode == 0, again.stderr[-3000:]
        pd.testing.assert_frame_equal(results(root)[METRICS], local_run[METRICS])
    finally:
        for proc in (*workers, scheduler):
            proc.send_signal(signal.SIGTERM)
        for proc in (*workers, scheduler):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_killed_run_resumes_without_losing_or_duplicating_rows(tmp_path, local_run):
    root = prepared(tmp_path, "p")
    shards = root / SMOKE_OUTPUTS / "data/whyshift/train/shards"
    cmd = [str(BIN / "paperflows"), "run", "whyshift", "--profile", "smoke", "--step", "train", *SMALL_BATCHES]
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(shards.glob("*.parquet")):
        assert proc.poll() is None and time.monotonic() < deadline, "no shard before the run ended"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the run and everything it started
    proc.wait()
    done_before = pd.concat([pd.read_parquet(f) for f in shards.glob("*.parquet")])["config_id"].nunique()
    assert 1 <= done_before < len(local_run)
    again = run_cli(cmd[1:], root)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{done_before} already done" in again.stderr
    resumed = results(root)
    assert resumed.index.is_unique and list(resumed.index) == list(local_run.index)
    pd.testing.assert_frame_equal(resumed[METRICS], local_run[METRICS])
