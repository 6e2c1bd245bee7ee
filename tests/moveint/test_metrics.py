"""Metrics of spec §6 on hand-computed cases (spec §9.8)."""

import numpy as np
import pytest

from components.moveint.metrics import (error_spec, per_action, position_errors, separation, usage,
                                        window_errors)


def test_single_coordinate_error_hhi():
    y = np.random.default_rng(0).normal(size=(4, 90))
    pred = y.copy()
    delta = 0.07
    pred[2, 37] += delta
    e = window_errors(pred, y, *error_spec("cartesian"))
    assert e[2] == pytest.approx(100 * delta ** 2 / 30, rel=1e-12)
    assert e[[0, 1, 3]].tolist() == [0, 0, 0]
    # pepper: J = 4, c = 1, no ×100
    assert window_errors(np.full((1, 20), 0.5), np.zeros((1, 20)), *error_spec("pepper4"))[0] == pytest.approx(
        20 * 0.25 / 20)


def test_position_only_ignores_velocities():
    y = np.zeros((1, 90))
    pred = y.copy()
    pred[0, 18 * 2 + 12] = 1.0  # a velocity coordinate of frame 2
    assert position_errors(pred, y, 100.0)[0] == 0
    pred[0, 18 * 2 + 3] = 1.0  # a position coordinate
    assert position_errors(pred, y, 100.0)[0] == pytest.approx(100 / 15)


def test_per_action_unweighted_mean():
    r = per_action(np.array([1.0, 3.0, 10.0]), np.array([0, 0, 1]), 2)
    assert r["per_action_mean"] == [2.0, 10.0] and r["mean_over_actions"] == 6.0 and r["per_action_std"][0] == 1.0


def test_usage_entropy_and_separation():
    alpha = np.eye(3)[[0, 1, 2, 0]]
    u = usage(alpha)
    assert u["usage"] == [0.5, 0.25, 0.25] and u["usage_min"] == 0.25
    assert u["usage_entropy"] == pytest.approx(-(0.5 * np.log(0.5) + 0.5 * np.log(0.25)) / np.log(3))
    assert usage(np.eye(3)[[1, 1, 1]])["usage_entropy"] == 0.0
    mu = np.zeros((2, 3, 2))
    mu[:, 1, 0] = 3.0
    mu[:, 2, 1] = 4.0  # pairwise distances 3, 4, 5 → min 3
    assert separation(mu) == pytest.approx(3.0)
