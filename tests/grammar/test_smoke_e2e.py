"""The smoke pipeline end to end through the real CLI (Prefect, MLflow), and this paper's bad inputs."""

import json
import shutil
from pathlib import Path

import pytest

from helpers import SMOKE_OUTPUTS, copy_project, pipeline_runs, run_cli, run_smoke

FIXTURES = Path(__file__).parent / "fixtures" / "official_eval_results"  # judged, unjudged, LLM-only, older files
AURP = Path(__file__).parent / "fixtures" / "official_layouts" / "aurp"
STEPS = ["prepare", "train", "evaluate", "report"]
PREPARED = ["db.sqlite", "db_train.sqlite", "sql_templates.json", "sql_templates_with_ids.json",
            "text_templates_short.json", "text_templates_long.json", "qa_short_balanced.jsonl",
            "qa_short_unbalanced.jsonl", "qa_long_balanced.jsonl", "qa_long_unbalanced.jsonl", "documents.jsonl",
            "defects.json", "reader_train.jsonl", "llm_cache.json", "ge_validation.json"]
TRAINED = ["reader_b.ckpt", "reader_b_vocab.json", "train_curve.csv", "indexes/keyword.npz", "indexes/keyword.json", "indexes/bm25.npz", "indexes/bm25.json"]
EVALUATED = ["metrics.csv", "diagnosis.json", "reference_free.json", "retrieval_top1.json", "interop.json",
             "results/keyword+oracle/short_balanced.jsonl", "results/bm25+learned/long_unbalanced.jsonl"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    return run_smoke(tmp_path_factory, "grammar", "--set", f"grammar.interop.import_dir={FIXTURES}",
                     "--set", "grammar.paper.source=aurp", "--set", f"grammar.paper.data_dir={AURP}")


def test_output_is_clean(smoke_run):
    _, proc = smoke_run
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "database is locked" not in text
    assert "grammar (smoke): prepare" in proc.stdout


def test_every_step_writes_its_files(smoke_run):
    root, _ = smoke_run
    data = root / "data" / "grammar"
    for folder, names in (("prepared", PREPARED), ("train", TRAINED), ("evaluate", EVALUATED)):
        for name in names:
            assert (data / folder / name).stat().st_size > 0, f"{folder}/{name}"
    rep = root / "reports" / "grammar"
    for name in ("report.md", "report.html", "claims.json", "metrics.json", "figures/metrics_by_system.png",
                 "figures/attribution_confusion.png"):
        assert (rep / name).stat().st_size > 0, name
    assert "data:image/png;base64" in (rep / "report.html").read_text()


def test_claims_and_metrics(smoke_run):
    root, _ = smoke_run
    rep = root / "reports" / "grammar"
    claims = json.loads((rep / "claims.json").read_text())
    by_id = {c["id"]: c for c in claims}
    assert list(by_id) == ["G1", "G1-any", "G1b", "G2", "G3", "G3b", "G4", "G5", "G6", "G7", "LQ"]
    for row in claims:
        assert list(row) == ["id", "kind", "claim", "metric", "expected", "anchor", "observed", "verdict", "note"]
        assert row["verdict"] in {"reproduced", "not reproduced", "inconclusive"}
        assert (row["kind"] == "claim") == (not row["note"])
    assert {c["id"] for c in claims if c["kind"] == "check"} == {"G1b", "G3", "G3b", "G4", "G5", "G7", "LQ"}
    assert by_id["G6"]["verdict"] == "inconclusive" and "no LLM judge" in by_id["G6"]["observed"]
    assert by_id["G1-any"]["kind"] == "context"
    assert by_id["G1b"]["verdict"] == "reproduced" and by_id["G5"]["verdict"] == "reproduced"
    assert json.loads((root / "data/grammar/evaluate/llm_arm.json").read_text()) == {}  # the arm is off in smoke
    md = (rep / "report.md").read_text()
    assert "Checks and context" in md and by_id["G5"]["note"] in md
    m = json.loads((rep / "metrics.json").read_text())
    assert m["n_systems"] == 6
    assert m["bm25_oracle.short_balanced.robustness"] > m["keyword_oracle.long_balanced.robustness"]
    assert m["bm25_oracle.short_balanced.n_gap"] >= 2  # the smoke DB's missing project + deleted tenure groups
    assert m["claim.g5_min_share"] == 1.0 and m["claim.g1b_rob_range"] == 0.0
    interop = json.loads((root / "data/grammar/evaluate/interop.json").read_text())
    assert interop["results_short_balanced.json"]["accuracy"] == pytest.approx(4 / 9)
    assert "LLM-only" in interop["gpt3.5-turbo_results_short.json"]["skipped"]
    official = json.loads((root / "data/grammar/prepared/official_summary.json").read_text())
    assert official["source"] == "aurp" and official["unresolved_true_ids"] == ["Wenlow Crossings"]


def test_query_sets_and_groups(smoke_run):
    root, _ = smoke_run
    prepared = root / "data/grammar/prepared"
    rows = [json.loads(l) for l in (prepared / "qa_long_balanced.jsonl").read_text().splitlines()]
    assert len(rows) == 26 * 3 and all(len(r["query"].split()) >= 30 for r in rows)
    unbalanced = [json.loads(l) for l in (prepared / "qa_long_unbalanced.jsonl").read_text().splitlines()]
    assert {r["group_id"] for r in unbalanced} == {r["group_id"] for r in rows} and len(unbalanced) < len(rows)
    ge = json.loads((prepared / "ge_validation.json").read_text())
    assert all(s["success"] for s in ge) and sum(s["evaluated"] for s in ge) >= 20


def test_mlflow_runs(smoke_run):
    client, _, steps, runs = pipeline_runs(smoke_run[0], "grammar")
    nested = {s: [r for r in runs if r.data.tags.get("mlflow.parentRunId") == steps[s].info.run_id] for s in STEPS}
    assert [r.info.run_name for r in nested["train"]] == ["reader_b"]
    assert "val_span_f1_short" in nested["train"][0].data.metrics and "d_model" in nested["train"][0].data.params
    systems = {r.info.run_name: r for r in nested["evaluate"]}
    assert len(systems) == 6 and "keyword+oracle" in systems
    assert "short_balanced.robustness" in systems["keyword+oracle"].data.metrics
    assert steps["prepare"].data.metrics["ge_expectations_failed"] == 0
    assert "ge_validation.json" in {a.path for a in client.list_artifacts(steps["prepare"].info.run_id)}
    assert steps["report"].data.tags["verdict_G5"] == "reproduced"
    assert steps["report"].data.metrics["claim.g5_min_share"] == 1.0  # metrics.json is logged by write_outputs
    assert "keyword_oracle.long_balanced.robustness" in steps["report"].data.metrics
    assert all(r.info.status == "FINISHED" for r in runs)


def test_malformed_param_is_one_clear_error(tmp_path):
    root = copy_project(tmp_path / "project")
    proc = run_cli(["run", "grammar", "--profile", "smoke", "--set", "grammar.queries.K=1"], root)
    assert proc.returncode == 2
    assert "grammar.queries.K" in proc.stderr and "fix:" in proc.stderr and "Traceback" not in proc.stderr
    assert not (root / "data" / "grammar").exists()


def test_missing_upstream_is_named(tmp_path):
    root = copy_project(tmp_path / "project")
    proc = run_cli(["run", "grammar", "--profile", "smoke", "--step", "evaluate"], root)
    assert proc.returncode == 2 and "missing upstream output" in proc.stderr and "--step prepare" in proc.stderr


def test_corrupted_prepared_data_is_refused_and_outputs_survive(smoke_run, tmp_path):
    src, _ = smoke_run
    project = copy_project(tmp_path / "project")
    root = project / SMOKE_OUTPUTS
    shutil.copytree(src / "data", root / "data")
    qa = root / "data/grammar/prepared/qa_short_balanced.jsonl"
    lines = qa.read_text().splitlines()
    qa.write_text("\n".join(lines[:5] + ['{"example_id": "broken"'] + lines[6:]) + "\n")
    ckpt = root / "data/grammar/train/reader_b.ckpt"
    before = ckpt.read_bytes()
    proc = run_cli(["run", "grammar", "--profile", "smoke", "--step", "train"], project)
    assert proc.returncode == 2 and "qa_short_balanced.jsonl line 6 is not valid JSON" in proc.stderr
    assert ckpt.read_bytes() == before


def test_a_shrunken_group_is_refused(smoke_run, tmp_path):
    from components.core.errors import DataValidationError
    from components.grammar.data import load_query_set

    src, _ = smoke_run
    lines = (src / "data/grammar/prepared/qa_short_balanced.jsonl").read_text().splitlines()
    (tmp_path / "qa.jsonl").write_text("\n".join(lines[1:]) + "\n")  # one variant fewer in the first group
    assert len(load_query_set(tmp_path / "qa.jsonl", None)) == len(lines) - 1
    with pytest.raises(DataValidationError, match="do not have K=3 variants"):
        load_query_set(tmp_path / "qa.jsonl", 3)


def test_failed_expectations_are_named():
    import pandas as pd

    from components.core.errors import DataValidationError
    from components.core.validation import validate_frame
    from components.grammar.data import suites

    frame = pd.DataFrame({"example_id": ["a", "b"], "attribute": ["short"] * 2, "n_words": [3, 12],
                          "n_leftover": [0, 1], "n_answer_cells": [1, 1], "n_true_docs": [1, 1],
                          "group_size": [3, 2], "sql_rows": [1, 1]})
    with pytest.raises(DataValidationError) as err:
        validate_frame(frame, suites({"grammar-queries-short": frame}, 3, 30)["grammar-queries-short"],
                       "grammar-queries-short")
    text = str(err.value)
    for col in ("group_size", "n_leftover", "n_words"):
        assert col in text
