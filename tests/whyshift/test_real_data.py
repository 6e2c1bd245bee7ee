"""Real-data loaders of the paper profile (spec §3.1, §4.5) on tiny fixture files in the raw layouts."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from components.core.errors import MissingInputError, UserError
from components.whyshift import real_data as rd
from components.whyshift.real_parsers import (
    BIG_OCCP,
    CIT,
    COW,
    ESR,
    INCOME_FEATURES,
    LARGE_OCCP_GROUPS,
    MARITAL,
    MOBILITY_FEATURES,
    PUBCOV_FEATURES,
    RACE,
    RELP,
    TAXI_FEATURES,
)
from components.whyshift.settings import ACCIDENT_DOMAINS, ACS_DOMAINS

# ------------------------------------------------------------------------------------ ACS fixture

def acs_raw(n: int, seed: int) -> pd.DataFrame:
    """A PUMS-like person table: integer codes, blanks where the Census leaves them blank."""
    r = np.random.default_rng(seed)
    age = r.integers(0, 95, n)

    def some(lo, hi, p_nan=0.0, mask=None):
        v = pd.array(r.integers(lo, hi + 1, n), dtype="Int64")
        blank = r.random(n) < p_nan if mask is None else mask
        v[blank] = pd.NA
        return v

    d = pd.DataFrame({
        "RT": "P", "SERIALNO": [f"2018HU{seed:03d}{i:05d}" for i in range(n)], "ST": 6, "ADJINC": 1013097,
        "PWGTP": some(0, 200), "AGEP": age, "SEX": some(1, 2), "WKHP": some(1, 99, 0.3),
        "PINCP": some(-5000, 150_000, mask=age < 15), "MAR": some(1, 5), "RELP": some(0, 17),
        "RAC1P": some(1, 9), "COW": some(1, 9, 0.3), "SCHL": some(1, 24, mask=age < 3),
        "OCCP": pd.array(r.choice([10, 440, 2100, 2145, 3000, 4000, 5000, 7700, 9800, 9920], n),
                         dtype="Int64"),
        "PUBCOV": some(1, 2), "MIG": some(1, 3, mask=age < 1), "DIS": some(1, 2), "ESP": some(1, 8, 0.6),
        "CIT": some(1, 5), "MIL": some(1, 4, mask=age < 17), "ANC": some(1, 4), "NATIVITY": some(1, 2),
        "DEAR": some(1, 2), "DEYE": some(1, 2), "DREM": some(1, 2, mask=age < 5),
        "FER": some(1, 2, 0.7), "GCL": some(1, 2, 0.5), "JWMNP": some(1, 120, 0.5),
        "ESR": some(1, 6, mask=age < 16)})
    d.loc[r.random(n) < 0.2, "OCCP"] = pd.NA
    # boundary rows for the filters and labels
    d.loc[0, ["AGEP", "PINCP", "WKHP", "PWGTP"]] = [17, 50_001, 40, 5]      # income: kept, y = 1
    d.loc[1, ["AGEP", "PINCP", "WKHP", "PWGTP"]] = [17, 50_000, 40, 5]      # income: kept, y = 0
    d.loc[2, ["AGEP", "PINCP", "WKHP", "PWGTP"]] = [16, 60_000, 40, 5]      # income: dropped (age)
    d.loc[3, ["AGEP", "PINCP", "WKHP", "PWGTP"]] = [40, 100, 40, 5]         # income: dropped (PINCP)
    d.loc[4, ["AGEP", "PINCP", "WKHP", "PWGTP"]] = [40, 30_000, 40, 0]      # income: dropped (PWGTP)
    d.loc[5, ["AGEP", "PINCP", "WKHP", "PWGTP", "OCCP", "COW"]] = [40, 90_000, 40, 5, 2145, 1]  # LGL
    d.loc[6, ["AGEP", "PINCP", "WKHP", "PWGTP", "OCCP", "COW"]] = [40, 90_000, 40, 5, 440, 1]   # MGR
    d.loc[7, ["AGEP", "PINCP", "WKHP", "PWGTP", "OCCP", "COW"]] = [40, 90_000, 40, 5, 9920, 9]  # no
    return d


def write_acs(root, state: str, year: int, n: int = 80, seed: int | None = None) -> pd.DataFrame:
    raw = acs_raw(n, seed if seed is not None else rd.ACS_DOMAINS.index(state) + year)
    path = rd.acs_path(root, state, year)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw.to_csv(path, index=False)
    return raw


def num(raw: pd.DataFrame, col: str) -> np.ndarray:
    return raw[col].astype("float64").to_numpy()


def block(frame: pd.DataFrame, names) -> np.ndarray:
    return frame[list(names)].to_numpy().sum(axis=1)


# ----------------------------------------------------------------------------------- ACS tasks

def test_income_features_filters_labels_and_onehots(tmp_path):
    raw = write_acs(tmp_path, "CA", 2018, n=400, seed=1)
    f = rd.acs_frame("income", "CA", 2018, tmp_path)
    age, pincp, wkhp, w = (num(raw, c) for c in ("AGEP", "PINCP", "WKHP", "PWGTP"))
    keep = (age > 16) & (pincp > 100) & (wkhp > 0) & (w >= 1)
    assert list(f.columns) == list(INCOME_FEATURES) + ["y"] and len(INCOME_FEATURES) == 76
    assert len(f) == keep.sum() and keep[:2].all() and not keep[2:5].any()
    np.testing.assert_array_equal(f["AGEP"], age[keep])
    np.testing.assert_array_equal(f["y"], (pincp[keep] > 50_000).astype(int))
    assert f["y"].iloc[:2].tolist() == [1, 0]                       # PINCP 50,001 vs 50,000
    assert set(f["SEX"]) == {1.0, 2.0} and f.columns[0] == "SEX"
    assert (f.dtypes.drop("y") == np.float64).all() and f["y"].dtype == np.int64
    assert (block(f, MARITAL) == 1).all() and (block(f, RACE) == 1).all() and (block(f, RELP) == 1).all()
    occ = num(raw, "OCCP")[keep]
    np.testing.assert_array_equal(block(f, COW), ~np.isnan(num(raw, "COW")[keep]))
    legal = (occ // 100) == 21
    np.testing.assert_array_equal(block(f, BIG_OCCP), ~np.isnan(occ) & ~legal)   # W-D4: LGL all zero
    np.testing.assert_array_equal(block(f, LARGE_OCCP_GROUPS), ~np.isnan(occ))
    lgl, mgr, none = f.iloc[2], f.iloc[3], f.iloc[4]                # fixture rows 5, 6, 7
    assert block(lgl.to_frame().T, BIG_OCCP)[0] == 0 and lgl["large_occp_Lg"] == 1
    assert mgr["big_occp_MGR"] == 1 and mgr["large_occp_Lg"] == 1 and mgr["cow_employee_profit"] == 1
    assert none["big_occp_no"] == 1 and none["large_occp_Non_Lg"] == 1 and none["cow_unemployed"] == 1
    schl = num(raw, "SCHL")[keep]
    np.testing.assert_array_equal(f["schl_at_least_bachelor"], schl >= 21)
    np.testing.assert_array_equal(f["SCHL"], np.nan_to_num(schl, nan=0.0))


def test_pubcov_features_filters_labels(tmp_path):
    raw = write_acs(tmp_path, "NE", 2018, n=400, seed=2)
    f = rd.acs_frame("pubcov", "NE", 2018, tmp_path)
    age, pincp = num(raw, "AGEP"), num(raw, "PINCP")
    keep = (age < 65) & (pincp <= 30_000)                           # blank PINCP (children) fails
    assert list(f.columns) == list(PUBCOV_FEATURES) + ["y"] and len(PUBCOV_FEATURES) == 42
    assert len(f) == keep.sum() > 0
    np.testing.assert_array_equal(f["y"], (num(raw, "PUBCOV")[keep] == 1).astype(int))
    np.testing.assert_array_equal(f["PINCP"], pincp[keep])
    np.testing.assert_array_equal(f["ESP"], np.nan_to_num(num(raw, "ESP")[keep], nan=0.0))  # NaN → 0
    assert (block(f, CIT) == 1).all() and (block(f, MARITAL) == 1).all()
    np.testing.assert_array_equal(block(f, ESR), ~np.isnan(num(raw, "ESR")[keep]))
    assert set(f["SEX"]) == {1.0, 2.0}


def test_mobility_features_filters_labels(tmp_path):
    raw = write_acs(tmp_path, "MS", 2018, n=400, seed=3)
    f = rd.acs_frame("mobility", "MS", 2018, tmp_path)
    age = num(raw, "AGEP")
    keep = (age > 18) & (age < 35)
    assert list(f.columns) == list(MOBILITY_FEATURES) + ["y"] and len(MOBILITY_FEATURES) == 63
    assert len(f) == keep.sum() > 0 and f["AGEP"].between(19, 34).all()
    np.testing.assert_array_equal(f["y"], (num(raw, "MIG")[keep] == 1).astype(int))
    assert (block(f, RELP) == 1).all() and (block(f, RACE) == 1).all()
    np.testing.assert_array_equal(block(f, COW), ~np.isnan(num(raw, "COW")[keep]))


# -------------------------------------------------------------------------------- splits, setting

@pytest.mark.parametrize("n, sizes", [(41_000, (20_000, 10_000, 10_000)), (40_000, (20_000, 10_000, 10_000)),
                                      (39_999, (20_000, 9_999, 10_000)), (101, (51, 25, 25))])
def test_split_rule(n, sizes):
    frame = pd.DataFrame({"i": np.arange(n)})
    train, val, test = rd.split_source(frame, seed=3)
    assert (len(train), len(val), len(test)) == sizes
    ids = np.concatenate([train.i, val.i, test.i])
    assert len(np.unique(ids)) == len(ids)                          # disjoint
    again = rd.split_source(frame, seed=3)
    assert all(a.equals(b) for a, b in zip((train, val, test), again))


@pytest.fixture(scope="module")
def acs_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("acs-root")
    for state in ACS_DOMAINS:
        write_acs(root, state, 2018, n=120 if state == "CA" else 40)
    return root


def test_spatial_setting_splits_targets_and_determinism(acs_root):
    data = rd.load_setting_real(1, acs_root, seed=0)
    full = rd.acs_frame("income", "CA", 2018, acs_root)
    n = len(full)
    held = n // 2
    assert (len(data.train), len(data.id_val), len(data.id_test)) == (n - held, held // 2, held - held // 2)
    assert data.source == "CA" and data.main_target == "PR" and len(data.targets) == 50
    assert "CA" not in data.targets and len(data.feature_names) == 76
    for name, frame in data.targets.items():
        assert (frame["domain"] == name).all() and list(frame.columns) == list(data.train.columns)
    pooled = pd.concat([data.train, data.id_val, data.id_test]).drop(columns="domain")
    key = list(full.columns)
    pd.testing.assert_frame_equal(pooled.sort_values(key).reset_index(drop=True),
                                  full.sort_values(key).reset_index(drop=True))
    again = rd.load_setting_real(1, acs_root, seed=0)
    assert again.train.equals(data.train) and again.targets["AL"].equals(data.targets["AL"])
    other = rd.load_setting_real(1, acs_root, seed=1)
    assert not other.train.equals(data.train)
    capped = rd.load_setting_real(1, acs_root, seed=0, max_target_rows=5)
    assert max(len(f) for f in capped.targets.values()) == 5
    assert rd.load_setting_real(2, acs_root, seed=0).main_target == "PR"   # fallback main target


def test_cache_written_and_reused(tmp_path):
    write_acs(tmp_path, "CT", 2018, seed=5)
    first = rd.acs_frame("income", "CT", 2018, tmp_path)
    cache = tmp_path / "cache" / "v1" / "income_CT_2018.parquet"
    assert cache.exists() and pd.read_parquet(cache).equals(first)
    rd.acs_path(tmp_path, "CT", 2018).unlink()                      # raw gone: the cache serves
    assert rd.acs_frame("income", "CT", 2018, tmp_path).equals(first)
    write_acs(tmp_path, "CT", 2018, seed=6)                         # a newer raw file: re-parsed
    later = cache.stat().st_mtime + 10
    os.utime(rd.acs_path(tmp_path, "CT", 2018), (later, later))
    assert not rd.acs_frame("income", "CT", 2018, tmp_path).equals(first)


def test_missing_file_names_the_path(tmp_path, monkeypatch):
    for state in ACS_DOMAINS:
        if state != "WY":
            write_acs(tmp_path, state, 2018, n=10)
    with pytest.raises(MissingInputError) as err:
        rd.load_setting_real(3, tmp_path, seed=0)
    expected = tmp_path / "acs" / "2018" / "1-Year" / "psam_p56.csv"
    assert str(expected) in err.value.problem and "1 raw file(s)" in err.value.problem
    assert "ACSDataSource(survey_year='2018'" in err.value.fix and str(expected) in err.value.fix
    with pytest.raises(MissingInputError, match="US_Accidents_Dec21_updated.csv"):
        rd.load_setting_real(16, tmp_path, seed=0)
    with pytest.raises(MissingInputError, match="nyc_clean.csv"):
        rd.load_setting_real(10, tmp_path, seed=0)
    # the root itself
    monkeypatch.delenv(rd.DATA_ENV, raising=False)
    with pytest.raises(UserError, match=rd.DATA_ENV):
        rd.data_root(None)
    with pytest.raises(MissingInputError, match="does not exist"):
        rd.data_root(str(tmp_path / "nope"))
    (tmp_path / "whyshift").mkdir()
    monkeypatch.setenv(rd.DATA_ENV, str(tmp_path))
    assert rd.data_root(None) == tmp_path / "whyshift" and rd.data_root(str(tmp_path)) == tmp_path


def test_expected_layout(tmp_path):
    spatial = rd.expected_layout(1, tmp_path)
    assert len(spatial) == 51 and spatial[0] == tmp_path / "acs/2018/1-Year/psam_p06.csv"
    assert tmp_path / "acs/2018/1-Year/psam_p72.csv" in spatial
    assert rd.expected_layout(19, tmp_path) == [
        tmp_path / "acs/2010/1-Year/ss10pny.csv", tmp_path / "acs/2014/1-Year/ss14pny.csv",
        tmp_path / "acs/2017/1-Year/psam_p36.csv", tmp_path / "acs/2018/1-Year/psam_p36.csv"]
    assert rd.expected_layout(16, tmp_path) == [tmp_path / "accident/US_Accidents_Dec21_updated.csv"]
    assert rd.expected_layout(9, tmp_path) == [tmp_path / f"taxi/{c}_clean.csv"
                                               for c in ("bog", "nyc", "uio", "mex")]
    assert rd.expected_layout(22, tmp_path) == [tmp_path / "acs/2018/1-Year/psam_p06.csv"]


def test_temporal_setting(tmp_path):
    for year in rd.TEMPORAL_REAL_YEARS[1:]:
        write_acs(tmp_path, "NY", year, n=150)
    with pytest.raises(MissingInputError) as err:
        rd.load_setting_real(19, tmp_path, seed=0)
    assert str(tmp_path / "acs/2010/1-Year/ss10pny.csv") in err.value.problem
    assert "pums/2010/1-Year/csv_pny.zip" in err.value.fix and "refuses years before 2014" in err.value.fix
    write_acs(tmp_path, "NY", 2010, n=150)
    data = rd.load_setting_real(19, tmp_path, seed=0)
    assert data.source == "2010" and list(data.targets) == ["2014", "2017", "2018"]
    assert data.main_target == "2017" and data.base_domain == "NY" and len(data.feature_names) == 42
    n = len(rd.acs_frame("pubcov", "NY", 2010, tmp_path))
    assert len(data.train) + len(data.id_val) + len(data.id_test) == n
    assert len(data.targets["2014"]) == len(rd.acs_frame("pubcov", "NY", 2014, tmp_path))


def test_age_selection_setting(tmp_path):
    write_acs(tmp_path, "CA", 2018, n=1500, seed=7)
    pool = rd.acs_frame("income", "CA", 2018, tmp_path)
    age = pool["AGEP"].to_numpy()
    src, tgt, thr = rd.age_mixture(age, 0.8, seed=1)
    assert thr == np.median(age) and len(np.intersect1d(src, tgt)) == 0
    assert (age[src] < thr).sum() == round(0.8 * len(src)) and (age[tgt] < thr).sum() == round(0.2 * len(tgt))
    n_young, n_old = (age < thr).sum(), (age >= thr).sum()
    fits = lambda n, share, y, o: round(share * n) <= y and n - round(share * n) <= o   # noqa: E731
    sides = [(0.8, src, n_young // 2, n_old // 2),                  # each age group halved between sides
             (0.2, tgt, n_young - n_young // 2, n_old - n_old // 2)]
    for share, idx, y, o in sides:                                  # the largest mixture that fits
        assert fits(len(idx), share, y, o) and not fits(len(idx) + 1, share, y, o) and len(idx) > 100
    data = rd.load_setting_real(22, tmp_path, seed=0)
    source = pd.concat([data.train, data.id_val, data.id_test])
    assert data.source == "younger" and list(data.targets) == ["older"] and data.main_target == "older"
    assert (source["AGEP"] < data.info["age_threshold"]).sum() == round(0.9 * len(source))
    target = data.targets["older"]
    assert len(target) > 0 and (target["AGEP"] < data.info["age_threshold"]).sum() == round(0.1 * len(target))
    assert len(rd.load_setting_real(22, tmp_path, seed=0, max_target_rows=50).targets["older"]) == 50


# ------------------------------------------------------------------------------------- accidents

ACC_RAW_COLUMNS = [
    "ID", "Severity", "Start_Time", "End_Time", "Start_Lat", "Start_Lng", "End_Lat", "End_Lng",
    "Distance(mi)", "Description", "Number", "Street", "Side", "City", "County", "State", "Zipcode",
    "Country", "Timezone", "Airport_Code", "Weather_Timestamp", "Temperature(F)", "Wind_Chill(F)",
    "Humidity(%)", "Pressure(in)", "Visibility(mi)", "Wind_Direction", "Wind_Speed(mph)",
    "Precipitation(in)", "Weather_Condition", "Amenity", "Bump", "Crossing", "Give_Way", "Junction",
    "No_Exit", "Railway", "Roundabout", "Station", "Stop", "Traffic_Calming", "Traffic_Signal",
    "Turning_Loop", "Sunrise_Sunset", "Civil_Twilight", "Nautical_Twilight", "Astronomical_Twilight"]
WEATHER_RAW = ["Fair", "Clear", "Cloudy / Windy", "Light Rain with Thunder", "Rain and Snow", "Overcast",
               "Haze", "Light Ice Pellets", "Widespread Dust", "Smoke", "Tornado", "Light Rain"]
WIND_RAW = ["CALM", "VAR", "East", "North", "South", "West", "NE", "WSW", "NNW", "SE"]


def accident_raw(n_per_state: int = 30, seed: int = 0) -> pd.DataFrame:
    """Kaggle US_Accidents_Dec21_updated.csv columns; the ``Distance(mi)`` value identifies a row."""
    r = np.random.default_rng(seed)
    n = n_per_state * len(ACCIDENT_DOMAINS)
    d = pd.DataFrame({c: "x" for c in ACC_RAW_COLUMNS}, index=range(n))
    d["ID"] = [f"A-{i}" for i in range(n)]
    d["State"] = np.repeat(ACCIDENT_DOMAINS, n_per_state)
    d["Severity"] = r.choice([2, 2, 2, 3], n)
    d["Start_Time"] = pd.Timestamp("2016-02-08 05:46:00") + pd.to_timedelta(r.integers(0, 10**7, n), unit="min")
    d["Start_Lat"], d["Start_Lng"] = r.uniform(30, 45, n), r.uniform(-120, -75, n)
    d["Distance(mi)"] = np.round(0.01 * (np.arange(n) + 1), 2)
    d["Side"] = r.choice(["R", "L"], n)
    d["Temperature(F)"], d["Humidity(%)"] = r.uniform(0, 100, n).round(1), r.uniform(10, 100, n).round()
    d["Pressure(in)"], d["Visibility(mi)"] = r.uniform(28, 31, n).round(2), r.uniform(1, 10, n).round()
    d["Wind_Speed(mph)"], d["Precipitation(in)"] = r.uniform(0, 20, n).round(1), r.uniform(0, 1, n).round(2)
    d["Wind_Direction"] = r.choice(WIND_RAW, n)
    d["Weather_Condition"] = r.choice(WEATHER_RAW, n)
    for c in ACC_RAW_COLUMNS[30:43]:
        d[c] = r.random(n) < 0.2
    d["Civil_Twilight"] = r.choice(["Day", "Night"], n)
    # rows every cleaning rule must act on (all severity 3, the minority, so balancing keeps them)
    d.loc[0:12, "Severity"] = 3
    d.loc[0, "Pressure(in)"] = 0.0                                  # dropped
    d.loc[1, "Visibility(mi)"] = 0.0                                # dropped
    d.loc[2, "Side"] = " "                                          # dropped
    d.loc[3, "Wind_Direction"] = np.nan                             # dropped (NaN)
    d.loc[4, "Weather_Condition"] = "N/A Precipitation"             # dropped (mapped to NaN)
    d.loc[5, "Severity"], d.loc[6, "Severity"] = 1, 4               # dropped
    d.loc[7, "Temperature(F)"] = np.nan                             # kept, mean-imputed
    d.loc[8, ["Side", "Weather_Condition", "Wind_Direction"]] = ["N", "Tornado", "WSW"]
    d.loc[9, ["Weather_Condition", "Wind_Direction"]] = ["Cloudy / Windy", "CALM"]
    d.loc[10, ["Weather_Condition", "Civil_Twilight"]] = ["Light Rain with Thunder", "Night"]
    d.loc[11, ["Weather_Condition", "Civil_Twilight"]] = ["Rain and Snow", "Day"]
    d.loc[12, "Start_Time"] = pd.Timestamp("2016-02-08 05:46:00")
    dup = d.loc[[12]].assign(ID="A-dup", Start_Time=pd.Timestamp("2016-02-08 05:46:30"))
    d = pd.concat([d, dup], ignore_index=True)                      # same minute: a duplicate
    d["Start_Time"] = d["Start_Time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return d


@pytest.fixture(scope="module")
def accident_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("accident-root")
    raw = accident_raw()
    (root / "accident").mkdir()
    raw.to_csv(root / "accident" / "US_Accidents_Dec21_updated.csv", index=False)
    return root, raw


def test_accident_cleaning_balance_and_features(accident_root):
    root, raw = accident_root
    frames = {s: rd.accident_frame(s, root, seed=0) for s in ACCIDENT_DOMAINS}
    allrows = pd.concat(frames.values(), ignore_index=True)
    feats = [c for c in allrows.columns if c != "y"]
    # 26 numeric/flag/time columns + Side {L, N, R} → 2 + wind 10 → 9 + weather 11 → 10
    assert len(feats) == 47 and feats[0] == "NIGHT" and set(allrows["NIGHT"]) == {1.0, 2.0}
    assert (allrows.dtypes[feats] == np.float64).all()
    ids = allrows["Distance(mi)"].round(2)
    assert not set(ids) & {0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07}   # rows 0-6 dropped
    assert (ids == 0.13).sum() == 1                                 # duplicate removed
    n1 = int(allrows["y"].sum())
    assert n1 == len(allrows) - n1                                  # balanced over the whole file
    expected_sev3 = raw.index[(raw.Severity == 3)].difference(range(0, 7)).difference([len(raw) - 1])
    assert n1 == len(expected_sev3)                                 # the minority is kept whole
    kept_temp = raw.drop(index=[0, 1, 2, len(raw) - 1])["Temperature(F)"].mean()
    row = lambda i: allrows[ids == round(0.01 * (i + 1), 2)].iloc[0]   # noqa: E731
    assert row(7)["Temperature(F)"] == pytest.approx(kept_temp)
    tornado, windy, thunder, snow = row(8), row(9), row(10), row(11)
    assert tornado["Weather_Condition_Tornado"] == 1 and tornado["Side_N"] == 1
    assert tornado["Wind_Direction_SW"] == 1
    assert windy["Weather_Condition_Windy"] == 1
    assert sum(windy[c] for c in feats if c.startswith("Wind_Direction_")) == 0   # Calm: dropped level
    assert thunder["Weather_Condition_Thunderstorm"] == 1 and thunder["NIGHT"] == 2
    assert snow["Weather_Condition_Snow"] == 1 and snow["NIGHT"] == 1
    assert row(12)[["Year", "Month", "Weekday", "Day", "Hour", "Minute"]].tolist() == [2016, 2, 0, 8, 5, 46]
    assert "Weather_Condition_Clear" not in feats and "Side_L" not in feats   # first levels dropped
    # seeded: same seed same rows, another seed another subsample of severity 2
    assert rd.accident_frame("CA", root, seed=0).equals(frames["CA"])
    other = pd.concat([rd.accident_frame(s, root, seed=1) for s in ACCIDENT_DOMAINS])
    assert len(other) == len(allrows) and not set(other["Distance(mi)"]) == set(allrows["Distance(mi)"])
    assert (root / "cache/v1/accident_US_Accidents_Dec21_updated_meta.json").exists()
    assert all((root / f"cache/v1/accident_{s}_US_Accidents_Dec21_updated.parquet").exists()
               for s in ACCIDENT_DOMAINS)


def test_accident_setting(accident_root):
    root, _ = accident_root
    data = rd.load_setting_real(16, root, seed=0)
    assert data.source == "CA" and data.main_target == "OR" and len(data.targets) == 12
    assert len(data.feature_names) == 47
    n = len(rd.accident_frame("CA", root, seed=0))
    assert len(data.train) == n - n // 2 and len(data.id_val) + len(data.id_test) == n // 2


# ------------------------------------------------------------------------------------------ taxi

def taxi_raw(city: str, n: int = 60, seed: int = 0) -> pd.DataFrame:
    """NYC: the competition's train.csv columns; other cities: the mnavas *_clean.csv columns."""
    r = np.random.default_rng(seed)
    lat, lng = {"nyc": (40.7, -74.0), "bog": (4.65, -74.1), "uio": (-0.2, -78.5), "mex": (19.4, -99.1)}[city]
    start = pd.Timestamp("2016-03-01") + pd.to_timedelta(r.integers(0, 60 * 24 * 60, n), unit="min")
    dur = r.integers(60, 3600, n)
    jitter = lambda centre: centre + r.normal(0, 0.02, n)   # noqa: E731
    d = pd.DataFrame({"id": [f"id{i}" for i in range(n)], "vendor_id": 1, "pickup_datetime": start,
                      "dropoff_datetime": start + pd.to_timedelta(dur, unit="s"),
                      "pickup_longitude": jitter(lng), "pickup_latitude": jitter(lat),
                      "dropoff_longitude": jitter(lng), "dropoff_latitude": jitter(lat),
                      "store_and_fwd_flag": "N", "trip_duration": dur})
    if city == "nyc":
        d.insert(4, "passenger_count", r.integers(1, 6, n))
        trip = ["pickup_datetime", "pickup_latitude", "pickup_longitude", "dropoff_latitude",
                "dropoff_longitude", "trip_duration"]
        d.loc[0, trip] = [pd.Timestamp("2016-03-14 17:24:55"), 40, -74, 41, -74, 899]   # Monday, due north
        d.loc[1, trip] = [pd.Timestamp("2016-03-19 10:00:00"), 40, -74, 40, -73, 900]   # Saturday, east
        d.loc[2, "trip_duration"] = 901
        d.loc[3, "trip_duration"] = 5899                            # kept
        d.loc[4, "trip_duration"] = 5900                            # dropped
        d.loc[5, "pickup_longitude"] = -111                         # dropped
        d.loc[6, "pickup_latitude"] = 51                            # dropped
        d.loc[7, ["dropoff_latitude", "dropoff_longitude"]] = [43, -74]   # ≈ 256 km: dropped
        d.loc[8, "trip_duration"] = 0                               # infinite speed: dropped
    else:
        d["dist_meters"], d["wait_sec"] = r.integers(100, 9000, n), r.integers(0, 600, n)
        d["vendor_id"] = f"{city} Taxi Libre"
    d["pickup_datetime"] = pd.to_datetime(d["pickup_datetime"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    return d


@pytest.fixture(scope="module")
def taxi_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("taxi-root")
    (root / "taxi").mkdir()
    raws = {}
    for i, city in enumerate(("nyc", "bog", "uio", "mex")):
        raws[city] = taxi_raw(city, seed=i)
        raws[city].to_csv(root / "taxi" / f"{city}_clean.csv", index=False)
    return root, raws


def test_taxi_features_label_and_filters(taxi_root):
    root, raws = taxi_root
    f = rd.taxi_frame("NYC", root)
    assert list(f.columns) == list(TAXI_FEATURES) + ["y"] and len(TAXI_FEATURES) == 7
    assert len(f) == len(raws["nyc"]) - 5 and set(f["WEEKEND"]) <= {1.0, 2.0}
    a, b = f.iloc[0], f.iloc[1]
    assert a["y"] == 0 and b["y"] == 1 and f.iloc[2]["y"] == 1     # 899 s, 900 s, 901 s
    assert a["distance"] == pytest.approx(6371 * np.pi / 180) and a["direction"] == pytest.approx(0.0)
    assert b["distance"] == pytest.approx(85.17, abs=0.01) and b["direction"] == pytest.approx(89.679, abs=1e-3)
    assert a[["WEEKEND", "month", "week", "weekday", "minute_oftheday"]].tolist() == [1, 3, 11, 0, 1044]
    assert b[["WEEKEND", "weekday", "minute_oftheday"]].tolist() == [2, 5, 600]
    np.testing.assert_array_equal(f["y"], (raws["nyc"].trip_duration.drop([4, 5, 6, 7, 8]) >= 900).astype(int))
    assert len(rd.taxi_frame("BOG", root)) == len(raws["bog"])
    assert (root / "cache/v1/taxi_NYC_nyc_clean.parquet").exists()


def test_taxi_settings(taxi_root):
    root, raws = taxi_root
    nyc = rd.load_setting_real(10, root, seed=0)
    assert nyc.source == "NYC" and list(nyc.targets) == ["BOG", "UIO", "MEX"] and nyc.main_target == "BOG"
    assert len(nyc.train) == len(rd.taxi_frame("NYC", root)) - len(rd.taxi_frame("NYC", root)) // 2
    bog = rd.load_setting_real(9, root, seed=0)
    assert bog.source == "BOG" and bog.main_target == "NYC" and len(bog.feature_names) == 7


def test_pipeline_runs_end_to_end_on_real_taxi_files(tmp_path):
    """`data.source: real` through the real CLI: prepare validates, train fits all 24 methods, evaluate has
    no ground truth (NaN true terms), claims that need truth are inconclusive, nothing is downloaded."""
    import json

    from helpers import copy_project, run_cli

    root = tmp_path / "data-root"
    (root / "taxi").mkdir(parents=True)
    for i, city in enumerate(("nyc", "bog", "uio", "mex")):
        taxi_raw(city, n=400, seed=i).to_csv(root / "taxi" / f"{city}_clean.csv", index=False)
    from components.core.paths import output_root

    overrides = ["whyshift.data.source=real", f"whyshift.data.root={root}", "whyshift.data.settings=[10]"]
    project = copy_project(tmp_path / "project")
    proc = run_cli(["run", "whyshift", "--profile", "smoke", *(a for o in overrides for a in ("--set", o))], project)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = output_root(project, "smoke", overrides)  # other params: their own folder under runs/
    disde = pd.read_parquet(out / "data/whyshift/evaluate/disde.parquet")
    assert disde["true_total"].isna().all() and disde["est_total"].notna().all()
    assert not (out / "data/whyshift/prepared/settings/10/world.json").exists()
    results = pd.read_parquet(out / "data/whyshift/train/results.parquet")
    assert len(results) == 24 and (results["status"] == "ok").all() and (results["n_features"] == 7).all()
    claims = {c["id"]: c for c in json.loads((out / "reports/whyshift/claims.json").read_text())}
    assert claims["C2"]["verdict"] == "inconclusive" and claims["C8"]["verdict"] == "inconclusive"
    assert "synthetic" not in claims["C3"]["observed"]


def test_missing_real_data_is_a_user_error(tmp_path):
    from helpers import copy_project, run_cli

    project = copy_project(tmp_path / "project")
    (tmp_path / "empty").mkdir()
    proc = run_cli(["run", "whyshift", "--profile", "smoke", "--set", "whyshift.data.source=real",
                    "--set", f"whyshift.data.root={tmp_path / 'empty'}"], project)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "psam_p06.csv" in proc.stderr  # names the exact file it needs
