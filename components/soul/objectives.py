"""Unlearning objectives of spec §3.2, on a (forget, retain partner) micro-batch.

Each per-sample loss is the mean answer-token NLL (``npo_reduction='sum'`` sums it for NPO's
forget term, as reference NPO does); the batch loss is the mean over samples, which equals the
repo's micro-batch 1 × gradient accumulation.

The model's forget-side and retain batches go through ONE forward pass (rows stacked, right-padded
to a common width): causal attention never looks at the right padding, so each row's logits are
those of its own batch, and one pass of 8 rows costs ~60 % of two passes of 4 (measured, issue 13
budget). The loss is the same sum of terms; only float rounding of the matmuls differs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from components.soul.model import IGNORE

OBJECTIVES = ("ga", "graddiff", "npo", "po", "ga_kl", "po_kl")
KL_OBJECTIVES = ("ga_kl", "po_kl")  # retain term: KL(p_ref ‖ p_θ) on the retain partner (spec §3.2, D9/D10)


def _pad_to(t: torch.Tensor, width: int, value: int) -> torch.Tensor:
    return F.pad(t, (0, width - t.size(1)), value=value)


def stack_batches(batches: list[dict]) -> dict:
    """Rows of several right-padded batches as one batch (padding: mask 0, label −100, id 0)."""
    width = max(b["input_ids"].size(1) for b in batches)
    return {"input_ids": torch.cat([_pad_to(b["input_ids"], width, 0) for b in batches]),
            "attention_mask": torch.cat([_pad_to(b["attention_mask"], width, 0) for b in batches]),
            "labels": torch.cat([_pad_to(b["labels"], width, IGNORE) for b in batches])}


def joint_logits(model, batches: list[dict]) -> list[torch.Tensor]:
    """One forward over the stacked batches; each batch's next-token logits (rows, its width − 1, vocab)."""
    both = stack_batches(batches)
    logits = model(input_ids=both["input_ids"], attention_mask=both["attention_mask"]).logits[:, :-1]
    out, row = [], 0
    for b in batches:
        n, w = b["input_ids"].shape
        out.append(logits[row:row + n, :w - 1])
        row += n
    return out


def token_nll(logits: torch.Tensor, batch: dict) -> torch.Tensor:
    """Answer-token NLL, shape (rows, width − 1), 0 at ignored positions."""
    labels = batch["labels"][:, 1:]
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE,
                           reduction="none").view(labels.shape)


def nll_from_logits(logits: torch.Tensor, batch: dict, reduction: str = "mean") -> torch.Tensor:
    """Per-sample answer NLL: mean over answer tokens (the spec's L) or their sum (reference NPO)."""
    tok = token_nll(logits, batch)
    if reduction == "sum":
        return tok.sum(1)
    return tok.sum(1) / (batch["labels"][:, 1:] != IGNORE).sum(1).clamp(min=1)


def kl_from_logits(logits: torch.Tensor, ref_logits: torch.Tensor, batch: dict) -> torch.Tensor:
    """True KL(p_ref ‖ p_θ) per answer token (answer positions only, D9; with the entropy term, D10),
    averaged over a sample's answer tokens, then over samples."""
    mask = (batch["labels"][:, 1:] != IGNORE).float()
    logp, logq = F.log_softmax(ref_logits, -1), F.log_softmax(logits, -1)
    kl = (logp.exp() * (logp - logq)).sum(-1)
    return ((kl * mask).sum(1) / mask.sum(1).clamp(min=1)).mean()


def retain_kl(model, ref_model, batch: dict) -> torch.Tensor:
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    with torch.no_grad():
        ref_logits = ref_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    return kl_from_logits(logits, ref_logits, batch)


def npo_forget_term(loss_theta: torch.Tensor, loss_ref: torch.Tensor, beta: float) -> torch.Tensor:
    """−(2/β)·log σ(β·(L(θ) − L(θ_ref))), mean over samples; = (2/β)·ln 2 at θ = θ_ref."""
    return (-(2.0 / beta) * F.logsigmoid(beta * (loss_theta - loss_ref))).mean()


def unlearning_loss(objective: str, model, forget: dict, retain: dict, gamma: float, refusal: dict | None = None,
                    ref_model=None, npo_beta: float = 0.1, npo_reduction: str = "mean") -> dict[str, torch.Tensor]:
    """{'total', 'forget', 'retain'} for one step; ``total`` is what gets back-propagated."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}")
    if objective in ("po", "po_kl") and refusal is None:
        raise ValueError("po needs the refusal batch (forget questions with refusal answers)")
    if objective == "npo" and ref_model is None:
        raise ValueError("npo needs the frozen reference model")
    if objective in KL_OBJECTIVES and ref_model is None:
        raise ValueError(f"{objective} needs the frozen reference model")
    front = refusal if objective in ("po", "po_kl") else forget  # the batch the forget term is computed on
    use_retain = objective != "ga" and gamma != 0
    logits = joint_logits(model, [front, retain] if use_retain else [front])
    reduction = npo_reduction if objective == "npo" else "mean"
    nll = nll_from_logits(logits[0], front, reduction)
    if objective in ("po", "po_kl"):
        forget_term = nll.mean()
    elif objective == "npo":
        with torch.no_grad():
            ref_logits = ref_model(input_ids=forget["input_ids"], attention_mask=forget["attention_mask"]).logits[:, :-1]
            ref = nll_from_logits(ref_logits, forget, reduction)
        forget_term = npo_forget_term(nll, ref, npo_beta)
    else:
        forget_term = -nll.mean()
    if not use_retain:
        retain_term = torch.zeros((), dtype=forget_term.dtype)
    elif objective in KL_OBJECTIVES:
        with torch.no_grad():
            ref_logits = ref_model(input_ids=retain["input_ids"], attention_mask=retain["attention_mask"]).logits[:, :-1]
        retain_term = kl_from_logits(logits[1], ref_logits, retain)
    else:
        retain_term = nll_from_logits(logits[1], retain).mean()
    return {"total": forget_term + gamma * retain_term, "forget": forget_term, "retain": retain_term}


def npo_at_reference(beta: float) -> float:
    return 2.0 / beta * math.log(2.0)
