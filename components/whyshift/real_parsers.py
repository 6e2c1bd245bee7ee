"""Raw files → feature frames for the paper profile: ACS (folktables CSVs), US-Accidents, taxi.

Pure functions of the raw data (no cache, no splits, no RNG). The feature lists, one-hot codes,
filters and cleaning rules are those of the official ``namkoong-lab/whyshift`` code
(``whyshift/dataset.py``, ``whyshift/folktables_utils.py``, ``whyshift/utils.py``) and folktables'
``acs.py``, re-implemented here; every departure is listed in ``DEVIATIONS``. Nothing is
standardised (the models do that, W-D4). Column 0 of every frame is a 1/2-coded sensitive
attribute (spec §4.1): SEX for ACS, NIGHT for accidents, WEEKEND for taxi.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from components.core.errors import DataValidationError

# ------------------------------------------------------------------------------------- ACS codes
# [repo] whyshift/folktables_utils.py and dataset.py: names and codes of every indicator block.
MARITAL = ("married", "widowed", "divorced", "separated", "never")                  # MAR 1..5
RACE = tuple(f"race_{r}" for r in ("white", "black", "am_ind", "alaska", "am_alaska", "asian",
                                   "hawaiian", "other", "two_or_more"))             # RAC1P 1..9
RELP = tuple(f"relp_{r}" for r in (
    "reference", "husband/wife", "biologicalson", "adoptedson", "stepson", "brother", "father",
    "grandchild", "parentinlaw", "soninlaw", "other", "roomer", "housemate", "unmarried", "foster",
    "nonrelative", "institutionalized", "noninstitutionalized"))                    # RELP 0..17
COW = ("cow_employee_profit", "cow_employee_nonprofit", "cow_localgovernment",
       "cow_stategovernment", "cow_federalgovernment", "cow_selfemployed_own",
       "cow_selfemployed_incorporated", "cow_family_business", "cow_unemployed")    # COW 1..9
CIT = tuple(f"CIT_{c}" for c in ("us", "pr", "abroad", "citizen", "not"))            # CIT 1..5
ESR = tuple(f"ESR_{e}" for e in ("employed", "partial_employed", "unemployed", "armed",
                                 "partial_armed", "no"))                            # ESR 1..6
SCHL = ("SCHL", "schl_at_least_bachelor", "schl_at_least_high_school_or_ged", "schl_postgrad")
SCHL_AT_LEAST = {"schl_at_least_bachelor": 21, "schl_at_least_high_school_or_ged": 17,
                 "schl_postgrad": 22}
# OCCP // 100 ranges (inclusive) of the 26 groups folktables_utils defines ...
BIG_OCCP_RANGES: dict[str, tuple[int, int]] = {
    "MGR": (0, 4), "BUS": (5, 7), "FIN": (8, 9), "CMM": (10, 12), "ENG": (13, 15), "SCI": (16, 19),
    "CMS": (20, 20), "LGL": (21, 21), "EDU": (22, 25), "ENT": (26, 29), "MED": (30, 35),
    "HLS": (36, 36), "PRT": (37, 39), "EAT": (40, 41), "CLN": (42, 42), "PRS": (43, 46),
    "SAL": (47, 49), "OFF": (50, 59), "FFF": (60, 61), "CON": (62, 67), "EXT": (68, 69),
    "RPR": (70, 76), "PRD": (77, 89), "TRN": (90, 97), "MIL": (98, 98), "no": (99, 99)}
# ... of which dataset.py selects 25: LGL is never a feature (W-D4), so a legal-occupation row has
# an all-zero big_occp block (its large_occp_Lg is still 1).
BIG_OCCP = tuple(f"big_occp_{g}" for g in BIG_OCCP_RANGES if g != "LGL")
LARGE_OCCP_GROUPS: dict[str, tuple[str, ...]] = {
    "large_occp_Lg": ("MGR", "BUS", "FIN", "LGL", "EDU", "ENT"),
    "large_occp_Semi_Lg": ("CMM", "ENG", "SCI", "CMS", "MED", "HLS", "PRS", "SAL", "OFF", "RPR", "PRD"),
    "large_occp_Non_Lg": ("PRT", "EAT", "CLN", "FFF", "CON", "EXT", "TRN", "MIL", "no")}

_CODED: dict[str, tuple[str, float]] = {
    **{n: ("MAR", i + 1) for i, n in enumerate(MARITAL)},
    **{n: ("RAC1P", i + 1) for i, n in enumerate(RACE)},
    **{n: ("RELP", i) for i, n in enumerate(RELP)},
    **{n: ("COW", i + 1) for i, n in enumerate(COW)},
    **{n: ("CIT", i + 1) for i, n in enumerate(CIT)},
    **{n: ("ESR", i + 1) for i, n in enumerate(ESR)},
}   # indicator name -> (raw column, code); a missing code (NaN) matches nothing, as in the repo

INCOME_FEATURES = (("SEX", "AGEP", "WKHP") + MARITAL + RELP + RACE + COW + BIG_OCCP + SCHL
                   + tuple(LARGE_OCCP_GROUPS))
PUBCOV_FEATURES = (("SEX", "AGEP", "DIS", "ESP", "MIG", "MIL", "ANC", "NATIVITY", "DEAR", "DEYE",
                    "DREM", "PINCP", "FER") + MARITAL + RACE + SCHL + CIT + ESR)
MOBILITY_FEATURES = (("SEX", "AGEP", "SCHL", "DIS", "ESP", "CIT", "MIL", "ANC", "NATIVITY", "DEAR",
                      "DEYE", "DREM", "GCL", "WKHP", "JWMNP", "PINCP") + MARITAL + RACE + RELP
                     + COW + ESR)


@dataclass(frozen=True)
class AcsTask:
    """One folktables-style task: raw columns read, row filter, label, official feature order."""

    name: str
    raw_columns: tuple[str, ...]
    keep: Callable[[pd.DataFrame], pd.Series]
    label: Callable[[pd.DataFrame], pd.Series]
    features: tuple[str, ...]


ACS_TASKS: dict[str, AcsTask] = {t.name: t for t in (
    # adult_filter; folktables ACSIncome target PINCP > 50000
    AcsTask("income", ("SEX", "AGEP", "WKHP", "MAR", "RELP", "RAC1P", "COW", "OCCP", "SCHL", "PINCP",
                       "PWGTP"),
            lambda d: (d.AGEP > 16) & (d.PINCP > 100) & (d.WKHP > 0) & (d.PWGTP >= 1),
            lambda d: d.PINCP > 50000, INCOME_FEATURES),
    # public_coverage_filter; target PUBCOV == 1
    AcsTask("pubcov", ("SEX", "AGEP", "DIS", "ESP", "MIG", "MIL", "ANC", "NATIVITY", "DEAR", "DEYE",
                       "DREM", "PINCP", "FER", "MAR", "RAC1P", "SCHL", "CIT", "ESR", "PUBCOV"),
            lambda d: (d.AGEP < 65) & (d.PINCP <= 30000),
            lambda d: d.PUBCOV == 1, PUBCOV_FEATURES),
    # mobility_filter (18 < AGEP < 35); target MIG == 1 (same residence one year ago)
    AcsTask("mobility", ("SEX", "AGEP", "SCHL", "DIS", "ESP", "CIT", "MIL", "ANC", "NATIVITY", "DEAR",
                         "DEYE", "DREM", "GCL", "WKHP", "JWMNP", "PINCP", "MAR", "RAC1P", "RELP",
                         "COW", "ESR", "MIG"),
            lambda d: (d.AGEP > 18) & (d.AGEP < 35),
            lambda d: d.MIG == 1, MOBILITY_FEATURES),
)}


def read_csv_columns(path: Path, columns: tuple[str, ...] | list[str], **kwargs) -> pd.DataFrame:
    """Only ``columns`` of a CSV (header names stripped); a file lacking one is a data error."""
    header = [c.strip() for c in pd.read_csv(path, nrows=0, **kwargs).columns]
    missing = sorted(set(columns) - set(header))
    if missing:
        raise DataValidationError(f"{path} lacks columns {missing}",
                                  "re-download the file; the loader expects the original column names")
    wanted = set(columns)
    frame = pd.read_csv(path, usecols=lambda c: c.strip() in wanted, **kwargs)
    return frame.rename(columns=str.strip)


def read_acs_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """ACS columns as float64; blanks (and the space padding of pre-2017 files) become NaN."""
    raw = read_csv_columns(path, columns, dtype=str)
    return raw.apply(lambda s: pd.to_numeric(s.str.strip(), errors="coerce")).astype(np.float64)


def _acs_column(d: pd.DataFrame, name: str) -> np.ndarray:
    """One feature column; raw ACS values keep folktables' postprocess (NaN → 0)."""
    if name in _CODED:
        col, code = _CODED[name]
        return (d[col].to_numpy() == code).astype(np.float64)
    if name in SCHL_AT_LEAST:
        return (d["SCHL"].to_numpy() >= SCHL_AT_LEAST[name]).astype(np.float64)
    if name.startswith("big_occp_") or name in LARGE_OCCP_GROUPS:
        occ = d["OCCP"].to_numpy() // 100          # folktables_utils: t.OCCP = t.OCCP // 100
        groups = LARGE_OCCP_GROUPS.get(name, (name.removeprefix("big_occp_"),))
        ranges = [BIG_OCCP_RANGES[g] for g in groups]
        return np.logical_or.reduce([(occ >= lo) & (occ <= hi) for lo, hi in ranges]).astype(np.float64)
    return np.nan_to_num(d[name].to_numpy(dtype=np.float64), nan=0.0)


def acs_features(raw: pd.DataFrame, task: str) -> pd.DataFrame:
    """Filter, label and one-hot one ACS person table (columns: official features, then ``y``)."""
    spec = ACS_TASKS[task]
    d = raw.loc[spec.keep(raw).to_numpy()]           # NaN fails every comparison, as in the repo
    frame = pd.DataFrame({n: _acs_column(d, n) for n in spec.features})
    frame["y"] = spec.label(d).to_numpy().astype(np.int64)
    return frame


# -------------------------------------------------------------------------------- US-Accidents
# [repo] whyshift/utils.py::preprocess and dataset.py::get_USAccident.
ACC_NUMERIC = ("Distance(mi)", "Temperature(F)", "Humidity(%)", "Pressure(in)", "Visibility(mi)",
               "Wind_Speed(mph)", "Precipitation(in)")
ACC_FILL = ACC_NUMERIC[1:]                     # mean-imputed over the whole file
ACC_FLAGS = ("Amenity", "Bump", "Crossing", "Give_Way", "Junction", "No_Exit", "Railway",
             "Roundabout", "Station", "Stop", "Traffic_Calming", "Traffic_Signal")
ACC_TIME = ("Year", "Month", "Weekday", "Day", "Hour", "Minute")
ACC_ONEHOT = ("Side", "Wind_Direction", "Weather_Condition")   # get_dummies(drop_first=True)
ACC_COLUMNS = (("Severity", "Start_Time", "Start_Lat", "Start_Lng", "State", "Side", "Wind_Direction",
                "Weather_Condition", "Civil_Twilight") + ACC_NUMERIC + ACC_FLAGS)
# Applied in this order to the current value (so "Cloudy / Windy" ends as Windy); NaN = dropped.
WEATHER_RULES: tuple[tuple[str, str | None], ...] = (
    ("Thunder|T-Storm", "Thunderstorm"), ("Snow|Sleet|Wintry", "Snow"), ("Rain|Drizzle|Shower", "Rain"),
    ("Wind|Squalls", "Windy"), ("Hail|Pellets", "Hail"), ("Fair", "Clear"), ("Cloud|Overcast", "Cloudy"),
    ("Mist|Haze|Fog", "Fog"), ("Sand|Dust", "Sand"), ("Smoke|Volcanic Ash", "Smoke"),
    ("N/A Precipitation", None))
WIND_NAMES = {"CALM": "Calm", "VAR": "Variable", "East": "E", "North": "N", "South": "S", "West": "W"}


def clean_accidents(raw: pd.DataFrame) -> pd.DataFrame:
    """The official cleaning over the whole file, minus balancing and scaling (done elsewhere / not at all).

    Returns rows of severity 2 or 3 with ``y`` = 1 for severity 3, the time features, and a
    ``rank`` column: the row's position among all rows of its class, used for the seeded global
    balancing (the official code balances over the whole file, not per state).
    """
    x = raw.copy()
    start = pd.to_datetime(x.pop("Start_Time"), format="ISO8601", errors="coerce")
    for name, part in zip(ACC_TIME, (start.dt.year, start.dt.month, start.dt.weekday, start.dt.day,
                                     start.dt.hour, start.dt.minute)):
        x[name] = part
    x = x.drop_duplicates()
    x = x[(x["Side"] != " ") & (x["Pressure(in)"] != 0) & (x["Visibility(mi)"] != 0)].copy()
    weather = x["Weather_Condition"].astype(object)
    for pattern, value in WEATHER_RULES:
        weather = weather.mask(weather.str.contains(pattern, na=False), np.nan if value is None else value)
    x["Weather_Condition"] = weather
    x["Wind_Direction"] = x["Wind_Direction"].astype(object).replace(WIND_NAMES)
    x[list(ACC_FILL)] = x[list(ACC_FILL)].fillna(x[list(ACC_FILL)].mean())
    x = x.dropna()
    wind = x["Wind_Direction"].astype(str)
    x["Wind_Direction"] = wind.where(wind.str.len() != 3, wind.str[1:])
    x = x[x["Severity"].isin([2, 3])].copy()
    x["y"] = (x["Severity"] == 3).astype(np.int64)
    x["rank"] = x.groupby("y").cumcount().astype(np.int64)
    return x.reset_index(drop=True)


def accident_categories(clean: pd.DataFrame) -> dict[str, list[str]]:
    """Sorted categories of each one-hot column over the whole cleaned file (first one is dropped)."""
    return {c: sorted(clean[c].astype(str).unique().tolist()) for c in ACC_ONEHOT}


def accident_features(clean: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """NIGHT (1 = Day, 2 = Night civil twilight) then the official columns; ``y`` and ``rank`` kept."""
    frame = {"NIGHT": 1.0 + (clean["Civil_Twilight"].astype(str) == "Night").to_numpy(np.float64)}
    for c in ACC_NUMERIC + ACC_FLAGS + ACC_TIME:
        frame[c] = clean[c].to_numpy(dtype=np.float64)
    for c in ACC_ONEHOT:
        values = clean[c].astype(str).to_numpy()
        for cat in categories[c][1:]:
            frame[f"{c}_{cat}"] = (values == cat).astype(np.float64)
    out = pd.DataFrame(frame)
    out["y"] = clean["y"].to_numpy(np.int64)
    out["rank"] = clean["rank"].to_numpy(np.int64)
    return out


# ------------------------------------------------------------------------------------------ taxi
# [repo] whyshift/dataset.py::get_taxi.
TAXI_COLUMNS = ("pickup_datetime", "pickup_longitude", "pickup_latitude", "dropoff_longitude",
                "dropoff_latitude", "trip_duration")
TAXI_FEATURES = ("WEEKEND", "month", "week", "weekday", "minute_oftheday", "distance", "direction")
TAXI_LABEL_SECONDS = 900
TAXI_LABEL_NOTE = ("W-D14: the WhyShift README labels taxi trips 'duration >= 30 min', but the code "
                   "(whyshift/dataset.py::get_taxi) uses trip_duration >= 900 s (15 min); this loader "
                   "follows the code.")
EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1, lng1, lat2, lng2) -> np.ndarray:
    """Great-circle distance in km (the repo's formula, mean Earth radius 6371 km)."""
    lat1, lng1, lat2, lng2 = (np.radians(v) for v in (lat1, lng1, lat2, lng2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))


def bearing_deg(lat1, lng1, lat2, lng2) -> np.ndarray:
    """Initial bearing in degrees, (-180, 180], 0 = north (the repo's ``ft_degree``)."""
    dlng = np.radians(lng2 - lng1)
    lat1, lat2 = np.radians(lat1), np.radians(lat2)
    return np.degrees(np.arctan2(np.sin(dlng) * np.cos(lat2),
                                 np.cos(lat1) * np.sin(lat2) - np.sin(lat1) * np.cos(lat2) * np.cos(dlng)))


def taxi_features(raw: pd.DataFrame) -> pd.DataFrame:
    """Filter, label (trip_duration >= 900 s) and build the 7 features of one city's trips."""
    d = raw[(raw.trip_duration < 5900) & (raw.pickup_longitude > -110) & (raw.pickup_latitude < 50)]
    t = pd.to_datetime(d["pickup_datetime"], format="ISO8601", errors="coerce")
    d, t = d[t.notna().to_numpy()], t[t.notna()]
    cols = (d.pickup_latitude.to_numpy(float), d.pickup_longitude.to_numpy(float),
            d.dropoff_latitude.to_numpy(float), d.dropoff_longitude.to_numpy(float))
    dist, direction = haversine_km(*cols), bearing_deg(*cols)
    duration = d.trip_duration.to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (dist < 200) & (dist / duration < 30)
    weekday = t.dt.weekday.to_numpy(float)
    frame = pd.DataFrame({
        "WEEKEND": 1.0 + (weekday >= 5), "month": t.dt.month.to_numpy(float),
        "week": t.dt.isocalendar().week.to_numpy(float), "weekday": weekday,
        "minute_oftheday": (t.dt.hour * 60 + t.dt.minute).to_numpy(float),
        "distance": dist, "direction": direction})
    frame["y"] = (duration >= TAXI_LABEL_SECONDS).astype(np.int64)
    return frame[keep].reset_index(drop=True)


DEVIATIONS: dict[str, str] = {
    "W-D4 income occupations": "25 big_occp groups as in dataset.py (LGL defined but never selected): "
                               "legal occupations (OCCP 2100-2199) have an all-zero big_occp block.",
    "W-D14 taxi label": TAXI_LABEL_NOTE,
    "no scaling": "no StandardScaler / MinMaxScaler at load (the repo min-max scales accident columns "
                  "over the whole file and optionally standardises ACS columns [:, 2:]); the models "
                  "standardise with source-train statistics.",
    "accident sensitive column": "the Civil_Twilight dummy becomes column 0 NIGHT coded 1 (Day) / 2 "
                                 "(Night); the feature count is unchanged.",
    "accident one-hot order": "the repo iterates a Python set, so its dummy order varies between runs; "
                              "here: Side, Wind_Direction, Weather_Condition, categories sorted, first "
                              "dropped, categories taken from the whole cleaned file before balancing.",
    "accident balancing": "severity 2 vs 3 balanced over the whole file as in the repo, but seeded from "
                          "the run seed (repo: random_state=42); the minority class is kept whole.",
    "accident timestamps": "Start_Time parsed as ISO 8601 (also reads the 2023 release); unparseable "
                           "times become NaN and the row is dropped with the other NaN rows.",
    "taxi sensitive column": "column 0 WEEKEND = 1 + (weekday >= 5) replaces the repo's `hour`, which "
                             "is minute_oftheday // 60, so the information content is unchanged.",
    "taxi subsample": "the repo keeps an unseeded random 10,000 rows per city (df.sample(n=10000)); "
                      "here every row is kept and §3.1 / max_target_rows cap the sizes.",
}
