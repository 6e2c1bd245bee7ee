"""Causal discovery: PC, GES, DirectLiNGAM (causal-learn), NOTEARS (own), and bivariate direction methods.

Edge-mark matrices use one project encoding (rows = from, columns = to):
``A[i, j] = 1, A[j, i] = 0`` is i → j; ``A[i, j] = A[j, i] = 1`` is i — j (undirected, CPDAG);
``A[i, j] = A[j, i] = 2`` is i ↔ j. causal-learn encodes i → j as ``G[j, i] = 1, G[i, j] = −1``.
"""

from __future__ import annotations

import numpy as np

UNDIRECTED, BIDIRECTED = 1, 2


def from_causallearn(g: np.ndarray) -> np.ndarray:
    """causal-learn's endpoint matrix → the project's edge-mark matrix."""
    g = np.asarray(g)
    d = g.shape[0]
    a = np.zeros((d, d), dtype=np.int64)
    for i in range(d):
        for j in range(i + 1, d):
            gij, gji = g[i, j], g[j, i]
            if gij == -1 and gji == 1:
                a[i, j] = 1
            elif gij == 1 and gji == -1:
                a[j, i] = 1
            elif gij == -1 and gji == -1:
                a[i, j] = a[j, i] = UNDIRECTED
            elif gij == 1 and gji == 1:
                a[i, j] = a[j, i] = BIDIRECTED
            elif gij != 0 or gji != 0:  # circle marks (PAGs) are read as undirected adjacency
                a[i, j] = a[j, i] = UNDIRECTED
    return a


def _nodes(d: int):
    from causallearn.graph.GraphNode import GraphNode

    return [GraphNode(f"X{i + 1}") for i in range(d)]


def dag_to_cpdag(dag: np.ndarray) -> np.ndarray:
    """The true Markov equivalence class (what PC and GES can at best recover), via causal-learn."""
    from causallearn.graph.Dag import Dag
    from causallearn.utils.DAG2CPDAG import dag2cpdag

    nodes = _nodes(dag.shape[0])
    g = Dag(nodes)
    for i, j in zip(*np.nonzero(dag)):
        g.add_directed_edge(nodes[i], nodes[j])
    return from_causallearn(dag2cpdag(g).graph)


def pc(x: np.ndarray, p, seed: int) -> np.ndarray:
    from causallearn.search.ConstraintBased.PC import pc as run_pc

    cg = run_pc(x, alpha=p.alpha, indep_test="fisherz", stable=True, show_progress=False, verbose=False)
    return from_causallearn(cg.G.graph)


def ges(x: np.ndarray, p, seed: int) -> np.ndarray:
    from causallearn.search.ScoreBased.GES import ges as run_ges

    record = run_ges(x, score_func="local_score_BIC")
    return from_causallearn(record["G"].graph)


def direct_lingam(x: np.ndarray, p, seed: int) -> np.ndarray:
    """causal-learn's DirectLiNGAM (the ``lingam`` package would pull scipy down to 1.13)."""
    from causallearn.search.FCMBased.lingam import DirectLiNGAM

    model = DirectLiNGAM(random_state=seed)
    model.fit(x)
    b = np.asarray(model.adjacency_matrix_)  # b[i, j]: coefficient of x_j in x_i → edge j → i
    return (np.abs(b.T) > p.lingam_threshold).astype(np.int64)


def notears_linear(x: np.ndarray, lambda1: float, threshold: float, max_iter: int = 100,
                   h_tol: float = 1e-8, rho_max: float = 1e16) -> np.ndarray:
    """NOTEARS (Zheng et al. 2018): min ½n⁻¹‖X − XW‖² + λ₁‖W‖₁ s.t. h(W) = tr(e^{W∘W}) − d = 0.

    Augmented Lagrangian; inner L-BFGS-B over W = W⁺ − W⁻ with W± ≥ 0 (makes the L1 term smooth);
    ρ grows ×10 until h shrinks by 4; stop at h ≤ h_tol or ρ ≥ rho_max. Returns weighted W (i → j).
    """
    import scipy.linalg as sla
    import scipy.optimize as sopt

    n, d = x.shape
    x = x - x.mean(axis=0)
    cov = x.T @ x / n  # the least-squares loss depends on X only through its covariance: cost free of n
    eye = np.eye(d)

    def unpack(w: np.ndarray) -> np.ndarray:
        return (w[: d * d] - w[d * d:]).reshape(d, d)

    def h_and_grad(w_mat: np.ndarray) -> tuple[float, np.ndarray]:
        e = sla.expm(w_mat * w_mat)
        return float(np.trace(e) - d), e.T * w_mat * 2

    def objective(w: np.ndarray, rho: float, alpha: float) -> tuple[float, np.ndarray]:
        w_mat = unpack(w)
        m = eye - w_mat
        loss = 0.5 * np.trace(m.T @ cov @ m)
        g_loss = -cov @ m
        h, g_h = h_and_grad(w_mat)
        value = loss + 0.5 * rho * h * h + alpha * h + lambda1 * w.sum()
        g_smooth = g_loss + (rho * h + alpha) * g_h
        return value, np.concatenate([g_smooth + lambda1, -g_smooth + lambda1], axis=None)

    bounds = [(0, 0) if i == j else (0, None) for _ in range(2) for i in range(d) for j in range(d)]
    w_est, rho, alpha, h = np.zeros(2 * d * d), 1.0, 0.0, np.inf
    for _ in range(max_iter):
        while rho < rho_max:
            sol = sopt.minimize(objective, w_est, args=(rho, alpha), method="L-BFGS-B", jac=True, bounds=bounds)
            h_new, _ = h_and_grad(unpack(sol.x))
            if h_new > 0.25 * h:
                rho *= 10
            else:
                break
        w_est, h = sol.x, h_new
        alpha += rho * h
        if h <= h_tol or rho >= rho_max:
            break
    w = unpack(w_est)
    w[np.abs(w) < threshold] = 0
    return w


def notears(x: np.ndarray, p, seed: int) -> np.ndarray:
    return (notears_linear(x, p.notears_lambda, p.notears_threshold, p.notears_max_iter) != 0).astype(np.int64)


ALGORITHMS = {"pc": pc, "ges": ges, "direct_lingam": direct_lingam, "notears": notears}
OUTPUT = {"pc": "cpdag", "ges": "cpdag", "direct_lingam": "dag", "notears": "dag"}
LIBRARY = {"pc": "causal-learn", "ges": "causal-learn", "direct_lingam": "causal-learn (FCMBased.lingam)",
           "notears": "own (scipy L-BFGS-B)"}


# --- bivariate cause–effect methods: return +1 for x → y, −1 for y → x ---------------------------------------

def _unit(v: np.ndarray) -> np.ndarray:
    span = v.max() - v.min()
    return (v - v.min()) / span if span > 0 else np.zeros_like(v)


def igci_score(x: np.ndarray, y: np.ndarray) -> float:
    """Slope-based IGCI (uniform reference): mean log |Δy/Δx| over x-sorted consecutive pairs, Δ = 0 skipped."""
    x, y = _unit(x), _unit(y)
    order = np.argsort(x, kind="stable")
    dx, dy = np.diff(x[order]), np.diff(y[order])
    keep = (dx != 0) & (dy != 0)
    return float(np.mean(np.log(np.abs(dy[keep] / dx[keep])))) if keep.any() else 0.0


def igci(x: np.ndarray, y: np.ndarray, p, seed: int) -> int:
    return 1 if igci_score(x, y) < igci_score(y, x) else -1


def reci(x: np.ndarray, y: np.ndarray, p, seed: int) -> int:
    """RECI (Blöbaum et al. 2018): min–max scale, cubic regression both ways, smaller MSE = causal direction."""
    x, y = _unit(x), _unit(y)

    def mse(a: np.ndarray, b: np.ndarray) -> float:
        coef = np.polyfit(a, b, 3)
        return float(np.mean((b - np.polyval(coef, a)) ** 2))

    return 1 if mse(x, y) < mse(y, x) else -1


def anm(x: np.ndarray, y: np.ndarray, p, seed: int) -> int:
    """causal-learn ANM (GP regression + HSIC); the direction with the larger independence p-value."""
    from causallearn.search.FCMBased.ANM.ANM import ANM

    rng = np.random.default_rng(seed)
    keep = rng.permutation(len(x))[: p.anm_max_points]
    xs = (x[keep] - x[keep].mean()) / (x[keep].std() + 1e-12)
    ys = (y[keep] - y[keep].mean()) / (y[keep].std() + 1e-12)
    p_forward, p_backward = ANM().cause_or_effect(xs.reshape(-1, 1), ys.reshape(-1, 1))
    return 1 if p_forward >= p_backward else -1


PAIR_METHODS = {"igci": igci, "reci": reci, "anm": anm}
