"""Typed params: ``params.yaml`` (the default profile) + a profile overlay + ``--set`` overrides.

Each slug declares a pydantic model with unknown keys forbidden; a bad value fails before any
work, naming the key path, the value and what was expected.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components.core.errors import UserError

PROFILES = ("smoke", "default", "full", "paper")
DASK_ENV = "PAPERFLOWS_DASK_ADDRESS"


class StrictModel(BaseModel):
    """Base for every params block: typos are errors, values are immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TrackingParams(StrictModel):
    uri: str | None = Field(None, description="MLflow tracking URI; null = sqlite:///<root>/mlflow.db. "
                                                "MLFLOW_TRACKING_URI overrides it.")


class TrainerParams(StrictModel):
    """Lightning ``Trainer`` hardware settings: CPU by default; the paper profile may name a GPU."""

    accelerator: str = Field("cpu", description="cpu | gpu | cuda | auto (Lightning accelerator names)")
    devices: int | str = Field(1, description="devices per training process, or 'auto'")
    precision: str = Field("32-true", description="Lightning precision, e.g. 32-true, bf16-mixed, 16-mixed")


class RuntimeParams(StrictModel):
    """How a run executes, never what it computes: not DVC params of any stage."""

    workers: int = Field(2, ge=1, description="local worker processes for fan-out (1 = in-process)")
    dask_address: str | None = Field(None, description=f"existing Dask scheduler; {DASK_ENV} overrides it")
    batch_size: int | None = Field(None, ge=1, description="items per fan-out task; null = about four "
                                                               "batches per worker")
    trainer: TrainerParams = Field(default_factory=TrainerParams)

    def resolved_dask_address(self) -> str | None:
        return os.environ.get(DASK_ENV) or self.dask_address


P = TypeVar("P", bound=StrictModel)


@dataclass(frozen=True)
class RunConfig(Generic[P]):
    """Everything a run of one pipeline is parameterised by."""

    slug: str
    profile: str
    params: P
    tracking: TrackingParams
    runtime: RuntimeParams
    raw: dict  # the merged ``<slug>`` block, logged to MLflow as flattened params


def load_config(slug: str, model: type[P], root: Path, profile: str = "default",
                overrides: list[str] | tuple[str, ...] = ()) -> RunConfig[P]:
    if profile not in PROFILES:
        raise UserError(f"unknown profile {profile!r}", f"use one of: {', '.join(PROFILES)}")
    data = _read_yaml(root / "params.yaml")
    if slug not in data:
        raise UserError(f"params.yaml has no {slug!r} block", f"add the `{slug}:` section to params.yaml")
    if profile != "default":
        overlay = root / "profiles" / f"{profile}.yaml"
        data = deep_merge(data, _read_yaml(overlay) if overlay.exists() else {})
    for item in overrides:
        _apply_override(data, item, slug)
    blocks = {slug: model, "tracking": TrackingParams, "runtime": RuntimeParams}
    parsed = {key: _validate(cls, data.get(key) or {}, key) for key, cls in blocks.items()}
    return RunConfig(slug=slug, profile=profile, params=parsed[slug], tracking=parsed["tracking"],
                     runtime=parsed["runtime"], raw=copy.deepcopy(data[slug]))


def deep_merge(base: dict, overlay: dict) -> dict:
    """Dicts merge key by key; anything else in ``overlay`` replaces the base value."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (lists stay values)."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise UserError(f"{path} not found", "run from the paperflows checkout") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path} is not valid YAML: {exc}", "fix the syntax") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a mapping at the top level", "fix the file")
    return data


def _apply_override(data: dict, item: str, slug: str) -> None:
    key, sep, text = item.partition("=")
    parts = key.strip().split(".")
    allowed = (slug, "tracking", "runtime")
    if not sep or not all(parts):
        raise UserError(f"bad --set {item!r}", "write --set key.path=value, e.g. --set runtime.workers=1")
    if parts[0] not in allowed:
        raise UserError(f"--set {key}: unknown top-level key {parts[0]!r}",
                        f"keys start with one of: {', '.join(allowed)}")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UserError(f"--set {key}: {'.'.join(parts[:i + 1])} is a value, not a section",
                            "set the value itself, or a key that exists")
        node = child
    node[parts[-1]] = yaml.safe_load(text) if text.strip() else None


def _validate(model: type[StrictModel], data: Any, prefix: str) -> StrictModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(model, err, prefix) for err in exc.errors()]
        raise UserError("invalid params:\n  " + "\n  ".join(lines),
                        "fix params.yaml, the profile overlay or the --set value") from None


def _describe(model: type[BaseModel], err: dict, prefix: str) -> str:
    loc = [str(p) for p in err["loc"]]
    path = ".".join([prefix, *loc])
    if err["type"] == "extra_forbidden":
        valid = _fields_at(model, err["loc"][:-1])
        return f"{path}: unknown key (valid keys here: {', '.join(valid) or 'none'})"
    return f"{path}: {err['msg']} (got {err.get('input')!r})"


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the sub-model at ``loc`` (best effort; used only for error messages)."""
    current: Any = model
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = fields[part].annotation
        args = getattr(current, "__args__", ())  # Optional[Model] / dict[str, Model]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if models:
            current = models[0]
    return sorted(getattr(current, "model_fields", {}))
