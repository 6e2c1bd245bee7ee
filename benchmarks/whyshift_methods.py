"""Fit and predict time of every whyshift method over its spec §5.2 default subset, one process, one thread.

Data: setting #1 (syn_income, 76 features) at the default profile's rows (2,000 train); profile
constants as in default (MLP epochs 10, n_estimators 50, fairlearn max_iter 20). Predict time is
summed over ID-val, ID-test and every target, as ``fitting.run_batch`` does. Use it to size the
default grid: a setting costs about the "setting total" below, and the default runs 7 settings on
2 worker processes.

Usage: ``.venv/bin/python benchmarks/whyshift_methods.py [--setting 1] [--repeats 1]``;
writes ``benchmarks/results/whyshift_methods.json``.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

_MLP = {"lr": [1e-3, 1e-2], "hidden_size": [16, 64], "dropout_ratio": [0.1], "batch_size": [128]}
_XGB = {"learning_rate": [0.1, 0.3], "max_depth": [4, 6], "min_split_loss": [0.0], "colsample_bytree": [1.0]}
_XGB1 = {"learning_rate": [0.3], "max_depth": [4], "min_split_loss": [0.0], "colsample_bytree": [1.0]}
DEFAULT_SUBSETS = {  # spec §5.2 (97 configurations per setting)
    "lr": {"lr": [1e-3, 1e-2], "batch_size": [128], "train_epochs": [10]},
    "mlp": _MLP,
    "svm": {"C": [0.1, 10], "kernel": ["rbf"], "gamma": [1], "n_components": [128]},
    "rf": {"n_estimators": [64], "min_samples_leaf": [1, 8], "max_features": ["sqrt"], "ccp_alpha": [0.0]},
    "gbm": {"learning_rate": [0.1, 0.5], "n_estimators": [64], "max_depth": [4]},
    "xgb": {**_XGB, "max_bin": [256], "grow_policy": ["depthwise", "lossguide"]},
    "lightgbm": {"learning_rate": [0.1, 0.5], "n_estimators": [64], "reg_lambda": [0.0],
                 "min_child_samples": [16], "max_depth": [-1, 4], "colsample_bytree": [1.0]},
    "chi_dro": {**_MLP, "size": [0.1, 1]},
    "cvar_dro": {**_MLP, "size": [0.1, 0.5]},
    "chi_doro": {**_MLP, "alpha": [0.2], "eps": [0.01, 0.1]},
    "cvar_doro": {**_MLP, "alpha": [0.2], "eps": [0.01, 0.1]},
    "group_dro": {**_MLP, "group_weights_step_size": [0.01, 0.1]},
    "marginal_dro": {"radius": [1, 10], "p_min": [0.1]},
    "jtt": {**_XGB, "lambda_up": [5, 20]},
    "suby": _XGB, "subg": _XGB, "rwy": _XGB, "rwg": _XGB,
    "dwr": {"learning_rate": [0.3], "max_depth": [4, 6], "min_split_loss": [0.0], "colsample_bytree": [1.0],
            "l1": [1], "l2": [1]},
    "fair_in_dp": _XGB1, "fair_in_eo": _XGB1, "fair_in_error_parity": _XGB1,
    "fair_post_threshold": _XGB1, "fair_post_exp": _XGB1,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "whyshift_methods.json")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from components.core.grid import expand
    from components.whyshift.generator import DEFAULT_KNOBS
    from components.whyshift.grid import METHODS
    from components.whyshift.params import TrainParams
    from components.whyshift.settings import build_setting

    rows = {"train": 2000, "id_val": 500, "id_test": 2000, "target": 2000}
    n_domains = {"syn_income": 16, "syn_mobility": 16, "syn_pubcov": 16, "syn_accident": 13, "syn_taxi": 4}
    data = build_setting(args.setting, DEFAULT_KNOBS, n_domains, rows, seed=0)
    cols = data.feature_names
    X, y = data.train[cols].to_numpy(float), data.train["y"].to_numpy()
    evals = [data.id_val, data.id_test, *data.targets.values()]
    evals = [f[cols].to_numpy(float) for f in evals]
    train = TrainParams(mlp_epochs=10, n_estimators=50, fair_max_iter=20)
    METHODS["mlp"].build(dict(expand(_MLP)[0]), 0, train).fit(X[:200], y[:200])  # import/JIT warm-up

    report = {"setting": args.setting, "n_train": len(y), "n_features": X.shape[1], "n_eval_sets": len(evals),
              "machine": platform.platform(), "python": platform.python_version(), "methods": {}}
    setting_total = 0.0
    for name, axes in DEFAULT_SUBSETS.items():
        fits, predicts = [], []
        for i, hp in enumerate(expand(axes)):
            for r in range(args.repeats):
                model = METHODS[name].build(hp, 1000 + i, train)
                t0 = time.perf_counter()
                model.fit(X, y)
                t1 = time.perf_counter()
                for Z in evals:
                    model.predict(Z)
                t2 = time.perf_counter()
                fits.append(t1 - t0)
                predicts.append(t2 - t1)
        per_config = statistics.mean(fits) + statistics.mean(predicts)
        n_configs = len(expand(axes))
        setting_total += per_config * n_configs
        report["methods"][name] = {"n_configs": n_configs, "fit_mean_s": round(statistics.mean(fits), 3),
                                   "fit_max_s": round(max(fits), 3), "predict_mean_s": round(statistics.mean(predicts), 3),
                                   "method_total_s": round(per_config * n_configs, 2)}
        print(f"{name:22s} n={n_configs:2d} fit {statistics.mean(fits):7.3f}s (max {max(fits):6.3f})"
              f"  predict {statistics.mean(predicts):6.3f}s  total {per_config * n_configs:6.2f}s", flush=True)
    report["setting_total_s"] = round(setting_total, 1)
    print(f"setting total (97 configs, one process): {setting_total:.1f}s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
