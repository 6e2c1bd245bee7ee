"""Spec §9 acceptance 9–13: metrics on hand-computed toys, the causal-learn edge-mark converter."""

import math

import numpy as np

from components.causality import metrics as M
from components.causality.discovery import from_causallearn

A, B, C = 0, 1, 2


def dag(*edges, d=3, undirected=()):
    a = np.zeros((d, d), dtype=int)
    for i, j in edges:
        a[i, j] = 1
    for i, j in undirected:
        a[i, j] = a[j, i] = 1
    return a


def test_pehe_and_ate_error():
    assert math.isclose(M.sqrt_pehe([1, 2], [0, 0]), math.sqrt(2.5))
    assert math.isclose(M.ate_error([1, 2], [0, 0]), 1.5)


def test_policy_risk_toy():
    # units: (tau_hat, t, y): policy treats units 0 and 1
    tau_hat, t, y = [1.0, 0.5, -1.0, -2.0], [1, 0, 0, 1], [1.0, 0.0, 1.0, 0.0]
    # ȳ(t=1, π=1) = 1 (unit 0); ȳ(t=0, π=0) = 1 (unit 2); P(π=1) = 0.5 → R = 1 − (0.5 + 0.5) = 0
    assert M.policy_risk(tau_hat, t, y) == 0.0
    # treat nobody: ȳ(t=0, π=0) = mean(0, 1) = 0.5 → R = 0.5
    assert M.policy_risk([-1] * 4, t, y) == 0.5


def test_shd_dag_cases():
    truth = dag((A, B), (B, C))
    assert M.shd(dag((A, B), (C, B)), truth) == 1
    assert M.shd(dag(), truth) == 2
    assert M.shd(dag((A, B), (B, C), (A, C)), truth) == 1


def test_shd_cpdag_case():
    truth = dag((B, C), undirected=[(A, B)])
    assert M.shd(dag((A, B), (B, C)), truth) == 1


def test_skeleton_and_directed_prf():
    truth = dag((A, B), (B, C))
    est = dag((B, A), (B, C), (A, C))
    assert M.skeleton_prf(est, truth)["recall"] == 1.0 and math.isclose(M.skeleton_prf(est, truth)["precision"], 2 / 3)
    directed = M.directed_prf(est, truth)
    assert directed["recall"] == 0.5 and math.isclose(directed["fdr"], 2 / 3)
    assert M.directed_prf(dag(undirected=[(A, B), (B, C)]), truth)["recall"] == 0.0  # undirected ≠ directed


def test_causallearn_converter_on_a_hand_built_graph():
    from causallearn.graph.Edge import Edge
    from causallearn.graph.Endpoint import Endpoint
    from causallearn.graph.GeneralGraph import GeneralGraph
    from causallearn.graph.GraphNode import GraphNode

    nodes = [GraphNode(f"X{i}") for i in range(4)]
    g = GeneralGraph(nodes)
    g.add_edge(Edge(nodes[0], nodes[1], Endpoint.TAIL, Endpoint.ARROW))   # X0 → X1
    g.add_edge(Edge(nodes[1], nodes[2], Endpoint.TAIL, Endpoint.TAIL))    # X1 — X2
    g.add_edge(Edge(nodes[2], nodes[3], Endpoint.ARROW, Endpoint.ARROW))  # X2 ↔ X3
    a = from_causallearn(g.graph)
    assert a[0, 1] == 1 and a[1, 0] == 0
    assert a[1, 2] == a[2, 1] == 1
    assert a[2, 3] == a[3, 2] == 2
    assert a.sum() == 1 + 2 + 4


def test_binomial_threshold():
    assert M.binomial_p_greater(59, 99) < 0.05 <= M.binomial_p_greater(58, 99)


def test_paired_log_ratio_sign_and_ci():
    mean, low, high = M.paired_log_ratio([1, 1, 1, 1], [2, 2, 2, 2], 500, seed=0)
    assert math.isclose(mean, math.log(0.5)) and low <= mean <= high < 0
