"""Typed params of the ``whyshift`` block of params.yaml (unknown keys are errors)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from components.core.params import StrictModel

WorldName = Literal["syn_income", "syn_mobility", "syn_pubcov", "syn_accident", "syn_taxi"]
MethodName = Literal[
    "lr", "mlp", "svm", "rf", "gbm", "xgb", "lightgbm",
    "chi_dro", "cvar_dro", "chi_doro", "cvar_doro", "group_dro", "marginal_dro",
    "jtt", "suby", "subg", "rwy", "rwg", "dwr",
    "fair_in_dp", "fair_in_eo", "fair_in_error_parity", "fair_post_threshold", "fair_post_exp",
]


class WorldParams(StrictModel):
    a_x: float = Field(ge=0, description="strength of covariate (X) shift between domains")
    a_y: float = Field(ge=0, description="strength of concept (Y|X) shift between domains")
    sigma_b: float = Field(ge=0)
    sigma_delta: float = Field(ge=0)
    p_r: float = Field(ge=0, le=1, description="probability a domain flips the label inside the risk region")
    sigma_vz: float = Field(0.0, ge=0)
    sigma_vb: float = Field(0.0, ge=0)


class Rows(StrictModel):
    train: int = Field(ge=50)
    id_val: int = Field(ge=20)
    id_test: int = Field(ge=50)
    target: int = Field(ge=50)


class DataParams(StrictModel):
    source: Literal["synthetic", "real"] = Field(
        "synthetic", description="synthetic twins (closed-form truth) or the real data under `root`")
    root: str | None = Field(None, description="real data folder; null = $PAPERFLOWS_DATA/whyshift")
    settings: list[int] = Field(min_length=1, description="setting ids of the spec's §4.2 table")
    domains: dict[WorldName, int] = Field(description="domains per world")
    rows: Rows
    worlds: dict[WorldName, WorldParams]

    @field_validator("settings")
    @classmethod
    def _known_settings(cls, value: list[int]) -> list[int]:
        bad = [s for s in value if not 1 <= s <= 22]
        if bad:
            raise ValueError(f"setting ids must be in 1..22, got {bad}")
        return value


class GridParams(StrictModel):
    methods: dict[MethodName, dict[str, list[Any]]] = Field(
        description="per method: hyper-parameter name → list of values; the grid is their product")


class TrainParams(StrictModel):
    mlp_epochs: int = Field(ge=1, description="epochs of the MLP (LR takes train_epochs from its grid)")
    n_estimators: int = Field(ge=1, description="trees of every XGBoost-based method")
    fair_max_iter: int = Field(20, ge=1, description="ExponentiatedGradient rounds (each refits XGB)")


class DomainClassifier(StrictModel):
    """XGBoost propensity model of DISDE (cross-fitted)."""

    n_estimators: int = Field(ge=1)
    max_depth: int = Field(ge=1)
    learning_rate: float = Field(0.2, gt=0, description="0.2 keeps the null scenario's weight CV < 0.2")


class DisdeParams(StrictModel):
    folds: int = Field(ge=2)
    max_target_rows: int = Field(ge=50)
    classifier: DomainClassifier
    min_total: float = Field(0.05, gt=0, description="pairs count for dominance only above this degradation")
    pairs: Literal["main", "degraded", "all"] = "degraded"


class CalibrationParams(StrictModel):
    n: int = Field(ge=200)
    seeds: list[int] = Field(min_length=1)


class EvaluateParams(StrictModel):
    disde: DisdeParams
    calibration: CalibrationParams
    truth_rows: int = Field(ge=1000, description="Monte-Carlo rows per domain for ground-truth DISDE terms")


class WhyshiftParams(StrictModel):
    seed: int = 0
    data: DataParams
    grid: GridParams
    train: TrainParams
    evaluate: EvaluateParams
