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

Support tasks have side effects although they are ``GET`` requests:
:meth:`SegpayApi.has_side_effects` says so, and the core never sends one twice after it may have
arrived.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from payhelp import wire
from payhelp.adapters import Call, Operation, ProcessorApi, QueryAuth
from payhelp.cases import (
    DisputeReason,
    DisputeRequest,
    LookupQuery,
    LookupResult,
    LookupRule,
    PaymentKind,
    PaymentRecord,
    PaymentStatus,
    SubmissionReceipt,
)
from payhelp.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from payhelp.i18n import DEFAULT_LANGUAGE, render
from payhelp.models import IdKind
from payhelp.redact import mask_card_numbers, short_echo
from payhelp_segpay import PROCESSOR_ID
from payhelp_segpay.i18n import N_

if TYPE_CHECKING:
    import httpx

BASE_URL: Final = "https://srs.segpay.com/"
TRANSACTION_BY_ID: Final = "MWS.asmx/TransactionByTransID"
TRANSACTIONS_BY_PURCHASE: Final = "MWS.asmx/TransactionByPurchaseID"
REFUND_TRANSACTION: Final = "ADM.asmx/RefundTransaction"
CANCEL_MEMBERSHIP: Final = "ADM.asmx/CancelMembership"
#: SRS's answer when a support task worked.
SUCCESSFUL: Final = "Successful"
#: Where the wire format was learned.
REFERENCE: Final = (
    "third-party SegPay integrations of the SRS web services (ADM.asmx RefundTransaction, "
    "CancelMembership; MWS.asmx reports; GET with Userid and UserAccessKey)"
)

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
ERROR_PHRASES: Final = wire.Phrases(
    (
        wire.Phrase(("invalid merchant", "invalid user"), AuthenticationError, 401),
        wire.Phrase(("mismatch",), NotFoundError, 404),
        wire.Phrase(("missing parameter",), BadRequestError, 400),
        wire.Phrase(("not active", "already"), ConflictError, 409),
    )
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

_PARTIAL = N_("SegPay refunded part of this payment.")
_CANCELLED_NOTE = N_(
    "The payment went through; the subscription has since been cancelled and will not renew."
)
_PENDING_NOTE = N_("SegPay's report does not say whether this payment went through.")
_REFUND_SENT = N_("SegPay accepted the refund of transaction {transaction}.")


def _is_task(path: str) -> bool:
    """Whether ``path`` is one of SRS's support tasks (side effects), not a report."""
    return "adm.asmx/" in path.lower()


# -- reading answers ----------------------------------------------------------------------------


def _sentence(api: ProcessorApi, response: httpx.Response) -> str:
    """The text of a support task's ``<string>`` answer."""
    root = wire.read_xml(api, response)
    if wire.local_name(root.tag) != "string":
        raise api.invalid(response, "a support task answered something other than <string>")
    return (root.text or "").strip()


def _report(api: ProcessorApi, response: httpx.Response) -> list[dict[str, str]]:
    """The rows of an SRS report (empty when SegPay has no such payment)."""
    root = wire.read_xml(api, response)
    name = wire.local_name(root.tag)
    if name == "string":
        raise api.invalid(response, "a report answered a sentence instead of rows")
    rows = [el for el in root.iter() if wire.local_name(el.tag) == "Data" and len(el)]
    if not rows and name not in {"DataSet", "diffgram", "NewDataSet"}:
        raise api.invalid(response, f"the answer is not an SRS report (root <{name[:40]}>)")
    parsed = []
    for row in rows:
        fields = {wire.local_name(child.tag): (child.text or "").strip() for child in row}
        if not fields.get("TransID"):
            raise api.invalid(response, "a report row has no TransID")
        parsed.append(fields)
    return parsed


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


def _last4(fields: Mapping[str, str]) -> str | None:
    for name in _CARD_FIELDS:
        found = wire.last4(fields.get(name))
        if found is not None:
            return found
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
        amount=wire.money(fields.get("TransAmount"), fields.get("Currency")),
        # SegPay's systems run on GMT (SRS Web Service Reports page), so a bare time is UTC.
        created_at=wire.moment(fields.get("TransTime")),
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


# -- the API ------------------------------------------------------------------------------------


def _purchase_id(query: LookupQuery) -> str | None:
    return query.references.get(IdKind.PURCHASE)


class SegpayApi(ProcessorApi):
    """SegPay through SRS: look a payment up by transaction id or purchase id, refund a
    transaction, cancel a membership."""

    processor = PROCESSOR_ID
    basis = "third_party"
    base_url = BASE_URL
    reference = REFERENCE
    # ``UserID`` on the MWS.asmx reports, ``Userid`` on the ADM.asmx tasks, as each page spells it.
    auth = QueryAuth(
        {"UserID": "user_id", "UserAccessKey": "access_key"},
        spellings={"adm.asmx/": {"UserID": "Userid"}},
    )
    lookup_rules = (
        LookupRule(fields=("transaction_id",)),
        LookupRule(fields=("purchase_id",)),
    )

    def has_side_effects(self, request: httpx.Request) -> bool:
        """SRS runs its support tasks (a refund, a cancellation) as ``GET`` requests; SegPay
        honours no idempotency header, so a task is repeated only when it surely never arrived
        (connection refused, or a 429), never after a 5xx or a timeout."""
        return _is_task(request.url.path) or super().has_side_effects(request)

    def error_for(self, response: httpx.Response, request_id: str | None) -> APIStatusError | None:
        """A support task's failure sentence (with status 200), or ASP.NET's plain-text 500 for a
        missing parameter; anything else is left to the HTTP status and the operation."""
        operation = response.request.url.path.rsplit("/", 1)[-1]
        if response.is_success:
            if b"<string" not in response.content[:512]:
                return None
            root = wire.try_xml(response.content)
            if root is None or wire.local_name(root.tag) != "string":
                return None  # unreadable: the operation reports it with the whole story
            said = (root.text or "").strip()
            if said.lower() == SUCCESSFUL.lower():
                return None
            return ERROR_PHRASES.error(
                self,
                said,
                response,
                request_id,
                code=self.scrub(said)[:120],
                what=f"SRS answered {operation} with",
            )
        kind = response.headers.get("content-type", "")
        if "html" not in kind and b"missing parameter" in response.content[:2048].lower():
            # ASP.NET's answer when a parameter is left out: a 500 in plain text.
            return ERROR_PHRASES.error(
                self,
                "Missing Parameter",
                response,
                request_id,
                code="Missing Parameter",
                what=f"SRS answered {operation} with",
            )
        return None

    # -- lookups ------------------------------------------------------------------------------

    def lookup(self, query: LookupQuery) -> Operation[LookupResult]:
        """The transaction's (or purchase's) report, then the purchase's history when the
        transaction's own row cannot tell the whole story."""
        first = yield self._lookup_call(query)
        rows = [_row(fields) for fields in _report(self, first)]
        history = self._history_call(query, rows)
        if history is not None:
            more = yield history
            rows = _merge(rows, [_row(fields) for fields in _report(self, more)])
        return self._result(query, rows, first)

    def _lookup_call(self, query: LookupQuery) -> Call:
        if query.transaction_id is not None:
            return Call("GET", TRANSACTION_BY_ID, params={"TransID": query.transaction_id})
        purchase = _purchase_id(query)
        if purchase is None:
            raise InvalidInputError(
                f"{self.processor} looks payments up by transaction id or purchase id"
            )
        return Call("GET", TRANSACTIONS_BY_PURCHASE, params={"PurchaseID": purchase})

    def _history_call(self, query: LookupQuery, rows: Sequence[_Row]) -> Call | None:
        """The purchase's history, when a refund or a chargeback would be a later transaction of
        the same purchase."""
        if query.transaction_id is None:
            return None
        subject = next((r for r in rows if r.trans_id == query.transaction_id), None)
        if subject is None or subject.purchase_id is None:
            return None
        if subject.record.status not in {PaymentStatus.APPROVED, PaymentStatus.REFUNDED}:
            return None
        if subject.record.status is PaymentStatus.REFUNDED and subject.related is None:
            return None
        return Call("GET", TRANSACTIONS_BY_PURCHASE, params={"PurchaseID": subject.purchase_id})

    def _result(
        self, query: LookupQuery, rows: Sequence[_Row], response: httpx.Response
    ) -> LookupResult:
        asked = query.transaction_id or _purchase_id(query) or ""
        if not rows:
            raise NotFoundError(
                f"{self.processor}: SRS has no transaction for {short_echo(asked)}",
                processor=self.processor,
                status_code=404,
                request_id=wire.request_id(response),
            )
        ordered = _newest_first(rows)
        if query.transaction_id is not None:
            subject = next((r for r in ordered if r.trans_id == query.transaction_id), None)
            if subject is None:
                raise self.invalid(response, "the report does not hold the transaction asked for")
        else:
            sales = [r for r in ordered if r.record.kind in {PaymentKind.SALE, PaymentKind.REBILL}]
            subject = (sales or ordered)[0]
        status = _overall(subject, rows)
        note = _NOTES.get(status)
        return wire.lookup_result(
            self,
            response,
            status=status,
            records=(r.record for r in ordered),
            message=render(note, DEFAULT_LANGUAGE) if note is not None else None,
        )

    # -- refunds ------------------------------------------------------------------------------

    def submit(self, request: DisputeRequest, idempotency_key: str) -> Operation[SubmissionReceipt]:
        """``RefundTransaction`` for the whole transaction, with the reason in words."""
        transaction_id = request.transaction.transaction_id
        if transaction_id is None:
            raise InvalidInputError(
                f"{self.processor}: a refund through SRS needs SegPay's transaction id (TransID); "
                "the request names only other references"
            )
        wire.whole_transaction_only(self, request, "ask SegPay by email for a partial refund")
        response = yield Call(
            "GET",
            REFUND_TRANSACTION,
            params={"TransID": transaction_id, "RefundReason": REFUND_REASONS[request.reason]},
            idempotency_key=idempotency_key,
        )
        _expect_successful(self, response)
        return wire.api_receipt(
            self,
            idempotency_key,
            reference=None,  # SRS answers "Successful" and nothing else
            detail=render(_REFUND_SENT, DEFAULT_LANGUAGE).format(transaction=transaction_id),
            processor_reason=REFUND_REASONS[request.reason],
        )

    # -- memberships --------------------------------------------------------------------------

    def cancel_membership(self, purchase_id: str, reason: str | None = None) -> Operation[None]:
        """Cancel the subscription ``purchase_id`` at the end of its paid period
        (``CancelMembership``); run it with ``payhelp.adapter("segpay").run(...)`` (or
        ``await ….arun(...)``). Raises from :mod:`payhelp.errors` unless SRS says
        ``Successful``."""
        response = yield Call(
            "GET",
            CANCEL_MEMBERSHIP,
            params={"PurchaseID": purchase_id, "CancelReason": reason or ""},
        )
        _expect_successful(self, response)


def _expect_successful(api: ProcessorApi, response: httpx.Response) -> None:
    # The documented failure sentences were raised by error_for already; anything else is an
    # answer payhelp cannot read, and the task may have run (maybe_applied stays true).
    if _sentence(api, response).lower() != SUCCESSFUL.lower():
        raise api.invalid(response, "SRS answered neither 'Successful' nor a known sentence")


__all__ = [
    "BASE_URL",
    "CANCEL_MEMBERSHIP",
    "ERROR_PHRASES",
    "REFERENCE",
    "REFUND_REASONS",
    "REFUND_TRANSACTION",
    "TRANSACTIONS_BY_PURCHASE",
    "TRANSACTION_BY_ID",
    "SegpayApi",
]
