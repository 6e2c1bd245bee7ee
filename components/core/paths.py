"""Where a pipeline reads and writes: ``data/<slug>/`` and ``reports/<slug>/`` under the project root."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from components.core.errors import MissingInputError, UserError

ROOT_ENV = "PAPERFLOWS_ROOT"


def project_root() -> Path:
    """The directory holding ``params.yaml``: ``$PAPERFLOWS_ROOT``, else the nearest parent of the cwd.

    Found from the cwd (not from this file) so that `dvc repro` in a clone, a Prefect
    subprocess and a test's temporary copy each use their own tree.
    """
    env = os.environ.get(ROOT_ENV)
    if env:
        root = Path(env).resolve()
        if not (root / "params.yaml").is_file():
            raise UserError(f"{ROOT_ENV}={env} has no params.yaml", f"point {ROOT_ENV} at a paperflows checkout")
        return root
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "params.yaml").is_file() and (d / "dvc.yaml").is_file():
            return d
    raise UserError(f"no paperflows project (params.yaml + dvc.yaml) at or above {here}",
                    f"cd into the paperflows checkout or set {ROOT_ENV}")


RUNS_DIR = "runs"  # outputs of runs with other params than the project's own (git- and DVC-ignored)


def is_canonical(profile: str, overrides: Iterable[str]) -> bool:
    """A run with the project's own params: what its DVC stages record (execution knobs aside)."""
    return profile == "default" and all(o.split(".", 1)[0] in ("runtime", "tracking") for o in overrides)


def output_root(root: Path, profile: str, overrides: Iterable[str]) -> Path:
    """Where a run's ``data/`` and ``reports/`` go: the project root for the project's own params (the DVC-tracked
    outputs `dvc repro` would write), else ``runs/<profile>[-<hash of the overrides>]/`` — one folder per distinct
    params, so the steps of such a run can still be run one at a time, and default results stay untouched."""
    if is_canonical(profile, overrides):
        return root
    changed = sorted(o for o in overrides if o.split(".", 1)[0] not in ("runtime", "tracking"))
    label = profile if not changed else f"{profile}-{hashlib.sha1(chr(10).join(changed).encode()).hexdigest()[:8]}"
    return root / RUNS_DIR / label


@dataclass(frozen=True)
class Paths:
    root: Path
    slug: str

    @property
    def data(self) -> Path:
        return self.root / "data" / self.slug

    @property
    def reports(self) -> Path:
        return self.root / "reports" / self.slug

    @property
    def figures(self) -> Path:
        return self.reports / "figures"

    def require(self, *paths: Path, step: str) -> None:
        """Fail with the command that produces ``paths`` if any is missing."""
        missing = [p for p in paths if not p.exists()]
        if missing:
            shown = ", ".join(str(p.relative_to(self.root)) for p in missing)
            raise MissingInputError(
                f"missing upstream output: {shown}",
                f"run `paperflows run {self.slug} --step {step}` (or `dvc repro {self.slug}-{step}`) first")
