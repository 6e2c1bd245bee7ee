"""The soul declarations (what each step reads, writes, imports) and the seed block behind the stability check."""

import json

from components.core.dvcgen import stages
from components.core.params import load_config
from components.core.pipeline import run_pipeline
from components.soul.jobs import unlearn_cost
from components.soul.params import SoulParams
from components.soul.pipeline import PIPELINE
from components.soul.runs import expand_runs
from helpers import REPO, copy_project


def test_each_step_depends_on_its_own_code_only():
    deps = {name.removeprefix("soul-"): set(stage["deps"]) for name, stage in stages(PIPELINE, REPO).items()}
    # evaluate imports corpus.py through evaluation.py/model.py (the drift of the hand-written dvc.yaml)
    assert {"components/soul/corpus.py", "components/soul/evaluation.py", "data/soul/models"} <= deps["evaluate"]
    # the unlearning code is train's, the metrics are evaluate's: editing one does not rerun the other
    assert not {"components/soul/unlearn.py", "components/soul/jobs.py", "components/soul/runs.py"} & deps["evaluate"]
    assert not {"components/soul/evaluation.py", "components/soul/influence.py"} & deps["train"]
    assert not {"components/soul/model.py", "components/soul/claims.py"} & deps["prepare"]
    assert "components/soul/claims.py" in deps["report"] and "components/soul/unlearn.py" not in deps["report"]


def test_declared_params_are_the_keys_the_steps_read():
    params = {s.name: set(s.params) for s in PIPELINE.steps}
    assert params["prepare"] == {"seed", "data", "model.hf_model_dir", "model.smollm2"}
    assert "unlearn" in params["train"] and "evaluate" not in params["train"]
    assert "unlearn" not in params["evaluate"] and {"seed", "influence"} <= params["evaluate"]
    # the report names retain_s<k>, the model (size, or SmolLM2) and the γ-swap learning rate, nothing else
    assert params["report"] == {"model.n_layer", "model.n_embd", "model.smollm2", "train.retain_seeds",
                                "unlearn.lr_mults"}


def test_a_second_seed_block_is_disjoint_and_keeps_the_pairing():
    base = load_config("soul", SoulParams, REPO, "default").params
    other = load_config("soul", SoulParams, REPO, "default", ["soul.seed=1000"]).params
    a, b = expand_runs(base.unlearn, base.seed), expand_runs(other.unlearn, other.seed)
    assert len(a) == len(b) and not {r["seed"] for r in a} & {r["seed"] for r in b}
    assert not {r["run_id"] for r in a} & {r["run_id"] for r in b}
    assert {r["seed"] for r in b} == {1000 + s for s in base.unlearn.seeds}
    # SO and FO runs of one seed still pair up (the claims' Δ_s)
    for runs in (a, b):
        by_seed = {}
        for r in runs:
            if r["block"] == "main":
                by_seed.setdefault(r["seed"], set()).add(r["optimizer"])
        assert all(opts == {"adamw", "sophia_soul"} for opts in by_seed.values())


def test_matched_gamma_and_clip_block():
    """C1 at matched γ: both optimizers run the same γ grid; the clip block mirrors it at the clip ρ."""
    base = load_config("soul", SoulParams, REPO, "default").params
    u = base.unlearn.model_copy(update={"matched_gamma": True, "clip_rho": 1e-4, "objectives": ["graddiff"],
                                        "ref_objectives": [], "rho_sweep": [], "gamma_swap": False})
    runs = expand_runs(u)
    grid = {}
    for r in runs:
        grid.setdefault((r["block"], r["optimizer"]), set()).add((r["lr_mult"], r["gamma"]))
    want = {(m, g) for m in u.lr_mults for g in {u.gamma["adamw"]["graddiff"], u.gamma["sophia_soul"]["graddiff"]}}
    assert grid[("main", "adamw")] == grid[("main", "sophia_soul")] == grid[("clip", "sophia_soul")] == want
    assert {r["rho"] for r in runs if r["block"] == "clip"} == {1e-4}


def test_unlearning_cost_orders_objectives_by_passes_per_step():
    cfg = {"optimizer": "adamw", "gamma": 1.0}
    cost = {o: unlearn_cost({**cfg, "objective": o}) for o in ("ga", "graddiff", "npo", "po")}
    assert cost["ga"] < cost["graddiff"] == cost["po"] < cost["npo"]
    assert unlearn_cost({**cfg, "objective": "graddiff", "gamma": 0.0}) == cost["ga"]
    assert unlearn_cost({**cfg, "objective": "ga", "optimizer": "sophia_ref"}) > cost["ga"]


def test_prepare_draws_the_corpus_from_the_pipeline_seed(tmp_path):
    from components.core.paths import output_root
    from components.soul.corpus import build_corpus

    root = copy_project(tmp_path / "p")
    run_pipeline(PIPELINE, "smoke", ["prepare"], ["soul.seed=1000"], root=root)
    out = output_root(root, "smoke", ["soul.seed=1000"])  # other params than the project's: their own folder
    corpus = out / "data" / "soul" / "corpus"
    manifest = json.loads((corpus / "manifest.json").read_text())
    p = load_config("soul", SoulParams, root, "smoke").params.data
    assert manifest["knobs"]["seed"] == p.seed + 1000
    forget = [json.loads(line)["question"] for line in (corpus / "forget.jsonl").read_text().splitlines()]
    shifted = build_corpus(p.model_copy(update={"seed": p.seed + 1000}))
    assert forget == [r["question"] for r in shifted.splits["forget"]]
    assert forget != [r["question"] for r in build_corpus(p).splits["forget"]]  # another block, another corpus
    report = json.loads((corpus / "ge_validation.json").read_text())
    assert report[0]["suite"] == "soul-corpus" and report[0]["success"] and not report[0]["failed"]
    staging = out / "data" / "soul" / ".staging"
    assert not staging.exists() or not any(staging.iterdir())  # published, nothing left behind
