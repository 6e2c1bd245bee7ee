"""Each step declared once: dvc.yaml, code deps and the flows all come from the declarations."""

import ast
import sys
import textwrap
from pathlib import Path

import pytest

from components.core.codedeps import step_code_deps
from components.core.dvcgen import render, stages
from components.core.pipeline import Pipeline, Step
from flows.registry import PIPELINES, get_pipeline
from helpers import REPO


def test_committed_dvc_yaml_is_the_generated_one():
    expected = render([get_pipeline(s) for s in PIPELINES], REPO)
    assert (REPO / "dvc.yaml").read_text(encoding="utf-8") == expected, \
        "dvc.yaml differs from the step declarations: run `paperflows dvc` and commit it"


def test_known_drifts_are_caught_by_derived_deps():
    """The hand-written dvc.yaml missed these imports; derived deps cannot."""
    soul = stages(get_pipeline("soul"), REPO)["soul-evaluate"]["deps"]
    assert "components/soul/corpus.py" in soul
    physics = stages(get_pipeline("physics_gnn"), REPO)["physics_gnn-report"]["deps"]
    assert {"components/physics_gnn/graphs.py", "components/physics_gnn/systems.py"} <= set(physics)


def test_execution_knobs_are_never_stage_params():
    for slug in PIPELINES:
        for stage in stages(get_pipeline(slug), REPO).values():
            assert not [p for p in stage.get("params", []) if p.startswith("runtime") or "chunk" in p
                        or "batch_size" in p.split(".")[-1] and "train" not in p]


def _package(tmp_path, train_body: str) -> Path:
    pkg = tmp_path / "plantpkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("from plantpkg import leaf\n\ndef h():\n    return leaf.X\n")
    (pkg / "leaf.py").write_text("X = 1\n")
    (pkg / "other.py").write_text("Y = 2\n")
    (pkg / "steps.py").write_text(textwrap.dedent(f'''
        import os

        def _util():
            from plantpkg import helper
            return helper.h()

        def train(ctx):
        {textwrap.indent(train_body, "    ")}
            return _util()

        def report(ctx):
            from plantpkg import other
            return other.Y
        '''))
    return pkg


def _deps(tmp_path, train_body):
    _package(tmp_path, train_body)
    for name in [m for m in sys.modules if m.startswith("plantpkg")]:
        del sys.modules[name]
    sys.path.insert(0, str(tmp_path))
    try:
        from plantpkg import steps

        return step_code_deps(steps.train, tmp_path, package="plantpkg")
    finally:
        sys.path.remove(str(tmp_path))


def test_deps_follow_lazy_and_transitive_imports_of_the_step_only(tmp_path):
    deps = _deps(tmp_path, "pass")
    assert deps == ["plantpkg/helper.py", "plantpkg/leaf.py", "plantpkg/steps.py"]  # not other.py (report's)


def test_a_planted_import_changes_the_deps_and_so_fails_the_dvc_check(tmp_path):
    before = _deps(tmp_path, "pass")
    after = _deps(tmp_path, "from plantpkg import other  # planted")
    assert "plantpkg/other.py" not in before and "plantpkg/other.py" in after


def test_declarations_reject_reads_nobody_writes():
    def a(ctx): ...
    def b(ctx): ...
    with pytest.raises(ValueError, match="which no earlier step writes"):
        Pipeline("x", "X", object, (Step(a, writes={"o": "data/o"}), Step(b, reads={"i": "data/missing"})))


@pytest.mark.parametrize("slug", list(PIPELINES))
def test_flow_file_lists_the_declared_steps_in_order(slug):
    tree = ast.parse((REPO / "flows" / f"{slug}.py").read_text())
    called = [node.args[0].id for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Attribute) and node.func.attr == "step" and node.args]
    assert called == list(get_pipeline(slug).step_names)


def test_a_local_variable_named_like_a_helper_is_not_a_use(tmp_path):
    deps = _deps(tmp_path, "_util = lambda: 3  # a local that shadows the module's helper")
    assert deps == ["plantpkg/steps.py"]


def test_every_stage_depends_on_the_params_model():
    for slug in PIPELINES:
        module = get_pipeline(slug).params_model.__module__.replace(".", "/") + ".py"
        assert all(module in stage["deps"] for stage in stages(get_pipeline(slug), REPO).values())


def test_every_declared_param_key_is_in_params_yaml():
    """DVC reads stage params from params.yaml itself: a key left to a pydantic default breaks `dvc repro`."""
    import yaml

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    missing = []
    for slug in PIPELINES:
        for stage, spec in stages(get_pipeline(slug), REPO).items():
            for key in spec.get("params", []):
                node = params
                for part in key.split("."):
                    if not isinstance(node, dict) or part not in node:
                        missing.append(f"{stage}: {key}")
                        break
                    node = node[part]
    assert not missing, missing


def test_a_step_declared_with_a_bare_string_for_its_params_is_refused():
    from components.core.pipeline import Step

    def step(ctx):
        pass

    with pytest.raises(TypeError, match=r"\('seed',\)"):
        Step(step, params=("seed"))


def test_runs_with_other_params_write_their_own_folder_and_never_the_dvc_outputs(tmp_path):
    from components.core.paths import output_root

    assert output_root(tmp_path, "default", []) == tmp_path  # the project's own params: the DVC-tracked outputs
    assert output_root(tmp_path, "default", ["runtime.workers=1", "tracking.uri=http://x"]) == tmp_path
    assert output_root(tmp_path, "smoke", ["runtime.workers=1"]) == tmp_path / "runs" / "smoke"
    a = output_root(tmp_path, "default", ["whyshift.seed=3", "whyshift.data.rows.train=100"])
    b = output_root(tmp_path, "default", ["whyshift.data.rows.train=100", "runtime.workers=1", "whyshift.seed=3"])
    assert a == b and a.parent == tmp_path / "runs" and a.name.startswith("default-")  # one folder per params
    assert output_root(tmp_path, "default", ["whyshift.seed=4"]) != a
