"""The list of unlearning runs (spec §7 train.3): main grid + sophia_ref block + ρ sweep + γ swap."""

from __future__ import annotations

import hashlib


def run_id(cfg: dict) -> str:
    key = f"{cfg['block']}-{cfg['objective']}-{cfg['optimizer']}-m{cfg['lr_mult']}-g{cfg['gamma']}-r{cfg['rho']}"
    return f"{cfg['objective']}_{cfg['optimizer']}_{hashlib.sha1(key.encode()).hexdigest()[:6]}_s{cfg['seed']}"


def expand_runs(u, base_seed: int = 0) -> list[dict]:
    """Every unlearning run as a flat dict with a stable ``run_id``; ``u`` is ``soul.unlearn``.

    A run's ``seed`` is ``base_seed`` (``soul.seed``) + the list entry, so another ``soul.seed`` is a
    disjoint block of runs (the stability check); SO and FO runs of one seed stay paired.
    """
    out: list[dict] = []
    ablation_seeds = u.ablation_seeds if u.ablation_seeds is not None else u.seeds
    rho = u.sophia.rho

    def add(block, objective, optimizer, lr_mult, seeds, gamma=None, rho_=rho):
        for entry in seeds:
            seed = base_seed + entry
            cfg = {"block": block, "objective": objective, "optimizer": optimizer, "lr_mult": lr_mult,
                   "lr": lr_mult * u.base_lr[optimizer],
                   "gamma": u.gamma[optimizer][objective] if gamma is None else gamma,
                   "rho": rho_ if optimizer != "adamw" else 0.0, "seed": seed}
            out.append({"run_id": run_id(cfg), **cfg})

    def gammas(objective, optimizer):
        """Matched γ: every optimizer runs the union of the repo's FO and SO γ (issue 13: C1 at matched γ)."""
        if not u.matched_gamma:
            return [None]
        return sorted({u.gamma["adamw"][objective], u.gamma["sophia_soul"][objective]})

    for objective in u.objectives:
        for optimizer in u.optimizers:
            for m in u.lr_mults:
                for g in gammas(objective, optimizer):
                    add("main", objective, optimizer, m, u.seeds, gamma=g)
    for objective in u.ref_objectives:
        for m in u.ref_lr_mults:
            for g in gammas(objective, "sophia_ref"):
                add("ref_sophia", objective, "sophia_ref", m, ablation_seeds, gamma=g)
    if u.clip_rho is not None:  # near-total clipping (the 7B regime), same lr/γ grid as main
        for objective in u.clip_objectives:
            for m in u.lr_mults:
                for g in gammas(objective, "sophia_soul"):
                    add("clip", objective, "sophia_soul", m, ablation_seeds, gamma=g, rho_=u.clip_rho)
    for objective in u.extra_objectives:  # descriptive (GA+KL, PO+KL)
        for optimizer in u.optimizers:
            for m in u.lr_mults:
                for g in gammas(objective, optimizer):
                    add("extra", objective, optimizer, m, u.extra_seeds, gamma=g)
    if "graddiff" in u.objectives:
        for r in u.rho_sweep:
            add("rho_sweep", "graddiff", "sophia_soul", u.lr_mults[0], ablation_seeds, rho_=r)
        if u.gamma_swap:
            add("gamma_swap", "graddiff", "adamw", u.lr_mults[0], ablation_seeds, gamma=u.gamma["sophia_soul"]["graddiff"])
            add("gamma_swap", "graddiff", "sophia_soul", u.lr_mults[0], ablation_seeds,
                gamma=u.gamma["adamw"]["graddiff"])
    ids = [r["run_id"] for r in out]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate unlearning runs in the grid (check lr_mults / rho_sweep for repeats)")
    return out
