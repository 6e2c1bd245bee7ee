"""Datasets as windows (spec §3, §4): build the synthetic set or load real trajectories, window them,
write/read the ``{train,test}.npz`` files and define the great-expectations suite.

A dataset split is a set of trajectories; on disk it is flat: windows (``xh``, ``xr``) with per-window
``action``, ``demo``, ``phase``, ``t``, plus the frames they came from (``fh``, ``fr``, ``frame_demo``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.core.errors import UserError
from components.core.safeload import load_npz_objects
from components.core.seeding import derive_seed

W = 5  # window length (frames) of input and target


def window_concat(frames_h: np.ndarray, frames_r: np.ndarray, w: int = W) -> tuple[np.ndarray, np.ndarray]:
    """(T, d_h), (T, d_r) → inputs (T−2w+1, w·d_h) = frames [t, t+w), targets = robot frames [t+w, t+2w),
    flattened frame-major."""
    T = len(frames_h)
    n = T - 2 * w + 1
    if n < 1:
        raise ValueError(f"a trajectory of {T} frames is shorter than two windows ({2 * w})")
    xh = np.stack([frames_h[t:t + w].reshape(-1) for t in range(n)])
    xr = np.stack([frames_r[t + w:t + 2 * w].reshape(-1) for t in range(n)])
    return xh, xr


@dataclass
class Split:
    """Windows of one split, grouped by trajectory (rows sorted by demo, then t)."""

    xh: np.ndarray
    xr: np.ndarray
    action: np.ndarray
    demo: np.ndarray
    phase: np.ndarray
    t: np.ndarray
    fh: np.ndarray  # frames (Σ T, d_h frame) — validation, rollouts
    fr: np.ndarray
    frame_demo: np.ndarray

    def demos(self) -> np.ndarray:
        return np.unique(self.demo)

    def trajectories(self, demos=None) -> list[dict]:
        """One dict per demo: xh (T', Dh), xr (T', Dr), action, phase, t — what the models train on."""
        out = []
        for d in (self.demos() if demos is None else demos):
            m = self.demo == d
            out.append({"demo": int(d), "xh": self.xh[m], "xr": self.xr[m], "action": int(self.action[m][0]),
                        "phase": self.phase[m], "t": self.t[m]})
        return out

    def subset(self, demos) -> "Split":
        m = np.isin(self.demo, demos)
        fm = np.isin(self.frame_demo, demos)
        return Split(self.xh[m], self.xr[m], self.action[m], self.demo[m], self.phase[m], self.t[m],
                     self.fh[fm], self.fr[fm], self.frame_demo[fm])


def assemble(trajs: list[dict]) -> Split:
    """trajs: dicts with demo, action, fh (T, d), fr (T, d'), phase (T,) → windowed :class:`Split`."""
    parts = {k: [] for k in ("xh", "xr", "action", "demo", "phase", "t", "fh", "fr", "frame_demo")}
    for tr in trajs:
        xh, xr = window_concat(tr["fh"], tr["fr"])
        n = len(xh)
        parts["xh"].append(xh)
        parts["xr"].append(xr)
        parts["action"].append(np.full(n, tr["action"]))
        parts["demo"].append(np.full(n, tr["demo"]))
        parts["phase"].append(np.asarray(tr["phase"])[W:W + n])  # phase of the target window's first frame
        parts["t"].append(np.arange(n))
        parts["fh"].append(tr["fh"])
        parts["fr"].append(tr["fr"])
        parts["frame_demo"].append(np.full(len(tr["fh"]), tr["demo"]))
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return Split(**{k: (cat[k].astype(np.int64) if k in ("action", "demo", "phase", "t", "frame_demo")
                        else cat[k].astype(np.float64)) for k in cat})


def synthetic_splits(knobs, seed: int) -> tuple[Split, Split]:
    """Spec §4.1 steps 1–8: per action, ``demos_per_action`` demos of which the last ``test_per_action`` are test."""
    from components.moveint.synthetic import HUMAN_SHOULDER, agent_frames, generate_demo, pepper_angles

    train, test = [], []
    demo_id = 0
    for a in range(len(knobs.actions)):
        for i in range(knobs.demos_per_action):
            d = generate_demo(knobs, a, derive_seed(seed, "demo", knobs.actions[a], i))
            hp = d.human_pos + d.noise_h - HUMAN_SHOULDER
            rp = d.robot_pos + d.noise_r - HUMAN_SHOULDER
            fr = agent_frames(rp) if knobs.robot_space == "cartesian" else pepper_angles(d.robot_pos + d.noise_r)
            tr = {"demo": demo_id, "action": a, "fh": agent_frames(hp), "fr": fr, "phase": d.robot_phase}
            (test if i >= knobs.demos_per_action - knobs.test_per_action else train).append(tr)
            demo_id += 1
    return assemble(train), assemble(test)


# ---- files ------------------------------------------------------------------------------------------------

FIELDS = ("xh", "xr", "action", "demo", "phase", "t", "fh", "fr", "frame_demo")


def save_split(path: Path, split: Split) -> None:
    from components.core.io import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **{k: getattr(split, k) for k in FIELDS})


def load_split(path: Path) -> Split:
    """Read a split written by :func:`save_split`; a damaged or foreign file is a clear error."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in FIELDS if k not in z.files]
            if missing:
                raise UserError(f"{path} lacks arrays {missing}", "rerun `paperflows run moveint --step prepare`")
            return Split(**{k: z[k] for k in FIELDS})
    except UserError:
        raise
    except Exception as exc:  # truncated zip, not an npz, ...
        raise UserError(f"{path} is not a readable prepared split ({type(exc).__name__}: {exc})",
                        "rerun `paperflows run moveint --step prepare`") from None


# ---- validation (great-expectations) ------------------------------------------------------------------------

def validation_frame(split: Split, other: Split, name: str, d_frame_r: int, cartesian: bool):
    """Per-window summary frame: finiteness, position range, per-demo window count, velocity consistency,
    widths, split disjointness, labels. Velocity check (before windowing): velocity block == first
    difference of the position block (tolerance 1e-9)."""
    import pandas as pd

    rows = []
    other_demos = set(other.demos().tolist())
    for d in split.demos():
        fm = split.frame_demo == d
        fh, fr = split.fh[fm], split.fr[fm]
        T = len(fh)
        n_win = int((split.demo == d).sum())
        vel_err = _vel_error(fh)
        if cartesian:
            vel_err = max(vel_err, _vel_error(fr))
        pos = np.abs(np.concatenate([fh[:, :9].ravel(), fr[:, :9].ravel() if cartesian else []]))
        rows.append({"demo": int(d), "T": T, "n_windows": n_win, "windows_ok": n_win == T - 2 * W + 1,
                     "vel_err": vel_err, "max_abs_pos": float(pos.max()),
                     "in_other_split": int(d) in other_demos})
    demo = pd.DataFrame(rows).set_index("demo")
    frame = pd.DataFrame({"demo": split.demo, "action": split.action, "phase": split.phase,
                          "finite": np.isfinite(split.xh).all(1) & np.isfinite(split.xr).all(1),
                          "in_width": split.xh.shape[1], "out_width": split.xr.shape[1]})
    return frame.join(demo, on="demo")


def _vel_error(frames: np.ndarray) -> float:
    pos, vel = frames[:, :9], frames[:, 9:18]
    ref = np.diff(pos, axis=0, prepend=pos[:1])
    return float(np.abs(vel - ref).max())


def expectations(n_actions: int, d_in: int, d_out: int, cartesian: bool) -> list:
    from components.core.validation import expect

    exp = [
        expect("ExpectColumnValuesToBeInSet", column="finite", value_set=[True]),
        expect("ExpectColumnValuesToBeBetween", column="max_abs_pos", min_value=0.0, max_value=2.0),
        expect("ExpectColumnValuesToBeInSet", column="windows_ok", value_set=[True]),
        expect("ExpectColumnValuesToBeInSet", column="in_width", value_set=[d_in]),
        expect("ExpectColumnValuesToBeInSet", column="out_width", value_set=[d_out]),
        expect("ExpectColumnValuesToBeBetween", column="vel_err", min_value=0.0, max_value=1e-9),
        expect("ExpectColumnValuesToBeInSet", column="in_other_split", value_set=[False]),
        expect("ExpectColumnDistinctValuesToEqualSet", column="action", value_set=list(range(n_actions))),
        expect("ExpectColumnValuesToBeInSet", column="phase", value_set=[0, 1, 2]),
    ]
    return exp


# ---- real data (paper profile; user-supplied, never downloaded) ---------------------------------------------

REAL_FILES = {"buetepage_hh": "buetepage/traj_data.npz", "buetepage_pepper": "buetepage/traj_data.npz",
              "nuisi_hh": "nuisi/traj_data.npz", "nuisi_pepper": "nuisi/traj_data.npz",
              "buetepage_yumi": "buetepage_hr/traj_data.npz"}
# per-action test index ranges of the Bütepage HHI file (phd_utils `actidx`), spec §4.2
BUETEPAGE_TEST_ACTIONS = [(0, 7), (7, 15), (15, 29), (29, 39)]
BUETEPAGE_TRAIN_ACTIONS = [(0, 24), (24, 54), (54, 110), (110, 149)]
NUISI_TRAIN_ACTIONS = [(0, 9), (9, 17), (17, 26), (26, 33)]
NUISI_TEST_ACTIONS = [(0, 3), (3, 6), (6, 9), (9, 11)]


def resample(traj: np.ndarray, factor: float) -> np.ndarray:
    """Linear-interpolation resampling to ``factor`` × the length (phd_utils ``downsample_trajs``)."""
    T = len(traj)
    n = max(int(T * factor), 2)
    src = np.linspace(0, T - 1, n)
    return np.stack([np.interp(src, np.arange(T), traj[:, j]) for j in range(traj.shape[1])], axis=1)


def _with_vel(pos: np.ndarray) -> np.ndarray:
    return np.hstack([pos, np.diff(pos, axis=0, prepend=pos[:1])])


def load_real(data_dir: str | None, dataset: str) -> tuple[Split, Split]:
    """Bütepage / NuiSI HHI (p1 → p2 Cartesian) from the phd_utils preprocessed ``traj_data.npz`` (spec §4.2).

    Pepper targets need the retargeting of phd_utils and YuMi/handover files their own layouts: those
    datasets are named in the spec but not wired here (a clear error says so)."""
    if not data_dir:
        raise UserError("moveint.paper.data_dir is not set", "point it at the folder holding the phd_utils "
                        "data_preproc/ files (see components/moveint/README.md)")
    if dataset not in ("buetepage_hh", "nuisi_hh"):
        raise UserError(f"real dataset {dataset!r} is not wired in this project",
                        "use buetepage_hh or nuisi_hh (the others are listed in the spec §4.2, not implemented)")
    path = Path(data_dir) / REAL_FILES[dataset]
    if not path.exists():
        raise UserError(f"{path} not found", "download and preprocess the data as in phd_utils (spec §4.2)")
    try:
        z = load_npz_objects(path, encoding="bytes")  # object arrays of (T, 18) trajectories, no code run
        raw = {"train": list(z["train_data"]), "test": list(z["test_data"])}
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{path} is not a readable traj_data.npz ({type(exc).__name__}: {exc})",
                        "regenerate it with phd_utils' preprocessing") from None
    ranges = {"buetepage_hh": (BUETEPAGE_TRAIN_ACTIONS, BUETEPAGE_TEST_ACTIONS),
              "nuisi_hh": (NUISI_TRAIN_ACTIONS, NUISI_TEST_ACTIONS)}[dataset]
    out, demo = [], 0
    for split, acts in zip(("train", "test"), ranges):
        trajs = []
        for a, (lo, hi) in enumerate(acts):
            for traj in raw[split][lo:hi]:
                traj = np.asarray(traj, dtype=np.float64)
                if dataset == "buetepage_hh":
                    traj = resample(traj, 0.2)
                fh, fr = _with_vel(traj[:, :9]), _with_vel(traj[:, 9:18])
                trajs.append({"demo": demo, "action": a, "fh": fh, "fr": fr, "phase": np.zeros(len(traj), int)})
                demo += 1
        out.append(assemble(trajs))
    return out[0], out[1]
