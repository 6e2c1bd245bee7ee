"""One Prefect API for a whole run: the configured server, or a temporary local one shared by every worker.

Without ``PREFECT_API_URL`` Prefect would start an ephemeral server in *each* process (seconds per
worker, runs scattered across databases). We start one uvicorn subprocess ourselves — without
importing Prefect's server package in this process — so it boots while the CLI imports the
pipeline code, and its log goes to a file instead of the console.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from components.core.errors import UserError


class LocalPrefectAPI:
    """A temporary Prefect API server on 127.0.0.1 (no UI), backed by Prefect's usual database."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.process: subprocess.Popen | None = None

    def start(self) -> "LocalPrefectAPI":
        spec = importlib.util.find_spec("prefect")
        app_dir = str(Path(spec.origin).parent.parent)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # the last run's server log
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        env.pop("PREFECT_API_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", app_dir, "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "error", "--lifespan", "on"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        return self

    def wait(self, timeout: float = 180.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self.url
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise UserError(f"the temporary Prefect API did not start within {timeout:.0f} s (log: {self.log_path})",
                        "start a server yourself (`prefect server start`) and export "
                        "PREFECT_API_URL=http://127.0.0.1:4200/api")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def check_api(url: str, timeout: float = 5.0, *, serving: bool = False) -> None:
    """Fail with the fix if a configured Prefect API does not answer (``serving``: deployments need a
    real server, so the temporary-API fallback is not offered)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout) as resp:
            if resp.status == 200:
                return
    except OSError as exc:
        fix = ("start it in another terminal with `make prefect-ui` (or `prefect server start`), then rerun"
               if serving else "start it with `prefect server start`, or unset PREFECT_API_URL to use a "
               "temporary local API")
        raise UserError(f"Prefect API {url} is unreachable ({getattr(exc, 'reason', exc)})", fix) from None
    raise UserError(f"Prefect API {url} is not healthy", "check the server's log")


def prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect")).expanduser()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
