"""The smoke pipeline end to end through the real CLI, plus this paper's bad inputs."""

import json

import pandas as pd
import pytest

from helpers import copy_project, pipeline_runs, run_cli, run_smoke

SPEC_IDS = ["C1", "C2", "C3a", "C3b", "C4", "C5", "C6a", "C6b", "C6c", "C6d", "C7", "C8", "C9", "C10", "C11", "C12",
            "C13", "C14", "C15", "C16"]  # spec §8


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
    for row in claims:
        assert list(row) == ["id", "kind", "claim", "metric", "expected", "anchor", "observed", "verdict", "note"]
        assert row["verdict"] in {"reproduced", "not reproduced", "inconclusive"}
        assert not row["claim"].startswith(row["id"])  # the id is its own field now
    by_id = {row["id"]: row for row in claims}
    # every spec §8 claim, plus the check row C6a-bias and the context row C5-scm
    assert len(by_id) == len(claims) == len(SPEC_IDS) + 2
    assert [r["id"] for r in claims if r["kind"] == "claim"] == [i for i in SPEC_IDS if i != "C1"]
    assert {r["id"] for r in claims if r["kind"] == "check"} == {"C1", "C6a-bias"}
    assert {r["id"] for r in claims if r["kind"] == "context"} == {"C5-scm"}
    assert all(r["note"] for r in claims if r["kind"] != "claim")
    assert [r["id"] for r in claims if r["observed"].startswith("not run: ")] == ["C16"]
    # data-driven at smoke size: real anchors and large effects
    assert by_id["C14"]["verdict"] == "reproduced" and "IPW 3.441 kg" in by_id["C14"]["observed"]
    assert "difference in means 21.28 (n=915)" in by_id["C6d"]["observed"]
    assert by_id["C6b"]["verdict"] == "reproduced" and by_id["C6a-bias"]["verdict"] == "reproduced"
    assert "LaLonde estimators" in by_id["C13"]["observed"] and by_id["C13"]["verdict"] == "inconclusive"
    assert "not in this profile" in by_id["C5"]["observed"] and by_id["C5"]["verdict"] == "inconclusive"
    assert "ihdp_a" in by_id["C3b"]["observed"] and by_id["C3b"]["verdict"] == "inconclusive"
    metrics = json.loads((rep / "metrics.json").read_text())
    assert metrics["claims_reproduced"] + metrics["claims_not_reproduced"] + metrics["claims_inconclusive"] == \
        sum(r["kind"] == "claim" for r in claims)
    assert metrics["lalonde_cps.naive.att_err_mean"] == pytest.approx(1794.34 + 8497.52, abs=0.5)
    assert 0 < metrics["ihdp_b.t_learner.pehe_out_mean"] < metrics["ihdp_b.ols.pehe_out_mean"]
    html = (rep / "report.html").read_text()
    assert "data:image/png;base64" in html and "Claims" in html


def test_prepared_layout_and_train_outputs(smoke_run):
    root, _ = smoke_run
    data = root / "data" / "causality"
    manifest = json.loads((data / "prepared" / "manifest.json").read_text())
    assert manifest["profile"] == "smoke" and manifest["datasets"]["lalonde_cps"]["rows"] == 16177
    assert {k: manifest["datasets"][k]["rows"] for k in ("nhefs", "rdd_lmb", "rdd_transfers")} == \
        {"nhefs": 1566, "rdd_lmb": 13588, "rdd_transfers": 1948}
    studies = pd.read_parquet(data / "train" / "studies.parquet")
    assert (studies.status == "ok").all() and set(studies.study) == {"ks", "iv", "frontdoor", "rdd", "rdd_dowhy",
                                                                      "latent", "nhefs", "rdd_lmb", "rdd_transfers"}
    assert len(studies[(studies.study == "iv") & (studies.method == "iv_2sls")]) == 2 * 5  # strong + weak × 5 reps
    assert manifest["datasets"]["sachs"]["truth_acyclic"] is False  # the consensus graph has a 3-cycle
    assert all(len(h) == 64 for h in manifest["sha256"].values())
    validation = json.loads((data / "prepared" / "ge_validation.json").read_text())
    assert len(validation) == len(manifest["datasets"]) and all(v["success"] for v in validation)
    effects = pd.read_parquet(data / "train" / "effects.parquet")
    assert (effects.status == "ok").all()
    # ihdp_b: 4 methods × 2 reps; lalonde: 2 methods × (1 + 1 bootstrap resample)
    assert len(effects[effects.dataset == "ihdp_b"]) == 8 and len(effects[effects.dataset == "lalonde_cps"]) == 4
    cate = pd.read_parquet(data / "train" / "cate" / "ihdp_b.parquet")
    assert len(cate) == 4 * 2 * 747
    # one decision per (Tübingen pair × pair method), in the order the units were listed
    decisions = pd.read_parquet(data / "train" / "pairs.parquet")
    assert len(decisions) == 6 * 2 and list(decisions.method) == ["igci"] * 6 + ["reci"] * 6
    assert not (data / ".staging").exists() or not any((data / ".staging").iterdir())


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
