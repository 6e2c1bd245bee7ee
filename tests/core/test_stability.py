"""A verdict that flips under the stability check's perturbation is reported inconclusive, with the reason."""

from types import SimpleNamespace

from components.core.claims import Claim
from components.core.io import write_json
from components.core.reporting import Report, write_outputs
from components.core.stability import apply_stability, compare

BASE = dict(kind="claim", claim="c", metric="m", expected="e", anchor="a", observed="0.9")


def claims(*verdicts):
    rows = [Claim(id=f"C{i}", verdict=v, **BASE) for i, v in enumerate(verdicts, 1)]
    return rows + [Claim(id="K", kind="check", note="an identity", claim="k", metric="m", expected="e",
                         anchor="a", observed="0", verdict="reproduced")]


def test_compare_marks_flips_and_ignores_checks():
    rows = compare(claims("reproduced", "not reproduced", "inconclusive"),
                   claims("reproduced", "inconclusive", "inconclusive"))
    assert [(r["id"], r["flipped"]) for r in rows] == [("C1", False), ("C2", True), ("C3", False)]
    assert compare(claims("reproduced"), [])[0]["flipped"]  # a row missing in the rerun is a flip


def test_flipped_verdicts_become_inconclusive_with_the_reason(tmp_path):
    stability = {"perturbation": "a disjoint block of seeds", "profile": "default", "commit": "abc1234567",
                 "created": "now", "rows": compare(claims("reproduced", "reproduced"),
                                                   claims("not reproduced", "reproduced"))}
    out = apply_stability(claims("reproduced", "reproduced"), stability)
    assert [c.verdict for c in out] == ["inconclusive", "reproduced", "reproduced"]
    assert "unstable: reproduced → not reproduced under a disjoint block of seeds" in out[0].observed
    assert apply_stability(claims("reproduced"), None) == claims("reproduced")

    write_json(tmp_path / "stability.json", stability)
    rep = tmp_path / "rep"
    outputs = {"report_md": rep / "report.md", "report_html": rep / "report.html", "figures": rep / "figures",
               "claims": rep / "claims.json", "metrics": rep / "metrics.json",
               "headline": rep / "headline.json"}
    ctx = SimpleNamespace(slug="p", inputs={"stability": tmp_path / "stability.json"}, outputs=outputs, run=None)
    written = write_outputs(ctx, Report("T").claims(claims("reproduced", "reproduced")), claims(
        "reproduced", "reproduced"), {"x": 1.0})
    assert written[0].verdict == "inconclusive"
    md = (rep / "report.md").read_text()
    assert "## Verdict stability" in md and "1 of 2 verdicts flipped (C1)" in md
    assert '"verdict": "inconclusive"' in (rep / "claims.json").read_text()
