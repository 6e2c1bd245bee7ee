"""Bad input through the real CLI: one clear message, exit code 2, no traceback, earlier outputs intact."""

import pytest

from helpers import REPO, free_port, run_cli


def assert_user_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.count("paperflows: error:") == 1 or proc.stderr.startswith("usage:"), proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


@pytest.mark.parametrize("args,needles", [
    (["run", "nosuchpaper"], ["unknown pipeline 'nosuchpaper'", "whyshift"]),
    (["run", "whyshift", "--step", "fit"], ["unknown step 'fit'", "prepare, train, evaluate, report"]),
    (["run", "whyshift", "--profile", "huge"], ["unknown profile 'huge'", "smoke, default, full, paper"]),
    (["run", "whyshift", "--set", "whyshift.train.epochs=3"], ["whyshift.train.epochs: unknown key", "mlp_epochs"]),
    (["run", "whyshift", "--set", "whyshift.train.n_estimators=lots"], ["whyshift.train.n_estimators", "'lots'"]),
    (["frobnicate"], ["invalid choice"]),
    (["run", "all", "--set", "nosuchpaper.seed=1"], ["'nosuchpaper' is not one of the pipelines being run"]),
    (["run", "whyshift", "--set", "soul.seed=1"], ["'soul' is not one of the pipelines being run", "whyshift"]),
])
def test_bad_usage_and_params(project, args, needles):
    assert_user_error(run_cli(args, project), *needles)


def test_missing_upstream_output_names_the_step_to_run(project):
    proc = run_cli(["run", "whyshift", "--profile", "smoke", "--step", "train"], project)
    assert_user_error(proc, "missing upstream output: runs/smoke/data/whyshift/prepared",
                      "paperflows run whyshift --profile smoke --step prepare")


def test_unreachable_mlflow_server(project):
    uri = f"http://127.0.0.1:{free_port()}"
    proc = run_cli(["run", "whyshift", "--profile", "smoke"], project, env={"MLFLOW_TRACKING_URI": uri})
    assert_user_error(proc, f"MLflow tracking server {uri} is unreachable", "unset MLFLOW_TRACKING_URI")


def test_unreachable_prefect_api(project):
    proc = run_cli(["run", "whyshift", "--profile", "smoke"], project,
                   env={"PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"})
    assert_user_error(proc, "Prefect API", "unreachable", "prefect server start")


def test_unreachable_dask_scheduler(project):
    proc = run_cli(["run", "whyshift", "--profile", "smoke"], project,
                   env={"PAPERFLOWS_DASK_ADDRESS": f"tcp://127.0.0.1:{free_port()}"})
    assert_user_error(proc, "Dask scheduler", "unreachable", "dask scheduler")


def test_serve_without_a_server_explains_what_to_start(project):
    assert_user_error(run_cli(["serve"], project), "needs a Prefect server", "PREFECT_API_URL")
    down = run_cli(["serve"], project, env={"PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"})
    assert_user_error(down, "unreachable", "make prefect-ui")
    assert "unset PREFECT_API_URL" not in down.stderr  # serve cannot use the temporary API


def test_list(project):
    proc = run_cli(["list"], project)
    assert proc.returncode == 0 and proc.stdout.startswith("whyshift ") and "Liu et al." in proc.stdout
    from flows.registry import PIPELINES

    listed = [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    assert listed == list(PIPELINES)
    assert all((REPO / "flows" / f"{slug}.py").exists() and (REPO / "components" / slug / "pipeline.py").exists()
               for slug in PIPELINES)
