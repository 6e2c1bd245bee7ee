"""Fixtures of the soul tests: a tiny LM over a small tofu-mini corpus."""

import pytest


@pytest.fixture
def tiny_setup():
    import torch

    from components.soul.corpus import build_corpus
    from components.soul.model import build_model
    from components.soul.params import DataParams, ModelParams, UnlearnParams
    from components.soul.tokenizer import build_tokenizer

    corpus = build_corpus(DataParams(n_authors=20, forget_frac=0.1, n_real_authors=20, n_world_facts=20,
                                     n_generic=20))
    tok = build_tokenizer(corpus.vocab)
    torch.manual_seed(0)
    model = build_model(len(tok), 48, ModelParams(n_embd=16, n_layer=2, n_head=2))
    g = {"ga": 0.0, "graddiff": 1.0, "npo": 1.0, "po": 1.0}
    u = UnlearnParams(epochs=2, batch_size=4, base_lr={"adamw": 1e-3, "sophia_soul": 1e-3, "sophia_ref": 1e-3},
                      lr_mults=[1.0], seeds=[0], objectives=["ga", "graddiff", "npo", "po"], optimizers=["adamw"],
                      gamma={"adamw": g, "sophia_soul": g, "sophia_ref": g})
    return model, tok, corpus.splits["forget"], corpus.splits["retain"], u
