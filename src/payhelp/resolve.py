"""Configuration resolution: from what a platform gives :class:`~payhelp.api.Payhelp` to what
it runs with.

:func:`resolve` reads the settings (ready :class:`~payhelp.config.Settings`, or a TOML file, the
environment and keyword settings, see :meth:`Settings.load`), loads the plugins they allow,
applies the platform's per-processor overrides to each contact directory and amends the default
refund policy. Every problem is found here, when the object is built, as one
:class:`~payhelp.errors.ConfigurationError` (or :class:`~payhelp.errors.InvalidInputError` for
arguments of the wrong shape), never at the first customer's call.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from payhelp.channels import ContactDirectory
from payhelp.config import Settings
from payhelp.errors import ConfigurationError, InvalidInputError, describe_validation_error
from payhelp.i18n import DEFAULT_LANGUAGE, Language
from payhelp.inputs import language as checked_language
from payhelp.inputs import plugin_pairs
from payhelp.plugins import PluginHost, get_plugin_manager
from payhelp.policies.refunds import DEFAULT_POLICY, RefundPolicy


@dataclass(frozen=True)
class Resolved:
    """Everything :class:`~payhelp.api.Payhelp` takes from its configuration."""

    settings: Settings
    """The settings in force."""
    host: PluginHost
    """The plugins loaded under them."""
    directories: Mapping[str, ContactDirectory]
    """Each registered processor's contact directory after the platform's overrides."""
    refund_policy: RefundPolicy
    """The default refund policy with the platform's changes."""

    @property
    def language(self) -> Language:
        """The language used when a call names none."""
        return self.settings.language or DEFAULT_LANGUAGE

    def language_or_default(self, language: object) -> Language:
        """A call's ``language=`` (checked), else the platform's."""
        return checked_language(language) or self.language

    def processor_settings(self, processor_id: str) -> dict[str, object]:
        """A copy of the settings the platform gives ``processor_id``'s plugin (base URL,
        credentials), empty when it gives none."""
        overrides = self.settings.processors.get(processor_id)
        return dict(overrides.settings) if overrides is not None else {}


def resolve(
    settings: Settings | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
    plugins: Iterable[tuple[str, object]] = (),
    load_entry_points: bool = True,
    overrides: Mapping[str, Any] | None = None,
) -> Resolved:
    """Settings, plugins, directories and refund policy for one :class:`~payhelp.api.Payhelp`
    (its parameters of the same names; ``overrides`` are its keyword settings)."""
    checked = settings_from(settings, config, overrides or {})
    host = get_plugin_manager(
        load_entry_points=load_entry_points,
        only=checked.load_plugins,
        disable=checked.disable_plugins,
        strict=checked.strict_plugins,
        extra=plugin_pairs(plugins),
        distributions=checked.plugin_distributions or None,
    )
    return Resolved(
        settings=checked,
        host=host,
        directories=apply_overrides(host, checked),
        refund_policy=refund_policy(checked),
    )


def settings_from(
    settings: Settings | None,
    config: str | os.PathLike[str] | None,
    overrides: Mapping[str, Any],
) -> Settings:
    """Ready ``settings``, or those read from ``config``, the environment and ``overrides``."""
    if settings is None:
        return Settings.load(config, **overrides)
    if config is not None or overrides:
        raise InvalidInputError(
            "give ready Settings, or a config file and keyword settings, not both"
        )
    if not isinstance(settings, Settings):
        raise InvalidInputError("settings is a payhelp.Settings (or give keyword settings)")
    return settings


def apply_overrides(host: PluginHost, settings: Settings) -> dict[str, ContactDirectory]:
    """Each registered processor's directory with the platform's ``[processors.<id>]``
    changes applied; :class:`ConfigurationError` for a change that does not fit, or for
    overrides of a processor no plugin could provide (a typo)."""
    directories: dict[str, ContactDirectory] = {}
    registered = host.processors()
    for pid, entry in registered.items():
        changes = settings.processors.get(pid)
        if changes is None:
            directories[pid] = entry.directory
            continue
        try:
            directories[pid] = changes.apply(entry.directory)
        except ValueError as exc:  # pydantic's ValidationError included
            detail = (
                describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
            )
            raise ConfigurationError(f"invalid overrides for processor {pid!r}: {detail}") from None
    # Overrides for a plugin that is disabled or failed to load (already reported) wait for it;
    # only a name no plugin could provide, a typo, is an error.
    absent = {record.name for record in host.records()}
    absent |= set(settings.disable_plugins)
    if settings.load_plugins is not None:
        absent |= set(host.installed_names()) - set(settings.load_plugins)
    unknown = set(settings.processors) - set(registered) - absent
    if unknown:
        raise ConfigurationError(
            "configuration names processors no plugin registers: " + ", ".join(sorted(unknown))
        )
    return directories


def refund_policy(settings: Settings) -> RefundPolicy:
    """The default refund policy amended by ``[policies.refund]``."""
    changes = settings.policies.refund
    try:
        return DEFAULT_POLICY.amended(
            add=changes.rules,
            disable=changes.disable,
            replace=changes.replace,
            name=changes.name,
        )
    except ValueError as exc:
        detail = describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
        raise ConfigurationError(f"invalid refund policy: {detail}") from None
