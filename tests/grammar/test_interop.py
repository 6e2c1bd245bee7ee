"""Interoperability: results in the official GRAMMAR JSON layout re-scored with this project's metrics."""

from pathlib import Path

import pytest

from components.core.errors import DataValidationError
from components.grammar.interop import official_frame, rescore_dir, rescore_file

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
    assert list(out) == ["results_short_balanced.json"]


def test_shortcut_variant_without_the_closed_domain_rule():
    import json

    records = json.loads((FIXTURES / "results_short_balanced.json").read_text())
    assert official_frame(records, closed_domain=False)["c"].sum() == 5
    assert official_frame(records)["c"].sum() == 4


def test_bad_files_give_a_clear_error(tmp_path):
    (tmp_path / "results_bad.json").write_text('[{"query": "q"}]')
    with pytest.raises(DataValidationError, match="lacks"):
        rescore_dir(tmp_path)
    (tmp_path / "results_bad.json").write_text("[{")
    with pytest.raises(DataValidationError, match="cannot read"):
        rescore_dir(tmp_path)
    with pytest.raises(DataValidationError, match="does not exist"):
        rescore_dir(tmp_path / "nope")
