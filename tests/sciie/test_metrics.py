"""§9.11, §9.12, §9.14, §9.15: metric toys, the coreference worked example, the KG toy, the verdict table."""

import numpy as np
import pytest

from components.sciie import kg as KG
from components.sciie.metrics import (COUNTS, control_rule_equivalence, control_rule_no_gain, coref_scores,
                                      doc_counts, paired_bootstrap, scores_from_counts, verdict_rule)


def _doc(ner, rel, clusters=()):
    return {"doc_key": "d", "sentences": [["w"] * 10], "ner": [ner], "relations": [rel], "clusters": list(clusters)}


def test_rel_vs_rel_plus_and_reversed_relation():
    gold = _doc([[0, 1, "Method"], [3, 4, "Task"]], [[0, 1, 3, 4, "USED-FOR"]])
    pred = {"predicted_ner": [[[0, 1, "Task"], [3, 4, "Task"]]], "predicted_relations": [[[0, 1, 3, 4, "USED-FOR"]]],
            "predicted_clusters": []}
    s = scores_from_counts(doc_counts(gold, pred))
    assert s["rel_f1"] == 1.0 and s["relp_f1"] == 0.0 and s["ent_p"] == 0.5 and s["ent_r"] == 0.5
    rev = {**pred, "predicted_relations": [[[3, 4, 0, 1, "USED-FOR"]]]}
    assert scores_from_counts(doc_counts(gold, rev))["rel_f1"] == 0.0


def test_coref_worked_example():
    a, b, c, d, e = ([i, i] for i in range(5))
    key = [[a, b, c], [d, e]]
    s = coref_scores(key, [[a, b], [c, d, e]])
    for m, v in (("muc", 2 / 3), ("b3", 11 / 15), ("ceafe", 0.8)):
        assert s[f"{m}_p"] == pytest.approx(v) and s[f"{m}_r"] == pytest.approx(v) and s[f"{m}_f1"] == pytest.approx(v)
    assert s["conll_f1"] == pytest.approx(0.7333, abs=1e-4)
    same = coref_scores(key, key)
    assert all(same[k] == pytest.approx(1.0) for k in ("muc_f1", "b3_f1", "ceafe_f1", "conll_f1"))
    empty = coref_scores(key, [])
    assert all(empty[k] == 0.0 for k in empty)


def test_corpus_counts_are_additive():
    g1 = _doc([[0, 0, "Task"]], [], [[[0, 0], [2, 2]]])
    p1 = {"predicted_ner": [[[0, 0, "Task"]]], "predicted_relations": [[]], "predicted_clusters": [[[0, 0], [2, 2]]]}
    g2 = _doc([[1, 1, "Task"]], [], [[[1, 1], [3, 3]]])
    p2 = {"predicted_ner": [[]], "predicted_relations": [[]], "predicted_clusters": []}
    c = [doc_counts(g1, p1), doc_counts(g2, p2)]
    s = scores_from_counts({k: c[0][k] + c[1][k] for k in COUNTS})
    assert s["ent_p"] == 1.0 and s["ent_r"] == 0.5 and s["muc_r"] == 0.5 and s["muc_p"] == 1.0


@pytest.mark.parametrize("mean, lo, hi, wins, expected", [
    (0.02, 0.011, 0.03, 5, "reproduced"),
    (-0.01, -0.02, 0.0, 1, "not reproduced"),
    (0.005, -0.01, 0.02, 3, "inconclusive"),
    (0.02, 0.001, 0.04, 3, "inconclusive"),
])
def test_verdict_table(mean, lo, hi, wins, expected):
    assert verdict_rule(mean, lo, hi, wins) == expected


def test_control_rules_reach_every_verdict():
    assert control_rule_no_gain(-0.02, 0.005) == "reproduced"
    assert control_rule_no_gain(0.001, 0.05) == "not reproduced"
    assert control_rule_no_gain(-0.01, 0.03) == "inconclusive"
    assert control_rule_equivalence(-0.005, 0.008) == "reproduced"
    assert control_rule_equivalence(0.02, 0.05) == "not reproduced"
    assert control_rule_equivalence(-0.02, 0.005) == "inconclusive"


def test_paired_bootstrap_detects_a_clear_gain_and_no_gain():
    rng = np.random.default_rng(0)
    n_seeds, n_docs = 5, 60
    base = np.zeros((n_seeds, n_docs, len(COUNTS)))
    ix = {k: i for i, k in enumerate(COUNTS)}
    base[..., ix["ent_gold"]] = 10
    base[..., ix["ent_pred"]] = 10
    worse, better = base.copy(), base.copy()
    worse[..., ix["ent_tp"]] = rng.binomial(10, 0.6, size=(n_seeds, n_docs))
    better[..., ix["ent_tp"]] = np.minimum(10, worse[..., ix["ent_tp"]] + rng.binomial(2, 0.5, size=(n_seeds, n_docs)))
    b = paired_bootstrap(better, worse, "ent_f1", 500, 0)
    assert b["mean_delta"] > 0.05 and b["ci_lo"] > 0 and b["wins"] == 5
    assert verdict_rule(b["mean_delta"], b["ci_lo"], b["ci_hi"], b["wins"]) == "reproduced"
    same = paired_bootstrap(worse, worse, "ent_f1", 500, 0)
    assert same["mean_delta"] == 0 and same["ci_hi"] < 0.01
    assert verdict_rule(same["mean_delta"], same["ci_lo"], same["ci_hi"], same["wins"]) == "not reproduced"


def test_kg_toy():
    toks = [["graph", "parser", "is", "new", "."], ["it", "helps", "semantic", "parsing", "."]]
    doc = {"doc_key": "k", "sentences": toks,
           "predicted_ner": [[[0, 1, "Method"]], [[5, 5, "Generic"], [7, 8, "Task"]]],
           "predicted_relations": [[], [[5, 5, 7, 8, "USED-FOR"]]],
           "predicted_clusters": [[[0, 1], [5, 5]]]}
    with_c = KG.build_kg([doc], True)
    without = KG.build_kg([doc], False)
    assert set(with_c["edges"]) == {("graph parser", "USED-FOR", "semantic parsing")}
    assert without["edges"] == {}
    gold = KG.gold_edges([["graph parser", "USED-FOR", "semantic parsing"], ["CRF models", "USED-FOR", "tagging"],
                          ["BLEU", "EVALUATE-FOR", "graph parser"]])
    s = KG.edge_prf(set(with_c["edges"]), gold)
    assert s["edge_p"] == 1.0 and s["edge_r"] == pytest.approx(1 / 3)
    assert KG.edge_prf(set(without["edges"]), gold)["edge_r"] == 0.0
    assert KG.normalise("CRF Models,") == "crf model" and KG.normalise("loss") == "loss"


def test_kg_export(tmp_path):
    import networkx as nx

    kg = {"nodes": {"a net": "Method", "b task": "Task"}, "edges": {("a net", "USED-FOR", "b task"): 2}}
    KG.export(kg, tmp_path, "g")
    g = nx.read_graphml(tmp_path / "g.graphml")
    assert g.number_of_edges() == 1 and (tmp_path / "g.jsonl").read_text().count("\n") == 1
