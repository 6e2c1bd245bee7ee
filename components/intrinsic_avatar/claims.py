"""Claims IA1–IA7 of spec §8 with the precondition gate, as pure functions of the evaluation summaries.

A difference is given as (point, CI low, CI high) from the frame bootstrap (95 %). Rule (spec §8): reproduced if
the point meets the threshold and the CI excludes 0 in the expected direction; not reproduced if the CI lies
entirely on the wrong side of 0 or entirely below the threshold; otherwise inconclusive."""

from __future__ import annotations

import math

from components.core.claims import verdict

ANCHOR = "TBD (paper ablation table not quoted in the spec); miniature threshold"
GATED = ("IA1", "IA2", "IA3", "IA4", "IA5")


def _row(cid, claim, metric, expected, observed, v, note="", kind="claim", anchor=ANCHOR) -> dict:
    return {"id": cid, "kind": kind, "claim": claim, "metric": metric, "expected": expected, "anchor": anchor,
            "observed": observed, "verdict": v, "note": note}


def _finite(*xs) -> bool:
    return all(x is not None and isinstance(x, (int, float)) and math.isfinite(x) for x in xs)


def diff_rule(ci, threshold: float) -> str:
    """Expected direction > 0 with a threshold ≥ 0."""
    point, lo, hi = ci
    if not _finite(point, lo, hi):
        return "inconclusive"
    rep = point >= threshold and lo > 0
    ref = hi < 0 or hi < threshold
    return verdict(rep, ref)


def fmt(ci, unit: str = "dB", digits: int = 2) -> str:
    point, lo, hi = ci
    if not _finite(point):
        return "n/a"
    return f"{point:+.{digits}f} {unit} [95 % CI {lo:+.{digits}f}, {hi:+.{digits}f}]".replace("  ", " ")


def gate(mA: dict | None, g) -> tuple[bool | None, str]:
    """Precondition gate on variant A: PBR recon PSNR, mask IoU, normal error."""
    if mA is None:
        return None, "variant A not run"
    ok = mA["recon_psnr"] >= g.recon_psnr and mA["mask_iou"] >= g.mask_iou and mA["normal_deg"] <= g.normal_deg
    obs = (f"A: recon PSNR {mA['recon_psnr']:.2f} dB (≥ {g.recon_psnr}), mask IoU {mA['mask_iou']:.3f} "
           f"(≥ {g.mask_iou}), normal error {mA['normal_deg']:.1f}° (≤ {g.normal_deg})")
    return ok, obs


def _gated(row: dict, gate_ok: bool | None, gate_obs: str) -> dict:
    if gate_ok is False:
        was = row["verdict"]
        row["verdict"] = "inconclusive"
        row["note"] = (f"precondition failed ({gate_obs}); the rule alone would give '{was}'"
                       + (f"; {row['note']}" if row["note"] else ""))
    return row


def ia1(d: dict) -> dict:
    ci = d.get("albedo_psnr_A_minus_B")
    claim = "explicit secondary shading recovers albedo better than no secondary shading (H2)"
    metric, exp = "albedo PSNR (aligned, sRGB), training frames: A − B (paired by frame)", "≥ +1.0 dB, CI > 0"
    if ci is None:
        return _row("IA1", claim, metric, exp, "not run: A or B missing", "inconclusive", "not run: A or B missing")
    return _row("IA1", claim, metric, exp, fmt(ci), diff_rule(ci, 1.0))


def ia2(d: dict) -> dict:
    claim = "… especially in shadowed regions (H2)"
    metric = "albedo MAE on shadowed pixels B / A; gap_sh − gap_lit (gap = PSNR(A) − PSNR(B))"
    exp = "B/A ≥ 1.2 and gap_sh − gap_lit ≥ 0.5 dB, CIs on the expected side"
    r, g = d.get("mae_sh_ratio_BA"), d.get("gap_sh_minus_lit")
    if r is None or g is None or not _finite(*r, *g):
        return _row("IA2", claim, metric, exp, "not run: A or B missing, or no shadowed pixels", "inconclusive",
                    "not run: A or B missing, or no shadowed pixels")
    v_ratio = diff_rule((r[0] - 1, r[1] - 1, r[2] - 1), 0.2)
    v_gap = diff_rule(g, 0.5)
    v = "reproduced" if v_ratio == v_gap == "reproduced" else \
        "not reproduced" if "not reproduced" in (v_ratio, v_gap) else "inconclusive"
    obs = (f"B/A = {r[0]:.3f} [95 % CI {r[1]:.3f}, {r[2]:.3f}]; gap_sh − gap_lit = {fmt(g)}; "
           f"{d.get('n_sh_pixels', 0):.0f} shadowed pixels")
    return _row("IA2", claim, metric, exp, obs, v)


def ia3(d: dict) -> dict:
    claim = "relighting of novel poses is better with ray-traced visibility (H2, H3)"
    metric = "relighting PSNR under E₂ on novel poses: A − B and A − C (paired by frame)"
    exp = "A − B ≥ +0.5 dB and A − C ≥ +0.3 dB, CIs > 0"
    ab, ac = d.get("relit_novel_psnr_A_minus_B"), d.get("relit_novel_psnr_A_minus_C")
    if ab is None and ac is None:
        return _row("IA3", claim, metric, exp, "not run: B and C missing", "inconclusive", "not run: B and C missing")
    parts, vs = [], []
    for name, ci, th in (("A − B", ab, 0.5), ("A − C", ac, 0.3)):
        if ci is None:
            parts.append(f"{name}: not run")
            vs.append("inconclusive")
        else:
            parts.append(f"{name} = {fmt(ci)}")
            vs.append(diff_rule(ci, th))
    v = "reproduced" if all(x == "reproduced" for x in vs) else \
        "not reproduced" if "not reproduced" in vs else "inconclusive"
    return _row("IA3", claim, metric, exp, "; ".join(parts), v)


def ia4(d: dict) -> dict:
    claim = "explicit tracing disentangles better than MLP-approximated visibility (H2)"
    metric, exp = "albedo PSNR (aligned, sRGB), training frames: A − C (paired by frame)", "> 0 with CI excluding 0"
    ci = d.get("albedo_psnr_A_minus_C")
    if ci is None:
        return _row("IA4", claim, metric, exp, "not run: A or C missing", "inconclusive", "not run: A or C missing")
    p, lo, hi = ci
    v = verdict(lo > 0, hi < 0) if _finite(p, lo, hi) else "inconclusive"
    return _row("IA4", claim, metric, exp, fmt(ci), v)


def ia5(d: dict) -> dict:
    claim = "the model generalises to novel poses (H3)"
    metric = "A: relighting PSNR (training poses, E₂) − relighting PSNR (novel poses, E₂)"
    exp = "≤ 2.0 dB (CI upper bound)"
    ci = d.get("generalisation_gap_A")
    if ci is None:
        return _row("IA5", claim, metric, exp, "not run: A missing", "inconclusive", "not run: A missing")
    p, lo, hi = ci
    v = verdict(hi <= 2.0, lo > 2.0) if _finite(p, lo, hi) else "inconclusive"
    return _row("IA5", claim, metric, exp, fmt(ci), v, "unpaired frames (training vs novel poses): independent "
                "bootstrap of the two means")


def ia6(d: dict, mA: dict | None, mC: dict | None) -> dict:
    claim = "MLP visibility extrapolates worse than tracing to unseen poses (mechanism behind IA3)"
    metric, exp = "visibility IoU on novel poses (probes): A − C (paired by frame)", "≥ 0.05, CI > 0"
    ci = d.get("vis_iou_A_minus_C")
    if ci is None:
        return _row("IA6", claim, metric, exp, "not run: A or C missing", "inconclusive", "not run: A or C missing")
    obs = fmt(ci, "", 3) + (f" (pooled IoU A {mA['vis_iou_pooled']:.3f}, C {mC['vis_iou_pooled']:.3f})"
                            if mA and mC else "")
    return _row("IA6", claim, metric, exp, obs, diff_rule(ci, 0.05))


def ia7(d: dict) -> dict:
    claim = "volumetric scattering beats surface shading at abrupt depth changes (H4)"
    metric = ("PBR recon PSNR on training-frame pixels within 1 px of GT depth discontinuities > 0.2: A − D "
              "(pixels pooled over resampled frames)")
    exp = "≥ +0.3 dB, CI > 0"
    ci = d.get("edge_psnr_A_minus_D")
    if ci is None:
        why = "variant D (surface shading, optional in the spec) not in this profile's variants"
        return _row("IA7", claim, metric, exp, f"not run: {why}", "inconclusive", f"not run: {why}")
    if not _finite(*ci):
        return _row("IA7", claim, metric, exp, "not run: no depth-discontinuity pixels", "inconclusive",
                    "not run: no depth-discontinuity pixels")
    obs = fmt(ci) + f"; {d.get('n_edge_pixels', 0):.0f} edge pixels"
    return _row("IA7", claim, metric, exp, obs, diff_rule(ci, 0.3))


def build_claims(metrics: dict, diffs: dict, gp, curves_ok: tuple[bool | None, str]) -> list[dict]:
    mA, mB, mC = metrics.get("A"), metrics.get("B"), metrics.get("C")
    gate_ok, gate_obs = gate(mA, gp)
    rows = [ia1(diffs), ia2(diffs), ia3(diffs), ia4(diffs), ia5(diffs), ia6(diffs, mA, mC), ia7(diffs)]
    rows = [_gated(r, gate_ok, gate_obs) if not r["observed"].startswith("not run") else r for r in rows]
    for r in rows[5:]:
        if r["verdict"] == "inconclusive" and gate_ok is False and not r["observed"].startswith("not run"):
            r["note"] += ("; the spec gates IA1–IA5 only, the project rule (no verdict on models that did not "
                          "fit) extends the gate to IA6 and IA7")
    g_ok = "reproduced" if gate_ok else ("not reproduced" if gate_ok is False else "inconclusive")
    rows.append(_row("GATE", "precondition gate (§8): variant A fits the training frames", "recon PSNR, mask IoU, "
                     "normal error of A", "all three thresholds met", gate_obs, g_ok,
                     "a training-health check on which IA1–IA5 rest, not a claim of the paper", "check"))
    ok, obs = curves_ok
    rows.append(_row("SANITY", "training sanity (§9.11): A's L1(C_rf) and L1(C_pbr) drop by ≥ 50 % within their phase",
                     "mean of the last vs first logged steps", "both ≥ 50 % lower", obs,
                     "reproduced" if ok else ("not reproduced" if ok is False else "inconclusive"),
                     "a training-health check, not a claim of the paper", "check"))
    if mA and mB:
        dn = diffs.get("normal_deg_A_minus_B", (float("nan"),) * 3)
        comp = abs(dn[0]) <= 3 if _finite(dn[0]) else None
        rows.append(_row("GEOM", "geometry is comparable across variants (report only)",
                         "normal error A, B, C (°); |A − B|", "|A − B| ≤ 3°",
                         f"A {mA['normal_deg']:.1f}°, B {mB['normal_deg']:.1f}°"
                         + (f", C {mC['normal_deg']:.1f}°" if mC else "") + f"; A − B = {fmt(dn, '°', 2)}",
                         "inconclusive", "report only (§8): a confound check — "
                         + ("geometry comparable" if comp else "geometry differs: note the confound"), "context"))
    return rows
