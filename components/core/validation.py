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
