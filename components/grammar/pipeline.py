"""The ``grammar`` pipeline, declared once: each step with what it reads, writes and is parameterised by.

The Prefect flow, the CLI, the DVC stages (``paperflows dvc``) and the MLflow artifacts all come from here.
"""

from components.core.pipeline import Pipeline, Plot, Step
from components.grammar import steps
from components.grammar.params import GrammarParams

prepare = Step(
    steps.prepare,
    writes={"prepared": "data/prepared"},
    params=("seed", "db", "queries", "defects", "llm.paraphrase", "llm.max_calls", "llm.max_new_tokens",
            "llm.openai_compat", "paper"),
)
train = Step(
    steps.train,
    reads={"prepared": "data/prepared"},
    writes={"train": "data/train"},
    params=("seed", "reader", "retrieval.retrievers", "retrieval.bm25_k1", "retrieval.bm25_b", "queries.attributes",
            "queries.K"),
)
evaluate = Step(
    steps.evaluate,
    reads={"prepared": "data/prepared", "train": "data/train"},
    writes={"retrieval": "data/evaluate/retrieval", "results": "data/evaluate/results",
            "metrics": "data/evaluate/metrics.csv", "diagnosis": "data/evaluate/diagnosis.json",
            "reference_free": "data/evaluate/reference_free.json",
            "retrieval_top1": "data/evaluate/retrieval_top1.json",
            "llm_arm": "data/evaluate/llm_arm.json", "interop": "data/evaluate/interop.json"},
    params=("seed", "queries.attributes", "queries.K", "retrieval.retrievers", "retrieval.top_k", "evaluate",
            "llm.generator", "llm.judge", "llm.max_calls", "llm.max_new_tokens", "llm.openai_compat", "llm_arm",
            "g6_judge", "interop"),
    artifacts=("metrics", "diagnosis"),
)
report = Step.report(
    steps.report,
    reads={"metrics_csv": "data/evaluate/metrics.csv", "diagnosis": "data/evaluate/diagnosis.json",
           "reference_free": "data/evaluate/reference_free.json", "results": "data/evaluate/results",
           "llm_arm": "data/evaluate/llm_arm.json", "interop": "data/evaluate/interop.json",
           "defects": "data/prepared/defects.json", "train_summary": "data/train/train_summary.json"},
    params=("seed", "db.rows", "queries.templates", "queries.K", "queries.attributes", "queries.distractor_entity_prob",
            "queries.long_style",
            "defects.missing_docs.table", "retrieval.retrievers", "retrieval.top_k", "evaluate.readers",
            "evaluate.bootstrap", "evaluate.baseline_groups", "reader.epochs", "reader.lr"),
    plots=(Plot("accuracy_by_system", x="accuracy", y="system", template="bar_horizontal",
                title="grammar: accuracy of each RAG system on short and long queries (balanced sets)",
                x_label="accuracy", y_label="system · query attribute"),),
)

PIPELINE = Pipeline(
    slug="grammar",
    title="GRAMMAR: grounded, modular assessment of closed-domain RAG systems (Li, Liu & Gao, 2024)",
    params_model=GrammarParams,
    steps=(prepare, train, evaluate, report),
)
