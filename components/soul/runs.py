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

    for objective in u.objectives:
        for optimizer in u.optimizers:
            for m in u.lr_mults:
                add("main", objective, optimizer, m, u.seeds)
    for objective in u.ref_objectives:
        for m in u.ref_lr_mults:
            add("ref_sophia", objective, "sophia_ref", m, ablation_seeds)
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
