"""Typed params of the ``causality`` block of params.yaml (unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.core.params import StrictModel

EffectMethod = Literal["naive", "ols", "s_learner", "t_learner", "x_learner", "ps_match", "ipw", "aipw",
                       "dml", "causal_forest", "dr_learner", "tarnet", "cfr", "entropy_bal", "aipw_att"]
DiscoveryAlgo = Literal["pc", "ges", "direct_lingam", "notears"]
PairMethod = Literal["igci", "reci", "anm"]


class IhdpParams(StrictModel):
    surface: Literal["A", "B"] = Field(description="Hill's response surface (A: constant effect 4, B: heterogeneous)")
    reps: int = Field(ge=1, description="replications k = 0..reps-1, drawn as econml random_state seed + k")
    methods: list[EffectMethod] = Field(min_length=1)


class LalondeParams(StrictModel):
    bootstrap: int = Field(ge=0, description="bootstrap resamples for the ATT intervals (rep 0 = the data itself)")
    methods: list[EffectMethod] = Field(min_length=1, description="ATT estimators (run on every resample)")


class JobsParams(StrictModel):
    splits: int = Field(ge=1, description="random train/test splits")
    test_share: float = Field(gt=0, lt=1)
    methods: list[EffectMethod] = Field(min_length=1)


class AcicParams(StrictModel):
    instances: list[int] = Field(description="ACIC 2016 settings 1..10 shipped in causallib; [] = skip")
    methods: list[EffectMethod] = Field(min_length=1)

    @field_validator("instances")
    @classmethod
    def _range(cls, value: list[int]) -> list[int]:
        bad = [k for k in value if not 1 <= k <= 10]
        if bad:
            raise ValueError(f"ACIC 2016 instances are 1..10, got {bad}")
        return value


class ScmKind(StrictModel):
    """One synthetic effect SCM: X ~ N(0, Σ_ij = 0.3^|i-j|), T ~ Bern(σ(overlap·(x1 + x2 − x3) + hidden·U))."""

    outcome: Literal["linear", "nonlinear"] = Field(description="linear: constant τ = 2; nonlinear: τ(x) varies")
    noise: Literal["gaussian", "laplace"] = "gaussian"
    hidden: float = Field(0.0, ge=0, description="strength of a hidden confounder U on T and Y (0 = none)")
    overlap: float = Field(0.8, gt=0, description="propensity slope: larger → propensities near 0/1 (poor overlap)")


class ScmParams(StrictModel):
    n: int = Field(ge=100)
    d: int = Field(10, ge=3)
    reps: int = Field(ge=1)
    kinds: dict[str, ScmKind | None] = Field(description="name → SCM (null = off); names become dataset keys")
    methods: list[EffectMethod] = Field(min_length=1)

    @field_validator("kinds")
    @classmethod
    def _names(cls, value: dict) -> dict:
        bad = [k for k in value if not k.startswith("scm_")]
        if bad:
            raise ValueError(f"SCM names must start with 'scm_', got {bad}")
        return value


class DagParams(StrictModel):
    d: int = Field(ge=3, description="nodes")
    n: list[int] = Field(min_length=1, description="sample sizes (constraint-based consistency needs ≥ 2)")
    reps: int = Field(ge=1)
    noises: list[Literal["gauss", "unif"]] = Field(min_length=1)
    expected_degree: float = Field(2.0, gt=0, description="Erdős–Rényi edge probability = expected_degree / (d − 1)")


class StudiesParams(StrictModel):
    """Identification studies (identification.py): seeded SCMs generated in the train units, real data in prepare."""

    n: int = Field(ge=100, description="rows of scm_frontdoor and scm_rdd per replication (scm_iv too)")
    reps: int = Field(ge=1, description="replications of scm_frontdoor and scm_rdd")
    iv_reps: int = Field(ge=1, description="replications of scm_iv (strong and weak instrument)")
    iv_strong: float = Field(1.0, gt=0, description="first-stage coefficient γ of the strong instrument")
    iv_weak: float = Field(0.05, gt=0, description="first-stage coefficient γ of the weak instrument")
    ks_n: int = Field(ge=100, description="rows of scm_ks (Kang–Schafer) per replication")
    ks_reps: int = Field(ge=1)
    rdd_h: float = Field(gt=0, le=1, description="local-linear bandwidth on scm_rdd")
    dowhy_rdd_h: float = Field(0.5, gt=0, le=1, description="bandwidth of DoWhy's RDD comparison row on scm_rdd")
    latent_n: int = Field(ge=100, description="rows of dag_latent (FCI)")
    latent_reps: int = Field(ge=1)
    fci_alpha: float = Field(0.01, gt=0, lt=1)
    nhefs: bool = Field(True, description="NHEFS textbook IPW (causaldata nhefs_complete)")
    lmb_h: list[float] = Field(description="rdd_lmb local-linear bandwidths (the middle one is judged; [] = skip)")
    transfers_h: list[float] = Field(description="rdd_transfers bandwidths (the middle one is judged; [] = skip)")


class DataParams(StrictModel):
    ihdp: dict[str, IhdpParams | None] = Field(description="dataset key → IHDP surface and replications (null = off)")
    lalonde: LalondeParams | None = None
    jobs: JobsParams | None = None
    acic: AcicParams | None = None
    scm: ScmParams | None = None
    dags: DagParams | None = None
    studies: StudiesParams | None = None
    sachs: bool = Field(True, description="Sachs flow cytometry (cdt CSVs) with its 18-edge consensus graph")
    tuebingen_pairs: int = Field(ge=0, le=99, description="Tübingen pairs used (0 = skip)")
    tuebingen_max_points: int = Field(ge=20, description="seeded subsample per pair")
    test_share: float = Field(0.1, gt=0, lt=1, description="IHDP / ACIC / SCM out-of-sample share (IHDP: 75/747)")


class XgbParams(StrictModel):
    n_estimators: int = Field(ge=1)
    max_depth: int = Field(ge=1)
    learning_rate: float = Field(gt=0)


class RepresentationParams(StrictModel):
    """TARNet / CFR (Shalit et al. 2017), small MLPs trained full-batch in Lightning."""

    hidden: int = Field(ge=2)
    layers: int = Field(ge=1)
    head_hidden: int = Field(ge=2)
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    alpha: float = Field(ge=0, description="CFR IPM (RBF-MMD²) penalty weight")
    val_share: float = Field(gt=0, lt=1, description="factual validation share (early-stopping checkpoint)")
    val_every: int = Field(1, ge=1, description="epochs between factual validations (best weights kept)")


class EffectParams(StrictModel):
    xgb: XgbParams
    forest_trees: int = Field(ge=4, description="CausalForestDML trees (multiple of 4)")
    cv: int = Field(2, ge=2, description="cross-fitting folds of DML / DR / causal forest")
    ps_clip: float = Field(gt=0, lt=0.5, description="propensity clipping [c, 1-c] for IPW and AIPW (DoWhy default 0.05)")
    representation: RepresentationParams

    @field_validator("forest_trees")
    @classmethod
    def _multiple_of_four(cls, value: int) -> int:
        if value % 4:
            raise ValueError(f"EconML grows forests in subforests of 4: forest_trees must be a multiple of 4, got {value}")
        return value


class DiscoveryParams(StrictModel):
    algorithms: list[DiscoveryAlgo] = Field(min_length=1)
    alpha: float = Field(gt=0, lt=1, description="PC Fisher-z level")
    lingam_threshold: float = Field(ge=0, description="DirectLiNGAM |b_ij| below this → no edge")
    notears_lambda: float = Field(ge=0)
    notears_threshold: float = Field(ge=0)
    notears_max_iter: int = Field(ge=1, description="augmented-Lagrangian outer iterations")
    pair_methods: list[PairMethod] = Field(min_length=1)
    anm_max_points: int = Field(ge=20, description="ANM's GP+HSIC is cubic in n: subsample to this")
    random_graphs: int = Field(ge=10, description="random DAGs with the true edge count (SHD baseline)")


class EvaluateParams(StrictModel):
    bootstrap: int = Field(ge=100, description="resamples over replications for the 95 % CIs")


class CausalityParams(StrictModel):
    seed: int = 0
    data: DataParams
    effects: EffectParams
    discovery: DiscoveryParams
    evaluate: EvaluateParams

    @model_validator(mode="after")
    def _dag_sizes(self) -> "CausalityParams":
        if self.data.dags is not None and "pc" in self.discovery.algorithms and min(self.data.dags.n) < 20:
            raise ValueError("data.dags.n must be ≥ 20 for the PC Fisher-z test")
        return self
