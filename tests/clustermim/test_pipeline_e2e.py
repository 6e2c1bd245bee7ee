"""The smoke pipeline end to end through the real CLI (A8), plus this paper's bad inputs."""

import json

import pandas as pd
import pytest

from helpers import (assert_bad_params_refused, assert_truncated_input_refused, copy_project, pipeline_runs, run_cli,
                     run_smoke)

SLUG = "clustermim"
SPEC_IDS = [f"C{i}" for i in range(1, 10)]
FINAL_KEYS = {"lp_top1_cls", "lp_top1_mean", "knn_top1", "pretrain_seconds"}
TOKEN_KEYS = {"tcas_recon", "token_entropy", "dead_tokens", "tokenizer_seconds"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    return run_smoke(tmp_path_factory, SLUG)


def test_declared_outputs_and_claims(smoke_run):
    root, _ = smoke_run
    rep, data = root / "reports" / SLUG, root / "data" / SLUG
    for name in ("report.md", "report.html", "claims.json", "metrics.json", "figures/lp_by_tokenizer.png",
                 "figures/tcas_vs_lp.png", "figures/token_usage.png", "figures/assignments.png"):
        assert (rep / name).stat().st_size > 0, name
    for name in ("prepared/images/train.npz", "prepared/images/test.npz", "prepared/images/stats.json",
                 "prepared/tokenizers/tcas.parquet", "prepared/tokenizers/pix_k10/centres.npy",
                 "prepared/tokenizers/pix_k10/meta.json", "models/runs.csv", "models/mae/s0/encoder.pt",
                 "models/tokenizers/teach_k10_s0/centres.npy", "evaluate/eval.parquet", "evaluate/ft.parquet"):
        assert (data / name).stat().st_size > 0, name
    claims = json.loads((rep / "claims.json").read_text())
    assert [r["id"] for r in claims if r["kind"] == "claim"] == SPEC_IDS
    assert all(r["verdict"] in ("reproduced", "not reproduced", "inconclusive") for r in claims)
    by_id = {r["id"]: r for r in claims}
    assert by_id["A5-oracle"]["verdict"] == "reproduced" and by_id["A7"]["verdict"] == "reproduced"
    assert by_id["C1"]["observed"].startswith("not run")  # smoke trains K = 10 tokenizers only
    html = (rep / "report.html").read_text()
    assert "data:image/png;base64" in html and "Deviations from the spec" in html and "tcas_recon" in html


def test_tokenizer_and_probe_numbers(smoke_run):
    root, _ = smoke_run
    data = root / "data" / SLUG
    tcas = pd.read_parquet(data / "prepared" / "tokenizers" / "tcas.parquet")
    tr = tcas[(tcas["split"] == "train") & (tcas["assign"] == "l2")].set_index("id")
    assert tr.loc["oracle_k10", "tcas_recon"] == 0.0 and tr.loc["random_k10", "tcas_recon"] > 0.9
    assert 0 < tr.loc["pix_k10", "tcas_recon"] < tr.loc["random_k10", "tcas_recon"]
    assert (tcas.dead_tokens >= 0).all() and tcas.token_entropy.between(0, 1).all()
    meta = json.loads((data / "prepared" / "tokenizers" / "pix_k10" / "meta.json").read_text())
    assert meta["K"] == 10 and len(meta["inertia"]) == 2 and meta["inertia"][-1] <= meta["inertia"][0]
    ev = pd.read_parquet(data / "evaluate" / "eval.parquet").set_index("cond")
    assert ev.loc["raw_pixels", "lp_top1_cls"] >= 0.9
    assert set(ev.index) == {"mae", "pix_k10", "oracle_k10", "random_k10", "teach_k10", "raw_pixels", "random_init"}
    runs = pd.read_csv(data / "models" / "runs.csv")
    assert len(runs) == 5 and (runs.final_loss < runs.first_loss * 1.5).all()
    import torch

    sd = torch.load(data / "models" / "pix_k10" / "s0" / "encoder.pt")
    assert all(k.startswith(("patch_embed", "cls", "blocks", "norm")) for k in sd)  # no tokenizer inside


def test_mlflow_nested_runs(smoke_run):
    client, _, steps, runs = pipeline_runs(smoke_run[0], SLUG)
    assert steps["prepare"].data.metrics["ge_expectations_failed"] == 0
    nested = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == steps["train"].info.run_id}
    assert sorted(nested) == ["mae/s0", "oracle_k10/s0", "pix_k10/s0", "random_k10/s0", "teach_k10/s0"]
    for name, r in nested.items():
        keys = FINAL_KEYS | (TOKEN_KEYS if name != "mae/s0" else set())
        assert keys <= set(r.data.metrics), (name, keys - set(r.data.metrics))
        assert r.data.params["mask_ratio"] == "0.75"
    assert "ft_top1" in nested["mae/s0"].data.metrics
    assert len(client.get_metric_history(nested["pix_k10/s0"].info.run_id, "pretrain_loss")) == 2
    assert all(r.info.status == "FINISHED" for r in runs)


def test_corrupted_prepared_file_is_refused_and_models_kept(smoke_run):
    assert_truncated_input_refused(smoke_run[0], SLUG, "prepared/tokenizers/pix_k10/centres.npy", "models/runs.csv",
                                   "train", "prepare", "pix_k10/centres.npy")


@pytest.mark.parametrize("override, needles", [
    ("clustermim.pretrain.conditions=[mae,vqgan_k50]", ["conditions", "vqgan_k50"]),
    ("clustermim.data.patch=5", ["multiple of patch"]),
    ("clustermim.pretrain.mask_ratio=1.5", ["mask_ratio"]),
    ("clustermim.finetune.conditions=[pix_k77]", ["finetune.conditions"]),
    ("clustermim.model.bogus=1", ["bogus", "unknown key"]),
])
def test_malformed_params_exit_2_with_one_message(tmp_path, override, needles):
    assert_bad_params_refused(tmp_path, SLUG, override, needles)


def test_imagefolder_without_root_is_one_clear_error(tmp_path):
    root = copy_project(tmp_path / "project")
    proc = run_cli(["run", SLUG, "--profile", "smoke", "--step", "prepare", "--set",
                    "clustermim.data.dataset=imagefolder"], root)
    assert proc.returncode == 2, proc.stderr
    assert "imagefolder.root" in proc.stderr and "Traceback" not in proc.stderr
    assert not (root / "data" / SLUG / "prepared").exists()
