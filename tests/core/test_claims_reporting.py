import base64
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from components.core.claims import Claim, mean_sd, read_claims, verdict, write_claims, write_metrics
from components.core.reporting import Report

ROW = dict(id="C1", kind="claim", claim="c", metric="m", expected="> 0", anchor="1.0", observed="0.5",
           verdict="reproduced")


def test_claim_rows_have_exactly_the_contract_keys(tmp_path):
    path = write_claims(tmp_path / "claims.json", [Claim(**ROW)])
    rows = json.loads(path.read_text())
    assert list(rows[0]) == ["id", "kind", "claim", "metric", "expected", "anchor", "observed", "verdict", "note"]
    assert read_claims(path)[0].verdict == "reproduced"
    with pytest.raises(ValidationError):
        Claim(**{**ROW, "verdict": "sort of"})
    with pytest.raises(ValidationError):
        Claim(**ROW, extra="x")


@pytest.mark.parametrize("missing", ["id", "kind"])
def test_a_row_without_id_or_kind_is_rejected(missing):
    with pytest.raises(ValidationError):
        Claim(**{k: v for k, v in ROW.items() if k != missing})
    with pytest.raises(ValidationError):
        Claim(**{**ROW, "kind": "finding"})


def test_checks_say_why_they_cannot_fail_and_never_count(tmp_path):
    from components.core.claims import verdict_counts

    with pytest.raises(ValidationError, match="needs a note"):
        Claim(**{**ROW, "id": "C1-identity", "kind": "check"})
    check = Claim(**{**ROW, "id": "C1-identity", "kind": "check", "note": "an identity of the decomposition"})
    context = Claim(**{**ROW, "id": "C4-elsewhere", "kind": "context", "note": "added after C4 failed"})
    failed = Claim(**{**ROW, "id": "C2", "verdict": "not reproduced"})
    assert verdict_counts([Claim(**ROW), check, context, failed]) == {
        "reproduced": 1, "not reproduced": 1, "inconclusive": 0}
    with pytest.raises(ValueError, match="unique"):
        write_claims(tmp_path / "c.json", [Claim(**ROW), Claim(**ROW)])
    md = Report("T").claims([Claim(**ROW), check]).to_markdown()
    main, other = md.split("Checks and context")
    assert "| C1 |" in main and "C1-identity" not in main and "an identity of the decomposition" in other


def test_index_and_readme_totals_count_only_claim_rows(tmp_path):
    from components.core.index import build_index

    (tmp_path / "reports" / "p").mkdir(parents=True)
    rows = [Claim(**ROW), Claim(**{**ROW, "id": "X", "kind": "check", "note": "by construction"}),
            Claim(**{**ROW, "id": "Y", "kind": "context", "note": "added later", "verdict": "not reproduced"})]
    write_claims(tmp_path / "reports" / "p" / "claims.json", rows)
    (tmp_path / "README.md").write_text("<!-- pipelines:start -->\n<!-- pipelines:end -->\n")
    build_index(tmp_path, {"p": "Paper"})
    readme = (tmp_path / "README.md").read_text()
    assert "| `p` | Paper | not run (-) | 1 | 0 | 0 | 2 |" in readme
    page = (tmp_path / "reports" / "index.html").read_text()
    assert "<td>1</td><td>0</td><td>0</td><td>2</td>" in page


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
    assert "![line](figures/line.png)" in md and "x\\|y" in md and "| reproduced |" in md
    png = (tmp_path / "figures" / "line.png").read_bytes()
    assert base64.b64encode(png).decode() in page  # embedded, readable offline
    assert "<code>code</code>" in page and 'class="v-reproduced"' in page and "src=\"http" not in page


def test_headline_json_holds_the_claim_counts_and_the_chosen_numbers_only(tmp_path):
    import json
    from types import SimpleNamespace

    from components.core.reporting import HEADLINE_LIMIT, Report, write_outputs

    rep = tmp_path / "rep"
    outputs = {"report_md": rep / "report.md", "report_html": rep / "report.html", "figures": rep / "figures",
               "claims": rep / "claims.json", "metrics": rep / "metrics.json", "headline": rep / "headline.json"}
    ctx = SimpleNamespace(slug="p", inputs={}, outputs=outputs, run=None)
    rows = [Claim(**ROW), Claim(**{**ROW, "id": "K1", "kind": "check", "note": "an identity"})]
    metrics = {f"m{i}": float(i) for i in range(40)}
    write_outputs(ctx, Report("T"), rows, metrics, headline=["m3", "m7"])
    headline = json.loads((rep / "headline.json").read_text())
    assert headline == {"claims_reproduced": 1, "claims_not_reproduced": 0, "claims_inconclusive": 0,
                        "checks_and_context": 1, "m3": 3.0, "m7": 7.0}
    assert len(json.loads((rep / "metrics.json").read_text())) == 44  # every number stays in metrics.json
    with pytest.raises(ValueError, match="unknown: \\['nope'\\]"):
        write_outputs(ctx, Report("T"), rows, metrics, headline=["nope"])
    with pytest.raises(ValueError, match=f"at most {HEADLINE_LIMIT}"):
        write_outputs(ctx, Report("T"), rows, metrics, headline=list(metrics)[: HEADLINE_LIMIT + 1])


def test_prefect_report_artifact_embeds_its_figures(tmp_path):
    from components.core.prefect_adapter import embed_figures

    import matplotlib.pyplot as plt

    Report("T").figure("curve", plt.figure(), "the model's curve").write(tmp_path)
    png = (tmp_path / "figures/curve.png").read_bytes()
    md = embed_figures(tmp_path / "report.md")
    assert "](figures/" not in md  # the UI could not load a relative path
    assert f"![curve](data:image/png;base64,{base64.b64encode(png).decode()})" in md
    assert "*the model's curve*" in md


def test_a_declared_plot_is_written_as_csv_and_declared_to_dvc(tmp_path):
    import csv
    from types import SimpleNamespace

    from components.core.dvcgen import stages
    from components.core.pipeline import Pipeline, Plot, Step
    from components.core.params import StrictModel
    from components.core.reporting import write_plot

    plot = Plot("curve", x="step", y="loss", title="loss per step")

    def report(ctx):  # pragma: no cover - only declared
        pass

    step = Step.report(report, reads={}, plots=(plot,))
    assert step.outputs["plot:curve"] == "reports/plots/curve.csv"
    pipeline = Pipeline("p", "P", StrictModel, (step,))
    stage = stages(pipeline, Path(__file__).resolve().parents[2])["p-report"]
    assert stage["plots"] == [{"reports/p/plots/curve.csv": {"x": "step", "y": "loss", "title": "loss per step",
                                                              "template": "linear", "x_label": "step",
                                                              "y_label": "loss"}}]
    assert "reports/p/plots/curve.csv" not in stage["outs"]  # a plot is declared once, under plots

    ctx = SimpleNamespace(slug="p", plots={"curve": plot}, outputs={"plot:curve": tmp_path / "curve.csv"})
    write_plot(ctx, "curve", [{"step": 1, "loss": 0.5}, {"step": 2, "loss": 0.25}])
    assert list(csv.DictReader((tmp_path / "curve.csv").open())) == [{"step": "1", "loss": "0.5"},
                                                                     {"step": "2", "loss": "0.25"}]
    with pytest.raises(ValueError, match="lacks columns \\['loss'\\]"):
        write_plot(ctx, "curve", [{"step": 1}])
    with pytest.raises(ValueError, match="not declared"):
        write_plot(ctx, "other", [{"step": 1, "loss": 0.5}])
