"""SciIE-mini (spec §3.2): span enumeration up to width W, shared span representations g_s, NER / relation /
coreference heads, beams, weighted multi-task loss; decoding. Plain ``torch.nn``; Lightning wraps it in
``training.py``. Every configuration builds *all* heads in one fixed order, so equal seeds give equal starts."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from components.sciie.params import CONFIGS  # noqa: F401 - re-exported (tests, callers)
from components.sciie.scierc import ENTITY_TYPES, RELATION_TYPES, sentence_offsets

ENT_IX = {t: i + 1 for i, t in enumerate(ENTITY_TYPES)}  # 0 = null
REL_IX = {t: i + 1 for i, t in enumerate(RELATION_TYPES)}
DIST_BUCKETS = (1, 2, 3, 4, 5, 8, 16, 32, 64)


def enumerate_spans(sent_lengths: list[int], W: int) -> list[tuple[int, int, int]]:
    """All (start, end, sentence) with end − start + 1 ≤ W inside each sentence; document-level indices."""
    out, o = [], 0
    for k, n in enumerate(sent_lengths):
        for i in range(n):
            for j in range(i, min(n, i + W)):
                out.append((o + i, o + j, k))
        o += n
    return out


def beam_size(n_spans: int, ratio: float, n_tokens: int) -> int:
    return max(1, min(n_spans, math.ceil(ratio * n_tokens)))


def dist_bucket(d: torch.Tensor) -> torch.Tensor:
    return torch.bucketize(d, torch.tensor(DIST_BUCKETS), right=True).clamp(max=len(DIST_BUCKETS)) - 1


class Vocab:
    def __init__(self, words: list[str]):
        self.itos = ["<pad>", "<unk>"] + sorted(set(words))
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def from_docs(cls, docs: list[dict]) -> "Vocab":
        return cls([t.lower() for d in docs for s in d["sentences"] for t in s])

    def ids(self, toks: list[str]) -> list[int]:
        return [self.stoi.get(t.lower(), 1) for t in toks]


@dataclass
class DocT:
    """A document as tensors plus its gold structures keyed by span index."""

    key: str
    ids: torch.Tensor            # (n_sent, max_len)
    lengths: list[int]
    n_tokens: int
    starts: torch.Tensor         # (S,)
    ends: torch.Tensor
    sent: torch.Tensor
    ner: torch.Tensor            # (S,) gold type index, 0 = null
    ner_observed: bool
    rel_gold: dict               # (i, j) span indices → relation index
    cluster: torch.Tensor        # (S,) gold cluster id or −1
    force_rel: list[int]         # span indices forced into the training beams
    force_coref: list[int]
    feats: torch.Tensor | None = None  # (n_tokens, d) frozen encoder vectors (minilm_frozen)
    # computed once per document, reused every step (the spans, lengths and masks never change)
    lengths_t: torch.Tensor | None = None    # (n_sent,) sentence lengths for packing
    tok_mask: torch.Tensor | None = None     # (n_sent, max_len) real tokens
    sent_spans: list | None = None           # per sentence: its span indices (a tensor)
    force_rel_sent: list | None = None       # per sentence: its forced relation-beam spans
    rev: torch.Tensor | None = None          # (n_sent, max_len) per-sentence token reversal (pads stay put)


def doc_tensors(doc: dict, vocab: Vocab, W: int, feats: torch.Tensor | None = None) -> DocT:
    lengths = [len(s) for s in doc["sentences"]]
    spans = enumerate_spans(lengths, W)
    index = {(s, e): i for i, (s, e, _) in enumerate(spans)}
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for k, s in enumerate(doc["sentences"]):
        ids[k, : len(s)] = torch.tensor(vocab.ids(s))
    ner = torch.zeros(len(spans), dtype=torch.long)
    for sent in doc.get("ner", []):
        for s, e, lab in sent:
            if (s, e) in index:
                ner[index[(s, e)]] = ENT_IX[lab]
    rel = {}
    for sent in doc.get("relations", []):
        for s1, e1, s2, e2, lab in sent:
            if (s1, e1) in index and (s2, e2) in index:
                rel[(index[(s1, e1)], index[(s2, e2)])] = REL_IX[lab]
    cluster = torch.full((len(spans),), -1, dtype=torch.long)
    cl_spans = []
    for c, cl in enumerate(doc.get("clusters", [])):
        for s, e in cl:
            if (s, e) in index:
                cluster[index[(s, e)]] = c
                cl_spans.append(index[(s, e)])
    observed = bool(doc.get("_ner_observed", True))
    args = sorted({i for pair in rel for i in pair})
    ent_spans = sorted(int(i) for i in torch.nonzero(ner).flatten())
    force_rel = sorted(set(ent_spans) | set(args)) if observed else args
    force_coref = sorted(set(ent_spans) | set(cl_spans)) if observed else sorted(set(args) | set(cl_spans))
    t = torch.tensor(spans, dtype=torch.long).reshape(-1, 3)
    lt = torch.tensor(lengths)
    pos = torch.arange(ids.shape[1])[None, :]
    tok_mask = pos < lt[:, None]
    rev = torch.where(tok_mask, lt[:, None] - 1 - pos, pos)
    sent_spans = [torch.nonzero(t[:, 2] == k).flatten() for k in range(len(lengths))]
    by_sent = [[] for _ in lengths]
    for i in force_rel:
        by_sent[spans[i][2]].append(i)
    return DocT(doc["doc_key"], ids, lengths, sum(lengths), t[:, 0], t[:, 1], t[:, 2], ner, observed, rel, cluster,
                force_rel, force_coref, feats, lt, tok_mask, sent_spans, by_sent, rev)


def _ffnn(d_in: int, hidden: int, out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out))


class SciIEMini(nn.Module):
    def __init__(self, vocab_size: int, *, encoder: str = "bilstm", emb_dim: int = 64, hidden: int = 64,
                 width_dim: int = 16, ffnn: int = 100, dropout: float = 0.2, max_width: int = 4,
                 rho_r: float = 0.4, rho_c: float = 0.3, max_antecedents: int = 30, feat_dim: int = 384,
                 gold_mentions_in_beam: bool = True, loss_reduction: str = "sum"):
        super().__init__()
        self.encoder_kind, self.W, self.rho_r, self.rho_c, self.K = encoder, max_width, rho_r, rho_c, max_antecedents
        self.gold_in_beam, self.reduction = gold_mentions_in_beam, loss_reduction
        H = 2 * hidden
        # construction order is fixed: encoder, span parts, NER, relation, coreference (pairing rule, §3.2)
        if encoder == "bilstm":
            self.emb = nn.Embedding(vocab_size, emb_dim, padding_idx=0)
            self.lstm = nn.LSTM(emb_dim, hidden, batch_first=True, bidirectional=True)
            e_dim = emb_dim
        elif encoder == "minilm_frozen":
            self.proj = nn.Linear(feat_dim, H)
            e_dim = H
        else:
            raise ValueError(f"unknown encoder {encoder!r}")
        self.drop = nn.Dropout(dropout)
        self.width_emb = nn.Embedding(max_width, width_dim)
        self.head_att = nn.Linear(H, 1)
        D = 2 * H + e_dim + width_dim
        self.span_dim = D
        self.ner_head = _ffnn(D, ffnn, len(ENTITY_TYPES), dropout)
        self.mention_r = _ffnn(D, ffnn, 1, dropout)
        self.rel_head = _ffnn(3 * D, ffnn, len(RELATION_TYPES), dropout)
        self.mention_c = _ffnn(D, ffnn, 1, dropout)
        self.dist_emb = nn.Embedding(len(DIST_BUCKETS), width_dim)
        self.coref_head = _ffnn(3 * D + width_dim, ffnn, 1, dropout)

    def encoder_parameters(self):
        names = ("emb", "lstm", "proj", "width_emb", "head_att")
        return [p for n, p in self.named_parameters() if n.split(".")[0] in names]

    # ------------------------------------------------------------ representations
    def encode(self, d: DocT) -> tuple[torch.Tensor, torch.Tensor]:
        if self.encoder_kind == "bilstm":
            x = self.drop(self.emb(d.ids))
            return self.bilstm(x, d)[d.tok_mask], x[d.tok_mask]
        h = self.drop(self.proj(d.feats))
        return h, h

    def bilstm(self, x: torch.Tensor, d: DocT) -> torch.Tensor:
        """``self.lstm`` over each sentence, as a packed sequence would run it, from two padded one-direction
        passes: forward over the sentences as they are (padding comes last, so real positions never see it),
        backward over each sentence reversed in place. Same function (tested), but the padded kernels run
        forward + backward ≈ 4× faster on CPU than the packed path (2.1 vs 8.1 ms for a 4-sentence document,
        measured; the LSTM was most of a training step's CPU)."""
        L = self.lstm
        B, H = x.shape[0], L.hidden_size
        h0 = x.new_zeros(1, B, H)
        fwd = torch.lstm(x, (h0, h0), [L.weight_ih_l0, L.weight_hh_l0, L.bias_ih_l0, L.bias_hh_l0],
                         True, 1, 0.0, self.training, False, True)[0]
        rev = d.rev[:, :, None]
        xr = x.gather(1, rev.expand(-1, -1, x.shape[2]))
        bwd = torch.lstm(xr, (h0, h0), [L.weight_ih_l0_reverse, L.weight_hh_l0_reverse, L.bias_ih_l0_reverse,
                                        L.bias_hh_l0_reverse], True, 1, 0.0, self.training, False, True)[0]
        return torch.cat([fwd, bwd.gather(1, rev.expand(-1, -1, H))], -1)

    def spans(self, d: DocT) -> torch.Tensor:
        h, e = self.encode(d)
        width = d.ends - d.starts
        idx = d.starts[:, None] + torch.arange(self.W)[None, :]
        valid = idx <= d.ends[:, None]
        idx = torch.where(valid, idx, d.starts[:, None])
        a = self.head_att(h).squeeze(-1)[idx].masked_fill(~valid, float("-inf"))
        head = (torch.softmax(a, -1).unsqueeze(-1) * e[idx]).sum(1)
        g = torch.cat([h[d.starts], h[d.ends], head, self.width_emb(width)], -1)
        return self.drop(g)

    # ------------------------------------------------------------ beams
    def relation_beam(self, d: DocT, score: torch.Tensor, forced: bool) -> list[list[int]]:
        """Per sentence: the top ⌈ρ_R · n_sent⌉ spans by mention score (+ gold spans when ``forced``)."""
        out = []
        for k, n in enumerate(d.lengths):
            ix = d.sent_spans[k]
            kb = beam_size(len(ix), self.rho_r, n)
            keep = set(ix[torch.topk(score[ix], kb).indices].tolist())
            if forced:
                keep.update(d.force_rel_sent[k])
            out.append(sorted(keep))
        return out

    def coref_beam(self, d: DocT, score: torch.Tensor, forced: bool) -> list[int]:
        kb = beam_size(len(score), self.rho_c, d.n_tokens)
        keep = set(torch.topk(score, kb).indices.tolist())
        if forced:
            keep |= set(d.force_coref)
        return sorted(keep)  # span index order = textual order (start, then end)

    # ------------------------------------------------------------ heads
    def ner_logits(self, g):
        return torch.cat([g.new_zeros(len(g), 1), self.ner_head(g)], -1)

    def _pair_ffnn(self, head: nn.Sequential, g: torch.Tensor, kept: torch.Tensor, a: torch.Tensor,
                   b: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """``head(cat[g_a; g_b; g_a ⊙ g_b; extra])`` for pairs (a, b) given as positions in ``kept``.

        The first linear layer is split by input block: W·[x; y; x⊙y; z] = W_x·x + W_y·y + W_p·(x⊙y) + W_z·z;
        W_x·x and W_y·y are computed once per kept span instead of once per pair (same function, ~3× fewer
        multiply-adds in the pair layer)."""
        lin, D = head[0], g.shape[1]
        W, F = lin.weight, lin.weight.shape[0]
        gk = g[kept]
        xy = nn.functional.linear(gk, torch.cat([W[:, :D], W[:, D: 2 * D]]))  # (U, 2F): [W_x·g | W_y·g]
        ga, gb = gk[a], gk[b]
        h = xy[a, :F] + xy[b, F:] + nn.functional.linear(ga * gb, W[:, 2 * D: 3 * D], lin.bias)
        if extra is not None:
            h = h + extra
        for layer in head[1:]:
            h = layer(h)
        return h

    def rel_scores(self, g, beams, mr: torch.Tensor | None = None):
        """Pair logits (null first) for every ordered pair of beam spans in the same sentence; ``mr``: the mention
        scores if already computed (the beam needs them too: one FFNN pass instead of two)."""
        mr = self.mention_r(g).squeeze(-1) if mr is None else mr
        pi, pj = [], []
        for kept in beams:
            for a in kept:
                for b in kept:
                    if a != b:
                        pi.append(a)
                        pj.append(b)
        if not pi:
            return None, [], []
        kept = sorted({i for k in beams for i in k})
        pos = {i: n for n, i in enumerate(kept)}
        kept_t = torch.tensor(kept)
        a, b = torch.tensor([pos[i] for i in pi]), torch.tensor([pos[j] for j in pj])
        s = self._pair_ffnn(self.rel_head, g, kept_t, a, b) + (mr[kept_t[a]] + mr[kept_t[b]])[:, None]
        return torch.cat([s.new_zeros(len(s), 1), s], -1), pi, pj

    def coref_scores(self, g, kept: list[int], mc: torch.Tensor | None = None):
        mc = self.mention_c(g).squeeze(-1) if mc is None else mc
        M = len(kept)
        K = min(self.K, max(M - 1, 0))
        kept_t = torch.tensor(kept, dtype=torch.long)
        if K == 0:
            return g.new_zeros(M, 1), torch.zeros(M, 0, dtype=torch.long), torch.zeros(M, 0, dtype=torch.bool)
        pos = torch.arange(M)[:, None] - torch.arange(1, K + 1)[None, :]
        valid = pos >= 0
        pos = pos.clamp(min=0)
        row = torch.arange(M)[:, None].expand(M, K)[valid]   # position of the mention in ``kept``
        col = pos[valid]                                     # position of its antecedent
        D = g.shape[1]
        # distance features: W_d · φ_d computed per bucket (10 rows), then gathered per pair
        wd = nn.functional.linear(self.dist_emb.weight, self.coref_head[0].weight[:, 3 * D:])
        dist = wd[dist_bucket(row - col)]
        pair = self._pair_ffnn(self.coref_head, g, kept_t, row, col, dist).squeeze(-1)
        pair = pair + mc[kept_t[row]] + mc[kept_t[col]]
        scores = g.new_full((M, K), float("-inf"))
        scores[valid] = pair
        return torch.cat([g.new_zeros(M, 1), scores], -1), kept_t[pos], valid

    # ------------------------------------------------------------ loss and decoding
    def loss(self, d: DocT, weights: tuple[float, float, float]) -> dict:
        wE, wR, wC = weights
        if not ((wE > 0 and d.ner_observed) or wR > 0 or wC > 0):  # nothing to learn here (regime B, `ner`)
            return {"loss": torch.zeros(())}
        g = self.spans(d)
        red = (lambda x: x.sum()) if self.reduction == "sum" else (lambda x: x.mean())
        out = {}
        total = g.new_zeros(())
        if wE > 0 and d.ner_observed:
            le = red(nn.functional.cross_entropy(self.ner_logits(g), d.ner, reduction="none"))
            out["loss_ner"] = le
            total = total + wE * le
        if wR > 0:
            mr = self.mention_r(g).squeeze(-1)
            beams = self.relation_beam(d, mr.detach(), self.gold_in_beam)
            s, pi, pj = self.rel_scores(g, beams, mr)
            if s is not None:
                y = torch.tensor([d.rel_gold.get((a, b), 0) for a, b in zip(pi, pj)])
                lr = red(nn.functional.cross_entropy(s, y, reduction="none"))
                out["loss_rel"] = lr
                total = total + wR * lr
        if wC > 0:
            mc = self.mention_c(g).squeeze(-1)
            kept = self.coref_beam(d, mc.detach(), self.gold_in_beam)
            scores, ante, valid = self.coref_scores(g, kept, mc)
            cid = d.cluster[torch.tensor(kept)]
            gold = valid & (cid[:, None] >= 0) & (d.cluster[ante] == cid[:, None]) if ante.numel() else valid
            gold = torch.cat([~gold.any(1, keepdim=True), gold], 1)
            lc = red(torch.logsumexp(scores, 1) - torch.logsumexp(scores.masked_fill(~gold, float("-inf")), 1))
            out["loss_coref"] = lc
            total = total + wC * lc
        out["loss"] = total
        return out

    @torch.no_grad()
    def predict(self, d: DocT, tasks: tuple[bool, bool, bool]) -> dict:
        """Predictions in SciERC layout (``predicted_ner`` per sentence, ``predicted_relations`` per sentence,
        ``predicted_clusters``) for the trained tasks; an untrained task predicts nothing."""
        from components.sciie.metrics import canonical_symmetric

        was = self.training
        self.eval()
        g = self.spans(d)
        st, en, se = d.starts.tolist(), d.ends.tolist(), d.sent.tolist()
        ner = [[] for _ in d.lengths]
        rels = [[] for _ in d.lengths]
        clusters = []
        overlaps = 0
        if tasks[0]:
            lab = self.ner_logits(g).argmax(-1).tolist()
            for i, l in enumerate(lab):
                if l:
                    ner[se[i]].append([st[i], en[i], ENTITY_TYPES[l - 1]])
            for sent in ner:
                sp = sorted((s, e) for s, e, _ in sent)
                overlaps += sum(1 for a, b in zip(sp, sp[1:]) if b[0] <= a[1])
        if tasks[1]:
            mr = self.mention_r(g).squeeze(-1)
            s, pi, pj = self.rel_scores(g, self.relation_beam(d, mr, False), mr)
            if s is not None:
                for a, b, l in zip(pi, pj, s.argmax(-1).tolist()):
                    if l:
                        rels[se[a]].append([st[a], en[a], st[b], en[b], RELATION_TYPES[l - 1]])
            rels = [canonical_symmetric(r) for r in rels]
        if tasks[2]:
            mc = self.mention_c(g).squeeze(-1)
            kept = self.coref_beam(d, mc, False)
            scores, ante, _ = self.coref_scores(g, kept, mc)
            best = scores.argmax(-1).tolist()
            links = [(kept[i], int(ante[i, b - 1])) for i, b in enumerate(best) if b > 0]
            clusters = [[[st[i], en[i]] for i in c] for c in decode_clusters(links)]
        self.train(was)
        return {"predicted_ner": ner, "predicted_relations": rels, "predicted_clusters": clusters,
                "_ner_overlaps": overlaps}


def decode_clusters(links: list[tuple]) -> list[list]:
    """Antecedent links (mention → antecedent) → clusters by transitive closure; singletons never appear
    (a mention without a link is dropped). Clusters and their mentions are sorted."""
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for m, a in links:
        ra, rm = find(a), find(m)
        if ra != rm:
            parent[rm] = ra
    groups: dict = {}
    for x in list(parent):
        groups.setdefault(find(x), []).append(x)
    return sorted(sorted(v) for v in groups.values() if len(v) >= 2)
