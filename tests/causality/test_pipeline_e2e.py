"""The smoke pipeline end to end through the real CLI, plus this paper's bad inputs."""

import json

import pandas as pd
import pytest

from helpers import copy_project, pipeline_runs, run_cli, run_smoke


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    return run_smoke(tmp_path_factory, "causality")


def test_outputs_claims_and_metrics(smoke_run):
    root, proc = smoke_run
    assert "Traceback" not in proc.stdout + proc.stderr
    rep = root / "reports" / "causality"
    for name in ("report.md", "report.html", "claims.json", "metrics.json", "figures/effect_error_heatmap.png",
                 "figures/lalonde_att.png", "figures/sachs_graph.png", "figures/shd_vs_n.png"):
        assert (rep / name).stat().st_size > 0, name
    claims = json.loads((rep / "claims.json").read_text())
    assert len(claims) == 11
    for row in claims:
        assert list(row) == ["claim", "metric", "expected", "anchor", "observed", "verdict"]
        assert row["verdict"] in {"reproduced", "not reproduced", "inconclusive"}
    by_id = {row["claim"].split(":")[0]: row for row in claims}
    # data-driven at smoke size: LaLonde's naive gap and the hidden-confounder bias are large effects
    assert by_id["C2"]["verdict"] == "reproduced" and "naive -8,498" in by_id["C2"]["observed"]
    assert by_id["C3"]["verdict"] == "reproduced"
    assert "not in this profile" in by_id["C7"]["observed"] and by_id["C7"]["verdict"] == "inconclusive"
    metrics = json.loads((rep / "metrics.json").read_text())
    assert metrics["claims_reproduced"] + metrics["claims_not_reproduced"] + metrics["claims_inconclusive"] == 11
    assert metrics["lalonde_cps.naive.att_err_mean"] == pytest.approx(1794.34 + 8497.52, abs=0.5)
    assert 0 < metrics["ihdp_b.t_learner.pehe_out_mean"] < metrics["ihdp_b.ols.pehe_out_mean"]
    html = (rep / "report.html").read_text()
    assert "data:image/png;base64" in html and "Claims" in html


def test_prepared_layout_and_train_outputs(smoke_run):
    root, _ = smoke_run
    data = root / "data" / "causality"
    manifest = json.loads((data / "prepared" / "manifest.json").read_text())
    assert manifest["profile"] == "smoke" and manifest["datasets"]["lalonde_cps"]["rows"] == 16177
    assert manifest["datasets"]["sachs"]["truth_acyclic"] is False  # the consensus graph has a 3-cycle
    assert all(len(h) == 64 for h in manifest["sha256"].values())
    validation = json.loads((data / "prepared" / "validation.json").read_text())
    assert len(validation) == len(manifest["datasets"]) and all(v["success"] for v in validation)
    effects = pd.read_parquet(data / "train" / "effects.parquet")
    assert (effects.status == "ok").all()
    # ihdp_b: 4 methods × 2 reps; lalonde: 2 methods × (1 + 1 bootstrap resample)
    assert len(effects[effects.dataset == "ihdp_b"]) == 8 and len(effects[effects.dataset == "lalonde_cps"]) == 4
    cate = pd.read_parquet(data / "train" / "cate" / "ihdp_b.parquet")
    assert len(cate) == 4 * 2 * 747


def test_mlflow_nested_runs(smoke_run):
    client, _, steps, runs = pipeline_runs(smoke_run[0], "causality")
    assert steps["prepare"].data.metrics["ge_expectations_failed"] == 0
    assert "ge_validation.json" in {a.path for a in client.list_artifacts(steps["prepare"].info.run_id)}
    methods = {r.info.run_name: r for r in runs
               if r.data.tags.get("mlflow.parentRunId") == steps["evaluate"].info.run_id}
    assert {"effect:ols", "effect:t_learner", "effect:tarnet", "discovery:pc", "pairs:igci"} <= set(methods)
    assert methods["effect:ols"].data.params["library"] == "dowhy"
    assert methods["effect:t_learner"].data.metrics["ihdp_b.pehe_out_mean"] > 0
    assert "discovery:direct_lingam" in methods and "sachs.shd_mean" in methods["discovery:direct_lingam"].data.metrics
    assert all(r.info.status == "FINISHED" for r in runs)


def test_corrupted_prepared_file_is_refused_and_train_output_kept(smoke_run, tmp_path):
    root, _ = smoke_run
    victim = root / "data/causality/prepared/effects/ihdp_b/rep0.parquet"
    original = victim.read_bytes()
    before = (root / "data/causality/train/effects.parquet").read_bytes()
    try:
        victim.write_bytes(original[: len(original) // 2])
        proc = run_cli(["run", "causality", "--profile", "smoke", "--step", "train"], root)
    finally:
        victim.write_bytes(original)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "effects/ihdp_b/rep0.parquet" in proc.stderr
    assert "--step prepare" in proc.stderr
    assert (root / "data/causality/train/effects.parquet").read_bytes() == before  # nothing half-written


@pytest.mark.parametrize("override, needles", [
    ("causality.effects.forest_trees=10", ["forest_trees", "multiple of 4"]),
    ("causality.data.acic.instances=[11]", ["instances", "1..10"]),
    ("causality.effects.ps_clip=0.7", ["ps_clip"]),
    ("causality.data.ihdp.ihdp_b.surface=C", ["surface"]),
])
def test_malformed_params_exit_2_with_one_message(tmp_path, override, needles):
    root = copy_project(tmp_path / "project")
    proc = run_cli(["run", "causality", "--profile", "smoke", "--set", override], root)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("paperflows: error:") == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)
    assert not (root / "data" / "causality").exists()  # failed before any work
