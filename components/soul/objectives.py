"""Unlearning objectives of spec §3.2, on a (forget, retain partner) micro-batch.

Each per-sample loss is the mean answer-token NLL (``npo_reduction='sum'`` sums it for NPO's
forget term, as reference NPO does); the batch loss is the mean over samples, which equals the
repo's micro-batch 1 × gradient accumulation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from components.soul.model import IGNORE, per_sample_nll

OBJECTIVES = ("ga", "graddiff", "npo", "po", "ga_kl", "po_kl")
KL_OBJECTIVES = ("ga_kl", "po_kl")  # retain term: KL(p_ref ‖ p_θ) on the retain partner (spec §3.2, D9/D10)


def per_sample_sum_nll(model, batch: dict) -> torch.Tensor:
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    labels = batch["labels"][:, 1:]
    tok = F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE,
                          reduction="none").view(labels.shape)
    return tok.sum(1)


def retain_kl(model, ref_model, batch: dict) -> torch.Tensor:
    """True KL(p_ref ‖ p_θ) per answer token (answer positions only, D9; with the entropy term, D10),
    averaged over a sample's answer tokens, then over samples."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    with torch.no_grad():
        ref_logits = ref_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    mask = (batch["labels"][:, 1:] != IGNORE).float()
    logp, logq = F.log_softmax(ref_logits, -1), F.log_softmax(logits, -1)
    kl = (logp.exp() * (logp - logq)).sum(-1)
    return ((kl * mask).sum(1) / mask.sum(1).clamp(min=1)).mean()


def npo_forget_term(loss_theta: torch.Tensor, loss_ref: torch.Tensor, beta: float) -> torch.Tensor:
    """−(2/β)·log σ(β·(L(θ) − L(θ_ref))), mean over samples; = (2/β)·ln 2 at θ = θ_ref."""
    return (-(2.0 / beta) * F.logsigmoid(beta * (loss_theta - loss_ref))).mean()


def unlearning_loss(objective: str, model, forget: dict, retain: dict, gamma: float, refusal: dict | None = None,
                    ref_model=None, npo_beta: float = 0.1, npo_reduction: str = "mean") -> dict[str, torch.Tensor]:
    """{'total', 'forget', 'retain'} for one step; ``total`` is what gets back-propagated."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}")
    if objective in ("po", "po_kl"):
        if refusal is None:
            raise ValueError("po needs the refusal batch (forget questions with refusal answers)")
        forget_term = per_sample_nll(model, refusal).mean()
    elif objective == "npo":
        if ref_model is None:
            raise ValueError("npo needs the frozen reference model")
        nll = per_sample_nll if npo_reduction == "mean" else per_sample_sum_nll
        with torch.no_grad():
            ref = nll(ref_model, forget)
        forget_term = npo_forget_term(nll(model, forget), ref, npo_beta)
    else:
        forget_term = -per_sample_nll(model, forget).mean()
    if objective == "ga" or gamma == 0:
        retain_term = torch.zeros((), dtype=forget_term.dtype)
    elif objective in KL_OBJECTIVES:
        if ref_model is None:
            raise ValueError(f"{objective} needs the frozen reference model")
        retain_term = retain_kl(model, ref_model, retain)
    else:
        retain_term = per_sample_nll(model, retain).mean()
    return {"total": forget_term + gamma * retain_term, "forget": forget_term, "retain": retain_term}


def npo_at_reference(beta: float) -> float:
    return 2.0 / beta * math.log(2.0)
