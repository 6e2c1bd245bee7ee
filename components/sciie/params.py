"""Typed params of the ``sciie`` block of params.yaml (unknown keys are errors); ``smoke`` and ``paper`` sizes
live in ``profiles/<profile>.yaml``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.core.params import StrictModel

ENCODERS = ("bilstm", "minilm_frozen")
REAL = "scierc"  # the regime name of real SciERC (paper profile; files from ``paper.data_dir``, spec §4.4)
# spec §3.2 task configurations: name → (λ_NER, λ_REL, λ_COREF); λ = 0: the task is not trained. Here, not in
# model.py, so that validating params, planning the fan-out and scoring never import torch in the flow's process.
CONFIGS = {"ner": (1.0, 0.0, 0.0), "rel": (0.0, 1.0, 0.0), "coref": (0.0, 0.0, 1.0), "ner_rel": (1.0, 1.0, 0.0),
           "ner_coref": (1.0, 0.0, 0.5), "rel_coref": (0.0, 1.0, 0.5), "all": (1.0, 1.0, 0.5),
           "all_w005": (1.0, 0.05, 0.02)}


class GeneratorParams(StrictModel):
    world_seed: int = 0
    test_seed: int = 1
    kg_seed: int = 2
    concepts_per_type: int = Field(60, ge=4, le=100)
    p_amb: float = Field(0.8, ge=0, le=1)
    p_filler: float = Field(0.3, ge=0, le=1)
    n_templates: tuple[int, int] = (2, 4)
    paraphrases: int = Field(5, ge=1, le=5)
    p_label_flip: float = Field(0.0, ge=0, le=1)
    p_drop: float = Field(0.0, ge=0, lt=1)
    p_orphan: float = Field(0.0, ge=0, le=1)

    @field_validator("n_templates")
    @classmethod
    def _range(cls, v):
        if not 1 <= v[0] <= v[1] <= 5:
            raise ValueError(f"n_templates must satisfy 1 ≤ lo ≤ hi ≤ 5, got {list(v)}")
        return v


class DataParams(StrictModel):
    n_dev: int = Field(25, ge=1)
    n_test: int = Field(100, ge=2)
    n_kg: int = Field(100, ge=2)
    b_ner_share: float = Field(0.2, gt=0, le=1, description="regime B: share of training documents with NER labels")


class RunSpec(StrictModel):
    regime: str = Field(description="A<n> | B<n> | C<n> | D<n> (synthetic) | scierc (real, needs paper.data_dir)")
    configs: list[str] = Field(min_length=1)
    encoder: Literal["bilstm", "minilm_frozen"] = "bilstm"

    @field_validator("regime")
    @classmethod
    def _regime(cls, v):
        from components.sciie.synth import parse_regime

        if v != REAL:
            parse_regime(v)
        return v

    @field_validator("configs")
    @classmethod
    def _configs(cls, v):
        bad = [c for c in v if c not in CONFIGS]
        if bad:
            raise ValueError(f"unknown configs {bad}: use {', '.join(CONFIGS)}")
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate configs in {v}")
        return v


class ModelParams(StrictModel):
    emb_dim: int = Field(64, ge=4)
    hidden: int = Field(64, ge=4, description="BiLSTM units per direction (minilm: projection = 2·hidden)")
    width_dim: int = Field(16, ge=1)
    ffnn: int = Field(100, ge=4)
    dropout: float = Field(0.2, ge=0, lt=1)
    max_width: int = Field(4, ge=1, le=16, description="W: longest span enumerated")
    rho_r: float = Field(0.4, gt=0, le=1)
    rho_c: float = Field(0.3, gt=0, le=1)
    max_antecedents: int = Field(30, ge=1)
    gold_mentions_in_beam: bool = True
    loss_reduction: Literal["sum", "mean"] = "sum"


class TrainParams(StrictModel):
    epochs: int = Field(15, ge=1)
    lr: float = Field(1e-3, gt=0)
    clip: float = Field(5.0, gt=0)
    seeds: int = Field(5, ge=1)
    predict_dev: bool = False
    dev_curve: bool = Field(False, description="score dev entity / Rel / CoNLL F1 after every epoch into train_log.csv "
                                               "(measurement only: no model selection; costs ≈ 0.2 s an epoch)")


class KGParams(StrictModel):
    regime: str = "A30"
    config: str = "all"
    min_count: int = Field(1, ge=1)


class StatsParams(StrictModel):
    n_boot: int = Field(2000, ge=100)
    delta: float = Field(0.01, gt=0)
    min_wins: int = Field(4, ge=1)


class PaperParams(StrictModel):
    data_dir: str | None = Field(None, description="real SciERC processed_data/json folder (paper profile)")


class SciieParams(StrictModel):
    seed: int = 0
    generator: GeneratorParams = Field(default_factory=GeneratorParams)
    data: DataParams = Field(default_factory=DataParams)
    runs: list[RunSpec] = Field(min_length=1)
    model: ModelParams = Field(default_factory=ModelParams)
    train: TrainParams = Field(default_factory=TrainParams)
    kg: KGParams = Field(default_factory=KGParams)
    stats: StatsParams = Field(default_factory=StatsParams)
    paper: PaperParams = Field(default_factory=PaperParams)
    trimmed: list[str] = Field(default_factory=list, description="what §4.3 trimming removed (shown as 'not run')")

    @model_validator(mode="after")
    def _consistent(self) -> "SciieParams":
        keys = [(r.regime, r.encoder) for r in self.runs]
        if len(set(keys)) != len(keys):
            raise ValueError("runs: each (regime, encoder) may appear once")
        kg = [r for r in self.runs if r.regime == self.kg.regime and r.encoder == "bilstm"]
        if not kg or self.kg.config not in kg[0].configs:
            raise ValueError(f"kg: regime {self.kg.regime!r} with config {self.kg.config!r} (bilstm) is not in runs")
        if self.stats.min_wins > self.train.seeds:
            raise ValueError(f"stats.min_wins {self.stats.min_wins} exceeds train.seeds {self.train.seeds}")
        return self

    def regimes(self) -> list[str]:
        return sorted({r.regime for r in self.runs})

    def synthetic_regimes(self) -> list[str]:
        return [r for r in self.regimes() if r != REAL]
