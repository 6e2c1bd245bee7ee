"""Evaluate-step analyses: reference model, degradation, DISDE (estimated vs ground truth), calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from components.core.io import read_json
from components.core.seeding import derive_seed
from components.whyshift.models import XGBMethod
from components.whyshift.params import WhyshiftParams

CALIBRATION_SCENARIOS = ("pure_x", "pure_x_orth", "pure_yx", "null")


def reference_model(p: WhyshiftParams, seed: int) -> XGBMethod:
    """The setting's reference XGB (WhyShift/XGBoost defaults: lr 0.3, depth 6; trees = profile constant)."""
    return XGBMethod(learning_rate=0.3, max_depth=6, n_estimators=p.train.n_estimators, seed=seed)


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's 1/Σw² for weights summing to 1: how many points the shared distribution S really rests on."""
    return float(1.0 / np.sum(np.square(weights)))


def terms_row(prefix: str, terms) -> dict:
    return {f"{prefix}_total": terms.total, f"{prefix}_x_p2s": terms.x_p2s, f"{prefix}_yx": terms.yx,
            f"{prefix}_x_s2q": terms.x_s2q, f"{prefix}_yx_frac": terms.yx_frac,
            f"{prefix}_x_frac": terms.x_frac, f"{prefix}_label": terms.label()}


def evaluate_setting(job: tuple[str, dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(degradation per target, DISDE rows per evaluated pair) for one prepared setting."""
    from components.core.execution import limit_threads
    from components.whyshift.data import load_setting
    from components.whyshift.disde import disde, disde_truth
    from components.whyshift.generator import World
    from components.whyshift.settings import SETTINGS, setting_populations

    limit_threads()
    directory, params = Path(job[0]), WhyshiftParams.model_validate(job[1])
    data = load_setting(directory)
    meta, sid = data.meta, data.meta["setting_id"]
    _, populations = setting_populations(SETTINGS[sid], World.from_dict(read_json(directory / "world.json")))
    model = reference_model(params, derive_seed(params.seed, "reference", sid)).fit(data.X["train"], data.y["train"])
    correct_id = model.predict(data.X["id_test"]) == data.y["id_test"]
    acc_id = float(correct_id.mean())
    degradation, pairs = [], []
    cfg = params.evaluate.disde
    for target in data.targets:
        correct = model.predict(data.X[target]) == data.y[target]
        deg = acc_id - float(correct.mean())
        is_main = target == meta["main_target"]
        degradation.append({"setting_id": sid, "target": target, "is_main": is_main, "id_acc": acc_id,
                            "ood_acc": float(correct.mean()), "degradation": deg})
        wanted = cfg.pairs == "all" or is_main or (cfg.pairs == "degraded" and deg > cfg.min_total)
        if not wanted:
            continue
        m = cfg.max_target_rows
        seed = derive_seed(params.seed, "disde", sid, target)
        est = disde(data.X["id_test"], correct_id, data.X[target][:m], correct[:m], n_folds=cfg.folds,
                    classifier=cfg.classifier.model_dump(), seed=seed)
        truth = disde_truth(populations[meta["source"]], populations[target], model.predict,
                            n_mc=params.evaluate.truth_rows, seed=derive_seed(params.seed, "truth", sid, target))
        t = est.terms
        pairs.append({"setting_id": sid, "source": meta["source"], "target": target, "is_main": is_main,
                      **terms_row("est", t), **terms_row("true", truth),
                      "identity_error": abs(t.x_p2s + t.yx + t.x_s2q - t.total),
                      "abs_err_yx": abs(t.yx - truth.yx), "abs_err_total": abs(t.total - truth.total),
                      "ece": est.ece, "ess_p": effective_sample_size(est.w_p),
                      "ess_q": effective_sample_size(est.w_q), "n_p": len(correct_id),
                      "n_q": int(min(m, len(correct)))})
    return pd.DataFrame(degradation), pd.DataFrame(pairs)


def calibration_rows(p: WhyshiftParams) -> pd.DataFrame:
    """DISDE on the gauss8 scenarios with known answers (claim C1), estimated and true."""
    from components.whyshift.disde import disde, disde_truth
    from components.whyshift.generator import gauss8

    cfg, n = p.evaluate.disde, p.evaluate.calibration.n
    rows = []
    for scenario in CALIBRATION_SCENARIOS:
        for seed in p.evaluate.calibration.seeds:
            P, Q = gauss8(scenario, seed)
            base = derive_seed(p.seed, "gauss8", scenario, seed)
            X_tr, y_tr = P.sample(n, base)
            X_p, y_p = P.sample(n, base + 1)
            X_q, y_q = Q.sample(n, base + 2)
            model = XGBMethod(n_estimators=50, max_depth=4, seed=base).fit(X_tr, y_tr)
            est = disde(X_p, model.predict(X_p) == y_p, X_q, model.predict(X_q) == y_q, n_folds=cfg.folds,
                        classifier=cfg.classifier.model_dump(), seed=base)
            truth = disde_truth(P, Q, model.predict, n_mc=p.evaluate.truth_rows, seed=base + 3)
            t = est.terms
            rows.append({"scenario": scenario, "seed": seed, **terms_row("est", t), **terms_row("true", truth),
                         "identity_error": abs(t.x_p2s + t.yx + t.x_s2q - t.total), "ece": est.ece})
    return pd.DataFrame(rows)


def terms_of(frame: pd.DataFrame, prefix: str) -> list:
    """DisdeTerms back from the ``<prefix>_*`` columns of disde rows."""
    from components.whyshift.disde import DisdeTerms

    return [DisdeTerms(r[f"{prefix}_total"], r[f"{prefix}_x_p2s"], r[f"{prefix}_yx"], r[f"{prefix}_x_s2q"])
            for r in frame.to_dict("records")]


def summarise_settings(results: pd.DataFrame, degradation: pd.DataFrame, disde: pd.DataFrame,
                       p: WhyshiftParams) -> dict:
    """Per-setting summary: dominance ratios (estimated / true), best-by-ID-val per method, accuracy on the line."""
    from components.whyshift.disde import dominance_ratio

    min_total = p.evaluate.disde.min_total
    out = {}
    for sid, res in results.groupby("setting_id"):
        ok = res[res["status"] == "ok"]
        pairs = disde[disde["setting_id"] == sid]
        big_true = pairs[pairs["true_total"] > min_total]
        best = (ok.sort_values(["id_val_acc", "config_id"], ascending=[False, True])
                .groupby("method", sort=True).head(1))
        r = float(np.corrcoef(ok["id_test_acc"], ok["ood_acc_main"])[0, 1]) if len(ok) > 2 else float("nan")
        main = pairs[pairs["is_main"]]
        out[str(int(sid))] = {
            "main_target": str(res["main_target"].iloc[0]),
            "n_targets": int((degradation["setting_id"] == sid).sum()),
            "n_pairs_evaluated": len(pairs),
            "dominance_est": dominance_ratio(terms_of(pairs, "est"), min_total),
            "dominance_true": dominance_ratio(terms_of(pairs, "true"), min_total),
            "label_agreement": float((big_true["est_label"] == big_true["true_label"]).mean())
            if len(big_true) else float("nan"),
            "main_true_label": str(main["true_label"].iloc[0]) if len(main) else "n/a",
            "main_est_label": str(main["est_label"].iloc[0]) if len(main) else "n/a",
            "acc_on_the_line_r": r,
            "best_by_id_val": {row.method: {"config_id": row.config_id, "id_val_acc": row.id_val_acc,
                                            "ood_acc_main": row.ood_acc_main} for row in best.itertuples()},
        }
    return out
