"""Interoperability: results in the official GRAMMAR JSON layout re-scored with this project's metrics."""

from pathlib import Path

import pytest

from components.core.errors import DataValidationError
from components.grammar.interop import official_frame, rescore_dir, rescore_file, scored

FIXTURES = Path(__file__).parent / "fixtures" / "official"


def test_rescoring_a_file_in_the_official_layout():
    m = rescore_file(FIXTURES / "results_short_balanced.json")
    # groups: 0 gap (0/3), 1 robust (3/3), 2 non-robust (1/3: the "Correct" with a wrong retrieval is
    # Incorrect under the closed-domain rule; the null retrieval_judgement is recomputed from the ids)
    assert (m["n_gap"], m["n_robust"], m["n_non_robust"]) == (1, 1, 1)
    assert m["accuracy"] == pytest.approx(4 / 9) and m["robustness"] == pytest.approx(4 / 6)
    assert m["knowledge_accuracy"] == pytest.approx(2 / 3)
    assert m["accuracy_r"] == pytest.approx(5 / 9) and m["robustness_r"] == pytest.approx(5 / 6)
    assert m["retrieval_judgement_stored"] == pytest.approx(8 / 9)


def test_rescoring_a_folder_skips_non_result_files():
    out = rescore_dir(FIXTURES)
    assert list(scored(out)) == ["results_short_balanced.json"] and "skipped" in out["gpt_usage.json"]


def test_a_folder_laid_out_like_the_official_ones_is_scored_without_aborting():
    """Judged, unjudged, LLM-only, older-layout and unreadable files side by side (invented content)."""
    out = rescore_dir(Path(__file__).parent / "fixtures" / "official_eval_results")
    assert set(scored(out)) == {"results_short_balanced.json", "results_long.json"}
    assert "LLM-only" in out["gpt3.5-turbo_results_short.json"]["skipped"]
    assert "unjudged" in out["results_long_balanced_responses.json"]["skipped"]
    assert "older layout" in out["results_long_queries.json"]["skipped"]
    assert "not readable" in out["notes.json"]["skipped"] and "usage" in out["gpt_usage.json"]["skipped"]
    mixed = out["results_long.json"]
    # 6 scorable records in 2 groups; 2 unjudged and 1 LLM-only record are counted, not scored
    assert (mixed["n_examples"], mixed["n_skipped_unjudged"], mixed["n_skipped_llm_only"]) == (6, 2, 1)
    # group 0: the stored "Correct" with the wrong document is incorrect under the closed-domain rule
    assert mixed["accuracy"] == pytest.approx(2 / 6) and (mixed["n_gap"], mixed["n_non_robust"]) == (1, 1)
    assert mixed["robustness"] == pytest.approx(2 / 3)


def test_shortcut_variant_without_the_closed_domain_rule():
    import json

    records = json.loads((FIXTURES / "results_short_balanced.json").read_text())
    assert official_frame(records, closed_domain=False)["c"].sum() == 5
    assert official_frame(records)["c"].sum() == 4


def test_bad_files_are_skipped_with_a_reason_and_a_missing_folder_is_an_error(tmp_path):
    (tmp_path / "results_bad.json").write_text('[{"query": "q"}]')
    assert "unjudged" in rescore_dir(tmp_path)["results_bad.json"]["skipped"]
    (tmp_path / "results_bad.json").write_text("[{")
    assert "not readable" in rescore_dir(tmp_path)["results_bad.json"]["skipped"]
    with pytest.raises(DataValidationError, match="does not exist"):
        rescore_dir(tmp_path / "nope")
