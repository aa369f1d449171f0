"""Epoch's postback: the request Epoch sends the merchant for each transaction, read and checked.

Basis: **third party**. Epoch publishes no postback documentation in public; what is read here is
what third-party integrations read:

- The postback is a query string (or a form) of fields: ``ans``, whose first character is ``Y``
  for an approval or ``N`` for a decline and whose rest is Epoch's own code; ``order_id``, unique
  per transaction; ``member_id``; and the merchant's pass-through ``x_`` fields, echoed back. Member
  and transaction ids are integers.
- ``ans`` ``YGOODTEST`` is a test approval, refused outside test mode.
- Epoch documents no signature. Integrations check the sender's address against the list Epoch
  publishes at https://epoch.com/ip_list.php (pipe-separated). The default of the
  ``postback_sources`` setting, :data:`DEFAULT_SOURCES`, is the two older ranges integrations
  quote, ``208.236.105.0/24`` and ``65.17.248.0/24``: they may be stale, so set
  ``postback_sources`` from that list.

An event's identity is ``order_id`` and ``ans``. A postback says nothing payhelp reads of the
amount or the time; neither is set.
"""

from __future__ import annotations

from typing import ClassVar, Final, Literal

from pydantic import ValidationError

from payhelp.errors import InvalidInputError
from payhelp.notifications import (
    Delivery,
    EventKind,
    NotificationEvent,
    NotificationFormat,
    check_source,
    masked,
    networks,
    refused,
)
from payhelp.redact import find_card_number, mask_card_numbers
from payhelp_epoch import PROCESSOR_ID

#: Where Epoch publishes the addresses its postbacks come from (pipe-separated).
SOURCE_LIST_URL: Final = "https://epoch.com/ip_list.php"
#: The ranges integrations quote, the default of ``postback_sources``; possibly stale (see
#: :data:`SOURCE_LIST_URL`).
DEFAULT_SOURCES: Final = ("208.236.105.0/24", "65.17.248.0/24")
#: The ``ans`` of a test approval.
TEST_ANSWER: Final = "YGOODTEST"
#: The longest id read (Epoch's ids are integers; this bounds what is stored).
_MAX_ID: Final = 40
#: The longest ``ans`` read.
_MAX_ANS: Final = 200


def _integer(
    delivery: Delivery, fields: dict[str, str], name: str, *, required: bool
) -> str | None:
    value = fields.get(name, "").strip()
    if not value:
        if required:
            raise refused(delivery.processor, "malformed", f"the postback has no {name}")
        return None
    if not value.isascii() or not value.isdigit() or len(value) > _MAX_ID:
        raise refused(delivery.processor, "malformed", f"{name} is not an integer")
    if find_card_number(value) is not None:
        raise refused(delivery.processor, "malformed", f"{name} reads as a card number")
    return value


class EpochNotifications(NotificationFormat):
    """Epoch's postback: fields in the query string or a form, from Epoch's addresses.

    :param settings: ``[processors.epoch.settings]``; ``postback_sources`` are the address
        ranges accepted (:data:`DEFAULT_SOURCES` when absent).
    :param test_mode: Whether test approvals (``ans`` ``YGOODTEST``) are accepted.
    """

    processor: ClassVar[str] = PROCESSOR_ID
    basis: ClassVar[Literal["official", "third_party"]] = "third_party"
    reference: ClassVar[str] = f"third-party integrations; source addresses: {SOURCE_LIST_URL}"
    signed: ClassVar[bool] = False
    checks: ClassVar[tuple[str, ...]] = (
        "the request is a GET or a POST",
        "the sender's address is in postback_sources (default "
        + ", ".join(DEFAULT_SOURCES)
        + f", possibly stale: see {SOURCE_LIST_URL})",
        f"ans {TEST_ANSWER} (a test approval) only in test mode",
    )
    setting_names: ClassVar[tuple[str, ...]] = ("postback_sources",)
    secret_names: ClassVar[tuple[str, ...]] = ()

    def verify(self, delivery: Delivery) -> None:
        """Refuse anything but a ``GET`` or ``POST`` from an address of ``postback_sources``."""
        if delivery.method not in ("GET", "POST"):
            raise refused(
                delivery.processor, "method", f"Epoch sends a GET or a POST, not {delivery.method}"
            )
        configured = self.settings.get("postback_sources")
        try:
            allowed = networks(
                DEFAULT_SOURCES if configured is None else configured,
                PROCESSOR_ID,
                "postback_sources",
            )
        except InvalidInputError as error:
            raise refused(delivery.processor, "unconfigured", str(error)) from None
        check_source(delivery, allowed)

    def parse(self, delivery: Delivery) -> NotificationEvent:
        """The event the postback carries: ``Y…`` a sale, ``N…`` a decline, anything else
        unknown; a test approval is refused outside test mode."""
        fields = delivery.fields()
        order_id = _integer(delivery, fields, "order_id", required=True)
        member_id = _integer(delivery, fields, "member_id", required=False)
        ans = fields.get("ans", "").strip()
        if not ans:
            raise refused(delivery.processor, "malformed", "the postback has no ans")
        if len(ans) > _MAX_ANS or not ans.isprintable():
            raise refused(delivery.processor, "malformed", "ans is not an answer code")
        test = ans.upper() == TEST_ANSWER
        if test:
            self.refuse_test(delivery, f"ans {TEST_ANSWER}")
        first = ans[0].upper()
        kind = {"Y": EventKind.SALE, "N": EventKind.DECLINE}.get(first, EventKind.UNKNOWN)
        metadata = {
            mask_card_numbers(name): mask_card_numbers(value)
            for name, value in fields.items()
            if name.lower().startswith("x_")
        }
        try:
            return NotificationEvent(
                processor=PROCESSOR_ID,
                event_id=f"{order_id}:{mask_card_numbers(ans)}",
                kind=kind,
                transaction_id=order_id,
                subscription_id=member_id,
                test=test,
                raw_status=mask_card_numbers(ans),
                metadata=metadata,
                payload=masked(fields),
            )
        except ValidationError:
            raise refused(delivery.processor, "malformed", "the postback cannot be read") from None


__all__ = ["DEFAULT_SOURCES", "SOURCE_LIST_URL", "TEST_ANSWER", "EpochNotifications"]
