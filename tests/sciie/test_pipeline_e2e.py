"""§9.18, §9.20: the smoke pipeline end to end through the real CLI (A8 `ner`, `all`), plus bad inputs."""

import json

import pandas as pd
import pytest

from helpers import (SMOKE_OUTPUTS, assert_bad_params_refused, assert_truncated_input_refused, copy_project,
                     pipeline_runs, run_cli)

SLUG = "sciie"
SPEC_IDS = [f"M{i}" for i in range(1, 12)]


GUARD = """import socket
_connect = socket.socket.connect


def _guarded(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
        raise OSError(f"sciie test: network disabled ({address})")
    return _connect(self, address)


socket.socket.connect = _guarded
"""


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The smoke run with every non-loopback connection refused in the CLI and its workers (§9.19); the local
    Prefect API and the SQLite MLflow store stay reachable."""
    import os

    guard = tmp_path_factory.mktemp("noNet")
    (guard / "sitecustomize.py").write_text(GUARD)
    root = copy_project(tmp_path_factory.mktemp(SLUG) / "project")
    path = os.pathsep.join(filter(None, [str(guard), os.environ.get("PYTHONPATH", "")]))
    proc = run_cli(["run", SLUG, "--profile", "smoke"], root, env={"PYTHONPATH": path, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    return root / SMOKE_OUTPUTS, proc  # a smoke run writes its own folder, not the DVC-tracked outputs


def test_declared_outputs_and_claims(smoke_run):
    root, _ = smoke_run
    rep, data = root / "reports" / SLUG, root / "data" / SLUG
    for name in ("report.md", "report.html", "claims.json", "metrics.json", "headline.json", "figures/kg.png",
                 "figures/loss_curves.png"):
        assert (rep / name).stat().st_size > 0, name
    for name in ("prepared/world.json", "prepared/test.json", "prepared/kg_corpus.json", "prepared/kg_gold.json",
                 "prepared/A8/seed0/train.json", "prepared/A8/seed0/dev.json", "prepared/stats.json",
                 "prepared/manifest.json", "prepared/ge_validation.json", "models/runs.csv",
                 "models/A8/all/seed0/model.pt", "models/A8/all/seed0/pred_test.json",
                 "models/A8/all/seed0/pred_kg.json", "models/A8/ner/seed0/train_log.csv", "metrics/runs.csv",
                 "metrics/paired.csv", "metrics/kg.csv", "metrics/kg/kg_A8_seed0_with_coref.graphml",
                 "metrics/kg/kg_A8_seed0_with_coref.jsonl", "metrics/claims_eval.json"):
        assert (data / name).exists(), name
    claims = json.loads((rep / "claims.json").read_text())
    assert sorted(r["id"] for r in claims) == sorted(SPEC_IDS)
    assert all(r["verdict"] in ("reproduced", "not reproduced", "inconclusive") for r in claims)
    assert all(r["verdict"] == "inconclusive" for r in claims)  # smoke: no spec regime, 1 seed
    html = (rep / "report.html").read_text()
    assert "data:image/png;base64" in html and "Deviations from the spec" in html and "Honest reading" in html


def test_numbers_and_threads(smoke_run):
    root, _ = smoke_run
    data = root / "data" / SLUG
    runs = pd.read_csv(data / "models" / "runs.csv")
    assert set(runs.config) == {"ner", "all"} and (runs.threads == 1).all()
    assert (runs.final_loss < runs.first_loss).all()
    kg = pd.read_csv(data / "metrics" / "kg.csv")
    gold = kg[kg.variant == "gold_annotations_with_coref"].iloc[0]
    assert gold.edge_p == 1.0 and gold.edge_r == 1.0  # the KG construction is exact on gold annotations
    import torch

    sd = torch.load(data / "models" / "A8" / "all" / "seed0" / "model.pt", weights_only=True)
    assert "ner_head.0.weight" in sd and "coref_head.0.weight" in sd  # every config builds all heads


def test_mlflow_nested_runs(smoke_run):
    client, _, steps, runs = pipeline_runs(smoke_run[0], SLUG)
    assert steps["prepare"].data.metrics["ge_expectations_failed"] == 0
    nested = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == steps["train"].info.run_id}
    assert sorted(nested) == ["A8/all/seed0", "A8/ner/seed0"]
    for r in nested.values():
        assert "test_ent_f1" in r.data.metrics and r.data.params["encoder"] == "bilstm"
    assert len(client.get_metric_history(nested["A8/all/seed0"].info.run_id, "loss")) == 2
    assert all(r.info.status == "FINISHED" for r in runs)


def test_corrupted_prepared_file_is_refused(smoke_run):
    assert_truncated_input_refused(smoke_run[0], SLUG, "prepared/A8/seed0/train.json", "models/runs.csv", "train",
                                   "prepare", "A8/seed0/train.json")


@pytest.mark.parametrize("override, needles", [
    ("sciie.runs=[{regime: E30, configs: [ner]}]", ["runs", "E30"]),
    ("sciie.runs=[{regime: A8, configs: [ner, multi]}]", ["configs", "multi"]),
    ("sciie.model.rho_r=1.5", ["rho_r"]),
    ("sciie.kg.regime=B60", ["kg"]),
    ("sciie.model.bogus=1", ["bogus"]),
])
def test_malformed_params_exit_2_with_one_message(tmp_path, override, needles):
    assert_bad_params_refused(tmp_path, SLUG, override, needles)


def test_missing_real_data_dir_is_one_clear_error(tmp_path):
    root = copy_project(tmp_path / "project")
    proc = run_cli(["run", SLUG, "--profile", "smoke", "--step", "prepare", "--set",
                    f"sciie.paper.data_dir={tmp_path / 'nowhere'}"], root)
    assert proc.returncode == 2, proc.stderr
    assert "sciie.paper.data_dir" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(root.rglob("prepared"))  # nothing published
