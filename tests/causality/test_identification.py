"""Spec §9 acceptance 4, 5, 15–17 and the FCI / double-robustness studies: real anchors and seeded SCMs."""

import numpy as np
import pytest

from components.causality import data as D
from components.causality import identification as I


def test_nhefs_rows_textbook_ipw_and_naive():
    frame = I.nhefs_frame()
    assert len(frame) == I.NHEFS_ROWS == 1566 and frame.notna().all().all()
    est = I.nhefs_ipw(frame)
    assert abs(est["ipw"] - 3.44) < 0.05 and abs(est["naive"] - 2.54) < 0.01
    assert est["ess"] < len(frame)  # the weights do something


def test_lmb_close_election_anchor():
    frame = I.lmb_frame()
    assert len(frame) == I.LMB_ROWS and frame.r.isna().sum() == 11
    coef, n = I.lmb_anchor(frame)
    assert n == 915 and abs(coef - 21.28) < 0.01
    mid = I.rdd_ll(frame.dropna().r.to_numpy(), frame.dropna().y.to_numpy(), 0.5, 0.05)
    assert abs(mid["estimate"] - 19.8) < 0.1 and mid["se"] > 0


def test_transfers_sharp_design_and_suites():
    import causaldata

    raw = causaldata.gov_transfers.load_pandas().data
    assert raw.shape == (1948, 5) and ((raw.Income_Centered < 0) == (raw.Participation == 1)).all()
    frame = I.transfers_frame()
    est = I.rdd_ll(frame.r.to_numpy(), frame.y.to_numpy(), 0.0, 0.02, treated_below=True)
    assert abs(est["estimate"] - 0.100) < 0.005 and est["n"] == 1948
    checked = D.study_validation_frame("rdd_transfers", frame)
    assert checked.sharp.eq(1).all()
    flipped = D.study_validation_frame("rdd_transfers", frame.assign(t=1 - frame.t))
    assert flipped.sharp.eq(0).all()  # the suite's sharp-design column can fail


def test_iv_2sls_strong_instrument_and_frontdoor_at_n_20000():
    est = I.iv_estimates(I.scm_iv(20000, 1.0, np.random.default_rng(0)))
    assert abs(est["2sls"] - 1.5) < 0.1 and est["ols"] - 1.5 > 0.5 and est["first_stage_f"] > 1000
    fd = I.frontdoor_estimates(I.scm_frontdoor(20000, np.random.default_rng(1)))
    assert abs(fd["frontdoor"] - 1.5) < 0.1 and fd["naive"] - 1.5 > 1.0


def test_weak_instrument_has_a_small_first_stage_f():
    est = I.iv_estimates(I.scm_iv(2000, 0.05, np.random.default_rng(2)))
    assert est["first_stage_f"] < 20


def test_rdd_local_linear_vs_dowhy_caveat():
    data = I.scm_rdd(20000, np.random.default_rng(3))
    ll = I.rdd_ll(data["r"], data["y"], 0.0, 0.3)
    assert abs(ll["estimate"] - 2.0) < 0.15
    wide = I.rdd_ll(data["r"], data["y"], 0.0, 0.5)["estimate"]
    dowhy = I.rdd_dowhy(data["r"], data["y"], 0.0, 0.5)
    assert abs(dowhy - 2.0) > abs(wide - 2.0)  # DoWhy's IV-on-the-running-variable leaks the slope (spec §2)


def test_double_robustness_on_kang_schafer():
    data = I.scm_ks(5000, np.random.default_rng(4))
    both = I.ks_estimates(data, True, True)
    assert abs(both["aipw"] - 10) < 0.3 and abs(both["ols"] - 10) < 0.3
    or_wrong = I.ks_estimates(data, True, False)
    assert abs(or_wrong["ols"] - 10) > 1.0 and abs(or_wrong["aipw"] - 10) < abs(or_wrong["ols"] - 10)
    ps_wrong = I.ks_estimates(data, False, True)
    assert abs(ps_wrong["ipw"] - 10) > 1.0 and abs(ps_wrong["aipw"] - 10) < 0.5


def test_fci_marks_the_latent_confounder_bidirected():
    pag = I.fci_pag(I.dag_latent(5000, np.random.default_rng(5)), 0.01)
    assert I.pag_mark(pag, 1, 2) == "↔"
    assert I.pag_mark(pag, 1, 4) == "→" and I.pag_mark(pag, 4, 1) == "←"  # X2 → X5: direction read right
    assert I.pag_mark(pag, 0, 2) == "none"


def test_entropy_balancing_weights():
    from components.causality.estimators import entropy_weights

    rng = np.random.default_rng(6)
    x = rng.standard_normal((500, 4))
    target = np.array([0.3, -0.2, 0.1, 0.4])
    w = entropy_weights(x, target)
    assert abs(w.sum() - 1) < 1e-12 and (w >= 0).all()
    np.testing.assert_allclose(w @ x, target, atol=1e-6)


def test_study_suites_pass_the_real_data_and_name_failures():
    from components.core.errors import DataValidationError
    from components.core.validation import validate_frame

    lmb = I.lmb_frame()
    assert validate_frame(D.study_validation_frame("rdd_lmb", lmb), D.study_expectations("rdd_lmb", I.LMB_ROWS),
                          "ok")["success"]
    nhefs = I.nhefs_frame()
    with pytest.raises(DataValidationError) as err:
        validate_frame(D.study_validation_frame("nhefs", nhefs.iloc[:-1]), D.study_expectations("nhefs", 1566),
                       "causality-studies-nhefs")
    assert "expect_table_row_count_to_equal" in str(err.value)
    broken = lmb.assign(t=np.where(lmb.index == 7, 1 - lmb.t, lmb.t))
    with pytest.raises(DataValidationError) as err:
        validate_frame(D.study_validation_frame("rdd_lmb", broken), D.study_expectations("rdd_lmb", I.LMB_ROWS),
                       "causality-studies-rdd_lmb")
    assert "sharp" in str(err.value)
