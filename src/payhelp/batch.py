"""Streaming batch routing: JSON Lines in, JSON Lines out, one output line per input line.

A line that cannot be read or validated becomes an error line with its line number; the rest of
the stream goes on. Nothing is held in memory beyond the current line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator

from pydantic import ConfigDict, Field, ValidationError

from payhelp.errors import PayhelpError, describe_validation_error
from payhelp.models import RouteDecision, Transaction
from payhelp.redact import mask_card_numbers
from payhelp.router import Router


class BatchTransaction(Transaction):
    """A transaction in a batch file, with the caller's own reference echoed back."""

    # pydantic-core caches parsed JSON strings; in a stream every id is new, so caching values
    # only costs memory. Keys repeat on every line and stay cached.
    model_config = ConfigDict(cache_strings="keys")

    ref: str | None = Field(default=None, max_length=200)
    """The caller's reference for this line, copied into the output line."""


#: How many decisions' JSON texts a stream keeps for reuse.
_BODY_CACHE = 4096

#: Longest line read; a transaction is a few hundred characters.
MAX_LINE = 16_384

#: Called with the line number and the message of each line that could not be routed.
ErrorCallback = Callable[[int, str], None]


def _ref_of(text: str) -> str | None:
    """The caller's ``ref`` from a line that failed validation, when it is a sane string."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    ref = data.get("ref") if isinstance(data, dict) else None
    return mask_card_numbers(ref) if isinstance(ref, str) and len(ref) <= 200 else None


def route_lines(
    router: Router, lines: Iterable[str | bytes], *, on_error: ErrorCallback | None = None
) -> Iterator[str]:
    """Route each JSON line of ``lines``; yield the answer for each (no trailing newline).

    Output objects carry ``line`` (1-based), ``ref``, and either the decision's fields
    (``processor``, ``ambiguous``, ``candidates``, ``note``) or ``error``. Blank lines are skipped
    but still counted, so line numbers match the file.
    """

    def error_line(number: int, message: str, ref: str | None = None) -> str:
        if on_error is not None:
            on_error(number, message)
        record = {"line": number, "ref": ref, "error": message}
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))

    bodies: dict[int, tuple[RouteDecision, str]] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
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
            yield error_line(number, describe_validation_error(exc), _ref_of(text))
            continue
        try:
            decision = router.decide(item)
        except PayhelpError as exc:
            yield error_line(number, str(exc), item.ref)
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
