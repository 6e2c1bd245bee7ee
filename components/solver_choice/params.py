"""Typed params of the ``solver_choice`` block (unknown keys are errors); the ``smoke`` and ``paper`` sizes are
in ``profiles/<profile>.yaml`` like every pipeline's."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.core.params import StrictModel

Range = tuple[int, int]


class ProntoQAParams(StrictModel):
    n_test: int = Field(ge=2)
    hops_test: Range
    hops_train: Range
    n_train_problems: int = Field(ge=1)


class ProofWriterParams(StrictModel):
    n_test: int = Field(ge=3)
    depth_test: Range
    depth_train: Range
    theory_types: list[Literal["AttNoneg", "AttNeg", "RelNoneg", "RelNeg"]] = Field(min_length=1)
    n_entities: int = Field(ge=2)
    n_facts: Range
    n_rules: Range
    p_negation: float = Field(ge=0, le=1)
    n_train_problems: int = Field(ge=1)


class FolioParams(StrictModel):
    n_test: int = Field(ge=3)
    n_premises: Range
    p_nonhorn: float = Field(ge=0, le=1)
    n_train_problems: int = Field(ge=1)


class DataParams(StrictModel):
    source: Literal["synthetic", "logiclm"] = "synthetic"
    logiclm_dir: str | None = Field(None, description="folder with ProntoQA/ProofWriter/FOLIO dev.json (paper)")
    prontoqa: ProntoQAParams
    proofwriter: ProofWriterParams
    folio: FolioParams


class ModelParams(StrictModel):
    d_model: int = 96
    layers: int = 2
    heads: int = 4
    ffn: int = 192
    dropout: float = 0.1
    lr: float = Field(1e-3, gt=0)
    batch_size: int = Field(64, ge=1)


class SmolParams(StrictModel):
    enabled: bool = False
    n_items: int = Field(10, ge=1, description="test items per dataset translated (≈ 5–20 s per program)")
    shots: int = Field(2, ge=0, description="gold programs of training problems shown as examples")
    max_tokens: int = Field(320, ge=16, description="cap per program (≈ 11 tokens/s per process on 1 thread)")


class OpenAIParams(StrictModel):
    enabled: bool = False
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_tokens: int = 1024
    shots: int = Field(2, ge=0)
    timeout_s: float = Field(120.0, gt=0)
    retries: int = Field(3, ge=0)


class TranslatorParams(StrictModel):
    levels: list[int] = Field(min_length=1, description="optimizer steps of the q1..qk checkpoints")
    max_len: int = Field(64, ge=8)
    model: ModelParams = Field(default_factory=ModelParams)
    noisy_gold: list[float] = Field(default_factory=list)
    smollm2: SmolParams = Field(default_factory=SmolParams)
    openai_compat: OpenAIParams = Field(default_factory=OpenAIParams)

    @model_validator(mode="after")
    def _sorted(self) -> "TranslatorParams":
        if self.levels != sorted(set(self.levels)) or self.levels[0] < 1:
            raise ValueError(f"levels must be increasing positive step counts, got {self.levels}")
        if any(not 0 <= e <= 1 for e in self.noisy_gold):
            raise ValueError(f"noisy_gold rates must lie in [0, 1], got {self.noisy_gold}")
        return self


class ExecutionParams(StrictModel):
    workers: int = Field(2, ge=1)
    solver_timeout: float = Field(10.0, gt=0, description="per proof attempt / Z3 check / Pyke program (s)")
    item_limit: float = Field(30.0, gt=0, description="hard wall-clock limit per program, enforced by the parent")


class EvaluateParams(StrictModel):
    bootstrap: int = Field(1000, ge=50)


class SolverChoiceParams(StrictModel):
    seed: int = 0
    data: DataParams
    translators: TranslatorParams
    execution: ExecutionParams = Field(default_factory=ExecutionParams)
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)
