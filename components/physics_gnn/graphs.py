"""Graphs of the systems as directed edge lists (senders → receivers) plus ``eorder``, each edge's reverse."""

from __future__ import annotations

import numpy as np


def _with_reverse(pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undirected pairs → directed edges: the pairs, then the same pairs reversed; eorder swaps halves."""
    if not pairs:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    a = np.array(pairs, dtype=np.int64)
    senders = np.concatenate([a[:, 0], a[:, 1]])
    receivers = np.concatenate([a[:, 1], a[:, 0]])
    m = len(pairs)
    eorder = np.concatenate([np.arange(m, 2 * m), np.arange(m)])
    return senders, receivers, eorder


def ring(n: int):
    """Spring ring: (N−1→0), (0→1), …, (N−2→N−1) and their reverses — 2N directed edges."""
    return _with_reverse([(n - 1, 0)] + [(i, i + 1) for i in range(n - 1)])


def chain(n: int):
    """Pendulum chain 0–1–…–(N−1); the pivot is not a node — 2(N−1) directed edges."""
    return _with_reverse([(i, i + 1) for i in range(n - 1)])


def complete(n: int):
    """Gravity: every pair, both directions — N(N−1) directed edges."""
    return _with_reverse([(i, j) for i in range(n) for j in range(i + 1, n)])


GRAPHS = {"spring": ring, "pendulum": chain, "nbody": complete}


def graph(system: str, n: int):
    return GRAPHS[system](n)
