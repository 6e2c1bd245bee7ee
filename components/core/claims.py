"""Claims and metrics files: the machine-readable verdicts every report step writes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.core.io import read_json, write_json

Verdict = Literal["reproduced", "not reproduced", "inconclusive"]
VERDICTS: tuple[str, ...] = ("reproduced", "not reproduced", "inconclusive")
Kind = Literal["claim", "check", "context"]
KINDS: tuple[str, ...] = ("claim", "check", "context")


class Claim(BaseModel):
    """One row of ``claims.json``: exactly these keys.

    ``id`` is the spec's claim id (``C4``, ``G1``, ``P2a``); ``kind`` says what the row can tell:
    ``claim`` — a claim of the paper the data could have decided either way (the only rows any
    total counts); ``check`` — an implementation identity or a property true by construction;
    ``context`` — a row added to look for the effect elsewhere. Checks and context rows say in
    ``note`` why they cannot count as a reproduction.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    kind: Kind
    claim: str
    metric: str
    expected: str
    anchor: str
    observed: str
    verdict: Verdict
    note: str = ""

    @model_validator(mode="after")
    def _explained(self) -> "Claim":
        if self.kind != "claim" and not self.note.strip():
            raise ValueError(f"{self.id}: a {self.kind} row needs a note saying why it cannot count as a reproduction")
        return self


def counted(claims: list[Claim]) -> list[Claim]:
    """The rows that count in totals: claims of the paper, not checks or context."""
    return [c for c in claims if c.kind == "claim"]


def verdict_counts(claims: list[Claim]) -> dict[str, int]:
    rows = counted(claims)
    return {v: sum(c.verdict == v for c in rows) for v in VERDICTS}


def count_metrics(claims: list[Claim]) -> dict[str, int]:
    """``claims_<verdict>`` for the claim rows and ``checks_and_context``: the numbers every run reports."""
    return {**{f"claims_{v.replace(' ', '_')}": n for v, n in verdict_counts(claims).items()},
            "checks_and_context": sum(c.kind != "claim" for c in claims)}


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
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"claim ids must be unique within a report: {dupes}")
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
