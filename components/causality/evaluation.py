"""Per-unit metrics (spec §6) from the train outputs and the prepared truth, and their aggregates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from components.causality import metrics as M
from components.causality.data import effect_dir, load_effect_frame, load_truth
from components.causality.discovery import OUTPUT, dag_to_cpdag
from components.causality.estimators import CATE_METHODS
from components.core.io import read_json


def effect_metrics(prepared: Path, units: pd.DataFrame, cate: dict[str, pd.DataFrame], seed: int) -> pd.DataFrame:
    """One row per (dataset, method, rep) with √PEHE in/out, ε_ATE, ε_ATT, bias, policy risk where defined."""
    rows = []
    frames: dict[tuple[str, int], pd.DataFrame] = {}
    for unit in units[units.status == "ok"].itertuples(index=False):
        meta = read_json(effect_dir(prepared, unit.dataset) / "meta.json")
        row = {"dataset": unit.dataset, "method": unit.method, "rep": unit.rep, "ate_hat": unit.ate_hat,
               "att_hat": unit.att_hat, "ci_low": unit.ci_low, "ci_high": unit.ci_high, "runtime_s": unit.runtime_s,
               "library": unit.library}
        if unit.rep < meta["stored_reps"]:
            key = (unit.dataset, unit.rep)
            if key not in frames:
                frames[key] = load_effect_frame(prepared, unit.dataset, unit.rep, seed)
            frame = frames[key]
            table = cate[unit.dataset]
            tau_hat = table[(table.method == unit.method) & (table.rep == unit.rep)].sort_values("unit_id")
            tau_hat = tau_hat.tau_hat.to_numpy()
            row.update(_truth_metrics(frame, tau_hat, unit, meta))
        rows.append(row)
    return pd.DataFrame(rows)


def _truth_metrics(frame: pd.DataFrame, tau_hat: np.ndarray, unit, meta: dict) -> dict:
    out: dict[str, float] = {}
    if meta["truth"]:
        tau = frame.tau.to_numpy()
        train = (frame.split == "train").to_numpy()
        treated = frame.t.to_numpy() == 1
        out["pehe_in"] = M.sqrt_pehe(tau_hat[train], tau[train])
        if (~train).any():
            out["pehe_out"] = M.sqrt_pehe(tau_hat[~train], tau[~train])
        out["ate_true"] = float(tau.mean())
        out["ate_err"] = M.ate_error(tau_hat, tau)
        out["ate_bias"] = float(tau_hat.mean() - tau.mean())
        att_est = tau_hat[treated].mean() if unit.method in CATE_METHODS else unit.att_hat
        out["att_err"] = float(abs(att_est - tau[treated].mean()))
    elif meta["kind"] == "jobs":
        rct, treated = frame.in_rct.to_numpy() == 1, frame.t.to_numpy() == 1
        att_est = tau_hat[rct & treated].mean() if unit.method in CATE_METHODS else unit.att_hat
        out["att_true"] = meta["true_att"]
        out["att_err"] = float(abs(meta["true_att"] - att_est))
        test = rct & (frame.split == "test").to_numpy()
        out["policy_risk"] = M.policy_risk(tau_hat[test], frame.t.to_numpy()[test], frame.y.to_numpy()[test])
    elif meta["kind"] == "lalonde":
        out["att_err"] = float(abs(unit.att_hat - meta["benchmark_att"]))
        out["att_bias"] = float(unit.att_hat - meta["benchmark_att"])
    return out


def jobs_policy_baselines(prepared: Path, reps: int, seed: int) -> dict[str, float]:
    """R_pol of treat-all and treat-none on the test RCT units (mean over splits)."""
    values = {"treat_all": [], "treat_none": []}
    for rep in range(reps):
        f = load_effect_frame(prepared, "jobs", rep, seed)
        test = (f.in_rct == 1) & (f.split == "test")
        values["treat_all"].append(M.policy_risk(np.ones(test.sum()), f.t[test], f.y[test]))
        values["treat_none"].append(M.policy_risk(-np.ones(test.sum()), f.t[test], f.y[test]))
    return {k: float(np.mean(v)) for k, v in values.items()}


def summarise_effects(per_unit: pd.DataFrame) -> pd.DataFrame:
    """Mean / sd / median per (dataset, method) over the truth-bearing replications (rep < stored reps)."""
    cols = [c for c in ("pehe_in", "pehe_out", "ate_err", "ate_bias", "att_err", "att_bias", "policy_risk",
                        "runtime_s", "ate_hat", "att_hat") if c in per_unit.columns]
    grouped = per_unit.groupby(["dataset", "method"])
    out = grouped[cols].agg(["mean", "std", "median"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    out["n_reps"] = grouped.size()
    for col in ("pehe_out", "ate_err", "att_err"):  # normal-approximation 95 % half-width of the mean
        if f"{col}_std" in out:
            out[f"{col}_hw95"] = 1.96 * out[f"{col}_std"] / np.sqrt(grouped[col].count())
    out["library"] = grouped.library.first()
    return out.reset_index()


def lalonde_intervals(per_unit: pd.DataFrame) -> pd.DataFrame:
    """ATT on the data (rep 0) with percentile-bootstrap 95 % intervals from the resamples (rep > 0)."""
    lal = per_unit[per_unit.dataset == "lalonde_cps"]
    rows = []
    for method, g in lal.groupby("method"):
        point = g[g.rep == 0].att_hat
        boot = g[g.rep > 0].att_hat.dropna()
        rows.append({"method": method, "att": float(point.iloc[0]) if len(point) else float("nan"),
                     "low": float(boot.quantile(0.025)) if len(boot) > 1 else float("nan"),
                     "high": float(boot.quantile(0.975)) if len(boot) > 1 else float("nan"), "n_boot": len(boot)})
    return pd.DataFrame(rows)


def discovery_metrics(prepared: Path, graphs: pd.DataFrame, random_graphs: int, seed: int) -> pd.DataFrame:
    """SHD (against the CPDAG for PC/GES on DAG data, against the graph otherwise), skeleton/directed P/R/F1."""
    rows = []
    baselines: dict[tuple[str, int], np.ndarray] = {}
    for unit in graphs[graphs.status == "ok"].itertuples(index=False):
        meta = read_json(prepared / "discovery" / unit.dataset / "meta.json")
        truth = load_truth(prepared, unit.dataset, unit.rep)
        est = np.asarray(unit.graph, dtype=np.int64)
        cyclic_truth = meta["kind"] == "sachs"  # the consensus graph has the cycle plcg → PIP2 → PIP3 → plcg
        target = dag_to_cpdag(truth) if OUTPUT[unit.algorithm] == "cpdag" and not cyclic_truth else truth
        skeleton, directed = M.skeleton_prf(est, truth), M.directed_prf(est, truth)
        row = {"dataset": unit.dataset, "algorithm": unit.algorithm, "rep": unit.rep, "kind": meta["kind"],
               "noise": meta.get("noise", ""), "n": meta.get("n", len(truth)), "shd": M.shd(est, target),
               "shd_vs": "cpdag" if target is not truth else "graph", "true_edges": int(truth.sum()),
               "est_adjacencies": int(np.triu((est != 0) | (est.T != 0), 1).sum()),
               "skeleton_f1": skeleton["f1"], "directed_f1": directed["f1"], "tpr": directed["recall"],
               "fdr": directed["fdr"], "runtime_s": unit.runtime_s}
        if meta["kind"] == "sachs":
            key = (unit.dataset, unit.rep)
            if key not in baselines:
                baselines[key] = M.random_dag_shd(truth, random_graphs, seed)
                baselines[(*key, "perm")] = M.permuted_graph_shd(truth, random_graphs, seed)
            rand, perm = baselines[key], baselines[(*key, "perm")]
            row["random_shd_mean"] = float(rand.mean())
            row["random_shd_p5"] = float(np.quantile(rand, 0.05))
            row["shd_percentile"] = float((rand <= row["shd"]).mean())
            row["empty_shd"] = M.shd(np.zeros_like(truth), truth)
            row["degree_matched_shd_mean"] = float(perm.mean())
            row["degree_matched_shd_p5"] = float(np.quantile(perm, 0.05))
            row["degree_matched_percentile"] = float((perm <= row["shd"]).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def pair_metrics(pairs: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Accuracy after the seeded orientation randomisation (unweighted: cdt ships no pair weights)."""
    swapped = pairs.groupby("pair").swapped.first()
    truth = np.where(swapped.reindex(decisions.pair).to_numpy() == 1, -1, 1)
    d = decisions.assign(correct=(decisions.decision.to_numpy() == truth).astype(int))
    rows = []
    for method, g in d.groupby("method"):
        k, n = int(g.correct.sum()), len(g)
        rows.append({"method": method, "correct": k, "pairs": n, "accuracy": k / n,
                     "p_value": M.binomial_p_greater(k, n), "errors": int((g.status != "ok").sum())})
    n = len(swapped)
    k = int((swapped == 0).sum())
    rows.append({"method": "always_x_to_y", "correct": k, "pairs": n, "accuracy": k / n,
                 "p_value": M.binomial_p_greater(k, n), "errors": 0})
    return pd.DataFrame(rows)


def study_summary(studies: pd.DataFrame) -> pd.DataFrame:
    """Per (study, setting, method): replications, mean, median, sd, bias, RMSE, and (with SEs and a truth) the
    count of replications whose estimate lies within 2 SE of the truth; FCI rows: the count of each mark."""
    ok = studies[studies.status == "ok"]
    rows = []
    for (study, setting, method), g in ok.groupby(["study", "setting", "method"], sort=False):
        est, truth, se = g.estimate.to_numpy(float), g.truth.to_numpy(float), g.se.to_numpy(float)
        row = {"study": study, "setting": setting, "method": method, "reps": len(g), "n": int(g.n.max())}
        if g.mark.astype(bool).any():
            row["marks"] = "; ".join(f"{m} ×{c}" for m, c in g.mark.value_counts().items())
            row["bidirected"] = int((g.mark == "↔").sum())
        else:
            row.update({"mean": float(np.mean(est)), "median": float(np.median(est)),
                        "sd": float(np.std(est, ddof=1)) if len(g) > 1 else 0.0, "se_mean": float(np.nanmean(se))})
            if np.isfinite(truth).all():
                row.update({"truth": float(truth[0]), "bias": float(np.mean(est - truth)),
                            "rmse": float(np.sqrt(np.mean((est - truth) ** 2)))})
                if np.isfinite(se).all():
                    row["within_2se"] = int((np.abs(est - truth) < 2 * se).sum())
        rows.append(row)
    return pd.DataFrame(rows)
