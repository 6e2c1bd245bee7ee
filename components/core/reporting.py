"""Reports as a list of blocks rendered twice: ``report.md`` and a self-contained ``report.html``.

Figures are PNG files under ``figures/`` (linked from the markdown) and base64-embedded in the
HTML so the page reads offline as a single file.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from components.core.claims import Claim, count_metrics, verdict_counts, write_claims, write_metrics
from components.core.io import atomic_path, write_bytes, write_text

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}img{max-width:100%}code{background:#f5f5f5;padding:1px 3px}
.v-reproduced{background:#e3f6e3}.v-not-reproduced{background:#fbe3e3}.v-inconclusive{background:#fff6da}"""


@dataclass
class Report:
    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)
    figures: dict[str, bytes] = field(default_factory=dict)

    def heading(self, text: str, level: int = 2) -> "Report":
        self.blocks.append(("heading", (level, text)))
        return self

    def text(self, markdown_text: str) -> "Report":
        """A paragraph; keep to plain text, `code` and **bold** (rendered in both outputs)."""
        self.blocks.append(("text", markdown_text))
        return self

    def table(self, rows: list[dict], columns: list[str] | None = None, floatfmt: str = ".4g") -> "Report":
        columns = columns or (list(rows[0]) if rows else [])
        cells = [[_fmt(row.get(c), floatfmt) for c in columns] for row in rows]
        self.blocks.append(("table", (columns, cells)))
        return self

    def figure(self, name: str, fig, caption: str) -> "Report":
        """Add a matplotlib figure (closed after rendering)."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        self.figures[f"{name}.png"] = buf.getvalue()
        self.blocks.append(("figure", (name, caption)))
        return self

    def claims(self, claims: list[Claim]) -> "Report":
        self.blocks.append(("claims", claims))
        return self

    def write(self, directory: Path, figures: Path | None = None) -> dict[str, Path]:
        figures = figures or directory / "figures"
        figures.mkdir(parents=True, exist_ok=True)
        for name, data in self.figures.items():
            write_bytes(figures / name, data)
        md = write_text(directory / "report.md", self.to_markdown())
        page = write_text(directory / "report.html", self.to_html())
        return {"markdown": md, "html": page}

    def to_markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, value in self.blocks:
            if kind == "heading":
                out += [f"{'#' * value[0]} {value[1]}", ""]
            elif kind == "text":
                out += [value, ""]
            elif kind == "table":
                out += [_md_table(*value), ""]
            elif kind == "figure":
                out += [f"![{value[0]}](figures/{value[0]}.png)", "", f"*{value[1]}*", ""]
            elif kind == "claims":
                main, other = _split(value)
                out += [_md_table(*_claim_cells(main, _main_columns(main))), ""]
                if other:
                    out += [f"**{OTHER_TITLE}**", "", _md_table(*_claim_cells(other, OTHER_COLUMNS)), ""]
        return "\n".join(out)

    def to_html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for kind, value in self.blocks:
            if kind == "heading":
                body.append(f"<h{value[0]}>{html.escape(value[1])}</h{value[0]}>")
            elif kind == "text":
                body.append(f"<p>{_inline_html(value)}</p>")
            elif kind == "table":
                body.append(html_table(*value))
            elif kind == "figure":
                data = base64.b64encode(self.figures[f"{value[0]}.png"]).decode()
                body.append(f'<figure><img alt="{html.escape(value[1])}" src="data:image/png;base64,{data}">'
                            f"<figcaption>{html.escape(value[1])}</figcaption></figure>")
            elif kind == "claims":
                main, other = _split(value)
                body.append(claims_html(main, _main_columns(main)))
                if other:
                    body.append(f"<p><b>{OTHER_TITLE}</b></p>" + claims_html(other, OTHER_COLUMNS))
        return page(self.title, "\n".join(body))


CLAIM_COLUMNS = ["id", "verdict", "claim", "metric", "expected", "anchor", "observed"]  # verdict first: wide tables
OTHER_COLUMNS = ["id", "kind", "verdict", "claim", "observed", "note"]
OTHER_TITLE = "Checks and context (not counted: each note says why the row cannot fail or was added later)"


HEADLINE_LIMIT = 11  # with the four claim counts, `dvc metrics show` / `dvc exp show` fit a terminal


def write_outputs(ctx, report: "Report", claims: list[Claim], metrics: dict[str, float],
                  headline: Sequence[str] = ()) -> list[Claim]:
    """A report step's declared outputs: report.md/.html + figures, claims.json, metrics.json (every number,
    also logged to the step's MLflow run) and headline.json (the DVC metrics file: the claim counts and the
    ``headline`` keys of ``metrics`` — the few numbers the claims rest on). Verdicts that flipped in the last
    stability check (``stability/<slug>/verdicts.json``) become *inconclusive* with the reason; the check's
    findings are added to the report; the verdict counts of the claim rows (after stability) join the
    metrics. Returns the claims as written."""
    unknown = [k for k in headline if k not in metrics]
    if unknown or len(headline) > HEADLINE_LIMIT:
        raise ValueError(f"{ctx.slug}: headline metrics must be at most {HEADLINE_LIMIT} keys of the metrics "
                         f"(unknown: {unknown}, given {len(headline)})")
    from components.core.stability import apply_stability, read_stability, stability_section

    stability = read_stability(ctx.inputs.get("stability"))
    claims = apply_stability(claims, stability)
    report.blocks = [(k, claims if k == "claims" else v) for k, v in report.blocks]
    if not any(k == "claims" for k, _ in report.blocks):
        report.blocks.insert(0, ("claims", claims))
    stability_section(report, stability, claims, ctx.slug)
    counted = count_metrics(claims)
    top = {**counted, **{k: metrics[k] for k in headline}}
    metrics = {**metrics, **counted}
    report.write(ctx.outputs["report_md"].parent, figures=ctx.outputs["figures"])
    write_claims(ctx.outputs["claims"], claims)
    write_metrics(ctx.outputs["metrics"], metrics)
    write_metrics(ctx.outputs["headline"], top)
    if ctx.run is not None:
        ctx.run.log_metrics(metrics)
    if hasattr(ctx, "log"):  # one summary line, the same for every paper
        main = [c for c in claims if c.kind == "claim"]
        totals = ", ".join(f"{n} {v}" for v, n in verdict_counts(main).items())
        ctx.log("claims: " + ", ".join(f"{c.id} {c.verdict}" for c in main)
                + f" — {totals}; {len(claims) - len(main)} checks/context")
    return claims


def write_plot(ctx, name: str, rows: list[dict]) -> None:
    """The data of plot ``name`` (declared on the report step: ``Step.report(..., plots=(Plot(...),))``) as CSV,
    one row per point in drawing order; the plot's x and y columns must be present."""
    import pandas as pd

    plot = ctx.plots.get(name)
    if plot is None:
        raise ValueError(f"{ctx.slug}: plot {name!r} is not declared on the report step")
    frame = pd.DataFrame(rows)
    missing = [c for c in (plot.x, plot.y) if c not in frame.columns]
    if missing or frame.empty:
        raise ValueError(f"{ctx.slug}: plot {name!r} has no rows or lacks columns {missing}")
    with atomic_path(ctx.outputs[plot.output]) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


def html_table(columns: list[str], cells: list[list[str]], row_classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = []
    for i, row in enumerate(cells):
        cls = f' class="{row_classes[i]}"' if row_classes else ""
        rows.append(f"<tr{cls}>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def claims_html(claims: list[Claim], columns: list[str] = CLAIM_COLUMNS) -> str:
    columns, cells = _claim_cells(claims, columns)
    classes = ["v-" + c.verdict.replace(" ", "-") for c in claims]
    return html_table(columns, cells, classes)


def _main_columns(claims: list[Claim]) -> list[str]:
    """The claim columns, plus ``note`` when some row carries one (e.g. a rule that departs from the spec)."""
    return CLAIM_COLUMNS + (["note"] if any(c.note for c in claims) else [])


def _split(claims: list[Claim]) -> tuple[list[Claim], list[Claim]]:
    return [c for c in claims if c.kind == "claim"], [c for c in claims if c.kind != "claim"]


def _claim_cells(claims: list[Claim], columns: list[str] = CLAIM_COLUMNS) -> tuple[list[str], list[list[str]]]:
    return list(columns), [[str(getattr(c, k)) for k in columns] for c in claims]


def _md_table(columns: list[str], cells: list[list[str]]) -> str:
    def esc(s: str) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(esc(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in cells]
    return "\n".join(lines)


def _inline_html(text: str) -> str:
    """Escape, then render the two inline marks we use: `code` and **bold**."""
    import re

    out = html.escape(str(text))
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)


def _fmt(value: Any, floatfmt: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, floatfmt)
    return str(value)
