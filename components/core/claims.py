"""Claims and metrics files: the machine-readable verdicts every report step writes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from components.core.io import read_json, write_json

Verdict = Literal["reproduced", "not reproduced", "inconclusive"]
VERDICTS: tuple[str, ...] = ("reproduced", "not reproduced", "inconclusive")


class Claim(BaseModel):
    """One row of ``claims.json``: exactly these keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    claim: str
    metric: str
    expected: str
    anchor: str
    observed: str
    verdict: Verdict


def verdict(reproduced: bool, refuted: bool) -> str:
    """Three-way verdict from two explicit rules; neither (or both) → inconclusive."""
    if reproduced and not refuted:
        return "reproduced"
    if refuted and not reproduced:
        return "not reproduced"
    return "inconclusive"


def mean_sd(values) -> str:
    """"m ± sd (n=k)" over seeds/settings, or the single value."""
    vals = [float(v) for v in values]
    if not vals:
        return "n/a"
    m = sum(vals) / len(vals)
    if len(vals) == 1:
        return f"{m:.4g}"
    sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1))
    return f"{m:.4g} ± {sd:.2g} (n={len(vals)})"


def write_claims(path: Path, claims: list[Claim]) -> Path:
    return write_json(path, [c.model_dump() for c in claims], sort_keys=False)  # contract key order


def read_claims(path: Path) -> list[Claim]:
    return [Claim.model_validate(row) for row in read_json(path)]


def write_metrics(path: Path, metrics: dict[str, float]) -> Path:
    """``metrics.json``: flat name → finite number (what `dvc metrics show` reads)."""
    flat = {}
    for key, value in metrics.items():
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"metric {key} is not finite: {value}")
        flat[key] = value
    return write_json(path, flat)
