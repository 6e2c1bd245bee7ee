import numpy as np
import pandas as pd
import pytest

from components.core.errors import DataValidationError, UserError
from components.core.params import TrackingParams
from components.core.tracking import Tracker, check_reachable, resolve_uri
from components.core.validation import expect, validate_frame
from helpers import free_port


def test_validation_passes_and_summarises():
    frame = pd.DataFrame({"y": [0, 1, 1], "x": [1.0, 2.0, 1.0]})
    summary = validate_frame(frame, [expect("ExpectColumnValuesToBeInSet", column="y", value_set=[0, 1])], "ok")
    assert summary == {"suite": "ok", "success": True, "evaluated": 1, "failed": []}


def test_validation_failure_names_expectations_and_columns():
    frame = pd.DataFrame({"y": [0, 1, 2], "x": [1.0, np.nan, 1.0]})
    suite = [expect("ExpectColumnValuesToBeInSet", column="y", value_set=[0, 1]),
             expect("ExpectColumnValuesToNotBeNull", column="x"),
             expect("ExpectTableRowCountToEqual", value=3)]
    with pytest.raises(DataValidationError) as err:
        validate_frame(frame, suite, "toy")
    text = str(err.value)
    assert "failed 2 of 3 expectations" in text
    assert "expect_column_values_to_be_in_set(y) e.g. ['2']" in text
    assert "expect_column_values_to_not_be_null(x)" in text
    assert {f["column"] for f in err.value.failures} == {"x", "y"}


def test_tracking_uri_precedence(tmp_path, monkeypatch):
    assert resolve_uri(tmp_path, TrackingParams()) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert resolve_uri(tmp_path, TrackingParams(uri="sqlite:////x.db")) == "sqlite:////x.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://example:5000")
    assert resolve_uri(tmp_path, TrackingParams(uri="sqlite:////x.db")) == "http://example:5000"


def test_unreachable_server_is_a_user_error():
    with pytest.raises(UserError, match="unreachable") as err:
        check_reachable(f"http://127.0.0.1:{free_port()}", timeout=2)
    assert "MLFLOW_TRACKING_URI" in str(err.value)


def test_nested_runs_params_metrics_and_lightning_logger(tmp_path):
    import torch
    from mlflow import MlflowClient
    from torch.utils.data import DataLoader, TensorDataset

    from components.core.training import make_trainer
    from components.whyshift.lightning import LitClassifier

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tracker = Tracker(uri, "demo", artifact_root=tmp_path / "art")
    parent = tracker.start_run("demo", {"profile": "smoke"})
    child = tracker.start_run("train", {"step": "train"}, parent=parent)
    parent.log_params({"a": {"b": 1}, "long": "x" * 7000})
    x = torch.randn(64, 3)
    loader = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16)
    make_trainer(2, run=child, progress=False).fit(LitClassifier(3, 0, 0.0, 0.1), loader)
    child.finish()
    parent.finish()
    client = MlflowClient(uri)
    got = client.get_run(child.run_id)
    assert got.data.tags["mlflow.parentRunId"] == parent.run_id and got.data.tags["step"] == "train"
    assert "train_loss" in got.data.metrics                     # logged by Lightning into our run
    assert got.data.params["n_features"] == "3"                 # save_hyperparameters → params
    p = client.get_run(parent.run_id)
    assert p.data.params["a.b"] == "1" and len(p.data.params["long"]) == 6000
    assert p.info.status == "FINISHED"
    assert (tmp_path / "art" / "demo").exists() or tracker.client.get_experiment(
        tracker.experiment_id).artifact_location.startswith((tmp_path / "art").as_uri())


def test_parallel_first_opens_of_a_fresh_sqlite_store_all_succeed(tmp_path):
    """Five processes opening a store that does not exist yet: without the init lock MLflow's schema
    creation races and leaves the store half-migrated (every open then fails)."""
    import multiprocessing as mp

    import mlflow  # noqa: F401  imported once, before forking: the children only race on the schema

    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=Tracker, args=(uri, "race")) for _ in range(5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 5
    experiment = Tracker(uri, "race").client.get_experiment_by_name("race")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # UI opens on the runs
