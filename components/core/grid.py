"""Grids as data: axes declared in params, expanded deterministically into configs with stable ids,
run in batches, each finished batch stored atomically as a shard so an interrupted run resumes."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any, Iterable

from components.core.io import write_parquet


def config_id(payload: dict[str, Any]) -> str:
    """First 16 hex chars of SHA-1 over canonical JSON (sorted keys): order-free and stable."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def fingerprint(payload: dict[str, Any], paths: Iterable[Path]) -> str:
    """Hash of ``payload`` and the bytes of every file under ``paths``: shards made under a different
    fingerprint (other data, params or code) are never reused."""
    h = hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode())
    for root in paths:
        files = sorted(Path(root).rglob("*")) if Path(root).is_dir() else [Path(root)]
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(root) if Path(root).is_dir() else f.name).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def expand(axes: dict[str, list]) -> list[dict[str, Any]]:
    """Cartesian product of named value lists, in declared order (``{}`` → one empty config)."""
    keys = list(axes)
    return [dict(zip(keys, values)) for values in itertools.product(*(axes[k] for k in keys))]


def batches(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


class ShardStore:
    """A directory of parquet shards, one per finished batch, keyed by the batch's first config id."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def shard_path(self, batch_key: str) -> Path:
        return self.directory / f"{batch_key}.parquet"

    def done(self, batch_key: str) -> bool:
        return self.shard_path(batch_key).exists()

    def write(self, batch_key: str, frame) -> Path:
        return write_parquet(self.shard_path(batch_key), frame)

    def collect(self, sort_by: Iterable[str] = ("config_id",)):
        import pandas as pd

        paths = sorted(self.directory.glob("*.parquet"))
        if not paths:
            return pd.DataFrame()
        frame = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
        return frame.sort_values(list(sort_by), kind="stable").reset_index(drop=True)
