"""Typed params of the ``mi_generalization`` block of params.yaml (unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.core.params import StrictModel

NoiseMean = Literal["batch_mean", "zero"]


def _multiple_of_four(v: int) -> int:
    """Four prototypes / flips with classes 0, 1, 0, 1: a multiple of 4 keeps the classes balanced."""
    if v % 4:
        raise ValueError(f"must be a multiple of 4 (four prototypes, balanced classes), got {v}")
    return v


class ProtoData(StrictModel):
    size: int = Field(32, ge=4, description="image side h = w")
    n: int = Field(ge=8, description="samples; sample j is prototype j mod 4 (multiple of 4 keeps classes balanced)")
    noise_var: float = Field(gt=0, description="additive Gaussian noise variance")
    noise_mean: NoiseMean = "batch_mean"
    normalise: Literal["per_image", "none"] = "per_image"
    test: Literal["renoise"] = Field("renoise", description="test = normalised train + another noise draw (code)")

    _n4 = field_validator("n")(classmethod(lambda cls, v: _multiple_of_four(v)))


class BoundData(StrictModel):
    size: int = Field(32, ge=4)
    train_size: int = Field(ge=8, description="generated samples; n = train_size / 2 train each simulator")
    noise_var: float = Field(gt=0, description="E2 noise variance (E3 sweeps e3.variances besides it)")
    noise_mean: NoiseMean = "batch_mean"
    iid_test_size: int = Field(ge=8, description="fresh i.i.d. test samples (new base images and noise)")

    _sizes4 = field_validator("train_size", "iid_test_size")(classmethod(lambda cls, v: _multiple_of_four(v)))


class BenchmarkData(StrictModel):
    source: Literal["digits", "idx"] = Field(description="digits: sklearn's bundled set; idx: MNIST/F-MNIST files")
    test_share: float = Field(0.25, gt=0, lt=1, description="digits: stratified test share")
    data_dir: str | None = Field(None, description="idx: folder with <dataset>/<4 IDX .gz files>")
    datasets: list[Literal["mnist", "fashion_mnist"]] = Field(default_factory=lambda: ["mnist", "fashion_mnist"])


class DataParams(StrictModel):
    proto: ProtoData
    bound: BoundData
    benchmark: BenchmarkData


class E1Params(StrictModel):
    """Prototype set: 1024→8→6→2, ReLU, no hidden bias, Glorot uniform, Adam, full batch."""

    repeats: int = Field(ge=1)
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    hidden: list[int] = Field(default_factory=lambda: [8, 6], min_length=1)
    log_every: int = Field(10, ge=1, description="epochs between MLflow metric writes (the CSV has every epoch)")


class E2Params(StrictModel):
    """Bound simulators: 1024→8→6→2 with biases, He normal, SGLD-type noise, one full-batch step per epoch."""

    runs: int = Field(ge=1)
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    hidden: list[int] = Field(default_factory=lambda: [8, 6], min_length=1)
    simulators: list[Literal["incoherence", "cmi"]] = Field(min_length=1)
    optimizers: list[Literal["adam", "sgd"]] = Field(min_length=1, description="adam = the code; sgd = the "
                                                                                 "bounds' assumptions hold")
    eval_every: int = Field(10, ge=1, description="epochs between test-set evaluations in the curves")
    log_every: int = Field(50, ge=1)


class E3Params(StrictModel):
    variances: list[float] = Field(description="noise variances besides data.bound.noise_var (whose runs are E2's)")
    runs: int = Field(ge=0)

    @field_validator("variances")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        if any(x <= 0 for x in v):
            raise ValueError(f"variances must be positive, got {v}")
        return v


class E4Params(StrictModel):
    """Benchmark: d→96→32→10, ReLU, no hidden bias, truncated normal init, Adam, minibatches."""

    repeats: int = Field(ge=0)
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    batch_size: int = Field(ge=1)
    hidden: list[int] = Field(default_factory=lambda: [96, 32], min_length=1)
    log_every: int = Field(10, ge=1)


class E5Params(StrictModel):
    """Non-parametric baselines (binning, KDE) beside the Gibbs estimator on the prototype set."""

    repeats: int = Field(ge=0, description="0 = off")
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    noise_var: float = Field(gt=0, description="input noise variance of its prototype set")
    activations: list[Literal["relu", "tanh"]] = Field(min_length=1)
    bin_sizes: list[float] = Field(min_length=1)
    kde_vars: list[float] = Field(min_length=1)
    every: int = Field(10, ge=1, description="epochs between baseline-estimator evaluations")


class EvaluateParams(StrictModel):
    bootstrap: int = Field(ge=100, description="resamples over runs for the 95 % CIs")
    plugin: Literal["xbar_t1_plus_y_yhat", "x_t1", "x_yhat"] = Field(
        "xbar_t1_plus_y_yhat", description="the MI estimate plugged in for I(S;W) (§3.2, [inferred])")
    sigma: float = Field(0.5, gt=0, description="sub-Gaussian parameter of the 0-1 loss")
    fit_train_acc: float = Field(0.99, gt=0, le=1, description="a run with a lower final train accuracy did not fit")


class MiGeneralizationParams(StrictModel):
    seed: int = 0
    data: DataParams
    e1: E1Params
    e2: E2Params
    e3: E3Params
    e4: E4Params
    e5: E5Params
    evaluate: EvaluateParams

    @model_validator(mode="after")
    def _sizes(self) -> "MiGeneralizationParams":
        if self.data.bound.noise_var in self.e3.variances:
            raise ValueError(f"e3.variances must not repeat data.bound.noise_var={self.data.bound.noise_var} "
                             "(its runs are E2's)")
        if self.data.benchmark.source == "idx" and self.e4.repeats and not self.data.benchmark.data_dir:
            raise ValueError("data.benchmark.source=idx needs data.benchmark.data_dir")
        return self

    @property
    def variances(self) -> list[float]:
        """Every noise variance with bound runs: E2's first, then the E3 sweep."""
        return [self.data.bound.noise_var, *(self.e3.variances if self.e3.runs else [])]

    def runs_at(self, var: float) -> int:
        return self.e2.runs if var == self.data.bound.noise_var else self.e3.runs
