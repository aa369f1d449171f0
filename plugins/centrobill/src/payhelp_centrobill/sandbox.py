"""An imitation of CentroBill's merchant API, in its wire format, with deterministic ids.

The answers copy the shapes of CentroBill's official PHP SDK (``Centrobill/php-sdk-v1``): the
payment envelope of ``tests/fixtures/ChangePaymentAccountForsubscriptionResponse.json``, the credit
answer of ``tests/fixtures/CreditResponse.json``, the bare subscription of
``tests/fixtures/ChangeSubscriptionResponse.json``, the bare consumer of
``tests/fixtures/ChangeConsumerGroupResponse.json``, and errors as ``ErrorResponse.php`` reads them
(an HTTP 4xx or 5xx status with ``message`` and ``errors``).

Where CentroBill publishes nothing the sandbox has to choose, and says so:

- ``GET payment/{id}`` is not in the SDK; it answers the payment envelope.
- CentroBill publishes no decline-code table; the declined cases carry the core's ISO 8583
  response codes (:func:`payhelp.sandbox.iso8583_declines`, ``payhelp decline explain 51
  iso8583``), one for each decline reason such a code expresses, with the core table's label as
  ``description``.
- What CentroBill answers for a second credit of one payment is not documented; the sandbox answers
  HTTP 400 with the message ``Payment has already been credited``.

It also sends IPN, as :mod:`payhelp_centrobill.notifications` reads them (``IpnResponse.php`` and
``SignatureCalculator.php`` of the SDK): :meth:`CentroBillSandbox.notification` builds one of any
kind, and each credit it grants records the IPN CentroBill would post for it
(:meth:`CentroBillSandbox.sent_notifications`). A credit's IPN is signed with the key the credit
request carried, as CentroBill signs with the merchant's key; any other IPN with
:data:`SANDBOX_API_KEY` unless the sandbox is built with another.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from payhelp.adapters import SANDBOX_CREDENTIAL
from payhelp.sandbox import failing_page, iso8583_declines, reply, slow, truncated
from payhelp_centrobill import PROCESSOR_ID
from payhelp_centrobill.api import MAX_REASON_LENGTH
from payhelp_centrobill.notifications import SIGNATURE_HEADER, signature

if TYPE_CHECKING:
    import httpx

#: The key the sandbox refuses (as does any request without ``Authorization``).
BAD_KEY: Final = "bad-key"
#: Seconds the ``slow`` case waits before answering.
SLOW_SECONDS: Final = 2
#: The API key the sandbox signs its IPN with unless built with another: the placeholder the core
#: sends the sandbox when no ``api_key`` is configured
#: (:data:`payhelp.adapters.SANDBOX_CREDENTIAL`). Configure it as ``api_key`` to check them.
SANDBOX_API_KEY: Final = SANDBOX_CREDENTIAL

_CONSUMER: Final[dict[str, Any]] = {
    "id": "111193024",
    "externalId": "14253ms92m0as",
    "email": "jonny.sonny@example.com",
    "username": "jonny",
    "firstName": "Jonny",
    "lastName": "Sonny",
    "country": "GBR",
    "blocked": False,
}
_SOURCE: Final[dict[str, Any]] = {
    "method": "card",
    "number": "402400****6348",
    "brand": "visa",
    "paymentAccountId": "d86bdcbb-c369-46d9-a9d0-9c5010e3bfdb",
    "expirationMonth": 10,
    "expirationYear": 29,
    "disabled": False,
}
_TIMESTAMP: Final[dict[str, Any]] = {
    "dateTime": "2026-11-20 10:00:00",
    "timezone": "UTC",
    "unixTime": 1795168800,
}

#: Declined cases: the normalised reason, the ISO 8583 code, CentroBill's ``description`` (the
#: core table's label for the code). The order fixes the case ids: keep it.
DECLINES: Final = iso8583_declines()
#: Cancelled and active subscriptions, by id.
CANCELLED_SUBSCRIPTION_ID: Final = "7012345"
ACTIVE_SUBSCRIPTION_ID: Final = "7012346"


def _case_ids() -> dict[str, str]:
    ids = {
        "approved": "511170001",
        "slow": "511170002",
        "rebill": "511170003",
    }
    for number, (reason, _, _) in enumerate(DECLINES, start=1):
        ids[f"declined_{reason}"] = f"5111701{number:02d}"
    ids |= {
        "refunded": "511170301",
        "partially_refunded": "511170302",
        "chargeback": "511170401",
        "cancelled_subscription": "511170501",
        "not_found": "511179404",
        "failing": "511179500",
        "malformed": "511179200",
        "subscription_cancelled": CANCELLED_SUBSCRIPTION_ID,
        "subscription_active": ACTIVE_SUBSCRIPTION_ID,
        "consumer": str(_CONSUMER["id"]),
    }
    return ids


CASES: Final[Mapping[str, str]] = _case_ids()


def _subscription(sub_id: str, status: str, cycle: int, cancel: str | None) -> dict[str, Any]:
    return {
        "id": sub_id,
        "status": status,
        "cycle": cycle,
        "skuName": "SITE_NAME_COM_USD",
        "siteId": "983759353",
        "renewalDate": "2026-12-20 10:00:00",
        "cancelDate": cancel,
        "consumerId": _CONSUMER["id"],
    }


_SUBSCRIPTIONS: Final[dict[str, dict[str, Any]]] = {
    CANCELLED_SUBSCRIPTION_ID: _subscription(
        CANCELLED_SUBSCRIPTION_ID, "canceled", 2, "2026-11-21 09:30:00"
    ),
    ACTIVE_SUBSCRIPTION_ID: _subscription(ACTIVE_SUBSCRIPTION_ID, "active", 1, None),
}


def _payment(transaction_id: str, **changes: Any) -> dict[str, Any]:
    payment: dict[str, Any] = {
        "code": 0,
        "description": "APPROVED",
        "mode": "sale",
        "status": "success",
        "amount": 9.99,
        "currency": "USD",
        "amountUsd": 9.99,
        "orderId": "2" + transaction_id,
        "transactionId": transaction_id,
        "descriptor": "centrohelp.com",
        "source": dict(_SOURCE),
        "timestamp": dict(_TIMESTAMP),
    }
    payment.update(changes)
    return payment


def _envelope(
    payment: dict[str, Any], subscription: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"payment": payment, "consumer": dict(_CONSUMER)}
    if subscription is not None:
        body["subscription"] = dict(subscription)
    body["metadata"] = {"source": "payhelp-sandbox"}
    return body


def _payments() -> dict[str, dict[str, Any]]:
    ids = CASES
    payments = {
        ids["approved"]: _envelope(_payment(ids["approved"])),
        ids["slow"]: _envelope(_payment(ids["slow"])),
        ids["rebill"]: _envelope(_payment(ids["rebill"]), _SUBSCRIPTIONS[ACTIVE_SUBSCRIPTION_ID]),
        ids["refunded"]: _envelope(_payment(ids["refunded"], mode="credit")),
        ids["partially_refunded"]: _envelope(
            _payment(ids["partially_refunded"], mode="credit", amount=4.99, amountUsd=4.99)
        ),
        ids["chargeback"]: _envelope(
            _payment(ids["chargeback"], mode="chargeback", description="CHARGEBACK")
        ),
        ids["cancelled_subscription"]: _envelope(
            _payment(ids["cancelled_subscription"]), _SUBSCRIPTIONS[CANCELLED_SUBSCRIPTION_ID]
        ),
    }
    for reason, code, description in DECLINES:
        tx = ids[f"declined_{reason}"]
        payments[tx] = _envelope(_payment(tx, code=code, status="fail", description=description))
    return payments


def _json(status: int, body: object) -> httpx.Response:
    return reply(status, json=body)


def _error(status: int, message: str, errors: object = None) -> httpx.Response:
    return _json(status, {"message": message, "errors": errors if errors is not None else {}})


def _malformed() -> httpx.Response:
    body = json.dumps(_envelope(_payment(CASES["malformed"]))).encode()
    return truncated(body, "application/json")


def _ipn(envelope: Mapping[str, Any], api_key: str) -> dict[str, Any]:
    """The request CentroBill would post for ``envelope``, signed with ``api_key``."""
    payment = envelope["payment"]
    sign = signature(api_key, str(payment["transactionId"]), str(payment["status"]))
    return {
        "method": "POST",
        "headers": {"Content-Type": "application/json", SIGNATURE_HEADER: sign},
        "query": {},
        "body": json.dumps(envelope),
    }


#: What each kind of :meth:`CentroBillSandbox.notification` changes in an approved sale.
_IPN_KINDS: Final[Mapping[str, Mapping[str, Any]]] = {
    "sale": {},
    "rebill": {},
    "decline": {"code": DECLINES[0][1], "status": "fail", "description": DECLINES[0][2]},
    "refund": {"mode": "credit"},
    "chargeback": {"mode": "chargeback", "description": "CHARGEBACK"},
}
#: The ``extra`` of :meth:`CentroBillSandbox.notification` that are parts of the envelope, not
#: payment fields.
_ENVELOPE_PARTS: Final = ("consumer", "subscription", "metadata")


class CentroBillSandbox:
    """CentroBill's API in-process: ``GET payment/{id}``, ``POST payment/{id}/credit``,
    ``GET subscription/{id}`` and ``GET consumer/{id}``, with the ids of :data:`CASES`; and the
    IPN it would send.

    :param api_key: The key :meth:`notification` signs with.
    """

    processor = PROCESSOR_ID

    def __init__(self, *, api_key: str = SANDBOX_API_KEY) -> None:
        self._lock = threading.Lock()
        self._payments = _payments()
        self._credited: dict[str, str] = {}
        self._api_key = api_key
        self._sent: list[dict[str, Any]] = []

    def notification(self, kind: str, transaction_id: str, **extra: Any) -> dict[str, Any]:
        """The IPN CentroBill would post for a payment ``transaction_id`` of ``kind`` (``sale``,
        ``rebill``, ``decline``, ``refund`` or ``chargeback``): ``method``, ``headers``,
        ``query`` and ``body``, signed. ``extra`` replaces payment fields (``amount=4.99``,
        ``status="fail"``) or, for ``consumer``, ``subscription`` and ``metadata``, those parts
        of the envelope; a ``rebill`` is a sale of a subscription in its second cycle."""
        if kind not in _IPN_KINDS:
            raise ValueError(f"kind is one of {', '.join(_IPN_KINDS)}")
        parts = {name: extra.pop(name) for name in _ENVELOPE_PARTS if name in extra}
        subscription = parts.get("subscription")
        if subscription is None and kind == "rebill":
            subscription = {**_SUBSCRIPTIONS[ACTIVE_SUBSCRIPTION_ID], "cycle": 2}
        envelope = _envelope(
            _payment(transaction_id, **{**_IPN_KINDS[kind], **extra}), subscription
        )
        for name in ("consumer", "metadata"):
            if name in parts:
                envelope[name] = parts[name]
        return _ipn(envelope, self._api_key)

    def sent_notifications(self) -> list[dict[str, Any]]:
        """The IPN the sandbox would have sent so far, oldest first: one for each credit granted,
        signed with the key of the credit's request."""
        with self._lock:
            return copy.deepcopy(self._sent)

    def cases(self) -> Mapping[str, str]:
        """The deterministic ids, by case (payment ids unless the name says otherwise)."""
        return dict(CASES)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` (its path relative to the API's base URL)."""
        key = request.headers.get("Authorization")
        if not key or key == BAD_KEY:
            return _error(401, "Unauthorized")
        parts = [p for p in request.url.path.split("/") if p]
        method = request.method.upper()
        if len(parts) == 2 and method == "GET":
            resource, ident = parts
            if resource == "payment":
                return self._get_payment(ident)
            if resource == "subscription":
                return self._get_subscription(ident)
            if resource == "consumer":
                return self._get_consumer(ident)
        if len(parts) == 3 and parts[0] == "payment" and parts[2] == "credit":
            if method != "POST":
                return _error(405, "Method Not Allowed")
            return self._credit(parts[1], request, key)
        return _error(404, "Not Found")

    def _get_payment(self, ident: str) -> httpx.Response:
        if ident == CASES["failing"]:
            return failing_page()
        if ident == CASES["malformed"]:
            return _malformed()
        with self._lock:
            body = copy.deepcopy(self._payments.get(ident))
        if body is None:
            return _error(404, "Payment not found")
        answer = _json(200, body)
        return slow(answer, SLOW_SECONDS) if ident == CASES["slow"] else answer

    def _get_subscription(self, ident: str) -> httpx.Response:
        subscription = _SUBSCRIPTIONS.get(ident)
        if subscription is None:
            return _error(404, "Subscription not found")
        return _json(200, dict(subscription))

    def _get_consumer(self, ident: str) -> httpx.Response:
        if ident != _CONSUMER["id"]:
            return _error(404, "Consumer not found")
        return _json(200, dict(_CONSUMER))

    def _credit(self, ident: str, request: httpx.Request, key: str) -> httpx.Response:
        if ident == CASES["failing"]:
            return failing_page()
        if ident == CASES["malformed"]:
            return _malformed()
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            return _error(400, "Invalid JSON")
        if not isinstance(body, dict):
            return _error(400, "Invalid JSON")
        problems = self._credit_problems(body)
        with self._lock:
            original = self._payments.get(ident)
            if original is None:
                return _error(404, "Payment not found")
            if problems:
                return _error(400, "Validation failed", problems)
            sale = original["payment"]
            if sale["mode"] != "sale" or sale["status"] != "success" or sale["code"] != 0:
                return _error(400, "Payment cannot be credited")
            if ident in self._credited:
                return _error(400, "Payment has already been credited")
            amount = body.get("amount")
            if amount is not None and Decimal(str(amount)) > Decimal(str(sale["amount"])):
                return _error(
                    400, "Validation failed", {"amount": ["Amount exceeds the payment amount."]}
                )
            credit_id = "6" + ident[1:]
            credited = sale["amount"] if amount is None else float(amount)
            credit = _payment(
                credit_id,
                mode="credit",
                amount=credited,
                amountUsd=credited,
                orderId=sale["orderId"],
            )
            self._credited[ident] = credit_id
            self._payments[credit_id] = _envelope(credit)
            self._sent.append(_ipn(self._payments[credit_id], key))
        answer = _json(201, {"payment": {key: credit[key] for key in _CREDIT_FIELDS}})
        return slow(answer, SLOW_SECONDS) if ident == CASES["slow"] else answer

    @staticmethod
    def _credit_problems(body: Mapping[str, Any]) -> dict[str, list[str]]:
        problems: dict[str, list[str]] = {}
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            problems["reason"] = ["This value should not be blank."]
        elif len(reason) > MAX_REASON_LENGTH:
            problems["reason"] = [f"This value is too long ({MAX_REASON_LENGTH} at most)."]
        amount = body.get("amount")
        if amount is not None:
            try:
                valid = not isinstance(amount, bool) and Decimal(str(amount)) > 0
            except InvalidOperation:
                valid = False
            if not valid:
                problems["amount"] = ["This value should be a positive number."]
        return problems


#: The credit answer's fields, those of the SDK's ``CreditResponse.json`` plus the amount.
_CREDIT_FIELDS: Final = (
    "code",
    "description",
    "mode",
    "status",
    "amount",
    "currency",
    "transactionId",
    "descriptor",
    "source",
)


__all__ = ["BAD_KEY", "CASES", "DECLINES", "SANDBOX_API_KEY", "SLOW_SECONDS", "CentroBillSandbox"]
