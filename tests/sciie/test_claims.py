"""Verdict rules of the claims rows reach every verdict; guards (seeds, fit) turn verdicts inconclusive."""

import pandas as pd
import pytest

from components.sciie.claims import build_claims, kg_rule, paired_claim
from components.sciie.params import SciieParams

RUNS = [{"regime": "A30", "config": "all", "encoder": "bilstm"}]


@pytest.fixture
def p():
    return SciieParams.model_validate({"runs": [{"regime": "A30", "configs": ["ner", "all"]},
                                                {"regime": "A15", "configs": ["ner", "all"]}]})


def _runs(final=10.0):
    return pd.DataFrame([{"regime": r, "config": c, "encoder": "bilstm", "tag": f"{r}/{c}/seed{i}",
                          "first_loss": 100.0, "final_loss": final}
                         for r in ("A15", "A30") for c in ("ner", "all") for i in range(5)])


def _row(mean, lo, hi, wins, n=5):
    return {"ran": True, "mean_delta": mean, "ci_lo": lo, "ci_hi": hi, "wins": wins, "n_seeds": n,
            "f1_m": [0.9] * n, "f1_s": [0.9] * n}


@pytest.mark.parametrize("row, verdict", [
    (_row(0.02, 0.011, 0.03, 5), "reproduced"),
    (_row(-0.01, -0.02, 0.0, 1), "not reproduced"),
    (_row(0.005, -0.01, 0.02, 3), "inconclusive"),
])
def test_paired_claim_verdicts(p, row, verdict):
    assert paired_claim("M2", row, _runs(), p).verdict == verdict


def test_guards_make_it_inconclusive(p):
    c = paired_claim("M2", _row(0.02, 0.011, 0.03, 5), _runs(final=95.0), p)
    assert c.verdict == "inconclusive" and "did not fit" in c.note
    c = paired_claim("M2", _row(0.02, 0.011, 0.03, 2, n=2), _runs(), p)
    assert c.verdict == "inconclusive" and "2 seed" in c.note
    c = paired_claim("M3", None, _runs(), p, not_run="trimmed")
    assert c.verdict == "inconclusive" and c.observed.startswith("not run: trimmed")


def test_kg_rule_reaches_every_verdict():
    assert kg_rule([0.2, 0.25, 0.3, 0.22, 0.27], [0.0, -0.01, 0.01, 0.0, 0.0])[0] == "reproduced"
    assert kg_rule([-0.01, -0.02, -0.03, -0.01, -0.02], [0.0] * 5)[0] == "not reproduced"
    assert kg_rule([0.2, 0.25, 0.3, 0.22, 0.27], [-0.2, -0.3, -0.25, -0.2, -0.22])[0] == "not reproduced"
    assert kg_rule([0.2, -0.25, 0.3, -0.22, 0.01], [0.0] * 5)[0] == "inconclusive"
    assert kg_rule([0.2, 0.3], [0.0, 0.0])[0] == "inconclusive"  # < 3 seeds


def test_every_spec_claim_has_a_row(p):
    rows = build_claims([], _runs(), None, p, {})
    assert [c.id for c in rows] == ["M1", "M2", "M3", "M4", "M5", "M6", "M7", "M8", "M9", "M10", "M11"]
    kinds = {c.id: c.kind for c in rows}
    assert kinds["M6"] == kinds["M7"] == kinds["M9"] == "check" and kinds["M2"] == "claim"
    assert all(c.verdict == "inconclusive" and c.observed.startswith("not run") for c in rows)
