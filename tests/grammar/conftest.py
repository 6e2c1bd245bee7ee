"""Fixtures for the grammar tests: params of the smoke and default profiles, generated data."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REPO


def load_params(profile: str, overrides: tuple[str, ...] = ()):
    from components.core.params import load_config
    from components.grammar.params import GrammarParams

    return load_config("grammar", GrammarParams, REPO, profile, list(overrides)).params


def generate_data(params, directory: Path):
    from components.grammar.generate import generate
    from components.grammar.llm import RulesLLM

    llm = RulesLLM(params.queries.long_min_words, params.queries.distractor_entity_prob, params.queries.long_style)
    return generate(params, directory / "db.sqlite", directory / "db_train.sqlite", llm)


@pytest.fixture(scope="session")
def build_data():
    """``generate_data(params, directory)``, for tests that generate more than once."""
    return generate_data


@pytest.fixture(scope="session")
def smoke_params():
    return load_params("smoke")


@pytest.fixture(scope="session")
def default_params():
    return load_params("default")


@pytest.fixture(scope="session")
def smoke_data(smoke_params, tmp_path_factory):
    return generate_data(smoke_params, tmp_path_factory.mktemp("smoke-data"))


@pytest.fixture(scope="session")
def default_data(default_params, tmp_path_factory):
    return generate_data(default_params, tmp_path_factory.mktemp("default-data"))
