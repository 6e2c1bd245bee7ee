"""Risk regions (the paper's Algorithm 1): where P(Y|x) differs most between source and target.

Both conditionals are estimated on the shared distribution S (the DISDE weights), a regression
tree fits their absolute gap on the pooled sample, and its highest leaf is the risk region.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TREE = dict(max_depth=6, min_samples_leaf=100, min_samples_split=200, min_weight_fraction_leaf=0.05,
            ccp_alpha=1e-4)


@dataclass(frozen=True)
class RiskRegion:
    rules: list[str]        # the path to the top leaf, e.g. "AGE <= -0.52"
    features: list[str]     # features the path splits on
    leaf_gap: float         # the top leaf's weighted mean |P̂_src(Y=1|x) − P̂_tgt(Y=1|x)|
    leaf_mass: float        # share of pooled weight in the top leaf
    jaccard: float | None   # overlap with the planted region on the pooled sample (synthetic only)
    X: np.ndarray = field(repr=False, default=None)        # the pooled sample
    inside: np.ndarray = field(repr=False, default=None)   # its top-leaf membership

    def to_dict(self) -> dict:
        return {"rules": self.rules, "features": self.features, "leaf_gap": self.leaf_gap,
                "leaf_mass": self.leaf_mass, "jaccard": self.jaccard}


def find_risk_region(X_p, y_p, w_p, X_q, y_q, w_q, make_model, feature_names: list[str],
                     planted=None, seed: int = 0) -> RiskRegion:
    """``make_model()`` returns an unfitted classifier (the setting's reference XGB); ``planted(X)`` the
    true region's membership when known. Weights are the DISDE shared weights (each sums to 1)."""
    from sklearn.tree import DecisionTreeRegressor

    src = make_model().fit(X_p, y_p, sample_weight=w_p * len(w_p))
    tgt = make_model().fit(X_q, y_q, sample_weight=w_q * len(w_q))
    X = np.vstack([X_p, X_q])
    weights = np.r_[w_p, w_q] / 2.0
    gap = np.abs(src.predict_proba(X)[:, 1] - tgt.predict_proba(X)[:, 1])
    tree = DecisionTreeRegressor(random_state=seed, **TREE).fit(X, gap, sample_weight=weights)
    leaves = tree.apply(X)
    ids = np.unique(leaves)
    means = np.array([np.average(gap[leaves == i], weights=weights[leaves == i]) for i in ids])
    top = ids[int(np.argmax(means))]
    inside = leaves == top
    jaccard = None
    if planted is not None:
        truth = planted(X)
        union = np.sum(inside | truth)
        jaccard = float(np.sum(inside & truth) / union) if union else 0.0
    rules = _path_to(tree, top, feature_names)
    return RiskRegion(rules=rules, features=sorted({r.split(" ")[0] for r in rules}),
                      leaf_gap=float(means.max()), leaf_mass=float(weights[inside].sum()), jaccard=jaccard,
                      X=X, inside=inside)


def _path_to(tree, leaf: int, names: list[str]) -> list[str]:
    t = tree.tree_
    parent = {}
    for node in range(t.node_count):
        for child, side in ((t.children_left[node], "<="), (t.children_right[node], ">")):
            if child != -1:
                parent[child] = (node, side)
    rules = []
    node = leaf
    while node in parent:
        node, side = parent[node]
        rules.append(f"{names[t.feature[node]]} {side} {t.threshold[node]:.3g}")
    return rules[::-1]
