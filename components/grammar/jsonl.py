"""JSON-lines files (one record a line, keys sorted so reruns are byte-identical), written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from components.core.io import write_text


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    return write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
