"""DVC's record kept in step with runs made outside ``dvc repro`` (``make run``, the CLI, the Prefect UI).

A step run with the project's own params (the default profile, no overrides) produces what its DVC stage
would, so after it publishes, the stage is committed (outs into the DVC cache, ``dvc.lock`` updated) and
``dvc status`` stays clean; a stage DVC already records as up to date (same code, params and upstream outs,
outs present) is skipped unless forced, so a second ``make run`` with nothing changed does nothing. Runs
with another profile or overrides never touch DVC's record. Under ``dvc repro`` / ``dvc exp run``
(``DVC_STAGE`` set) DVC does both itself. ``PAPERFLOWS_DVC_SYNC=0`` turns this off.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

SYNC_ENV = "PAPERFLOWS_DVC_SYNC"
_force_all = False  # `paperflows run --force`: rerun steps DVC records as up to date


def force_reruns(enabled: bool = True) -> None:
    """Make every run in this process rerun its steps even when DVC records them as up to date."""
    global _force_all
    _force_all = enabled


class DvcSync:
    """Skip-if-up-to-date and commit-after-run for one pipeline's stages in one project checkout."""

    def __init__(self, root: Path, canonical: bool):
        self.root = root
        self.enabled = (canonical and os.environ.get(SYNC_ENV, "1") != "0" and "DVC_STAGE" not in os.environ
                        and (root / ".dvc").is_dir() and (root / ".git").exists() and (root / "dvc.yaml").exists())
        self._stages: set[str] | None = None

    def tracks(self, stage: str) -> bool:
        if not self.enabled:
            return False
        if self._stages is None:
            self._stages = set((yaml.safe_load((self.root / "dvc.yaml").read_text()) or {}).get("stages", {}))
        return stage in self._stages

    def up_to_date(self, stage: str) -> bool:
        """True when ``dvc status <stage>`` reports nothing (a stage missing from dvc.lock is not)."""
        if _force_all or not self.tracks(stage):
            return False
        try:
            with self._repo() as repo:
                return not repo.status(targets=[stage])
        except Exception as exc:  # noqa: BLE001 — DVC trouble never blocks a run; it just runs the step
            print(f"[dvc] status of {stage} failed ({type(exc).__name__}: {exc}); running the step", file=sys.stderr)
            return False

    def commit(self, stage: str) -> bool:
        """Record the just-published outputs of ``stage`` as ``dvc commit`` does; a failure is a warning."""
        if not self.tracks(stage):
            return False
        try:
            with self._repo() as repo:
                repo.commit(stage, force=True)
            return True
        except Exception as exc:  # noqa: BLE001
            print(f"[dvc] could not record {stage} in dvc.lock ({type(exc).__name__}: {exc}); "
                  f"`dvc commit {stage}` does it by hand", file=sys.stderr)
            return False

    def _repo(self):
        from dvc.repo import Repo

        return Repo(str(self.root))
