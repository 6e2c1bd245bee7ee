"""Across-configuration findings of one setting: what explains OOD accuracy, and how ID predicts it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm


# A method's own knobs (ambiguity-set size / radius, DORO's ε, Group-DRO step, marginal-DRO radius and p_min,
# JTT's λ, DWR's penalties): part of the *method* in the paper's comparison, not base-learner hyper-parameters.
METHOD_KNOBS = ("size", "alpha", "eps", "group_weights_step_size", "radius", "p_min", "lambda_up", "l1", "l2")


def method_variant(ok: pd.DataFrame) -> pd.Series:
    """method + the values of its own knobs, e.g. ``chi_dro|size=0.1``."""
    import json

    def one(row) -> str:
        hp = json.loads(row.hp_json) if isinstance(row.hp_json, str) else {}
        own = sorted((k, hp[k]) for k in METHOD_KNOBS if k in hp)
        return row.method + "".join(f"|{k}={v}" for k, v in own)
    return pd.Series([one(r) for r in ok.itertuples()], index=ok.index)


def anova(ok: pd.DataFrame, y: str = "ood_acc_main") -> dict:
    """Nested sums of squares of ``y``.

    Spec split: model class / method within class / hyper-parameters within method. The paper's comparison
    (issue 12): model class / method *and its own knobs* within class / base-learner hyper-parameters within
    that (``r2_variant_given_class``, ``r2_hp_base``).
    """
    v = ok[y].to_numpy()
    total = float(np.sum((v - v.mean()) ** 2))
    cls_mean = ok.groupby("model_class")[y].transform("mean").to_numpy()
    met_mean = ok.groupby("method")[y].transform("mean").to_numpy()
    var_mean = ok.groupby(method_variant(ok).to_numpy())[y].transform("mean").to_numpy() if "hp_json" in ok \
        else met_mean
    ss_class = float(np.sum((cls_mean - v.mean()) ** 2))
    ss_method = float(np.sum((met_mean - cls_mean) ** 2))
    ss_hp = float(np.sum((v - met_mean) ** 2))
    r2 = (lambda ss: ss / total if total > 0 else float("nan"))
    iqr = ok.groupby("method")[y].quantile(0.75) - ok.groupby("method")[y].quantile(0.25)
    return {"r2_class": r2(ss_class), "r2_method_given_class": r2(ss_method), "r2_hp": r2(ss_hp),
            "r2_variant_given_class": r2(float(np.sum((var_mean - cls_mean) ** 2))),
            "r2_hp_base": r2(float(np.sum((v - var_mean) ** 2))),
            "median_within_method_iqr": float(iqr.median())}


def accuracy_on_the_line(ok: pd.DataFrame, n_id: int | None = None, n_ood: int | None = None,
                         n_boot: int = 200, seed: int = 0) -> dict:
    """Pearson r of ID-test vs main-target accuracy across configurations, on linear and probit scales.

    ``r_linear_sd``: spread of r when every accuracy is redrawn with its binomial sampling noise on n_id /
    n_ood rows (parametric bootstrap): how much of r the finite test samples alone could move.
    """
    nan = {"r_linear": float("nan"), "r_probit": float("nan"), "r_linear_sd": float("nan")}
    if len(ok) < 3 or ok["id_test_acc"].std() == 0 or ok["ood_acc_main"].std() == 0:
        return nan
    x, y = ok["id_test_acc"].to_numpy(), ok["ood_acc_main"].to_numpy()
    probit = lambda a: norm.ppf(np.clip(a, 0.001, 0.999))  # noqa: E731
    out = {"r_linear": float(np.corrcoef(x, y)[0, 1]), "r_probit": float(np.corrcoef(probit(x), probit(y))[0, 1]),
           "r_linear_sd": float("nan")}
    if n_id and n_ood:
        rng = np.random.default_rng(seed)
        xs = x + rng.standard_normal((n_boot, x.size)) * np.sqrt(x * (1 - x) / n_id)
        ys = y + rng.standard_normal((n_boot, y.size)) * np.sqrt(y * (1 - y) / n_ood)
        xs, ys = xs - xs.mean(1, keepdims=True), ys - ys.mean(1, keepdims=True)
        r = (xs * ys).sum(1) / np.sqrt((xs ** 2).sum(1) * (ys ** 2).sum(1))
        out["r_linear_sd"] = float(r.std())
    return out


def best_by_id_val(ok: pd.DataFrame, by: str = "method") -> pd.DataFrame:
    """The configuration with the highest ID-validation accuracy per ``by`` (ties → smaller config id)."""
    return (ok.sort_values(["id_val_acc", "config_id"], ascending=[False, True])
            .groupby(by, sort=True).head(1).set_index(by))
