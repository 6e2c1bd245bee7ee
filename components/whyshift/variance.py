"""Across-configuration findings of one setting: what explains OOD accuracy, and how ID predicts it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm


def anova(ok: pd.DataFrame, y: str = "ood_acc_main") -> dict:
    """Nested sums of squares of ``y``: model class, method within class, hyper-parameters within method."""
    v = ok[y].to_numpy()
    total = float(np.sum((v - v.mean()) ** 2))
    cls_mean = ok.groupby("model_class")[y].transform("mean").to_numpy()
    met_mean = ok.groupby("method")[y].transform("mean").to_numpy()
    ss_class = float(np.sum((cls_mean - v.mean()) ** 2))
    ss_method = float(np.sum((met_mean - cls_mean) ** 2))
    ss_hp = float(np.sum((v - met_mean) ** 2))
    r2 = (lambda ss: ss / total if total > 0 else float("nan"))
    iqr = ok.groupby("method")[y].quantile(0.75) - ok.groupby("method")[y].quantile(0.25)
    return {"r2_class": r2(ss_class), "r2_method_given_class": r2(ss_method), "r2_hp": r2(ss_hp),
            "median_within_method_iqr": float(iqr.median())}


def accuracy_on_the_line(ok: pd.DataFrame) -> dict:
    """Pearson r of ID-test vs main-target accuracy across configurations, on linear and probit scales."""
    if len(ok) < 3 or ok["id_test_acc"].std() == 0 or ok["ood_acc_main"].std() == 0:
        return {"r_linear": float("nan"), "r_probit": float("nan")}
    x, y = ok["id_test_acc"].to_numpy(), ok["ood_acc_main"].to_numpy()
    probit = lambda a: norm.ppf(np.clip(a, 0.001, 0.999))  # noqa: E731
    return {"r_linear": float(np.corrcoef(x, y)[0, 1]), "r_probit": float(np.corrcoef(probit(x), probit(y))[0, 1])}


def best_by_id_val(ok: pd.DataFrame, by: str = "method") -> pd.DataFrame:
    """The configuration with the highest ID-validation accuracy per ``by`` (ties → smaller config id)."""
    return (ok.sort_values(["id_val_acc", "config_id"], ascending=[False, True])
            .groupby(by, sort=True).head(1).set_index(by))
