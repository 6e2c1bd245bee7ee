"""§9.5–§9.10: span enumeration, loss wiring, beams, overfit, 1-token sentences, cluster decoding."""

import math

import pytest
import torch

from components.sciie.model import (CONFIGS, SciIEMini, Vocab, beam_size, decode_clusters, doc_tensors,
                                    enumerate_spans)
from components.sciie import synth as S

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def docs():
    w = S.build_world(0, S.GenParams())
    d, _ = S.generate_docs(w, S.GenParams(), 5, 3, "t")
    return d


def _model(docs, seed=0, **kw):
    v = Vocab.from_docs(docs)
    torch.manual_seed(seed)
    return SciIEMini(len(v.itos), **kw), [doc_tensors(d, v, 4) for d in docs]


def test_span_enumeration():
    assert len(enumerate_spans([10], 8)) == 52
    assert len(enumerate_spans([3], 4)) == 6
    assert len(enumerate_spans([1], 4)) == 1
    assert enumerate_spans([1, 2], 4) == [(0, 0, 0), (1, 1, 1), (1, 2, 1), (2, 2, 1)]


def _grads(m):
    return {n: (p.grad is not None and bool(p.grad.abs().sum() > 0)) for n, p in m.named_parameters()}


def test_loss_wiring_and_identical_starts(docs):
    m, dt = _model(docs)
    m.loss(dt[0], CONFIGS["ner"])["loss"].backward()
    g = _grads(m)
    assert not any(g[n] for n in g if n.startswith(("mention_r", "rel_head", "mention_c", "coref_head", "dist_emb")))
    assert g["lstm.weight_hh_l0"] and g["emb.weight"]
    m2, dt = _model(docs)
    m2.loss(dt[0], CONFIGS["rel"])["loss"].backward()
    assert not any(v for n, v in _grads(m2).items() if n.startswith("ner_head"))
    a, _ = _model(docs, seed=3)
    b, _ = _model(docs, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_beams(docs):
    m, dt = _model(docs, max_antecedents=5)
    d = dt[0]
    g = m.spans(d)
    score = m.mention_r(g).squeeze(-1)
    beams = m.relation_beam(d, score, forced=False)
    for k, n in enumerate(d.lengths):
        n_spans = int((d.sent == k).sum())
        assert len(beams[k]) == min(n_spans, max(1, math.ceil(0.4 * n)))
    assert beam_size(3, 0.3, 1) == 1 and beam_size(2, 0.9, 10) == 2
    forced = m.relation_beam(d, score, forced=True)
    assert set(d.force_rel) <= {i for b in forced for i in b}
    cs = m.mention_c(g).squeeze(-1)
    kept = m.coref_beam(d, cs, forced=False)
    assert len(kept) == beam_size(len(cs), 0.3, d.n_tokens)
    gold = set(d.force_coref)
    top = set(torch.topk(cs, len(kept)).indices.tolist())
    assert set(kept) == top and (gold - top).isdisjoint(kept)  # gold spans not in the eval beam unless scored in
    assert gold <= set(m.coref_beam(d, cs, forced=True))
    scores, ante, valid = m.coref_scores(g, kept)
    assert scores.shape[1] - 1 <= 5 and valid.sum(1).max() <= 5


def test_unobserved_ner_forces_only_relation_arguments_and_cluster_mentions(docs):
    v = Vocab.from_docs(docs)
    d = dict(docs[0], _ner_observed=False)
    d["relations"] = [[] for _ in d["relations"]]
    d["relations"][0] = [docs[0]["relations"][0][0]]
    t = doc_tensors(d, v, 4)
    args = {i for pair in t.rel_gold for i in pair}
    assert set(t.force_rel) == args
    cl = {int(i) for i in torch.nonzero(t.cluster >= 0).flatten()}
    assert set(t.force_coref) == args | cl
    full = doc_tensors(docs[0], v, 4)
    assert len(full.force_rel) == sum(len(s) for s in docs[0]["ner"])  # observed: every entity span


def test_overfit_three_documents(docs):
    from components.sciie.metrics import COUNTS, doc_counts, scores_from_counts

    m, dt = _model(docs)
    opt = torch.optim.Adam(m.parameters(), 1e-3, foreach=True)
    for step in range(300):
        out = m.loss(dt[step % 3], CONFIGS["all"])
        opt.zero_grad()
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 5.0)
        opt.step()
    c = [doc_counts(d, {**d, **m.predict(t, (True, True, True))}) for d, t in zip(docs, dt)]
    s = scores_from_counts({k: sum(x[k] for x in c) for k in COUNTS})
    assert s["ent_f1"] >= 0.95 and s["rel_f1"] >= 0.8 and s["conll_f1"] >= 0.8, s


def test_one_token_sentence_trains_and_predicts(docs):
    d = {"doc_key": "ONE", "sentences": [["results", "."], ["it"], ["we", "propose", "graph", "parser", "."]],
         "ner": [[], [[2, 2, "Generic"]], [[5, 6, "Method"]]], "relations": [[], [], []],
         "clusters": [[[2, 2], [5, 6]]]}
    v = Vocab.from_docs([d])
    torch.manual_seed(0)
    m = SciIEMini(len(v.itos))
    t = doc_tensors(d, v, 4)
    m.loss(t, CONFIGS["all"])["loss"].backward()
    out = m.predict(t, (True, True, True))
    assert len(out["predicted_ner"]) == 3


def test_cluster_decoding():
    a, b, c, d, e, f = range(6)
    assert decode_clusters([(b, a), (c, b), (e, d)]) == [[a, b, c], [d, e]]  # f → ε: dropped
    assert decode_clusters([]) == []
