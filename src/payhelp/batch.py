"""Streaming batch routing: JSON Lines in, JSON Lines out, one output line per input line.

A line that cannot be read or validated becomes an error line with its line number; the rest of
the stream goes on. Nothing is held in memory beyond the current line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator

from pydantic import ConfigDict, Field, ValidationError

from payhelp.errors import PayhelpError
from payhelp.models import Transaction
from payhelp.router import Router


class BatchTransaction(Transaction):
    """A transaction in a batch file, with the caller's own reference echoed back."""

    # pydantic-core caches parsed JSON strings; in a stream every id is new, so caching values
    # only costs memory. Keys repeat on every line and stay cached.
    model_config = ConfigDict(cache_strings="keys")

    ref: str | None = Field(default=None, max_length=200)
    """The caller's reference for this line, copied into the output line."""


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each invalid field and why, without echoing the rejected input."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "input"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


#: Called with the line number and the message of each line that could not be routed.
ErrorCallback = Callable[[int, str], None]


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

    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        if isinstance(text, bytes) and not text.startswith(b"{"):
            yield error_line(number, "not a JSON object")
            continue
        if isinstance(text, str) and not text.startswith("{"):
            yield error_line(number, "not a JSON object")
            continue
        try:
            item = BatchTransaction.model_validate_json(text)
        except ValidationError as exc:
            yield error_line(number, describe_validation_error(exc))
            continue
        try:
            decision = router.decide(item)
        except PayhelpError as exc:
            yield error_line(number, str(exc), item.ref)
            continue
        body = decision.model_dump_json()
        yield f'{{"line":{number},"ref":{json.dumps(item.ref)},{body[1:]}'
