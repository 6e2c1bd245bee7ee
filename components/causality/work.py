"""Train-step work units (effect × replication × method, graph × replication × algorithm, pair × method) for
``ctx.fan_out``: each unit carries its params; workers read the prepared files and return small results."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# rough relative costs (seconds per 1,000 rows): ``ctx.fan_out`` balances batches by them
COST = {"tarnet": 8.0, "cfr": 9.0, "causal_forest": 1.5, "aipw": 1.2, "dml": 0.8, "dr_learner": 0.6,
        "ols": 0.5, "ps_match": 0.6, "ipw": 0.6, "x_learner": 0.6, "s_learner": 0.8, "t_learner": 0.3, "naive": 0.01,
        "pc": 0.3, "ges": 0.5, "direct_lingam": 0.5, "notears": 3.0, "anm": 0.3, "igci": 0.01, "reci": 0.02}


@dataclass(frozen=True)
class EffectUnit:
    prepared: str
    dataset: str
    rep: int
    method: str
    seed: int
    keep_tau: bool
    rows: int
    params: Any  # EffectParams

    @property
    def cost(self) -> float:
        return COST.get(self.method, 1.0) * max(self.rows, 300) / 1000


@dataclass(frozen=True)
class GraphUnit:
    prepared: str
    dataset: str
    rep: int
    algorithm: str
    seed: int
    rows: int
    params: Any  # DiscoveryParams

    @property
    def cost(self) -> float:
        return COST.get(self.algorithm, 1.0) * (1 + self.rows / 5000)


@dataclass(frozen=True)
class PairUnit:
    pairs_path: str
    pair: str
    method: str
    seed: int
    params: Any  # DiscoveryParams

    @property
    def cost(self) -> float:
        return COST.get(self.method, 1.0)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc} | {traceback.format_exc(limit=3)[-600:]}"


def run_effect(unit: EffectUnit) -> dict:
    from components.causality.data import load_effect_frame
    from components.causality.estimators import LIBRARY, run_estimator

    row = {"dataset": unit.dataset, "method": unit.method, "rep": unit.rep, "library": LIBRARY[unit.method]}
    frame = load_effect_frame(Path(unit.prepared), unit.dataset, unit.rep, unit.seed)
    try:
        fit, seconds = run_estimator(unit.method, frame, unit.params, unit.seed + unit.rep)
    except Exception as exc:  # one failing estimator must not sink the benchmark: recorded, reported
        return {**row, "status": "error", "error": _error(exc), "runtime_s": float("nan"), "ate_hat": float("nan"),
                "att_hat": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "tau": None}
    return {**row, "status": "ok", "error": "", "runtime_s": seconds, "ate_hat": fit.ate, "att_hat": fit.att,
            "ci_low": fit.ci_low, "ci_high": fit.ci_high, "tau": fit.tau if unit.keep_tau else None}


def run_graph(unit: GraphUnit) -> dict:
    from components.causality.data import discovery_dir
    from components.causality.discovery import ALGORITHMS

    x = pd.read_parquet(discovery_dir(Path(unit.prepared), unit.dataset) / f"rep{unit.rep}.parquet").to_numpy(np.float64)
    row = {"dataset": unit.dataset, "algorithm": unit.algorithm, "rep": unit.rep}
    start = time.perf_counter()
    try:
        graph = ALGORITHMS[unit.algorithm](x, unit.params, unit.seed + unit.rep)
    except Exception as exc:
        return {**row, "status": "error", "error": _error(exc), "runtime_s": float("nan"), "graph": None}
    return {**row, "status": "ok", "error": "", "runtime_s": time.perf_counter() - start,
            "graph": np.asarray(graph, dtype=np.int64).tolist()}


def run_pair(unit: PairUnit, frame: pd.DataFrame) -> dict:
    """One pair's direction decision (+1: x → y, −1: y → x); ``frame`` is the long pairs table."""
    from components.causality.discovery import PAIR_METHODS

    group = frame[frame.pair == unit.pair]
    start = time.perf_counter()
    try:
        decision = PAIR_METHODS[unit.method](group.x.to_numpy(), group.y.to_numpy(), unit.params, unit.seed)
        status, error = "ok", ""
    except Exception as exc:
        decision, status, error = 0, "error", _error(exc)
    return {"pair": unit.pair, "method": unit.method, "decision": int(decision), "status": status, "error": error,
            "runtime_s": time.perf_counter() - start}


def run_units(units: list) -> list[tuple[str, dict]]:
    """``ctx.fan_out`` entry (module level, picklable): ("effect" | "graph" | "pair", result) per unit."""
    import warnings

    warnings.filterwarnings("ignore")
    pair_frames: dict[str, pd.DataFrame] = {}  # the pairs table, read once per batch
    out = []
    for unit in units:
        if isinstance(unit, EffectUnit):
            out.append(("effect", run_effect(unit)))
        elif isinstance(unit, GraphUnit):
            out.append(("graph", run_graph(unit)))
        else:
            if unit.pairs_path not in pair_frames:
                pair_frames[unit.pairs_path] = pd.read_parquet(unit.pairs_path)
            out.append(("pair", run_pair(unit, pair_frames[unit.pairs_path])))
    return out
