"""The configuration grid as data: methods × hyper-parameter axes × settings from params, stable ids."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Callable

from components.core.errors import UserError
from components.core.grid import config_id, expand
from components.whyshift.models import TorchClassifier, XGBMethod
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


_PROBE = TrainParams(mlp_epochs=1, n_estimators=1)

METHODS: dict[str, Method] = {
    "lr": Method("lr", "basic", "linear", TorchClassifier, _lr_fixed),
    "mlp": Method("mlp", "basic", "mlp", TorchClassifier, _mlp_fixed),
    "xgb": Method("xgb", "tree", "tree", XGBMethod, _xgb_fixed),
}


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
