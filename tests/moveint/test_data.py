"""Windowing, the synthetic generator (spec §9.1, §9.9) and the great-expectations suite."""

import numpy as np
import pytest

from components.moveint.data import assemble, load_split, save_split, synthetic_splits, validation_frame, window_concat
from components.moveint.params import SyntheticParams
from components.moveint.synthetic import generate_demo

KNOBS = SyntheticParams(demos_per_action=4, test_per_action=1, base_duration_s=2.5)


def test_windowing_frame_major():
    T = 20
    frames = np.repeat(np.arange(T, dtype=float)[:, None], 3, axis=1)  # frame value = frame index
    xh, xr = window_concat(frames, frames + 100)
    assert xh.shape == (T - 9, 15) and xr.shape == (T - 9, 15)
    for t in (0, 4, T - 10):
        assert xh[t].tolist() == np.repeat(np.arange(t, t + 5), 3).tolist()
        assert xr[t].tolist() == (100 + np.repeat(np.arange(t + 5, t + 10), 3)).tolist()
    with pytest.raises(ValueError):
        window_concat(frames[:9], frames[:9])


@pytest.mark.parametrize("action", range(4))
def test_generator_links_phases_and_determinism(action):
    d = generate_demo(KNOBS, action, seed=7)
    for pos in (d.human_pos, d.robot_pos):
        assert np.abs(np.linalg.norm(pos[:, 1] - pos[:, 0], axis=1) - 0.32).max() < 1e-9
        assert np.abs(np.linalg.norm(pos[:, 2] - pos[:, 1], axis=1) - 0.30).max() < 1e-9
    for ph in (d.human_phase, d.robot_phase):  # phases cover the timeline in order, without gaps
        assert ph[0] == 0 and set(np.unique(ph)) == {0, 1, 2} and (np.diff(ph) >= 0).all()
    again = generate_demo(KNOBS, action, seed=7)
    assert np.array_equal(d.human_pos, again.human_pos) and np.array_equal(d.noise_r, again.noise_r)
    assert not np.array_equal(d.noise_h, generate_demo(KNOBS, action, seed=8).noise_h)


def test_handshake_wrists_meet_before_noise():
    for seed in range(5):
        d = generate_demo(KNOBS, KNOBS.actions.index("handshake"), seed)
        both = (d.human_phase == 1) & (d.robot_phase == 1)
        assert both.sum() >= 5
        assert np.linalg.norm(d.human_pos[both, 2] - d.robot_pos[both, 2], axis=1).max() < 0.02
        # while waving, the wrists stay apart (each agent on its own side)
    w = generate_demo(KNOBS, 0, 0)
    assert np.linalg.norm(w.human_pos[w.human_phase == 1, 2] - w.robot_pos[w.human_phase == 1, 2], axis=1).min() > 0.3


def test_splits_sizes_velocities_and_roundtrip(tmp_path):
    train, test = synthetic_splits(KNOBS, seed=3)
    assert len(train.demos()) == 12 and len(test.demos()) == 4
    assert set(train.demos()).isdisjoint(test.demos())
    assert set(test.action) == set(train.action) == {0, 1, 2, 3}
    for d in train.demos():  # T − 9 windows per demo; velocity block = first difference of positions
        fm = train.frame_demo == d
        assert (train.demo == d).sum() == fm.sum() - 9
        pos = train.fh[fm, :9]
        assert np.abs(train.fh[fm, 9:] - np.diff(pos, axis=0, prepend=pos[:1])).max() < 1e-12
    assert train.xh.shape[1] == train.xr.shape[1] == 90
    save_split(tmp_path / "train.npz", train)
    back = load_split(tmp_path / "train.npz")
    assert np.array_equal(back.xr, train.xr) and np.array_equal(back.phase, train.phase)


def test_pepper_space_width():
    train, _ = synthetic_splits(KNOBS.model_copy(update={"robot_space": "pepper4"}), seed=0)
    assert train.xr.shape[1] == 20 and np.isfinite(train.xr).all()
    assert (train.fr[:, 3] >= 0.0087 - 1e-12).all() and (train.fr[:, 3] <= 1.562 + 1e-12).all()


def test_validation_fails_on_broken_velocity_and_overlap():
    from components.core.errors import DataValidationError
    from components.core.validation import validate_frame
    from components.moveint.data import expectations

    train, test = synthetic_splits(KNOBS, seed=0)
    exp = expectations(4, 90, 90, True)
    assert validate_frame(validation_frame(train, test, "train", 18, True), exp, "ok")["success"]
    train.fh[3, 12] += 0.01  # velocity no longer the first difference
    with pytest.raises(DataValidationError) as err:
        validate_frame(validation_frame(train, train, "train", 18, True), exp, "bad")
    names = {(f["expectation"], f["column"]) for f in err.value.failures}
    assert ("expect_column_values_to_be_between", "vel_err") in names
    assert ("expect_column_values_to_be_in_set", "in_other_split") in names


def test_corrupt_split_file_is_a_user_error(tmp_path):
    from components.core.errors import UserError

    bad = tmp_path / "train.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(UserError, match="train.npz"):
        load_split(bad)
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(UserError, match="lacks arrays"):
        load_split(tmp_path / "other.npz")


def test_assemble_phase_is_target_first_frame():
    T = 15
    fh = np.zeros((T, 18))
    tr = {"demo": 0, "action": 1, "fh": fh, "fr": fh, "phase": np.array([0] * 7 + [1] * 4 + [2] * 4)}
    s = assemble([tr])
    assert s.phase.tolist() == [0, 0, 1, 1, 1, 1]  # frames 5..10
