"""The smoke pipeline end to end through Prefect (real CLI process) into a temporary MLflow store."""

import hashlib
import json

import pytest

from helpers import SMOKE_OUTPUTS, copy_project, run_cli

STEPS = ["prepare", "train", "evaluate", "report"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("smoke") / "project")
    proc = run_cli(["run", "whyshift", "--profile", "smoke"], root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, proc


def test_output_is_clean(smoke_run):
    _, proc = smoke_run
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "ERROR" not in text and "database is locked" not in text
    assert "whyshift (smoke): prepare" in proc.stdout
    assert "MLflow UI:" in proc.stdout and "Prefect UI:" in proc.stdout


def test_files_written(smoke_run):
    root, _ = smoke_run
    assert not (root / "reports" / "whyshift").exists() and not (root / "data").exists()  # DVC outs untouched
    assert f"outputs go to {SMOKE_OUTPUTS}/data/whyshift" in smoke_run[1].stderr  # and the log says where
    rep = root / SMOKE_OUTPUTS / "reports" / "whyshift"
    for name in ("report.md", "report.html", "claims.json", "metrics.json", "figures/degradation_vs_yx.png"):
        assert (rep / name).stat().st_size > 0, name
    claims = json.loads((rep / "claims.json").read_text())
    assert len(claims) >= 3
    for row in claims:
        assert list(row) == ["id", "kind", "claim", "metric", "expected", "anchor", "observed", "verdict", "note"]
        assert row["verdict"] in {"reproduced", "not reproduced", "inconclusive"}
    assert [c["id"] for c in claims if c["kind"] == "claim"] == ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8",
                                                                  "C9", "P6"]  # every spec §8 claim has a row
    identity = next(c for c in claims if "sum to the total" in c["claim"])
    assert identity["verdict"] == "reproduced" and identity["kind"] == "check" and identity["note"]
    metrics = json.loads((rep / "metrics.json").read_text())
    counted = [c["verdict"] for c in claims if c["kind"] == "claim"]
    assert metrics["claims_reproduced"] == counted.count("reproduced") and metrics["checks_and_context"] == \
        sum(c["kind"] != "claim" for c in claims)
    metrics = json.loads((rep / "metrics.json").read_text())
    assert metrics["n_configs"] == 24 and metrics["n_error"] == 0 and metrics["max_identity_error"] < 1e-9
    assert (root / SMOKE_OUTPUTS / "reports" / "index.html").exists()  # the run's own index
    assert (rep / "plots" / "id_vs_ood.csv").stat().st_size > 0 and (rep / "headline.json").exists()
    import pandas as pd

    results = pd.read_parquet(root / SMOKE_OUTPUTS / "data/whyshift/train/results.parquet")
    assert len(results) == 24 and results["config_id"].is_unique and (results["status"] == "ok").all()
    assert results["method"].nunique() == 24
    assert results[["id_val_acc", "id_test_acc", "ood_acc_main"]].notna().all().all()


def test_mlflow_runs_params_metrics_artifacts_and_tags(smoke_run):
    from mlflow import MlflowClient

    root, _ = smoke_run
    client = MlflowClient(f"sqlite:///{root}/mlflow.db")
    exp = client.get_experiment_by_name("whyshift")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    children = {r.data.tags["step"]: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert sorted(children) == sorted(STEPS)
    for tags in [parent.data.tags] + [c.data.tags for c in children.values()]:
        for key in ("git_commit", "git_dirty", "profile", "step", "prefect_flow_run_id", "dvc_stage"):
            assert key in tags, key
        assert tags["profile"] == "smoke" and tags["outputs"] == str(SMOKE_OUTPUTS)
        assert tags["prefect_flow_run_id"] not in ("", "none")  # ran under Prefect
    assert children["train"].data.tags["dvc_stage"] == "whyshift-train"
    assert parent.info.run_name == "whyshift · smoke"  # profile visible in the run list
    assert parent.data.tags["prefect_flow_run_name"] == "whyshift · smoke"  # the Prefect run of the same name
    assert parent.data.metrics["claims_reproduced"] + parent.data.metrics["claims_not_reproduced"] + \
        parent.data.metrics["claims_inconclusive"] == len([c for c in read_claims(root) if c["kind"] == "claim"])
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    assert parent.data.params["data.rows.train"] == "400" and parent.data.params["profile"] == "smoke"
    assert children["train"].data.metrics["n_configs"] == 24
    assert children["prepare"].data.metrics["ge_expectations_failed"] == 0
    assert children["report"].data.metrics["max_identity_error"] < 1e-9
    assert all(r.info.status == "FINISHED" for r in runs)
    names = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/report.html", "report/claims.json", "report/metrics.json", "report/headline.json"} <= names
    assert "ge_validation.json" in {a.path for a in client.list_artifacts(children["prepare"].info.run_id)}
    assert {"data/results.parquet", "data/disde.parquet"} <= {a.path for a in client.list_artifacts(parent.info.run_id,
                                                                                                     "data")}
    # the grid: one nested run per setting, under it one per method for its best-by-ID-val config
    best = [r for r in runs if r.data.tags.get("kind") == "best-config"]
    assert len(best) == 24 and {r.data.tags["method"] for r in best} == set(results_methods(root))
    some = next(r for r in best if r.data.tags["method"] == "xgb")
    assert some.data.params["max_depth"] == "4" and 0 < some.data.metrics["ood_acc_main"] <= 1
    assert some.data.tags["step"] == "evaluate" and some.data.tags["profile"] == "smoke"
    setting = next(r for r in runs if r.data.tags.get("kind") == "setting")
    assert setting.data.tags["mlflow.parentRunId"] == children["evaluate"].info.run_id
    assert "best_idval_ood_acc.xgb" in setting.data.metrics


def read_claims(root):
    import json

    return json.loads((root / SMOKE_OUTPUTS / "reports/whyshift/claims.json").read_text())


def results_methods(root):
    import pandas as pd

    return pd.read_parquet(root / SMOKE_OUTPUTS / "data/whyshift/train/results.parquet")["method"].tolist()


def test_failed_expectations_stop_the_run_and_keep_earlier_outputs(smoke_run, monkeypatch, capsys):
    from components.whyshift import data as whyshift_data
    from flows.cli import main

    root, _ = smoke_run
    prepared = root / SMOKE_OUTPUTS / "data/whyshift/prepared"
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in prepared.rglob("*") if p.is_file()}
    original = whyshift_data.validation_frame

    def corrupted(data):
        frame = original(data)
        frame.loc[:4, "y"] = 2  # labels outside {0, 1}
        return frame

    monkeypatch.setattr(whyshift_data, "validation_frame", corrupted)
    monkeypatch.setenv("PAPERFLOWS_WARM", "0")  # in this process, where the patch is
    monkeypatch.chdir(root)
    code = main(["run", "whyshift", "--profile", "smoke", "--step", "prepare"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "expect_column_values_to_be_in_set(y)" in err and "Traceback" not in err
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in prepared.rglob("*") if p.is_file()}
    assert after == before
