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
        "pc": 0.3, "ges": 0.5, "direct_lingam": 0.5, "notears": 3.0, "anm": 0.3, "igci": 0.01, "reci": 0.02,
        "entropy_bal": 0.1, "aipw_att": 0.6}


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


@dataclass(frozen=True)
class StudyUnit:
    """One replication of one identification study (identification.py); real-data studies have rep 0 only."""

    prepared: str
    study: str
    rep: int
    seed: int
    params: Any  # StudiesParams

    @property
    def cost(self) -> float:
        return {"latent": 1.0, "rdd_dowhy": 3.0, "nhefs": 1.0, "rdd_lmb": 0.5, "rdd_transfers": 0.3}.get(self.study, 0.05)


STUDY_COLUMNS = ["study", "setting", "method", "rep", "estimate", "se", "truth", "n", "mark", "status", "error"]


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


def run_study(unit: StudyUnit) -> list[dict]:
    """Rows ``study, setting, method, rep, estimate, se, truth, n, mark`` (mark: FCI's edge on X₂–X₃)."""
    import contextlib
    import io

    from components.causality import identification as I

    st, rep = unit.study, unit.rep
    sp = unit.params
    rng = np.random.default_rng([unit.seed, 31, rep, *st.encode()])
    nan = float("nan")

    def row(setting: str, method: str, estimate: float, truth: float = nan, se: float = nan, n: int = 0,
            mark: str = "") -> dict:
        return {"study": st, "setting": setting, "method": method, "rep": rep, "estimate": float(estimate),
                "se": float(se), "truth": float(truth), "n": int(n), "mark": mark, "status": "ok", "error": ""}

    try:
        if st == "ks":
            data = I.scm_ks(sp.ks_n, rng)
            rows = []
            for ps_ok in (True, False):
                for or_ok in (True, False):
                    setting = f"PS {'ok' if ps_ok else 'wrong'}, OR {'ok' if or_ok else 'wrong'}"
                    est = I.ks_estimates(data, ps_ok, or_ok)
                    rows += [row(setting, m, est[m], I.TAU_KS, n=sp.ks_n) for m in ("ols", "ipw", "aipw")]
                    rows.append(row(setting, "min_propensity", est["min_ps"], n=sp.ks_n))
            return rows
        if st == "iv":
            rows = []
            for setting, gamma in (("strong", sp.iv_strong), ("weak", sp.iv_weak)):
                est = I.iv_estimates(I.scm_iv(sp.n, gamma, rng))
                rows += [row(setting, "ols", est["ols"], I.TAU_IV, n=sp.n),
                         row(setting, "iv_2sls", est["2sls"], I.TAU_IV, est["2sls_se"], sp.n),
                         row(setting, "first_stage_f", est["first_stage_f"], n=sp.n)]
            return rows
        if st == "frontdoor":
            est = I.frontdoor_estimates(I.scm_frontdoor(sp.n, rng))
            return [row("", m, est[m], I.TAU_FRONTDOOR, n=sp.n) for m in ("naive", "frontdoor")]
        if st == "rdd":
            data = I.scm_rdd(sp.n, rng)
            est = I.rdd_ll(data["r"], data["y"], 0.0, sp.rdd_h)
            return [row(f"h={sp.rdd_h:g}", "rdd_ll", est["estimate"], I.TAU_RDD, est["se"], est["n"])]
        if st == "rdd_dowhy":  # the §2 caveat, on one large draw (n = 10·n)
            data = I.scm_rdd(10 * sp.n, rng)
            ll = I.rdd_ll(data["r"], data["y"], 0.0, sp.dowhy_rdd_h)
            return [row(f"h={sp.dowhy_rdd_h:g}", "rdd_ll", ll["estimate"], I.TAU_RDD, ll["se"], ll["n"]),
                    row(f"h={sp.dowhy_rdd_h:g}", "rdd_dowhy",
                        I.rdd_dowhy(data["r"], data["y"], 0.0, sp.dowhy_rdd_h), I.TAU_RDD, n=ll["n"])]
        if st == "latent":
            with contextlib.redirect_stdout(io.StringIO()):  # causal-learn prints oriented edges
                pag = I.fci_pag(I.dag_latent(sp.latent_n, rng), sp.fci_alpha)
            return [row("X2-X3", "fci", nan, n=sp.latent_n, mark=I.pag_mark(pag, 1, 2)),
                    row("X1-X2", "fci", nan, n=sp.latent_n, mark=I.pag_mark(pag, 0, 1)),
                    row("X3-X4", "fci", nan, n=sp.latent_n, mark=I.pag_mark(pag, 2, 3)),
                    row("X2-X5", "fci", nan, n=sp.latent_n, mark=I.pag_mark(pag, 1, 4))]
        frame = pd.read_parquet(Path(unit.prepared) / "studies" / f"{st}.parquet")
        if st == "nhefs":
            est = I.nhefs_ipw(frame)
            return [row("", "ipw", est["ipw"], n=len(frame)), row("", "naive", est["naive"], n=len(frame)),
                    row("", "max_weight", est["max_weight"]), row("", "effective_n", est["ess"])]
        frame = frame.dropna()
        if st == "rdd_lmb":
            anchor, n_close = I.lmb_anchor(frame)
            rows = [row(f"|r-0.5|<{I.LMB_WINDOW:g}", "diff_in_means", anchor, n=n_close)]
            cutoff, below, bandwidths = 0.5, False, sp.lmb_h
        else:
            rows, cutoff, below, bandwidths = [], 0.0, True, sp.transfers_h
        for h in bandwidths:
            est = I.rdd_ll(frame.r.to_numpy(), frame.y.to_numpy(), cutoff, h, below)
            rows.append(row(f"h={h:g}", "rdd_ll", est["estimate"], se=est["se"], n=est["n"]))
        return rows
    except Exception as exc:
        return [{**{c: nan for c in ("estimate", "se", "truth")}, "study": st, "setting": "", "method": "", "rep": rep,
                 "n": 0, "mark": "", "status": "error", "error": _error(exc)}]


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
        elif isinstance(unit, StudyUnit):
            out.append(("study", run_study(unit)))
        else:
            if unit.pairs_path not in pair_frames:
                pair_frames[unit.pairs_path] = pd.read_parquet(unit.pairs_path)
            out.append(("pair", run_pair(unit, pair_frames[unit.pairs_path])))
    return out
