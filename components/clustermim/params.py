"""Typed params of the ``clustermim`` block of params.yaml (unknown keys are errors); the ``smoke`` and
``paper`` sizes are in ``profiles/<profile>.yaml`` like every pipeline's."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.core.params import StrictModel

CONDITION = re.compile(r"^(mae|mae_np|(pix|hog|oracle|random|teach)_k(\d+))$")


def parse_condition(cid: str) -> tuple[str, int]:
    """``pix_k50`` → ("pix", 50); ``mae`` → ("mae", 0)."""
    m = CONDITION.match(cid)
    if not m:
        raise ValueError(f"unknown condition {cid!r}: use mae, mae_np, pix_kK, hog_kK, oracle_kK, random_kK, teach_kK")
    return (m.group(1), 0) if m.group(2) is None else (m.group(2), int(m.group(3)))


class Shapes16(StrictModel):
    n_per_class_train: int = Field(130, ge=2)
    n_per_class_test: int = Field(50, ge=1)


class ImageFolder(StrictModel):
    root: str | None = Field(None, description="ImageFolder root with train/<class>/*, val/<class>/* "
                                               "(paper profile; nothing is downloaded)")
    max_per_class: int | None = Field(None, ge=1, description="cap per class (null = all)")


class DataParams(StrictModel):
    dataset: Literal["digits", "shapes16", "imagefolder"] = "digits"
    n_test: int = Field(500, ge=10, description="digits: stratified test size (train = the rest)")
    n_train: int | None = Field(None, ge=20, description="stratified subset of the train split (null = all)")
    image_size: int = Field(16, ge=4)
    patch: int = Field(4, ge=1)
    aug_scale: tuple[float, float] = (0.5, 1.0)
    shapes16: Shapes16 = Field(default_factory=Shapes16)
    imagefolder: ImageFolder = Field(default_factory=ImageFolder)

    @model_validator(mode="after")
    def _grid(self) -> "DataParams":
        if self.image_size % self.patch:
            raise ValueError(f"image_size {self.image_size} must be a multiple of patch {self.patch}")
        lo, hi = self.aug_scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"aug_scale must satisfy 0 < lo <= hi <= 1, got {self.aug_scale}")
        return self


class TokenizerParams(StrictModel):
    kmeans_epochs: int = Field(20, ge=1, description="partial_fit passes over the patch set")
    kmeans_batch: int = Field(4096, ge=64, description="patches per partial_fit call")
    oracle_per_class: int | None = Field(None, ge=1, description="centres per class (null = K / classes)")
    cosine_variant: str | None = Field("pix_k50", description="tokenizer whose cosine assignment is logged")


class ModelParams(StrictModel):
    dim: int = Field(64, ge=4)
    depth: int = Field(4, ge=1)
    heads: int = Field(4, ge=1)
    mlp_ratio: float = Field(4.0, gt=0)
    dec_dim: int = Field(32, ge=4)
    dec_depth: int = Field(1, ge=1)
    dec_heads: int = Field(4, ge=1)

    @model_validator(mode="after")
    def _heads(self) -> "ModelParams":
        if self.dim % self.heads or self.dec_dim % self.dec_heads:
            raise ValueError("dim must be divisible by heads and dec_dim by dec_heads")
        return self


class PretrainParams(StrictModel):
    conditions: list[str] = Field(min_length=1)
    seeds: int = Field(3, ge=1)
    epochs: int = Field(30, ge=1)
    batch: int = Field(64, ge=2)
    blr: float = Field(4e-3, gt=0, description="lr = blr · batch / 256")
    warmup_epochs: int = Field(3, ge=0)
    wd: float = Field(0.05, ge=0)
    mask_ratio: float = Field(0.75, gt=0, lt=1)
    label_smoothing: float = Field(0.0, ge=0, lt=1)

    @field_validator("conditions")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        for c in v:
            parse_condition(c)
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate conditions in {v}")
        return v


class FinetuneParams(StrictModel):
    conditions: list[str] = Field(default_factory=list)
    epochs: int = Field(15, ge=1)
    batch: int = Field(64, ge=2)
    lr: float = Field(1e-3, gt=0)
    layer_decay: float = Field(0.75, gt=0, le=1)
    wd: float = Field(0.05, ge=0)
    drop_path: float = Field(0.1, ge=0, lt=1)
    label_smoothing: float = Field(0.1, ge=0, lt=1)


class ProbeParams(StrictModel):
    Cs: list[float] = Field(default_factory=lambda: [0.1, 1.0, 10.0], min_length=1)
    max_iter: int = Field(2000, ge=10)
    knn_k: int = Field(20, ge=1)


class ClaimParams(StrictModel):
    fit_ratio: float = Field(0.8, gt=0, le=1, description="a run fits if final loss ≤ fit_ratio · first-epoch loss")


class ClustermimParams(StrictModel):
    seed: int = 0
    data: DataParams = Field(default_factory=DataParams)
    tokenizers: TokenizerParams = Field(default_factory=TokenizerParams)
    model: ModelParams = Field(default_factory=ModelParams)
    pretrain: PretrainParams
    finetune: FinetuneParams = Field(default_factory=FinetuneParams)
    probe: ProbeParams = Field(default_factory=ProbeParams)
    claims: ClaimParams = Field(default_factory=ClaimParams)

    @model_validator(mode="after")
    def _consistent(self) -> "ClustermimParams":
        missing = [c for c in self.finetune.conditions if c not in self.pretrain.conditions]
        if missing:
            raise ValueError(f"finetune.conditions {missing} are not in pretrain.conditions")
        teach = [c for c in self.pretrain.conditions if c.startswith("teach_")]
        if teach and "mae" not in self.pretrain.conditions:
            raise ValueError(f"{teach} need the `mae` condition (the teacher is the mae encoder of the same seed)")
        return self
