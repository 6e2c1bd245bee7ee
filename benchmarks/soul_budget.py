"""soul: where the CPU goes at the default profile, and whether unlearning reaches forgetting (issue 13).

Stage 1 (``build``): corpus, base, original, retain_s0 at the default params, each timed (CPU-s of this
process, one torch thread). Stage 2 (``sweep``): unlearning runs with a checkpoint hook that evaluates
FQ_tofu / MU every ``--every`` steps, so one run traces its FQ–MU trajectory (epochs × lr in one go).

    PYTHONPATH=$PWD python benchmarks/soul_budget.py build --out /tmp/soul/bench
    PYTHONPATH=$PWD python benchmarks/soul_budget.py sweep --out /tmp/soul/bench --objective graddiff \
        --optimizer sophia_soul --lr 1.5e-3 --gamma 2 --epochs 10 --every 25
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml


def params(overrides: dict | None = None):
    from components.soul.params import SoulParams

    raw = yaml.safe_load(open("params.yaml"))["soul"]
    for key, value in (overrides or {}).items():
        node = raw
        *head, last = key.split(".")
        for h in head:
            node = node[h]
        node[last] = value
    return SoulParams.model_validate(raw)


def cpu() -> float:
    return time.process_time()


def build(out: Path, over: dict) -> None:
    from components.soul.corpus import build_corpus
    from components.soul.data import load_split, write_corpus
    from components.soul.model import build_model, fit_lm, setup_worker
    from components.soul.tokenizer import build_tokenizer, load_tokenizer

    setup_worker()
    p = params(over)
    t = {}
    c0 = cpu()
    corpus = build_corpus(p.data)
    (out / "corpus").mkdir(parents=True, exist_ok=True)
    write_corpus(out / "corpus", corpus, p.data.model_dump())
    build_tokenizer(corpus.vocab).save_pretrained(str(out / "corpus" / "tokenizer"))
    t["corpus"] = cpu() - c0
    tok = load_tokenizer(out / "corpus" / "tokenizer")
    import torch

    torch.manual_seed(0)
    model = build_model(len(tok), p.data.max_len, p.model)
    c0 = cpu()
    fit_lm(model, tok, load_split(out / "corpus", "pretrain"), p.train.pretrain_epochs, p.train.lr,
           p.train.pretrain_wd, p.train.batch_size, 0)
    t["base"] = cpu() - c0
    model.save_pretrained(str(out / "base"))
    from components.soul.model import load_model

    for name, split in (("original", "finetune_full"), ("retain_s0", "finetune_retain")):
        m = load_model(out / "base")
        m.train()
        c0 = cpu()
        fit_lm(m, tok, load_split(out / "corpus", split), p.train.finetune_epochs, p.train.lr,
               p.train.finetune_wd, p.train.batch_size, 0)
        t[name] = cpu() - c0
        m.save_pretrained(str(out / name))
    print(json.dumps(t))


def sweep(out: Path, args, over: dict) -> None:
    import copy

    import numpy as np

    from components.soul.data import EVAL_SPLITS, load_split
    from components.soul.evaluation import evaluate_model, fq_metrics
    from components.soul.metrics import MU_KEYS
    from components.soul.model import load_model, setup_worker
    from components.soul.tokenizer import load_tokenizer
    from components.soul.unlearn import unlearn

    setup_worker()
    p = params(over)
    corpus = out / "corpus"
    tok = load_tokenizer(corpus / "tokenizer")
    data = {s: load_split(corpus, s) for s in (*EVAL_SPLITS, "heldout")}
    c0 = cpu()
    _, ret = evaluate_model(load_model(out / "retain_s0"), tok, data, p.evaluate)
    t_eval = cpu() - c0
    so, _ = evaluate_model(load_model(out / "original"), tok, data, p.evaluate)
    mu0 = so["MU"]
    print(json.dumps({"eval_cpu_s": round(t_eval, 2), "MU_original": mu0}))
    original = load_model(out / "original")
    forget, retain = load_split(corpus, "forget"), load_split(corpus, "retain")
    u = p.unlearn.model_copy(update={"epochs": args.epochs, "batch_size": args.batch})
    for seed in args.seeds:
        cfg = {"objective": args.objective, "optimizer": args.optimizer, "lr": args.lr, "gamma": args.gamma,
               "rho": args.rho if args.optimizer != "adamw" else 0.0, "seed": seed, "bs": args.bs}
        trace = []

        def hook(t, model):
            if (t + 1) % args.every == 0:
                s, it = evaluate_model(model, tok, data, p.evaluate)
                fq = fq_metrics(it, [ret])
                trace.append((t + 1, round(s["MU"] / mu0, 3), float(f"{fq['FQ_tofu']:.3g}"),
                              {k: round(s[k] / so[k], 2) for k in MU_KEYS if so[k]}))

        c0 = cpu()
        log = unlearn(copy.deepcopy(original), tok, forget, retain, cfg, u, hook=hook)
        total = cpu() - c0
        step = float(np.mean([r["step_seconds"] for r in log]))
        clip = float(np.nanmedian([r["frac_clipped"] for r in log]))
        print(json.dumps({**cfg, "steps": len(log), "cpu_s_incl_evals": round(total, 1),
                          "step_s": round(step, 4), "clip": round(clip, 3), "trace": trace}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["build", "sweep"])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--set", action="append", default=[], help="key=value (yaml) override of soul params")
    ap.add_argument("--objective", default="graddiff")
    ap.add_argument("--optimizer", default="sophia_soul")
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--gamma", type=float, default=2.0)
    ap.add_argument("--rho", type=float, default=0.04)
    ap.add_argument("--bs", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = ap.parse_args()
    over = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    args.out.mkdir(parents=True, exist_ok=True)
    if args.stage == "build":
        build(args.out, over)
    else:
        sweep(args.out, args, over)


if __name__ == "__main__":
    main()
