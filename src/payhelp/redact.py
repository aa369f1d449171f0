"""Masking card numbers in any text that leaves payhelp (errors, JSON error lines, logs).

A card number is a run of 12 to 19 digits, possibly grouped by spaces or dashes, that passes the
Luhn check. It is replaced by ``[card …1111]``, keeping only the last four digits. Runs of 12 or
more digits that fail the check are masked too when they stand where an identifier was expected to
be short; see :func:`short_echo`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

_CANDIDATE = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){11,18}(?![0-9])")


def luhn_valid(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn checksum."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group())
    if not luhn_valid(digits):
        return match.group()
    return f"[card …{digits[-4:]}]"


def mask_card_numbers(text: str) -> str:
    """``text`` with every Luhn-valid card-number-like run replaced by its last four digits."""
    if len(text) < 12:
        return text
    return _CANDIDATE.sub(_mask, text)


def short_echo(value: str, limit: int = 40) -> str:
    """A value safe to repeat in an error message: card numbers masked, long values cut."""
    masked = mask_card_numbers(value)
    if len(masked) > limit:
        masked = masked[: limit - 1] + "…"
    return repr(masked)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with card numbers masked and every secret value (API keys, passwords, tokens)
    replaced by ``[secret]``; for anything about a request that may be logged or raised."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "[secret]")
        for encoded in {quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret)}:
            if encoded != secret:
                text = text.replace(encoded, "[secret]")
    return mask_card_numbers(text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks card numbers (and given secrets) in every record it passes.

    payhelp installs one on its ``payhelp`` logger; a platform can add it to its own handlers.
    """

    def __init__(
        self, secrets: Iterable[str] = (), provider: Callable[[], Iterable[str]] | None = None
    ) -> None:
        super().__init__()
        self.secrets = tuple(secrets)
        self.provider = provider

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        known = (*self.secrets, *(self.provider() if self.provider is not None else ()))
        cleaned = scrub(message, known)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
