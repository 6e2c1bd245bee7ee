"""A pipeline declared once: steps with what they read, write and depend on; one runner for every entry point.

Each paper's ``pipeline.py`` lists its :class:`Step` declarations in order, like a Kedro pipeline.
From that one declaration come the Prefect flow's tasks, the missing-input checks, the atomic
(staged) writes, the MLflow artifacts and the DVC stages (``paperflows dvc``). Declared paths are
``data/<rel>`` or ``reports/<rel>``, i.e. under ``data/<slug>/`` and ``reports/<slug>/`` (and the committed
``stability/<slug>/verdicts.json`` the report step reads).

Nothing here imports Prefect: the Prefect adapter wraps :meth:`PipelineRun.step` in a task.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from components.core.claims import count_metrics, read_claims
from components.core.dvcsync import DvcSync
from components.core.errors import MissingInputError, UserError
from components.core.execution import (Executor, LocalExecutor, limit_threads, plan_batches, progress, run_batch,
                                       set_runtime)
from components.core.index import record_step
from components.core.params import RunConfig, RuntimeParams, StrictModel, load_config
from components.core.paths import Paths, is_canonical, output_root, project_root
from components.core.seeding import seed_everything
from components.core.tracking import TrackedRun, Tracker, check_reachable, git_state, resolve_uri

REPORT_WRITES = {"report_md": "reports/report.md", "report_html": "reports/report.html",
                 "figures": "reports/figures", "claims": "reports/claims.json", "metrics": "reports/metrics.json"}
REPORT_METRICS = {"headline": "reports/headline.json"}  # `dvc metrics show`: claim counts + a few headline numbers
STABILITY_FILE = "stability/verdicts.json"  # committed (not a DVC out); written by `paperflows stability <slug>`


@dataclass(frozen=True)
class Plot:
    """A curve the report step writes as ``reports/<slug>/plots/<name>.csv`` (one row per point) and DVC renders
    (``dvc plots show`` / ``dvc plots diff``): ``x`` and ``y`` are CSV columns; ``template`` is a DVC template
    (linear, scatter, smooth, bar_horizontal, ...)."""

    name: str
    x: str
    y: str
    title: str
    template: str = "linear"
    x_label: str = ""
    y_label: str = ""

    @property
    def path(self) -> str:
        return f"reports/plots/{self.name}.csv"

    @property
    def output(self) -> str:
        return f"plot:{self.name}"

    def dvc_props(self) -> dict[str, str]:
        return {"x": self.x, "y": self.y, "title": self.title, "template": self.template,
                "x_label": self.x_label or self.x, "y_label": self.y_label or self.y}


@dataclass(frozen=True)
class Step:
    """One step: a plain function of a :class:`StepContext`, and everything it touches.

    ``reads``/``writes``/``metrics`` map names (``ctx.inputs[name]``, ``ctx.outputs[name]``) to
    declared paths; ``metrics`` are outputs that DVC treats as metrics files; ``params`` are keys
    under the slug's params block (DVC params of the stage); ``artifacts`` name outputs also logged
    to the pipeline's parent MLflow run. The code the step depends on is derived from its imports.
    """

    func: Callable[["StepContext"], None]
    reads: dict[str, str] = field(default_factory=dict)
    writes: dict[str, str] = field(default_factory=dict)
    params: tuple[str, ...] = ()
    metrics: dict[str, str] = field(default_factory=dict)
    artifacts: tuple[str, ...] = ()
    optional_reads: dict[str, str] = field(default_factory=dict)  # used when present (e.g. stability.json)
    plots: tuple[Plot, ...] = ()  # DVC plots written by this step (``ctx.outputs["plot:<name>"]``)

    def __post_init__(self) -> None:
        for name in ("params", "artifacts"):  # ("seed") is a string, not a tuple: DVC would get s, e, d
            if isinstance(getattr(self, name), str):
                raise TypeError(f"Step {self.func.__name__}: {name} must be a tuple of strings, e.g. ('seed',)")

    @property
    def name(self) -> str:
        return self.func.__name__

    @classmethod
    def report(cls, func: Callable[["StepContext"], None], reads: dict[str, str],
               params: tuple[str, ...] = (), plots: tuple[Plot, ...] = ()) -> "Step":
        """The report step: the standard report/claims/metrics outputs, the paper's DVC plots and the optional
        stability file."""
        return cls(func, reads=reads, writes=dict(REPORT_WRITES), params=params, metrics=dict(REPORT_METRICS),
                   optional_reads={"stability": STABILITY_FILE}, plots=tuple(plots))

    @property
    def outputs(self) -> dict[str, str]:
        return {**self.writes, **self.metrics, **{p.output: p.path for p in self.plots}}


@dataclass(frozen=True)
class Pipeline:
    slug: str
    title: str
    params_model: type[StrictModel]
    steps: tuple[Step, ...]
    grid: Callable[[Any], list[dict]] | None = None  # params → the list of grid configs (`paperflows grid`)

    def __post_init__(self) -> None:
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.slug}: duplicate step names {names}")
        produced: dict[str, str] = {}
        for s in self.steps:
            for path in s.reads.values():
                if not any(_covers(out, path) for out in produced):
                    raise ValueError(f"{self.slug}-{s.name} reads {path}, which no earlier step writes")
            produced.update({p: s.name for p in s.outputs.values()})

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise UserError(f"{self.slug} has no step {name!r}", f"use one of: {', '.join(self.step_names)}")

    def producer(self, path: str) -> str | None:
        """The step whose declared output holds ``path``."""
        for s in self.steps:
            if any(_covers(out, path) for out in s.outputs.values()):
                return s.name
        return None

    def resolve(self, root: Path, declared: str) -> Path:
        return resolve_path(root, self.slug, declared)

    def expand_grid(self, params) -> list[dict]:
        if self.grid is None:
            raise UserError(f"{self.slug} has no configuration grid", "grids exist for: whyshift")
        return self.grid(params)


ROOTS = ("data", "reports", "stability")  # step outputs, reports, committed stability checks: each per slug


def resolve_path(root: Path, slug: str, declared: str) -> Path:
    head, _, rel = declared.partition("/")
    if head not in ROOTS or not rel:
        raise ValueError(f"declared path {declared!r} must start with one of {', '.join(r + '/' for r in ROOTS)}")
    return root / head / slug / rel


def _covers(out: str, path: str) -> bool:
    return path == out or path.startswith(out.rstrip("/") + "/")


def say(line: str, sink: Callable[[str], None] | None = None) -> None:
    """A progress line: on stderr for the terminal, and to ``sink`` (the orchestrator's run log) if given."""
    print(line, file=sys.stderr, flush=True)
    if sink is not None:
        sink(line)


@dataclass
class StepContext:
    """What a step gets: validated params, declared inputs/outputs, a seed, its MLflow run and fan-out."""

    slug: str
    step: str
    profile: str
    params: Any
    runtime: RuntimeParams
    paths: Paths
    seed: int
    run: TrackedRun | None
    executor: Executor
    inputs: dict[str, Path] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)  # staged: published only when the step succeeds
    timings: dict[str, float] = field(default_factory=dict)
    plots: dict[str, Plot] = field(default_factory=dict)  # the step's declared DVC plots, by name
    sink: Callable[[str], None] | None = None  # where else progress lines go (the Prefect run's log)

    def log(self, message: str) -> None:
        say(f"[{self.slug} {self.step}] {message}", self.sink)

    def progress(self, items: Iterable, desc: str, total: int | None = None) -> Iterable:
        return progress(items, f"[{self.slug} {self.step}] {desc}", total)

    def fan_out(self, fn: Callable[[list], list], items: Sequence, desc: str, *,
                cost: Callable[[Any], float] | None = None, key: Callable[[Any], Any] | None = None) -> list:
        """Run ``fn`` (module-level; a list of items → one result per item) over batches of ``items``.

        Batches follow ``runtime.batch_size`` (default: about four batches per worker), balanced by
        ``cost`` and never mixing items of different ``key``; one task per batch on the executor.
        Results come back in the order of ``items``.
        """
        items = list(items)
        if not items:
            return []
        plan = plan_batches(len(items), self.runtime.batch_size, self.runtime.workers,
                            cost=[float(cost(i)) for i in items] if cost else None,
                            keys=[key(i) for i in items] if key else None)
        call = run_batch(fn, self.runtime)
        outs = self.executor.map(call, [[items[i] for i in idx] for idx in plan], desc)
        results: list = [None] * len(items)
        for idx, out in zip(plan, outs):
            if len(out) != len(idx):
                raise RuntimeError(f"{fn.__name__} returned {len(out)} results for a batch of {len(idx)} items")
            for i, r in zip(idx, out):
                results[i] = r
        return results


class PipelineRun:
    """One execution of (some steps of) a pipeline: params, one parent MLflow run, a nested run per step.

    ``with PipelineRun(...) as run: run.step(s) ...``; the CLI, Prefect flows, DVC stages and
    notebooks all go through it. ``call_step(name, thunk)`` lets an orchestrator wrap each step.
    """

    def __init__(self, pipeline: Pipeline, profile: str = "default", steps: Iterable[str] | None = None,
                 overrides: Iterable[str] = (), *, root: Path | None = None,
                 call_step: Callable[[str, Callable[[], None]], None] | None = None,
                 executor: Callable[[RunConfig], Executor] | None = None, tags: dict[str, str] | None = None,
                 force: bool = False, sink: Callable[[str], None] | None = None):
        self.pipeline = pipeline
        self.profile = profile
        self.root = root or project_root()
        self.selected = resolve_steps(pipeline, steps)
        self.cfg = load_config(pipeline.slug, pipeline.params_model, self.root, profile, list(overrides))
        self.call_step = call_step or (lambda _name, thunk: thunk())
        self.make_executor = executor or (lambda c: LocalExecutor(c.runtime.workers))
        self.extra_tags = tags or {}
        self.overrides = list(overrides)
        self.out_root = output_root(self.root, profile, self.overrides)
        self.paths = Paths(self.out_root, pipeline.slug)
        self.dvc = DvcSync(self.root, canonical=is_canonical(profile, self.overrides))
        self.force = force
        self.sink = sink
        self.summary: dict = {}
        self._ran: list[str] = []

    def _at(self, declared: str) -> Path:
        """A declared path of this run: outputs under its output root, the committed stability file in the project."""
        return self.pipeline.resolve(self.root if declared.startswith("stability/") else self.out_root, declared)

    @property
    def title(self) -> str:
        """``whyshift · default`` (+ ``· report`` for a subset of steps, ``· seed=3`` for overrides): the parent
        run's name, so profile and purpose show in MLflow's run list."""
        parts = [self.pipeline.slug, self.profile]
        if self.selected != list(self.pipeline.step_names):
            parts.append("+".join(self.selected))
        params = [o.split(".", 1)[1] for o in self.overrides if o.split(".", 1)[0] == self.pipeline.slug]
        if params:
            shown = ", ".join(params)
            parts.append(shown if len(shown) <= 60 else shown[:57] + "...")
        return " · ".join(parts)

    def __enter__(self) -> "PipelineRun":
        slug = self.pipeline.slug
        uri = resolve_uri(self.root, self.cfg.tracking)
        check_reachable(uri)
        limit_threads()
        self.tracker = Tracker(uri, slug, artifact_root=self.root / "mlartifacts")
        commit, dirty = git_state(self.root)
        outputs = str(self.out_root.relative_to(self.root)) if self.out_root != self.root else "."
        self.base_tags = {"git_commit": commit, "git_dirty": dirty, "profile": self.profile,
                          "prefect_flow_run_id": "none", "outputs": outputs, **self.extra_tags}
        if self.out_root != self.root:
            say(f"[{slug}] not the project's own params (profile {self.profile}"
                f"{', overrides' if outputs != f'runs/{self.profile}' else ''}): outputs go to {outputs}/data/{slug} "
                f"and {outputs}/reports/{slug}; the DVC-tracked data/ and reports/ are untouched", self.sink)
        self.parent = self.tracker.start_run(self.title, {**self.base_tags, "step": ",".join(self.selected),
                                                    "dvc_stage": os.environ.get("DVC_STAGE", "none")})
        self.parent.log_params({**self.cfg.raw, "profile": self.profile, "steps": ",".join(self.selected)})
        self._exported_uri = os.environ.get("MLFLOW_TRACKING_URI")  # Lightning's MLFlowLogger exports it
        self.summary = {"slug": slug, "profile": self.profile, "steps": self.selected, "run_id": self.parent.run_id,
                        "experiment_id": self.parent.experiment_id, "tracking_uri": uri,
                        "reports": str(self.paths.reports), "output_root": str(self.out_root),
                        "seconds": {}, "up_to_date": [],
                        "dvc_recorded": self.dvc.enabled}
        return self

    def step(self, step: Step) -> None:
        """Run ``step`` if it was selected: check inputs, stage outputs, track, publish on success."""
        if step.name not in self.selected:
            return
        self._ran.append(step.name)
        stage_name = f"{self.pipeline.slug}-{step.name}"
        if not self.force and self.dvc.up_to_date(stage_name):
            self.summary["up_to_date"].append(step.name)
            say(f"[{self.pipeline.slug} {step.name}] up to date with dvc.lock (same code, params and inputs): "
                "skipped — `--force` reruns it", self.sink)
            return
        inputs = {n: self._at(p) for n, p in step.reads.items()}
        self._require(step, inputs)
        inputs.update({n: path for n, p in step.optional_reads.items()
                       if (path := self._at(p)).exists()})
        stage = self.paths.data / ".staging" / f"{step.name}-{os.getpid()}"
        shutil.rmtree(stage, ignore_errors=True)
        outputs = {n: resolve_path(stage, self.pipeline.slug, p) for n, p in step.outputs.items()}
        for n, p in step.outputs.items():
            (outputs[n] if _is_dir_decl(p) else outputs[n].parent).mkdir(parents=True, exist_ok=True)
        child = self.tracker.start_run(step.name, {**self.base_tags, "step": step.name,
                                                   "dvc_stage": f"{self.pipeline.slug}-{step.name}"},
                                       parent=self.parent)
        ctx = StepContext(self.pipeline.slug, step.name, self.profile, self.cfg.params, self.cfg.runtime,
                          self.paths, self.cfg.params.seed, child, self.make_executor(self.cfg), inputs, outputs,
                          plots={pl.name: pl for pl in step.plots}, sink=self.sink)
        start = time.perf_counter()

        def thunk() -> None:
            limit_threads()
            set_runtime(self.cfg.runtime)
            seed_everything(ctx.seed)
            step.func(ctx)

        try:
            self.call_step(step.name, thunk)
            self._publish(step, stage)
        except BaseException as exc:
            child.finish("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
            raise
        finally:
            shutil.rmtree(stage, ignore_errors=True)
            self._restore_uri()
        seconds = time.perf_counter() - start
        self.summary["seconds"][step.name] = seconds
        child.log_metrics({"step_seconds": seconds, **ctx.timings})
        record_step(self.paths.data, step.name, self.profile, seconds, child.run_id, int(ctx.timings.get("reused", 0)))
        child.finish()
        self._log_artifacts(step)
        self.dvc.commit(stage_name)

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._restore_uri()
        skipped = [s for s in self.selected if s not in self._ran]
        if exc_type is None and skipped:
            self.parent.finish("FAILED")
            raise RuntimeError(f"{self.pipeline.slug}: selected steps never ran: {skipped} (the flow must "
                               "call run.step for every declared step)")
        if exc_type is None:
            self.parent.log_metrics({f"seconds_{s}": v for s, v in self.summary["seconds"].items()})
            self.parent.finish()
        else:
            self.parent.finish("KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED")
        return False

    def _require(self, step: Step, inputs: dict[str, Path]) -> None:
        missing = [(n, p) for n, p in inputs.items() if not p.exists()]
        if not missing:
            return
        shown = ", ".join(str(p.relative_to(self.root)) for _, p in missing)
        producer = self.pipeline.producer(step.reads[missing[0][0]])
        if self.out_root == self.root:
            fix = (f"run `paperflows run {self.pipeline.slug} --step {producer}` "
                   f"(or `dvc repro {self.pipeline.slug}-{producer}`) first")
        else:  # the same profile and overrides write the same folder
            same = "".join(f" --set {o}" for o in self.overrides)
            fix = (f"run `paperflows run {self.pipeline.slug} --profile {self.profile} --step {producer}{same}` "
                   "first")
        raise MissingInputError(f"missing upstream output: {shown}", fix)

    def _publish(self, step: Step, stage: Path) -> None:
        """Move every staged output into place; a declared output the step did not write is a bug."""
        pairs = [(resolve_path(stage, self.pipeline.slug, p), self._at(p), p)
                 for p in step.outputs.values()]
        absent = [decl for src, _, decl in pairs if not src.exists()]
        if absent:
            raise RuntimeError(f"{self.pipeline.slug}-{step.name} did not write its declared outputs: {absent}")
        for src, dst, _ in pairs:
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
                if dst.exists():
                    os.replace(dst, old)
                os.replace(src, dst)
                shutil.rmtree(old, ignore_errors=True)
            else:
                if dst.is_dir():
                    shutil.rmtree(dst)
                os.replace(src, dst)

    def _log_artifacts(self, step: Step) -> None:
        if step.metrics and self.paths.reports.exists():  # the report step: the whole report folder
            for item in sorted(self.paths.reports.iterdir()):  # not DVC's .gitignore
                if not item.name.startswith("."):
                    self.parent.log_artifact(item, f"report/{item.name}" if item.is_dir() else "report")
            claims = self._at(REPORT_WRITES["claims"])
            if claims.exists():  # the verdict counts on the parent run, comparable across runs
                self.parent.log_metrics(count_metrics(read_claims(claims)))
        for name in step.artifacts:
            path = self._at(step.outputs[name])
            if path.exists():
                self.parent.log_artifact(path, "data")

    def _restore_uri(self) -> None:
        if self._exported_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = self._exported_uri


def _is_dir_decl(declared: str) -> bool:
    """A declared output without a file suffix is a directory the step fills."""
    return "." not in Path(declared).name


def resolve_steps(pipeline: Pipeline, steps: Iterable[str] | None) -> list[str]:
    names = pipeline.step_names
    if not steps:
        return list(names)
    unknown = [s for s in steps if s not in names]
    if unknown:
        raise UserError(f"unknown step {unknown[0]!r}", f"use one of: {', '.join(names)}")
    return [s for s in names if s in set(steps)]


def run_pipeline(pipeline: Pipeline, profile: str = "default", steps: Iterable[str] | None = None,
                 overrides: Iterable[str] = (), **kwargs) -> dict:
    """Run the selected steps in declared order (plain calls: notebooks, tests, DVC without Prefect)."""
    with PipelineRun(pipeline, profile, steps, overrides, **kwargs) as run:
        for step in pipeline.steps:
            run.step(step)
    return run.summary
