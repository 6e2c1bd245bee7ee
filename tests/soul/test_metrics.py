"""Spec §9 A7/A8: truth ratios, FQ, MU, ROUGE-L, Min-k%, MIA label alignment, and the influence toy."""

import math

import numpy as np
import pytest
from scipy.stats import hmean, ks_2samp

from components.soul import metrics as M
from components.soul.influence import influence_toy


def test_truth_ratio_constructed():
    assert M.truth_ratio(np.array([2.0]), np.array([[2.0, 2.0, 2.0]]))[0] == pytest.approx(1.0)
    assert M.truth_ratio(np.array([1.0]), np.array([[2.0, 2.0, 2.0]]))[0] == pytest.approx(math.e)
    # the SOUL variant is inverted (perturbed over truth) and arithmetic
    r_soul = M.truth_ratio_soul(np.array([1.0]), np.array([[2.0, 3.0]]))[0]
    assert r_soul == pytest.approx((math.exp(-2) + math.exp(-3)) / 2 / math.exp(-1))


def test_fq_is_ks_pvalue():
    a, b = np.linspace(0, 1, 30), np.linspace(0.3, 1.5, 40)
    assert M.forget_quality(a, b) == ks_2samp(a, b).pvalue
    assert M.forget_quality_soulcode(a, b) == ks_2samp(a, b).pvalue
    assert M.log10_fq(0.0) == -300


def test_model_utility_nine_inputs_hmean():
    vals = {k: 0.1 * (i + 1) for i, k in enumerate(M.MU_KEYS)}
    assert len(M.MU_KEYS) == 9
    assert M.model_utility(vals) == pytest.approx(hmean(list(vals.values())))
    assert M.model_utility({**vals, "prob_ra": 0.0}) == 0.0
    with pytest.raises(ValueError, match="nine"):
        M.model_utility({k: v for k, v in list(vals.items())[:8]})


def test_rouge_l_recall_bounds():
    assert M.rouge_l_recall("the quiet river", "the quiet river") == 1.0
    assert M.rouge_l_recall("alpha beta", "gamma delta") == 0.0
    assert M.rouge_l_recall("the river", "the quiet river") == pytest.approx(2 / 3)


def test_min_k_hand_made():
    lp = [-0.1, -5.0, -0.2, -3.0, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8]
    assert M.min_k_score(lp, 20) == pytest.approx(4.0)   # lowest 2 of 10: -5, -3
    assert M.min_k_score(lp, 10) == pytest.approx(5.0)
    assert M.min_k_score([-1.0], 10) == pytest.approx(1.0)  # at least one token


def test_mia_alignment():
    members = np.array([5.0, 6.0, 7.0])          # forget items score above every non-member
    nonmembers = np.array([1.0, 2.0, 3.0, 4.0, 4.5])
    assert M.mia_auc(members, nonmembers) == 1.0
    assert M.mia_auc_repo_labels(members, nonmembers) != 1.0


def test_acc_variants():
    spans = {"genre": [5, 6]}
    truth = "the genre of ab cd is poetry ."
    pert = ["the genre of ab cd is drama .", "the genre of ab cd is epic ."]
    assert M.acc_bow("ab cd writes poetry books", truth, pert)
    assert M.acc_slot("the genre of ab cd is poetry .", truth, pert, spans)
    assert not M.acc_slot("poetry or drama", truth, pert, spans)
    assert M.acc_substring("i think yulian", "yulian .")


def test_influence_toy_bridge():
    toy = influence_toy()
    assert toy["rel_newton"] <= 0.1
    assert toy["rel_diag"] < 1
    assert toy["rel_gd"]["100"] > toy["rel_newton"]
    assert toy["gd_steps_to_newton"] is None or toy["gd_steps_to_newton"] >= 100
    assert toy["identity_rel_err"] < 1e-3
