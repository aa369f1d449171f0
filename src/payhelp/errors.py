"""The one error tree every part of payhelp and every plugin raises from.

Library callers catch :class:`PayhelpError`; the CLI turns any of these into one line on stderr.
Input problems (:class:`InvalidInputError` and its children) are the caller's to fix and map to
exit code 2; the rest are environment or processor problems.
"""

from __future__ import annotations


class PayhelpError(Exception):
    """Base of every error payhelp raises on purpose."""

    def __init__(self, message: str, *, processor: str | None = None) -> None:
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
        super().__init__(f"unknown processor {processor!r} (known: {choices})", processor=processor)
        self.known = sorted(known)


class ConfigurationError(PayhelpError):
    """A configuration file or environment variable is malformed or contradicts itself."""


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


class PluginLoadWarning(UserWarning):
    """Issued when a plugin fails to load and payhelp carries on without it."""
