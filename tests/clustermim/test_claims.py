"""Every verdict rule reaches each of its verdicts."""

import numpy as np
import pandas as pd

from components.clustermim import claims as C


def table(values: dict) -> pd.DataFrame:
    return pd.DataFrame([{"cond": c, "seed_index": i, "lp_top1_cls": v} for c, vs in values.items()
                         for i, v in enumerate(vs)])


def test_default_rule_three_ways():
    assert C.default_rule([0.02, 0.03, 0.015], 0.01)[0] == "reproduced"
    assert C.default_rule([-0.02, -0.03, -0.025], 0.01)[0] == "not reproduced"
    assert C.default_rule([0.02, -0.01, 0.03], 0.01)[0] == "inconclusive"
    assert C.default_rule([0.005, 0.006, 0.007], 0.01)[0] == "inconclusive"  # below threshold
    assert C.default_rule([0.02], 0.01)[0] == "inconclusive"  # one seed


def test_c1_c8_paired():
    up = table({"mae": [0.5, 0.6, 0.55], "pix_k50": [0.53, 0.62, 0.58], "teach_k50": [0.4, 0.5, 0.45]})
    assert C.c1(up, {})["verdict"] == "reproduced"
    assert C.c8(up, {})["verdict"] == "not reproduced"
    assert C.c1(table({"mae": [0.5, 0.6, 0.55], "pix_k50": [0.52, 0.58, 0.56]}), {})["verdict"] == "inconclusive"
    assert C.c1(up, {"mae": False})["verdict"] == "inconclusive"  # a run that did not fit withholds it
    assert C.c1(table({"mae": [0.5]}), {})["observed"].startswith("not run")


def test_c2_ft():
    ft = pd.DataFrame({"cond": ["mae"] * 3 + ["pix_k50"] * 3, "seed_index": [0, 1, 2] * 2,
                       "ft_top1": [0.9, 0.91, 0.92, 0.93, 0.94, 0.95]})
    assert C.c2(ft, {})["verdict"] == "reproduced"
    ft.loc[ft.cond == "pix_k50", "ft_top1"] = [0.8, 0.81, 0.82]
    assert C.c2(ft, {})["verdict"] == "not reproduced"


def test_c3_ordering():
    good = table({"oracle_k50": [0.9, 0.9, 0.9], "pix_k50": [0.7, 0.72, 0.71], "random_k50": [0.5, 0.52, 0.5]})
    assert C.c3(good, {})["verdict"] == "reproduced"
    bad = table({"oracle_k50": [0.6, 0.6, 0.6], "pix_k50": [0.7, 0.72, 0.71], "random_k50": [0.5, 0.52, 0.5]})
    assert C.c3(bad, {})["verdict"] == "not reproduced"
    mixed = table({"oracle_k50": [0.75, 0.7, 0.72], "pix_k50": [0.7, 0.72, 0.71], "random_k50": [0.5, 0.52, 0.5]})
    assert C.c3(mixed, {})["verdict"] == "inconclusive"


def tcas(vals: dict, split="train") -> pd.DataFrame:
    return pd.DataFrame([{"id": k, "kind": k.split("_")[0], "K": 50, "split": split, "assign": "l2", "tcas_recon": v}
                         for k, v in vals.items()])


def test_c4_spearman():
    t = tcas({"oracle_k50": 0.0, "pix_k50": 0.8, "hog_k50": 0.85, "teach_k50_s0": 0.7, "random_k50": 0.98})
    lp = table({"oracle_k50": [0.9], "teach_k50": [0.8], "pix_k50": [0.7], "hog_k50": [0.6], "random_k50": [0.5]})
    assert C.c4(lp, t, {})["verdict"] == "reproduced"
    inv = table({"oracle_k50": [0.5], "teach_k50": [0.6], "pix_k50": [0.7], "hog_k50": [0.8], "random_k50": [0.9]})
    assert C.c4(inv, t, {})["verdict"] == "not reproduced"
    mid = table({"oracle_k50": [0.9], "teach_k50": [0.6], "pix_k50": [0.8], "hog_k50": [0.5], "random_k50": [0.7]})
    assert C.c4(mid, t, {})["verdict"] == "inconclusive"
    assert "tcas_recon" in C.c4(lp, t, {})["note"]


def test_c5_alignment():
    ok = tcas({"random_k50": 0.98, "pix_k50": 0.8, "teach_k50_s0": 0.7, "teach_k50_s1": 0.75})
    assert C.c5(ok)["verdict"] == "reproduced"
    assert C.c5(tcas({"random_k50": 0.98, "pix_k50": 0.8, "teach_k50_s0": 0.99}))["verdict"] == "not reproduced"
    assert C.c5(tcas({"random_k50": 0.98, "pix_k50": 0.95, "teach_k50_s0": 0.7}))["verdict"] == "inconclusive"


def test_c6_c7_k_ablation():
    assert C.c6(table({"pix_k10": [0.7], "pix_k50": [0.72], "pix_k200": [0.69]}), {})["verdict"] == "reproduced"
    assert C.c6(table({"pix_k10": [0.7], "pix_k50": [0.72], "pix_k200": [0.75]}), {})["verdict"] == "not reproduced"
    assert C.c6(table({"pix_k10": [0.7], "pix_k50": [0.72], "pix_k200": [0.72]}), {})["verdict"] == "inconclusive"
    assert C.c7(table({"teach_k50": [0.7], "teach_k200": [0.698]}), {})["verdict"] == "reproduced"
    assert C.c7(table({"teach_k50": [0.7], "teach_k200": [0.68]}), {})["verdict"] == "not reproduced"
    assert C.c7(table({"teach_k50": [0.7], "teach_k200": [0.69]}), {})["verdict"] == "inconclusive"


def test_c9_efficiency():
    def logs(pix_s, build):
        rows = [{"cond": c, "seed_index": 0, "epoch_seconds": s, "pretrain_seconds": 10.0}
                for c, s in (("mae", 0.3), ("pix_k50", pix_s)) for _ in range(3)]
        return pd.DataFrame(rows), {"pix_k50": build}
    assert C.c9(*logs(0.33, 0.5))["verdict"] == "reproduced"
    assert C.c9(*logs(0.5, 0.5))["verdict"] == "not reproduced"
    assert C.c9(*logs(0.4, 0.5))["verdict"] == "inconclusive"
    assert C.c9(*logs(0.33, 5.0))["verdict"] == "inconclusive"  # build too costly


def test_c9_judges_cpu_seconds_when_logged():
    rows = [{"cond": c, "seed_index": 0, "epoch_seconds": wall, "epoch_cpu_seconds": cpu, "pretrain_seconds": 10.0}
            for c, wall, cpu in (("mae", 0.3, 0.3), ("pix_k50", 0.6, 0.31)) for _ in range(3)]
    row = C.c9(pd.DataFrame(rows), {"pix_k50": 0.5})
    assert row["verdict"] == "reproduced" and "wall-clock ratio 2.000" in row["observed"]
    assert "epoch_cpu_seconds" in row["metric"]


def test_not_run_rows_name_the_missing_conditions_and_the_profile():
    five = table({c: [0.9, 0.9, 0.9] for c in ("mae", "pix_k50", "oracle_k50", "random_k50", "teach_k50")})
    rows = C.in_profile([C.c6(five, {}), C.c7(five, {}), C.c1(five, {})], "default")
    assert rows[0]["observed"] == ("not run in default: pix_k10, pix_k200 not in pretrain.conditions "
                                   "(the full profile runs it)") and rows[0]["verdict"] == "inconclusive"
    assert "teach_k200 not in pretrain.conditions" in rows[1]["note"]
    assert not rows[2]["observed"].startswith("not run")  # a row that ran is left alone
    assert C.in_profile([C.c6(five, {})], "full")[0]["observed"].startswith("not run: pix_k10, pix_k200")


def test_c4_names_a_left_out_tokenizer():
    t = tcas({"oracle_k50": 0.0, "pix_k50": 0.8, "teach_k50_s0": 0.7, "random_k50": 0.98})
    lp = table({"oracle_k50": [0.9], "teach_k50": [0.8], "pix_k50": [0.7], "random_k50": [0.5]})
    row = C.c4(lp, t, {})
    assert row["verdict"] == "reproduced" and "4 tokenizers only (hog_k50 not run)" in row["note"]


def test_report_deviations_follow_the_profile():
    from pathlib import Path

    from components.clustermim.params import ClustermimParams
    from components.clustermim.report import deviations
    from components.core.params import load_config

    root = Path(__file__).resolve().parents[2]
    default = " ".join(deviations(load_config("clustermim", ClustermimParams, root, "default").params))
    full = " ".join(deviations(load_config("clustermim", ClustermimParams, root, "full").params))
    assert "left out of this profile" in default and "teach_k200" in default and "pre-trained 20 epochs" in default
    assert "left out" not in full and "pre-trained 30 epochs" in full
