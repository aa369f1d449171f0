"""Streaming batch routing: JSON Lines in, JSON Lines out, one output line per input line.

A line that cannot be read or validated becomes an error line with its line number; the rest of
the stream goes on. Nothing is held in memory beyond the current line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from pydantic import Field, ValidationError

from payhelp.errors import PayhelpError
from payhelp.models import Transaction
from payhelp.router import Router


class BatchTransaction(Transaction):
    """A transaction in a batch file, with the caller's own reference echoed back."""

    ref: str | None = Field(default=None, max_length=200)
    """The caller's reference for this line, copied into the output line."""


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each invalid field and why, without echoing the rejected input."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "input"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _error_line(number: int, message: str, ref: str | None = None) -> str:
    return json.dumps({"line": number, "ref": ref, "error": message}, ensure_ascii=False)


def route_lines(router: Router, lines: Iterable[str]) -> Iterator[str]:
    """Route each JSON line of ``lines``; yield the answer for each (no trailing newline).

    Output objects carry ``line`` (1-based), ``ref``, and either the decision's fields
    (``processor``, ``ambiguous``, ``candidates``, ``note``) or ``error``. Blank lines are skipped
    but still counted, so line numbers match the file.
    """
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        try:
            item = BatchTransaction.model_validate_json(text)
        except ValidationError as exc:
            yield _error_line(number, describe_validation_error(exc))
            continue
        try:
            decision = router.decide(item)
        except PayhelpError as exc:
            yield _error_line(number, str(exc), item.ref)
            continue
        body = decision.model_dump_json()
        yield f'{{"line":{number},"ref":{json.dumps(item.ref)},{body[1:]}'
