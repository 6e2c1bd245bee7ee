"""The forget-quality / utility trade-off as one continuous number per (optimizer, seed) (issue 13).

The paper's figure compares optimizers by where their FQ–MU points lie. Selecting one config at a
utility threshold (spec §7) is discontinuous: a tiny change in MU swaps the selected config and the
verdict. Here every run of an (objective, optimizer, seed) — all learning rates and the *same* γ grid
for both optimizers — plus the original model gives a set of points (u = MU/MU(original), y), and the
summary is the area under their upper-left front above the utility floor u₀ = 0.9:

    A = (1/0.1)·∫_{u₀}^{∞} F(u) du,   F(u) = max{ y_i : u_i ≥ u }.

A is continuous in every point's coordinates (a point below u₀ contributes nothing and fades in
continuously), so float noise moves it by a little, not by a verdict. With y = FQ (linear, as the
paper reports it), the deep-tail p-values (1e-10 vs 1e-12) that flip with float noise contribute ≈ 0:
only runs that actually forget count. A = 1 is FQ = 1 kept all the way to the original's utility.
"""

from __future__ import annotations

import numpy as np

U_FLOOR = 0.9   # spec §7: matched utility is MU ≥ 0.9·MU(original)
FORGETS = 0.05  # "retain-level" forget quality (issue 13)


def front_area(u: np.ndarray, y: np.ndarray, u_floor: float = U_FLOOR) -> float:
    """(1/(1 − u_floor))·∫_{u_floor}^∞ max{y_i : u_i ≥ u} du for points (u_i, y_i), y ≥ 0."""
    u, y = np.asarray(u, float), np.clip(np.asarray(y, float), 0.0, None)
    keep = u > u_floor
    if not keep.any():
        return 0.0
    u, y = u[keep], y[keep]
    order = np.argsort(-u)          # from the highest utility down
    area, best, prev = 0.0, 0.0, None
    for i in order:
        if prev is not None:
            area += best * (prev - u[i])
        best, prev = max(best, y[i]), u[i]
    area += best * (prev - u_floor)
    return float(area / (1.0 - u_floor))


def reaches_forgetting(fq: np.ndarray, mu_rel: np.ndarray, fq_min: float = FORGETS,
                       u_floor: float = U_FLOOR) -> bool:
    """Some run forgets at matched utility: FQ ≥ 0.05 at MU ≥ 0.9·MU(original)."""
    return bool(np.any((np.asarray(fq) >= fq_min) & (np.asarray(mu_rel) >= u_floor)))
