"""Nested MLflow runs worth comparing: one per effect estimator and per discovery / pair method."""

from __future__ import annotations

import math

import pandas as pd

from components.causality.discovery import LIBRARY as DISCOVERY_LIBRARY
from components.causality.estimators import FAMILY, LIBRARY


def _finite(metrics: dict) -> dict:
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}


def log_method_runs(run, summary: pd.DataFrame, discovery: pd.DataFrame, pairs: pd.DataFrame) -> None:
    """Metric names carry the dataset (``ihdp_b.pehe_out_mean``) so the MLflow compare view lines methods up."""
    for method, g in (summary.groupby("method") if not summary.empty else []):
        child = run.start_child(f"effect:{method}", {"method": method, "family": FAMILY[method]})
        child.log_params({"library": LIBRARY[method], "family": FAMILY[method]})
        metrics = {}
        for r in g.to_dict("records"):
            for col in ("pehe_out_mean", "pehe_out_std", "pehe_in_mean", "ate_err_mean", "att_err_mean",
                        "policy_risk_mean", "att_hat_mean", "runtime_s_mean"):
                if col in r:
                    metrics[f"{r['dataset']}.{col}"] = r[col]
        child.log_metrics(_finite(metrics))
        child.finish()
    if not discovery.empty:
        agg = discovery.groupby(["algorithm", "dataset"])[["shd", "skeleton_f1", "directed_f1"]].mean().reset_index()
        for algo, g in agg.groupby("algorithm"):
            child = run.start_child(f"discovery:{algo}", {"method": algo, "family": "discovery"})
            child.log_params({"library": DISCOVERY_LIBRARY[algo]})
            child.log_metrics(_finite({f"{r['dataset']}.{c}_mean": r[c] for r in g.to_dict("records")
                                       for c in ("shd", "skeleton_f1", "directed_f1")}))
            child.finish()
    for r in (pairs.to_dict("records") if not pairs.empty else []):
        child = run.start_child(f"pairs:{r['method']}", {"method": r["method"], "family": "bivariate"})
        child.log_metrics(_finite({"tuebingen.accuracy": r["accuracy"], "tuebingen.p_value": r["p_value"]}))
        child.finish()
