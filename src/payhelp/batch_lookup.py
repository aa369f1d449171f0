"""Looking up many payments from JSON Lines, concurrently, in flat memory.

Each input line is a JSON object naming the ``processor`` and what is known, in the names of the
API's :class:`~payhelp.cases.LookupQuery`: ``transaction_id``, ``references`` (``{"member":
"123", "purchase": "456"}``: member, purchase, order or subscription ids), ``email``,
``username``, ``card_last4``, ``purchased_on``, ``amount`` and the customer's ``country``, with
an optional ``ref`` echoed back. (``member_id``, ``purchase_id``, ``subscription_id`` and
``order_id``, the names of the first release, are still read as references.) Each output line is
the lookup's answer with the input's ``line`` number and ``ref``, or an ``error``; answers come in
completion order (a slow payment does not hold the others back). Blank lines give no output line
but are counted, and lines are at most :data:`~payhelp.batch.MAX_LINE` characters, as in every
batch. A fixed number of workers pull from a bounded
queue, so memory stays flat however long the input, and every request goes through the
processor's adapter, whose rate limit is shared by all workers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from payhelp._base import invalid_input
from payhelp.batch import MAX_LINE, safe_ref
from payhelp.cases import LookupQuery
from payhelp.errors import CardNumberError, InvalidInputError, PayhelpError
from payhelp.i18n import Language
from payhelp.models import IdKind
from payhelp.redact import find_card_number, mask_card_numbers

if TYPE_CHECKING:
    from payhelp.api import Payhelp

#: The first release's names for references, still read: ``member_id`` is ``references.member``.
_REFERENCES = {f"{kind.value}_id": kind for kind in IdKind if kind is not IdKind.TRANSACTION}
_FIELDS = {
    "transaction_id",
    "references",
    "email",
    "username",
    "card_last4",
    "purchased_on",
    "amount",
    "country",
}

ErrorCallback = Callable[[int, str], None]


def parse_line(raw: bytes | str) -> tuple[str, Any, LookupQuery]:
    """``(processor, ref, query)`` from one JSON line; :class:`~payhelp.errors.InvalidInputError`
    (a ``ValueError``) saying what is wrong, :class:`~payhelp.errors.CardNumberError` for a card
    number in any field, the ``ref`` included."""
    if not isinstance(raw, str | bytes | bytearray):
        raise InvalidInputError(f"not a line of text ({type(raw).__name__})")
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes | bytearray) else raw
    if len(text) > MAX_LINE:
        raise InvalidInputError(f"line longer than {MAX_LINE} characters")
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidInputError("not a JSON object") from None
    if not isinstance(data, dict):
        raise InvalidInputError("not a JSON object")
    processor = data.pop("processor", None)
    if not isinstance(processor, str) or not processor.strip():
        raise InvalidInputError("'processor' is missing")
    ref = _checked_ref(data.pop("ref", None))
    try:
        older = {_REFERENCES[k].value: data.pop(k) for k in list(data) if k in _REFERENCES}
        references = data.pop("references", None) or {}
        if not isinstance(references, dict):
            raise InvalidInputError(
                'references is an object of ids by kind, e.g. {"member": "123"}'
            )
        if twice := sorted(set(older) & set(references)):
            raise InvalidInputError(
                f"the {twice[0]} id is given twice (in references and as {twice[0]}_id): "
                "give it once, in references"
            )
        references = {**references, **older}
        unknown = set(data) - _FIELDS
        if unknown:
            names = ", ".join(sorted(k if safe_ref(k) else "(unreadable name)" for k in unknown))
            raise InvalidInputError(f"unknown fields: {names}")
        try:
            query = LookupQuery.model_validate(data | {"references": references}, strict=False)
        except ValidationError as exc:
            raise invalid_input(exc) from None
    except InvalidInputError as exc:
        # The line was read as far as its ref: the error line echoes it, as routing's does.
        exc.line_ref = ref  # type: ignore[attr-defined]
        raise
    return processor, ref, query


def _checked_ref(ref: object) -> str | int | None:
    """The caller's ``ref`` as it may be echoed back: a string (see
    :func:`~payhelp.batch.safe_ref`), a whole number or nothing."""
    if ref is None or (isinstance(ref, int) and not isinstance(ref, bool) and abs(ref) < 10**30):
        if ref is not None and find_card_number(str(ref)) is not None:
            raise CardNumberError("ref holds a full card number; give your own reference instead")
        return ref
    if isinstance(ref, str) and safe_ref(ref) is not None:
        return ref
    if isinstance(ref, str) and len(ref) <= 200 and find_card_number(ref) is not None:
        raise CardNumberError("ref holds a full card number; give your own reference instead")
    raise InvalidInputError(
        "ref is your own label for the line: a whole number or one line of at most 200 characters"
    )


async def lookup_lines(
    ph: Payhelp,
    lines: Iterable[bytes | str],
    *,
    concurrency: int = 16,
    sandbox: bool | None = None,
    language: Language | None = None,
    on_error: ErrorCallback | None = None,
) -> AsyncIterator[str]:
    """Yield one JSON line per input line (blank lines skipped), in completion order; the texts
    of the answers (messages, instructions, the channel's reason) in ``language``."""
    if concurrency < 1:
        raise ValueError("concurrency is at least 1")
    inbox: asyncio.Queue[tuple[int, bytes | str] | None] = asyncio.Queue(concurrency * 2)
    outbox: asyncio.Queue[str | None] = asyncio.Queue(concurrency * 2)

    async def produce() -> None:
        for number, raw in enumerate(lines, start=1):
            bom = number == 1 and isinstance(raw, bytes) and raw.startswith(b"\xef\xbb\xbf")
            line = raw[3:] if bom else raw
            if line.strip():
                await inbox.put((number, line))
        for _ in range(concurrency):
            await inbox.put(None)

    async def work() -> None:
        while (item := await inbox.get()) is not None:
            number, raw = item
            await outbox.put(
                await _answer(
                    ph, number, raw, sandbox=sandbox, language=language, on_error=on_error
                )
            )
        await outbox.put(None)

    tasks = [asyncio.create_task(produce())]
    tasks += [asyncio.create_task(work()) for _ in range(concurrency)]
    finished = 0
    try:
        while finished < concurrency:
            line = await outbox.get()
            if line is None:
                finished += 1
                continue
            yield line
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()


async def _answer(
    ph: Payhelp,
    number: int,
    raw: bytes | str,
    *,
    sandbox: bool | None,
    language: Language | None,
    on_error: ErrorCallback | None,
) -> str:
    ref: Any = None
    try:
        processor, ref, query = parse_line(raw)
        result = await ph.alookup(processor, query, sandbox=sandbox, language=language)
    except (ValueError, PayhelpError) as exc:  # PayhelpError: from the processor's API
        ref = getattr(exc, "line_ref", ref)
        message = mask_card_numbers(str(exc))
        if on_error is not None:
            on_error(number, message)
        body: dict[str, Any] = {"line": number, "error": message, "error_type": type(exc).__name__}
        if isinstance(exc, PayhelpError) and getattr(exc, "request_id", None):
            body["request_id"] = exc.request_id  # type: ignore[attr-defined]
    else:
        return answer_line(number, result.model_dump_json(exclude_none=True), ref)
    if ref is not None:
        body["ref"] = ref
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def answer_line(number: int, answer: str, ref: Any = None) -> str:
    """The output line of a lookup: ``answer`` (an answer's compact JSON object, as pydantic
    writes it) with the input's ``line`` number first and its ``ref`` last. The same line as
    ``json.dumps({"line": number, **answer, "ref": ref}, ensure_ascii=False,
    separators=(",", ":"))``, without reading the answer back into Python objects."""
    inner = answer[1:-1]
    head = f'{{"line":{number}' + ("," + inner if inner else "")
    if ref is None:
        return head + "}"
    return head + ',"ref":' + json.dumps(ref, ensure_ascii=False) + "}"


__all__ = ["MAX_LINE", "lookup_lines", "parse_line"]
