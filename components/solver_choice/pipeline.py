"""The ``solver_choice`` pipeline, declared once (flow, CLI, DVC stages and MLflow artifacts derive from it)."""

from components.core.pipeline import Pipeline, Plot, Step
from components.solver_choice import steps
from components.solver_choice.params import SolverChoiceParams

prepare = Step(steps.prepare, writes={"prepared": "data/prepared"}, params=("seed", "data"))
train = Step(steps.train, reads={"prepared": "data/prepared"}, writes={"translators": "data/translators"},
             params=("seed", "data.source", "translators"))
evaluate = Step(steps.evaluate, reads={"prepared": "data/prepared", "translators": "data/translators"},
                writes={"evaluation": "data/evaluation"},
                params=("seed", "translators", "execution", "evaluate"))
report = Step.report(steps.report, reads={"prepared": "data/prepared", "translators": "data/translators",
                                          "evaluation": "data/evaluation"}, params=("seed",),
                     plots=(Plot("accuracy_vs_exe_rate", x="exe_rate", y="acc_strict", template="scatter",
                                 title="solver_choice: strict accuracy vs executable rate, every translator × "
                                       "solver language × dataset",
                                 x_label="executable rate", y_label="strict accuracy"),))

PIPELINE = Pipeline(
    slug="solver_choice",
    title="The choice of tool matters: NL → Z3 / Pyke / Prover9 programs (Lam, Thatikonda & Shareghi, ALTA 2024)",
    params_model=SolverChoiceParams,
    steps=(prepare, train, evaluate, report),
)
