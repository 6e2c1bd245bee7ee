"""Fit and score one batch of configurations; runs unchanged in-process, in a pool or on a Dask worker."""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from components.core.grid import ShardStore, config_id


@dataclass(frozen=True)
class Batch:
    """Units of configs of one setting, fitted by one task; small and picklable (paths, not arrays).

    A unit is configs that share work (``grid.fit_units``): stacked torch variants, DWR's weights.
    """

    setting_dir: str
    shard_dir: str
    units: tuple[tuple[dict, ...], ...]
    train: dict  # TrainParams as a dict

    @property
    def configs(self) -> list[dict]:
        return [c for unit in self.units for c in unit]

    @property
    def key(self) -> str:
        return config_id({"configs": sorted(c["config_id"] for c in self.configs)})


def accuracy_f1(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """Accuracy and macro-F1 ((F1_0 + F1_1)/2) computed uniformly outside the methods."""
    acc = float(np.mean(pred == y))
    f1s = []
    for c in (0, 1):
        tp = np.sum((pred == c) & (y == c))
        denom = np.sum(pred == c) + np.sum(y == c)
        f1s.append(2 * tp / denom if denom else 0.0)
    return acc, float(np.mean(f1s))


def fit_jobs(jobs: list[tuple[str, str, list[dict], dict]]) -> list[str]:
    """``ctx.fan_out`` entry: jobs (setting dir, shard dir, unit of configs, train params) of one setting →
    shard path per job."""
    setting_dir, shard_dir, _, train = jobs[0]
    path = run_batch(Batch(setting_dir, shard_dir, tuple(tuple(j[2]) for j in jobs), train))
    return [path] * len(jobs)


@lru_cache(maxsize=2)
def _setting(directory: str, stamp: int):
    """A setting's arrays, loaded once per worker process and reused by its later batches (``stamp``:
    the setting file's mtime, so a regenerated setting is reloaded)."""
    from components.whyshift.data import load_setting

    return load_setting(Path(directory))


def load_cached(directory: str):
    return _setting(directory, (Path(directory) / "setting.json").stat().st_mtime_ns)


def run_batch(batch: Batch) -> str:
    """Fit every config of ``batch``; write its shard atomically; return the shard path.

    One row per (config, evaluation set): ``id_val``, ``id_test`` and every target. A method that
    raises gives ``status=error`` rows with the message instead of failing the whole grid; a stacked
    unit that raises is refitted one config at a time, so an error stays with its config.
    """
    from components.core.execution import limit_threads
    from components.whyshift.params import TrainParams

    limit_threads()
    store = ShardStore(Path(batch.shard_dir))
    if store.done(batch.key):
        return str(store.shard_path(batch.key))
    data = load_cached(batch.setting_dir)
    train = TrainParams(**batch.train)
    rows = []
    for unit in batch.units:
        rows += _fit_unit(unit, data, train)
    store.write(batch.key, pd.DataFrame(rows))
    return str(store.shard_path(batch.key))


def _fit_unit(unit: tuple[dict, ...], data, train) -> list[dict]:
    from components.whyshift.grid import METHODS
    from components.whyshift.stacked import fit_stacked, stack_key

    def build(c):
        return METHODS[c["method"]].build(c["hp"], c["seed"], train)

    if len(unit) > 1 and unit[0]["method"] != "dwr":  # DWR units share through a cache, fitted one by one
        try:
            models = [build(c) for c in unit]
            if stack_key(models[0]) is not None:
                start = time.perf_counter()
                fit_stacked(models, data.X["train"], data.y["train"])
                seconds = (time.perf_counter() - start) / len(unit)  # the loop's time, shared equally
                return [row for c, m in zip(unit, models) for row in _score(c, data, lambda m=m: m, seconds)]
        except Exception:  # noqa: BLE001 - refit alone below, so an error (if any) is the config's own
            traceback.print_exc()
    rows = []
    for c in unit:
        rows += _score(c, data, lambda c=c: build(c).fit(data.X["train"], data.y["train"]), None)
    return rows


def _score(cfg: dict, data, fit, fit_seconds: float | None) -> list[dict]:
    """Rows of one config: fit (unless already fitted, ``fit_seconds`` given), predict every evaluation set."""
    worker = f"{socket.gethostname()}:{os.getpid()}"  # provenance: which process fitted the batch
    base = {"config_id": cfg["config_id"], "setting_id": cfg["setting_id"], "method": cfg["method"],
            "hp_json": json.dumps(cfg["hp"], sort_keys=True), "seed": cfg["seed"],
            "n_train": len(data.y["train"]), "n_features": data.X["train"].shape[1], "worker": worker}
    rows = []
    try:
        start = time.perf_counter()
        model = fit()
        if fit_seconds is None:
            fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for name in ["id_val", "id_test", *data.targets]:
            acc, f1 = accuracy_f1(data.y[name], model.predict(data.X[name]))
            rows.append({**base, "eval_set": name, "acc": acc, "macro_f1": f1, "n": len(data.y[name]),
                         "fit_seconds": fit_seconds, "status": "ok", "error": ""})
        for row in rows:  # the cost model (benchmarks/grid.py) needs fitting and scoring time
            row["eval_seconds"] = time.perf_counter() - start
    except Exception as exc:  # recorded, never fatal for the grid
        message = f"{type(exc).__name__}: {exc}"
        rows = [{**base, "eval_set": "id_val", "acc": np.nan, "macro_f1": np.nan, "n": 0,
                 "fit_seconds": np.nan, "eval_seconds": np.nan, "status": "error", "error": message[:500]}]
        traceback.print_exc()
    return rows


def summarise(long: pd.DataFrame, meta_by_setting: dict[int, dict], profile: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The long shard rows → (``results``: one row per config, ``target_metrics``: one row per config × target)."""
    from components.whyshift.grid import METHODS

    targets = long[~long["eval_set"].isin(["id_val", "id_test"])]
    target_metrics = targets[["config_id", "eval_set", "acc", "macro_f1", "n"]].rename(
        columns={"eval_set": "target"}).reset_index(drop=True)
    rows = []
    for cid, g in long.groupby("config_id", sort=True):
        first = g.iloc[0]
        meta = meta_by_setting[int(first["setting_id"])]
        by = g.set_index("eval_set")
        tg = g[~g["eval_set"].isin(["id_val", "id_test"])]
        ok = first["status"] == "ok"
        main = by.loc[meta["main_target"]] if ok else None
        row = {
            "config_id": cid, "profile": profile, "setting_id": int(first["setting_id"]),
            "dataset": meta["dataset"], "shift_type": meta["shift_type"], "source": meta["source"],
            "main_target": meta["main_target"], "method": first["method"],
            "family": METHODS[first["method"]].family, "model_class": METHODS[first["method"]].model_class,
            "hp_json": first["hp_json"], "seed": int(first["seed"]), "n_train": int(first["n_train"]),
            "n_features": int(first["n_features"]), "status": first["status"], "error": first["error"],
            "fit_seconds": float(first["fit_seconds"]), "eval_seconds": float(first["eval_seconds"]),
            "worker": first["worker"],
            "id_val_acc": float(by.loc["id_val", "acc"]) if ok else np.nan,
            "id_test_acc": float(by.loc["id_test", "acc"]) if ok else np.nan,
            "id_test_f1": float(by.loc["id_test", "macro_f1"]) if ok else np.nan,
            "ood_acc_main": float(main["acc"]) if ok else np.nan,
            "ood_f1_main": float(main["macro_f1"]) if ok else np.nan,
            "ood_acc_mean": float(tg["acc"].mean()) if ok else np.nan,
            "ood_acc_worst": float(tg["acc"].min()) if ok else np.nan,
            "ood_acc_median": float(tg["acc"].median()) if ok else np.nan,
            "n_targets": len(meta["targets"]),
        }
        row["deg_main"] = row["id_test_acc"] - row["ood_acc_main"]
        rows.append(row)
    return pd.DataFrame(rows), target_metrics
