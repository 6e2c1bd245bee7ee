"""Prepared-data layout on disk and its great-expectations suite.

``prepared/settings/<id>/`` holds ``train``, ``id_val``, ``id_test`` and ``targets/<domain>``
parquet files (features, ``y``, ``domain``) plus ``setting.json`` and the ``world.json`` whose
parameters give the closed-form densities used for ground truth.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from components.core.io import read_json, write_json, write_parquet

SOURCE_SPLITS = ("train", "id_val", "id_test")


def setting_dir(prepared: Path, setting_id: int) -> Path:
    return prepared / "settings" / f"{setting_id:02d}"


def write_setting(directory: Path, data) -> dict:
    """Write one built setting (``settings.SettingData``); returns its metadata."""
    for split in SOURCE_SPLITS:
        write_parquet(directory / f"{split}.parquet", getattr(data, split))
    for domain, frame in data.targets.items():
        write_parquet(directory / "targets" / f"{domain}.parquet", frame)
    world = getattr(data, "world", None)  # synthetic twins only: real data has no densities
    meta = {"setting_id": data.setting.id, "dataset": data.setting.dataset,
            "shift_type": data.setting.shift_type, "world": world.name if world else None,
            "source": data.source, "main_target": data.main_target, "targets": list(data.targets),
            "feature_names": feature_columns(data.train)}
    if world is not None:
        write_json(directory / "world.json", world.to_dict())
    write_json(directory / "setting.json", meta)
    return meta


def feature_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("y", "domain")]


@dataclass
class LoadedSetting:
    """Arrays of one setting, loaded once per batch."""

    meta: dict
    X: dict[str, np.ndarray]  # split or target domain → features
    y: dict[str, np.ndarray]

    @property
    def targets(self) -> list[str]:
        return self.meta["targets"]


def load_setting(directory: Path) -> LoadedSetting:
    meta = read_json(directory / "setting.json")
    features = meta["feature_names"]
    X, y = {}, {}
    names = [(s, directory / f"{s}.parquet") for s in SOURCE_SPLITS]
    names += [(t, directory / "targets" / f"{t}.parquet") for t in meta["targets"]]
    for name, path in names:
        frame = pd.read_parquet(path)
        X[name] = frame[features].to_numpy(dtype=np.float64)
        y[name] = frame["y"].to_numpy(dtype=np.int64)
    return LoadedSetting(meta, X, y)


def validation_frame(data) -> pd.DataFrame:
    """All rows of a setting with ``split``, a per-row null count and a content hash (for disjointness)."""
    parts = [getattr(data, s).assign(split=s) for s in SOURCE_SPLITS]
    parts += [frame.assign(split="target") for frame in data.targets.values()]
    frame = pd.concat(parts, ignore_index=True)
    features = feature_columns(parts[0].drop(columns="split"))
    values = frame[features].to_numpy(dtype=np.float64)
    frame["n_null"] = np.isnan(values).sum(axis=1) + frame["y"].isna().to_numpy()
    frame["row_hash"] = [hashlib.sha1(row.tobytes()).hexdigest()[:16] for row in values]
    return frame


def expectations(data, n_features: int, rows: dict[str, int] | None) -> list:
    """The suite every prepared setting must pass (spec §9 A3); ``rows`` = the profile's sizes (synthetic).

    Synthetic features are continuous, so identical rows would mean overlapping splits; real data
    legitimately repeats rows (people with the same one-hot profile), so there the row count and the
    content-disjointness checks give way to a minimum size.
    """
    from components.core.validation import expect

    first = feature_columns(data.train)[0]
    suite = [
        expect("ExpectTableColumnCountToEqual", value=n_features + 5),  # + y, domain, split, n_null, row_hash
        expect("ExpectColumnValuesToBeBetween", column="n_null", min_value=0, max_value=0),
        expect("ExpectColumnValuesToBeInSet", column="y", value_set=[0, 1]),
        expect("ExpectColumnValuesToBeInSet", column=first, value_set=[1.0, 2.0]),
        expect("ExpectColumnMeanToBeBetween", column="y", min_value=0.1, max_value=0.9),
        expect("ExpectColumnDistinctValuesToEqualSet", column="split",
               value_set=["train", "id_val", "id_test", "target"]),
    ]
    if rows is None:
        return suite + [expect("ExpectTableRowCountToBeBetween", min_value=200 + 100 * len(data.targets))]
    total = rows["train"] + rows["id_val"] + rows["id_test"] + rows["target"] * len(data.targets)
    return suite + [expect("ExpectTableRowCountToEqual", value=total),
                    expect("ExpectColumnValuesToBeUnique", column="row_hash")]  # splits are disjoint
