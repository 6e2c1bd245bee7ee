"""A warm runner for ``paperflows run``: one long-lived process per environment that has already imported
the platform stack (Prefect, MLflow, pandas, …) and holds the local Prefect API; each invocation is a
``fork`` of it, so a run pays neither the imports nor the API start-up again.

Why: those imports and the API start cost 5–10 s per invocation — paid by every `paperflows run` and by
each of the ~20 DVC stages of a `dvc repro` — against steps of seconds to minutes. Each run still is its
own process with its own Prefect flow run, tasks and MLflow runs; only start-up work is shared.

Safety: the daemon imports third-party packages only, never this project's code, so every run imports
``components``/``flows.cli`` afresh from disk (edits take effect at once). It is keyed by the Python
executable, the installed packages (site-packages' mtime), this file and every PREFECT_/MLFLOW_/
PAPERFLOWS_ setting, so another environment gets another daemon; it exits after
``PAPERFLOWS_WARM_IDLE`` seconds (default 600) without runs. ``PAPERFLOWS_WARM=0`` runs in-process.
``paperflows warm stop`` stops this environment's daemon.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import traceback
from pathlib import Path

# what a preloaded process has already read from its environment (settings, thread pools, hash seed, path)
ENV_PREFIXES = ("PREFECT_", "MLFLOW_", "PAPERFLOWS_", "DO_NOT_TRACK", "PYTHON", "OMP_", "MKL_", "OPENBLAS_")
NOT_KEYED = ("PAPERFLOWS_WARM", "PAPERFLOWS_ROOT")
PRELOAD = ("prefect", "prefect.flow_engine", "prefect.task_engine", "prefect.task_runners", "prefect.artifacts",
           "mlflow", "mlflow.store.tracking.sqlalchemy_store", "pandas", "pyarrow.parquet", "yaml", "pydantic")
START_TIMEOUT = 240.0


def enabled(argv: list[str]) -> bool:
    return argv[:1] == ["run"] and os.environ.get("PAPERFLOWS_WARM", "1") != "0" and hasattr(os, "fork")


def key(env: dict[str, str] | None = None) -> str:
    env = dict(os.environ if env is None else env)
    keyed = {k: v for k, v in env.items() if k.startswith(ENV_PREFIXES) and not k.startswith(NOT_KEYED)}
    site = Path(sysconfig.get_paths()["purelib"])
    installed = sorted(p.name for p in site.glob("*.dist-info"))  # names carry versions: changes on (un)install
    payload = {"python": sys.executable, "site": installed,
               "code": hashlib.sha1(Path(__file__).read_bytes()).hexdigest(), "env": keyed}
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def home() -> Path:
    path = Path(tempfile.gettempdir()) / f"paperflows-warm-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


# ---------------------------------------------------------------- client

def run_warm(argv: list[str]) -> int | None:
    """Run ``paperflows <argv>`` in a fork of this environment's daemon; ``None`` if no daemon could serve."""
    k = key()
    sock = _connect(home() / f"{k}.sock")
    if sock is None:
        sock = _start_daemon(k)
        if sock is None:
            return None
    with sock:
        request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
        socket.send_fds(sock, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        reader = sock.makefile("r")
        first = reader.readline()
        if not first:
            return None
        pid = json.loads(first)["pid"]
        previous = {s: signal.signal(s, lambda signum, _f: _forward(pid, signum)) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            line = reader.readline()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        if not line:
            print("paperflows: the warm runner went away during the run (stopped or killed); run the command "
                  "again, or with PAPERFLOWS_WARM=0 to run it in this process", file=sys.stderr)
            return 1
        return json.loads(line)["exit"]


def stop_all(prefect_home: str | None = None, only_key: str | None = None) -> int:
    """Stop this user's warm runners: all, those serving ``prefect_home``, or the one of ``only_key``."""
    stopped = 0
    for path in home().glob("*.sock"):
        if only_key is not None and path.stem != only_key:
            continue
        meta = path.with_suffix(".json")
        if prefect_home is not None and (not meta.exists() or
                                         json.loads(meta.read_text()).get("prefect_home") != prefect_home):
            continue
        sock = _connect(path)
        if sock is not None:
            with sock:
                sock.sendall(b'{"stop": true}\n')
                sock.makefile("r").readline()
            stopped += 1
    return stopped


def _forward(pid: int, signum: int) -> None:
    """Signal a run's whole process group (its task-runner workers too: a killed run must not leave
    orphaned workers training on); a run not yet in its own group gets the signal alone."""
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _connect(path: Path) -> socket.socket | None:
    if not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
        return sock
    except OSError:
        sock.close()
        return None


def _start_daemon(k: str) -> socket.socket | None:
    """Start the daemon (one at a time per key, under a lock) and wait until it listens."""
    import fcntl

    base = home()
    with open(base / f"{k}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sock = _connect(base / f"{k}.sock")
        if sock is not None:
            return sock
        with contextlib.suppress(FileNotFoundError):
            (base / f"{k}.sock").unlink()
        log = open(base / f"{k}.log", "ab")  # appended: an earlier runner's last words stay readable
        proc = subprocess.Popen([sys.executable, "-m", "flows.warm", k], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, env=dict(os.environ), cwd="/")
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            sock = _connect(base / f"{k}.sock")
            if sock is not None:
                return sock
            time.sleep(0.05)
        return None


# ---------------------------------------------------------------- daemon

def serve(k: str) -> None:
    """Start the Prefect API (unless one is configured), preload, listen; fork one child per run."""
    base = home()
    path = base / f"{k}.sock"
    if sys.path and sys.path[0] in ("", "/", os.getcwd()):
        sys.path.pop(0)  # like the `paperflows` script: no cwd on the path (project code comes from the install)
    threads = os.environ.get("PAPERFLOWS_THREADS", "1")
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, threads)  # BLAS reads these once, when numpy loads here
    api = None
    if not os.environ.get("PREFECT_API_URL"):
        from flows._api import LocalPrefectAPI

        api = LocalPrefectAPI(base / f"{k}.api.log").start()  # boots while we import
        os.environ["PREFECT_API_URL"] = api.url
    try:
        for name in PRELOAD:
            __import__(name)
        if api is not None:
            api.wait()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(16)
        path.with_suffix(".json").write_text(json.dumps({"pid": os.getpid(),
                                                         "prefect_home": os.environ.get("PREFECT_HOME")}))
        _loop(listener, float(os.environ.get("PAPERFLOWS_WARM_IDLE", "600")), api)
    finally:
        for leftover in (path, path.with_suffix(".json")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        if api is not None:
            api.stop()


def _loop(listener: socket.socket, idle: float, api) -> None:
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    last = time.monotonic()
    while True:
        for selected, _ in sel.select(timeout=0.05):
            if selected.fileobj is listener:
                conn, _ = listener.accept()
                try:
                    request, fds = _receive(conn)
                except (OSError, ValueError):  # a malformed request must not end the runs in flight
                    traceback.print_exc()
                    conn.close()
                    continue
                if request.get("stop"):
                    conn.sendall(b'{"stopped": true}\n')
                    conn.close()
                    for pid in children:
                        _forward(pid, signal.SIGTERM)
                    return
                if api is not None and (api.process is None or api.process.poll() is not None):
                    print("the local Prefect API had stopped: starting it again", flush=True)
                    api.start().wait()  # a new one on the same port
                pid = os.fork()
                if pid == 0:
                    _child(request, fds, listener, conn)  # never returns
                for fd in fds:
                    os.close(fd)
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                children[pid] = conn
                sel.register(conn, selectors.EVENT_READ, pid)
            else:  # a client went away (killed): stop its run
                pid = selected.data
                if not selected.fileobj.recv(1):
                    _forward(pid, signal.SIGTERM)
                    sel.unregister(selected.fileobj)
        for pid in list(children):  # only our runs: the API server is a child too, and not ours to reap here
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == 0:
                continue
            conn = children.pop(pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)  # workers left behind by a run that was killed
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(conn)
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
            conn.close()
            last = time.monotonic()
        if not children and time.monotonic() - last > idle:
            return


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    """One request: a JSON line (read to its end, however the stream splits it) and the client's 3 fds."""
    msg, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    while not msg.endswith(b"\n"):
        more = conn.recv(1 << 20)
        if not more:
            raise ValueError("request ended early")
        msg += more
    return json.loads(msg.decode()), list(fds)


def _child(request: dict, fds: list[int], listener: socket.socket, conn: socket.socket) -> None:
    code = 1
    try:
        os.setpgid(0, 0)  # the run and its worker processes form one group: a stop reaches them all
        listener.close()
        conn.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL)
        api = os.environ.get("PREFECT_API_URL")
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if api and "PREFECT_API_URL" not in os.environ:
            os.environ["PREFECT_API_URL"] = api  # the daemon's local API
        os.environ["PAPERFLOWS_WARM"] = "0"  # this process runs the command itself
        for name in [m for m in sys.modules if m.split(".")[0] in ("components", "flows") and m != "flows.warm"]:
            del sys.modules[name]  # the project's code is imported afresh from disk by every run
        from flows.cli import _drain_prefect_workers, main

        try:
            code = main(request["argv"])
        finally:
            _drain_prefect_workers()  # queued logs/events reach the API before the process ends
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    serve(sys.argv[1])
