"""The one error tree every part of payhelp and every plugin raises from.

Library callers catch :class:`PayhelpError`; the CLI turns any of these into one line on stderr.
Input problems (:class:`InvalidInputError` and its children) are the caller's to fix and map to
exit code 2; the rest are environment or processor problems.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from payhelp.redact import mask_card_numbers, short_echo

if TYPE_CHECKING:
    from pydantic import ValidationError


class PayhelpError(Exception):
    """Base of every error payhelp raises on purpose. Card numbers in the message are masked."""

    def __init__(self, message: str, *, processor: str | None = None) -> None:
        message = mask_card_numbers(message)
        super().__init__(message)
        self.message = message
        #: The processor id the error concerns, when there is one.
        self.processor = processor

    def __str__(self) -> str:
        return self.message


class InvalidInputError(PayhelpError, ValueError):
    """The caller gave something payhelp cannot use; the message says what and how to fix it."""


class UnknownProcessorError(InvalidInputError, LookupError):
    """No loaded plugin registers a processor with this id."""

    def __init__(self, processor: str, known: list[str]) -> None:
        choices = ", ".join(sorted(known)) or "none loaded"
        super().__init__(
            f"unknown processor {short_echo(processor)} (known: {choices})", processor=processor
        )
        self.known = sorted(known)


class ConfigurationError(InvalidInputError):
    """A configuration file or environment variable is malformed or contradicts itself (the
    caller's to fix, like any input)."""


class PluginError(PayhelpError):
    """A plugin could not be imported, registered, or broke the hook contract."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r}: {message}")
        #: The plugin's name (its entry-point name for installed plugins).
        self.plugin = plugin


class PluginLoadError(PluginError):
    """Raised in strict mode when a plugin fails to load; otherwise recorded and warned about."""


class CapabilityError(PayhelpError):
    """The processor (or its plugin) cannot do what was asked; the message names the alternative."""


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each invalid field and why, never echoing the rejected input (card numbers
    are masked even where a caller put one in a field name)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(
            part if isinstance(part, str) and len(part) <= 40 else short_echo(str(part), 20)
            for part in map(str, error["loc"])
        )
        parts.append(f"{where or 'input'}: {error['msg']}")
    return mask_card_numbers("; ".join(parts))


class PluginLoadWarning(UserWarning):
    """Issued when a plugin fails to load and payhelp carries on without it."""
