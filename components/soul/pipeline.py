"""The ``soul`` pipeline, declared once: each step with what it reads, writes and is parameterised by.

The Prefect flow, the CLI, the DVC stages (``paperflows dvc``) and the MLflow artifacts all come from here.
"""

from components.core.pipeline import Pipeline, Plot, Step
from components.soul import steps
from components.soul.params import SoulParams

prepare = Step(
    steps.prepare,
    writes={"corpus": "data/corpus"},
    params=("seed", "data", "model.hf_model_dir", "model.smollm2"),
)
train = Step(
    steps.train,
    reads={"corpus": "data/corpus"},
    writes={"models": "data/models", "runs": "data/runs.parquet", "runs_csv": "data/runs.csv",
            "mlflow_runs": "data/mlflow_runs.json"},
    params=("seed", "data.max_len", "model", "train", "unlearn"),
    artifacts=("runs_csv",),
)
evaluate = Step(
    steps.evaluate,
    reads={"corpus": "data/corpus", "models": "data/models", "runs": "data/runs.parquet",
           "mlflow_runs": "data/mlflow_runs.json"},
    writes={"eval": "data/eval", "eval_table": "data/eval.parquet", "influence": "data/influence_toy.json"},
    params=("seed", "train.retain_seeds", "evaluate", "influence"),
    artifacts=("eval_table",),
)
report = Step.report(
    steps.report,
    reads={"eval_table": "data/eval.parquet", "eval": "data/eval", "influence": "data/influence_toy.json",
           "manifest": "data/corpus/manifest.json", "models": "data/models"},
    params=("model.n_layer", "model.n_embd", "model.smollm2", "train.retain_seeds", "unlearn.lr_mults"),
    plots=(Plot("fq_mu_front", x="MU", y="log10_FQ_tofu", template="scatter",
                title="soul: forget quality vs model utility, every unlearning run and the reference models",
                x_label="model utility (MU)", y_label="log10 forget quality (TOFU KS p-value)"),),
)

PIPELINE = Pipeline(
    slug="soul",
    title="SOUL: second-order optimization for LLM unlearning (Jia et al., EMNLP 2024)",
    params_model=SoulParams,
    steps=(prepare, train, evaluate, report),
)
