"""CentroBill's merchant API: payment, subscription and consumer lookups, refunds (credits).

Basis: **official**. The requests, paths and field names follow CentroBill's official PHP SDK,
``Centrobill/php-sdk-v1``:

- ``src/Http/Request/CreditRequest.php``: ``POST payment/{id}/credit`` with ``reason`` (required,
  at most 255 characters, ``src/ValueObject/Reason.php``) and ``amount`` (optional);
  the answer is ``tests/fixtures/CreditResponse.json`` (``{"payment": {...}}``).
- ``src/Http/Request/GetSubscriptionRequest.php``: ``GET subscription/{id}``; the answer is the
  bare subscription object (``src/Http/Response/Entity/Subscription.php``,
  ``tests/fixtures/ChangeSubscriptionResponse.json``).
- ``src/Http/Request/GetConsumerRequest.php``: ``GET consumer/{id}``; the answer is the bare
  consumer object (``src/Http/Response/Entity/Consumer.php``,
  ``tests/fixtures/ChangeConsumerGroupResponse.json``).
- Payment fields: ``src/Http/Response/Entity/Payment.php`` and
  ``tests/fixtures/ChangePaymentAccountForsubscriptionResponse.json``.
- Errors: ``src/Http/Response/ResponseFactory.php`` and ``ErrorResponse.php``: an HTTP 4xx or 5xx
  status with a JSON body carrying ``message`` and ``errors``; CentroBill's "Error handling" page
  (readme.centrobill.com/docs/error-handling) gives the statuses (400, 401, 403, 404, 500) and says
  that a payment with ``payment.code`` other than 0 is a decline, not a request error.

One exception, **not in the SDK**: ``GET payment/{id}`` (a payment by transaction id). The SDK has
no such request; :class:`CentroBillApi` sends it as asked by payhelp's design and reads the answer
as the documented payment envelope ``{payment, consumer, subscription?, metadata}`` (the shape of
the SDK's pay, credit and IPN answers). See the plugin README.

The core does the talking (authentication, retries, transport errors, scrubbing):
:class:`CentroBillApi` declares the API, maps CentroBill's error object
(:meth:`~CentroBillApi.error_for`) and writes its lookup and its credit once, as operations the
core drives sync and async.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, Final
from urllib.parse import quote

from pydantic import BeforeValidator, Field, ValidationError

from payhelp import wire
from payhelp._base import WireModel
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
from payhelp.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
)
from payhelp.models import IdKind, Money
from payhelp.redact import mask_card_numbers
from payhelp_centrobill import PROCESSOR_ID

if TYPE_CHECKING:
    import httpx

#: Production API (the SDK's default base URI).
BASE_URL: Final = "https://api.centrobill.com"
#: CentroBill's stage API (``STAGE_URL`` in the SDK's examples).
STAGE_BASE_URL: Final = "https://stage.api.centrobill.com"
#: Where the wire format was learned: CentroBill's official PHP SDK.
REFERENCE: Final = "Centrobill/php-sdk-v1"
#: The SDK's ``Reason`` value object refuses longer reasons.
MAX_REASON_LENGTH: Final = 255

#: Headers the SDK sends with every request it makes (``Client::getHeaders`` and the requests'
#: own ``getHeaders``).
_SDK_HEADERS: Final = {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"}

# -- wire models: CentroBill's own payloads, unknown fields kept -------------------------------


def _text(value: object) -> object:
    """Ids arrive as strings or numbers (``Subscription::getId(): int``); keep them as text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


_Id = Annotated[str, BeforeValidator(_text)]


class WireSource(WireModel):
    """``payment.source``: how the customer paid. ``number`` is masked by CentroBill
    (``402400****6348``); payhelp keeps only its last four digits."""

    method: str | None = None
    number: _Id | None = Field(default=None, repr=False)
    brand: str | None = None
    payment_account_id: str | None = Field(default=None, alias="paymentAccountId")


class WireTimestamp(WireModel):
    """``payment.timestamp`` (``Entity/Timestamp.php``)."""

    date_time: str | None = Field(default=None, alias="dateTime")
    timezone: str | None = None
    unix_time: int | None = Field(default=None, alias="unixTime")


class WirePayment(WireModel):
    """``payment`` (``Entity/Payment.php``)."""

    code: int | str | None = None
    description: str | None = None
    action: str | None = None
    mode: str | None = None
    status: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    amount_usd: Decimal | None = Field(default=None, alias="amountUsd")
    order_id: _Id | None = Field(default=None, alias="orderId")
    transaction_id: _Id | None = Field(default=None, alias="transactionId")
    descriptor: str | None = None
    source: WireSource | None = None
    timestamp: WireTimestamp | None = None


class WireConsumer(WireModel):
    """``consumer`` (``Entity/Consumer.php``), or the whole answer of ``GET consumer/{id}``."""

    id: _Id | None = None
    external_id: _Id | None = Field(default=None, alias="externalId")
    email: str | None = None
    username: str | None = None
    country: str | None = None
    blocked: bool | None = None


class WireSubscription(WireModel):
    """``subscription`` (``Entity/Subscription.php``), or the answer of
    ``GET subscription/{id}``."""

    id: _Id | None = None
    type: str | None = None
    status: str | None = None
    cycle: int | None = None
    sku_name: str | None = Field(default=None, alias="skuName")
    site_id: _Id | None = Field(default=None, alias="siteId")
    renewal_date: str | None = Field(default=None, alias="renewalDate")
    cancel_date: str | None = Field(default=None, alias="cancelDate")
    consumer_id: _Id | None = Field(default=None, alias="consumerId")


class WirePaymentEnvelope(WireModel):
    """The payment answer: ``{payment, consumer, subscription?, metadata}`` (pay, credit, IPN)."""

    payment: WirePayment
    consumer: WireConsumer | None = None
    subscription: WireSubscription | None = None
    metadata: dict[str, Any] | list[Any] | None = None


class WireError(WireModel):
    """An error answer (``ErrorResponse.php``: ``message`` and ``errors``; ``code`` when a body
    carries one)."""

    code: int | str | None = None
    message: str | None = None
    errors: Any = None


# -- normalisation -----------------------------------------------------------------------------

#: Status words that say the operation went through: ``success`` (SDK fixtures) and
#: ``successful`` (CentroBill's WooCommerce plugin, ``wc-centrobill-constants.php``).
SUCCESS_WORDS: Final = frozenset({"success", "successful"})
#: Status words that say it failed: ``fail``, ``failed``, ``declined`` (the same plugin).
FAILURE_WORDS: Final = frozenset({"fail", "failed", "declined"})
#: Modes of a refund transaction: ``credit`` (SDK ``CreditResponse.json``) and ``refund``
#: (CentroBill's WooCommerce plugin).
REFUND_MODES: Final = frozenset({"credit", "refund"})
#: Subscription states that mean cancelled (``canceled`` as integrations quote it).
CANCELLED_WORDS: Final = frozenset({"canceled", "cancelled"})
#: Codes meaning "approved": ``0`` (``payment.code``) and ``0000`` (``cb_code`` on redirects).
_ZERO_CODES: Final = frozenset({"0", "00", "0000"})

_KINDS: Final[Mapping[str, PaymentKind]] = {
    "sale": PaymentKind.SALE,
    "auth": PaymentKind.AUTHORIZATION,
    "credit": PaymentKind.REFUND,
    "refund": PaymentKind.REFUND,
    "chargeback": PaymentKind.CHARGEBACK,
}


def is_approval_code(code: int | str | None) -> bool:
    """Whether ``payment.code`` says approved (0); an absent code says nothing against it."""
    return code is None or str(code).strip() in _ZERO_CODES


def payment_status(payment: WirePayment, charged: Money | None = None) -> PaymentStatus:
    """CentroBill's ``mode``, ``status`` and ``code`` as a normalised status.

    Only explicit words count: a success word with code 0 is approved (or refunded, for a credit),
    a failure word or a success word with another code is declined, ``refunded`` is refunded and
    ``chargeback`` (as mode or status) is a chargeback; anything else stays pending. A credit is
    partially refunded when ``charged`` (the amount the customer says was taken, same currency)
    is larger than the credit.
    """
    mode = (payment.mode or "").strip().lower()
    status = (payment.status or "").strip().lower()
    if "chargeback" in (mode, status):
        return PaymentStatus.CHARGEBACK
    if status == "refunded":
        return PaymentStatus.REFUNDED
    if status in FAILURE_WORDS:
        return PaymentStatus.DECLINED
    if status not in SUCCESS_WORDS:
        return PaymentStatus.PENDING
    if not is_approval_code(payment.code):
        return PaymentStatus.DECLINED  # "any other payment.code value indicates a decline"
    if mode in REFUND_MODES:
        if (
            charged is not None
            and payment.amount is not None
            and (payment.currency or "").upper() == charged.currency
            and payment.amount < charged.amount
        ):
            return PaymentStatus.PARTIALLY_REFUNDED
        return PaymentStatus.REFUNDED
    if mode == "void":
        return PaymentStatus.PENDING  # a voided authorisation is neither paid nor declined
    return PaymentStatus.APPROVED


def subscription_status(subscription: WireSubscription) -> PaymentStatus:
    """``active`` is approved, ``canceled``/``cancelled`` a cancelled subscription, anything else
    pending."""
    status = (subscription.status or "").strip().lower()
    if status in CANCELLED_WORDS:
        return PaymentStatus.CANCELLED_SUBSCRIPTION
    if status == "active":
        return PaymentStatus.APPROVED
    return PaymentStatus.PENDING


#: The short ``reason`` sent with a credit (a refund), for each normalised dispute reason.
REFUND_REASONS: Final[Mapping[DisputeReason, str]] = {
    DisputeReason.DUPLICATE_CHARGE: "Duplicate charge",
    DisputeReason.NOT_RECOGNISED: "Charge not recognised by the cardholder",
    DisputeReason.NOT_RECEIVED: "Purchase not received or no access",
    DisputeReason.TECHNICAL_PROBLEM: "Technical problem on the site",
    DisputeReason.UNSATISFIED_SHOW: "Customer unsatisfied with the show",
    DisputeReason.CANCELLED_STILL_CHARGED: "Charged after the subscription was cancelled",
    DisputeReason.OTHER: "Refund requested by the customer",
}


# -- reading answers ---------------------------------------------------------------------------

_ALREADY_REFUNDED = (
    "already credited",
    "already refunded",
    "already been credited",
    "already been refunded",
)


def _error_body(response: httpx.Response) -> WireError | None:
    data = wire.try_json(response.content)
    if data is None:
        return None
    try:
        return WireError.model_validate(data)
    except ValidationError:
        return None


def _plainly_approved(response: httpx.Response) -> bool:
    """Whether a 2xx body is JSON whose top-level ``code`` is absent or an approval: no error,
    decided without building a :class:`WireError` (anything else takes the full reading)."""
    data = wire.try_json(response.content)
    if data is None:
        return True  # not JSON: the operation reports it, as the full reading would leave it
    code = data.get("code")
    if code is None:
        return True
    return isinstance(code, (int, str)) and not isinstance(code, bool) and is_approval_code(code)


def _error_class(status: int, message: str, body: WireError) -> type[APIStatusError]:
    lowered = message.lower()
    if status == 409 or any(words in lowered for words in _ALREADY_REFUNDED):
        return ConflictError
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404 or "not found" in lowered:
        return NotFoundError
    if status == 422 or body.errors:
        return UnprocessableEntityError  # field errors: the request was understood
    if status == 400:
        return BadRequestError
    return UnprocessableEntityError  # a 2xx carrying a failed code: CentroBill refused


def _segment(value: str) -> str:
    """One path segment, quoted so that an id can never walk the path."""
    return quote(value.strip(), safe="")


def _money(amount: Decimal | None, currency: str | None) -> Money | None:
    """:func:`payhelp.wire.money`, after cutting a JSON float's binary tail
    (``0.30000000000000004``) to the four places :class:`~payhelp.models.Money` keeps."""
    if amount is not None:
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -4:
            try:
                amount = amount.quantize(Decimal("0.0001"))
            except InvalidOperation:
                return None
    return wire.money(amount, currency)


def _created_at(timestamp: WireTimestamp | None) -> datetime | None:
    """``timestamp.unixTime`` (seconds since the epoch, so unambiguous); the zone-less
    ``dateTime`` text is not read."""
    if timestamp is None or timestamp.unix_time is None:
        return None
    try:
        return datetime.fromtimestamp(timestamp.unix_time, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _target(query: LookupQuery) -> tuple[str, str]:
    """Which endpoint answers ``query``: a payment first, then a subscription, then a consumer
    (CentroBill's consumer id is the member id)."""
    transaction = query.transaction_id or query.references.get(IdKind.TRANSACTION)
    if transaction and transaction.strip():
        return "payment", transaction
    subscription = query.references.get(IdKind.SUBSCRIPTION)
    if subscription and subscription.strip():
        return "subscription", subscription
    member = query.references.get(IdKind.MEMBER)
    if member and member.strip():
        return "consumer", member
    raise InvalidInputError(
        "centrobill looks payments up by transaction id, subscription id or member "
        "(consumer) id; the query has none of them"
    )


def _reason(reason: DisputeReason) -> str:
    """The short ``reason`` text sent to CentroBill for ``reason``."""
    return REFUND_REASONS[reason][:MAX_REASON_LENGTH]


# -- the API -----------------------------------------------------------------------------------


class CentroBillApi(ProcessorApi):
    """CentroBill's merchant API: look a payment, a subscription or a consumer up, and file a
    refund as a credit."""

    processor = PROCESSOR_ID
    basis = "official"
    base_url = BASE_URL
    reference = REFERENCE
    # The bare key, as the SDK's requests that carry it set it
    # (CheckVerificationCodeRequest::getHeaders) and CentroBill's WooCommerce plugin sends it.
    auth = HeaderAuth({"Authorization": "{api_key}"})
    lookup_rules = (
        LookupRule(fields=("transaction_id",)),
        LookupRule(fields=("subscription_id",)),
        LookupRule(fields=("member_id",)),
    )
    can_submit = True
    # CentroBill dedupes by X-Request-ID (readme.centrobill.com/docs/idempotency), but payhelp
    # sends a fresh one per attempt; with no idempotency header a credit (a POST, so a request
    # with side effects) is never resent after it may have arrived.
    idempotency_header = None

    def error_for(self, response: httpx.Response, request_id: str | None) -> APIStatusError | None:
        """CentroBill's error object (``message``, ``errors``, and ``code`` when present) into
        the error tree, also when a 2xx body carries a failed ``code``; 429 and 5xx are left to
        the core (retries, ``Retry-After``), and so is an answer that is not JSON."""
        status = response.status_code
        if status == 429 or status >= 500:
            return None
        if response.is_success and _plainly_approved(response):
            return None  # the common answer, read without validating it as an error first
        body = _error_body(response)
        if body is None:
            return None  # not JSON: the HTTP status decides, or the operation reports it
        failed_code = body.code is not None and not is_approval_code(body.code)
        if response.is_success and not failed_code:
            return None
        message = (body.message or "").strip()
        kind = _error_class(status, message, body)
        code = str(body.code) if body.code is not None else None
        where = f"{response.request.method} {response.request.url.copy_with(query=None)}"
        text = f"{where}: HTTP {status}" + (f": {message}" if message else "")
        if code is not None:
            text += f" (code {code})"
        return kind(
            self.scrub(text),
            processor=self.processor,
            status_code=status,
            request_id=request_id,
            code=code,
        )

    # -- lookups ----------------------------------------------------------------------------

    def lookup(self, query: LookupQuery) -> Operation[LookupResult]:
        """``GET payment/{id}``, ``GET subscription/{id}`` or ``GET consumer/{id}``, read into
        core terms: records, a normalised status, the request id."""
        resource, value = _target(query)
        response = yield Call("GET", f"{resource}/{_segment(value)}", headers=_SDK_HEADERS)
        data = wire.read_json(self, response)
        try:
            if resource == "payment":
                envelope = WirePaymentEnvelope.model_validate(data)
                return self._payment_result(query, envelope, response)
            if resource == "subscription":
                return self._subscription_result(WireSubscription.model_validate(data), response)
            return self._consumer_result(WireConsumer.model_validate(data), response)
        except ValidationError:
            raise self.invalid(response, f"the {resource} answer lacks documented fields") from None

    def _payment_result(
        self, query: LookupQuery, envelope: WirePaymentEnvelope, response: httpx.Response
    ) -> LookupResult:
        payment = envelope.payment
        status = payment_status(payment, query.amount)
        kind = _KINDS.get((payment.mode or "").strip().lower(), PaymentKind.OTHER)
        subscription = envelope.subscription
        if kind is PaymentKind.SALE and subscription is not None and (subscription.cycle or 0) > 0:
            kind = PaymentKind.REBILL
        references: dict[IdKind, str] = {}
        if payment.order_id:
            references[IdKind.ORDER] = payment.order_id
        if envelope.consumer is not None and envelope.consumer.id:
            references[IdKind.MEMBER] = envelope.consumer.id
        if subscription is not None and subscription.id:
            references[IdKind.SUBSCRIPTION] = subscription.id
        decline = None if is_approval_code(payment.code) else str(payment.code).strip()
        record = PaymentRecord(
            transaction_id=payment.transaction_id,
            kind=kind,
            status=status,
            raw_status=_raw(payment.mode, payment.status, payment.description),
            amount=_money(payment.amount, payment.currency),
            created_at=_created_at(payment.timestamp),
            descriptor=mask_card_numbers(payment.descriptor) if payment.descriptor else None,
            card_last4=wire.last4(payment.source.number if payment.source else None),
            references=references,
            decline_code=decline,
        )
        records = [record]
        overall = status
        if subscription is not None:
            sub_record = _subscription_record(subscription)
            records.append(sub_record)
            # The charge went through, and the subscription behind it has been cancelled since.
            if status is PaymentStatus.APPROVED and (
                sub_record.status is PaymentStatus.CANCELLED_SUBSCRIPTION
            ):
                overall = PaymentStatus.CANCELLED_SUBSCRIPTION
        message = None
        if status is PaymentStatus.REFUNDED and kind is PaymentKind.REFUND and query.amount is None:
            message = (
                f"CentroBill credit of {record.amount or 'an unstated amount'}; give the amount "
                "that was charged to tell a full refund from a partial one."
            )
        return wire.lookup_result(self, response, status=overall, records=records, message=message)

    def _subscription_result(
        self, subscription: WireSubscription, response: httpx.Response
    ) -> LookupResult:
        record = _subscription_record(subscription)
        dates = ", ".join(
            f"{label} {value}"
            for label, value in (
                ("cycle", subscription.cycle),
                ("renewal date", subscription.renewal_date),
                ("cancel date", subscription.cancel_date),
            )
            if value is not None
        )
        return wire.lookup_result(
            self,
            response,
            status=record.status,
            records=(record,),
            message=f"CentroBill subscription {subscription.id}: {subscription.status}"
            + (f" ({dates}; CentroBill's own time zone)" if dates else ""),
        )

    def _consumer_result(self, consumer: WireConsumer, response: httpx.Response) -> LookupResult:
        # CentroBill's consumer answer holds no payments: say what it is, claim no status.
        blocked = " (blocked)" if consumer.blocked else ""
        return wire.lookup_result(
            self,
            response,
            status=PaymentStatus.UNKNOWN,
            message=(
                f"CentroBill knows consumer {consumer.id}{blocked}, but its consumer answer "
                "lists no payments: look up the transaction id or the subscription id."
            ),
        )

    # -- refunds -----------------------------------------------------------------------------

    def submit(self, request: DisputeRequest, idempotency_key: str) -> Operation[SubmissionReceipt]:
        """``POST payment/{id}/credit`` with ``reason``, and ``amount`` for a partial refund; the
        receipt names the credit's own transaction id. CentroBill takes no idempotency key, so
        none is sent and the POST is never resent."""
        tx = request.transaction
        transaction = tx.transaction_id or tx.references.get(IdKind.TRANSACTION)
        if not transaction or not transaction.strip():
            raise InvalidInputError(
                "centrobill refunds (credits) a payment by its transaction id; the request has none"
            )
        reason = _reason(request.reason)
        body: dict[str, Any] = {"reason": reason}
        if request.amount is not None:
            body["amount"] = float(request.amount.amount)  # the SDK sends a JSON number
        response = yield Call(
            "POST",
            f"payment/{_segment(transaction)}/credit",
            json=body,
            headers=_SDK_HEADERS,
            idempotency_key=idempotency_key,
        )
        try:
            payment = WirePaymentEnvelope.model_validate(wire.read_json(self, response)).payment
        except ValidationError:
            raise self.invalid(response, "the credit answer has no payment object") from None
        if not payment.transaction_id:
            raise self.invalid(response, "the credit answer has no transactionId")
        if payment_status(payment) is PaymentStatus.DECLINED:
            code = None if payment.code is None else str(payment.code)
            raise UnprocessableEntityError(
                self.scrub(
                    f"centrobill declined the credit of payment {transaction}: "
                    f"{payment.description or payment.status}"
                    + (f" (code {code})" if code is not None else "")
                ),
                processor=self.processor,
                status_code=response.status_code,
                request_id=wire.request_id(response),
                code=code,
            )
        return wire.api_receipt(
            self,
            idempotency_key,
            reference=payment.transaction_id,
            detail=f"CentroBill credit {payment.transaction_id}: "
            + (_raw(payment.mode, payment.status, payment.description) or "no status"),
            processor_reason=reason,
        )


def _subscription_record(subscription: WireSubscription) -> PaymentRecord:
    references: dict[IdKind, str] = {}
    if subscription.id:
        references[IdKind.SUBSCRIPTION] = subscription.id
    if subscription.consumer_id:
        references[IdKind.MEMBER] = subscription.consumer_id
    return PaymentRecord(
        kind=PaymentKind.OTHER,
        status=subscription_status(subscription),
        raw_status=_raw("subscription", subscription.status, None),
        references=references,
    )


def _raw(mode: str | None, status: str | None, description: str | None) -> str | None:
    """The processor's own words, for the agent: ``sale/success (APPROVED)``."""
    words = "/".join(w for w in (mode, status) if w)
    if description:
        words = f"{words} ({description})" if words else description
    return mask_card_numbers(words) if words else None


__all__ = [
    "BASE_URL",
    "MAX_REASON_LENGTH",
    "REFERENCE",
    "REFUND_REASONS",
    "STAGE_BASE_URL",
    "CentroBillApi",
    "WireConsumer",
    "WirePayment",
    "WirePaymentEnvelope",
    "WireSubscription",
    "is_approval_code",
    "payment_status",
    "subscription_status",
]
