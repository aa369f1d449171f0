"""Streaming batch routing: JSON Lines in, JSON Lines out, one output line per input line.

A route line is a :class:`~payhelp.models.Transaction` in the API's names (``processor``,
``transaction_id``, ``references``, ``descriptor``, ``product``, ``amount``, ``purchased_at``,
``country``, ``card_last4``) plus the caller's ``ref``. As on the command line, ``product`` may
be its kind alone (``"tip"``) and ``period`` may stand beside it (``route --period``: a period
alone means a subscription). Blank lines give no output line but are counted, so each output
line's ``line`` is the number of its input line. Every batch (routes, declines, renewals,
lookups) reads lines of at most :data:`MAX_LINE` characters.

A line that cannot be read or validated becomes an error line with its line number, the error's
type (``error_type``: ``InvalidInputError``, ``CardNumberError`` for a card number in any field,
``UnknownProcessorError``) and the message; the rest of the stream goes on. Nothing is held in
memory beyond the current line. The caller's ``ref`` is echoed back only when it is a sane label:
one printable line of at most 200 characters that holds no card number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from payhelp._base import CallerRef, Model, NoCardStr, invalid_input
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

    @model_validator(mode="before")
    @classmethod
    def _product_as_on_the_command_line(cls, data: object) -> object:
        """``"product": "tip"`` for ``{"kind": "tip"}``, and ``period`` beside ``product`` (or
        alone, meaning a subscription) as ``route --product/--period`` take them."""
        return cli_product(data) if isinstance(data, dict) else data


def cli_product(data: dict[str, object]) -> dict[str, object]:
    """A route line's fields with ``product`` and ``period`` as the CLI takes them turned into
    the API's ``product`` (a copy; ``data`` is left as it is); a pydantic error when ``period``
    is given twice, differently."""
    data = dict(data)
    product = data.get("product")
    if isinstance(product, str):
        product = data["product"] = {"kind": product}
    if "period" in data:
        period = data.pop("period")
        if product is None:
            data["product"] = {"kind": "subscription", "period": period}
        elif isinstance(product, dict) and product.get("period", period) != period:
            raise PydanticCustomError(
                "period_twice", "period is given twice, differently: give it once"
            )
        elif isinstance(product, dict):
            data["product"] = {**product, "period": period}
    return data


def _plain_line(text: str) -> tuple[str | None, dict[str, object]] | None:
    """``(ref, fields)`` of a line whose JSON ``json.loads`` reads as an object and whose
    ``ref`` is plain ASCII the model would accept as it is; ``None`` when only the model can
    tell (it then reads the line itself, and says what is wrong with it)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if type(data) is not dict:
        return None
    ref = data.pop("ref", None)
    if ref is not None and (
        type(ref) is not str
        or len(ref) > 200
        or not ref.isascii()
        or not ref.isprintable()
        or find_card_number(ref) is not None
    ):
        return None
    if "period" in data or isinstance(data.get("product"), str):
        try:
            data = cli_product(data)
        except PydanticCustomError:
            return None
    return ref, data


def _json_ref(ref: str | None) -> str:
    """``json.dumps(ref)``, quicker for the plain ASCII labels a batch carries."""
    if (
        ref is not None
        and ref.isascii()
        and ref.isprintable()
        and '"' not in ref
        and "\\" not in ref
    ):
        return f'"{ref}"'
    return json.dumps(ref)


#: How many decisions' JSON texts a stream keeps for reuse.
_BODY_CACHE = 4096

#: Longest line read, in characters, by every batch (routes, declines, renewals, lookups); a
#: transaction is a few hundred characters.
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


def _error_line(
    on_error: ErrorCallback | None,
    number: int,
    message: str,
    ref: str | None = None,
    kind: str = "InvalidInputError",
) -> str:
    if on_error is not None:
        on_error(number, message)
    record = {"line": number, "ref": ref, "error": message, "error_type": kind}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def json_objects(lines: Iterable[object]) -> Iterator[tuple[int, str, str | None]]:
    """Each non-blank line of ``lines`` as ``(line number, text, problem)``: the stripped text
    of what looks like one JSON object, or the reason it cannot be one (not text, too long, not
    an object). Blank lines are skipped but counted; a first line's byte-order mark is dropped."""
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes | bytearray):
            text = bytes(raw).decode("utf-8", errors="replace")
        elif isinstance(raw, str):
            text = raw
        else:
            yield number, "", f"not a line of text ({type(raw).__name__})"
            continue
        if number == 1:
            text = text.removeprefix("\ufeff")  # a byte-order mark from some editors
        text = text.strip()
        if not text:
            continue
        if len(text) > MAX_LINE:
            yield number, "", f"line longer than {MAX_LINE} characters"
        elif not text.startswith("{"):
            yield number, "", "not a JSON object"
        else:
            yield number, text, None


def check_lines(lines: object, what: str, on_error: object) -> None:
    """Refuse, at once, ``lines`` that are not an iterable of lines (one string, a mapping, a
    number) and an ``on_error`` that is not callable."""
    if isinstance(lines, str | bytes | bytearray | Mapping) or not isinstance(lines, Iterable):
        raise InvalidInputError(
            f"{what}() takes an iterable of JSON lines (a file, a list of str or bytes)"
        )
    if on_error is not None and not callable(on_error):
        raise InvalidInputError("on_error is a function of (line number, message)")


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
    check_lines(lines, "route_batch", on_error)
    return _route_lines(router, lines, on_error)


def _route_lines(
    router: Router, lines: Iterable[str | bytes], on_error: ErrorCallback | None
) -> Iterator[str]:
    def error_line(
        number: int, message: str, ref: str | None = None, kind: str = "InvalidInputError"
    ) -> str:
        return _error_line(on_error, number, message, ref, kind)

    bodies: dict[int, tuple[RouteDecision, str]] = {}
    decide_fields = router.decide_fields
    for number, text, problem in json_objects(lines):
        if problem is not None:
            yield error_line(number, problem)
            continue
        # Plain lines are routed from their parsed fields, checked exactly as the model would
        # check them (payhelp.route_fields) and memoised on them; anything else is validated.
        decision: RouteDecision | None = None
        plain = _plain_line(text)
        if plain is not None:
            ref = plain[0]
            try:
                decision = decide_fields(plain[1], remember=False)
            except PayhelpError as exc:
                yield error_line(number, str(exc), ref, type(exc).__name__)
                continue
        if decision is None:
            try:
                item = BatchTransaction.model_validate_json(text, strict=False)
            except ValidationError as exc:
                error = invalid_input(exc)
                yield error_line(number, error.message, _ref_of(text), type(error).__name__)
                continue
            ref = item.ref
            try:
                decision = router.decide(item)
            except PayhelpError as exc:
                yield error_line(number, str(exc), ref, type(exc).__name__)
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
        yield f'{{"line":{number},"ref":{_json_ref(ref)},{body[1:]}'


_Short = Annotated[NoCardStr, Field(max_length=64)]


class DeclineLine(Model):
    """One line of a batch of declines to explain (``decline explain --batch``)."""

    model_config = ConfigDict(cache_strings="keys")

    code: Annotated[NoCardStr, Field(max_length=1000)]
    """The raw decline code."""
    scheme: _Short
    """Its code table: ``braintree``, ``iso8583``, ``stripe`` or a processor id."""
    network: _Short | None = None
    """The card's network, when known."""
    advice_code: _Short | int | None = None
    """The Mastercard merchant advice code sent with the decline."""
    visa_category: _Short | int | None = None
    """Visa's reattempt category, when the processor gives it."""
    ref: CallerRef | None = None
    """The caller's reference for this line, copied into the output line."""


class DunningLine(DeclineLine):
    """One line of a batch of failed renewals to plan (``dunning plan --batch``)."""

    failed_at: _Short
    """When the renewal failed (ISO 8601, with its zone)."""


Line = TypeVar("Line", bound=DeclineLine)


def answer_lines(
    lines: Iterable[str | bytes],
    line_type: type[Line],
    answer: Callable[[Line], BaseModel],
    on_error: ErrorCallback | None,
) -> Iterator[str]:
    """``answer`` each JSON line of ``lines`` read as ``line_type``; yield one JSON line per
    input line (``line``, ``ref`` and the answer's fields, or ``error`` and ``error_type``), in
    order, holding nothing but the current line."""
    for number, text, problem in json_objects(lines):
        if problem is not None:
            yield _error_line(on_error, number, problem)
            continue
        try:
            item = line_type.model_validate_json(text)
        except ValidationError as exc:
            error = invalid_input(exc)
            yield _error_line(on_error, number, error.message, _ref_of(text), type(error).__name__)
            continue
        try:
            body = answer(item).model_dump_json()
        except PayhelpError as exc:
            yield _error_line(on_error, number, str(exc), item.ref, type(exc).__name__)
            continue
        yield f'{{"line":{number},"ref":{json.dumps(item.ref)},{body[1:]}'
