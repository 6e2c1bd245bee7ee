"""Claims C1–C9 of spec §8 as pure functions of the results tables, plus the checks and context rows.

Each returns a dict with the ``Claim`` keys. LP = LP-CLS top-1. Δ_s are paired differences by seed index
(every condition of seed index s shares its seed: init, masks, crops, loader order)."""

from __future__ import annotations

import math

import numpy as np

from components.core.claims import mean_sd, verdict

ANCHOR = ""
NEED_SEEDS = 3


def _row(cid, claim, metric, expected, observed, v, note="", kind="claim", anchor=ANCHOR) -> dict:
    return {"id": cid, "kind": kind, "claim": claim, "metric": metric, "expected": expected, "anchor": anchor,
            "observed": observed, "verdict": v, "note": note}


def _sd(x) -> float:
    x = np.asarray(x, float)
    return float(np.std(x, ddof=1)) if len(x) > 1 else float("nan")


def default_rule(deltas, threshold: float, strict: bool = False) -> tuple[str, str]:
    """reproduced: mean Δ ≥ threshold (> when ``strict``) and every Δ_s > 0, with ≥ 3 seeds;
    not reproduced: mean Δ < 0 and |mean Δ| > sd(Δ); else inconclusive. Returns (verdict, why)."""
    d = np.asarray(deltas, float)
    if len(d) == 0:
        return "inconclusive", "no paired seeds"
    m, sd = float(d.mean()), _sd(d)
    meets = m > threshold if strict else m >= threshold
    rep = meets and bool((d > 0).all()) and len(d) >= NEED_SEEDS
    ref = m < 0 and len(d) >= 2 and abs(m) > sd
    why = "" if len(d) >= NEED_SEEDS else f"only {len(d)} seed(s); the rule needs {NEED_SEEDS}"
    return verdict(rep, ref), why


def paired(table, a: str, b: str, col: str = "lp_top1_cls"):
    """Δ_s = col(a, s) − col(b, s) over seed indices both have."""
    if table is None or not len(table) or col not in table:
        return np.array([])
    ta = table[table.cond == a].set_index("seed_index")[col].dropna()
    tb = table[table.cond == b].set_index("seed_index")[col].dropna()
    common = sorted(set(ta.index) & set(tb.index))
    return np.array([ta[s] - tb[s] for s in common], float)


def _obs(d, unit: float = 100.0, name: str = "Δ") -> str:
    d = np.asarray(d, float)
    if not len(d):
        return "not run"
    per = ", ".join(f"{v * unit:+.2f}" for v in d)
    return f"{name} = {mean_sd(d * unit)} pp (per seed: {per})"


def not_run(cid, claim, metric, expected, why) -> dict:
    return _row(cid, claim, metric, expected, f"not run: {why}", "inconclusive", note=f"not run: {why}")


def absent(table, conds) -> list[str]:
    """The conditions of ``conds`` with no row in ``table`` (what a not-run row names)."""
    have = set(table.cond) if table is not None and len(table) and "cond" in table else set()
    return [c for c in conds if c not in have]


def in_profile(rows: list[dict], profile: str) -> list[dict]:
    """Name the profile on every not-run row: the default profile leaves out the K ablations and the single-claim
    conditions for its time budget, and ``profiles/full.yaml`` runs all ten conditions of spec §5."""
    for r in rows:
        if r["observed"].startswith("not run: ") and profile != "full":
            why = r["observed"][len("not run: "):]
            r["observed"] = r["note"] = f"not run in {profile}: {why} (the full profile runs it)"
    return rows


def _missing(table, conds, where: str = "pretrain.conditions") -> str:
    return f"{', '.join(absent(table, conds))} not in {where}"


def unfit(fits: dict, conds) -> list[str]:
    return [c for c in conds if not fits.get(c, True)]


def _guard(row: dict, fits: dict, conds) -> dict:
    bad = unfit(fits, conds)
    if bad and row["verdict"] != "inconclusive":
        row["note"] = (row["note"] + "; " if row["note"] else "") + \
            f"verdict {row['verdict']} withheld: {', '.join(bad)} did not fit (final loss > ratio × first)"
        row["verdict"] = "inconclusive"
    return row


def c1(table, fits) -> dict:
    claim, metric, exp = ("ClusterMIM-Pixel beats MAE (P3)", "LP(pix_k50) − LP(mae), paired by seed",
                          "> 0, mean Δ ≥ +1 pp, all seeds > 0")
    d = paired(table, "pix_k50", "mae")
    if not len(d):
        return not_run("C1", claim, metric, exp, _missing(table, ["pix_k50", "mae"]))
    v, why = default_rule(d, 0.01)
    return _guard(_row("C1", claim, metric, exp, _obs(d), v, why), fits, ["pix_k50", "mae"])


def c2(ft, fits) -> dict:
    claim, metric, exp = ("Gains persist after fine-tuning (P3, P4)", "FT(pix_k50) − FT(mae), paired by seed",
                          "> 0, all seeds > 0")
    d = paired(ft, "pix_k50", "mae", "ft_top1")
    if not len(d):
        return not_run("C2", claim, metric, exp, _missing(ft, ["pix_k50", "mae"], "finetune.conditions"))
    v, why = default_rule(d, 0.0, strict=True)
    return _guard(_row("C2", claim, metric, exp, _obs(d, name="ΔFT"), v, why), fits, ["pix_k50", "mae"])


def c3(table, fits) -> dict:
    claim = "Class-aligned tokens are best, class-independent tokens worst (P1)"
    metric, exp = "LP(oracle_k50) − LP(pix_k50) and LP(pix_k50) − LP(random_k50)", "both gaps > 0 in every seed"
    g1, g2 = paired(table, "oracle_k50", "pix_k50"), paired(table, "pix_k50", "random_k50")
    if not len(g1) or not len(g2):
        return not_run("C3", claim, metric, exp, _missing(table, ["oracle_k50", "pix_k50", "random_k50"]))
    enough = min(len(g1), len(g2)) >= NEED_SEEDS
    rep = enough and g1.mean() > 0 and g2.mean() > 0 and (g1 > 0).all() and (g2 > 0).all()
    ref = any(len(g) >= 2 and g.mean() < 0 and abs(g.mean()) > _sd(g) for g in (g1, g2))
    obs = f"oracle−pix: {_obs(g1, name='gap')}; pix−random: {_obs(g2, name='gap')}"
    note = "" if enough else f"fewer than {NEED_SEEDS} seeds"
    return _guard(_row("C3", claim, metric, exp, obs, verdict(rep, ref), note), fits,
                  ["oracle_k50", "pix_k50"])


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def c4(table, tcas, fits) -> dict:
    claim = "TCAS predicts downstream accuracy (P2)"
    metric = "Spearman ρ(tcas_recon, mean LP) over {oracle, pix, hog, teach, random} at K = 50"
    exp = "ρ ≤ −0.8 (strongly negative)"
    conds = [c for c in ("oracle_k50", "pix_k50", "hog_k50", "teach_k50", "random_k50")
             if table is not None and (table.cond == c).any() and (tcas.id.str.replace(r"_s\d+$", "", regex=True) == c).any()]
    if len(conds) < 4:
        return not_run("C4", claim, metric, exp, f"only {len(conds)} of the 5 K = 50 tokenizers were run")
    left_out = [c for c in ("oracle_k50", "pix_k50", "hog_k50", "teach_k50", "random_k50") if c not in conds]
    t = [float(tcas[(tcas.id.str.replace(r"_s\d+$", "", regex=True) == c) & (tcas["split"] == "train")
                    & (tcas["assign"] == "l2")].tcas_recon.mean()) for c in conds]
    lp = [float(table[table.cond == c].lp_top1_cls.mean()) for c in conds]
    rho = spearman(t, lp)
    obs = f"ρ = {rho:.3f} (tcas_recon) over " + ", ".join(f"{c}: TCAS {a:.3f} / LP {b * 100:.1f}"
                                                            for c, a, b in zip(conds, t, lp))
    note = "TCAS definition: tcas_recon (the spec's working definition; the paper's equation is not available)"
    if left_out:
        note += f"; {len(conds)} tokenizers only ({', '.join(left_out)} not run)"
    return _guard(_row("C4", claim, metric, exp, obs, verdict(rho <= -0.8, rho >= 0), note), fits,
                  [c for c in conds if c != "random_k50"])


def c5(tcas) -> dict:
    claim = "K-means tokenizers are better aligned than class-independent ones (P2)"
    metric, exp = "tcas_recon(pix_k50), tcas_recon(teach_k50, every seed) vs tcas_recon(random_k50)", "lower by ≥ 0.05"
    tr = tcas[(tcas["split"] == "train") & (tcas["assign"] == "l2")]
    base = tr.id.str.replace(r"_s\d+$", "", regex=True)
    r, pix, teach = tr[base == "random_k50"].tcas_recon, tr[base == "pix_k50"].tcas_recon, tr[base == "teach_k50"].tcas_recon
    if not len(r) or not len(pix) or not len(teach):
        return not_run("C5", claim, metric, exp, "random_k50, pix_k50 or teach_k50 not built")
    rv = float(r.mean())
    gaps = np.concatenate([[rv - float(pix.iloc[0])], rv - teach.to_numpy(float)])
    rep = bool((gaps >= 0.05).all())
    ref = bool((gaps < 0).any())
    obs = (f"tcas_recon: random {rv:.3f}, pix {float(pix.iloc[0]):.3f}, teach per seed "
           f"{', '.join(f'{v:.3f}' for v in teach)}")
    return _row("C5", claim, metric, exp, obs, verdict(rep, ref), "TCAS definition: tcas_recon")


def _mean_lp(table, c):
    s = table[table.cond == c].lp_top1_cls if table is not None and len(table) else []
    return float(np.mean(s)) if len(s) else None


def c6(table, fits) -> dict:
    claim = "Pixel tokens degrade at large K (P5)"
    metric, exp = "mean LP(pix_k200) − max(mean LP(pix_k10), mean LP(pix_k50))", "lower by ≥ 0.5 pp"
    m = {c: _mean_lp(table, c) for c in ("pix_k10", "pix_k50", "pix_k200")}
    if any(v is None for v in m.values()):
        return not_run("C6", claim, metric, exp, _missing(table, list(m)))
    d = m["pix_k200"] - max(m["pix_k10"], m["pix_k50"])
    obs = f"{d * 100:+.2f} pp (mean LP: " + ", ".join(f"{c} {v * 100:.2f}" for c, v in m.items()) + ")"
    return _guard(_row("C6", claim, metric, exp, obs, verdict(d <= -0.005, d >= 0.005)), fits, list(m))


def c7(table, fits) -> dict:
    claim = "Larger K does not hurt feature tokens (P5)"
    metric, exp = "mean LP(teach_k200) − mean LP(teach_k50)", "≥ −0.5 pp"
    a, b = _mean_lp(table, "teach_k200"), _mean_lp(table, "teach_k50")
    if a is None or b is None:
        return not_run("C7", claim, metric, exp, _missing(table, ["teach_k50", "teach_k200"]))
    d = a - b
    obs = f"{d * 100:+.2f} pp (teach_k200 {a * 100:.2f}, teach_k50 {b * 100:.2f})"
    return _guard(_row("C7", claim, metric, exp, obs, verdict(d >= -0.005, d < -0.015)), fits, ["teach_k50", "teach_k200"])


def c8(table, fits) -> dict:
    claim = "Feature tokens beat pixel tokens (P4: DINO > Pixel)"
    metric, exp = "LP(teach_k50) − LP(pix_k50), paired by seed", "> 0, all seeds > 0"
    d = paired(table, "teach_k50", "pix_k50")
    if not len(d):
        return not_run("C8", claim, metric, exp, _missing(table, ["teach_k50", "pix_k50"]))
    v, why = default_rule(d, 0.0, strict=True)
    note = ("the miniature teacher is an MAE trained on the same small train set, far weaker than DINO: not a "
            "test of the DINO claim at paper scale" + (f"; {why}" if why else ""))
    return _guard(_row("C8", claim, metric, exp, _obs(d), v, note), fits, ["teach_k50", "pix_k50"])


def c9(runs, tok_seconds: dict) -> dict:
    """Judged on CPU seconds per epoch where logged: on the shared 2-core machine an epoch's wall time
    measures the load beside it more than the work in it (wall ratio 1.9 in one loaded run where the CPU
    work per epoch differed by 13–17 %)."""
    claim = "ClusterMIM-Pixel needs no extra model and little overhead (P3 efficiency)"
    col = "epoch_cpu_seconds" if runs is not None and "epoch_cpu_seconds" in runs else "epoch_seconds"
    metric = (f"median {col}(pix_k50) / median {col}(mae); tokenizer build / pre-training time")
    exp = "ratio ≤ 1.2 and build ≤ 10 %"
    if runs is None or not {"pix_k50", "mae"} <= set(runs.cond):
        return not_run("C9", claim, metric, exp, _missing(runs, ["pix_k50", "mae"]))
    pix, mae = runs[runs.cond == "pix_k50"], runs[runs.cond == "mae"]
    ratio = float(np.median(pix[col])) / float(np.median(mae[col]))
    build = float(tok_seconds.get("pix_k50", float("nan")))
    share = build / float(pix.pretrain_seconds.mean())
    obs = f"ratio {ratio:.3f} ({col})"
    if col != "epoch_seconds":
        obs += f", wall-clock ratio {float(np.median(pix.epoch_seconds)) / float(np.median(mae.epoch_seconds)):.3f}"
    obs += f"; build {build:.2f} s = {share * 100:.1f} % of one pix_k50 pre-training run"
    note = ("single-thread CPU time per epoch (process time): the wall-clock ratio is shown beside it and moves with "
            "the shared machine's load" if col != "epoch_seconds" else
            "epoch wall times measured on a shared, loaded machine (2 runs in parallel)")
    return _row("C9", claim, metric, exp, obs, verdict(ratio <= 1.2 and share <= 0.10, ratio > 1.5), note)


# ---------------------------------------------------------------- checks and context
def checks(tcas, table, fits, fit_detail: str) -> list[dict]:
    rows = []
    tr = tcas[(tcas["split"] == "train") & (tcas["assign"] == "l2")]
    orc = tr[tr.kind == "oracle"]
    if len(orc):
        vals = orc.tcas_recon.to_numpy(float)
        rows.append(_row("A5-oracle", "tcas_recon of oracle (class-wise) tokens is exactly 0", "tcas_recon(oracle)",
                         "= 0", ", ".join(f"{v:.3g}" for v in vals), verdict(bool((vals == 0).all()), bool((vals != 0).any())),
                         "true by construction of the oracle tokenizer (no token shared across classes)", "check"))
    rnd = tr[tr.kind == "random"]
    if len(rnd):
        v = float(rnd.tcas_recon.min())
        rows.append(_row("A5-random", "class-independent random tokens give tcas_recon ≥ 0.95", "tcas_recon(random)",
                         "≥ 0.95", f"{v:.3f}", verdict(v >= 0.95, v < 0.95),
                         "true by construction (tokens drawn independently of labels), up to sampling noise", "check"))
    raw = table[table.cond == "raw_pixels"] if table is not None and len(table) else None
    if raw is not None and len(raw):
        v = float(raw.lp_top1_cls.mean())
        rows.append(_row("A7", "the linear probe works: raw-pixel LP ≥ 0.90 on digits", "LP(raw pixels)", "≥ 0.90",
                         f"{v * 100:.2f} %", verdict(v >= 0.9, v < 0.9), "a sanity check of the probe code, not a "
                         "claim of the paper", "check"))
    if fits:
        ok = all(fits.values())
        rows.append(_row("A9-fit", "every ClusterMIM / MAE run (except random tokens) fits: final loss ≤ ratio × first",
                         "final / first pre-training loss", "all ≤ ratio", fit_detail, verdict(ok, not ok),
                         "a training-health check; claims resting on a run that did not fit are withheld", "check"))
    return rows


def context(table, tcas) -> list[dict]:
    rows = []
    if table is not None and len(table):
        ref = {c: _mean_lp(table, c) for c in ("raw_pixels", "random_init", "mae", "pix_k50")}
        if ref["raw_pixels"] is not None and ref["random_init"] is not None:
            obs = ", ".join(f"{c} {v * 100:.2f}" for c, v in ref.items() if v is not None)
            rows.append(_row("REF", "reference encoders beside the pre-trained ones", "mean LP-CLS top-1 (%)",
                             "reported, not judged", obs, "inconclusive", "context: raw pixels are a strong baseline on "
                             "digits (spec §10); the claims are relative between tokenizers", "context"))
        d = paired(table, "mae_np", "mae")
        if len(d):
            rows.append(_row("MAE-np", "MAE with norm_pix vs without", "LP(mae_np) − LP(mae)", "reported, not judged",
                             _obs(d), "inconclusive", "context (spec §8): a baseline variant, not a claim", "context"))
    cos = tcas[(tcas["assign"] == "cosine") & (tcas["split"] == "train")]
    l2 = tcas[(tcas["assign"] == "l2") & (tcas["split"] == "train")]
    if len(cos):
        tid = cos.id.iloc[0]
        rows.append(_row("COS", f"cosine token assignment (--token_normalize) for {tid}", "tcas_recon, cosine vs L2",
                         "reported, not judged", f"cosine {float(cos.tcas_recon.iloc[0]):.3f} vs L2 "
                         f"{float(l2[l2.id == tid].tcas_recon.iloc[0]):.3f}", "inconclusive",
                         "context (spec §6): the variant is logged, not trained", "context"))
    return rows
