"""``reports/index.html`` and the README's pipelines table, rebuilt from every pipeline's files."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from components.core.claims import VERDICTS, read_claims, verdict_counts
from components.core.io import read_json, write_json, write_text
from components.core.reporting import OTHER_COLUMNS, claims_html, page

README_START, README_END = "<!-- pipelines:start -->", "<!-- pipelines:end -->"


def record_step(data_dir: Path, step: str, profile: str, seconds: float, run_id: str,
                reused: int = 0) -> None:
    """Remember how long a step took, under which profile, and how much work it reused from an earlier
    (interrupted) run — a resumed step's seconds are not a full run's (read back by reports and the index)."""
    write_json(data_dir / ".runs" / f"{step}.json", {"profile": profile, "seconds": round(seconds, 2),
                                                     "run_id": run_id, "reused": reused})


def step_records(data_dir: Path) -> dict[str, dict]:
    runs = data_dir / ".runs"
    return {p.stem: read_json(p) for p in sorted(runs.glob("*.json"))} if runs.exists() else {}


@dataclass
class PipelineStatus:
    slug: str
    title: str
    claims: list
    runtime: str
    profile: str

    def counts(self) -> dict[str, int]:
        """Verdicts of the paper's claims only: checks and context rows never count."""
        return verdict_counts(self.claims)

    @property
    def n_other(self) -> int:
        return sum(c.kind != "claim" for c in self.claims)


def collect(root: Path, titles: dict[str, str]) -> list[PipelineStatus]:
    out = []
    for slug, title in titles.items():
        claims_path = root / "reports" / slug / "claims.json"
        claims = read_claims(claims_path) if claims_path.exists() else []
        records = step_records(root / "data" / slug)
        profiles = sorted({r["profile"] for r in records.values()})
        seconds = sum(r["seconds"] for r in records.values())
        reused = sum(r.get("reused", 0) for r in records.values())
        runtime = f"{seconds / 60:.1f} min" if records else "not run"
        if reused:
            runtime += f" (resumed: {reused} results reused)"
        out.append(PipelineStatus(slug, title, claims, runtime, "/".join(profiles) or "-"))
    return out


def build_index(root: Path, titles: dict[str, str], update_readme: bool = True) -> Path:
    statuses = collect(root, titles)
    columns = ["pipeline", "paper", "profile", "runtime", *VERDICTS, "checks/context (not counted)"]
    rows = []
    for s in statuses:
        link = f"{s.slug}/report.html"
        rows.append([f'<a href="{link}">{s.slug}</a>', html.escape(s.title), s.profile, s.runtime,
                     *(str(n) for n in s.counts().values()), str(s.n_other)])
    body = ["<h1>paperflows — reproduced papers</h1>",
            "<p>Each row links to the pipeline's report; claims tables follow. Totals count only the papers' "
            "claims; checks (identities, properties true by construction) and context rows are listed apart.</p>",
            _raw_table(columns, rows)]
    for s in statuses:
        if s.claims:
            main = [c for c in s.claims if c.kind == "claim"]
            other = [c for c in s.claims if c.kind != "claim"]
            body += [f"<h2><a href='{s.slug}/report.html'>{html.escape(s.slug)}</a> — {html.escape(s.title)}</h2>",
                     claims_html(main)]
            if other:
                body += ["<p><b>Checks and context (not counted)</b></p>", claims_html(other, OTHER_COLUMNS)]
    index = write_text(root / "reports" / "index.html", page("paperflows reports", "\n".join(body)))
    if update_readme and (root / "README.md").exists():
        _update_readme(root / "README.md", statuses)
    return index


def _raw_table(columns: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{c}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _update_readme(readme: Path, statuses: list[PipelineStatus]) -> None:
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return
    lines = ["| slug | paper | runtime (profile) | reproduced | not reproduced | inconclusive | checks/context |",
             "|---|---|---|---|---|---|---|"]
    for s in statuses:
        c = s.counts()
        lines.append(f"| `{s.slug}` | {s.title} | {s.runtime} ({s.profile}) | {c['reproduced']} | "
                     f"{c['not reproduced']} | {c['inconclusive']} | {s.n_other} |")
    block = f"{README_START}\n" + "\n".join(lines) + f"\n{README_END}"
    new = re.sub(re.escape(README_START) + ".*?" + re.escape(README_END), lambda _: block, text, flags=re.S)
    if new != text:
        write_text(readme, new)

