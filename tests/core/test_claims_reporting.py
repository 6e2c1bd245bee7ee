import base64
import json

import pytest
from pydantic import ValidationError

from components.core.claims import Claim, mean_sd, read_claims, verdict, write_claims, write_metrics
from components.core.reporting import Report

ROW = dict(claim="c", metric="m", expected="> 0", anchor="1.0", observed="0.5", verdict="reproduced")


def test_claim_rows_have_exactly_the_contract_keys(tmp_path):
    path = write_claims(tmp_path / "claims.json", [Claim(**ROW)])
    rows = json.loads(path.read_text())
    assert list(rows[0]) == ["claim", "metric", "expected", "anchor", "observed", "verdict"]
    assert read_claims(path)[0].verdict == "reproduced"
    with pytest.raises(ValidationError):
        Claim(**{**ROW, "verdict": "sort of"})
    with pytest.raises(ValidationError):
        Claim(**ROW, extra="x")


def test_verdict_rules():
    assert verdict(True, False) == "reproduced"
    assert verdict(False, True) == "not reproduced"
    assert verdict(False, False) == "inconclusive"
    assert verdict(True, True) == "inconclusive"
    assert mean_sd([1.0, 3.0]) == "2 ± 1.4 (n=2)"


def test_metrics_must_be_finite(tmp_path):
    write_metrics(tmp_path / "m.json", {"a": 1, "b": 0.5})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1.0, "b": 0.5}
    with pytest.raises(ValueError, match="not finite"):
        write_metrics(tmp_path / "m.json", {"a": float("nan")})


def test_report_is_self_contained(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    rep = Report("T").text("hello `code` **bold**").table([{"a": 1.23456, "b": "x|y"}])
    rep.figure("line", fig, "a line").claims([Claim(**ROW)])
    out = rep.write(tmp_path)
    md = out["markdown"].read_text()
    page = out["html"].read_text()
    assert "![a line](figures/line.png)" in md and "x\\|y" in md and "| reproduced |" in md
    png = (tmp_path / "figures" / "line.png").read_bytes()
    assert base64.b64encode(png).decode() in page  # embedded, readable offline
    assert "<code>code</code>" in page and 'class="v-reproduced"' in page and "src=\"http" not in page
