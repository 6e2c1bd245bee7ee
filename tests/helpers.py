"""Helpers shared by tests (importable: ``from helpers import ...``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROJECT_FILES = ("params.yaml", "dvc.yaml", "profiles", "README.md", ".dvcignore", ".dvc/config")


def copy_project(dest: Path) -> Path:
    """The files that make a paperflows project (code comes from the installed package)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, dirs_exist_ok=True)
        elif src.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(args: list[str], cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """``paperflows`` as a user runs it: a real process, its exit code and both streams."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(BIN / "paperflows"), *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
