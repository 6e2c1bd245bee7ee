"""Claim rows: the spec's ids, and the kind of each row (issue 16: by-construction rows are checks, G1-any context)."""

import pandas as pd
import pytest

from components.grammar import claims
from components.grammar.report import CLAIM_NUMBERS

SPEC_IDS = {"G1", "G1b", "G2", "G3", "G3b", "G4", "G5", "G6"}  # spec §8


def _empty_inputs(tmp_path) -> claims.Inputs:
    metrics = pd.DataFrame(columns=["system", "attribute", "balance", "accuracy", "robustness",
                                    "retrieval_failure_share", "generator_share", "top1_retrieval_accuracy",
                                    "n_non_robust"])
    return claims.Inputs(metrics, {}, {}, tmp_path / "results", 0, 10)


def test_every_spec_claim_has_a_row_with_a_unique_id_even_when_nothing_was_evaluated(tmp_path):
    rows, values = claims.all_claims(_empty_inputs(tmp_path))
    ids = [c.id for c in rows]
    assert len(ids) == len(set(ids)) and SPEC_IDS <= set(ids) and set(ids) == set(CLAIM_NUMBERS)
    for c in rows:
        assert not c.claim.startswith(c.id + " ")
        if c.id in ("G1", "G1b", "G3", "G3b", "G4", "G5", "G7"):  # nothing to measure: inconclusive, said why
            assert c.verdict == "inconclusive" and c.observed.startswith("not run: "), c
    assert set(values) <= {"g1_any_systems"}


def test_kinds_follow_the_fidelity_issue(tmp_path):
    rows, _ = claims.all_claims(_empty_inputs(tmp_path))
    kinds = {c.id: c.kind for c in rows}
    assert {i for i, k in kinds.items() if k == "check"} == {"G1b", "G3", "G3b", "G4", "G5"}
    assert kinds["G1-any"] == "context"
    assert {i for i, k in kinds.items() if k == "claim"} == {"G1", "G2", "G6", "G7"}
    for c in rows:
        assert bool(c.note.strip()) == (c.kind != "claim")


def test_a_check_row_keeps_its_kind_whatever_the_verdict():
    row = claims._claim("G5", claim="x", metric="m", expected="e", anchor="a", observed="o", verdict="not reproduced")
    assert row.kind == "check" and "never be retrieved" in row.note
    with pytest.raises(ValueError, match="needs a note"):
        claims.Claim(id="G5", kind="check", claim="x", metric="m", expected="e", anchor="a", observed="o",
                     verdict="reproduced")
