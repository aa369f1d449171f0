"""Streaming batch routing: JSON Lines in, JSON Lines out, one output line per input line.

A line that cannot be read or validated becomes an error line with its line number, the error's
type (``error_type``: ``InvalidInputError``, ``CardNumberError`` for a card number in any field,
``UnknownProcessorError``) and the message; the rest of the stream goes on. Nothing is held in
memory beyond the current line. The caller's ``ref`` is echoed back only when it is a sane label:
one printable line of at most 200 characters that holds no card number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping

from pydantic import ConfigDict, ValidationError

from payhelp._base import CallerRef, invalid_input
from payhelp.errors import InvalidInputError, PayhelpError
from payhelp.models import RouteDecision, Transaction
from payhelp.redact import find_card_number
from payhelp.router import Router


class BatchTransaction(Transaction):
    """A transaction in a batch file, with the caller's own reference echoed back."""

    # pydantic-core caches parsed JSON strings; in a stream every id is new, so caching values
    # only costs memory. Keys repeat on every line and stay cached.
    model_config = ConfigDict(cache_strings="keys")

    ref: CallerRef | None = None
    """The caller's reference for this line, copied into the output line (one printable line of
    at most 200 characters, never a card number)."""


#: How many decisions' JSON texts a stream keeps for reuse.
_BODY_CACHE = 4096

#: Longest line read; a transaction is a few hundred characters.
MAX_LINE = 16_384

#: Called with the line number and the message of each line that could not be routed.
ErrorCallback = Callable[[int, str], None]


def safe_ref(ref: object) -> str | None:
    """``ref`` when it may be echoed back: one printable line of at most 200 characters holding
    no card number in any spelling; ``None`` otherwise."""
    if not isinstance(ref, str) or len(ref) > 200 or not ref.isprintable():
        return None
    return ref if find_card_number(ref) is None else None


def _ref_of(text: str) -> str | None:
    """The caller's ``ref`` from a line that failed validation, when it is a sane string."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return safe_ref(data.get("ref")) if isinstance(data, dict) else None


def route_lines(
    router: Router, lines: Iterable[str | bytes], *, on_error: ErrorCallback | None = None
) -> Iterator[str]:
    """Route each JSON line of ``lines``; yield the answer for each (no trailing newline).

    Output objects carry ``line`` (1-based), ``ref``, and either the decision's fields
    (``processor``, ``ambiguous``, ``candidates``, ``note``) or ``error`` and ``error_type``.
    Blank lines are skipped but still counted, so line numbers match the file. ``lines`` that
    is not an iterable of lines (one string, a mapping, a number) raises
    :class:`~payhelp.errors.InvalidInputError` at once; a line that is neither ``str`` nor
    ``bytes`` is an error line.
    """
    if isinstance(lines, str | bytes | bytearray | Mapping) or not isinstance(lines, Iterable):
        raise InvalidInputError(
            "route_batch() takes an iterable of JSON lines (a file, a list of str or bytes)"
        )
    if on_error is not None and not callable(on_error):
        raise InvalidInputError("on_error is a function of (line number, message)")
    return _route_lines(router, lines, on_error)


def _route_lines(
    router: Router, lines: Iterable[str | bytes], on_error: ErrorCallback | None
) -> Iterator[str]:
    def error_line(
        number: int, message: str, ref: str | None = None, kind: str = "InvalidInputError"
    ) -> str:
        if on_error is not None:
            on_error(number, message)
        record = {"line": number, "ref": ref, "error": message, "error_type": kind}
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))

    bodies: dict[int, tuple[RouteDecision, str]] = {}
    given: Iterable[object] = lines  # a caller's list may hold anything
    for number, raw in enumerate(given, start=1):
        if isinstance(raw, bytes | bytearray):
            text = bytes(raw).decode("utf-8", errors="replace")
        elif isinstance(raw, str):
            text = raw
        else:
            yield error_line(number, f"not a line of text ({type(raw).__name__})")
            continue
        if number == 1:
            text = text.removeprefix("\ufeff")  # a byte-order mark from some editors
        text = text.strip()
        if not text:
            continue
        if len(text) > MAX_LINE:
            yield error_line(number, f"line longer than {MAX_LINE} characters")
            continue
        if not text.startswith("{"):
            yield error_line(number, "not a JSON object")
            continue
        try:
            item = BatchTransaction.model_validate_json(text)
        except ValidationError as exc:
            error = invalid_input(exc)
            yield error_line(number, error.message, _ref_of(text), type(error).__name__)
            continue
        try:
            decision = router.decide(item)
        except PayhelpError as exc:
            yield error_line(number, str(exc), item.ref, type(exc).__name__)
            continue
        # The router hands back the same (memoised) decision object for equal evidence; its JSON
        # is the same too. Holding the object keeps its id from being reused while cached.
        cached = bodies.get(id(decision))
        if cached is not None and cached[0] is decision:
            body = cached[1]
        else:
            if len(bodies) >= _BODY_CACHE:
                bodies.clear()
            body = decision.model_dump_json()
            bodies[id(decision)] = (decision, body)
        yield f'{{"line":{number},"ref":{json.dumps(item.ref)},{body[1:]}'
