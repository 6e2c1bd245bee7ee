"""``paperflows`` (also ``python -m flows``): list, run, serve, report.

Exit codes: 0 success, 2 usage/params/input error (one message, no traceback), 1 a failed run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

from components.core.errors import UserError

QUIET_ENV = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",  # failures are reported by the CLI itself
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "ITERATIVE_DO_NOT_TRACK": "1",
    "PYTHONWARNINGS": "ignore",
    "TQDM_MININTERVAL": "1",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
}


def quiet_environment() -> None:
    """Telemetry off, library noise off; an explicit user setting always wins."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    if os.environ.get("PAPERFLOWS_VERBOSE"):
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "INFO"
    warnings.filterwarnings("ignore")


def build_parser() -> argparse.ArgumentParser:
    from flows.registry import PIPELINES

    parser = argparse.ArgumentParser(prog="paperflows", description="Research papers as reproducible pipelines.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="registered pipelines").set_defaults(func=cmd_list)

    run = sub.add_parser("run", help="run a pipeline (or all) through Prefect, tracked in MLflow")
    run.add_argument("slug", help=f"one of {', '.join(PIPELINES)}, or all")
    run.add_argument("--profile", default="default", help="smoke | default | paper (default: default)")
    run.add_argument("--step", action="append", dest="steps", metavar="STEP",
                     help="prepare | train | evaluate | report; repeatable (default: all steps)")
    run.add_argument("--force", action="store_true",
                     help="rerun steps that DVC records as up to date (default-profile runs skip them)")
    run.add_argument("--set", action="append", dest="overrides", default=[], metavar="KEY.PATH=VALUE",
                     help="override a param, e.g. --set whyshift.seed=1 (repeatable)")
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="serve every flow as a Prefect deployment (needs PREFECT_API_URL)")
    serve.add_argument("--limit", type=int, default=1, help="concurrent flow runs (default 1)")
    serve.set_defaults(func=cmd_serve)

    grid = sub.add_parser("grid", help="size of a pipeline's configuration grid")
    grid.add_argument("slug")
    grid.add_argument("--count", action="store_true", help="print the number of configurations (default)")
    grid.add_argument("--profile", default="default", help="smoke | default | paper (default: default)")
    grid.add_argument("--set", action="append", dest="overrides", default=[], metavar="KEY.PATH=VALUE")
    grid.set_defaults(func=cmd_grid)

    sub.add_parser("report", help="rebuild reports/index.html and the README table").set_defaults(func=cmd_report)

    w = sub.add_parser("warm", help="the warm runner behind `paperflows run` (see flows/warm.py)")
    w.add_argument("action", choices=["stop"], help="stop: end this environment's warm runner now")
    w.add_argument("--all", action="store_true", help="stop every warm runner of this user")
    w.set_defaults(func=cmd_warm)

    dvc = sub.add_parser("dvc", help="write dvc.yaml from the step declarations (--check: fail if it differs)")
    dvc.add_argument("--check", action="store_true", help="exit 1 if dvc.yaml is not what the declarations give")
    dvc.set_defaults(func=cmd_dvc)

    stab = sub.add_parser("stability", help="rerun a pipeline's claims under a perturbation; record which "
                                            "verdicts flip in stability/<slug>/verdicts.json")
    stab.add_argument("slug", help="a pipeline whose outputs exist (run it first)")
    stab.add_argument("--profile", default="default", help="the profile its outputs were made with")
    stab.add_argument("--perturb", default="seeds", help="seeds (a disjoint seed block, default) | threads")
    stab.add_argument("--keep", action="store_true", help="keep the scratch copies (printed)")
    stab.set_defaults(func=cmd_stability)
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_environment()
    argv = sys.argv[1:] if argv is None else list(argv)
    from flows import warm

    if warm.enabled(argv):  # a fork of the warm runner: no imports or API start-up to pay again
        code = warm.run_warm(argv)
        if code is not None:
            return code
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except SystemExit as exc:  # argparse usage errors (2) and --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    except UserError as exc:
        print(f"paperflows: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("paperflows: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print("paperflows: the run failed (traceback above)", file=sys.stderr)
        return 1


def cmd_list(args) -> int:
    from flows.registry import PIPELINES, get_pipeline

    for slug in PIPELINES:
        print(f"{slug:20s} {get_pipeline(slug).title}")
    return 0


def cmd_run(args) -> int:
    from components.core.params import load_config
    from components.core.paths import project_root
    from components.core.pipeline import resolve_steps
    from components.core.tracking import Tracker, check_reachable, resolve_uri
    from flows.registry import PIPELINES, get_pipeline

    root = project_root()
    if args.force:
        from components.core.dvcsync import force_reruns

        force_reruns()
    slugs = list(PIPELINES) if args.slug == "all" else [args.slug]
    pipelines = {slug: get_pipeline(slug) for slug in slugs}
    overrides = {slug: overrides_for(slug, slugs, args.overrides) for slug in slugs}
    uris = {}
    for slug, pipeline in pipelines.items():  # every input error before any work
        steps = resolve_steps(pipeline, args.steps)
        cfg = load_config(slug, pipeline.params_model, root, args.profile, overrides[slug])
        uris[slug] = resolve_uri(root, cfg.tracking)
        check_reachable(uris[slug])
        check_dask(cfg.runtime.resolved_dask_address())

    started = time.perf_counter()
    summaries, failed = [], []
    with PrefectAPI() as api:
        from flows.registry import get_flow

        # while the API starts: import the flows and create the MLflow store and experiments
        # (first use runs migrations; doing it once here also avoids races between processes)
        flows = {slug: get_flow(slug) for slug in slugs}
        for slug, uri in uris.items():
            Tracker(uri, slug, artifact_root=root / "mlartifacts")
        api.wait()
        from prefect import tags

        for slug, flow in flows.items():
            try:
                with tags("paperflows", slug, f"profile:{args.profile}"):
                    summaries.append(flow(profile=args.profile, steps=args.steps or [], overrides=overrides[slug]))
            except UserError:
                raise
            except Exception:
                if len(slugs) == 1:
                    raise
                traceback.print_exc()
                failed.append(slug)
    _print_summary(root, summaries, time.perf_counter() - started, index=not args.steps or "report" in args.steps)
    if failed:
        print(f"paperflows: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def overrides_for(slug: str, slugs: list[str], overrides: list[str]) -> list[str]:
    """The ``--set`` items that apply to ``slug`` (``run all`` passes each pipeline its own)."""
    shared = ("tracking", "runtime")
    for item in overrides:
        head = item.split(".", 1)[0]
        if head not in (*slugs, *shared):
            raise UserError(f"--set {item}: {head!r} is not one of the pipelines being run",
                            f"keys start with one of: {', '.join((*slugs, *shared))}")
    return [o for o in overrides if o.split(".", 1)[0] in (slug, *shared)]


def check_dask(address: str | None) -> None:
    """A configured Dask scheduler must answer, and remote workers need a Prefect API they can reach."""
    if not address:
        return
    from urllib.parse import urlparse

    host = urlparse(address if "://" in address else f"tcp://{address}").hostname or ""
    api = os.environ.get("PREFECT_API_URL", "")
    if host not in ("127.0.0.1", "localhost", "::1") and (not api or "127.0.0.1" in api or "localhost" in api):
        raise UserError(f"Dask scheduler {address} is remote, but its workers cannot reach a loopback Prefect API",
                        "start `prefect server start --host 0.0.0.0` on a reachable host and export "
                        "PREFECT_API_URL=http://<host>:4200/api")
    from distributed import Client

    try:
        Client(address, timeout=10).close()
    except OSError as exc:
        raise UserError(f"Dask scheduler {address} is unreachable ({exc})",
                        "start it (`dask scheduler`) or unset runtime.dask_address / PAPERFLOWS_DASK_ADDRESS") from None


class PrefectAPI:
    """The configured Prefect API if ``PREFECT_API_URL`` is set, else one temporary local server.

    Entering starts the server without waiting, so it boots while the caller imports the flows;
    ``wait()`` blocks until it answers. ``PREFECT_API_URL`` is exported before Prefect is imported,
    so this process and every worker it spawns use this one API.
    """

    def __enter__(self) -> "PrefectAPI":
        from flows._api import LocalPrefectAPI, check_api, prefect_home

        self.server = None
        url = os.environ.get("PREFECT_API_URL")
        if url:
            check_api(url)
        else:
            self.server = LocalPrefectAPI(prefect_home() / "paperflows-api.log").start()
            os.environ["PREFECT_API_URL"] = self.server.url
        return self

    def wait(self) -> None:
        if self.server is not None:
            self.server.wait()

    def __exit__(self, *exc) -> bool:
        if self.server is not None:
            _drain_prefect_workers()  # queued logs/events would otherwise retry ~60 s against a stopped API
            self.server.stop()
            os.environ.pop("PREFECT_API_URL", None)
        return False


def _drain_prefect_workers() -> None:
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=10)
        except Exception:
            pass


def mlflow_run_link(ui: str, experiment_id: str, run_id: str) -> str:
    """A link that opens the run in MLflow's "Model training" view: MLflow 3's UI opens every experiment in its
    GenAI view (a browser-wide toggle, whatever the experiment's kind) unless the link says otherwise."""
    return f"{ui.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"


def _print_summary(root: Path, summaries: list[dict], seconds: float, index: bool) -> None:
    root = Path(summaries[0]["output_root"]) if summaries else root  # runs/<profile…>/ for other params
    if index:
        from components.core.index import build_index
        from flows.registry import PIPELINES, get_pipeline

        build_index(root, {s: get_pipeline(s).title for s in PIPELINES}, update_readme=False)
    for s in summaries:
        steps = " · ".join([f"{k} {v:.1f}s" for k, v in s["seconds"].items()]
                           + [f"{k} up to date" for k in s.get("up_to_date", [])])
        recorded = " (recorded in dvc.lock)" if s.get("dvc_recorded") and s["seconds"] else ""
        print(f"{s['slug']} ({s['profile']}): {steps}{recorded}")
        report = Path(s["reports"]) / "report.html"
        if report.exists():
            print(f"  report: {report}")
    uri = summaries[0]["tracking_uri"] if summaries else ""
    print(f"done in {seconds:.1f}s")
    if index:
        print(f"reports index: {root / 'reports' / 'index.html'}")
    print(f"MLflow store:  {uri}")
    if uri.startswith("sqlite:"):
        print(f"MLflow UI:     MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false .venv/bin/mlflow ui "
              f"--backend-store-uri {uri} --host 127.0.0.1 --port 5000   (or: make mlflow-ui)")
        for s in summaries:
            print(f"  {s['slug']}: {mlflow_run_link('http://127.0.0.1:5000', s['experiment_id'], s['run_id'])}")
    elif uri.startswith("http"):
        for s in summaries:
            print(f"MLflow {s['slug']}: {mlflow_run_link(uri, s['experiment_id'], s['run_id'])}")
    print("Prefect UI:    .venv/bin/prefect server start --host 127.0.0.1 --port 4200   (or: make prefect-ui)")


def cmd_serve(args) -> int:
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        raise UserError("`paperflows serve` needs a Prefect server (deployments cannot run on a temporary API)",
                        "run `prefect server start` and export PREFECT_API_URL=http://127.0.0.1:4200/api")
    from flows._api import check_api

    check_api(url, serving=True)
    from flows.serve import serve_all

    serve_all(limit=args.limit)
    return 0


def cmd_grid(args) -> int:
    """Print the grid size, then the count per method (stderr), without running anything."""
    from collections import Counter

    from components.core.params import load_config
    from components.core.paths import project_root
    from flows.registry import get_pipeline

    pipeline = get_pipeline(args.slug)
    cfg = load_config(args.slug, pipeline.params_model, project_root(), args.profile, args.overrides)
    configs = pipeline.expand_grid(cfg.params)
    print(len(configs))
    per_method = Counter(c.get("method", "-") for c in configs)
    settings = len({c.get("setting_id") for c in configs})
    print(f"{args.slug} ({args.profile}): {settings} settings × per-method counts "
          + ", ".join(f"{m} {n // max(settings, 1)}" for m, n in per_method.items()), file=sys.stderr)
    return 0


def cmd_report(args) -> int:
    from components.core.index import build_index
    from components.core.paths import project_root
    from flows.registry import PIPELINES, get_pipeline

    root = project_root()
    path = build_index(root, {s: get_pipeline(s).title for s in PIPELINES})
    print(f"wrote {path} and the README's pipelines table")
    return 0


def cmd_warm(args) -> int:
    from flows.warm import key, stop_all

    print(f"stopped {stop_all() if args.all else stop_all(only_key=key())} warm runner(s)")
    return 0


def cmd_dvc(args) -> int:
    from components.core.dvcgen import render
    from components.core.io import write_text
    from components.core.paths import project_root
    from flows.registry import PIPELINES, get_pipeline

    root = project_root()
    text = render([get_pipeline(s) for s in PIPELINES], root)
    path = root / "dvc.yaml"
    if args.check:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            print("dvc.yaml differs from the step declarations: run `paperflows dvc` and commit it", file=sys.stderr)
            return 1
        print("dvc.yaml matches the step declarations")
        return 0
    write_text(path, text)
    print(f"wrote {path} ({text.count('cmd:')} stages)")
    return 0


def cmd_stability(args) -> int:
    from components.core.params import load_config
    from components.core.paths import project_root
    from components.core.stability import run_check
    from flows.registry import get_pipeline

    root = project_root()
    pipeline = get_pipeline(args.slug)
    seed = load_config(args.slug, pipeline.params_model, root, args.profile).params.seed
    started = time.perf_counter()
    result = run_check(root, args.slug, args.profile, args.perturb, seed, keep=args.keep)
    for r in result["rows"]:
        mark = "FLIPS" if r["flipped"] else "holds"
        print(f"{r['id']:>12s}  {mark}  {r['baseline']} → {r['perturbed']}")
    print(f"{len(result['flipped'])} of {len(result['rows'])} verdicts flipped under {result['perturbation']} "
          f"({time.perf_counter() - started:.0f} s); wrote stability/{args.slug}/verdicts.json")
    print(f"apply it to the report: paperflows dvc (a new stability file becomes a dep of the report stage), "
          f"then paperflows run {args.slug} --profile {args.profile} --step report --force")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
