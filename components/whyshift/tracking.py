"""MLflow records of the grid: nested runs for the best configurations, never one run per configuration."""

from __future__ import annotations

import json

import pandas as pd

from components.core.tracking import TrackedRun

ROW_METRICS = ("id_val_acc", "id_test_acc", "id_test_f1", "ood_acc_main", "ood_f1_main", "deg_main",
               "ood_acc_mean", "ood_acc_worst", "ood_acc_median", "fit_seconds")
SETTING_METRICS = ("r_linear", "r_probit", "r2_class", "r2_method_given_class", "r2_hp", "label_agreement")


def log_best_runs(step_run: TrackedRun, results: pd.DataFrame, analysis: dict) -> None:
    """Per setting a nested run (its summary metrics), and under it one run per method for the
    best-by-ID-val configuration (its hyper-parameters as params, its results row as metrics) —
    so MLflow's compare view lines up the methods of a setting."""
    by_id = results.set_index("config_id")
    for sid, a in analysis.items():
        setting_run = step_run.start_child(f"setting-{sid}", {"setting_id": sid, "kind": "setting"})
        setting_run.log_params({"main_target": a["main_target"], "main_true_label": a["main_true_label"],
                                "dominance_est": a["dominance_est"], "dominance_true": a["dominance_true"]})
        metrics = {k: a[k] for k in SETTING_METRICS if a[k] == a[k]}  # NaN-free
        for method, best in a["best_by_id_val"].items():
            metrics[f"best_idval_ood_acc.{method}"] = best["ood_acc_main"]
            metrics[f"best_idval_id_acc.{method}"] = best["id_val_acc"]
            row = by_id.loc[best["config_id"]]
            run = setting_run.start_child(f"{sid}-{method}", {"setting_id": sid, "method": method,
                                                              "family": best["family"], "kind": "best-config",
                                                              "config_id": best["config_id"]})
            run.log_params({"method": method, "config_id": best["config_id"], **json.loads(best["hp_json"])})
            run.log_metrics({k: float(row[k]) for k in ROW_METRICS if row[k] == row[k]})
            run.finish()
        setting_run.log_metrics(metrics)
        setting_run.finish()
