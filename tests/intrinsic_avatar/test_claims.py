"""Verdict rules of §8 reach every verdict; the precondition gate turns IA1–IA5 inconclusive."""

import math

import pytest

from components.core.claims import Claim
from components.intrinsic_avatar import claims as C
from components.intrinsic_avatar.params import GateParams

NAN = (math.nan,) * 3


@pytest.mark.parametrize("ci, th, want", [
    ((1.5, 0.4, 2.6), 1.0, "reproduced"),
    ((0.8, 0.2, 1.4), 1.0, "inconclusive"),      # CI > 0 but the point misses the threshold
    ((1.2, -0.3, 2.7), 1.0, "inconclusive"),     # CI contains 0
    ((-1.0, -1.8, -0.2), 1.0, "not reproduced"),  # wrong side of 0
    ((0.3, 0.1, 0.6), 1.0, "not reproduced"),    # entirely below the threshold
    (NAN, 1.0, "inconclusive"),
])
def test_diff_rule(ci, th, want):
    assert C.diff_rule(ci, th) == want


def _metrics(recon=25.0, iou=0.95, normal=10.0):
    m = {"recon_psnr": recon, "mask_iou": iou, "normal_deg": normal, "vis_iou_pooled": 0.6}
    return {"A": m, "B": dict(m), "C": dict(m)}


def _diffs(**kw):
    d = {"albedo_psnr_A_minus_B": (1.5, 0.5, 2.5), "albedo_psnr_A_minus_C": (0.5, 0.1, 0.9),
         "relit_novel_psnr_A_minus_B": (1.0, 0.6, 1.4), "relit_novel_psnr_A_minus_C": (0.6, 0.35, 0.9),
         "mae_sh_ratio_BA": (1.5, 1.3, 1.8), "gap_sh_minus_lit": (1.0, 0.6, 1.5), "n_sh_pixels": 100.0,
         "generalisation_gap_A": (0.5, -0.2, 1.2), "vis_iou_A_minus_C": (0.2, 0.1, 0.3),
         "normal_deg_A_minus_B": (1.0, 0.0, 2.0), "edge_psnr_A_minus_D": (0.8, 0.4, 1.2), "n_edge_pixels": 50.0}
    d.update(kw)
    return d


def _by_id(rows):
    return {r["id"]: r for r in rows}


def test_all_reproduced_when_gate_passes():
    rows = C.build_claims(_metrics(), _diffs(), GateParams(), (True, "ok"))
    for r in rows:
        Claim.model_validate(r)
    by = _by_id(rows)
    assert [r["id"] for r in rows if r["kind"] == "claim"] == [f"IA{i}" for i in range(1, 8)]
    for cid in ("IA1", "IA2", "IA3", "IA4", "IA5", "IA6", "IA7"):
        assert by[cid]["verdict"] == "reproduced", by[cid]
    assert by["GATE"]["kind"] == "check" and by["GATE"]["verdict"] == "reproduced"
    assert by["GEOM"]["kind"] == "context"


def test_not_reproduced_rows():
    d = _diffs(albedo_psnr_A_minus_B=(-1.0, -1.5, -0.5), albedo_psnr_A_minus_C=(-0.5, -0.9, -0.1),
               relit_novel_psnr_A_minus_C=(-0.5, -0.8, -0.2), mae_sh_ratio_BA=(0.9, 0.8, 1.0),
               generalisation_gap_A=(4.0, 3.0, 5.0), vis_iou_A_minus_C=(-0.1, -0.2, -0.05),
               edge_psnr_A_minus_D=(-0.5, -0.9, -0.1))
    by = _by_id(C.build_claims(_metrics(), d, GateParams(), (True, "ok")))
    for cid in ("IA1", "IA2", "IA3", "IA4", "IA5", "IA6", "IA7"):
        assert by[cid]["verdict"] == "not reproduced", by[cid]


def test_inconclusive_rows():
    d = _diffs(albedo_psnr_A_minus_B=(1.2, -0.1, 2.5), albedo_psnr_A_minus_C=(0.2, -0.1, 0.5),
               relit_novel_psnr_A_minus_B=(0.6, -0.1, 1.3), gap_sh_minus_lit=(0.7, -0.1, 1.4),
               generalisation_gap_A=(1.5, 0.5, 2.5), vis_iou_A_minus_C=(0.1, -0.01, 0.2),
               edge_psnr_A_minus_D=(0.4, -0.1, 0.9))
    by = _by_id(C.build_claims(_metrics(), d, GateParams(), (True, "ok")))
    for cid in ("IA1", "IA2", "IA3", "IA4", "IA5", "IA6", "IA7"):
        assert by[cid]["verdict"] == "inconclusive", by[cid]


def test_failed_gate_makes_ia1_to_ia6_inconclusive():
    by = _by_id(C.build_claims(_metrics(recon=15.0), _diffs(), GateParams(), (False, "no drop")))
    for cid in ("IA1", "IA2", "IA3", "IA4", "IA5", "IA6", "IA7"):
        assert by[cid]["verdict"] == "inconclusive" and "precondition failed" in by[cid]["note"]
        assert "would give 'reproduced'" in by[cid]["note"]
    assert "extends the gate to IA6 and IA7" in by["IA6"]["note"] and "IA7" in by["IA7"]["note"]
    assert by["GATE"]["verdict"] == "not reproduced" and by["SANITY"]["verdict"] == "not reproduced"


def test_missing_variants_are_not_run():
    m = _metrics()
    del m["C"]
    d = {k: v for k, v in _diffs().items() if "_C" not in k}
    by = _by_id(C.build_claims(m, d, GateParams(), (None, "smoke")))
    assert by["IA4"]["observed"].startswith("not run") and by["IA6"]["verdict"] == "inconclusive"
    assert "A − C: not run" in by["IA3"]["observed"]


def test_ia7_not_run_without_d_or_edges():
    d = {k: v for k, v in _diffs().items() if "_D" not in k}
    by = _by_id(C.build_claims(_metrics(), d, GateParams(), (True, "ok")))
    assert by["IA7"]["verdict"] == "inconclusive" and by["IA7"]["observed"].startswith("not run: variant D")
    by = _by_id(C.build_claims(_metrics(), _diffs(edge_psnr_A_minus_D=NAN), GateParams(), (True, "ok")))
    assert by["IA7"]["observed"] == "not run: no depth-discontinuity pixels"
