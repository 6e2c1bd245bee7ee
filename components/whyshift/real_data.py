"""Real-data settings for the paper profile: user-supplied raw files → the synthetic frames' layout.

Nothing is downloaded: the user puts the raw files under one root once (see ``expected_layout``
and the README), and every parsed (task, domain, year/file) is cached as parquet under
``<root>/cache/v1/`` so reruns skip the CSVs (a cache older than its raw file is rebuilt; the raw
file may be deleted once cached). Frames have the feature columns (float64, column 0 the 1/2
sensitive attribute), ``y`` (int64) and ``domain`` (str), exactly like ``settings.build_setting``.

Source splits follow spec §3.1 (the rule of ``Example.ipynb``): 20,000 held-out + 20,000 train rows
when the source has at least 40,000 rows, else a 50/50 split; the held-out rows are halved into
``id_val`` and ``id_test``. Targets are every other domain of the setting.

Years [repo: ``get_data(..., year=2018)``, ``Example.ipynb``]: spatial ACS settings read 2018. The
temporal settings (19, 20) read PubCov 2010 [repo-doc README] → 2014, 2017, 2018 — the target years
are not in the repo or README (unverified, the same years as the synthetic twin,
``generator.TEMPORAL_YEARS``). The age-selection settings (21, 22) are not in the repo either
[project]: Income CA 2018 split at its median age; the source takes ``pi_young`` of its rows from the
younger half, the target the mirrored mixture (1 - ``pi_young`` younger); each age half is split
50/50 at random between the two sides first, so they are disjoint and neither is starved.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from components.core.errors import MissingInputError, UserError
from components.core.io import read_json, write_json, write_parquet
from components.core.seeding import derive_seed
from components.whyshift.generator import TEMPORAL_YEARS
from components.whyshift.real_parsers import (
    ACC_COLUMNS,
    ACS_TASKS,
    DEVIATIONS,
    TAXI_COLUMNS,
    accident_categories,
    accident_features,
    acs_features,
    clean_accidents,
    read_acs_csv,
    read_csv_columns,
    taxi_features,
)
from components.whyshift.settings import (
    ACCIDENT_DOMAINS,
    ACS_DOMAINS,
    AGE_SOURCE,
    AGE_TARGET,
    SETTINGS,
    TAXI_DOMAINS,
    Setting,
)

log = logging.getLogger(__name__)

DATA_ENV = "PAPERFLOWS_DATA"      # default root: $PAPERFLOWS_DATA/whyshift
CACHE_VERSION = "v1"              # bump when a parser changes, so old caches are ignored

SPATIAL_YEAR = 2018
TEMPORAL_REAL_YEARS: tuple[int, ...] = tuple(int(y) for y in TEMPORAL_YEARS)   # 2010 first
AGE_BASE_STATE = "CA"
SOURCE_TRAIN_ROWS = 20_000        # Example.ipynb num_samples: train rows and held-out rows
ACS_FIPS: dict[str, str] = {
    "AL": "01", "AK": "02", "AZ": "04", "AR": "05", "CA": "06", "CO": "08", "CT": "09", "DE": "10",
    "FL": "12", "GA": "13", "HI": "15", "ID": "16", "IL": "17", "IN": "18", "IA": "19", "KS": "20",
    "KY": "21", "LA": "22", "ME": "23", "MD": "24", "MA": "25", "MI": "26", "MN": "27", "MS": "28",
    "MO": "29", "MT": "30", "NE": "31", "NV": "32", "NH": "33", "NJ": "34", "NM": "35", "NY": "36",
    "NC": "37", "ND": "38", "OH": "39", "OK": "40", "OR": "41", "PA": "42", "RI": "44", "SC": "45",
    "SD": "46", "TN": "47", "TX": "48", "UT": "49", "VT": "50", "VA": "51", "WA": "53", "WV": "54",
    "WI": "55", "WY": "56", "PR": "72"}   # folktables load_acs._STATE_CODES
ACCIDENT_FILE = "US_Accidents_Dec21_updated.csv"      # the release the official code reads
TAXI_FILES = {"NYC": "nyc_clean.csv", "BOG": "bog_clean.csv", "UIO": "uio_clean.csv",
              "MEX": "mex_clean.csv"}                   # README: ./datasets/Taxi/{city}_clean.csv
# Main target of settings the paper does not give one for [project]: the dataset's P7 target.
MAIN_TARGET_FALLBACK = {"income": "PR", "mobility": "HI", "pubcov": "LA", "accident": "OR",
                        "taxi": "BOG"}


# ------------------------------------------------------------------------------------- layout

def data_root(configured: str | None) -> Path:
    """The real-data root: the configured path, else ``$PAPERFLOWS_DATA/whyshift``."""
    if configured:
        root = Path(configured).expanduser()
    elif os.environ.get(DATA_ENV):
        root = Path(os.environ[DATA_ENV]).expanduser() / "whyshift"
    else:
        raise UserError("the paper profile needs real data, but no data root is configured",
                        f"set the whyshift data root parameter, or export {DATA_ENV}=/path so the "
                        f"data lives under $PAPERFLOWS_DATA/whyshift (layout: see the README)")
    if not root.is_dir():
        raise MissingInputError(f"whyshift real-data root {root} does not exist",
                                "create it and put the raw files there (layout: see the README)")
    return root


def acs_path(root: Path, state: str, year: int) -> Path:
    """folktables' on-disk layout: ``<root>/acs/<year>/1-Year/psam_p<FIPS>.csv`` (2017+) or
    ``ss<yy>p<state>.csv`` (2016 and earlier), so ``ACSDataSource(root_dir=<root>/acs)`` fills it."""
    name = f"psam_p{ACS_FIPS[state]}.csv" if year >= 2017 else f"ss{year % 100:02d}p{state.lower()}.csv"
    return root / "acs" / str(year) / "1-Year" / name


def accident_path(root: Path) -> Path:
    """``<root>/accident/US_Accidents_Dec21_updated.csv``, else the single ``US_Accidents*.csv`` there."""
    folder = root / "accident"
    preferred = folder / ACCIDENT_FILE
    found = sorted(folder.glob("US_Accidents*.csv")) if folder.is_dir() else []
    if preferred.exists() or not found:
        return preferred
    if len(found) > 1:
        raise UserError(f"several US-Accidents files in {folder}: {[p.name for p in found]}",
                        f"keep one (the official code reads {ACCIDENT_FILE})")
    return found[0]


def taxi_path(root: Path, city: str) -> Path:
    return root / "taxi" / TAXI_FILES[city]


def cache_path(root: Path, task: str, domain: str, tag: object) -> Path:
    return root / "cache" / CACHE_VERSION / f"{task}_{domain}_{tag}.parquet"


# ------------------------------------------------------------------------------ one domain each

def _cached(cache: Path, raw: Path, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Read ``cache`` unless the raw file is newer (or the cache is absent); else build and write it."""
    if cache.exists() and (not raw.exists() or cache.stat().st_mtime >= raw.stat().st_mtime):
        return pd.read_parquet(cache)
    frame = build()
    write_parquet(cache, frame)
    log.info("parsed %s: %d rows -> %s", raw, len(frame), cache)
    return frame


def acs_frame(task: str, state: str, year: int, root: Path) -> pd.DataFrame:
    """One ACS (task, state, year): official features + ``y``, cached."""
    raw = acs_path(root, state, year)
    return _cached(cache_path(root, task, state, year), raw,
                   lambda: acs_features(read_acs_csv(raw, ACS_TASKS[task].raw_columns), task))


def taxi_frame(city: str, root: Path) -> pd.DataFrame:
    """One city's trips: the 7 taxi features + ``y``, cached."""
    raw = taxi_path(root, city)
    return _cached(cache_path(root, "taxi", city, raw.stem), raw,
                   lambda: taxi_features(read_csv_columns(raw, TAXI_COLUMNS)))


def _accident_tag(root: Path) -> tuple[Path, str]:
    """(raw file, cache tag); without the raw file, the one cached release if there is one."""
    raw = accident_path(root)
    metas = sorted((root / "cache" / CACHE_VERSION).glob("accident_*_meta.json"))
    if not raw.exists() and len(metas) == 1:
        return raw, metas[0].name.removeprefix("accident_").removesuffix("_meta.json")
    return raw, raw.stem


def _accident_meta_path(root: Path, tag: str) -> Path:
    return root / "cache" / CACHE_VERSION / f"accident_{tag}_meta.json"


def _parse_accidents(raw: Path, root: Path, tag: str) -> dict:
    """Clean the whole file once (global imputation, dedup, class ranks) and cache the 13 states."""
    clean = clean_accidents(read_csv_columns(raw, ACC_COLUMNS))
    categories = accident_categories(clean)
    for state in ACCIDENT_DOMAINS:
        part = clean[clean["State"].astype(str) == state]
        write_parquet(cache_path(root, "accident", state, tag), accident_features(part, categories))
    meta = {"file": raw.name, "class_counts": np.bincount(clean["y"], minlength=2).tolist(),
            "categories": categories}
    write_json(_accident_meta_path(root, tag), meta)   # written last: marks a complete parse
    log.info("parsed %s: %d cleaned rows, class counts %s", raw, len(clean), meta["class_counts"])
    return meta


def balance_keep(class_counts: list[int], seed: int) -> list[np.ndarray]:
    """Per class, which global ranks survive balancing: the minority whole, the majority a seeded
    subsample of the minority's size without replacement (one draw shared by every state)."""
    m = min(class_counts)
    rng = np.random.default_rng(derive_seed(seed, "accident-balance"))
    keep = []
    for n in class_counts:
        mask = np.ones(n, dtype=bool)
        if n > m:
            mask[:] = False
            mask[rng.choice(n, size=m, replace=False)] = True
        keep.append(mask)
    return keep


def accident_frame(state: str, root: Path, seed: int) -> pd.DataFrame:
    """One state's accidents (severity 3 → y = 1), globally balanced with ``seed``, cached pre-balance."""
    raw, tag = _accident_tag(root)
    meta_path = _accident_meta_path(root, tag)
    states = [cache_path(root, "accident", s, tag) for s in ACCIDENT_DOMAINS]
    fresh = (meta_path.exists() and all(p.exists() for p in states)
             and (not raw.exists() or meta_path.stat().st_mtime >= raw.stat().st_mtime))
    meta = read_json(meta_path) if fresh else _parse_accidents(raw, root, tag)
    frame = pd.read_parquet(cache_path(root, "accident", state, tag))
    keep = balance_keep(meta["class_counts"], seed)
    y, rank = frame["y"].to_numpy(), frame["rank"].to_numpy()
    kept = np.zeros(len(frame), dtype=bool)
    for cls, mask in enumerate(keep):
        kept[y == cls] = mask[rank[y == cls]]
    return frame.loc[kept].drop(columns="rank").reset_index(drop=True)


# ---------------------------------------------------------------------------------- a setting

@dataclass(frozen=True)
class _Input:
    """A raw file a setting reads, its cache files and how the user obtains it."""

    raw: Path
    caches: tuple[Path, ...]
    fix: str

    @property
    def available(self) -> bool:
        return self.raw.exists() or all(c.exists() for c in self.caches)


def _acs_fix(root: Path, state: str, year: int) -> str:
    path = acs_path(root, state, year)
    zipped = f"https://www2.census.gov/programs-surveys/acs/data/pums/{year}/1-Year/csv_p{state.lower()}.zip"
    how = (f"download the ACS PUMS {year} 1-Year person file for {state} once with folktables "
           f"(`ACSDataSource(survey_year='{year}', horizon='1-Year', survey='person', "
           f"root_dir='{root / 'acs'}').get_data(states=['{state}'], download=True)`) into {path}")
    if year < 2014:   # upstream folktables asserts year >= 2014 (only whyshift's vendored copy lifts it)
        return f"folktables refuses years before 2014: unzip {path.name} from {zipped} into {path.parent}"
    return f"{how}; or unzip {path.name} from {zipped} into {path.parent}"


def _inputs(setting: Setting, root: Path) -> list[_Input]:
    """Every raw file of a setting, source first."""
    if setting.dataset in ACS_TASKS and setting.shift_type == "spatial":
        return [_Input(acs_path(root, s, SPATIAL_YEAR),
                       (cache_path(root, setting.dataset, s, SPATIAL_YEAR),), _acs_fix(root, s, SPATIAL_YEAR))
                for s in _order(setting.source, ACS_DOMAINS)]
    if setting.shift_type == "temporal":
        st = setting.base_domain
        return [_Input(acs_path(root, st, y), (cache_path(root, setting.dataset, st, y),),
                       _acs_fix(root, st, y)) for y in TEMPORAL_REAL_YEARS]
    if setting.shift_type == "synthetic":
        return [_Input(acs_path(root, AGE_BASE_STATE, SPATIAL_YEAR),
                       (cache_path(root, "income", AGE_BASE_STATE, SPATIAL_YEAR),),
                       _acs_fix(root, AGE_BASE_STATE, SPATIAL_YEAR))]
    if setting.dataset == "accident":
        raw, tag = _accident_tag(root)
        caches = (_accident_meta_path(root, tag),) + tuple(cache_path(root, "accident", s, tag)
                                                          for s in ACCIDENT_DOMAINS)
        return [_Input(raw, caches, "download US_Accidents_Dec21_updated.csv (the release the official "
                       "code reads) from https://www.kaggle.com/datasets/sobhanmoosavi/us-accidents and "
                       f"save it as {raw}; any single US_Accidents*.csv in {raw.parent} is accepted")]
    return [_Input(taxi_path(root, c), (cache_path(root, "taxi", c, taxi_path(root, c).stem),),
                   _taxi_fix(root, c)) for c in _order(setting.source, TAXI_DOMAINS)]


def _taxi_fix(root: Path, city: str) -> str:
    path = taxi_path(root, city)
    if city == "NYC":
        return (f"download train.csv of https://www.kaggle.com/competitions/nyc-taxi-trip-duration/data "
                f"and save it as {path}")
    return (f"download {path.name} from https://www.kaggle.com/datasets/mnavas/"
            f"taxi-routes-for-mexico-city-and-quito into {path.parent}")


def _order(source: str, domains: tuple[str, ...]) -> list[str]:
    return [source] + [d for d in domains if d != source]


def expected_layout(setting_id: int, root: Path) -> list[Path]:
    """The raw files a setting reads (for docs and error messages), source first, no duplicates."""
    return list(dict.fromkeys(i.raw for i in _inputs(_setting(setting_id), root)))


def _setting(setting_id: int) -> Setting:
    if setting_id not in SETTINGS:
        raise UserError(f"unknown whyshift setting {setting_id}", f"use one of 1..{len(SETTINGS)}")
    return SETTINGS[setting_id]


def _require(setting: Setting, root: Path) -> None:
    """One ``MissingInputError`` naming every absent raw file (a cached one counts as present)."""
    missing = [i for i in dict.fromkeys(_inputs(setting, root)) if not i.available]
    if not missing:
        return
    shown = "\n  ".join(str(i.raw) for i in missing[:5])
    more = f"\n  (and {len(missing) - 5} more)" if len(missing) > 5 else ""
    raise MissingInputError(f"setting {setting.id} ({setting.name}) needs {len(missing)} raw file(s) "
                            f"that are not there:\n  {shown}{more}", missing[0].fix)


@dataclass
class RealSettingData:
    """A real setting in the layout of ``settings.SettingData`` (no world: real data has no densities)."""

    setting: Setting
    source: str
    main_target: str
    train: pd.DataFrame
    id_val: pd.DataFrame
    id_test: pd.DataFrame
    targets: dict[str, pd.DataFrame]
    feature_names: list[str]
    base_domain: str | None = None
    info: dict = field(default_factory=dict)   # files read, row counts, years, deviations


def split_source(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """§3.1: 20,000 held-out + 20,000 train if n ≥ 40,000, else held-out int(n/2) and train the rest;
    held-out halves → (id_val, id_test). Rows beyond 40,000 are unused, as in ``Example.ipynb``."""
    n = len(frame)
    perm = np.random.default_rng(seed).permutation(n)
    held = SOURCE_TRAIN_ROWS if n >= 2 * SOURCE_TRAIN_ROWS else n // 2
    train_idx = perm[held:2 * held] if n >= 2 * SOURCE_TRAIN_ROWS else perm[held:]
    val_idx, test_idx = perm[:held // 2], perm[held // 2:held]
    take = lambda idx: frame.iloc[idx].reset_index(drop=True)   # noqa: E731
    return take(train_idx), take(val_idx), take(test_idx)


def age_mixture(age: np.ndarray, pi_young: float, seed: int, max_target_rows: int | None = None,
                source_rows: int = 2 * SOURCE_TRAIN_ROWS) -> tuple[np.ndarray, np.ndarray, float]:
    """Disjoint row indices (source, target, threshold). Young = age < median. Each age half is
    first split at random into a source side and a target side, so neither draw can exhaust the
    other; the source is the largest mixture with a ``pi_young`` young share (at most
    ``source_rows``), the target the largest mirrored one (at most ``max_target_rows``)."""
    threshold = float(np.median(age))
    rng = np.random.default_rng(seed)
    young = rng.permutation(np.flatnonzero(age < threshold))
    old = rng.permutation(np.flatnonzero(age >= threshold))
    hy, ho = len(young) // 2, len(old) // 2
    src = _mixture(young[:hy], old[:ho], pi_young, source_rows)
    tgt = _mixture(young[hy:], old[ho:], 1.0 - pi_young, max_target_rows or len(age))
    return np.sort(src), np.sort(tgt), threshold


def _mixture(young: np.ndarray, old: np.ndarray, share: float, cap: int) -> np.ndarray:
    """The first rows of each pool making the largest sample (≤ cap) with round(share·n) young."""
    n = min(cap, len(young) + len(old))
    while round(share * n) > len(young) or n - round(share * n) > len(old):
        n -= 1
    n_young = round(share * n)
    return np.concatenate([young[:n_young], old[:n - n_young]])


def _main_target(setting: Setting, targets: list[str]) -> str:
    for cand in (setting.default_main_target, MAIN_TARGET_FALLBACK.get(setting.dataset)):
        if cand and cand in targets:
            return cand
    return targets[0]


def _domain_frames(setting: Setting, root: Path, seed: int) -> dict[str, pd.DataFrame]:
    """Every domain's full frame (features + ``y``), source first, before splitting."""
    if setting.shift_type == "temporal":
        return {str(y): acs_frame(setting.dataset, setting.base_domain, y, root) for y in TEMPORAL_REAL_YEARS}
    if setting.dataset == "accident":
        return {s: accident_frame(s, root, seed) for s in _order(setting.source, ACCIDENT_DOMAINS)}
    if setting.dataset == "taxi":
        return {c: taxi_frame(c, root) for c in _order(setting.source, TAXI_DOMAINS)}
    return {s: acs_frame(setting.dataset, s, SPATIAL_YEAR, root) for s in _order(setting.source, ACS_DOMAINS)}


def _with_domain(frame: pd.DataFrame, domain: str) -> pd.DataFrame:
    out = frame.reset_index(drop=True).copy()
    out["domain"] = domain
    return out


def _cap(frame: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    """A seeded subsample of at most ``max_rows`` rows (original order kept)."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    idx = np.sort(np.random.default_rng(seed).permutation(len(frame))[:max_rows])
    return frame.iloc[idx].reset_index(drop=True)


def load_setting_real(setting_id: int, root: Path, seed: int,
                      max_target_rows: int | None = None) -> RealSettingData:
    """Load a setting from the raw files under ``root``: source split by §3.1, every other domain a
    target (each at most ``max_target_rows`` rows, seeded), deterministic in ``seed``."""
    setting = _setting(setting_id)
    root = Path(root)
    _require(setting, root)
    info: dict = {"files": [str(p) for p in expected_layout(setting_id, root)],
                  "deviations": dict(DEVIATIONS)}
    if setting.shift_type == "synthetic":
        pool = acs_frame("income", AGE_BASE_STATE, SPATIAL_YEAR, root)
        src, tgt, threshold = age_mixture(pool["AGEP"].to_numpy(), setting.pi_young,
                                          derive_seed(seed, "age-mixture", setting_id), max_target_rows)
        frames = {AGE_SOURCE: pool.iloc[src], AGE_TARGET: pool.iloc[tgt]}
        info |= {"age_threshold": threshold, "pi_young": setting.pi_young}
    else:
        frames = _domain_frames(setting, root, seed)
    source = next(iter(frames))
    info["rows"] = {d: len(f) for d, f in frames.items()}
    train, id_val, id_test = split_source(_with_domain(frames[source], source),
                                          derive_seed(seed, "split", setting_id, source))
    targets = {d: _cap(_with_domain(f, d), max_target_rows, derive_seed(seed, "target", setting_id, d))
               for d, f in frames.items() if d != source}
    base = setting.base_domain if setting.shift_type == "temporal" else (
        AGE_BASE_STATE if setting.shift_type == "synthetic" else None)
    names = [c for c in train.columns if c not in ("y", "domain")]
    return RealSettingData(setting, source, _main_target(setting, list(targets)), train, id_val, id_test,
                           targets, names, base, info)
