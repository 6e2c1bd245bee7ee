"""The smoke pipeline end to end through the real CLI, plus this paper's bad inputs."""

import json

import pandas as pd
import pytest

from helpers import assert_bad_params_refused, assert_truncated_input_refused, pipeline_runs, run_smoke

SLUG = "mi_generalization"
SPEC_IDS = ["M1", "M2", "M3", "M4", "M5", "M6"]  # spec §8


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    return run_smoke(tmp_path_factory, SLUG)


def test_outputs_claims_and_metrics(smoke_run):
    root, _ = smoke_run
    rep = root / "reports" / SLUG
    for name in ("report.md", "report.html", "claims.json", "metrics.json", "figures/e1_mi_curves.png",
                 "figures/bounds_vs_gap.png", "figures/bound_vs_gap_per_run.png", "figures/e4_mi_curves.png"):
        assert (rep / name).stat().st_size > 0, name
    claims = json.loads((rep / "claims.json").read_text())
    assert [r["id"] for r in claims if r["kind"] == "claim"] == SPEC_IDS
    assert {r["id"] for r in claims if r["kind"] == "check"} == {"EST", "BND", "E1-fit"}
    by_id = {r["id"]: r for r in claims}
    assert by_id["M6"]["verdict"] == "inconclusive" and by_id["M6"]["observed"].startswith("not run:")
    assert by_id["M4"]["observed"].startswith("not run:")  # no sweep in smoke
    assert by_id["M5"]["verdict"] == "inconclusive" and "digits" in by_id["M5"]["observed"]
    assert by_id["EST"]["verdict"] == "reproduced" and by_id["BND"]["verdict"] == "reproduced"
    assert "B_XR" in by_id["M2"]["observed"] and "r=" in by_id["M1"]["observed"]
    metrics = json.loads((rep / "metrics.json").read_text())
    assert metrics["networks"] == 6
    assert metrics["claims_reproduced"] + metrics["claims_not_reproduced"] + metrics["claims_inconclusive"] == 6
    html = (rep / "report.html").read_text()
    assert "data:image/png;base64" in html and "Deviations from the spec" in html


def test_run_table_numbers(smoke_run):
    root, _ = smoke_run
    runs = pd.read_csv(root / "data" / SLUG / "evaluate" / "runs.csv")
    e2 = runs[runs.exp == "e2"]
    assert len(e2) == 4 and set(e2.kind) == {"incoherence", "cmi"} and (e2.n == 32).all()
    assert ((e2.gap_01 - (e2.err_iid - e2.err_train)).abs() < 1e-12).all()
    assert (e2.bound > 0).all() and (e2.b_xr > 0).all()
    # B_XR is the Xu–Raginsky value of Î (bits → nats) with σ = ½
    assert ((e2.b_xr - (0.5 * e2.i_hat * 0.6931471805599453 / 32) ** 0.5).abs() < 1e-12).all()
    e1 = runs[runs.exp == "e1"]
    assert len(e1) == 1 and 0 <= e1.i_xt_t1.iloc[0] <= 3 and 0 <= e1.i_yt_yhat.iloc[0] <= 1
    curves = pd.read_csv(root / "data" / SLUG / "models" / "e2/var8/adam-cmi/run0_curves.csv")
    assert len(curves) == 21 and curves.epoch.tolist()[:3] == [0, 1, 2]
    assert curves.acc_sum.is_monotonic_increasing and curves.i_xt_t1.notna().sum() == 5  # every 5 epochs + final
    prepared = json.loads((root / "data" / SLUG / "prepared" / "ge_validation.json").read_text())
    assert len(prepared) == 3 and all(s["success"] for s in prepared)


def test_mlflow_nested_runs(smoke_run):
    client, _, steps, runs = pipeline_runs(smoke_run[0], SLUG)
    assert steps["prepare"].data.metrics["ge_expectations_failed"] == 0
    nets = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == steps["train"].info.run_id}
    assert len(nets) == 6 and "e2/var8/adam-incoherence/run0" in nets
    inc = nets["e2/var8/adam-incoherence/run0"]
    assert inc.data.params["simulator"] == "incoherence" and inc.data.params["n"] == "32"
    assert inc.data.metrics["eval_b_xr"] > 0 and "final_bound" in inc.data.metrics
    history = client.get_metric_history(inc.info.run_id, "bound")
    assert len(history) >= 2  # per-epoch curve logged through Lightning's MLFlowLogger (thinned)
    assert all(r.info.status == "FINISHED" for r in runs)


def test_corrupted_prepared_file_is_refused_and_models_kept(smoke_run):
    assert_truncated_input_refused(smoke_run[0], SLUG, "prepared/bound/var8_run1.npz", "models/runs.json", "train",
                                   "prepare", "bound/var8_run1.npz")


@pytest.mark.parametrize("override, needles", [
    ("mi_generalization.data.proto.n=30", ["proto.n", "multiple of 4"]),
    ("mi_generalization.e2.simulators=[sgld]", ["simulators"]),
    ("mi_generalization.e3.variances=[8.0]", ["e3.variances", "noise_var"]),
    ("mi_generalization.evaluate.plugin=nope", ["plugin"]),
    ("mi_generalization.e1.epochs=0", ["e1.epochs"]),
])
def test_malformed_params_exit_2_with_one_message(tmp_path, override, needles):
    assert_bad_params_refused(tmp_path, SLUG, override, needles)
