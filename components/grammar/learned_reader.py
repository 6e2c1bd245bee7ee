"""Reader (b): a small span extractor trained from scratch with PyTorch Lightning (spec §5.3).

Input ``[query] [SEP] [document]`` as word ids plus a segment id and an "occurs in the query" flag per
token; a 2-layer Transformer encoder; start/end heads over document positions. Entity names are kept out
of the vocabulary (they are ``[UNK]``) so the reader must find answers from context, as it has to on the
evaluation DB whose names it never saw. Trained on short queries only, so long queries are a shift.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

WORD = re.compile(r"\w+|[^\w\s]")
PAD, UNK, SEP = 0, 1, 2
MAX_QUERY = 64
MAX_SPAN = 8


def words(text: str) -> list[str]:
    return WORD.findall(text)


def build_vocab(texts: list[str], names: set[str], min_count: int = 2) -> dict[str, int]:
    name_tokens = {w.lower() for n in names for w in words(n)}
    counts = Counter(w.lower() for t in texts for w in words(t))
    vocab = {"[PAD]": PAD, "[UNK]": UNK, "[SEP]": SEP}
    for w, c in sorted(counts.items()):
        if c >= min_count and w not in name_tokens:
            vocab[w] = len(vocab)
    return vocab


def encode_pair(query: str, document: str, vocab: dict[str, int], max_len: int):
    """(ids, segment, in_query, doc_offset, doc_words) for one pair, truncated to ``max_len``."""
    q = words(query)[-MAX_QUERY:]
    d = words(document)[: max(1, max_len - len(q) - 1)]
    qset = {w.lower() for w in q}
    ids = [vocab.get(w.lower(), UNK) for w in q] + [SEP] + [vocab.get(w.lower(), UNK) for w in d]
    seg = [0] * (len(q) + 1) + [1] * len(d)
    inq = [0] * (len(q) + 1) + [int(w.lower() in qset) for w in d]
    return ids, seg, inq, len(q) + 1, d


def answer_span(doc_words: list[str], answer: str) -> tuple[int, int] | None:
    target = [w.lower() for w in words(answer)]
    low = [w.lower() for w in doc_words]
    for i in range(len(low) - len(target) + 1):
        if low[i:i + len(target)] == target:
            return i, i + len(target) - 1
    return None


def tensorise(pairs: list[tuple[str, str]], vocab: dict[str, int], max_len: int, answers: list[str] | None = None):
    """Padded arrays; with ``answers`` also start/end labels (pairs without the answer are dropped)."""
    rows, keep = [], []
    for i, (q, d) in enumerate(pairs):
        ids, seg, inq, off, dw = encode_pair(q, d, vocab, max_len)
        span = None
        if answers is not None:
            span = answer_span(dw, answers[i])
            if span is None:
                continue
        rows.append((ids, seg, inq, off, dw, span))
        keep.append(i)
    n = len(rows)
    arr = {k: np.zeros((n, max_len), dtype=np.int64) for k in ("ids", "seg", "inq")}
    mask = np.zeros((n, max_len), dtype=bool)  # answer-able positions (document tokens)
    start = np.zeros(n, dtype=np.int64)
    end = np.zeros(n, dtype=np.int64)
    for r, (ids, seg, inq, off, dw, span) in enumerate(rows):
        arr["ids"][r, :len(ids)], arr["seg"][r, :len(seg)], arr["inq"][r, :len(inq)] = ids, seg, inq
        mask[r, off:len(ids)] = True
        if span is not None:
            start[r], end[r] = off + span[0], off + span[1]
    meta = [(off, dw) for _, _, _, off, dw, _ in rows]
    width = max((len(r[0]) for r in rows), default=1)  # trim padding: attention cost grows with width²
    arr = {k: v[:, :width] for k, v in arr.items()}
    return arr, mask[:, :width], start, end, meta, keep


def make_module(vocab_size: int, cfg):
    """The LightningModule (built lazily: importing Lightning costs seconds)."""
    import pytorch_lightning as pl
    import torch
    from torch import nn

    class SpanReader(pl.LightningModule):
        def __init__(self, vocab_size: int, d_model: int, heads: int, layers: int, max_len: int, lr: float,
                     dropout: float):
            super().__init__()
            self.save_hyperparameters()
            self.tok = nn.Embedding(vocab_size, d_model, padding_idx=PAD)
            self.pos = nn.Embedding(max_len, d_model)
            self.seg = nn.Embedding(2, d_model)
            self.inq = nn.Embedding(2, d_model)
            layer = nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.head = nn.Linear(d_model, 2)
            self.epoch_losses: list[float] = []

        def forward(self, ids, seg, inq, mask):
            pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
            h = self.tok(ids) + self.pos(pos) + self.seg(seg) + self.inq(inq)
            h = self.encoder(h, src_key_padding_mask=ids == PAD)
            logits = self.head(h).masked_fill(~mask.unsqueeze(-1), -1e4)
            return logits[..., 0], logits[..., 1]

        def _loss(self, batch):
            ids, seg, inq, mask, start, end = batch
            s, e = self(ids, seg, inq, mask)
            return nn.functional.cross_entropy(s, start) + nn.functional.cross_entropy(e, end)

        def training_step(self, batch, _):
            loss = self._loss(batch)
            self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=False)
            return loss

        def on_train_epoch_end(self):
            loss = self.trainer.callback_metrics.get("train_loss")
            if loss is not None:
                self.epoch_losses.append(float(loss))

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr)

    return SpanReader(vocab_size, cfg.d_model, cfg.heads, cfg.layers, cfg.max_len, cfg.lr, cfg.dropout)


def loader(arr, mask, start, end, batch_size: int, shuffle: bool, seed: int = 0):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    ds = TensorDataset(*(torch.as_tensor(arr[k]) for k in ("ids", "seg", "inq")), torch.as_tensor(mask),
                       torch.as_tensor(start), torch.as_tensor(end))
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=torch.Generator().manual_seed(seed))


def decode(start_logits: np.ndarray, end_logits: np.ndarray, meta) -> list[str]:
    """Best span (start ≤ end < start + MAX_SPAN) per row, as the original document words."""
    out = []
    for r, (off, dw) in enumerate(meta):
        n = len(dw)
        s = start_logits[r, off:off + n]
        e = end_logits[r, off:off + n]
        score = s[:, None] + e[None, :]
        i, j = np.indices(score.shape)
        score[(j < i) | (j >= i + MAX_SPAN)] = -np.inf
        a, b = np.unravel_index(int(np.argmax(score)), score.shape)
        out.append(" ".join(dw[a:b + 1]))
    return out


def predict(module, vocab, pairs: list[tuple[str, str]], max_len: int, dropout: bool = False, seed: int = 0,
            batch_size: int = 128) -> list[str]:
    """Answers for (query, document) pairs; ``dropout=True`` samples with MC dropout (SelfCheck baseline).

    Pairs are batched by length so each batch is padded only to its own longest pair.
    """
    import torch

    torch.manual_seed(seed)
    module.train(dropout)
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    out: list[str] = [""] * len(pairs)
    with torch.no_grad():
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            arr, mask, _, _, meta, _ = tensorise([pairs[j] for j in idx], vocab, max_len)
            s, e = module(*(torch.as_tensor(arr[k]) for k in ("ids", "seg", "inq")), torch.as_tensor(mask))
            for j, answer in zip(idx, decode(s.numpy(), e.numpy(), meta)):
                out[j] = answer
    module.eval()
    return out
