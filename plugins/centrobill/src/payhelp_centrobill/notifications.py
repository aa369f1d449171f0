"""CentroBill's IPN: the payment notifications CentroBill posts to the merchant, read and checked.

Basis: **official**. Everything read here follows CentroBill's official PHP SDK,
``Centrobill/php-sdk-v1``:

- ``IpnResponse.php``: an IPN is a JSON ``POST`` whose body is the payment
  envelope ``{payment, consumer, subscription?, metadata}``; ``metadata`` is the merchant's own,
  echoed back.
- ``SignatureCalculator.php``: the ``X-Signature`` header is the hex SHA-256 of the API
  key, ``payment.transactionId`` and ``payment.status``, joined in that order.
- ``IpnResponse.php`` and ``src/Http/Response/Entity/Payment.php`` (as the merchant API reads it,
  :mod:`payhelp_centrobill.api`): the payment's fields, ``code``, ``description``,
  ``action``, ``mode``, ``status``, ``amount``, ``currency``, ``orderId``, ``transactionId``,
  ``descriptor``, ``source.number`` (the card, masked by CentroBill) and ``timestamp.unixTime``
  or ``timestamp.dateTime``. ``payment.code`` 0 is a success and any other code a failure, with
  ``payment.description`` as its reason; ``payment.mode`` tells a sale from a ``credit`` (a
  refund) and a ``chargeback``.

An event's identity is the transaction id and the status (the two the signature covers): every
repeat of one delivery is the same event, another status of the same payment another one.

What the SDK does not say, and payhelp chose:

- A sale is a renewal (:attr:`~payhelp.notifications.EventKind.REBILL`) when its
  ``subscription.cycle`` is above 1.
- The status words are the merchant API's (:data:`~payhelp_centrobill.api.SUCCESS_WORDS`,
  :data:`~payhelp_centrobill.api.FAILURE_WORDS`, cited there).
- A failed credit is :attr:`~payhelp.notifications.EventKind.UNKNOWN`: no money went back.
- A negative ``amount`` is read as its size (the kind says which way the money went).
- ``timestamp.dateTime`` without an offset is read in ``timestamp.timezone`` (UTC when absent).
- The SDK knows no test marker on an IPN: :attr:`NotificationEvent.test` stays false.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from payhelp.models import Money
from payhelp.notifications import (
    Delivery,
    EventKind,
    NotificationEvent,
    NotificationFormat,
    masked,
    refused,
    same_secret,
)
from payhelp.redact import find_card_number, mask_card_numbers
from payhelp_centrobill import PROCESSOR_ID
from payhelp_centrobill.api import FAILURE_WORDS, REFERENCE, SUCCESS_WORDS, is_approval_code

#: The header carrying the signature (``SignatureCalculator.php``).
SIGNATURE_HEADER: Final = "X-Signature"
#: The longest id payhelp keeps (:class:`~payhelp.notifications.NotificationEvent`).
_MAX_ID: Final = 128
#: The longest status word read into an event's identity.
_MAX_STATUS: Final = 100
#: The longest ``raw_status`` an event carries.
_MAX_RAW: Final = 300
#: What a time zone name (``Europe/Berlin``) looks like; anything else is not looked up.
_ZONE_NAME: Final = re.compile(r"[A-Za-z0-9_+-]{1,30}(/[A-Za-z0-9_+-]{1,30}){0,2}")


def signature(api_key: str, transaction_id: str, status: str) -> str:
    """The ``X-Signature`` CentroBill sends: the hex SHA-256 of the API key, the transaction id
    and the status, one after another (``SignatureCalculator.php``)."""
    return hashlib.sha256((api_key + transaction_id + status).encode("utf-8")).hexdigest()


def _scalar(value: object) -> str | None:
    """A JSON string or integer as text (ids come as either); ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return None


def _envelope(delivery: Delivery) -> tuple[dict[str, Any], dict[str, Any], str, str, str]:
    """The body, its ``payment``, the transaction id (trimmed, and as signed) and the status;
    :class:`~payhelp.errors.NotificationRefusedError` (``malformed``) when any is missing."""
    body = delivery.json()
    if not isinstance(body, dict):
        raise refused(delivery.processor, "malformed", "the body is not a JSON object")
    payment = body.get("payment")
    if not isinstance(payment, dict):
        raise refused(delivery.processor, "malformed", "the body has no 'payment' object")
    signed_id = payment.get("transactionId")
    if isinstance(signed_id, int) and not isinstance(signed_id, bool):
        signed_id = str(signed_id)
    transaction_id = _scalar(signed_id)
    if not isinstance(signed_id, str) or not transaction_id:
        raise refused(delivery.processor, "malformed", "payment.transactionId is missing")
    if len(transaction_id) > _MAX_ID or not transaction_id.isprintable():
        raise refused(delivery.processor, "malformed", "payment.transactionId is not an id")
    if find_card_number(transaction_id) is not None:
        raise refused(delivery.processor, "malformed", "payment.transactionId holds a card number")
    status = payment.get("status")
    if not isinstance(status, str) or not status.strip():
        raise refused(delivery.processor, "malformed", "payment.status is missing")
    if len(status) > _MAX_STATUS or not status.isprintable():
        raise refused(delivery.processor, "malformed", "payment.status is not a status word")
    return body, payment, transaction_id, signed_id, status


def _kind(payment: Mapping[str, Any], subscription: object) -> EventKind:
    mode = str(payment.get("mode") or "").strip().lower()
    status = str(payment.get("status") or "").strip().lower()
    code = payment.get("code")
    code_ok = isinstance(code, int | str | None) and not isinstance(code, bool)
    approved = code_ok and is_approval_code(code) and status in SUCCESS_WORDS
    if mode == "chargeback":
        return EventKind.CHARGEBACK
    if mode == "credit":
        return EventKind.REFUND if approved else EventKind.UNKNOWN
    if mode != "sale":
        return EventKind.UNKNOWN
    if approved:
        cycle = subscription.get("cycle") if isinstance(subscription, dict) else None
        renewal = isinstance(cycle, int) and not isinstance(cycle, bool) and cycle > 1
        return EventKind.REBILL if renewal else EventKind.SALE
    if status in FAILURE_WORDS or (code_ok and not is_approval_code(code)):
        return EventKind.DECLINE
    return EventKind.UNKNOWN


def _raw_status(payment: Mapping[str, Any], status: str) -> str:
    """``mode/status``, and for a failure its code and description (CentroBill's reason)."""
    mode = _scalar(payment.get("mode")) or ""
    raw = f"{mode}/{status.strip()}"
    code = payment.get("code")
    if isinstance(code, int | str) and not isinstance(code, bool) and not is_approval_code(code):
        description = _scalar(payment.get("description")) or ""
        raw += f" {code}: {description}".rstrip(": ")
    return mask_card_numbers(raw)[:_MAX_RAW]


def _money(payment: Mapping[str, Any]) -> Money | None:
    amount, currency = payment.get("amount"), payment.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        return None
    if not isinstance(currency, str):
        return None
    try:
        value = abs(Decimal(str(amount).strip()))
        if not value.is_finite():
            return None
        return Money(amount=value, currency=currency.strip())
    except (InvalidOperation, ValidationError):
        return None


def _occurred_at(payment: Mapping[str, Any]) -> datetime | None:
    stamp = payment.get("timestamp")
    if not isinstance(stamp, dict):
        return None
    unix = stamp.get("unixTime")
    if isinstance(unix, int) and not isinstance(unix, bool):
        try:
            return datetime.fromtimestamp(unix, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = stamp.get("dateTime")
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if when.tzinfo is not None:
        return when
    zone = _zone(stamp.get("timezone"))
    return when.replace(tzinfo=zone) if zone is not None else None


def _zone(name: object) -> tzinfo | None:
    if name is None or name in {"", "UTC"}:
        return UTC
    if not isinstance(name, str) or not _ZONE_NAME.fullmatch(name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _metadata(value: object) -> dict[str, str]:
    """The merchant's ``metadata`` where it is a flat mapping: each text, number or boolean value
    as text (masked), nested values left out (they stay in the payload)."""
    if not isinstance(value, dict):
        return {}
    found: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, bool):
            text = "true" if item else "false"
        elif isinstance(item, int | float | str):
            text = str(item)
        else:
            continue
        found[mask_card_numbers(str(key))] = mask_card_numbers(text)
    return found


def _subscription_id(subscription: object) -> str | None:
    if not isinstance(subscription, dict):
        return None
    ident = _scalar(subscription.get("id"))
    if not ident or len(ident) > _MAX_ID or find_card_number(ident) is not None:
        return None
    return ident


class CentroBillNotifications(NotificationFormat):
    """CentroBill's IPN: a signed JSON ``POST`` of the payment envelope.

    :param settings: ``[processors.centrobill.settings]``; ``api_key`` is the key the signature
        is made with (the merchant API's key).
    :param test_mode: Whether test deliveries are accepted (CentroBill marks none).
    """

    processor: ClassVar[str] = PROCESSOR_ID
    basis: ClassVar[Literal["official", "third_party"]] = "official"
    reference: ClassVar[str] = f"{REFERENCE}: IpnResponse.php, SignatureCalculator.php"
    signed: ClassVar[bool] = True
    checks: ClassVar[tuple[str, ...]] = (
        "the request is a POST",
        "X-Signature is the SHA-256 of api_key + payment.transactionId + payment.status "
        "(compared in constant time)",
    )
    setting_names: ClassVar[tuple[str, ...]] = ("api_key",)
    secret_names: ClassVar[tuple[str, ...]] = ("api_key",)
    #: The signature covers the transaction id and the status, not the mode, the amount or the
    #: metadata: only a credit whose own (signed) id is a receipt's reference confirms a refund
    #: request, so that a sale's captured IPN with its mode changed confirms nothing.
    confirms_by: ClassVar[frozenset[str]] = frozenset({"reference"})

    def _api_key(self, delivery: Delivery) -> str:
        key = self.settings.get("api_key")
        if not isinstance(key, str) or not key:
            raise refused(
                delivery.processor,
                "unconfigured",
                "set api_key in [processors.centrobill.settings] (or PAYHELP_CENTROBILL_API_KEY)"
                " to check CentroBill's signature",
            )
        return key

    def verify(self, delivery: Delivery) -> None:
        """Refuse anything but a ``POST`` whose ``X-Signature`` matches its body."""
        if delivery.method != "POST":
            raise refused(
                delivery.processor, "method", f"CentroBill posts its IPN, not {delivery.method}"
            )
        key = self._api_key(delivery)
        given = delivery.header(SIGNATURE_HEADER)
        if not given:
            raise refused(delivery.processor, "signature", "the X-Signature header is missing")
        _, _, _, signed_id, status = _envelope(delivery)
        expected = signature(key, signed_id, status)
        if not same_secret(given.strip().lower(), expected):
            raise refused(delivery.processor, "signature", "the X-Signature does not match")

    def parse(self, delivery: Delivery) -> NotificationEvent:
        """The event the IPN carries (see the module's notes for the mapping)."""
        body, payment, transaction_id, _, status = _envelope(delivery)
        subscription = body.get("subscription")
        try:
            return NotificationEvent(
                processor=PROCESSOR_ID,
                event_id=_event_id(transaction_id, payment, status),
                kind=_kind(payment, subscription),
                transaction_id=transaction_id,
                subscription_id=_subscription_id(subscription),
                amount=_money(payment),
                occurred_at=_occurred_at(payment),
                test=False,
                raw_status=_raw_status(payment, status),
                metadata=_metadata(body.get("metadata")),
                payload=masked(body),
            )
        except ValidationError:
            raise refused(delivery.processor, "malformed", "the IPN cannot be read") from None


def _event_id(transaction_id: str, payment: Mapping[str, Any], status: str) -> str:
    """The identity: transaction id, mode and status. The mode is there because one payment's
    sale, credit and chargeback may each come with the same status (``success``): without it a
    chargeback would be taken for a repeat of the sale."""
    mode = payment.get("mode")
    words = mask_card_numbers(f"{mode if isinstance(mode, str) else ''}:{status.strip()}")
    return f"{transaction_id}:{words}"[:300]


__all__ = ["SIGNATURE_HEADER", "CentroBillNotifications", "signature"]
