"""`paperflows stability` end to end on the smoke profile: rerun under a perturbation, record every claim's
verdict in both runs, and the next report shows the check and treats any flip as inconclusive."""

import json

import pytest

from helpers import SMOKE_OUTPUTS, copy_project, run_cli

pytestmark = pytest.mark.integration


def test_stability_check_records_verdicts_and_reaches_the_report(tmp_path):
    root = copy_project(tmp_path / "p")
    assert run_cli(["run", "whyshift", "--profile", "smoke"], root).returncode == 0
    wrong = run_cli(["stability", "whyshift", "--profile", "default"], root)
    assert wrong.returncode == 2 and "profile" in wrong.stderr
    proc = run_cli(["stability", "whyshift", "--profile", "smoke", "--perturb", "seeds"], root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((root / "stability/whyshift/verdicts.json").read_text())
    ids = [c["id"] for c in json.loads((root / SMOKE_OUTPUTS / "reports/whyshift/claims.json").read_text()) if c["kind"] == "claim"]
    assert [r["id"] for r in result["rows"]] == ids and result["perturbation_key"] == "seeds"
    assert run_cli(["run", "whyshift", "--profile", "smoke", "--step", "report"], root).returncode == 0
    md = (root / SMOKE_OUTPUTS / "reports/whyshift/report.md").read_text()
    assert "## Verdict stability" in md and "a disjoint block of seeds" in md
    after = {c["id"]: c for c in json.loads((root / SMOKE_OUTPUTS / "reports/whyshift/claims.json").read_text())}
    for row in result["rows"]:
        if row["flipped"]:
            assert after[row["id"]]["verdict"] == "inconclusive" and "unstable" in after[row["id"]]["observed"]
