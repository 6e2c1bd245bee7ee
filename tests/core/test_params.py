import pytest

from components.core.errors import UserError
from components.core.params import deep_merge, flatten, load_config
from components.whyshift.params import WhyshiftParams


def test_default_profile_is_params_yaml(project):
    cfg = load_config("whyshift", WhyshiftParams, project)
    assert cfg.profile == "default"
    assert cfg.params.data.settings == [1, 5, 10, 11, 16, 19, 21]
    assert cfg.runtime.workers == 2 and cfg.tracking.uri is None


def test_smoke_overlay_merges_on_top_of_defaults(project):
    cfg = load_config("whyshift", WhyshiftParams, project, profile="smoke")
    assert cfg.params.data.settings == [1]
    assert cfg.params.data.rows.train == 400
    # keys the overlay does not mention keep their default values
    default = load_config("whyshift", WhyshiftParams, project)
    assert cfg.params.data.worlds["syn_accident"] == default.params.data.worlds["syn_accident"]
    assert cfg.params.evaluate.disde.min_total == 0.05
    assert cfg.runtime.workers == 1


def test_set_overrides_are_typed_and_win(project):
    cfg = load_config("whyshift", WhyshiftParams, project, "smoke",
                      ["whyshift.seed=7", "whyshift.data.settings=[1, 5]", "runtime.workers=3"])
    assert cfg.params.seed == 7 and cfg.params.data.settings == [1, 5] and cfg.runtime.workers == 3
    assert cfg.raw["seed"] == 7


def test_unknown_key_names_path_and_valid_keys(project):
    with pytest.raises(UserError) as err:
        load_config("whyshift", WhyshiftParams, project, overrides=["whyshift.train.epochs=3"])
    text = str(err.value)
    assert "whyshift.train.epochs: unknown key" in text
    assert "mlp_epochs" in text and "n_estimators" in text


def test_ill_typed_value_names_path_value_and_expectation(project):
    with pytest.raises(UserError) as err:
        load_config("whyshift", WhyshiftParams, project, overrides=["whyshift.train.n_estimators=many"])
    text = str(err.value)
    assert "whyshift.train.n_estimators" in text and "'many'" in text and "integer" in text


@pytest.mark.parametrize("bad", ["whyshift.data.settings=[0]", "whyshift.data.worlds.syn_income.p_r=2",
                                 "runtime.workers=0"])
def test_out_of_range_values_fail(project, bad):
    with pytest.raises(UserError, match="invalid params"):
        load_config("whyshift", WhyshiftParams, project, overrides=[bad])


def test_unknown_profile_and_malformed_set(project):
    with pytest.raises(UserError, match="unknown profile 'huge'"):
        load_config("whyshift", WhyshiftParams, project, profile="huge")
    with pytest.raises(UserError, match="key.path=value"):
        load_config("whyshift", WhyshiftParams, project, overrides=["whyshift.seed"])
    with pytest.raises(UserError, match="unknown top-level key 'soul'"):
        load_config("whyshift", WhyshiftParams, project, overrides=["soul.seed=1"])


def test_merge_and_flatten():
    assert deep_merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2]}}) == {"a": {"b": 1, "c": [2]}}
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": {}}) == {"a.b": 1, "a.c.d": [1, 2], "e": {}}
