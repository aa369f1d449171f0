"""Masking card numbers in any text that leaves payhelp (errors, JSON error lines, logs).

A card number is a run of 12 to 19 digits, possibly grouped by spaces or dashes, that passes the
Luhn check. It is replaced by ``[card …1111]``, keeping only the last four digits. Runs of 12 or
more digits that fail the check are masked too when they stand where an identifier was expected to
be short; see :func:`short_echo`.
"""

from __future__ import annotations

import re

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
