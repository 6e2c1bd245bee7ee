"""Paired differences between variants with frame-bootstrap CIs (same frames resampled for both variants)."""

from __future__ import annotations

import numpy as np


def _ci(stat, n: int, reps: int, seed: int) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    point = float(stat(np.arange(n)[None])[0])
    bs = stat(rng.integers(0, n, size=(reps, n)))
    bs = bs[np.isfinite(bs)]
    if not len(bs):
        return point, float("nan"), float("nan")
    return point, float(np.percentile(bs, 2.5)), float(np.percentile(bs, 97.5))


def paired_mean(a, b, reps: int, seed: int) -> tuple[float, float, float]:
    d = np.asarray(a, float) - np.asarray(b, float)
    return _ci(lambda ix: d[ix].mean(-1), len(d), reps, seed)


def unpaired_mean_diff(a, b, reps: int, seed: int) -> tuple[float, float, float]:
    a, b = np.asarray(a, float), np.asarray(b, float)
    rng = np.random.default_rng(seed)
    point = float(a.mean() - b.mean())
    bs = a[rng.integers(0, len(a), (reps, len(a)))].mean(-1) - b[rng.integers(0, len(b), (reps, len(b)))].mean(-1)
    return point, float(np.percentile(bs, 2.5)), float(np.percentile(bs, 97.5))


def shadow_stats(pa: dict, pb: dict, reps: int, seed: int) -> dict:
    """IA2: MAE_sh(B)/MAE_sh(A) and (gap_sh − gap_lit), gap = PSNR(A) − PSNR(B), pooled over resampled frames."""
    arr = {f"{v}_{k}": np.asarray(src[k], float) for v, src in (("A", pa), ("B", pb))
           for k in ("sse_sh", "sae_sh", "n_sh", "sse_lit", "sae_lit", "n_lit")}
    n = len(arr["A_n_sh"])

    def pooled(ix, key):
        return arr[key][ix].sum(-1)

    def psnr(ix, v, m):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -10 * np.log10(np.maximum(pooled(ix, f"{v}_sse_{m}") / pooled(ix, f"{v}_n_{m}"), 1e-12))

    def ratio(ix):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (pooled(ix, "B_sae_sh") / pooled(ix, "B_n_sh")) / (pooled(ix, "A_sae_sh") / pooled(ix, "A_n_sh"))

    def gapdiff(ix):
        return (psnr(ix, "A", "sh") - psnr(ix, "B", "sh")) - (psnr(ix, "A", "lit") - psnr(ix, "B", "lit"))

    if n == 0 or arr["A_n_sh"].sum() == 0:
        nan = (float("nan"),) * 3
        return {"mae_sh_ratio_BA": nan, "gap_sh_minus_lit": nan, "n_sh_pixels": 0.0}
    return {"mae_sh_ratio_BA": _ci(ratio, n, reps, seed), "gap_sh_minus_lit": _ci(gapdiff, n, reps, seed + 1),
            "n_sh_pixels": float(arr["A_n_sh"].sum() / 3)}


def paired_diffs(per: dict, reps: int, seed: int) -> dict:
    """Every difference the claims of §8 rest on (absent variants are skipped)."""
    out: dict = {}
    pf = {v: m["per_frame"] for v, m in per.items()}
    for other in ("B", "C"):
        if "A" in pf and other in pf:
            for k in ("albedo_psnr", "albedo_psnr_perframe", "relit_novel_psnr", "normal_deg", "recon_psnr"):
                out[f"{k}_A_minus_{other}"] = paired_mean(pf["A"][k], pf[other][k], reps, seed)
            out[f"vis_iou_A_minus_{other}"] = paired_mean(pf["A"]["vis_iou"], pf[other]["vis_iou"], reps, seed)
    if "A" in pf and "B" in pf:
        out.update(shadow_stats(pf["A"], pf["B"], reps, seed))
    if "A" in pf and "D" in pf and "sse_edge" in pf["A"]:
        out["edge_psnr_A_minus_D"] = pooled_psnr_diff(pf["A"], pf["D"], "edge", reps, seed)
        out["recon_psnr_A_minus_D"] = paired_mean(pf["A"]["recon_psnr"], pf["D"]["recon_psnr"], reps, seed)
        out["n_edge_pixels"] = float(np.sum(pf["A"]["n_edge"]) / 3)
    if "A" in pf:
        out["generalisation_gap_A"] = unpaired_mean_diff(pf["A"]["relit_train_psnr"], pf["A"]["relit_novel_psnr"],
                                                         reps, seed)
    return out


def pooled_psnr_diff(pa: dict, pb: dict, key: str, reps: int, seed: int):
    """PSNR(A) − PSNR(B) on pixels pooled over resampled frames (per-frame ``sse_<key>``, ``n_<key>``): frames
    without such pixels add nothing instead of an undefined per-frame PSNR."""
    sa, sb = np.asarray(pa[f"sse_{key}"], float), np.asarray(pb[f"sse_{key}"], float)
    na = np.asarray(pa[f"n_{key}"], float)
    if not len(na) or na.sum() == 0:
        return (float("nan"),) * 3

    def stat(ix):
        with np.errstate(divide="ignore", invalid="ignore"):
            n = na[ix].sum(-1)
            return -10 * np.log10(sa[ix].sum(-1) / n) + 10 * np.log10(sb[ix].sum(-1) / n)
    return _ci(stat, len(na), reps, seed)
