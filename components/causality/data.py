"""Prepared-data layout on disk and the great-expectations suite of every dataset.

``prepared/effects/<dataset>/rep<k>.parquet`` (``unit_id, split, t, y, x_*`` [+ ``tau``, ``in_rct``]) + ``meta.json``;
``prepared/discovery/<dataset>/rep<k>.parquet`` + ``truth.csv`` (rows = from, columns = to) + ``meta.json``;
``prepared/pairs/tuebingen.parquet`` (``pair, x, y, swapped``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from components.core.io import read_json, verify_sha256, write_json, write_parquet, write_text

EFFECT_COLUMNS = ("unit_id", "split", "t", "y")


def effect_dir(prepared: Path, dataset: str) -> Path:
    return prepared / "effects" / dataset


def discovery_dir(prepared: Path, dataset: str) -> Path:
    return prepared / "discovery" / dataset


def write_effect_set(prepared: Path, dataset: str, frames: list[pd.DataFrame], meta: dict) -> None:
    folder = effect_dir(prepared, dataset)
    for k, frame in enumerate(frames):
        write_parquet(folder / f"rep{k}.parquet", frame)
    write_json(folder / "meta.json", {**meta, "dataset": dataset, "stored_reps": len(frames)})


def load_effect_frame(prepared: Path, dataset: str, rep: int, seed: int) -> pd.DataFrame:
    """Replication ``rep``; for bootstrap datasets, rep > 0 is a seeded resample (with replacement) of rep 0."""
    folder = effect_dir(prepared, dataset)
    meta = read_json(folder / "meta.json")
    if rep < meta["stored_reps"]:
        return pd.read_parquet(folder / f"rep{rep}.parquet")
    base = pd.read_parquet(folder / "rep0.parquet")
    rng = np.random.default_rng([seed, rep, 1978])
    return base.iloc[rng.integers(0, len(base), len(base))].reset_index(drop=True)


def write_discovery_set(prepared: Path, dataset: str, frames: list[pd.DataFrame], truths: list[pd.DataFrame],
                        meta: dict) -> None:
    folder = discovery_dir(prepared, dataset)
    for k, (frame, truth) in enumerate(zip(frames, truths)):
        write_parquet(folder / f"rep{k}.parquet", frame)
        write_text(folder / f"truth{k}.csv", truth.to_csv())
    write_json(folder / "meta.json", {**meta, "dataset": dataset, "reps": len(frames),
                                      "variables": list(frames[0].columns)})


def load_truth(prepared: Path, dataset: str, rep: int) -> np.ndarray:
    return pd.read_csv(discovery_dir(prepared, dataset) / f"truth{rep}.csv", index_col=0).to_numpy(np.int64)


# --- great-expectations suites ------------------------------------------------------------------------------

def effect_validation_frame(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """All replications stacked, with a per-row count of nulls / non-finite values in ``y`` and ``x_*``."""
    frame = pd.concat([f.assign(rep=k) for k, f in enumerate(frames)], ignore_index=True)
    numeric = frame[["y", *[c for c in frame.columns if c.startswith("x_")]]].to_numpy(np.float64)
    frame["n_bad"] = (~np.isfinite(numeric)).sum(axis=1)
    return frame


def effect_expectations(frame: pd.DataFrame, rows_per_rep: int | None, reps: int, truth: bool) -> list:
    """Required columns, binary treatment with both arms, clean covariates, exact size, finite truth."""
    from components.core.validation import expect

    suite = [expect("ExpectColumnToExist", column=c) for c in EFFECT_COLUMNS]
    suite += [
        expect("ExpectColumnValuesToBeInSet", column="t", value_set=[0, 1]),
        expect("ExpectColumnDistinctValuesToContainSet", column="t", value_set=[0, 1]),
        expect("ExpectColumnValuesToBeInSet", column="split", value_set=["train", "test"]),
        expect("ExpectColumnValuesToBeBetween", column="n_bad", min_value=0, max_value=0),
    ]
    if rows_per_rep is not None:
        suite.append(expect("ExpectTableRowCountToEqual", value=rows_per_rep * reps))
    if truth:
        suite += [expect("ExpectColumnValuesToNotBeNull", column="tau"),
                  expect("ExpectColumnValuesToBeBetween", column="tau", min_value=-1e6, max_value=1e6)]
    if "in_rct" in frame.columns:
        suite.append(expect("ExpectColumnValuesToBeInSet", column="in_rct", value_set=[0, 1]))
    return suite


def discovery_summary(frames: list[pd.DataFrame], truths: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per replication: size, bad values, and the truth's edge count and acyclicity flag."""
    from components.causality.scm import is_acyclic

    return pd.DataFrame([{"rep": k, "n_rows": len(f), "n_vars": f.shape[1],
                          "n_bad": int((~np.isfinite(f.to_numpy(np.float64))).sum()),
                          "truth_edges": int((g.to_numpy() != 0).sum()),
                          "truth_acyclic": int(is_acyclic(g.to_numpy()))}
                         for k, (f, g) in enumerate(zip(frames, truths))])


def discovery_expectations(rows: int, n_vars: int, edges: int | None, require_acyclic: bool) -> list:
    from components.core.validation import expect

    suite = [expect("ExpectColumnValuesToBeBetween", column="n_bad", min_value=0, max_value=0),
             expect("ExpectColumnValuesToBeBetween", column="n_rows", min_value=rows, max_value=rows),
             expect("ExpectColumnValuesToBeBetween", column="n_vars", min_value=n_vars, max_value=n_vars)]
    if edges is not None:
        suite.append(expect("ExpectColumnValuesToBeBetween", column="truth_edges", min_value=edges, max_value=edges))
    if require_acyclic:
        suite.append(expect("ExpectColumnValuesToBeInSet", column="truth_acyclic", value_set=[1]))
    return suite


def pairs_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    grouped = pairs.groupby("pair", sort=False)
    return pd.DataFrame({
        "n_points": grouped.size(),
        "n_bad": grouped.apply(lambda g: int((~np.isfinite(g[["x", "y"]].to_numpy(np.float64))).sum())),
        "swapped": grouped.swapped.first().astype(np.int64),
        "n_swapped_values": grouped.swapped.nunique(),
    }).reset_index()


def pairs_expectations(n_pairs: int) -> list:
    from components.core.validation import expect

    return [expect("ExpectTableRowCountToEqual", value=n_pairs),
            expect("ExpectColumnValuesToBeBetween", column="n_points", min_value=20),
            expect("ExpectColumnValuesToBeBetween", column="n_bad", min_value=0, max_value=0),
            expect("ExpectColumnValuesToBeInSet", column="swapped", value_set=[0, 1]),
            expect("ExpectColumnValuesToBeInSet", column="n_swapped_values", value_set=[1]),
            expect("ExpectColumnValuesToBeUnique", column="pair")]


def study_validation_frame(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Treatment, outcome and (RDD) the sharp-design flag of one real identification dataset, as suite columns."""
    if name == "nhefs":
        out = pd.DataFrame({"t": frame.qsmk, "y": frame.wt82_71})
        out["n_bad"] = (~np.isfinite(frame.to_numpy(np.float64))).sum(axis=1)
        return out
    out = pd.DataFrame({"t": frame.t, "y": frame.y, "r": frame.r})
    cutoff, below = (0.0, True) if name == "rdd_transfers" else (0.5, False)
    design = (frame.r < cutoff) if below else (frame.r >= cutoff)
    out["sharp"] = np.where(frame.r.isna(), 1, (design == (frame.t == 1)).astype(np.int64))
    return out


def study_expectations(name: str, rows: int) -> list:
    """Exact size, binary treatment; NHEFS: complete cases; RDD: treatment = the cutoff rule in every row with a
    running variable (LMB: 11 rows lack the vote share and are dropped by the estimator)."""
    from components.core.validation import expect

    suite = [expect("ExpectTableRowCountToEqual", value=rows),
             expect("ExpectColumnValuesToBeInSet", column="t", value_set=[0, 1])]
    if name == "nhefs":
        suite.append(expect("ExpectColumnValuesToBeBetween", column="n_bad", min_value=0, max_value=0))
    else:
        suite.append(expect("ExpectColumnValuesToBeInSet", column="sharp", value_set=[1]))
    if name == "rdd_transfers":
        suite.append(expect("ExpectColumnValuesToNotBeNull", column="r"))
    return suite


def verify_manifest(prepared: Path) -> None:
    """Refuse prepared files that changed since ``prepare`` wrote them (SHA-256 in the manifest)."""
    verify_sha256(prepared, read_json(prepared / "manifest.json")["sha256"],
                  "rerun `paperflows run causality --step prepare` (or `dvc repro causality-prepare`)")