"""Atomic writes: every output appears whole or not at all, so a crash never leaves a half file for DVC."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Build a directory in a sibling temp dir, then swap it in for ``path`` (old content kept on failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_text(path: Path | str, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: Path | str, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: Path | str, obj: Any, sort_keys: bool = True) -> Path:
    """Pretty JSON; keys sorted by default so reruns give byte-identical files."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=sort_keys, default=_jsonable) + "\n")


def write_parquet(path: Path | str, frame) -> Path:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return Path(path)


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _jsonable(obj: Any) -> Any:
    """numpy scalars/arrays and paths become plain JSON values."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def sha256_files(folder: Path | str, files: Iterable[Path | str] | None = None) -> dict[str, str]:
    """SHA-256 of ``files`` (default: every file below ``folder``), keyed by path relative to ``folder``."""
    folder = Path(folder)
    paths = sorted(f for f in folder.rglob("*") if f.is_file()) if files is None else [folder / f for f in files]
    return {str(Path(f).relative_to(folder)): hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in paths}


def verify_sha256(folder: Path | str, digests: dict[str, str], fix: str) -> None:
    """Refuse outputs that are missing or changed since a step recorded their digests (``sha256_files``)."""
    from components.core.errors import DataValidationError

    folder = Path(folder)
    changed = [rel for rel, digest in digests.items()
               if not (folder / rel).is_file() or hashlib.sha256((folder / rel).read_bytes()).hexdigest() != digest]
    if changed:
        listed = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise DataValidationError(f"prepared data under {folder} missing or changed since it was written: {listed}", fix)
