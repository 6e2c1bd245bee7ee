"""Evaluation: the memoised tokenizer gives bit-identical metrics (it only skips re-encoding)."""

import numpy as np


def test_memo_tokenizer_gives_identical_metrics(tiny_setup):
    from components.soul.corpus import build_corpus
    from components.soul.evaluation import MemoTokenizer, evaluate_model
    from components.soul.params import DataParams, EvaluateParams

    model, tok, _, _, _ = tiny_setup
    splits = build_corpus(DataParams(n_authors=20, forget_frac=0.1, n_real_authors=20, n_world_facts=20,
                                     n_generic=20)).splits
    data = {s: splits[s] for s in ("forget_eval", "retain_eval", "real_authors_eval", "world_facts_eval",
                                   "heldout")}
    ev = EvaluateParams(max_new_tokens=4, n_heldout=10)
    memo = MemoTokenizer(tok)
    plain_s, plain_i = evaluate_model(model, tok, data, ev)
    for _ in range(2):  # second pass reads the memo
        memo_s, memo_i = evaluate_model(model, memo, data, ev)
        assert memo_s == plain_s
        assert plain_i.keys() == memo_i.keys() and all(np.array_equal(plain_i[k], memo_i[k]) for k in plain_i)
    assert memo._memo and len(memo) == len(tok) and memo.eos_token_id == tok.eos_token_id
    ids = memo.encode("question : who")
    ids.append(-1)  # callers may extend what they get back; the memo must not change
    assert memo.encode("question : who") == tok.encode("question : who", add_special_tokens=False)
