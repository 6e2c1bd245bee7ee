"""Budget work: the split pair-FFNN is the concatenated FFNN, documents with nothing to learn cost no forward pass,
the fan-out plan (balanced, costliest first, no worker for seconds of work), the per-epoch dev scorer."""

import torch

from components.sciie import synth as S
from components.sciie.model import CONFIGS, SciIEMini, Vocab, doc_tensors
from components.sciie.training import TrainJob, dev_scorer, job_cost, plan_batches

torch.set_num_threads(1)


def _docs(n=3):
    w = S.build_world(0, S.GenParams())
    return S.generate_docs(w, S.GenParams(), 5, n, "t")[0]


def test_split_pair_ffnn_equals_concatenated_ffnn():
    docs = _docs()
    v = Vocab.from_docs(docs)
    torch.manual_seed(0)
    m = SciIEMini(len(v.itos)).eval()
    d = doc_tensors(docs[0], v, 4)
    with torch.no_grad():
        g = m.spans(d)
        kept = torch.tensor([0, 3, 5, 8])
        a, b = torch.tensor([0, 1, 2, 3, 1]), torch.tensor([1, 0, 3, 2, 3])
        ga, gb = g[kept[a]], g[kept[b]]
        want = m.rel_head(torch.cat([ga, gb, ga * gb], -1))
        assert torch.allclose(m._pair_ffnn(m.rel_head, g, kept, a, b), want, atol=1e-5)
        # coreference: with the bucketed-distance features, against the concatenated form
        scores, ante, valid = m.coref_scores(g, kept.tolist())
        mc = m.mention_c(g).squeeze(-1)
        from components.sciie.model import dist_bucket

        for i in range(len(kept)):
            for k in range(scores.shape[1] - 1):
                if valid[i, k]:
                    j = int(ante[i, k])
                    dist = dist_bucket(torch.tensor([k + 1]))
                    x = torch.cat([g[kept[i]], g[j], g[kept[i]] * g[j], m.dist_emb(dist)[0]])
                    ref = m.coref_head(x)[0] + mc[kept[i]] + mc[j]
                    assert torch.allclose(scores[i, k + 1], ref, atol=1e-5)


def test_document_without_active_loss_skips_the_forward_pass():
    docs = _docs()
    v = Vocab.from_docs(docs)
    torch.manual_seed(0)
    m = SciIEMini(len(v.itos))
    d = doc_tensors(dict(docs[0], _ner_observed=False), v, 4)
    state = torch.get_rng_state()
    out = m.loss(d, CONFIGS["ner"])
    assert set(out) == {"loss"} and not out["loss"].requires_grad and float(out["loss"]) == 0.0
    assert torch.equal(state, torch.get_rng_state())  # no dropout drawn: nothing ran
    assert m.loss(d, CONFIGS["all"])["loss"].requires_grad  # relation / coref labels still train


def _job(regime, config, kg=False):
    return TrainJob(regime, config, "bilstm", 0, 0, "", "", {}, predict_kg=kg)


def test_fan_out_plan():
    small = [job_cost(_job("A8", c), 2, 0.2) for c in ("ner", "all")]
    assert plan_batches(small, ["bilstm"] * 2, 2) == [[0, 1]]  # seconds of work: one worker, not two
    jobs = [_job(r, c, kg=(r, c) == ("A30", "all")) for r, cs in (("A15", ("ner", "all")),
            ("A30", ("ner", "rel", "coref", "all", "all_w005")), ("B60", ("ner", "all"))) for c in cs for _ in range(5)]
    costs = [job_cost(j, 15, 0.2) for j in jobs]
    plan = plan_batches(costs, ["bilstm"] * len(jobs), 2)
    assert sorted(i for b in plan for i in b) == list(range(len(jobs)))
    assert len(plan) % 2 == 0 and len(plan) <= 16
    loads = [sum(costs[i] for i in b) for b in plan]
    assert loads == sorted(loads, reverse=True) and max(loads) < 1.3 * min(loads)
    assert job_cost(_job("B60", "ner"), 15, 0.2) < job_cost(_job("A30", "ner"), 15, 0.2)  # unlabelled docs skipped
    mixed = plan_batches(costs[:4] + costs[:4], ["bilstm"] * 4 + ["minilm_frozen"] * 4, 2)
    assert all(len({i < 4 for i in b}) == 1 for b in mixed)  # one encoder per batch


def test_dev_scorer_reports_only_trained_tasks():
    docs = _docs()
    v = Vocab.from_docs(docs)
    torch.manual_seed(0)
    m = SciIEMini(len(v.itos))
    t = [doc_tensors(d, v, 4) for d in docs]
    assert set(dev_scorer(docs, t, (True, False, False))(m)) == {"dev_ent_f1"}
    out = dev_scorer(docs, t, (True, True, True))(m)
    assert set(out) == {"dev_ent_f1", "dev_rel_f1", "dev_conll_f1"} and all(0 <= x <= 1 for x in out.values())
    assert m.training  # the scorer leaves the training mode as it found it


def test_two_pass_bilstm_equals_the_packed_lstm():
    """The padded two-pass BiLSTM (speed) is the packed bidirectional ``nn.LSTM`` on every real token, values and
    gradients, including a 1-token sentence."""
    docs = _docs()
    doc = dict(docs[0])
    doc["sentences"] = doc["sentences"] + [["ok"]]
    doc["ner"], doc["relations"] = doc["ner"] + [[]], doc["relations"] + [[]]
    v = Vocab.from_docs(docs)
    torch.manual_seed(0)
    m = SciIEMini(len(v.itos))
    d = doc_tensors(doc, v, 4)
    x = m.emb(d.ids).detach().requires_grad_(True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, d.lengths_t, batch_first=True, enforce_sorted=False)
    ref, _ = m.lstm(packed)
    ref = torch.nn.utils.rnn.pad_packed_sequence(ref, batch_first=True, total_length=d.ids.shape[1])[0][d.tok_mask]
    got = m.bilstm(x, d)[d.tok_mask]
    assert torch.allclose(got, ref, atol=1e-6)
    w = torch.randn_like(ref)
    g_ref = torch.autograd.grad((ref * w).sum(), [x, *m.lstm.parameters()])
    g_got = torch.autograd.grad((got * w).sum(), [x, *m.lstm.parameters()])
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(g_ref, g_got))
