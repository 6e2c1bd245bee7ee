"""One unlearning run: a plain torch loop over (forget, retain-partner) batches.

Plain torch rather than Lightning because every step needs what Lightning hides: the pre-clip
grad norm, the optimiser's ``frac_clipped`` after the step, the sophia_ref GNB refresh between
steps (a second forward/backward with sampled labels), and the exact HF-Trainer schedule.
"""

from __future__ import annotations

import copy
import random
import time

import numpy as np

from components.soul.model import IGNORE, collate, encode_qa, lr_lambda


def pairing(n_forget: int, n_retain: int, epochs: int, batch_size: int, seed: int,
            max_steps: int | None = None) -> list[list[tuple[int, int]]]:
    """The run's step list: each step a list of (forget index, retain partner) pairs.

    A private generator seeded by the run (never the global RNG, D11), computed up front, so the
    pairing is identical for the same seed however data are loaded.
    """
    rng = np.random.default_rng(seed)
    steps_total = (epochs * n_forget) // batch_size
    if max_steps is not None:
        steps_total = min(steps_total, max_steps)
    order = np.concatenate([rng.permutation(n_forget) for _ in range(epochs)])
    partners = rng.integers(0, n_retain, size=len(order))
    return [[(int(order[i]), int(partners[i])) for i in range(s * batch_size, (s + 1) * batch_size)]
            for s in range(max(1, steps_total))]


def warmup_steps(total: int) -> int:
    return max(1, total // 10)


def gnb_loss(model, batch: dict, generator):
    """Mean CE against labels sampled from the model's own softmax at the answer positions (GNB)."""
    import torch.nn.functional as F

    from components.soul.optimizers import gnb_labels

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    mask = batch["labels"][:, 1:] != IGNORE
    sampled = gnb_labels(logits, generator)
    sampled = sampled.masked_fill(~mask, IGNORE)
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), sampled.reshape(-1), ignore_index=IGNORE)


def unlearn(model, tok, forget: list[dict], retain: list[dict], cfg: dict, u, hook=None) -> list[dict]:
    """Unlearn in place; returns the per-step diagnostics of spec §6.4. ``u`` is ``soul.unlearn``.

    ``sophia_ref`` follows the reference loop (Liuhong99/Sophia ``train_sophiag.py``): the GNB Hessian
    refresh runs *after* the update on steps t ≡ k−1 (mod k), on the next step's batch, and its gradient
    is clipped to ``grad_clip`` before ``update_hessian`` (so h = 0, i.e. sign updates, for the first k
    steps). ``u.sophia.ref_schedule = 'before'`` restores the former refresh-before-step-at-t≡0, unclipped.
    ``hook(t, model)`` (optional) is called after step t, e.g. to evaluate checkpoints.
    """
    import torch

    from components.soul.objectives import KL_OBJECTIVES, unlearning_loss
    from components.soul.optimizers import SophiaRef, make_optimizer

    seed = cfg["seed"]
    torch.manual_seed(seed)
    random.seed(seed)
    sophia = u.sophia.model_copy(update={"rho": cfg["rho"]}) if cfg["optimizer"] != "adamw" else u.sophia
    if cfg.get("bs") is not None and cfg["optimizer"] == "sophia_soul":
        sophia = sophia.model_copy(update={"bs": cfg["bs"]})
    steps = pairing(len(forget), len(retain), u.epochs, u.batch_size, seed, u.max_steps)
    total = len(steps)
    opt = make_optimizer(cfg["optimizer"], model, cfg["lr"], u.wd, sophia)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(warmup_steps(total), total))
    ref_model = None
    if cfg["objective"] in ("npo", *KL_OBJECTIVES):  # only NPO and the KL variants keep a frozen copy (D14)
        ref_model = copy.deepcopy(model).eval()
        for p in ref_model.parameters():
            p.requires_grad_(False)
    enc_f = [encode_qa(tok, r["question"], r["answer"]) for r in forget]
    enc_r = [encode_qa(tok, r["question"], r["answer"]) for r in retain]
    enc_po = [encode_qa(tok, r["question"], r["refusal"]) for r in forget]
    uses_refusal = cfg["objective"] in ("po", "po_kl")
    gen = torch.Generator().manual_seed(seed)
    k = u.sophia.hessian_every
    after = getattr(u.sophia, "ref_schedule", "after") == "after"
    is_ref = cfg["optimizer"] == "sophia_ref"

    def refresh(pairs_):
        opt.zero_grad(set_to_none=True)
        both = collate([enc_f[i] for i, _ in pairs_] + [enc_r[j] for _, j in pairs_], tok.pad_token_id)
        gnb_loss(model, both, gen).backward()
        if after:  # the reference clips the GNB gradient like the training gradient
            torch.nn.utils.clip_grad_norm_(model.parameters(), u.grad_clip)
        opt.update_hessian()
        opt.zero_grad(set_to_none=True)

    model.train()
    log = []
    for t, pairs in enumerate(steps):
        start = time.perf_counter()
        fb = collate([enc_f[i] for i, _ in pairs], tok.pad_token_id)
        rb = collate([enc_r[j] for _, j in pairs], tok.pad_token_id)
        pb = collate([enc_po[i] for i, _ in pairs], tok.pad_token_id) if uses_refusal else None
        if is_ref and not after and t % k == 0:
            refresh(pairs)
        opt.zero_grad(set_to_none=True)
        losses = unlearning_loss(cfg["objective"], model, fb, rb, cfg["gamma"], pb, ref_model, u.npo_beta,
                                 u.npo_reduction)
        losses["total"].backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), u.grad_clip))
        lr_now = opt.param_groups[0]["lr"]
        if isinstance(opt, SophiaRef):
            loss_tokens = int((fb["labels"] != IGNORE).sum() + (rb["labels"] != IGNORE).sum())
            opt.step(bs=loss_tokens)
        else:
            opt.step()
        sched.step()
        if is_ref and after and t % k == k - 1:
            refresh(steps[t + 1] if t + 1 < total else pairs)  # the reference samples on the next batch
        log.append({"step": t, "loss_total": float(losses["total"].detach()),
                    "loss_forget": float(losses["forget"].detach()), "loss_retain": float(losses["retain"].detach()),
                    "lr": lr_now, "grad_norm_preclip": grad_norm,
                    "frac_clipped": float(getattr(opt, "frac_clipped", float("nan"))),
                    "step_seconds": time.perf_counter() - start})
        if hook is not None:
            model.eval()
            hook(t, model)
            model.train()
    model.eval()
    return log
