"""The configuration grid as data: methods × hyper-parameter axes × settings from params, stable ids."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Callable

from components.core.errors import UserError
from components.core.grid import config_id, expand
from components.whyshift.baselines import GBMMethod, LightGBMMethod, RFMethod, SVMMethod
from components.whyshift.fairness import FairReduction, FairThreshold
from components.whyshift.models import TorchClassifier, XGBMethod
from components.whyshift.reweighting import DWR, JTT, RWG, RWY, SUBG, SUBY
from components.whyshift.robust import ChiDORO, ChiDRO, CVaRDORO, CVaRDRO, GroupDRO, MarginalDRO
from components.whyshift.params import TrainParams, WhyshiftParams


@dataclass(frozen=True)
class Method:
    name: str
    family: str
    model_class: str
    estimator: type
    fixed: Callable[[TrainParams], dict[str, Any]]  # profile constants, not grid axes

    def build(self, hp: dict[str, Any], seed: int, train: TrainParams):
        return self.estimator(**{**self.fixed(train), **hp, "seed": seed})

    def hp_names(self) -> list[str]:
        names = inspect.signature(self.estimator).parameters
        return [n for n in names if n != "seed" and n not in self.fixed(_PROBE)]


def _lr_fixed(t: TrainParams) -> dict:
    return {"hidden_size": 0}


def _mlp_fixed(t: TrainParams) -> dict:
    return {"train_epochs": t.mlp_epochs}


def _xgb_fixed(t: TrainParams) -> dict:
    return {"n_estimators": t.n_estimators}


def _none_fixed(t: TrainParams) -> dict:
    return {}


def _marginal_fixed(t: TrainParams) -> dict:
    """The spec fixes marginal DRO's MLP (§5.1); only radius and p_min are grid keys."""
    return {"train_epochs": t.mlp_epochs, "lr": 1e-3, "hidden_size": 64, "dropout_ratio": 0.1, "batch_size": 512}


def _fair_fixed(constraint: str, difference_bound: float | None = None) -> Callable[[TrainParams], dict]:
    def fixed(t: TrainParams) -> dict:
        return {"n_estimators": t.n_estimators, "max_iter": t.fair_max_iter, "constraint": constraint,
                "difference_bound": difference_bound}
    return fixed


_PROBE = TrainParams(mlp_epochs=1, n_estimators=1)

METHODS: dict[str, Method] = {m.name: m for m in [
    Method("lr", "basic", "linear", TorchClassifier, _lr_fixed),
    Method("mlp", "basic", "mlp", TorchClassifier, _mlp_fixed),
    Method("svm", "basic", "kernel", SVMMethod, _none_fixed),
    Method("rf", "tree", "tree", RFMethod, _none_fixed),
    Method("gbm", "tree", "tree", GBMMethod, _none_fixed),
    Method("xgb", "tree", "tree", XGBMethod, _xgb_fixed),
    Method("lightgbm", "tree", "tree", LightGBMMethod, _none_fixed),
    Method("chi_dro", "DRO", "mlp", ChiDRO, _mlp_fixed),
    Method("cvar_dro", "DRO", "mlp", CVaRDRO, _mlp_fixed),
    Method("chi_doro", "DRO", "mlp", ChiDORO, _mlp_fixed),
    Method("cvar_doro", "DRO", "mlp", CVaRDORO, _mlp_fixed),
    Method("group_dro", "DRO", "mlp", GroupDRO, _mlp_fixed),
    Method("marginal_dro", "DRO", "mlp", MarginalDRO, _marginal_fixed),
    Method("jtt", "imbalance", "tree", JTT, _xgb_fixed),
    Method("suby", "imbalance", "tree", SUBY, _xgb_fixed),
    Method("subg", "imbalance", "tree", SUBG, _xgb_fixed),
    Method("rwy", "imbalance", "tree", RWY, _xgb_fixed),
    Method("rwg", "imbalance", "tree", RWG, _xgb_fixed),
    Method("dwr", "causal", "tree", DWR, _xgb_fixed),
    Method("fair_in_dp", "fairness", "tree", FairReduction, _fair_fixed("dp")),
    Method("fair_in_eo", "fairness", "tree", FairReduction, _fair_fixed("eo")),
    Method("fair_in_error_parity", "fairness", "tree", FairReduction, _fair_fixed("error_parity")),
    Method("fair_post_threshold", "fairness", "tree", FairThreshold, _xgb_fixed),
    Method("fair_post_exp", "fairness", "tree", FairReduction, _fair_fixed("dp", 0.02)),
]}


def check_axes(params: WhyshiftParams) -> None:
    """Every grid key must be a hyper-parameter of its method (checked before any work)."""
    for name, axes in params.grid.methods.items():
        valid = METHODS[name].hp_names()
        for key, values in axes.items():
            if key not in valid:
                raise UserError(f"whyshift.grid.methods.{name}.{key}: not a hyper-parameter of {name}",
                                f"valid keys: {', '.join(valid)}")
            if not values:
                raise UserError(f"whyshift.grid.methods.{name}.{key}: empty value list",
                                "give at least one value")


def expand_grid(params: WhyshiftParams) -> list[dict[str, Any]]:
    """Configs sorted by (setting, method), ids from {setting_id, method, hp, seed}; per-config seed from the id."""
    check_axes(params)
    configs = []
    for setting_id in params.data.settings:
        for name, axes in params.grid.methods.items():
            for hp in expand(axes):
                cid = config_id({"setting_id": setting_id, "method": name, "hp": hp, "seed": params.seed})
                configs.append({"config_id": cid, "setting_id": setting_id, "method": name, "hp": hp,
                                "seed": (params.seed + int(cid[:8], 16)) % 2**31})
    return configs


def grid_frame(configs: list[dict[str, Any]]):
    import pandas as pd

    rows = [{"config_id": c["config_id"], "setting_id": c["setting_id"], "method": c["method"],
             "family": METHODS[c["method"]].family, "model_class": METHODS[c["method"]].model_class,
             "hp_json": json.dumps(c["hp"], sort_keys=True), "seed": c["seed"]} for c in configs]
    return pd.DataFrame(rows)


# Mean CPU-s per config at default rows on the paper grid's ranges (benchmarks/results/grid.json,
# before the shared-work changes); only used to balance batches, never in results.
_COST_S = {"lr": 0.4, "mlp": 0.33, "svm": 0.9, "rf": 1.65, "gbm": 1.4, "xgb": 0.16, "lightgbm": 0.36,
           "chi_dro": 0.4, "cvar_dro": 0.48, "chi_doro": 0.41, "cvar_doro": 0.35, "group_dro": 0.35,
           "marginal_dro": 0.65, "jtt": 0.2, "suby": 0.08, "subg": 0.13, "rwy": 0.12, "rwg": 0.11, "dwr": 0.3,
           "fair_in_dp": 1.9, "fair_in_eo": 2.6, "fair_in_error_parity": 2.5, "fair_post_threshold": 0.16,
           "fair_post_exp": 1.9}


def config_cost(cfg: dict[str, Any]) -> float:
    """Rough relative CPU cost of one config (per-method mean, scaled by its tree count or epochs)."""
    hp = cfg["hp"]
    cost = _COST_S.get(cfg["method"], 1.0)
    if cfg["method"] in ("rf", "gbm", "lightgbm") and "n_estimators" in hp:
        cost *= hp["n_estimators"] / 256
    if "train_epochs" in hp:
        cost *= hp["train_epochs"] / 10
    return cost


def share_key(cfg: dict[str, Any], train: TrainParams) -> tuple | None:
    """Configs with one key share work when fitted in one process: the torch variants of one network
    shape, batch size, lr and epochs train in one stacked loop (``stacked.py``); the XGB variants of one
    DWR (l1, l2) reuse its decorrelating weights. ``None``: fitted on its own."""
    from components.whyshift.stacked import stack_key

    if cfg["method"] == "dwr":
        return (cfg["setting_id"], "dwr", cfg["hp"].get("l1"), cfg["hp"].get("l2"))
    key = stack_key(METHODS[cfg["method"]].build(cfg["hp"], cfg["seed"], train))
    return (cfg["setting_id"], *key) if key else None


def fit_units(configs: list[dict[str, Any]], train: TrainParams) -> list[list[dict[str, Any]]]:
    """Configs grouped by ``share_key`` (in first-appearance order); a unit is never split across batches."""
    units: dict[Any, list] = {}
    for i, cfg in enumerate(configs):
        units.setdefault(share_key(cfg, train) or ("alone", i), []).append(cfg)
    return list(units.values())
