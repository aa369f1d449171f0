"""The wire kit: what every processor API reads and writes, written once.

Processor APIs differ in their formats, not in the questions asked of an answer: which request
it was (its request id), whether its XML or JSON may be read, what a lenient amount, time or
card field means, which sentence of the processor is which error, whether a refund may be for
part of a payment, and what lookup result or receipt an answer gives.
:class:`~payhelp.adapters.ProcessorApi` operations use these helpers instead of writing their own.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from payhelp.cases import (
    DisputeRequest,
    LookupResult,
    PaymentRecord,
    PaymentStatus,
    SubmissionChannel,
    SubmissionReceipt,
    SubmissionStatus,
)
from payhelp.errors import (
    APIResponseValidationError,
    APIStatusError,
    CapabilityError,
    RateLimitError,
)
from payhelp.models import Money

if TYPE_CHECKING:
    import httpx

    from payhelp.adapters import ProcessorApi

#: Response headers that carry a processor's own id for an answer, most specific first.
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id", "cf-ray")

_DECLARATIONS = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_LAST_FOUR = re.compile(r"([0-9]{4})\s*$")


def request_id(response: httpx.Response) -> str | None:
    """The processor's id for this answer (a response header), else the id payhelp sent with
    the request (``X-Request-Id``), else ``None``."""
    for header in REQUEST_ID_HEADERS:
        if header in response.headers:
            return str(response.headers[header])
    try:
        ours = response.request.headers.get("X-Request-Id")
    except RuntimeError:  # a response built without a request (tests)
        return None
    return str(ours) if ours is not None else None


def _invalid(api: ProcessorApi, response: httpx.Response, why: str) -> APIResponseValidationError:
    return api.invalid(response, why)


def read_xml(api: ProcessorApi, response: httpx.Response) -> ET.Element:
    """The answer's root element, parsed safely. An empty body, an HTML page, a body that
    declares a DTD or an entity (refused unread: no processor sends one, and refusing them rules
    out entity-expansion attacks on the parser) or malformed XML is
    :class:`~payhelp.errors.APIResponseValidationError`."""
    body = response.content
    if not body.strip():
        raise _invalid(api, response, "the answer is empty")
    head = body[:2048].lower()
    if b"<html" in head:
        raise _invalid(api, response, "the answer is an HTML page, not the API's XML")
    if _DECLARATIONS.search(body):
        raise _invalid(api, response, "the answer declares a DTD or an entity; refused unread")
    seen, root = _LAST_XML
    if seen is body:
        return root  # the error mapping's reading of this very body (try_xml)
    try:
        return ET.fromstring(body)  # noqa: S314 - no DTD or entity (checked above)
    except ET.ParseError:
        raise _invalid(api, response, "the answer is not well-formed XML") from None


#: The body :func:`try_xml` last parsed and its root, for :func:`read_xml` of the same body
#: (as :data:`_LAST_JSON` for JSON).
_LAST_XML: tuple[object, ET.Element] = (object(), ET.Element("none"))


def try_xml(body: bytes) -> ET.Element | None:
    """The root of ``body`` when it is safe, well-formed XML, else ``None`` (for error mapping,
    where an unreadable answer is left to the operation to report). The tree is shared with the
    next :func:`read_xml` of the same body: read it, do not change it."""
    global _LAST_XML  # noqa: PLW0603 - a one-entry cache
    if not body.strip() or _DECLARATIONS.search(body) or b"<html" in body[:2048].lower():
        return None
    seen, root = _LAST_XML
    if seen is body:
        return root
    try:
        root = ET.fromstring(body)  # noqa: S314 - no DTD or entity (checked above)
    except ET.ParseError:
        return None
    _LAST_XML = (body, root)
    return root


#: The body last parsed as JSON and what it parsed to: an API's error mapping reads every
#: answer (:meth:`~payhelp.adapters.ProcessorApi.error_for`) and its operation reads the same
#: body again, so the second reading of that very ``bytes`` object reuses the first. One pair,
#: swapped whole (safe across threads: another thread's body only makes a reading parse anew).
_LAST_JSON: tuple[object, Any] = (object(), None)


def _loads(body: bytes) -> Any:
    """``json.loads(body)``, parsed once for two readings of the same body in a row."""
    global _LAST_JSON  # noqa: PLW0603 - a one-entry cache
    seen, data = _LAST_JSON
    if seen is body:
        return data
    data = json.loads(body)
    _LAST_JSON = (body, data)
    return data


def try_json(body: bytes) -> dict[str, Any] | None:
    """``body`` as a JSON object, else ``None`` (for error mapping, where an unreadable answer is
    left to the operation to report). The object is shared with the next reading of the same
    body (:func:`read_json`): read it, do not change it."""
    try:
        data = _loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def read_json(api: ProcessorApi, response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object. A body that is not JSON (an HTML page, an answer cut short) or
    JSON that is not an object (a list, a bare string) is
    :class:`~payhelp.errors.APIResponseValidationError`. Parsed once when the API's error
    mapping already read the body (:func:`try_json`); the object is shared with that reading."""
    try:
        data = _loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _invalid(api, response, "the answer is not JSON") from None
    if not isinstance(data, dict):
        raise _invalid(api, response, "the answer is not a JSON object")
    return data


def local_name(tag: str) -> str:
    """An XML tag without its namespace (``{urn:x}Data`` → ``Data``)."""
    return tag.rsplit("}", 1)[-1]


def money(amount: object, currency: object) -> Money | None:
    """A :class:`~payhelp.models.Money` from a processor's amount and currency as they came
    (``"9.99"``, ``Decimal``, a negative refund amount is read as its size); ``None`` when
    either is missing or unreadable, never a guess."""
    if amount is None or currency is None or amount == "" or currency == "":
        return None
    try:
        value = abs(Decimal(str(amount).strip()))
        return Money(amount=value, currency=str(currency).strip())
    except (InvalidOperation, ValidationError, ValueError):
        return None


def moment(value: str | None, *, naive: str = "UTC") -> datetime | None:
    """A processor's timestamp (ISO 8601, more than six fraction digits cut), ``None`` when
    missing or unreadable. A time without a zone is taken as UTC (``naive="UTC"``, what the
    processor documents) or refused (``naive="refuse"``)."""
    if not value or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", value.strip()))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC) if naive == "UTC" else None
    return parsed


def last4(value: object) -> str | None:
    """The last four digits of a card field (``"************1111"``, ``"1111"``, a full number
    read only down to its end), or ``None`` when the field does not end in four ASCII digits:
    never more than four digits leave this function."""
    if value is None:
        return None
    # Only ASCII digits that end the field: "4024XXXX63a8" or full-width digits are no last four.
    found = _LAST_FOUR.search(str(value))
    return found.group(1) if found is not None else None


@dataclass(frozen=True)
class Phrase:
    """A processor's sentence (any of ``words``, case-insensitive) and the error it means."""

    words: tuple[str, ...]
    error: type[APIStatusError]
    status: int


class Phrases:
    """A processor's error sentences, in order: the first phrase whose words occur wins."""

    def __init__(self, phrases: Sequence[Phrase], *, default: Phrase | None = None) -> None:
        self.phrases = tuple(phrases)
        self.default = default

    def find(self, text: str) -> Phrase | None:
        """The phrase ``text`` contains (else the default, else ``None``)."""
        lowered = text.lower()
        for phrase in self.phrases:
            if any(word in lowered for word in phrase.words):
                return phrase
        return self.default

    def error(
        self,
        api: ProcessorApi,
        said: str,
        response: httpx.Response,
        request_id: str | None,
        *,
        code: str | None = None,
        what: str = "answered",
    ) -> APIStatusError | None:
        """The error for the processor's sentence ``said`` (scrubbed and cut to 300
        characters in the message), ``None`` when no phrase matches and there is no default."""
        phrase = self.find(said)
        if phrase is None:
            return None
        clean = api.scrub(" ".join(said.split()))[:300]
        message = f"{api.processor}: {what} {clean!r}"
        if phrase.error is RateLimitError:
            from payhelp.http import parse_retry_after  # noqa: PLC0415 - rare path

            return RateLimitError(
                message,
                processor=api.processor,
                request_id=request_id,
                code=code,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        return phrase.error(
            message,
            processor=api.processor,
            status_code=phrase.status,
            request_id=request_id,
            code=code,
        )


def whole_transaction_only(api: ProcessorApi, request: DisputeRequest, instead: str) -> None:
    """Refuse, before anything is sent, a request for part of a payment where the API refunds
    only whole transactions; ``instead`` says what the customer can do
    (:class:`~payhelp.errors.CapabilityError`: bad input, nothing sent)."""
    if request.amount is not None:
        raise CapabilityError(
            f"{api.processor}: the API refunds the whole transaction only; {instead}",
            processor=api.processor,
        )


def lookup_result(
    api: ProcessorApi,
    response: httpx.Response,
    *,
    status: PaymentStatus,
    records: Iterable[PaymentRecord] = (),
    message: str | None = None,
) -> LookupResult:
    """The answer of a lookup the processor's API answered with ``response``: the API's
    processor and source (``api`` or ``sandbox``), and the answer's :func:`request_id`."""
    return LookupResult(
        processor=api.processor,
        status=status,
        source=api.source,
        records=tuple(records),
        request_id=request_id(response),
        message=message,
    )


def api_receipt(
    api: ProcessorApi,
    idempotency_key: str,
    *,
    reference: str | None,
    detail: str,
    processor_reason: str | None = None,
    status: SubmissionStatus = SubmissionStatus.SENT,
) -> SubmissionReceipt:
    """The receipt of a request the processor's API accepted."""
    return SubmissionReceipt(
        processor=api.processor,
        idempotency_key=idempotency_key,
        channel=SubmissionChannel.API,
        reference=reference,
        submitted_at=datetime.now(UTC),
        status=status,
        detail=detail,
        processor_reason=processor_reason,
    )


__all__ = [
    "REQUEST_ID_HEADERS",
    "Phrase",
    "Phrases",
    "api_receipt",
    "last4",
    "local_name",
    "lookup_result",
    "moment",
    "money",
    "read_json",
    "read_xml",
    "request_id",
    "try_json",
    "try_xml",
    "whole_transaction_only",
]
