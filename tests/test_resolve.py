"""Configuration resolution (:mod:`payhelp.resolve`): what a Payhelp is built from, each problem
found once, at construction, as a typed error."""

from __future__ import annotations

import pytest

from payhelp import ConfigurationError, InvalidInputError, Settings
from payhelp.resolve import apply_overrides, refund_policy, resolve, settings_from

from .conftest import SyntheticPlugin, make_info


def _resolved(**overrides: object):  # type: ignore[no-untyped-def]
    return resolve(
        load_entry_points=False,
        plugins=[("acme", SyntheticPlugin(make_info("acme")))],
        overrides=overrides,
    )


def test_ready_settings_are_used_as_they_are() -> None:
    ready = Settings(language="it")
    assert settings_from(ready, None, {}) is ready


@pytest.mark.parametrize(
    ("settings", "config", "overrides", "message"),
    [
        (Settings(), "payhelp.toml", {}, "not both"),
        (Settings(), None, {"language": "it"}, "not both"),
        ({"language": "it"}, None, {}, "settings is a payhelp.Settings"),
    ],
)
def test_settings_of_the_wrong_shape_are_refused(
    settings: object, config: str | None, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        settings_from(settings, config, overrides)  # type: ignore[arg-type]


def test_keyword_settings_win_and_the_language_defaults() -> None:
    assert _resolved().language == "en"
    resolved = _resolved(language="it")
    assert resolved.language == "it"
    assert resolved.language_or_default(None) == "it"
    assert resolved.language_or_default("en") == "en"
    with pytest.raises(InvalidInputError, match="language must be one of"):
        resolved.language_or_default("fr")


def test_overrides_reach_the_directory_and_settings_stay_a_copy() -> None:
    resolved = _resolved(
        processors={
            "acme": {"remove_channels": ["phone_us"], "settings": {"api_key": "k"}},
        }
    )
    assert "phone_us" not in resolved.directories["acme"].channels
    given = resolved.processor_settings("acme")
    given["api_key"] = "changed"
    assert resolved.processor_settings("acme") == {"api_key": "k"}
    assert resolved.processor_settings("unconfigured") == {}


def test_overrides_for_no_processor_are_a_typo() -> None:
    with pytest.raises(ConfigurationError, match="no plugin registers: acmee"):
        _resolved(processors={"acmee": {}})


def test_an_override_that_does_not_fit_names_the_processor() -> None:
    resolved = _resolved()
    broken = resolved.settings.model_copy(
        update={
            "processors": Settings.load(
                environ={}, processors={"acme": {"remove_channels": ["fax"]}}
            ).processors
        }
    )
    with pytest.raises(ConfigurationError, match=r"processor 'acme'.*fax"):
        apply_overrides(resolved.host, broken)


def test_a_refund_policy_change_that_does_not_fit_is_a_configuration_error() -> None:
    settings = Settings.load(environ={}, policies={"refund": {"disable": ["no_such_rule"]}})
    with pytest.raises(ConfigurationError, match="invalid refund policy"):
        refund_policy(settings)
