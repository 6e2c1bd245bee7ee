"""Claim rules decide from the data: each verdict is reachable."""

import numpy as np
import pandas as pd

from components.mi_generalization import claims as C
from components.mi_generalization import evaluation as E


def _pairs(bound_inc, bound_cmi, b_xr, gap, runs=8, acc=1.0, spread=0.01):
    rng = np.random.default_rng(0)
    out = {}
    for kind, b in (("incoherence", bound_inc), ("cmi", bound_cmi)):
        out[kind] = pd.DataFrame({
            "tag": [f"{kind}{r}" for r in range(runs)], "bound": b + spread * rng.normal(size=runs),
            "b_xr": b_xr + spread * rng.normal(size=runs), "gap_01": gap + spread * rng.normal(size=runs),
            "gap_code": gap, "train_acc": acc}, index=pd.Index(range(runs), name="run"))
    return out


def test_m1_each_verdict():
    assert C.m1_tighter(_pairs(0.3, 0.3, 0.05, 0.07), 500, 0, 0.99)["verdict"] == "reproduced"
    assert C.m1_tighter(_pairs(0.01, 0.3, 0.05, 0.07), 500, 0, 0.99)["verdict"] == "not reproduced"
    mixed = _pairs(0.3, 0.3, 0.05, 0.07, spread=0.0)
    mixed["incoherence"]["bound"] = 0.05 + np.array([0.2, -0.18] * 4)  # mean above B_XR, CI across 0
    row = C.m1_tighter(mixed, 500, 0, 0.99)
    assert row["verdict"] == "inconclusive" and "r=0.833" in row["observed"]
    unfit = C.m1_tighter(_pairs(0.3, 0.3, 0.05, 0.07, acc=0.8), 500, 0, 0.99)
    assert unfit["verdict"] == "inconclusive" and "did not fit" in unfit["explain"]
    assert C.m1_tighter({}, 500, 0, 0.99)["observed"].startswith("not run:")


def test_m2_each_verdict():
    assert C.m2_valid(_pairs(0.3, 0.3, 0.10, 0.05), 500, 0, 0.99)["verdict"] == "reproduced"
    row = C.m2_valid(_pairs(0.3, 0.3, 0.05, 0.08), 500, 0, 0.99)
    assert row["verdict"] == "not reproduced" and "0% of 16 networks" in row["observed"]
    mixed = _pairs(0.3, 0.3, 0.05, 0.05, spread=0.0)
    for g in mixed.values():
        g["gap_01"] = 0.05 + np.array([0.03, -0.03] * 4)
    assert C.m2_valid(mixed, 500, 0, 0.99)["verdict"] == "inconclusive"


def _e1(ixt, iyy, acc=1.0, n=20, sd=0.005):
    """E1 final-epoch rows: ``ixt``/``iyy`` a level (plus small per-repeat noise) or an explicit per-repeat list."""
    rng = np.random.default_rng(3)
    ixt = np.asarray(ixt, float) if np.ndim(ixt) else ixt + sd * rng.standard_normal(n)
    n = len(ixt)
    iyy = np.asarray(iyy, float) if np.ndim(iyy) else np.clip(iyy + sd * rng.standard_normal(n), 0, 1)
    return pd.DataFrame({"tag": [f"e1/run{r}" for r in range(n)], "i_xt_t1": ixt, "i_yt_t1": 0.9,
                         "i_xt_t2": 1.0, "i_yt_t2": 0.9, "i_xt_yhat": 1.0, "i_yt_yhat": iyy, "train_acc": acc})


W = {"t1": 8, "t2": 6, "yhat": 2}


def test_t_ci_is_the_student_interval():
    m, lo, hi, sd, n = E.t_ci([1.0, 2.0, 3.0, float("nan")])
    assert (m, sd, n) == (2.0, 1.0, 3) and abs(lo - (4 - hi)) < 1e-12
    assert abs((hi - m) - 4.302652729696 / np.sqrt(3)) < 1e-9  # t(2) 97.5 % quantile
    assert np.isnan(E.t_ci([2.0])[1]) and E.t_ci([])[4] == 0


def test_m3_reproduced_only_when_the_whole_ci_is_inside_the_tolerance():
    row = C.m3_accuracy(_e1(2.0, 0.99), W, 0.99)
    assert row["verdict"] == "reproduced" and "0/20 repeats below 1.95" in row["observed"]
    # the same mean 1.9 inside the tolerance, but from a 5 + 1 mixture: the CI reaches below 1.85
    row = C.m3_accuracy(_e1([2.0] * 10 + [1.5] * 2, 0.99), W, 0.99)
    assert abs(float(row["observed"].split()[1]) - 1.917) < 1e-3
    assert row["verdict"] == "inconclusive" and "spans 1.85" in row["explain"] and "2/12 repeats" in row["observed"]
    assert "t-CI" in row["note"] and "spans 1.85" in row["note"]  # the reason travels in the claims.json row
    assert C.m3_accuracy(_e1(2.14, 0.99, sd=0.05), W, 0.99)["verdict"] == "inconclusive"  # CI across 2.15


def test_m3_not_reproduced_when_the_ci_lies_outside_or_an_estimate_fails():
    row = C.m3_accuracy(_e1([1.0, 1.5] * 6, 0.99), W, 0.99)
    assert row["verdict"] == "not reproduced" and "outside 2 ± 0.15" in row["explain"]
    assert "12/12 repeats below 1.95" in row["observed"] and "6 below 1.25" in row["observed"]
    row = C.m3_accuracy(_e1(2.0, 0.90), W, 0.99)
    assert row["verdict"] == "not reproduced" and "I(Y;Ŷ) CI lies below 0.95" in row["explain"]
    row = C.m3_accuracy(_e1(2.0, 0.99).assign(i_xt_yhat=1.5), W, 0.99)  # > log2 2
    assert row["verdict"] == "not reproduced" and "all in range: False" in row["observed"]


def test_m3_inconclusive_without_enough_fitted_repeats():
    few = C.m3_accuracy(_e1(2.0, 0.99, n=5), W, 0.99)  # a clean 5-repeat block: near-zero-width CI, no verdict
    assert few["verdict"] == "inconclusive" and "5 repeats < 10" in few["explain"]
    one = C.m3_accuracy(_e1(2.0, 0.99, n=1), W, 0.99)
    assert one["verdict"] == "inconclusive" and "no CI" in one["observed"]
    assert C.m3_accuracy(_e1(2.0, 0.99, acc=0.7), W, 0.99)["verdict"] == "inconclusive"
    assert C.m3_accuracy(pd.DataFrame(), W, 0.99)["verdict"] == "inconclusive"


def _sweep(slope, n=12, noise=0.0):
    rng = np.random.default_rng(1)
    i_hat = np.linspace(1.5, 2.5, n)
    return pd.DataFrame({"var": np.repeat([2.0, 8.0, 32.0], n // 3), "i_hat": i_hat, "i_xbar_t_t1": i_hat - 1,
                         "gap_01": slope * i_hat + noise * rng.normal(size=n)})


def test_m4_each_verdict():
    assert C.m4_explains(_sweep(0.1))["verdict"] == "reproduced"
    assert C.m4_explains(_sweep(-0.1))["verdict"] == "not reproduced"
    assert C.m4_explains(_sweep(0.01, noise=0.05))["verdict"] == "inconclusive"
    assert C.m4_explains(_sweep(0.1).iloc[:3])["observed"].startswith("not run:")


def test_m5_digits_is_reported_not_judged_and_idx_is_judged_on_its_ci():
    e4 = pd.DataFrame({"kind": "mnist", "i_yt_yhat": [3.25, 3.28, 3.26, 3.27, 3.29], "i_xt_t1": 4.0,
                       "train_acc": 1.0, "test_acc": 0.98})
    assert C.m5_benchmark(e4.assign(kind="digits"), "digits")["verdict"] == "inconclusive"
    assert C.m5_benchmark(e4, "idx")["verdict"] == "reproduced"
    assert C.m5_benchmark(e4.assign(i_yt_yhat=2.0), "idx")["verdict"] == "not reproduced"
    wide = C.m5_benchmark(e4.assign(i_yt_yhat=[3.30, 2.95, 3.31, 3.0, 3.29]), "idx")  # mean 3.17 ≥ 3.12, CI across
    assert wide["verdict"] == "inconclusive" and "spans 3.12" in wide["explain"]
    assert C.m5_benchmark(e4.iloc[:1], "idx")["verdict"] == "inconclusive"
    assert C.m6_numbers()["verdict"] == "inconclusive"


def test_check_rows_can_fail():
    rows = [{"case": "a", "ok": True, "abs_err": 0.0, "tol": 1e-9}, {"case": "b", "ok": False, "abs_err": 1.0, "tol": 1e-9}]
    row = C.estimator_check(rows)
    assert row["kind"] == "check" and row["verdict"] == "not reproduced" and row["note"]
    e1 = pd.DataFrame({"epoch_acc1": [3.0, 40.0]})
    assert C.e1_reference_check(e1)["verdict"] == "not reproduced"
