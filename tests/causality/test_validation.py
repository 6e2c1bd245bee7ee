"""Great-expectations suites: a dataset that breaks them stops prepare, names the expectations, keeps old data."""

import numpy as np
import pytest

from components.causality import catalog
from components.causality import data as D
from components.causality.datasets import ihdp
from components.core.errors import DataValidationError
from components.core.validation import validate_frame


def test_effect_suite_passes_clean_ihdp_and_names_failures():
    frames = [ihdp("B", k, 0.1, 0) for k in range(2)]
    frame = D.effect_validation_frame(frames)
    assert validate_frame(frame, D.effect_expectations(frame, 747, 2, truth=True), "ok")["success"]
    bad = [f.copy() for f in frames]
    bad[1].loc[3, "t"] = 2
    bad[0].loc[5, "x_4"] = np.nan
    frame = D.effect_validation_frame(bad)
    with pytest.raises(DataValidationError) as err:
        validate_frame(frame, D.effect_expectations(frame, 747, 2, truth=True), "causality-effects-ihdp_b")
    text = str(err.value)
    assert "expect_column_values_to_be_in_set(t)" in text and "expect_column_values_to_be_between(n_bad)" in text
    assert {f["column"] for f in err.value.failures} == {"t", "n_bad"}


def test_discovery_suite_requires_an_acyclic_truth():
    import pandas as pd

    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 3)), columns=list("abc"))
    cyclic = pd.DataFrame([[0, 1, 0], [0, 0, 1], [1, 0, 0]], index=list("abc"), columns=list("abc"))
    summary = D.discovery_summary([frame], [cyclic])
    with pytest.raises(DataValidationError, match="truth_acyclic"):
        validate_frame(summary, D.discovery_expectations(50, 3, None, require_acyclic=True), "dag")


def test_prepare_failure_keeps_earlier_outputs(tmp_path, monkeypatch):
    from helpers import copy_project

    from components.causality.pipeline import PIPELINE
    from components.core.paths import output_root
    from components.core.pipeline import run_pipeline

    root = copy_project(tmp_path / "project")
    overrides = ["causality.data.lalonde=null", "causality.data.jobs=null", "causality.data.scm=null",
                 "causality.data.dags=null", "causality.data.sachs=false", "causality.data.tuebingen_pairs=0"]
    run_pipeline(PIPELINE, "smoke", ["prepare"], overrides, root=root)
    out = output_root(root, "smoke", overrides)  # other params than the project's: their own folder
    manifest = out / "data/causality/prepared/manifest.json"
    before = manifest.read_bytes()

    def broken(surface, rep, test_share, seed):
        frame = ihdp(surface, rep, test_share, seed)
        frame.loc[0, "t"] = 3
        return frame

    monkeypatch.setattr(catalog.ds, "ihdp", broken)
    with pytest.raises(DataValidationError, match="expect_column_values_to_be_in_set"):
        run_pipeline(PIPELINE, "smoke", ["prepare"], overrides, root=root)
    assert manifest.read_bytes() == before
    assert not any((out / "data/causality/.staging").glob("*"))  # the staged outputs were discarded
