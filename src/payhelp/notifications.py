"""What processors send back: postbacks and IPN, read, checked and normalised.

A processor plugin declares how its notifications are read by registering a
:class:`NotificationFormat` subclass with the processor (``register(info, directory,
notifications=...)``, next to its API and sandbox). A format does three things with a
:class:`Delivery` (one HTTP request as it arrived):

- :meth:`~NotificationFormat.verify` raises :class:`~payhelp.errors.NotificationRefusedError`
  unless every check the processor allows passes: a signature where one exists (compared in
  constant time), otherwise the source address against the processor's published ranges and a
  secret token of the platform's; a test delivery is refused outside test mode;
- :meth:`~NotificationFormat.parse` turns it into one :class:`NotificationEvent`: what happened
  (:class:`EventKind`), to which transaction and subscription, for how much and when, the
  event's identity (``event_id``, the same for every repeat of one delivery) and the payload as
  received with card numbers masked;
- :meth:`~NotificationFormat.reply` is the answer the processor expects (SegPay wants ``OK``).

None of the three processors with notifications documents them officially in public; what each
format reads is cited on its class (``basis`` and ``reference``), and every address list, token
and mode is a setting of the platform's (``[processors.<id>]``).

:meth:`payhelp.api.Payhelp.receive` runs a format, stores the event once and applies it; this
module holds no state.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import parse_qsl

from pydantic import AwareDatetime, Field

from payhelp._base import Lax, Model
from payhelp.errors import InvalidInputError, NotificationRefusedError
from payhelp.models import Money, ProcessorId
from payhelp.redact import mask_card_numbers

#: The largest body a notification may have; a processor's postback is a few kilobytes.
MAX_BODY = 256 * 1024
#: The most fields a query or form may carry.
_MAX_FIELDS = 500


class EventKind(StrEnum):
    """What a notification says happened."""

    SALE = "sale"
    """A first charge was approved."""
    REBILL = "rebill"
    """A subscription renewed: a recurring charge was approved."""
    DECLINE = "decline"
    """A charge was declined."""
    REFUND = "refund"
    """Money went back to the customer (a refund or credit)."""
    CHARGEBACK = "chargeback"
    """The customer's bank took the money back."""
    CHARGEBACK_REVERSAL = "chargeback_reversal"
    """A chargeback was reversed in the merchant's favour."""
    CANCELLATION = "cancellation"
    """A subscription was cancelled (it runs until its paid period ends)."""
    EXPIRY = "expiry"
    """A subscription ended."""
    VOID = "void"
    """A charge was voided before it settled."""
    UNKNOWN = "unknown"
    """A notification payhelp does not recognise: kept as it came, applied to nothing."""


#: Every kind's value, for filters and choices.
EVENT_KINDS: tuple[str, ...] = tuple(kind.value for kind in EventKind)
#: The kinds that confirm a refund or dispute submission for the transaction they name.
CONFIRMING_KINDS = frozenset({EventKind.REFUND, EventKind.VOID})
#: The kinds recorded against a payment as a chargeback (``payhelp dispute list``).
CHARGEBACK_KINDS = frozenset({EventKind.CHARGEBACK, EventKind.CHARGEBACK_REVERSAL})


@dataclass(frozen=True)
class Delivery:
    """One HTTP request as a processor sent it. Build it with :meth:`of`."""

    processor: str
    method: str
    headers: Mapping[str, str]
    """Header names in lower case."""
    query: tuple[tuple[str, str], ...]
    body: bytes
    remote_addr: str | None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of(
        cls,
        processor: str,
        method: str,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        query: Mapping[str, str] | Iterable[tuple[str, str]] | str | None = None,
        body: bytes | str | None = None,
        remote_addr: str | None = None,
    ) -> Delivery:
        """A delivery from what a web framework hands over; :class:`InvalidInputError` for
        parts of the wrong type or a body over :data:`MAX_BODY`."""
        if not isinstance(method, str) or not method.isalpha() or len(method) > 10:
            raise InvalidInputError("method is an HTTP method such as 'POST'")
        pairs = _pairs(headers, "headers")
        if isinstance(query, str):
            query_pairs = tuple(parse_qsl(query, keep_blank_values=True))
        else:
            query_pairs = _pairs(query, "query")
        if isinstance(body, str):
            body = _utf8(body, "body")
        elif body is None:
            body = b""
        elif not isinstance(body, bytes | bytearray | memoryview):
            raise InvalidInputError("body is the request's bytes")
        body = bytes(body)
        if len(body) > MAX_BODY:
            raise InvalidInputError(f"a notification body is at most {MAX_BODY} bytes")
        if remote_addr is not None and (
            not isinstance(remote_addr, str)
            or len(remote_addr) > 64
            or not remote_addr.isprintable()
        ):
            raise InvalidInputError("remote_addr is the sender's IP address, as text")
        for name, value in (*pairs, *query_pairs):
            _utf8(name, "a field name")
            _utf8(value, "a field")
        if len(query_pairs) > _MAX_FIELDS:
            raise InvalidInputError(f"a notification carries at most {_MAX_FIELDS} fields")
        return cls(
            processor=processor,
            method=method.upper(),
            headers={name.lower(): value for name, value in pairs},
            query=query_pairs,
            body=body,
            remote_addr=remote_addr,
        )

    def header(self, name: str) -> str | None:
        """A header's value (its name in any case), ``None`` when absent."""
        return self.headers.get(name.lower())

    def fields(self) -> dict[str, str]:
        """The query's fields and, for a form body, the form's (a form field wins); the last of
        repeated names. A postback comes either way, depending on how the merchant set it up."""
        found = dict(self.query)
        content_type = (self.header("content-type") or "").split(";")[0].strip().lower()
        if self.body and content_type in ("application/x-www-form-urlencoded", ""):
            try:
                text = self.body.decode("utf-8")
            except UnicodeDecodeError:
                return found
            if "=" in text and not text.lstrip().startswith(("{", "[")):
                try:
                    form = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
                except ValueError:
                    raise refused(
                        self.processor, "malformed", f"the form has over {_MAX_FIELDS} fields"
                    ) from None
                found.update(form)
        return found

    def json(self) -> object:
        """The body read as JSON; :class:`NotificationRefusedError` (``malformed``) when it is
        not."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise refused(self.processor, "malformed", "the body is not JSON") from None


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{what} of a notification is not valid text") from None


def _pairs(
    value: Mapping[str, str] | Iterable[tuple[str, str]] | None, what: str
) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    items = value.items() if isinstance(value, Mapping) else value
    try:
        pairs = tuple((name, text) for name, text in items)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{what} are (name, value) pairs of text") from None
    if not all(isinstance(n, str) and isinstance(t, str) for n, t in pairs):
        raise InvalidInputError(f"{what} are (name, value) pairs of text")
    if len(pairs) > _MAX_FIELDS:
        raise InvalidInputError(f"a notification carries at most {_MAX_FIELDS} {what}")
    return pairs


def refused(processor: str, reason: str, message: str) -> NotificationRefusedError:
    """The error a format raises to refuse a delivery."""
    return NotificationRefusedError(
        f"{processor} notification refused: {message}", processor=processor, reason=reason
    )


class NotificationEvent(Model):
    """One notification, normalised: the same fields whichever processor sent it."""

    processor: ProcessorId
    """The processor that sent it."""
    event_id: str = Field(min_length=1, max_length=300)
    """Its identity: the same for every repeat of one delivery, different for another event
    (CentroBill: transaction id and status; Epoch: ``order_id`` and ``ans``; SegPay: ``tranid``
    and ``trantype``)."""
    kind: Lax[EventKind]
    """What happened."""
    transaction_id: str | None = Field(default=None, max_length=128)
    """The transaction the event is (the refund's own id for a refund, when it has one)."""
    related_transaction_id: str | None = Field(default=None, max_length=128)
    """The earlier transaction it concerns (the sale a refund or chargeback is about), when
    the processor says."""
    subscription_id: str | None = Field(default=None, max_length=128)
    """The subscription (purchase, membership) it belongs to, when there is one."""
    amount: Money | None = None
    """How much, when the notification says."""
    occurred_at: AwareDatetime | None = None
    """When it happened at the processor, when the notification says."""
    test: bool = False
    """Whether the processor marks it as a test."""
    raw_status: str | None = Field(default=None, max_length=300)
    """The processor's own words for what happened (``ans``, ``status``, ``trantype``)."""
    metadata: dict[str, str] = Field(default_factory=dict)
    """What the merchant passed through and the processor echoes back (CentroBill's
    ``metadata``, Epoch's ``x_`` fields)."""
    payload: dict[str, Any] = Field(default_factory=dict)
    """The notification as received, card numbers masked."""

    def ids(self) -> frozenset[str]:
        """The transaction ids the event names."""
        return frozenset(
            i for i in (self.transaction_id, self.related_transaction_id) if i is not None
        )


def masked(value: object) -> Any:
    """``value`` (parsed JSON or form fields) with every card number in its text masked."""
    if isinstance(value, str):
        return mask_card_numbers(value)
    if isinstance(value, Mapping):
        return {mask_card_numbers(str(k)): masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value


@dataclass(frozen=True)
class Reply:
    """The HTTP answer a processor expects for a notification."""

    status_code: int = 200
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(value: object, processor: str, setting: str) -> tuple[Network, ...]:
    """Address ranges from a setting: a list of CIDR ranges or addresses, or one string of them
    separated by commas, spaces or pipes (Epoch's list is pipe-separated)."""
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[object] = [v for v in value.replace("|", ",").replace(" ", ",").split(",") if v]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise InvalidInputError(f"{processor}.{setting} is a list of address ranges")
    found: list[Network] = []
    for item in items:
        try:
            found.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise InvalidInputError(
                f"{processor}.{setting}: {str(item)[:60]!r} is not an address range"
            ) from None
    return tuple(found)


def check_source(delivery: Delivery, allowed: tuple[Network, ...]) -> None:
    """Refuse a delivery from outside ``allowed`` (an empty list allows none)."""
    address = delivery.remote_addr
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        raise refused(delivery.processor, "source", "the sender's address is unknown") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not any(ip in net for net in allowed):
        raise refused(
            delivery.processor,
            "source",
            f"{ip} is not among the processor's configured postback addresses",
        )


def same_secret(given: str | None, expected: str) -> bool:
    """Whether ``given`` equals ``expected``, compared in constant time."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def truthy(value: object) -> bool:
    """A boolean setting given as a bool or as text (``true``/``yes``/``1``)."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on")


class NotificationFormat(ABC):
    """How one processor's notifications are read and checked. Subclass it in the plugin and
    register the class (or a function building it) with the processor.

    :param settings: The platform's ``[processors.<id>]`` settings (keys such as
        ``api_key``, ``postback_sources``, ``postback_token``).
    :param test_mode: Whether test deliveries are accepted (the platform's ``test_mode``
        setting, or a sandbox ``Payhelp``).
    """

    #: The processor id.
    processor: ClassVar[str]
    #: Whether the format comes from the processor's own documentation or SDK, or from
    #: third-party integrations.
    basis: ClassVar[Literal["official", "third_party"]]
    #: Where it was learned (a URL, or a repository and path).
    reference: ClassVar[str]
    #: Whether deliveries carry a signature payhelp checks.
    signed: ClassVar[bool]
    #: The checks :meth:`verify` makes, in words, for ``payhelp plugins`` and the docs.
    checks: ClassVar[tuple[str, ...]]
    #: The settings it reads (from ``[processors.<id>.settings]``, or the environment as
    #: ``PAYHELP_<ID>_<NAME>``).
    setting_names: ClassVar[tuple[str, ...]] = ()
    #: Those of them that are secrets: never printed, logged or stored.
    secret_names: ClassVar[tuple[str, ...]] = ()
    #: How an event of this format may name the submission it confirms: by its own id being the
    #: submission's receipt reference (``reference``), by the ``payhelp_key`` passed through
    #: (``key``), by the transaction it names (``transaction``). A format whose signature covers
    #: only some fields keeps those it vouches for (CentroBill: ``reference``).
    confirms_by: ClassVar[frozenset[str]] = frozenset({"reference", "key", "transaction"})

    def __init__(self, settings: Mapping[str, object], *, test_mode: bool = False) -> None:
        self.settings = settings
        self.test_mode = test_mode

    @abstractmethod
    def verify(self, delivery: Delivery) -> None:
        """Raise :class:`~payhelp.errors.NotificationRefusedError` unless ``delivery`` passes
        every check (signature, source, token). Test deliveries are refused in :meth:`parse`,
        which knows what marks one."""

    @abstractmethod
    def parse(self, delivery: Delivery) -> NotificationEvent:
        """The event ``delivery`` carries; :class:`~payhelp.errors.NotificationRefusedError`
        (``malformed``) when it cannot be read, (``test_in_live``) for a test delivery outside
        test mode."""

    def reply(self, accepted: bool) -> Reply:
        """The answer to send back: by default ``200`` with ``OK`` for an accepted or repeated
        delivery and ``403`` for a refused one."""
        return Reply(200, "OK") if accepted else Reply(403, "refused")

    def refuse_test(self, delivery: Delivery, what: str) -> None:
        """Refuse a test delivery (``what`` says what marks it) outside test mode."""
        if not self.test_mode:
            raise refused(
                delivery.processor,
                "test_in_live",
                f"{what}: a test delivery, refused outside test mode",
            )


class NotificationFactory(Protocol):
    """What ``register(notifications=...)`` takes: a :class:`NotificationFormat` subclass, or a
    function building one (which lets a plugin import its format only when a notification
    arrives)."""

    def __call__(
        self, settings: Mapping[str, object], *, test_mode: bool = False
    ) -> NotificationFormat:
        """The format for one processor's settings."""
        ...


class ReceiveOutcome(Model):
    """What :meth:`~payhelp.api.Payhelp.receive` did with one delivery."""

    status: Literal["applied", "duplicate", "refused"]
    """``applied`` the first time, ``duplicate`` for a repeat (acknowledged, nothing changed),
    ``refused`` when a check failed (recorded, never applied)."""
    processor: str
    """The processor it claimed to come from."""
    record_id: int | None
    """The store's number for the event (``None`` when nothing could be stored)."""
    event: NotificationEvent | None = None
    """The event, when it could be read."""
    reason: str | None = None
    """Why it was refused (``signature``, ``source``, ``token``, ``test_in_live``...)."""
    message: str | None = None
    """The refusal in words."""
    confirmed: tuple[int, ...] = ()
    """The submissions this event confirmed."""
    reply_status: int = 200
    """The HTTP status to answer the processor with."""
    reply_body: str = "OK"
    """The body to answer with."""
    reply_content_type: str = "text/plain; charset=utf-8"
    """Its content type."""


__all__ = [
    "CHARGEBACK_KINDS",
    "CONFIRMING_KINDS",
    "EVENT_KINDS",
    "MAX_BODY",
    "Delivery",
    "EventKind",
    "NotificationEvent",
    "NotificationFactory",
    "NotificationFormat",
    "ReceiveOutcome",
    "Reply",
    "check_source",
    "masked",
    "networks",
    "refused",
    "same_secret",
    "truthy",
]
