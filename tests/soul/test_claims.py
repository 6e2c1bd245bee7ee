"""Verdict rules of the soul claims (issue 13): the FQ–MU front area, the forgetting gate, C4 — each verdict reached."""

import numpy as np
import pandas as pd
import pytest

from components.soul.claims import area_verdict, build_claims, c4_verdict, forgets, front_areas
from components.soul.tradeoff import front_area, reaches_forgetting


def test_front_area_values_and_continuity():
    # one point at full relative utility with FQ 0.5 → area 0.5; below the floor → 0
    assert front_area([1.0], [0.5]) == pytest.approx(0.5)
    assert front_area([0.85], [1.0]) == 0.0
    # two points: (1.0, 0.2) and (0.95, 0.8): 0.2 over [0.95, 1] + 0.8 over [0.9, 0.95]
    assert front_area([1.0, 0.95], [0.2, 0.8]) == pytest.approx((0.2 * 0.05 + 0.8 * 0.05) / 0.1)
    # continuous: a point crossing the floor fades in; a tiny MU change moves the area a little
    assert front_area([0.9001], [1.0]) == pytest.approx(0.001)
    assert abs(front_area([1.0, 0.95], [0.2, 0.8]) - front_area([1.0, 0.9500001], [0.2, 0.8])) < 1e-5
    # dominated points do not count
    assert front_area([1.0, 0.95, 0.94], [0.5, 0.9, 0.1]) == front_area([1.0, 0.95], [0.5, 0.9])


def test_reaches_forgetting():
    assert reaches_forgetting([0.06, 1e-9], [0.95, 1.0])
    assert not reaches_forgetting([0.06, 1e-9], [0.85, 1.0])   # forgets only by losing utility
    assert not reaches_forgetting([0.01], [1.0])


@pytest.mark.parametrize("deltas,ok,expected", [
    ([0.1, 0.2, 0.05, 0.1, 0.3], True, "reproduced"),
    ([0.1, 0.2, -0.01, 0.1, 0.3], True, "inconclusive"),   # one seed against
    ([0.001, 0.002, 0.001, 0.001, 0.003], True, "inconclusive"),  # consistent but immaterial
    ([-0.1, -0.2, -0.15, 0.01, -0.1], True, "not reproduced"),
    ([-0.3, 0.3, -0.1, 0.2, -0.2], True, "inconclusive"),
    ([0.1, 0.2, 0.05, 0.1, 0.3], False, "inconclusive"),   # no run forgets
    ([0.1, 0.2], True, "inconclusive"),                     # fewer than 3 seeds
    ([], True, "inconclusive"),
])
def test_area_verdict_reaches_each_verdict(deltas, ok, expected):
    assert area_verdict(np.array(deltas), ok) == expected


@pytest.mark.parametrize("d,ok,expected", [
    ({"graddiff": [0.01, 0.0, -0.01, 0.02, 0.0], "po": [0.0, 0.0, 0.01, -0.03, 0.0]}, True, "reproduced"),
    ({"graddiff": [-0.05, -0.04, -0.06, -0.05, -0.03], "po": [-0.1, -0.05, -0.03, -0.04, -0.06]}, True,
     "not reproduced"),
    ({"graddiff": [0.01, 0.0, -0.01, 0.02, 0.0], "po": [-0.1, -0.05, -0.03, -0.04, -0.06]}, True, "inconclusive"),
    ({"graddiff": [0.01, 0.0, -0.01, 0.02, 0.0], "po": [0.0, 0.0, 0.01, -0.03, 0.0]}, False, "inconclusive"),
    ({"graddiff": [0.01, 0.0, -0.01, 0.02, 0.0], "po": []}, True, "inconclusive"),
])
def test_c4_verdict_reaches_each_verdict(d, ok, expected):
    assert c4_verdict({k: np.array(v) for k, v in d.items()}, ok) == expected


def _frame(so_fq: float, fo_fq: float, n_seeds: int = 5) -> pd.DataFrame:
    """Original + retain + GradDiff runs (2 lrs per optimizer, 5 seeds) with hand-set MU/FQ."""
    rows = [{"model": "original", "kind": "original", "MU": 0.5, "FQ_tofu": 1e-17, "log10_FQ_tofu": -17,
             "FQ_soulcode": 1e-5, "log10_FQ_soulcode": -5, "mia_auc_k20": 0.4, "mean_step_seconds": None},
            {"model": "retain_s0", "kind": "retain", "MU": 0.5, "FQ_tofu": 1.0, "log10_FQ_tofu": 0.0,
             "FQ_soulcode": 0.5, "log10_FQ_soulcode": -0.3, "mia_auc_k20": 0.9, "mean_step_seconds": None}]
    rng = np.random.default_rng(0)
    for opt, fq in (("sophia_soul", so_fq), ("adamw", fo_fq)):
        for s in range(n_seeds):
            for m, mu in ((0.1, 0.49), (0.3, 0.40)):
                f = fq * (1 + 0.1 * rng.standard_normal())
                rows.append({"model": f"{opt}{s}{m}", "kind": "unlearn", "block": "main", "objective": "graddiff",
                             "optimizer": opt, "lr_mult": m, "gamma": 1.0, "rho": 0.04 if opt != "adamw" else 0.0,
                             "seed": s, "MU": mu, "FQ_tofu": f, "log10_FQ_tofu": np.log10(f), "FQ_soulcode": f,
                             "log10_FQ_soulcode": np.log10(f), "mia_auc_k20": 0.5 + f / 2,
                             "mean_step_seconds": 0.01, "median_frac_clipped": 0.5})
    return pd.DataFrame(rows)


TOY = {"rel_newton": 0.05, "rel_diag": 0.3, "rel_gd": {"100": 0.7}, "gd_steps_to_newton": 2000, "gd_max_steps": 5000}


@pytest.mark.parametrize("so,fo,expected", [(0.6, 0.1, "reproduced"), (0.1, 0.6, "not reproduced"),
                                            (1e-6, 1e-9, "inconclusive")])
def test_c1_from_the_front_area(so, fo, expected):
    frame = _frame(so, fo)
    assert forgets(frame, "graddiff")[0] == (max(so, fo) >= 0.05)
    areas = front_areas(frame, "graddiff", "FQ_tofu")
    assert list(areas.index) == [0, 1, 2, 3, 4]
    claims = {c.id: c for c in build_claims(frame, TOY)[0]}
    assert claims["C1"].verdict == expected and claims["C1"].kind == "claim"
    assert claims["C7"].kind == "check" and claims["C8"].kind == "check"
    if expected == "inconclusive":  # no run forgets: every SO-vs-FO row is inconclusive
        assert "no run forgets" in claims["C1"].observed
        assert {claims[c].verdict for c in ("C4", "C5", "C6")} == {"inconclusive"}


@pytest.mark.parametrize("deltas,expected", [
    ([0.1, 0.2, 0.3], "reproduced"), ([0.1, -0.2, 0.3], "inconclusive"), ([-0.3, -0.2, -0.25], "not reproduced"),
    ([0.1, 0.2], "inconclusive"), ([], "inconclusive")])
def test_paired_verdict_reaches_each_verdict(deltas, expected):
    from components.soul.claims import paired_verdict

    assert paired_verdict(np.array(deltas)) == expected
    assert paired_verdict(np.array(deltas), eligible=False) == "inconclusive"


@pytest.mark.parametrize("vs,expected", [
    (["reproduced", "reproduced"], "reproduced"), (["not reproduced", "not reproduced"], "not reproduced"),
    (["reproduced", "not reproduced"], "inconclusive"), (["reproduced", "inconclusive"], "inconclusive")])
def test_combine_needs_agreement(vs, expected):
    from components.soul.claims import combine

    assert combine(vs) == expected


def _claims(frame, toy=TOY, **kw):
    return {c.id: c for c in build_claims(frame, toy, **kw)[0]}


@pytest.mark.parametrize("so_step,expected", [(0.012, "reproduced"), (0.017, "inconclusive"),
                                              (0.03, "not reproduced")])
def test_c7_step_time_ratio_reaches_each_verdict(so_step, expected):
    frame = _frame(0.6, 0.1)
    frame.loc[frame["optimizer"] == "sophia_soul", "mean_step_seconds"] = so_step  # AdamW 0.01
    c7 = _claims(frame)["C7"]
    assert c7.verdict == expected and c7.kind == "check"


@pytest.mark.parametrize("toy,expected", [
    (TOY, "reproduced"),
    ({**TOY, "rel_newton": 0.3}, "not reproduced"),          # Newton step not near the retrained model
    ({**TOY, "gd_steps_to_newton": 20}, "not reproduced"),   # GD matches it quickly
    ({**TOY, "gd_steps_to_newton": None}, "reproduced")])    # GD never matches within the cap
def test_c8_influence_toy_reaches_each_verdict(toy, expected):
    assert _claims(_frame(0.6, 0.1), toy)["C8"].verdict == expected


@pytest.mark.parametrize("gain,expected", [(0.1, "reproduced"), (-0.1, "not reproduced")])
def test_c10_mia_gain_verdicts(gain, expected):
    frame = _frame(0.6, 0.1)
    orig = frame["model"] == "original"
    frame.loc[orig, "mia_auc_k20"] = float(frame.loc[frame["kind"] == "unlearn", "mia_auc_k20"].max()) - gain \
        if gain < 0 else float(frame.loc[frame["kind"] == "unlearn", "mia_auc_k20"].min()) - gain
    assert _claims(frame)["C10"].verdict == expected


def test_row_ids_and_kinds_and_the_smollm2_row():
    """Every spec §8 id has a row with the platform's kinds; C1-smollm2 mirrors C1 only on SmolLM2."""
    frame = _frame(0.6, 0.1)
    tiny = _claims(frame)
    kinds = {i: c.kind for i, c in tiny.items()}
    assert {i: kinds[i] for i in ("C1", "C2", "C3", "C4", "C5", "C6")} == dict.fromkeys(
        ("C1", "C2", "C3", "C4", "C5", "C6"), "claim")
    assert kinds["C7"] == kinds["C8"] == "check" and kinds["C10"] == kinds["C1-smollm2"] == "context"
    assert all(c.note.strip() for c in tiny.values() if c.kind != "claim")
    assert tiny["C2"].observed.startswith("not run") and tiny["C2"].verdict == "inconclusive"  # PO not in grid
    assert tiny["C1-smollm2"].observed.startswith("not run") and tiny["C1-smollm2"].verdict == "inconclusive"
    smol = _claims(frame, smollm2=True)
    assert smol["C1-smollm2"].verdict == smol["C1"].verdict == "reproduced"
    assert "SmolLM2-135M" in smol["C1-smollm2"].observed and smol["C1-smollm2"].kind == "context"
