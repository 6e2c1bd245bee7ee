"""Claim verdicts follow the data: reproduced / not reproduced / inconclusive from synthetic summaries."""

import pandas as pd

from components.physics_gnn.claims import build_claims


def summary(values: dict[tuple[str, str, int], dict[str, list[float]]]) -> pd.DataFrame:
    rows = []
    for (system, model, n), metrics in values.items():
        for seed in range(len(next(iter(metrics.values())))):
            rows.append({"system": system, "model": model, "N": n, "seed": seed, "n_diverged": 0,
                         **{k: v[seed] for k, v in metrics.items()}})
    return pd.DataFrame(rows)


def by_id(claims):
    return {c.claim.split(":")[0]: c for c in claims}


def test_constraint_claim_verdicts():
    good = summary({("pendulum", "CLGNN", 3): {"rollout_err": [0.01, 0.02, 0.5], "energy_err": [0.01, 0.01, 0.5]},
                    ("pendulum", "LGNN", 3): {"rollout_err": [0.2, 0.2, 0.2], "energy_err": [0.1, 0.1, 0.1]},
                    ("pendulum", "CGNODE", 3): {"rollout_err": [0.3, 0.3, 0.3], "energy_err": [0.3, 0.3, 0.3]},
                    ("pendulum", "GNODE", 3): {"rollout_err": [0.1, 0.1, 0.1], "energy_err": [0.1, 0.1, 0.1]}})
    claims = by_id(build_claims(good, 5, 3, [50]))
    assert claims["P1a"].verdict == "reproduced" and "2/3 pass the threshold, 2/3 in the expected direction" in claims["P1a"].observed
    assert claims["P1b"].verdict == "not reproduced"
    assert claims["P1c"].verdict == "inconclusive" and "not run" in claims["P1c"].observed


def test_mixed_direction_is_inconclusive_and_zero_shot_bound():
    rows = {("spring", "HGNN", 5): {"rollout_err": [0.1, 0.1], "energy_err": [0.5, 0.5], "momentum_err": [1e-14] * 2},
            ("spring", "HGN", 5): {"rollout_err": [0.5, 0.5], "energy_err": [0.1, 0.1], "momentum_err": [0.3] * 2}}
    for m, small, big in (("LGNN", 0.05, 0.3), ("GNODE", 0.1, 0.5), ("HGNN", 0.1, 2.0)):
        rows[("spring", m, 50)] = {"rollout_err": [big, big], "energy_err": [0.1] * 2, "momentum_err": [0.1] * 2}
        rows.setdefault(("spring", m, 5), {"rollout_err": [small] * 2, "energy_err": [0.1] * 2,
                                           "momentum_err": [0.1] * 2})
    claims = by_id(build_claims(summary(rows), 5, 3, [50]))
    assert claims["P2a"].verdict == "inconclusive"
    assert claims["P3"].verdict == "not reproduced"  # HGNN grows 20×
    rows[("spring", "HGNN", 50)]["rollout_err"] = [0.5, 0.5]
    assert by_id(build_claims(summary(rows), 5, 3, [50]))["P3"].verdict == "reproduced"
