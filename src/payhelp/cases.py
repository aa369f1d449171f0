"""What a customer or agent asks a processor about: payment lookups and dispute/refund requests."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import stat
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    Field,
    HttpUrl,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from payhelp._base import Identifier, Lax, MaskedText, Model, check_one_line, invalid_input
from payhelp.channels import PlannedChannel
from payhelp.errors import InvalidInputError
from payhelp.geo import Country
from payhelp.models import (
    CardLast4,
    EmailAddress,
    IdKind,
    Money,
    ProcessorId,
    Transaction,
)
from payhelp.redact import short_echo


class PaymentStatus(StrEnum):
    """A payment's state, normalised across processors. Anything not explicitly a success or a
    failure is ``pending``."""

    APPROVED = "approved"
    DECLINED = "declined"
    PENDING = "pending"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    CHARGEBACK = "chargeback"
    CANCELLED_SUBSCRIPTION = "cancelled_subscription"
    NOT_FOUND = "not_found"
    UNKNOWN = "unknown"


class LookupQuery(Model):
    """What the customer or agent has in hand to find a payment."""

    transaction_id: Identifier | None = None
    """The processor's transaction reference (never a card number)."""
    references: dict[Lax[IdKind], Identifier] = Field(default_factory=dict)
    """Other reference numbers (member, purchase, order, subscription ids)."""
    email: EmailAddress | None = None
    """The email address used at purchase."""
    username: Identifier | None = None
    """The username on the site."""
    card_last4: CardLast4 | None = None
    """The last four digits of the card."""
    purchased_on: date | None = None
    """The purchase date (not after today, anywhere on Earth)."""
    amount: Money | None = None
    """The amount charged."""
    country: Country | None = None
    """The customer's country (ISO 3166-1 alpha-2). Not a search field: it chooses the channel
    offered when the processor can only be written to (see :attr:`LookupResult.channel`)."""

    @field_validator("purchased_on")
    @classmethod
    def _not_after_today(cls, value: date | None) -> date | None:
        # The latest date it is anywhere: UTC+14 is a day ahead of UTC for ten hours.
        if value is not None and value > datetime.now(UTC).date() + _ONE_DAY:
            raise PydanticCustomError(
                "future_date", "is in the future: give the day the payment was made"
            )
        return value

    def given(self) -> frozenset[str]:
        """Names of the fields that carry a value (references as ``member_id`` etc.)."""
        names = {
            name
            for name in ("transaction_id", "email", "username", "card_last4", "purchased_on")
            if getattr(self, name) is not None
        }
        names.update(f"{kind.value}_id" for kind in self.references)
        if self.amount is not None:
            names.add("amount")
        return frozenset(names)


#: The names a lookup rule may use: the query's fields, and ``<kind>_id`` for its references.
LookupField = Literal[
    "transaction_id",
    "member_id",
    "purchase_id",
    "order_id",
    "subscription_id",
    "email",
    "username",
    "card_last4",
    "purchased_on",
    "amount",
]

_FIELD_WORDS: dict[str, str] = {
    "transaction_id": "transaction id",
    "member_id": "member id",
    "purchase_id": "purchase id",
    "order_id": "order id",
    "subscription_id": "subscription id",
    "email": "email",
    "username": "username",
    "card_last4": "card's last four digits",
    "purchased_on": "purchase date",
    "amount": "amount",
}


class LookupRule(Model):
    """One combination of fields a processor's lookup accepts: at least ``at_least`` of
    ``fields`` (Epoch: any two of member id, email, username, card's last four digits)."""

    fields: tuple[LookupField, ...] = Field(min_length=1)
    """The fields the rule draws on."""
    at_least: int = Field(default=1, ge=1)
    """How many of them must be given."""

    @model_validator(mode="after")
    def _reachable(self) -> LookupRule:
        if self.at_least > len(self.fields):
            raise ValueError("at_least is larger than the number of fields")
        return self

    def satisfied_by(self, given: frozenset[str]) -> bool:
        """Whether a query with ``given`` fields meets the rule."""
        return len(given.intersection(self.fields)) >= self.at_least

    def describe(self) -> str:
        """The rule in words: ``any 2 of member id, email, username, card's last four digits``."""
        words = ", ".join(_FIELD_WORDS[f] for f in self.fields)
        if len(self.fields) == 1:
            return words
        if self.at_least == 1:
            return f"one of {words}"
        return f"any {self.at_least} of {words}"


def check_lookup(processor: str, rules: tuple[LookupRule, ...], query: LookupQuery) -> None:
    """Raise :class:`InvalidInputError` naming what is missing when ``query`` meets none of
    ``rules``."""
    given = query.given()
    if not rules or any(rule.satisfied_by(given) for rule in rules):
        return
    if all(len(rule.fields) == 1 for rule in rules):
        needs = " or ".join(f"by its {rule.describe()}" for rule in rules)
    else:
        needs = "; or ".join(f"by {rule.describe()}" for rule in rules)
    words = [f"the {_FIELD_WORDS.get(f, f)}" for f in sorted(given)]
    if not words:
        have = "gives nothing to look it up by"
    elif len(words) == 1:
        have = f"gives only {words[0]}"
    else:
        have = f"gives {', '.join(words[:-1])} and {words[-1]}"
    raise InvalidInputError(f"{processor} finds a payment {needs}; this query {have}")


class SelfService(Model):
    """Where the customer can look the purchase up themselves, and what to bring."""

    url: HttpUrl
    """The processor's lookup page."""
    fields: tuple[str, ...]
    """What the page asks for."""
    instructions: str
    """One sentence on using it."""


class PaymentKind(StrEnum):
    """What a record in a processor's history is."""

    SALE = "sale"
    REBILL = "rebill"
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    AUTHORIZATION = "authorization"
    OTHER = "other"


class PaymentRecord(Model):
    """One payment as the processor reports it, in core terms."""

    # Everything here is the processor's own text: a card number in it is masked on the way in.
    transaction_id: MaskedText | None = None
    """The processor's transaction reference."""
    kind: Lax[PaymentKind] = PaymentKind.OTHER
    """Sale, rebill, refund, chargeback…"""
    status: Lax[PaymentStatus]
    """Its normalised status."""
    raw_status: MaskedText | None = None
    """The processor's own status word, for the agent."""
    amount: Money | None = None
    """The amount."""
    created_at: AwareDatetime | None = None
    """When it happened."""
    descriptor: MaskedText | None = None
    """The statement descriptor."""
    card_last4: CardLast4 | None = None
    """The last four digits of the card (never more)."""
    references: dict[Lax[IdKind], MaskedText] = Field(default_factory=dict)
    """Other reference numbers (member, purchase, subscription, order)."""
    decline_code: MaskedText | None = None
    """The processor's decline code, for ``payhelp decline explain``."""


class LookupResult(Model):
    """The answer to a lookup: a status from the processor, or a self-service route."""

    processor: ProcessorId
    """The processor asked."""
    status: Lax[PaymentStatus]
    """The payment's status; ``unknown`` when only self-service was possible."""
    source: str
    """How the answer was obtained: ``api``, ``sandbox`` or ``self_service``."""
    records: tuple[PaymentRecord, ...] = ()
    """What the processor returned, newest first."""
    request_id: str | None = None
    """The id of the API request that answered, to quote to the processor."""
    self_service: SelfService | None = None
    """Where the customer can look it up, when the API could not answer."""
    channel: PlannedChannel | None = None
    """Where to write instead, when the processor offers neither an API answer nor a lookup page
    or form: the first channel of the customer's contact plan when the query gives their
    country, else the first of the processor's route for everyone. ``message`` names it too;
    ``None`` when the processor lists no channel for the customer."""
    message: MaskedText | None = None
    """Anything the agent should read (card numbers masked)."""


class DisputeReason(StrEnum):
    """Why a customer wants money back, normalised across processors."""

    DUPLICATE_CHARGE = "duplicate_charge"
    NOT_RECOGNISED = "not_recognised"
    NOT_RECEIVED = "not_received"
    TECHNICAL_PROBLEM = "technical_problem"
    UNSATISFIED_SHOW = "unsatisfied_show"
    CANCELLED_STILL_CHARGED = "cancelled_still_charged"
    OTHER = "other"


MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10
_ONE_DAY = date.resolution
_CHUNK = 1024 * 1024

#: An attachment's file name: no folders, one printable line of at most 200 characters, never a
#: card number (it becomes a MIME header and a line in the store).
FileName = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=r"^[^/\\\x00]+$"),
    AfterValidator(check_one_line),
]


def _read_regular_file(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file at ``path``. Opening never blocks (a named
    pipe without a writer opens at once with ``O_NONBLOCK``), and what was opened is checked,
    not what the name pointed at a moment before."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            what = (
                "a folder"
                if stat.S_ISDIR(info.st_mode)
                else "not a regular file (a device, a pipe or a socket may never end)"
            )
            raise InvalidInputError(
                f"attachment {short_echo(path.name)} is {what}; attach a saved file"
            )
        if info.st_size > limit:
            raise _too_large(path, info.st_size)
        chunks: list[bytes] = []
        got = 0
        while got <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    finally:
        os.close(fd)
    if got > limit:
        raise _too_large(path, None)  # it grew while it was read
    return b"".join(chunks)


def _too_large(path: Path, size: int | None) -> InvalidInputError:
    measured = f"is {size} bytes" if size is not None else "is larger than the limit"
    return InvalidInputError(
        f"attachment {short_echo(path.name)} {measured}; the limit is {MAX_ATTACHMENT_BYTES} bytes"
    )


class Attachment(Model):
    """A receipt or screenshot sent with a request."""

    filename: FileName
    """The file's name (no folders, never a card number)."""
    content_type: str = Field(max_length=127, pattern=r"^[\w.+-]+/[\w.+-]+$")
    """Its MIME type."""
    data: bytes = Field(max_length=MAX_ATTACHMENT_BYTES, repr=False)
    """Its content."""

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> Attachment:
        """Read a file; :class:`InvalidInputError` when it is missing, unreadable, too large, or
        not a regular file (a device such as ``/dev/zero``, a named pipe, a socket, a folder).
        Never reads more than the limit, and never waits for a writer."""
        try:
            if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
                raise TypeError(path)
            file = Path(path)
        except TypeError:
            raise InvalidInputError(
                "an attachment is named by its path (a str or a Path)"
            ) from None
        try:
            data = _read_regular_file(file, MAX_ATTACHMENT_BYTES)
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
            if isinstance(exc, InvalidInputError):
                raise
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "invalid path"
            name = short_echo(file.name)
            raise InvalidInputError(f"cannot read attachment {name}: {reason}") from None
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        try:
            return cls(filename=file.name, content_type=kind, data=data)
        except ValidationError as exc:
            raise invalid_input(exc, "attachment: ") from None

    @property
    def sha256(self) -> str:
        """The content's SHA-256, which identifies it in the idempotency key."""
        return hashlib.sha256(self.data).hexdigest()


class DisputeRequest(Model):
    """A refund or dispute a customer asks for, validated before anything is sent."""

    transaction: Transaction
    """The payment concerned."""
    reason: Lax[DisputeReason]
    """The normalised reason."""
    message: str = Field(min_length=1, max_length=5000)
    """The customer's own words. A card number pasted here is masked wherever the message is
    stored or sent, not refused: it is the one field where a customer writes freely."""
    contact_email: EmailAddress
    """Where the processor should answer."""
    card_last4: CardLast4 | None = None
    """The last four digits of the card."""
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=MAX_ATTACHMENTS)] = ()
    """Receipts and screenshots."""
    amount: Money | None = None
    """For a partial refund, the amount asked back: more than zero, in the payment's currency
    and not more than the payment when its amount is known; the whole payment when ``None``."""

    @field_validator("amount")
    @classmethod
    def _amount_within_the_payment(cls, value: Money | None, info: ValidationInfo) -> Money | None:
        if value is None:
            return value
        if value.amount <= 0:
            raise PydanticCustomError(
                "refund_amount",
                "must be more than zero (leave it out to ask for the whole payment back)",
            )
        transaction = info.data.get("transaction")
        paid = transaction.amount if isinstance(transaction, Transaction) else None
        if paid is None:
            return value
        if value.currency != paid.currency:
            raise PydanticCustomError(
                "refund_amount",
                "is in {asked}, the payment in {paid}: ask in the payment's currency",
                {"asked": value.currency, "paid": paid.currency},
            )
        if value.amount > paid.amount:
            raise PydanticCustomError(
                "refund_amount",
                "is more than the payment ({paid}): a refund cannot exceed what was paid",
                {"paid": str(paid)},
            )
        return value

    @model_validator(mode="after")
    def _has_processor_reference(self) -> DisputeRequest:
        # Every reference and the statement line are one printable line (their types say so):
        # they go into email headers and the processor's forms.
        tx = self.transaction
        if tx.transaction_id is None and not tx.references:
            raise ValueError("a dispute needs the processor's transaction id or another reference")
        return self


class SubmissionChannel(StrEnum):
    """How a request went to the processor."""

    API = "api"
    EMAIL = "email"
    EML_FILE = "eml_file"
    WEB_FORM = "web_form"


class SubmissionStatus(StrEnum):
    """Where a submission stands."""

    SENT = "sent"
    """The processor (or its mail server) accepted it."""
    PREPARED = "prepared"
    """Ready for a person to send: an ``.eml`` file, or web-form answers."""
    IN_DOUBT = "in_doubt"
    """An earlier attempt may have reached the processor; payhelp will not send it again."""
    FAILED = "failed"
    """It surely did not reach the processor; submitting again is safe."""
    CONFIRMED = "confirmed"
    """The processor's own notification (a refund or credit for its transaction) says it was
    carried out."""


class SubmissionReceipt(Model):
    """Proof that a request was submitted (or prepared) once."""

    processor: ProcessorId
    """The processor it went to."""
    idempotency_key: str
    """The key that makes a repeat submission return this receipt instead of sending again."""
    channel: Lax[SubmissionChannel]
    """How it went."""
    reference: str | None
    """The processor's reference, or the email's Message-ID, when there is one."""
    submitted_at: datetime
    """When it was sent or prepared."""
    status: Lax[SubmissionStatus] = SubmissionStatus.SENT
    """Where it stands."""
    detail: str | None = None
    """What the agent should know (where the ``.eml`` file is, what the processor said)."""
    location: str | None = None
    """The ``.eml`` file's path, or the web form's address."""
    answers: dict[str, str] = Field(default_factory=dict)
    """For a web form: the answers to paste, by field."""
    processor_reason: str | None = None
    """The processor's own reason code the request was filed under (Epoch ``dupcharg``)."""
    replayed: bool = False
    """``True`` when this receipt comes from the store for a repeated submission."""
