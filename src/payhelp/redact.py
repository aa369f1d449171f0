"""Finding and masking card numbers in any text that enters or leaves payhelp.

A card number is a run of 13 to 19 digits that passes the Luhn check. People and programs write
one in many ways, and every one of them is recognised: grouped by spaces (any Unicode space),
dashes, dots, ``+``, ``_`` or ``/``; with those separators percent-encoded (``%20``, ``%2D``,
``%2B``, ``%2F``…, also encoded twice, ``%2520``) or escaped as in JSON (``\\u00a0``); written
in full-width or other Unicode decimal digits, or in characters NFKC turns into digits; and with
invisible characters (zero-width spaces, joiners, soft hyphens) between the digits.

:func:`find_card_number` says whether a value holds one (input is refused with it, see
:mod:`payhelp._base`); :func:`mask_card_numbers` replaces each by ``[card …1111]``, keeping only
the last four digits, in everything payhelp writes or raises. A run of separated digit groups is
searched group by group, so a card number followed by another number (``4111 1111 1111 1111
2026``) is still found; one unbroken run of 20 or more digits is an identifier, not a card.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import quote, quote_plus

#: Shortest and longest card numbers (ISO/IEC 7812 numbers issued for payment cards).
MIN_DIGITS = 13
MAX_DIGITS = 19

#: Characters that show nothing: Unicode format characters (category Cf: zero-width space and
#: joiners, soft hyphen, direction marks, word joiner, byte-order mark, tags), the combining
#: grapheme joiner, Hangul fillers and variation selectors. They are dropped wherever text is
#: compared, and never separate what they stand between (``tests/test_card_numbers.py`` checks
#: the list against the Unicode database).
INVISIBLE = (
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f"
    "\ufeff\uffa0\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef"
)
_INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")

#: Characters that are not decimal digits but that NFKC turns into one (superscripts,
#: subscripts, circled digits). Decimal digits of every script are ``\d``.
_DIGIT_LOOKALIKES = (
    "\u00b2\u00b3\u00b9\u2070\u2074\u2075\u2076\u2077\u2078\u2079\u2080\u2081\u2082\u2083"
    "\u2084\u2085\u2086\u2087\u2088\u2089\u2460\u2461\u2462\u2463\u2464\u2465\u2466\u2467"
    "\u2468\u24ea"
)
_DIGIT = rf"[\d{_DIGIT_LOOKALIKES}]"

# What may stand between the digits of one card number. Percent and JSON escapes come first, so
# that the digits inside ``%20`` or ``\u0020`` are never read as the card's.
_PERCENT = (
    r"%(?:25(?:20|2[BbDdEeFf]|5[Ff])|20|09|0[AaDd]|2[BbDdEeFf]|5[Ff]|[Cc]2%[Aa]0|[Cc]2%[Aa][Dd]"
    r"|[Cc]2%[Bb]7|[Ee]2%80%(?:[89][0-9A-Fa-f]|[Aa][0-9A-Fa-f])|[Ee]2%81%(?:[Aa][0-4])"
    r"|[Ee]3%80%80|[Ee][Ff]%[Bb][Bb]%[Bb][Ff])"
)
_ESCAPE = (
    r"\\(?:[nrt]|x(?:20|[Aa]0|[Aa][Dd])|u(?:00[Aa]0|00[Aa][Dd]|00[Bb]7|002[0BbDdEeFf]|005[Ff]"
    r"|20[0-2][0-9A-Fa-f]|206[0-4]|2212|3000|[Ff][Ee][Ff][Ff]|[Ff][Ff]0[BbDdEeFf]))"
)
_LITERAL = (
    r"[\s+\-./_\u00b7\u2010-\u2015\u2022\u2024\u2027\u2043\u2044\u2212\u2215\u2219\u30fb"
    rf"\ufe58\ufe63\uff0b\uff0d\uff0e\uff0f\uff3f\uff61{INVISIBLE}]"
)
_SEPARATOR = f"(?:{_PERCENT}|{_ESCAPE}|{_LITERAL})"
# A run of digits joined by at most three separators at a time. It never starts inside a
# percent or backslash escape (the ``20`` of ``%20``).
_RUN = re.compile(
    r"(?<!%)(?<!%[0-9A-Fa-f])(?<!\\u)(?<!\\u[0-9A-Fa-f])(?<!\\u[0-9A-Fa-f]{2})"
    rf"(?<!\\u[0-9A-Fa-f]{{3}})(?<!\\x)(?<!\\x[0-9A-Fa-f]){_DIGIT}(?:{_SEPARATOR}{{0,3}}{_DIGIT})*"
)
_TOKEN = re.compile(f"(?P<sep>{_SEPARATOR})|(?P<digit>{_DIGIT})")
_ASCII_DIGITS = "0123456789"
_LOOKALIKE_VALUES = {char: int(unicodedata.normalize("NFKC", char)) for char in _DIGIT_LOOKALIKES}


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


def strip_invisible(text: str) -> str:
    """``text`` without the characters that show nothing (see :data:`INVISIBLE`)."""
    return text if text.isascii() else _INVISIBLE_RE.sub("", text)


def _may_hold_card(text: str) -> bool:
    """A cheap first look: too short, or (for ASCII text) too few digits, to hold a card."""
    if len(text) < MIN_DIGITS:
        return False
    if text.isascii():
        return sum(text.count(d) for d in _ASCII_DIGITS) >= MIN_DIGITS
    return True


def _value(char: str) -> int:
    if "0" <= char <= "9":
        return ord(char) - 48
    found = unicodedata.decimal(char, None)
    return found if found is not None else _LOOKALIKE_VALUES[char]


def _card_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, last four)`` of each card number in ``text``, left to right."""
    if not _may_hold_card(text):
        return
    for run in _RUN.finditer(text):
        if run.end() - run.start() < MIN_DIGITS:
            continue
        yield from _cards_in_run(run)


def _cards_in_run(run: re.Match[str]) -> Iterator[tuple[int, int, str]]:
    digits: list[int] = []
    places: list[tuple[int, int]] = []
    groups: list[tuple[int, int]] = []  # (first digit, one past the last) of each group
    start = run.start()
    joined = False
    for token in _TOKEN.finditer(run.group()):
        if token.lastgroup == "sep":
            joined = False
            continue
        if not joined:
            groups.append((len(digits), len(digits)))
            joined = True
        digits.append(_value(token.group()))
        places.append((start + token.start(), start + token.end()))
        groups[-1] = (groups[-1][0], len(digits))
    if len(digits) < MIN_DIGITS:
        return
    # Luhn sums of every window in constant time: prefix sums with the even-indexed digits
    # doubled (``even``) and with the odd-indexed ones doubled (``odd``). A window's last digit
    # is never doubled, the one before it is, and so on.
    even, odd = [0], [0]
    for index, digit in enumerate(digits):
        doubled = digit * 2 - 9 if digit > 4 else digit * 2
        even.append(even[-1] + (doubled if index % 2 == 0 else digit))
        odd.append(odd[-1] + (digit if index % 2 == 0 else doubled))
    ends = [end for _, end in groups]
    index = 0
    while index < len(groups):
        first = groups[index][0]
        # The groups that end 13 to 19 digits after this one starts, the longest card first.
        lowest = bisect_left(ends, first + MIN_DIGITS, index)
        later = bisect_right(ends, first + MAX_DIGITS, lowest) - 1
        while later >= lowest:
            end = ends[later]
            sums = even if (end - 1) % 2 else odd
            if (sums[end] - sums[first]) % 10 == 0:
                last4 = "".join(map(str, digits[end - 4 : end]))
                yield places[first][0], places[end - 1][1], last4
                index = later
                break
            later -= 1
        index += 1


def find_card_number(text: str) -> str | None:
    """The last four digits of the first card number in ``text``, in any spelling payhelp
    recognises; ``None`` when there is none. Quick for text without enough digits."""
    for _, _, last4 in _card_spans(text):
        return last4
    return None


def mask_card_numbers(text: str) -> str:
    """``text`` with every card number, in any spelling, replaced by ``[card …1111]``."""
    parts: list[str] = []
    done = 0
    for start, end, last4 in _card_spans(text):
        parts += [text[done:start], f"[card …{last4}]"]
        done = end
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


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
        if record.exc_info and not record.exc_text:
            # A traceback's text too (an exception's message may hold what a caller sent):
            # formatters print the cached text instead of formatting the exception again.
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info), known)
        return True
