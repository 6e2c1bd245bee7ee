"""The toy avatar (spec §3.2.2, §4.1): capsule bones with known SDF, albedo, roughness and a partitioned-rigid
skinning (the toy's SMPL), posed by per-frame rigid bone transforms; cameras; the articulation rule shared by the
ground truth and the model.

Bones: 0 torso (+ head), 1 upper arm, 2 forearm. A posed point x is a candidate for bone b when its canonical
image x_b = R_bᵀ(x − t_b) is labelled b (nearest bone segment); the posed SDF is the minimum canonical SDF over the
consistent candidates, +d_max when none is consistent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

N_BONES = 3


def _seg_dist(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ab = b - a
    h = (((x - a) @ ab) / (ab @ ab)).clamp(0, 1)
    return (x - a - h[..., None] * ab).norm(dim=-1)


def smin(a: torch.Tensor, b: torch.Tensor, k: float) -> torch.Tensor:
    if k <= 0:
        return torch.minimum(a, b)
    h = (k - (a - b).abs()).clamp_min(0) / k
    return torch.minimum(a, b) - h * h * k / 4


@dataclass
class Figure:
    """Canonical geometry and appearance from the ``data`` params (canonical pose: arm horizontal along +x)."""

    torso_a: tuple = (0.0, -0.5, 0.0)
    torso_b: tuple = (0.0, 0.3, 0.0)
    torso_r: float = 0.25
    shoulder: tuple = (0.30, 0.25, 0.0)
    upper_len: float = 0.40
    upper_r: float = 0.11
    fore_len: float = 0.35
    fore_r: float = 0.10
    head: bool = True
    head_r: float = 0.14
    k: float = 0.02
    torso_albedo: tuple = (0.65, 0.25, 0.20)
    stripe_albedo: tuple = (0.20, 0.35, 0.70)
    stripe_freq: float = 3.0
    arm_albedo: tuple = (0.70, 0.60, 0.45)
    head_albedo: tuple = (0.60, 0.45, 0.35)
    rough_torso: float = 0.6
    rough_arm: float = 0.35
    rough_head: float = 0.5

    @classmethod
    def from_params(cls, d) -> "Figure":
        return cls(torso_a=tuple(d.torso.a), torso_b=tuple(d.torso.b), torso_r=d.torso.radius,
                   shoulder=tuple(d.upper_arm.shoulder), upper_len=d.upper_arm.length, upper_r=d.upper_arm.radius,
                   fore_len=d.forearm.length, fore_r=d.forearm.radius, head=d.head.enabled, head_r=d.head.radius,
                   k=d.smooth_union_k, torso_albedo=tuple(d.appearance.torso_base),
                   stripe_albedo=tuple(d.appearance.torso_stripe), stripe_freq=d.appearance.stripe_freq,
                   arm_albedo=tuple(d.appearance.arm), head_albedo=tuple(d.appearance.head),
                   rough_torso=d.appearance.rough_torso, rough_arm=d.appearance.rough_arm,
                   rough_head=d.appearance.rough_head)

    # -- skeleton
    def joints(self):
        j1 = torch.tensor(self.shoulder, dtype=torch.float32)
        j2 = j1 + torch.tensor([self.upper_len, 0.0, 0.0])
        j3 = j2 + torch.tensor([self.fore_len, 0.0, 0.0])
        return j1, j2, j3

    def segments(self):
        j1, j2, j3 = self.joints()
        ta, tb = torch.tensor(self.torso_a, dtype=torch.float32), torch.tensor(self.torso_b, dtype=torch.float32)
        return [(ta, tb), (j1, j2), (j2, j3)]

    def head_center(self) -> torch.Tensor:
        return torch.tensor(self.torso_b, dtype=torch.float32) + torch.tensor([0.0, self.torso_r + self.head_r * 0.7, 0.0])

    def part(self, xc: torch.Tensor) -> torch.Tensor:
        """Canonical part label ℓ(x_c) = argmin_b dist(x_c, bone segment b)."""
        d = torch.stack([_seg_dist(xc, a, b) for a, b in self.segments()], -1)
        return d.argmin(-1)

    # -- canonical fields
    def prims(self, xc: torch.Tensor) -> torch.Tensor:
        (ta, tb), (j1, j2), (_, j3) = self.segments()
        p = [_seg_dist(xc, ta, tb) - self.torso_r, _seg_dist(xc, j1, j2) - self.upper_r,
             _seg_dist(xc, j2, j3) - self.fore_r]
        if self.head:
            p.append((xc - self.head_center()).norm(dim=-1) - self.head_r)
        return torch.stack(p, -1)

    def sdf(self, xc: torch.Tensor) -> torch.Tensor:
        return self._union(self.prims(xc))

    def _union(self, p: torch.Tensor) -> torch.Tensor:
        d = p[..., 0]
        for i in range(1, p.shape[-1]):
            d = smin(d, p[..., i], self.k)
        return d

    def sdf_part(self, xc: torch.Tensor):
        """(:meth:`sdf`, :meth:`part`) with the three bone-segment distances computed once (GT sphere tracing)."""
        (ta, tb), (j1, j2), (_, j3) = self.segments()
        s = [_seg_dist(xc, ta, tb), _seg_dist(xc, j1, j2), _seg_dist(xc, j2, j3)]
        p = [s[0] - self.torso_r, s[1] - self.upper_r, s[2] - self.fore_r]
        if self.head:
            p.append((xc - self.head_center()).norm(dim=-1) - self.head_r)
        return self._union(torch.stack(p, -1)), torch.stack(s, -1).argmin(-1)

    def normal(self, xc: torch.Tensor, h: float = 1e-4) -> torch.Tensor:
        e = torch.eye(3) * h
        g = torch.stack([(self.sdf(xc + e[i]) - self.sdf(xc - e[i])) / (2 * h) for i in range(3)], -1)
        return g / g.norm(dim=-1, keepdim=True).clamp_min(1e-9)

    def material(self, xc: torch.Tensor):
        """GT albedo (linear) [N, 3] and roughness [N] of the nearest primitive."""
        p = self.prims(xc)
        which = p.argmin(-1)
        ta = torch.tensor(self.torso_a)
        height = self.torso_b[1] - self.torso_a[1]
        stripe = torch.sin(2 * math.pi * self.stripe_freq * (xc[..., 1] - ta[1]) / height) > 0
        torso = torch.where(stripe[..., None], torch.tensor(self.stripe_albedo), torch.tensor(self.torso_albedo))
        arm = torch.tensor(self.arm_albedo).expand_as(torso)
        head = torch.tensor(self.head_albedo).expand_as(torso)
        alb = torch.where((which == 0)[..., None], torso, torch.where((which == 3)[..., None], head, arm))
        rough = torch.where(which == 0, self.rough_torso, torch.where(which == 3, self.rough_head, self.rough_arm))
        return alb.float(), rough.float()


def rot_y(angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]], dtype=torch.float32)


def bone_transforms(fig: Figure, theta1_deg: float, theta2_deg: float):
    """R [3, 3, 3], t [3, 3] with x_posed = R_b x_c + t_b: T_0 = I, T_1 = T_0·R_shoulder(θ₁), T_2 = T_1·R_elbow(θ₂);
    both joints rotate about +y so that the arm swings forward (+z) and across the torso."""
    j1, j2, _ = fig.joints()
    R1 = rot_y(-math.radians(theta1_deg))   # x̂ → (cos θ, 0, sin θ)
    R2 = R1 @ rot_y(-math.radians(theta2_deg))
    t1 = j1 - R1 @ j1
    t2 = (R1 @ (j2 - j1) + j1) - R2 @ j2
    R = torch.stack([torch.eye(3), R1, R2])
    t = torch.stack([torch.zeros(3), t1, t2])
    return R, t


def to_canonical(x: torch.Tensor, R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x [N, 3] → candidates x_b [N, B, 3]."""
    return torch.einsum("bji,nbj->nbi", R, x[:, None, :] - t[None])


def posed_query(x: torch.Tensor, R: torch.Tensor, t: torch.Tensor, sdf_c, part_fn, d_max: float = 1.0):
    """The articulation rule: (d_posed [N], bone [N] (−1 = none), x_c of that bone [N, 3])."""
    N = x.shape[0]
    xc = to_canonical(x, R, t)  # [N, B, 3]
    flat = xc.reshape(-1, 3)
    valid = (part_fn(flat).reshape(N, -1) == torch.arange(R.shape[0])[None])
    d = sdf_c(flat).reshape(N, -1)
    big = torch.full_like(d, float("inf"))
    dv = torch.where(valid, d, big)
    dmin, bone = dv.min(-1)
    none = ~valid.any(-1)
    d_posed = torch.where(none, torch.full_like(dmin, d_max), dmin)
    bone = torch.where(none, torch.full_like(bone, -1), bone)
    xsel = xc[torch.arange(N), bone.clamp_min(0)]
    return d_posed, bone, xsel


def posed_trace_fn(R: torch.Tensor, t: torch.Tensor, sdf_c, part_fn, d_max: float = 1.0, sdf_part=None):
    """For :func:`render.sphere_trace`: x → (posed SDF by the rule, a lower bound of the distance to the posed
    surface = min over all bones of the canonical SDF of x_b, which the posed surface is a subset of).
    ``sdf_part(x) → (sdf, part)`` replaces the two calls when given (the figure shares the segment distances)."""
    def fn(x):
        N = x.shape[0]
        xc = to_canonical(x, R, t).reshape(-1, 3)
        d, part = sdf_part(xc) if sdf_part is not None else (sdf_c(xc), part_fn(xc))
        d = d.reshape(N, -1)
        valid = part.reshape(N, -1) == torch.arange(R.shape[0])[None]
        dv = torch.where(valid, d, torch.full_like(d, float("inf"))).min(-1).values
        rule = torch.where(torch.isinf(dv), torch.full_like(dv, d_max), dv)
        return rule, d.min(-1).values
    return fn


# --------------------------------------------------------------------------------------------- cameras
def look_at(eye: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """World-to-camera 4×4 (OpenGL: camera looks along −z, y up)."""
    f = target - eye
    f = f / f.norm()
    r = torch.linalg.cross(f, torch.tensor([0.0, 1.0, 0.0]))
    r = r / r.norm()
    u = torch.linalg.cross(r, f)
    Rw = torch.stack([r, u, -f])  # rows: camera axes in world
    M = torch.eye(4)
    M[:3, :3] = Rw
    M[:3, 3] = -Rw @ eye
    return M


def orbit_camera(az_deg: float, elev_deg: float, dist: float, target=(0.25, 0.05, 0.2)):
    a, e = math.radians(az_deg), math.radians(elev_deg)
    tgt = torch.tensor(target, dtype=torch.float32)
    eye = tgt + dist * torch.tensor([math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a)])
    return look_at(eye, tgt)


def intrinsics(size: int, fov_deg: float) -> torch.Tensor:
    f = 0.5 * size / math.tan(math.radians(fov_deg) / 2)
    return torch.tensor([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1]], dtype=torch.float32)


def camera_rays(w2c: torch.Tensor, K: torch.Tensor, size: int, ss: int = 1, pix: torch.Tensor | None = None):
    """World-space rays through pixel (sub-)centres: o [N, 3], d [N, 3]; pixel (row, col) order, row 0 = top.
    ``pix`` [N, 2] (row, col) float positions in pixels selects rays directly."""
    if pix is None:
        n = size * ss
        c = (torch.arange(n, dtype=torch.float32) + 0.5) / ss
        rr, cc = torch.meshgrid(c, c, indexing="ij")
        pix = torch.stack([rr.reshape(-1), cc.reshape(-1)], -1)
    x = (pix[:, 1] - K[0, 2]) / K[0, 0]
    y = -(pix[:, 0] - K[1, 2]) / K[1, 1]
    dc = torch.stack([x, y, -torch.ones_like(x)], -1)
    dc = dc / dc.norm(dim=-1, keepdim=True)
    Rw = w2c[:3, :3]
    o = -Rw.T @ w2c[:3, 3]
    d = dc @ Rw  # camera → world: Rwᵀ·dc
    return o.expand_as(d).contiguous(), d


POSED_LO = torch.tensor([-0.55, -0.85, -0.45])
POSED_HI = torch.tensor([1.30, 0.90, 1.05])
CANON_CENTER = torch.tensor([0.40, 0.05, 0.0])
CANON_HALF = 0.85
