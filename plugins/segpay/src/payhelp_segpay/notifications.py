"""SegPay's postback ("TransPost2"): the request SegPay sends the merchant for each transaction,
read and checked.

Basis: **third party**. SegPay publishes no postback documentation in public; what is read here is
what third-party integrations read:

- The postback is a URL template the merchant configures at SegPay, with tokens SegPay fills in:
  ``act``, ``stage``, ``approved`` (``yes`` or ``no``), ``trantype`` (``sale``, ``charge`` for
  a recurring charge, ``credit`` for a refund), ``purchaseid``, ``tranid``, ``relatedtranid``,
  ``price``, ``currencycode``, ``transGUID``, ``billertranstime``, ``email`` and ``username``.
  It arrives as a ``GET`` or a ``POST`` (query string or form).
- SegPay expects the body ``OK`` in reply.
- SegPay signs nothing. It publishes the addresses its postbacks come from through the SRS call
  ``ADM.asmx/GetPostbackIPList``, and payhelp knows no static list of them, so there is no default:
  set ``postback_sources`` from that call. A merchant may also put a secret token of its own in
  the template (``postback_token``, in the field named by ``postback_token_field``, ``token``
  unless set). With neither configured every delivery is refused (``unconfigured``).

An event's identity is ``tranid`` and ``trantype``. What payhelp chose where nothing is known:
``stage`` carries no test marker payhelp knows (:attr:`NotificationEvent.test` stays false);
``relatedtranid`` and ``purchaseid`` of ``0`` mean none, as in SRS reports; ``billertranstime`` is
read only when it is ISO 8601 with an offset; a negative ``price`` is read as its size. The token
field is left out of the stored payload.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import ClassVar, Final, Literal

from pydantic import ValidationError

from payhelp.errors import InvalidInputError
from payhelp.models import Money
from payhelp.notifications import (
    Delivery,
    EventKind,
    NotificationEvent,
    NotificationFormat,
    Reply,
    check_source,
    masked,
    networks,
    refused,
    same_secret,
)
from payhelp.redact import find_card_number, mask_card_numbers
from payhelp_segpay import PROCESSOR_ID

#: The SRS call that lists the addresses SegPay's postbacks come from.
SOURCE_LIST_CALL: Final = "ADM.asmx/GetPostbackIPList"
#: The field carrying the merchant's token unless ``postback_token_field`` names another.
DEFAULT_TOKEN_FIELD: Final = "token"  # noqa: S105 - a field name, not a secret
#: The kinds of an approved postback, by ``trantype``.
_APPROVED_KINDS: Final = {
    "sale": EventKind.SALE,
    "charge": EventKind.REBILL,
    "credit": EventKind.REFUND,
}
_MAX_ID: Final = 128
_MAX_TRANTYPE: Final = 60


def _id(delivery: Delivery, fields: dict[str, str], name: str, *, required: bool) -> str | None:
    value = fields.get(name, "").strip()
    if not value or (not required and value == "0"):
        if required:
            raise refused(delivery.processor, "malformed", f"the postback has no {name}")
        return None
    if len(value) > _MAX_ID or not value.isprintable():
        raise refused(delivery.processor, "malformed", f"{name} is not an id")
    if find_card_number(value) is not None:
        raise refused(delivery.processor, "malformed", f"{name} reads as a card number")
    return value


def _money(fields: dict[str, str]) -> Money | None:
    price, currency = fields.get("price", "").strip(), fields.get("currencycode", "").strip()
    if not price or not currency or len(price) > 40:
        return None
    try:
        amount = abs(Decimal(price))
        if not amount.is_finite():
            return None
        return Money(amount=amount, currency=currency)
    except (InvalidOperation, ValidationError):
        return None


def _occurred_at(fields: dict[str, str]) -> datetime | None:
    text = fields.get("billertranstime", "").strip()
    if not text or len(text) > 40:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


class SegpayNotifications(NotificationFormat):
    """SegPay's postback: the merchant's URL template filled in, from SegPay's addresses and/or
    carrying the merchant's token.

    :param settings: ``[processors.segpay.settings]``: ``postback_sources`` (the ranges of
        ``ADM.asmx/GetPostbackIPList``), ``postback_token`` and ``postback_token_field``; at
        least one of the first two.
    :param test_mode: Whether test deliveries are accepted (SegPay marks none payhelp knows).
    """

    processor: ClassVar[str] = PROCESSOR_ID
    basis: ClassVar[Literal["official", "third_party"]] = "third_party"
    reference: ClassVar[str] = (
        f"third-party integrations (TransPost2); source addresses: SRS {SOURCE_LIST_CALL}"
    )
    signed: ClassVar[bool] = False
    checks: ClassVar[tuple[str, ...]] = (
        "the request is a GET or a POST",
        f"the sender's address is in postback_sources (from SRS {SOURCE_LIST_CALL}), "
        "when configured",
        "the postback_token_field field (token) equals postback_token (compared in constant "
        "time), when configured",
        "every delivery is refused when neither is configured",
    )
    setting_names: ClassVar[tuple[str, ...]] = (
        "postback_sources",
        "postback_token",
        "postback_token_field",
    )
    secret_names: ClassVar[tuple[str, ...]] = ("postback_token",)

    def _token_field(self) -> str:
        name = self.settings.get("postback_token_field")
        return name.strip() if isinstance(name, str) and name.strip() else DEFAULT_TOKEN_FIELD

    def verify(self, delivery: Delivery) -> None:
        """Refuse anything but a ``GET`` or ``POST`` from ``postback_sources`` carrying
        ``postback_token``, of those configured; everything when neither is."""
        if delivery.method not in ("GET", "POST"):
            raise refused(
                delivery.processor, "method", f"SegPay sends a GET or a POST, not {delivery.method}"
            )
        configured = self.settings.get("postback_sources")
        token = self.settings.get("postback_token")
        if token is not None and not isinstance(token, str):
            raise refused(delivery.processor, "unconfigured", "segpay.postback_token is text")
        try:
            allowed = networks(configured, PROCESSOR_ID, "postback_sources")
        except InvalidInputError as error:
            raise refused(delivery.processor, "unconfigured", str(error)) from None
        if not allowed and not token:
            raise refused(
                delivery.processor,
                "unconfigured",
                "set postback_sources (the addresses of SegPay's SRS "
                f"{SOURCE_LIST_CALL}) or postback_token (a secret of yours in the postback URL) "
                "in [processors.segpay.settings]",
            )
        if allowed:
            check_source(delivery, allowed)
        if token:
            field = self._token_field()
            if not same_secret(delivery.fields().get(field), token):
                raise refused(delivery.processor, "token", f"the {field} field is missing or wrong")

    def parse(self, delivery: Delivery) -> NotificationEvent:
        """The event the postback carries: approved ``sale``, ``charge`` and ``credit`` are a
        sale, a rebill and a refund, ``approved=no`` a decline, anything else unknown."""
        fields = delivery.fields()
        tranid = _id(delivery, fields, "tranid", required=True)
        trantype = fields.get("trantype", "").strip()
        if not trantype:
            raise refused(delivery.processor, "malformed", "the postback has no trantype")
        if len(trantype) > _MAX_TRANTYPE or not trantype.isprintable():
            raise refused(delivery.processor, "malformed", "trantype is not a transaction type")
        approved = fields.get("approved", "").strip().lower()
        if approved == "yes":
            kind = _APPROVED_KINDS.get(trantype.lower(), EventKind.UNKNOWN)
        elif approved == "no":
            kind = EventKind.DECLINE
        else:
            kind = EventKind.UNKNOWN
        raw = mask_card_numbers(f"{trantype} approved={approved}" if approved else trantype)
        payload = {name: value for name, value in fields.items() if name != self._token_field()}
        try:
            return NotificationEvent(
                processor=PROCESSOR_ID,
                event_id=f"{tranid}:{mask_card_numbers(trantype)}",
                kind=kind,
                transaction_id=tranid,
                related_transaction_id=_id(delivery, fields, "relatedtranid", required=False),
                subscription_id=_id(delivery, fields, "purchaseid", required=False),
                amount=_money(fields),
                occurred_at=_occurred_at(fields),
                test=False,
                raw_status=raw[:300],
                payload=masked(payload),
            )
        except ValidationError:
            raise refused(delivery.processor, "malformed", "the postback cannot be read") from None

    def reply(self, accepted: bool) -> Reply:
        """``OK``, the body SegPay expects, for an accepted or repeated delivery; ``403`` for a
        refused one."""
        return Reply(200, "OK") if accepted else Reply(403, "refused")


__all__ = ["DEFAULT_TOKEN_FIELD", "SOURCE_LIST_CALL", "SegpayNotifications"]
