"""Configuration: from a TOML file, the environment, or keyword arguments, in rising precedence.

This module reads and validates the settings (:meth:`Settings.load`); what they become for a
:class:`~payhelp.api.Payhelp` (the plugins loaded, each contact directory with the overrides
applied, the amended refund policy) is resolved by :mod:`payhelp.resolve`.

Example ``payhelp.toml``::

    [payhelp]
    disable_plugins = ["wtseticket"]
    language = "it"

    # Change a channel's value, or add a new channel, without code.
    [processors.paymentico.channels.email]
    value = "billing-help@example.com"
    provenance = [{source = "our billing team", confidence = "platform", checked_on = 2026-11-01}]

    # Replace the order for everyone (routes are tried first to last).
    [[processors.paymentico.routes]]
    steps = [{channel = "onsite", reason = "Our own billing desk answers within the hour."},
             {channel = "email", reason = "Write to Paymentico with your receipt."}]

    # Refund rules: change one (same id), add one, switch one off; see docs/policies.md.
    [policies.refund]
    disable = ["static_content"]
    [[policies.refund.rules]]
    id = "refund_window"
    when = {kind = "elapsed_over", hours = 72}
    outcome = "not_eligible"
    message = {en = "Refunds within 72 hours only.", it = "Rimborsi solo entro 72 ore."}

    # The dunning schedule (durations in ISO 8601: P7D is seven days, PT8H eight hours).
    [policies.dunning]
    grace = "P7D"
    retry_interval = "PT8H"
    max_attempts = 6
    final_action = "cancel"

    # Codes no decline table lists are held back; allow one reattempt a day after them instead.
    [policies.declines.unknown]
    retry = true
    retry_after = "P1D"
    max_retries = 1

    # Email submissions (processors without an API); without [smtp] they become .eml files.
    [smtp]
    host = "smtp.example.com"
    port = 587
    username = "billing@example.com"
    from_address = "billing@example.com"
    # password: in PAYHELP_SMTP_PASSWORD rather than in the file

Environment variables: ``PAYHELP_CONFIG`` (path of the file), ``PAYHELP_STORE_URL``,
``PAYHELP_REDIS_URL``, ``PAYHELP_REDIS_PREFIX``, ``PAYHELP_BROKER_URL``,
``PAYHELP_WORKER_QUEUE``, ``PAYHELP_OUTBOX``,
``PAYHELP_SMTP_PASSWORD``, ``PAYHELP_LOAD_PLUGINS`` and
``PAYHELP_DISABLE_PLUGINS`` (comma-separated plugin names), ``PAYHELP_STRICT_PLUGINS`` (``1`` to
raise on a plugin that fails to load), ``PAYHELP_PLUGIN_DISTRIBUTIONS`` (``segpay=acme-segpay,...``:
which distribution provides a processor id), ``PAYHELP_LANGUAGE``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from payhelp._base import Model
from payhelp.channels import ChannelRoute, ContactChannel, ContactDirectory
from payhelp.errors import ConfigurationError, describe_validation_error
from payhelp.i18n import Language, Text, language_tag
from payhelp.models import EMAIL_PATTERN, ProcessorId
from payhelp.policies.advice import DeclinePolicySettings
from payhelp.policies.dunning import DunningPolicy
from payhelp.policies.refunds import RefundRule
from payhelp.redact import short_echo


class SmtpSettings(Model):
    """The mail server submissions go through."""

    host: str = Field(min_length=1)
    """The server's host name."""
    port: int = Field(default=587, ge=1, le=65535)
    """Its port: 587 for STARTTLS, 465 for TLS, 25 for plain (local relays)."""
    security: str = Field(default="starttls", pattern=r"^(starttls|tls|none)$")
    """``starttls``, ``tls`` or ``none``."""
    username: str | None = None
    """The login, when the server needs one."""
    password: str | None = Field(default=None, repr=False, exclude=True)
    """Its password (never shown or dumped)."""
    from_address: str = Field(pattern=EMAIL_PATTERN)
    """The platform's sending address."""
    timeout: float = Field(default=30.0, gt=0, le=300)
    """Seconds to wait for the server."""


class ProcessorOverrides(Model):
    """A platform's changes to one processor, and the processor's own settings."""

    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Channel changes by key: fields merged into an existing channel, or a whole new channel."""
    remove_channels: tuple[str, ...] = ()
    """Channel keys to drop (and to skip wherever a route names them)."""
    routes: tuple[ChannelRoute, ...] | None = None
    """When given, replaces the processor's routes entirely."""
    include: tuple[Text, ...] | None = None
    """When given, replaces what customers must include in a message."""
    extra_warnings: tuple[Text, ...] = ()
    """Warnings added to every plan of this processor."""
    settings: dict[str, Any] = Field(default_factory=dict, repr=False, exclude=True)
    """Processor settings for its plugin (base URL, credentials); left out of reprs and dumps so
    they are never printed."""

    def apply(self, directory: ContactDirectory) -> ContactDirectory:
        """Return ``directory`` with these overrides applied and validated again."""
        channels: dict[str, ContactChannel] = dict(directory.channels)
        for key, changes in self.channels.items():
            base = channels[key].model_dump() if key in channels else {}
            if base and "value" in changes and "provenance" not in changes:
                raise ValueError(
                    f"channels.{key}: a new value needs its own provenance (source, confidence, "
                    "checked_on); the plugin's sources vouch only for the plugin's value"
                )
            channels[key] = ContactChannel.model_validate({**base, **changes}, strict=False)
        for key in self.remove_channels:
            if key not in channels:
                raise ValueError(
                    f"remove_channels names {short_echo(key)}, which is not one of its channels "
                    f"(known: {', '.join(sorted(channels))})"
                )
            del channels[key]
        routes = list(self.routes if self.routes is not None else directory.routes)
        kept_routes = []
        for route in routes:
            steps = tuple(step for step in route.steps if step.channel in channels)
            if steps:
                kept_routes.append(route.model_copy(update={"steps": steps}))
        return ContactDirectory.model_validate(
            {
                "channels": channels,
                "routes": kept_routes,
                "include": self.include if self.include is not None else directory.include,
                "warnings": (*directory.warnings, *self.extra_warnings),
            },
            strict=False,
        )


class RefundPolicySettings(Model):
    """A platform's changes to the default refund policy."""

    name: str | None = None
    """A name for the resulting policy, shown in answers."""
    replace: bool = False
    """Start from no rules instead of the default ones."""
    disable: tuple[str, ...] = ()
    """Ids of default rules to switch off."""
    rules: tuple[RefundRule, ...] = ()
    """Rules to add; one with a default rule's id replaces it in place."""


class PolicySettings(Model):
    """The customer policies a platform applies."""

    refund: RefundPolicySettings = RefundPolicySettings()
    """Changes to the refund policy."""
    dunning: DunningPolicy = DunningPolicy()
    """The schedule for failed subscription payments."""
    declines: DeclinePolicySettings = DeclinePolicySettings()
    """Decline advice: what to do with codes no table lists."""


class Settings(Model):
    """Everything an embedding platform can configure."""

    load_plugins: tuple[str, ...] | None = None
    """Only these installed plugins are loaded (all when ``None``)."""
    disable_plugins: tuple[str, ...] = ()
    """Installed plugins never loaded."""
    strict_plugins: bool = False
    """Raise instead of warning when a plugin fails to load."""
    plugin_distributions: dict[ProcessorId, str] = Field(default_factory=dict)
    """Processor id → the distribution trusted to provide it: a third-party plugin for a
    built-in id, or the choice between two that claim one (``PAYHELP_PLUGIN_DISTRIBUTIONS``,
    ``segpay=acme-segpay,...``)."""
    language: Language | None = None
    """Default language for customer-facing text (English when not set)."""
    processors: dict[ProcessorId, ProcessorOverrides] = Field(default_factory=dict)
    """Per-processor overrides and settings."""
    policies: PolicySettings = PolicySettings()
    """Refund policy and dunning schedule."""
    smtp: SmtpSettings | None = None
    """The mail server email submissions go through; without one they are written as ``.eml``
    files in ``outbox``."""
    outbox: Path | None = None
    """Where ``.eml`` files go (``<user data dir>/payhelp/outbox`` by default)."""
    store_url: str | None = Field(default=None, repr=False, exclude=True)
    """The submission store: any SQLAlchemy URL (SQLite in the user data directory by
    default)."""
    redis_url: str | None = Field(default=None, repr=False, exclude=True)
    """A Redis that every worker shares (the ``redis`` extra): the processors' rate limit
    schedules and the notification dedupe (see :mod:`payhelp.shared`). Each process keeps its
    own when not set."""
    redis_prefix: str = Field(default="payhelp:", min_length=1, max_length=100)
    """What every key payhelp writes in Redis starts with: give two installations sharing one
    Redis different prefixes."""
    broker_url: str | None = Field(default=None, repr=False, exclude=True)
    """The Celery broker of payhelp's own worker app (:mod:`payhelp.workers`, the ``celery``
    extra); a platform that registers payhelp's tasks in its own Celery app uses that app's."""
    worker_queue: str = Field(default="payhelp", pattern=r"^[A-Za-z0-9_.:-]{1,100}$")
    """The queue payhelp's own worker app sends its tasks to and its workers take them from."""

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Read the file (``path`` or ``$PAYHELP_CONFIG``), then the environment, then
        ``overrides``; later sources win. Raises :class:`ConfigurationError` on any problem."""
        env = os.environ if environ is None else environ
        if not isinstance(env, Mapping):
            raise ConfigurationError("environ is a mapping of names to values")
        if path is not None and (
            isinstance(path, bytes) or not isinstance(path, str | os.PathLike)
        ):
            raise ConfigurationError("the configuration file is named by a path (a str or a Path)")
        data: dict[str, Any] = {}
        file = path if path is not None else env.get("PAYHELP_CONFIG") or None
        if file is not None:
            data.update(_read_toml(Path(file)))
        data.update(_from_environment(env))
        data.update({k: v for k, v in overrides.items() if v is not None})
        password = env.get("PAYHELP_SMTP_PASSWORD")
        if password and isinstance(data.get("smtp"), dict) and not data["smtp"].get("password"):
            data["smtp"] = {**data["smtp"], "password": password}
        elif password and isinstance(data.get("smtp"), SmtpSettings) and not data["smtp"].password:
            data["smtp"] = data["smtp"].model_copy(update={"password": password})
        try:
            return cls.model_validate(data, strict=False)
        except ValidationError as exc:
            where = f" in {file}" if file is not None else ""
            message = describe_validation_error(exc)
            raise ConfigurationError(f"invalid configuration{where}: {message}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    name = str(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigurationError(f"configuration file {name!r} does not exist") from None
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read configuration file {name!r}: {exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"configuration file {name!r} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"configuration file {name!r} is not valid TOML: {exc}") from None
    except ValueError:  # a NUL or an unencodable character in the path
        raise ConfigurationError(f"configuration file {name!r} is not a valid path") from None
    unknown = set(raw) - {"payhelp", "processors", "policies", "smtp"}
    if unknown:
        raise ConfigurationError(
            f"configuration file {name!r} has unknown tables: {', '.join(sorted(unknown))}"
        )
    for table in ("payhelp", "processors", "policies", "smtp"):
        if table in raw and not isinstance(raw[table], dict):
            raise ConfigurationError(f"configuration file {name!r}: [{table}] must be a table")
    data: dict[str, Any] = dict(raw.get("payhelp", {}))
    for table in ("processors", "policies", "smtp"):
        if table in raw:
            data[table] = raw[table]
    return data


def _names(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _pairs(name: str, value: str) -> dict[str, str]:
    """``a=x,b=y`` as a mapping; :class:`ConfigurationError` for anything else."""
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        key, sep, target = (x.strip() for x in part.partition("="))
        if not sep or not key or not target:
            raise ConfigurationError(f"{name}: write processor=distribution pairs, comma-separated")
        pairs[key] = target
    return pairs


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if "PAYHELP_LOAD_PLUGINS" in env:
        data["load_plugins"] = _names(env["PAYHELP_LOAD_PLUGINS"])
    if "PAYHELP_DISABLE_PLUGINS" in env:
        data["disable_plugins"] = _names(env["PAYHELP_DISABLE_PLUGINS"])
    if env.get("PAYHELP_STRICT_PLUGINS"):
        data["strict_plugins"] = env["PAYHELP_STRICT_PLUGINS"].lower() in {"1", "true", "yes"}
    if env.get("PAYHELP_PLUGIN_DISTRIBUTIONS"):
        data["plugin_distributions"] = _pairs(
            "PAYHELP_PLUGIN_DISTRIBUTIONS", env["PAYHELP_PLUGIN_DISTRIBUTIONS"]
        )
    if env.get("PAYHELP_STORE_URL"):
        data["store_url"] = env["PAYHELP_STORE_URL"]
    for name in ("redis_url", "redis_prefix", "broker_url", "worker_queue"):
        if env.get(f"PAYHELP_{name.upper()}"):
            data[name] = env[f"PAYHELP_{name.upper()}"]
    if env.get("PAYHELP_OUTBOX"):
        data["outbox"] = env["PAYHELP_OUTBOX"]
    if env.get("PAYHELP_LANGUAGE"):
        language = language_tag(env["PAYHELP_LANGUAGE"])
        if language is None:
            raise ConfigurationError(
                f"PAYHELP_LANGUAGE={short_echo(env['PAYHELP_LANGUAGE'], 20)}: payhelp speaks "
                "en and it"
            )
        data["language"] = language
    return data
