"""Registered pipelines: slug → the module defining its ``PIPELINE`` (cheap to import)."""

from __future__ import annotations

import importlib

from components.core.errors import UserError

PIPELINES = {
    "whyshift": "components.whyshift.pipeline",
    "soul": "components.soul.pipeline",
    "physics_gnn": "components.physics_gnn.pipeline",
    "causality": "components.causality.pipeline",
    "grammar": "components.grammar.pipeline",
    "mi_generalization": "components.mi_generalization.pipeline",
    "moveint": "components.moveint.pipeline",
    "solver_choice": "components.solver_choice.pipeline",
    "clustermim": "components.clustermim.pipeline",
    "sciie": "components.sciie.pipeline",
    "intrinsic_avatar": "components.intrinsic_avatar.pipeline",
}


def get_pipeline(slug: str):
    if slug not in PIPELINES:
        raise UserError(f"unknown pipeline {slug!r}", f"use one of: {', '.join(PIPELINES)} (or `all`)")
    return importlib.import_module(PIPELINES[slug]).PIPELINE


def get_flow(slug: str):
    """The Prefect ``@flow`` of ``slug`` (imports Prefect); its runs are named ``<slug> · <profile>`` by the
    decorator itself, so deployment runs (loaded from the entrypoint) carry the same names."""
    get_pipeline(slug)
    return getattr(importlib.import_module(f"flows.{slug}"), slug)
