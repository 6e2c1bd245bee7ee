"""great-expectations suites as code: validate a frame, name every failed expectation and column.

GX is imported here, lazily (3–5 s): only ``prepare`` steps pay for it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from components.core.errors import DataValidationError


def expect(kind: str, **kwargs: Any):
    """An expectation by class name, e.g. ``expect("ExpectColumnValuesToNotBeNull", column="y")``."""
    import great_expectations.expectations as gxe

    return getattr(gxe, kind)(**kwargs)


def validate_frame(frame, expectations: list, suite: str) -> dict:
    """Run ``expectations`` on ``frame``; return the summary, or raise naming each failure."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = ctx.data_sources.add_or_update_pandas(name=f"{suite}-source")
    asset = source.add_dataframe_asset(name=suite)
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(gx.ExpectationSuite(name=suite, expectations=expectations))
    summary = {
        "suite": suite,
        "success": bool(result.success),
        "evaluated": len(result.results),
        "failed": [_failure(r) for r in result.results if not r.success],
    }
    if summary["failed"]:
        listed = "; ".join(f"{f['expectation']}({f['column'] or 'table'})" +
                           (f" e.g. {f['examples']}" if f["examples"] else "") for f in summary["failed"])
        raise DataValidationError(
            f"dataset {suite!r} failed {len(summary['failed'])} of {summary['evaluated']} expectations: {listed}",
            "the data on disk is not what the pipeline expects: check the params that shape it, "
            "or rerun the step that wrote it", failures=summary["failed"])
    return summary


def _failure(res) -> dict:
    cfg = res.expectation_config
    unexpected = (res.result or {}).get("partial_unexpected_list") or []
    observed = (res.result or {}).get("observed_value")
    return {
        "expectation": cfg.type,
        "column": cfg.kwargs.get("column"),
        "examples": [str(v) for v in unexpected[:3]] or ([str(observed)] if observed is not None else []),
    }


VALIDATION_ARTIFACT = "ge_validation.json"


def validate_and_log(ctx, suites, out_dir) -> list[dict]:
    """Validate every ``(suite name, frame, expectations)`` of ``suites`` (an iterable, so frames can be
    built one at a time; or a dict ``name → (frame, expectations)``); write ``ge_validation.json`` into ``out_dir``
    and log it (and the metrics) to the step's run. On a failure the failed suite is logged as
    ``ge_validation_failed.json`` and the error propagates: the staged outputs are never published."""
    from pathlib import Path

    from components.core.io import write_json

    reports = []
    items = ((name, *pair) for name, pair in suites.items()) if isinstance(suites, dict) else suites
    for suite, frame, expectations in items:
        try:
            reports.append(validate_frame(frame, expectations, suite))
        except DataValidationError as exc:
            if ctx.run:
                ctx.run.log_dict({"suite": suite, "failed": exc.failures}, "ge_validation_failed.json")
            raise
    write_json(Path(out_dir) / VALIDATION_ARTIFACT, reports)
    evaluated = sum(r["evaluated"] for r in reports)
    if ctx.run:
        ctx.run.log_dict(reports, VALIDATION_ARTIFACT)
        ctx.run.log_metrics({"ge_suites": len(reports), "ge_expectations_evaluated": evaluated,
                             "ge_expectations_failed": 0})
    return reports
