"""The miniature IntrinsicAvatar (spec §3.2): dense SDF + feature grids in canonical space, Laplace density,
articulation by the partitioned-rigid rule for primary *and* secondary rays, RF and material heads, a learnable
env map, volumetric interaction sampling and Monte-Carlo shading with visibility variants A / B / C and surface shading D."""

from __future__ import annotations

import math

import torch
from torch import nn

from components.intrinsic_avatar import avatar as AV
from components.intrinsic_avatar import render as RD


def mlp(n_in: int, hidden: int, layers: int, n_out: int) -> nn.Sequential:
    mods, d = [], n_in
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), nn.ReLU()]
        d = hidden
    mods.append(nn.Linear(d, n_out))
    return nn.Sequential(*mods)


def posenc(x: torch.Tensor, n_freq: int) -> torch.Tensor:
    out = [x]
    for k in range(n_freq):
        out += [torch.sin((2.0 ** k) * math.pi * x), torch.cos((2.0 ** k) * math.pi * x)]
    return torch.cat(out, -1)


def inv_softplus(y: float) -> float:
    return math.log(math.expm1(y))


def init_sdf(mp, fig: AV.Figure, pts: torch.Tensor, center: torch.Tensor) -> torch.Tensor:
    """Initial canonical SDF at grid points pts [G, G, G, 3] (relative to the box centre): the repository's sphere
    (r = 0.5), or ``skeleton`` — capsules of one generic radius around the given bone segments (the toy's
    analogue of starting from the SMPL body; no per-part radius or any other shape information)."""
    if mp.sdf_init == "sphere":
        return pts.norm(dim=-1) - 0.5
    x = (pts + center).reshape(-1, 3)
    d = torch.stack([AV._seg_dist(x, a, b) for a, b in fig.segments()], -1).min(-1).values - mp.skeleton_radius
    return d.reshape(pts.shape[:-1])


class AvatarModel(nn.Module):
    def __init__(self, mp, env_h: int, env_w: int, fig: AV.Figure, with_vis: bool = True):
        super().__init__()
        self.mp, self.fig = mp, fig
        G, F = mp.sdf_grid, mp.feat_grid
        self.center, self.half = AV.CANON_CENTER.clone(), AV.CANON_HALF
        lin = torch.linspace(-self.half, self.half, G)
        X, Y, Z = torch.meshgrid(lin, lin, lin, indexing="ij")
        pts = torch.stack([X, Y, Z], -1)
        self.sdf = nn.Parameter(init_sdf(mp, fig, pts, self.center)[None].contiguous())
        # coarse levels (zero at start): a multi-resolution SDF, the dense analogue of the repository's multi-level
        # hash grid — coarse voxels move large regions per update, so the shape leaves the init in few steps
        self.sdf_coarse = nn.ParameterList([nn.Parameter(torch.zeros(1, r, r, r)) for r in mp.sdf_levels])
        g = torch.Generator().manual_seed(0)
        self.feat = nn.Parameter(0.1 * torch.randn(mp.feat_dim, F, F, F, generator=g))
        self.beta_param = nn.Parameter(torch.tensor(float(mp.beta_init)))
        self.rf = mlp(mp.feat_dim + 6, mp.hidden, mp.layers, 3)
        self.mat = mlp(mp.feat_dim, mp.hidden, mp.layers, 4)
        self.env_raw = nn.Parameter(torch.full((env_h, env_w, 3), inv_softplus(mp.light_init)))
        self.vis = mlp(27 + 15 + 4, mp.vis_hidden, mp.vis_layers, 1) if with_vis else None
        self.grid = RD.EnvGrid(env_h, env_w)

    # ------------------------------------------------------------------ fields
    @property
    def beta(self) -> torch.Tensor:
        return self.beta_param.abs() + 1e-4

    def env(self) -> torch.Tensor:
        return nn.functional.softplus(self.env_raw)

    def inside(self, xc: torch.Tensor) -> torch.Tensor:
        return ((xc - self.center).abs() <= self.half).all(-1)

    def sdf_grid(self) -> torch.Tensor:
        """The effective SDF grid: the finest level plus the upsampled coarse levels (exact for nested sizes)."""
        g = self.sdf
        for c in self.sdf_coarse:
            g = g + RD.upsample_grid(c, self.mp.sdf_grid)
        return g

    def sdf_c(self, xc: torch.Tensor) -> torch.Tensor:
        d = RD.trilinear(self.sdf_grid(), xc, self.center, self.half)[:, 0]
        return torch.where(self.inside(xc), d, torch.full_like(d, float("inf")))

    def material(self, feat: torch.Tensor):
        s = torch.sigmoid(self.mat(feat))
        return 0.77 * s[:, :3] + 0.03, 0.9 * s[:, 3] + 0.09

    def query(self, x: torch.Tensor, R: torch.Tensor, t: torch.Tensor, full: bool = True):
        """Posed points x [N, 3] → d (differentiable in the grid), and with ``full`` the canonical gradient g,
        world normal n, canonical point xc, bone and feature."""
        N = x.shape[0]
        grid = self.sdf_grid()
        with torch.no_grad():
            xc_all = AV.to_canonical(x, R, t)
            flat = xc_all.reshape(-1, 3)
            valid = (self.fig.part(flat).reshape(N, -1) == torch.arange(R.shape[0])[None]) & \
                self.inside(flat).reshape(N, -1)
            d0 = RD.trilinear(grid.detach(), flat, self.center, self.half)[:, 0].reshape(N, -1)
            dv = torch.where(valid, d0, torch.full_like(d0, float("inf")))
            dmin, bone = dv.min(-1)
            ok = valid.any(-1)
            xc = xc_all[torch.arange(N), bone]
        if not full:
            if not torch.is_grad_enabled():  # secondary rays: the candidates' lookup already holds d
                return {"d": torch.where(ok, dmin, torch.full_like(dmin, self.mp.d_max)), "ok": ok}
            d = RD.trilinear(grid, xc, self.center, self.half)[:, 0]
            return {"d": torch.where(ok, d, torch.full_like(d, self.mp.d_max)), "ok": ok}
        d, g = RD.trilinear(grid, xc, self.center, self.half, with_grad=True)
        d, g = d[:, 0], g[:, 0]
        d = torch.where(ok, d, torch.full_like(d, self.mp.d_max))
        nc = g / g.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        Rb = R[bone]
        n = (Rb @ nc[..., None])[..., 0]
        feat = RD.trilinear(self.feat, xc, self.center, self.half)
        return {"d": d, "g": g, "nc": nc, "n": n, "xc": xc, "bone": bone, "ok": ok, "feat": feat, "Rb": Rb}

    def density(self, d: torch.Tensor) -> torch.Tensor:
        return RD.laplace_density(d, self.beta)

    # ------------------------------------------------------------------ primary rays
    def render_rays(self, o, dirs, R, t, bg, n_samples: int, gen=None, perturb: bool = True,
                    with_material: bool = False):
        Nr = o.shape[0]
        tn, tf = RD.ray_box(o, dirs, AV.POSED_LO, AV.POSED_HI)
        u = torch.rand(Nr, n_samples, generator=gen) if perturb else torch.full((Nr, n_samples), 0.5)
        delta = ((tf - tn) / n_samples)[:, None].expand(Nr, n_samples)
        ts = tn[:, None] + (torch.arange(n_samples)[None] + u) * delta
        x = (o[:, None] + ts[..., None] * dirs[:, None]).reshape(-1, 3)
        q = self.query(x, R, t, full=True)
        sigma = self.density(q["d"]).reshape(Nr, n_samples)
        _, _, w = RD.composite(sigma, delta)
        vc = (q["Rb"].transpose(-1, -2) @ (-dirs.repeat_interleave(n_samples, 0))[..., None])[..., 0]
        rgb = torch.sigmoid(self.rf(torch.cat([q["feat"], q["nc"], vc], -1))).reshape(Nr, n_samples, 3)
        O = w.sum(-1)
        c_rf = (w[..., None] * rgb).sum(1) + (1 - O)[:, None] * bg
        gn = q["g"].norm(dim=-1)
        eik = ((gn - 1) ** 2)[q["ok"]].mean() if q["ok"].any() else torch.zeros(())
        normal = (w[..., None] * q["n"].reshape(Nr, n_samples, 3)).sum(1)
        depth = (w * ts).sum(-1)
        res = {"O": O, "c_rf": c_rf, "w": w, "ts": ts, "delta": delta, "eik": eik, "normal": normal,
               "depth": depth, "t_start": ts - u * delta}
        if with_material:
            alb, rough = self.material(q["feat"])
            res["albedo"] = (w[..., None] * alb.reshape(Nr, n_samples, 3)).sum(1) / O.clamp_min(1e-6)[:, None]
            res["rough"] = (w * rough.reshape(Nr, n_samples)).sum(1) / O.clamp_min(1e-6)
        return res

    # ------------------------------------------------------------------ secondary rays
    @torch.no_grad()
    def traced_visibility(self, x, d, R, t, n_sec: int, t_min: float, t_max: float, gen=None) -> torch.Tensor:
        """Transmittance of secondary rays x + s·d, s ∈ [t_min, t_max], through the posed density (no gradient)."""
        K = x.shape[0]
        dt = (t_max - t_min) / n_sec
        s = t_min + (torch.arange(n_sec)[None] + torch.rand(K, n_sec, generator=gen)) * dt
        pts = (x[:, None] + s[..., None] * d[:, None]).reshape(-1, 3)
        dd = self.query(pts, R, t, full=False)["d"].reshape(K, n_sec)
        return torch.exp(-(self.density(dd) * dt).sum(-1))

    def vis_mlp(self, xc, dc, pose) -> torch.Tensor:
        xn = (xc - self.center) / self.half
        pf = torch.cat([torch.sin(pose), torch.cos(pose)], -1).expand(xc.shape[0], 4)
        return torch.sigmoid(self.vis(torch.cat([posenc(xn, 4), posenc(dc, 2), pf], -1)))[:, 0]

    # ------------------------------------------------------------------ shading
    def shade_points(self, q, wo, variant: str, R, t, pose, env, sampler: str, n_dirs: int, n_sec: int,
                     t_min: float, t_max: float, gen=None, albedo_scale=None):
        """L_o at interaction points q (a :meth:`query` result) for a variant: A traced V, B V ≡ 1, C V_φ.
        Returns L_o [K, 3] and a dict with the sampled V (and V_traced for C)."""
        alb, rough = self.material(q["feat"])
        if albedo_scale is not None:
            alb = (alb * albedo_scale).clamp(0, 1)
        side = {}
        x = q["x"]

        def vis_a(xx, dd):
            v = self.traced_visibility(xx + 0.0 * dd, dd, R, t, n_sec, t_min, t_max, gen)
            side["V"] = v
            return v

        def vis_c(xx, dd):
            rep = n_dirs
            Rb = q["Rb"].repeat_interleave(rep, 0)
            xc = q["xc"].repeat_interleave(rep, 0)
            dc = (Rb.transpose(-1, -2) @ dd[..., None])[..., 0]
            v = self.vis_mlp(xc, dc, pose)
            side["V"] = v
            if self.training:
                side["V_traced"] = self.traced_visibility(xx, dd, R, t, n_sec, t_min, t_max, gen)
            return v

        fn = {"A": vis_a, "B": None, "C": vis_c}[variant]
        L, d, V = RD.shade_mc(q["n"], wo, alb, rough, env, self.grid, sampler, n_dirs, fn, gen, x=x)
        side.setdefault("V", V)
        side["dirs"] = d
        return L, side, alb, rough

    def interaction_points(self, o, dirs, out, S: int, R, t, gen=None):
        """S interaction points per ray drawn from the primary weights (spec 3.2.4), jittered in their interval."""
        Nr = o.shape[0]
        k = RD.sample_intervals(out["w"], S, gen)
        u = torch.rand(Nr, S, generator=gen)
        ts = torch.gather(out["t_start"], 1, k) + u * torch.gather(out["delta"], 1, k)
        x = (o[:, None] + ts[..., None] * dirs[:, None]).reshape(-1, 3)
        q = self.query(x, R, t, full=True)
        q["x"] = x
        return q

    def pbr_rays(self, o, dirs, out, S: int, variant: str, R, t, pose, env, sampler: str, n_dirs: int, n_sec: int,
                 t_min: float, t_max: float, gen=None, albedo_scale=None, min_opacity: float = 1e-3):
        """Mean L_o of S interaction points per ray (spec 3.2.4–3.2.5), shading only rays with opacity
        ≥ ``min_opacity``: the others weigh ≤ ``min_opacity`` in C_pbr = O·L + (1 − O)·bg, and background pixels were
        most of the shading cost (secondary rays included). Returns L̄ [Nr, 3] (0 on skipped rays) and the shaded
        points' query, side outputs, albedo and roughness (None when no ray is shaded)."""
        Nr = o.shape[0]
        live = (out["O"].detach() >= min_opacity).nonzero()[:, 0]
        if live.numel() == 0:
            return torch.zeros(Nr, 3), None, {}, None, None
        if variant == "D":
            # surface shading: the same S·M shading samples, all at one point per ray
            q = self.surface_points(o[live], dirs[live], {k: out[k][live] for k in ("O", "depth", "normal")}, R, t)
            L, side, alb, rough = self.shade_points(q, -dirs[live], "A", R, t, pose, env, sampler, S * n_dirs, n_sec,
                                                    t_min, t_max, gen, albedo_scale)
            return torch.zeros(Nr, 3).index_copy(0, live, L), q, side, alb, rough
        sub = {k: out[k][live] for k in ("w", "t_start", "delta")}
        q = self.interaction_points(o[live], dirs[live], sub, S, R, t, gen)
        wo = (-dirs[live]).repeat_interleave(S, 0)
        L, side, alb, rough = self.shade_points(q, wo, variant, R, t, pose, env, sampler, n_dirs, n_sec, t_min, t_max,
                                                gen, albedo_scale)
        Lbar = torch.zeros(Nr, 3).index_copy(0, live, L.reshape(-1, S, 3).mean(1))
        return Lbar, q, side, alb, rough

    def surface_points(self, o, dirs, out, R, t):
        """Variant D (spec 3.2.6): one interaction point per ray at the expected depth Σwt/O, shaded with the
        expected normal Σwn (normalised) — a surface renderer's single hit, kept differentiable in both."""
        O = out["O"].clamp_min(1e-6)
        x = o + (out["depth"] / O)[:, None] * dirs
        q = self.query(x, R, t, full=True)
        q["n"] = out["normal"] / out["normal"].norm(dim=-1, keepdim=True).clamp_min(1e-6)
        q["x"] = x
        return q
