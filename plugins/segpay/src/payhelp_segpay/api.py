"""SegPay's SRS web services: lookups through the MWS reports, refunds through the ADM tasks.

Basis: **third party**. SegPay publishes the SRS request URLs, parameters and one sample report
row on its help centre; how the answers are wrapped and which sentences a refund answers come from
the integrations listed in the plugin's README. The wire format, as this module reads it:

- every call is a ``GET`` with the credentials as query parameters (``Userid`` on ``ADM.asmx``,
  ``UserID`` on ``MWS.asmx``, as each page spells it, and ``UserAccessKey``);
- a report (``MWS.asmx/TransactionByTransID?TransID=``, ``…/TransactionByPurchaseID?PurchaseID=``)
  is a .NET DataSet: rows ``<Data diffgr:id="Data1" msdata:rowOrder="0">`` with ``TransID``,
  ``RelatedTransID``, ``TransTime``, ``Type``, ``Source``, ``Auth``, ``TransAmount``,
  ``Currency``, ``AuthCode``, ``PurchaseID``, ``PurchStatus``…; no row means no such payment;
- a support task (``ADM.asmx/RefundTransaction?TransID=&RefundReason=``,
  ``…/CancelMembership?PurchaseID=&CancelReason=``) answers one ``<string>`` element:
  ``Successful``, or a sentence such as ``Invalid Merchant`` (wrong access key),
  ``PurchaseID/MerchantID Mismatch`` or ``Missing Parameter``.

Support tasks have side effects although they are ``GET`` requests, so the clients never repeat
them blindly (see :meth:`_SrsClient._may_retry_blindly`).
"""

from __future__ import annotations

import logging
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import httpx
from pydantic import ValidationError

from payhelp.adapters import ApiAdapter, RequestSpec
from payhelp.cases import (
    DisputeReason,
    DisputeRequest,
    LookupQuery,
    LookupResult,
    LookupRule,
    PaymentKind,
    PaymentRecord,
    PaymentStatus,
    SubmissionChannel,
    SubmissionReceipt,
    SubmissionStatus,
    check_lookup,
)
from payhelp.errors import (
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    CapabilityError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from payhelp.http import AsyncClient, BaseClient, SyncClient
from payhelp.i18n import DEFAULT_LANGUAGE, render
from payhelp.models import IdKind, Money
from payhelp.redact import mask_card_numbers, short_echo
from payhelp_segpay import PROCESSOR_ID
from payhelp_segpay.i18n import N_

BASE_URL: Final = "https://srs.segpay.com/"
TRANSACTION_BY_ID: Final = "MWS.asmx/TransactionByTransID"
TRANSACTIONS_BY_PURCHASE: Final = "MWS.asmx/TransactionByPurchaseID"
REFUND_TRANSACTION: Final = "ADM.asmx/RefundTransaction"
CANCEL_MEMBERSHIP: Final = "ADM.asmx/CancelMembership"
#: SRS's answer when a support task worked.
SUCCESSFUL: Final = "Successful"

#: What payhelp files a refund under: SRS takes a free-text ``RefundReason``.
REFUND_REASONS: Final[Mapping[DisputeReason, str]] = {
    DisputeReason.DUPLICATE_CHARGE: "Duplicate charge",
    DisputeReason.NOT_RECOGNISED: "Customer does not recognise the charge",
    DisputeReason.NOT_RECEIVED: "Customer could not access what was bought",
    DisputeReason.TECHNICAL_PROBLEM: "Technical problem on the site",
    DisputeReason.UNSATISFIED_SHOW: "Customer unsatisfied with a show",
    DisputeReason.CANCELLED_STILL_CHARGED: "Charged after cancelling the subscription",
    DisputeReason.OTHER: "Customer asked for a refund",
}

#: The sentences SRS answers instead of ``Successful``, and what each becomes. SegPay documents
#: them for CancelMembership; RefundTransaction and the reports are assumed to share them.
_SENTENCES: Final[tuple[tuple[str, type[APIStatusError], int], ...]] = (
    ("invalid merchant", AuthenticationError, 401),
    ("invalid user", AuthenticationError, 401),
    ("mismatch", NotFoundError, 404),
    ("missing parameter", BadRequestError, 400),
    ("not active", ConflictError, 409),
    ("already", ConflictError, 409),
)
#: Report fields that may carry the card; only ever read down to their last four digits. The
#: documented sample shows none, so these names are guesses kept for safety, not relied on.
_CARD_FIELDS: Final = ("CardLast4", "Last4", "LastFour", "CCLast4", "CardNumber", "CCNumber")
_SALES: Final = frozenset({"sale", "one-click", "oneclick", "one click", "1-click"})
_REFUNDS: Final = frozenset({"refund", "credit", "void"})
_CHARGEBACKS: Final = frozenset({"chargeback", "charge back", "charge-back"})
_YES: Final = frozenset({"yes", "y", "true", "1"})
_NO: Final = frozenset({"no", "n", "false", "0"})
_CANCELLED: Final = frozenset({"canceled", "cancelled"})
_DECLINE_CODE = re.compile(r"^\s*([0-9A-Z]{1,3})\s*-")
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_REQUEST_ID_HEADERS: Final = ("x-request-id", "request-id", "x-correlation-id")

_PARTIAL = N_("SegPay refunded part of this payment.")
_CANCELLED_NOTE = N_(
    "The payment went through; the subscription has since been cancelled and will not renew."
)
_PENDING_NOTE = N_("SegPay's report does not say whether this payment went through.")
_REFUND_SENT = N_("SegPay accepted the refund of transaction {transaction}.")


class _QueryCredentialFilter(logging.Filter):
    """Masks SRS credentials in log lines: httpx logs every request's full URL, and SRS takes
    its credentials in the query string."""

    _PATTERN = re.compile(r"(?i)\b(userid|useraccesskey)=[^&\s\"'>]*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._PATTERN.sub(r"\1=[secret]", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _install_log_filter() -> None:
    for name in ("httpx", "httpcore"):
        target = logging.getLogger(name)
        if not any(isinstance(f, _QueryCredentialFilter) for f in target.filters):
            target.addFilter(_QueryCredentialFilter())


_install_log_filter()


def _is_task(path: str) -> bool:
    """Whether ``path`` is one of SRS's support tasks (side effects), not a report."""
    return "adm.asmx/" in path.lower()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# -- the clients --------------------------------------------------------------------------------


class _SrsClient(BaseClient):
    """What SegPay's sync and async clients share: query-string credentials, SRS's sentences
    as errors, and no blind repeats of support tasks."""

    processor = PROCESSOR_ID

    def authenticate(self, request: httpx.Request) -> httpx.Request:
        user = "Userid" if _is_task(request.url.path) else "UserID"
        credentials = httpx.QueryParams(
            {user: self.credential("user_id"), "UserAccessKey": self.credential("access_key")}
        )
        request.url = request.url.copy_with(params=credentials.merge(request.url.params))
        return request

    def map_error(self, response: httpx.Response, request_id: str | None) -> APIStatusError | None:
        if response.is_success:
            if b"<string" not in response.content[:512]:
                return None
            try:
                root = _xml(self, response)
            except APIResponseValidationError:
                return None  # unreadable: the parser reports it with the whole story
            if _local(root.tag) != "string":
                return None
            return self.sentence_error(response, (root.text or "").strip(), request_id)
        kind = response.headers.get("content-type", "")
        if "html" not in kind and b"missing parameter" in response.content[:2048].lower():
            # ASP.NET's answer when a parameter is left out: a 500 in plain text.
            return self.sentence_error(response, "Missing Parameter", request_id)
        return None

    def sentence_error(
        self, response: httpx.Response, sentence: str, request_id: str | None
    ) -> APIStatusError | None:
        """The error for one of SRS's sentences, ``None`` for ``Successful`` or a sentence
        payhelp does not know (the caller then treats the answer as unreadable)."""
        lowered = sentence.lower()
        if lowered == SUCCESSFUL.lower():
            return None
        for words, kind, status in _SENTENCES:
            if words in lowered:
                said = self.scrub(sentence)[:120]
                operation = response.request.url.path.rsplit("/", 1)[-1]
                return kind(
                    f"{self.processor}: SRS answered {said!r} to {operation}",
                    processor=self.processor,
                    status_code=status,
                    request_id=request_id,
                    code=said,
                )
        return None

    def _may_retry_blindly(self, method: str, idempotency_key: str | None) -> bool:
        # SRS runs its support tasks (a refund, a cancellation) as GET requests, which the core
        # repeats freely. The method cannot see the path, so a request with side effects is
        # marked by its idempotency key instead: the adapter gives every submission one, and
        # `request` gives one to any ADM.asmx call that lacks it. SegPay honours no idempotency
        # header, so a keyed request is repeated only when it surely never arrived (connection
        # refused, or a 429) - never after a 5xx or a timeout.
        if idempotency_key is not None:
            return False
        return super()._may_retry_blindly(method, idempotency_key)


def _task_key(path: str, idempotency_key: str | None) -> str | None:
    if idempotency_key is None and _is_task(path):
        return f"payhelp-segpay-{uuid.uuid4().hex}"
    return idempotency_key


class SegpayClient(_SrsClient, SyncClient):
    """The blocking SRS client."""

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send one request; a support task is never repeated blindly."""
        return super().request(
            method,
            path,
            params=params,
            json=json,
            data=data,
            headers=headers,
            idempotency_key=_task_key(path, idempotency_key),
        )


class SegpayAsyncClient(_SrsClient, AsyncClient):
    """The async SRS client."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send one request; a support task is never repeated blindly."""
        return await super().request(
            method,
            path,
            params=params,
            json=json,
            data=data,
            headers=headers,
            idempotency_key=_task_key(path, idempotency_key),
        )


# -- reading answers ----------------------------------------------------------------------------


def _xml(client: BaseClient, response: httpx.Response) -> ET.Element:
    """The answer's root element; :class:`~payhelp.errors.APIResponseValidationError` for an
    empty, HTML or malformed body. Bodies declaring a DTD are refused unread: SRS never sends
    one, and refusing them rules out entity-expansion attacks on the parser."""
    body = response.content
    if not body.strip():
        raise client.invalid(response, "the answer is empty")
    lowered = body.lower()
    if b"<html" in lowered[:2048]:
        raise client.invalid(response, "the answer is an HTML page, not SRS's XML")
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise client.invalid(response, "the answer declares a DTD, which SRS never sends")
    try:
        return ET.fromstring(body)  # noqa: S314 - no DTD (checked above), so no entities
    except ET.ParseError:
        raise client.invalid(response, "the answer is not well-formed XML") from None


def _sentence(client: BaseClient, response: httpx.Response) -> str:
    """The text of a support task's ``<string>`` answer."""
    root = _xml(client, response)
    if _local(root.tag) != "string":
        raise client.invalid(response, "a support task answered something other than <string>")
    return (root.text or "").strip()


def _report(client: BaseClient, response: httpx.Response) -> list[dict[str, str]]:
    """The rows of an SRS report (empty when SegPay has no such payment)."""
    root = _xml(client, response)
    name = _local(root.tag)
    if name == "string":
        raise client.invalid(response, "a report answered a sentence instead of rows")
    rows = [el for el in root.iter() if _local(el.tag) == "Data" and len(el)]
    if not rows and name not in {"DataSet", "diffgram", "NewDataSet"}:
        raise client.invalid(response, f"the answer is not an SRS report (root <{name[:40]}>)")
    parsed = []
    for row in rows:
        fields = {_local(child.tag): (child.text or "").strip() for child in row}
        if not fields.get("TransID"):
            raise client.invalid(response, "a report row has no TransID")
        parsed.append(fields)
    return parsed


def _request_id(response: httpx.Response) -> str | None:
    for header in _REQUEST_ID_HEADERS:
        if header in response.headers:
            return str(response.headers[header])
    ours = response.request.headers.get("X-Request-Id")
    return str(ours) if ours is not None else None


# -- from rows to core models -------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """One report row in core terms, with what the overall status needs."""

    record: PaymentRecord
    related: str | None
    purchase_id: str | None
    purchase_cancelled: bool

    @property
    def trans_id(self) -> str:
        return self.record.transaction_id or ""


def _kind(fields: Mapping[str, str]) -> PaymentKind:
    word = fields.get("Type", "").strip().lower()
    if word in _SALES:
        return (
            PaymentKind.REBILL if fields.get("Source", "").lower() == "rebill" else PaymentKind.SALE
        )
    if word in _REFUNDS:
        return PaymentKind.REFUND
    if word in _CHARGEBACKS:
        return PaymentKind.CHARGEBACK
    return PaymentKind.OTHER  # "charge" (postbacks) among them: ambiguous, so not mapped


_APPROVED_AS: Final[Mapping[PaymentKind, PaymentStatus]] = {
    PaymentKind.SALE: PaymentStatus.APPROVED,
    PaymentKind.REBILL: PaymentStatus.APPROVED,
    PaymentKind.REFUND: PaymentStatus.REFUNDED,
    PaymentKind.CHARGEBACK: PaymentStatus.CHARGEBACK,
}


def _status(kind: PaymentKind, auth: str) -> PaymentStatus:
    """Only an explicit ``Auth`` maps: ``No`` is a decline, ``Yes`` what the row's type says;
    anything else (an unknown type, an empty or odd ``Auth``) is pending."""
    word = auth.strip().lower()
    if word in _NO:
        return PaymentStatus.DECLINED
    if word in _YES:
        return _APPROVED_AS.get(kind, PaymentStatus.PENDING)
    return PaymentStatus.PENDING


def _money(fields: Mapping[str, str]) -> Money | None:
    try:
        amount = abs(Decimal(fields.get("TransAmount", "")))
        return Money(amount=amount, currency=fields.get("Currency", ""))
    except (InvalidOperation, ValidationError, ValueError):
        return None


def _moment(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", value))
    except ValueError:
        return None
    # SegPay's systems run on GMT (SRS Web Service Reports page), so a bare time is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _last4(fields: Mapping[str, str]) -> str | None:
    for name in _CARD_FIELDS:
        digits = re.sub(r"\D", "", fields.get(name, ""))
        if len(digits) >= 4:
            return digits[-4:]
    return None


def _decline_code(fields: Mapping[str, str]) -> str | None:
    auth_code = fields.get("AuthCode", "")
    found = _DECLINE_CODE.match(auth_code)
    if found:
        return found.group(1)
    return mask_card_numbers(auth_code)[:60] or None


def _row(fields: Mapping[str, str]) -> _Row:
    kind = _kind(fields)
    status = _status(kind, fields.get("Auth", ""))
    raw = "; ".join(
        f"{name}={fields[name]}"
        for name in ("Type", "Source", "Auth", "PurchStatus")
        if fields.get(name)
    )
    purchase = fields.get("PurchaseID") or None
    related = fields.get("RelatedTransID", "")
    record = PaymentRecord(
        transaction_id=fields["TransID"],
        kind=kind,
        status=status,
        raw_status=mask_card_numbers(raw)[:200] or None,
        amount=_money(fields),
        created_at=_moment(fields.get("TransTime", "")),
        card_last4=_last4(fields),
        references={IdKind.PURCHASE: purchase} if purchase else {},
        decline_code=_decline_code(fields) if status is PaymentStatus.DECLINED else None,
    )
    return _Row(
        record=record,
        related=related if related.strip("0") else None,
        purchase_id=purchase,
        purchase_cancelled=fields.get("PurchStatus", "").lower() in _CANCELLED,
    )


def _newest_first(rows: Sequence[_Row]) -> list[_Row]:
    floor = datetime.min.replace(tzinfo=UTC)
    return sorted(rows, key=lambda r: r.record.created_at or floor, reverse=True)


def _sale_status(sale: _Row, rows: Sequence[_Row]) -> PaymentStatus:
    """An approved sale's status once what followed it is known."""
    after = [r for r in rows if r.related == sale.trans_id]
    if any(r.record.status is PaymentStatus.CHARGEBACK for r in after):
        return PaymentStatus.CHARGEBACK
    refunds = [r.record for r in after if r.record.status is PaymentStatus.REFUNDED]
    if refunds:
        paid = sale.record.amount
        amounts = [r.amount for r in refunds]
        if paid is not None and all(a is not None and a.currency == paid.currency for a in amounts):
            refunded = sum((a.amount for a in amounts if a is not None), Decimal(0))
            if refunded < paid.amount:
                return PaymentStatus.PARTIALLY_REFUNDED
        return PaymentStatus.REFUNDED
    if sale.purchase_cancelled:
        return PaymentStatus.CANCELLED_SUBSCRIPTION
    return PaymentStatus.APPROVED


def _overall(subject: _Row, rows: Sequence[_Row]) -> PaymentStatus:
    status = subject.record.status
    if status is PaymentStatus.APPROVED:
        return _sale_status(subject, rows)
    if status is PaymentStatus.REFUNDED and subject.related:
        original = next((r for r in rows if r.trans_id == subject.related), None)
        if original is not None and original.record.status is PaymentStatus.APPROVED:
            partial = _sale_status(original, rows) is PaymentStatus.PARTIALLY_REFUNDED
            return PaymentStatus.PARTIALLY_REFUNDED if partial else PaymentStatus.REFUNDED
    return status


_NOTES: Final = {
    PaymentStatus.PARTIALLY_REFUNDED: _PARTIAL,
    PaymentStatus.CANCELLED_SUBSCRIPTION: _CANCELLED_NOTE,
    PaymentStatus.PENDING: _PENDING_NOTE,
}


def _merge(first: Sequence[_Row], more: Sequence[_Row]) -> list[_Row]:
    seen = {r.trans_id for r in first}
    return [*first, *(r for r in more if r.trans_id not in seen)]


# -- the adapter --------------------------------------------------------------------------------


def _purchase_id(query: LookupQuery) -> str | None:
    return query.references.get(IdKind.PURCHASE)


class SegpayAdapter(ApiAdapter):
    """SegPay through SRS: look a payment up by transaction id or purchase id, refund a
    transaction, cancel a membership."""

    processor = PROCESSOR_ID
    basis = "third_party"
    default_base_url = BASE_URL
    credential_names = ("user_id", "access_key")
    lookup_rules = (
        LookupRule(fields=("transaction_id",)),
        LookupRule(fields=("purchase_id",)),
    )
    sync_client_class = SegpayClient
    async_client_class = SegpayAsyncClient

    # -- lookups ------------------------------------------------------------------------------

    def lookup_request(self, query: LookupQuery) -> RequestSpec:
        if query.transaction_id is not None:
            return RequestSpec("GET", TRANSACTION_BY_ID, params={"TransID": query.transaction_id})
        purchase = _purchase_id(query)
        if purchase is None:
            raise InvalidInputError(
                f"{self.processor} looks payments up by transaction id or purchase id"
            )
        return RequestSpec("GET", TRANSACTIONS_BY_PURCHASE, params={"PurchaseID": purchase})

    def parse_lookup(
        self, query: LookupQuery, response: httpx.Response, client: SyncClient | AsyncClient
    ) -> LookupResult:
        """The answer from one report alone (:meth:`lookup` may read the purchase's history
        too)."""
        rows = [_row(fields) for fields in _report(client, response)]
        return self._result(query, rows, response, client)

    def _history_request(self, query: LookupQuery, rows: Sequence[_Row]) -> RequestSpec | None:
        """The purchase's history, when a transaction's own row cannot tell the whole story: a
        refund or a chargeback is a later transaction of the same purchase."""
        if query.transaction_id is None:
            return None
        subject = next((r for r in rows if r.trans_id == query.transaction_id), None)
        if subject is None or subject.purchase_id is None:
            return None
        if subject.record.status not in {PaymentStatus.APPROVED, PaymentStatus.REFUNDED}:
            return None
        if subject.record.status is PaymentStatus.REFUNDED and subject.related is None:
            return None
        return RequestSpec(
            "GET", TRANSACTIONS_BY_PURCHASE, params={"PurchaseID": subject.purchase_id}
        )

    def lookup(self, query: LookupQuery) -> LookupResult:
        """Look ``query`` up: the transaction's report, then its purchase's history if needed."""
        check_lookup(self.processor, self.lookup_rules, query)
        client = self.sync_client
        first = _send(client, self.lookup_request(query))
        rows = [_row(fields) for fields in _report(client, first)]
        history = self._history_request(query, rows)
        if history is not None:
            more = _report(client, _send(client, history))
            rows = _merge(rows, [_row(fields) for fields in more])
        return self._result(query, rows, first, client)

    async def alookup(self, query: LookupQuery) -> LookupResult:
        """:meth:`lookup` without blocking."""
        check_lookup(self.processor, self.lookup_rules, query)
        client = self.async_client
        first = await _asend(client, self.lookup_request(query))
        rows = [_row(fields) for fields in _report(client, first)]
        history = self._history_request(query, rows)
        if history is not None:
            more = _report(client, await _asend(client, history))
            rows = _merge(rows, [_row(fields) for fields in more])
        return self._result(query, rows, first, client)

    def _result(
        self,
        query: LookupQuery,
        rows: Sequence[_Row],
        response: httpx.Response,
        client: BaseClient,
    ) -> LookupResult:
        asked = query.transaction_id or _purchase_id(query) or ""
        if not rows:
            raise NotFoundError(
                f"{self.processor}: SRS has no transaction for {short_echo(asked)}",
                processor=self.processor,
                status_code=404,
                request_id=_request_id(response),
            )
        ordered = _newest_first(rows)
        if query.transaction_id is not None:
            subject = next((r for r in ordered if r.trans_id == query.transaction_id), None)
            if subject is None:
                raise client.invalid(response, "the report does not hold the transaction asked for")
        else:
            sales = [r for r in ordered if r.record.kind in {PaymentKind.SALE, PaymentKind.REBILL}]
            subject = (sales or ordered)[0]
        status = _overall(subject, rows)
        note = _NOTES.get(status)
        return LookupResult(
            processor=self.processor,
            status=status,
            source=self.source,
            records=tuple(r.record for r in ordered),
            request_id=_request_id(response),
            message=render(note, DEFAULT_LANGUAGE) if note is not None else None,
        )

    # -- refunds ------------------------------------------------------------------------------

    def submit_request(self, request: DisputeRequest, idempotency_key: str) -> RequestSpec:
        """``RefundTransaction`` for the whole transaction, with the reason in words."""
        transaction_id = request.transaction.transaction_id
        if transaction_id is None:
            raise InvalidInputError(
                f"{self.processor}: a refund through SRS needs SegPay's transaction id (TransID); "
                "the request names only other references"
            )
        if request.amount is not None:
            raise CapabilityError(
                f"{self.processor}: SRS's RefundTransaction refunds the whole transaction; ask "
                "SegPay by email for a partial refund",
                processor=self.processor,
            )
        return RequestSpec(
            "GET",
            REFUND_TRANSACTION,
            params={"TransID": transaction_id, "RefundReason": REFUND_REASONS[request.reason]},
            idempotency_key=idempotency_key,
        )

    def parse_submit(
        self,
        request: DisputeRequest,
        idempotency_key: str,
        response: httpx.Response,
        client: SyncClient | AsyncClient,
    ) -> SubmissionReceipt:
        _expect_successful(client, response)
        transaction_id = request.transaction.transaction_id or ""
        return SubmissionReceipt(
            processor=self.processor,
            idempotency_key=idempotency_key,
            channel=SubmissionChannel.API,
            reference=None,  # SRS answers "Successful" and nothing else
            submitted_at=datetime.now(UTC),
            status=SubmissionStatus.SENT,
            detail=render(_REFUND_SENT, DEFAULT_LANGUAGE).format(transaction=transaction_id),
            processor_reason=REFUND_REASONS[request.reason],
        )

    # -- memberships --------------------------------------------------------------------------

    def cancel_membership(self, purchase_id: str, reason: str | None = None) -> None:
        """Cancel the subscription ``purchase_id`` at the end of its paid period
        (``CancelMembership``); raises from :mod:`payhelp.errors` unless SRS says
        ``Successful``."""
        client = self.sync_client
        response = client.request(
            "GET",
            CANCEL_MEMBERSHIP,
            params={"PurchaseID": purchase_id, "CancelReason": reason or ""},
        )
        _expect_successful(client, response)

    async def acancel_membership(self, purchase_id: str, reason: str | None = None) -> None:
        """:meth:`cancel_membership` without blocking."""
        client = self.async_client
        response = await client.request(
            "GET",
            CANCEL_MEMBERSHIP,
            params={"PurchaseID": purchase_id, "CancelReason": reason or ""},
        )
        _expect_successful(client, response)


def _expect_successful(client: BaseClient, response: httpx.Response) -> None:
    # The documented failure sentences were raised by map_error already; anything else is an
    # answer payhelp cannot read, and the task may have run (maybe_applied stays true).
    if _sentence(client, response).lower() != SUCCESSFUL.lower():
        raise client.invalid(response, "SRS answered neither 'Successful' nor a known sentence")


def _send(client: SyncClient, spec: RequestSpec) -> httpx.Response:
    return client.request(
        spec.method, spec.path, params=spec.params, idempotency_key=spec.idempotency_key
    )


async def _asend(client: AsyncClient, spec: RequestSpec) -> httpx.Response:
    return await client.request(
        spec.method, spec.path, params=spec.params, idempotency_key=spec.idempotency_key
    )


__all__ = [
    "BASE_URL",
    "CANCEL_MEMBERSHIP",
    "REFUND_REASONS",
    "REFUND_TRANSACTION",
    "TRANSACTIONS_BY_PURCHASE",
    "TRANSACTION_BY_ID",
    "SegpayAdapter",
    "SegpayAsyncClient",
    "SegpayClient",
]
