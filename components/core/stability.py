"""Verdict stability: a claim's verdict must not hinge on float noise or on one block of seeds.

``paperflows stability <slug>`` reruns a pipeline in a scratch copy of the project under a
perturbation that changes floats but not the science, and records every claim's verdict in both
runs in ``stability/<slug>/verdicts.json`` (committed; not a DVC out). The report step reads that file: a verdict
that flipped is reported *inconclusive* with the reason, and the flip table is part of the report.

Perturbations: ``seeds`` — a disjoint block of seeds (``<slug>.seed`` + ``SEED_OFFSET``; every
random draw of a pipeline derives from that seed); ``threads`` — two BLAS/torch threads per process
instead of one (other reduction order, other floats, same seeds).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from components.core.claims import Claim, read_claims
from components.core.errors import MissingInputError, UserError
from components.core.io import read_json, write_json
from components.core.paths import output_root

PERTURBATIONS = {
    "seeds": "a disjoint block of seeds (seed + 1000)",
    "threads": "2 BLAS/torch threads per process instead of 1 (other float reduction order)",
}
SEED_OFFSET = 1000
PROJECT_FILES = ("params.yaml", "dvc.yaml", "profiles", ".dvcignore", ".dvc/config")


def compare(base: list[Claim], other: list[Claim]) -> list[dict]:
    """One row per counted claim: its verdict in both runs and whether it flipped."""
    theirs = {c.id: c for c in other}
    rows = []
    for c in base:
        if c.kind != "claim":
            continue
        o = theirs.get(c.id)
        rows.append({"id": c.id, "claim": c.claim, "baseline": c.verdict, "baseline_observed": c.observed,
                     "perturbed": o.verdict if o else "missing", "perturbed_observed": o.observed if o else "",
                     "flipped": o is None or o.verdict != c.verdict})
    return rows


def read_stability(path: Path | None) -> dict | None:
    return read_json(path) if path is not None and Path(path).exists() else None


def apply_stability(claims: list[Claim], stability: dict | None) -> list[Claim]:
    """Claims whose verdict flipped under the recorded perturbation become *inconclusive*, with the reason."""
    if not stability:
        return claims
    flips = {r["id"]: r for r in stability["rows"] if r["flipped"]}
    out = []
    for c in claims:
        r = flips.get(c.id)
        if c.kind == "claim" and r is not None:
            reason = (f"unstable: {r['baseline']} → {r['perturbed']} under {stability['perturbation']} "
                      f"({r['perturbed_observed'] or 'no row'})")
            c = c.model_copy(update={"verdict": "inconclusive", "observed": f"{c.observed}; {reason}"})
        out.append(c)
    return out


def stability_section(report, stability: dict | None, claims: list[Claim], slug: str) -> None:
    """The report's account of the last stability check (or that none was run)."""
    report.heading("Verdict stability")
    if not stability:
        report.text("No stability check recorded for this pipeline: run `paperflows stability "
                    f"{slug}` to rerun its claims under a perturbation that changes floats but not the science.")
        return
    current = {c.id: c.verdict for c in claims}
    flipped = [r["id"] for r in stability["rows"] if r["flipped"]]
    report.text(f"Rerun under {stability['perturbation']} ({stability['profile']} profile, commit "
                f"`{stability['commit'][:10]}`, {stability['created']}): {len(flipped)} of {len(stability['rows'])} "
                f"verdicts flipped" + (f" ({', '.join(flipped)}), reported as inconclusive." if flipped else "."))
    stale = [r["id"] for r in stability["rows"] if r["id"] in current and not r["flipped"]
             and current[r["id"]] != r["baseline"]]
    if stale:
        report.text(f"**Stale:** the verdicts of {', '.join(stale)} differ from the ones the check saw; "
                    "rerun `paperflows stability` after changing the pipeline.")
    report.table([{k: r[k] for k in ("id", "baseline", "perturbed", "flipped")} for r in stability["rows"]])


def run_check(root: Path, slug: str, profile: str, perturbation: str, seed: int, keep: bool = False) -> dict:
    """Rerun ``slug`` under ``perturbation`` in scratch copies; write and return ``stability/<slug>/verdicts.json``.

    The baseline is this checkout's current outputs, re-judged without any earlier stability file
    (so the comparison is between raw verdicts); the perturbed run starts from empty data.
    """
    if perturbation not in PERTURBATIONS:
        raise UserError(f"unknown perturbation {perturbation!r}", f"use one of: {', '.join(PERTURBATIONS)}")
    out = output_root(root, profile, ())
    data = out / "data" / slug
    shown = data.relative_to(root)
    if not any(data.glob("*")):
        raise MissingInputError(f"no outputs under {shown} to compare with",
                                f"run `paperflows run {slug} --profile {profile}` first")
    profile_seen = {read_json(p)["profile"] for p in (data / ".runs").glob("*.json")} if (data / ".runs").exists() else set()
    if profile_seen and profile_seen != {profile}:
        raise UserError(f"{shown} was made with profile {sorted(profile_seen)}, not {profile!r}",
                        f"run `paperflows run {slug} --profile {profile}` first, or pass --profile")
    scratch = Path(tempfile.mkdtemp(prefix=f"paperflows-stability-{slug}-"))
    try:
        base_root = _copy_project(root, scratch / "baseline")
        base_out = output_root(base_root, profile, ())
        shutil.copytree(data, base_out / "data" / slug, ignore=shutil.ignore_patterns(".staging"))
        _cli(base_root, ["run", slug, "--profile", profile, "--step", "report"], {})
        baseline = read_claims(base_out / "reports" / slug / "claims.json")

        other_root = _copy_project(root, scratch / "perturbed")
        args, env, overrides = ["run", slug, "--profile", profile], {}, []
        if perturbation == "seeds":
            overrides = [f"{slug}.seed={seed + SEED_OFFSET}"]
            args += ["--set", overrides[0]]
        else:
            env["PAPERFLOWS_THREADS"] = "2"
        _cli(other_root, args, env)
        perturbed = read_claims(output_root(other_root, profile, overrides) / "reports" / slug / "claims.json")
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    from components.core.tracking import git_state

    rows = compare(baseline, perturbed)
    result = {"slug": slug, "profile": profile, "perturbation": PERTURBATIONS[perturbation],
              "perturbation_key": perturbation, "commit": git_state(root)[0],
              "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "flipped": [r["id"] for r in rows if r["flipped"]], "rows": rows}
    from components.core.pipeline import STABILITY_FILE, resolve_path

    write_json(resolve_path(root, slug, STABILITY_FILE), result, sort_keys=False)
    return result


def _copy_project(root: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in PROJECT_FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _cli(cwd: Path, args: list[str], env: dict) -> None:
    full = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PAPERFLOWS_ROOT")}
    proc = subprocess.run([sys.executable, "-m", "flows", *args], cwd=cwd, env={**full, **env},
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`paperflows {' '.join(args)}` failed in {cwd}:\n{proc.stderr[-3000:]}")
