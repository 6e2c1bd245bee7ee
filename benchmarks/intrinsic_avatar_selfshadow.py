"""Diagnostic for the t_min deviation (README): mean traced V of a trained A on GT-unoccluded and GT-occluded probes
(GT surface point, upper-hemisphere direction) of the test poses, for the shipped t_min, t_min = 2 voxels along ω
and a 2-voxel offset along n.  Usage (worktree root): python benchmarks/intrinsic_avatar_selfshadow.py
data/intrinsic_avatar A_s0.pt"""
import sys
from pathlib import Path

import numpy as np
import torch
import yaml

from components.intrinsic_avatar import avatar as AV
from components.intrinsic_avatar import render as RD
from components.intrinsic_avatar.data import load_frames, posed_primitives, shadow_hit
from components.intrinsic_avatar.params import IntrinsicAvatarParams
from components.intrinsic_avatar.training import build_model

torch.set_num_threads(1)
root = Path(sys.argv[1]); ck = sys.argv[2]
p = IntrinsicAvatarParams.model_validate(yaml.safe_load(open("params.yaml"))["intrinsic_avatar"])
model = build_model(p, {}, with_vis=False)
model.load_state_dict(torch.load(root / "models/ckpt" / ck, weights_only=True), strict=False); model.eval()
fig = AV.Figure.from_params(p.data)
test = load_frames(root / "prepared/frames", "test", p.data.n_test_poses)
g = torch.Generator().manual_seed(5)
rows = []
for fr in test:
    R, t = torch.tensor(fr["R"]), torch.tensor(fr["t"])
    pts, nrm = torch.tensor(fr["points"]), torch.tensor(fr["pnormals"])
    i = torch.randint(len(pts), (400,), generator=g); x, n = pts[i], nrm[i]
    w, _ = RD.sample_uniform((400,), g); w = torch.where(((w * n).sum(-1) < 0)[:, None], -w, w)
    gt = shadow_hit(x + 2e-3 * n, w, posed_primitives(fig, R, t))
    cos = (w * n).sum(-1)
    with torch.no_grad():
        for name, x0, tmin in (("t_min 0.02 (as is)", x + 2e-3 * n, p.train.t_min),
                               ("offset 2 voxels along n", x + 0.085 * n, p.train.t_min),
                               ("t_min 0.085 along w", x + 2e-3 * n, 0.085)):
            V = model.traced_visibility(x0, w, R, t, p.train.n_secondary, tmin, p.train.t_max, g)
            rows.append((name, gt.numpy(), V.numpy(), cos.numpy()))
for name in dict.fromkeys(r[0] for r in rows):
    gt = np.concatenate([r[1] for r in rows if r[0] == name]); V = np.concatenate([r[2] for r in rows if r[0] == name])
    cos = np.concatenate([r[3] for r in rows if r[0] == name])
    un = ~gt.astype(bool)
    iou = ((V < 0.5) & gt.astype(bool)).sum() / max(((V < 0.5) | gt.astype(bool)).sum(), 1)
    print(f"{name:26s} GT-unoccluded: mean V {V[un].mean():.3f} (cos<0.3: {V[un & (cos < 0.3)].mean():.3f}, "
          f"cos>0.7: {V[un & (cos > 0.7)].mean():.3f}); GT-occluded mean V {V[~un].mean():.3f}; IoU {iou:.3f}; "
          f"occluded GT {gt.mean():.3f}")
