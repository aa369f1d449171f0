"""NovaPay's merchant API, declared for payhelp's core, which does all the talking.

The wire format (fictional): ``GET payments/<id>`` answers the payment as JSON, with
``"refunded": true`` when refunds were made, which ``GET payments/<id>/refunds`` then lists;
``POST refunds`` files a refund of the whole payment and honours an ``Idempotency-Key`` header.
Credentials go in a bearer ``Authorization`` header. Errors are JSON bodies
``{"error": {"message": ...}}`` with a fitting HTTP status.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from payhelp import wire
from payhelp.adapters import Call, HeaderAuth, Operation, ProcessorApi
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
from payhelp.errors import APIStatusError, ConflictError, InvalidInputError

BASE_URL = "https://api.novapay.example.com/v1/"

#: NovaPay's payment status words, in payhelp's terms.
STATUSES = {
    "captured": PaymentStatus.APPROVED,
    "declined": PaymentStatus.DECLINED,
    "disputed": PaymentStatus.CHARGEBACK,
}

#: The reason NovaPay files a refund under, for each of payhelp's reasons.
REFUND_REASONS = {
    DisputeReason.DUPLICATE_CHARGE: "duplicate",
    DisputeReason.NOT_RECOGNISED: "fraudulent",
    DisputeReason.CANCELLED_STILL_CHARGED: "subscription_cancelled",
}

#: NovaPay's error sentences that say more than their HTTP status.
PHRASES = wire.Phrases((wire.Phrase(("already refunded",), ConflictError, 409),))


class NovapayApi(ProcessorApi):
    """NovaPay's API: a two-request lookup and a whole-payment refund."""

    processor = "novapay"
    basis = "official"
    base_url = BASE_URL
    reference = "https://docs.novapay.example.com/api"
    auth = HeaderAuth({"Authorization": "Bearer {api_key}"})
    lookup_rules = (LookupRule(fields=("transaction_id",)),)
    idempotency_header = "Idempotency-Key"

    def error_for(self, response: httpx.Response, request_id: str | None) -> APIStatusError | None:
        if response.is_success:
            return None
        said = _error_message(response)
        return PHRASES.error(self, said, response, request_id) if said else None

    def lookup(self, query: LookupQuery) -> Operation[LookupResult]:
        ident = query.transaction_id or ""
        response = yield Call("GET", f"payments/{ident}")
        payment = self._json(response)
        status = STATUSES.get(str(payment.get("status")))
        if status is None:
            raise self.invalid(response, "the payment has no status NovaPay documents")
        sale = _record(payment, PaymentKind.SALE, status)
        records = [sale]
        if payment.get("refunded") is True:
            listed = yield Call("GET", f"payments/{ident}/refunds")
            refunds = self._json(listed).get("data")
            if not isinstance(refunds, list) or not refunds:
                raise self.invalid(listed, "a refunded payment lists no refund")
            refund_records = [
                _record(r, PaymentKind.REFUND, PaymentStatus.REFUNDED)
                for r in refunds
                if isinstance(r, dict)
            ]
            refunded = sum((r.amount.amount for r in refund_records if r.amount), Decimal(0))
            whole = sale.amount is not None and refunded >= sale.amount.amount
            status = PaymentStatus.REFUNDED if whole else PaymentStatus.PARTIALLY_REFUNDED
            records = [*reversed(refund_records), sale]  # newest first
        return LookupResult(
            processor=self.processor,
            status=status,
            source=self.source,
            records=tuple(records),
            request_id=wire.request_id(response),
        )

    def submit(self, request: DisputeRequest, idempotency_key: str) -> Operation[SubmissionReceipt]:
        wire.whole_transaction_only(self, request, "write to NovaPay's support for part of it")
        ident = request.transaction.transaction_id
        if not ident:
            raise InvalidInputError("novapay: a refund needs NovaPay's transaction id")
        response = yield Call(
            "POST",
            "refunds",
            json={"payment": ident, "reason": REFUND_REASONS.get(request.reason, "other")},
            idempotency_key=idempotency_key,
        )
        refund = self._json(response)
        return wire.api_receipt(
            self,
            idempotency_key,
            reference=str(refund.get("id") or "") or None,
            detail=f"NovaPay refunded payment {ident}",
        )

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise self.invalid(response, "the answer is not JSON") from None
        if not isinstance(body, dict):
            raise self.invalid(response, "the answer is not a JSON object")
        return body


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("message") or "") if isinstance(error, dict) else ""


def _record(data: dict[str, Any], kind: PaymentKind, status: PaymentStatus) -> PaymentRecord:
    return PaymentRecord(
        transaction_id=str(data.get("id") or "") or None,
        kind=kind,
        status=status,
        raw_status=str(data.get("status") or "") or None,
        amount=wire.money(data.get("amount"), data.get("currency")),
        created_at=wire.moment(data.get("created")),
        card_last4=wire.last4(data.get("card_last4")),
        decline_code=str(data.get("decline_code") or "") or None,
    )
