"""What a customer or agent asks a processor about: payment lookups and dispute/refund requests."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field, HttpUrl, model_validator

from payhelp._base import Lax, Model
from payhelp.models import EMAIL_PATTERN, CardLast4, IdKind, Money, ProcessorId, Transaction


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

    transaction_id: str | None = None
    """The processor's transaction reference."""
    references: dict[Lax[IdKind], str] = Field(default_factory=dict)
    """Other reference numbers (member, purchase, order, subscription ids)."""
    email: str | None = None
    """The email address used at purchase."""
    username: str | None = None
    """The username on the site."""
    card_last4: CardLast4 | None = None
    """The last four digits of the card."""
    purchased_on: date | None = None
    """The purchase date."""
    amount: Money | None = None
    """The amount charged."""

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


class SelfService(Model):
    """Where the customer can look the purchase up themselves, and what to bring."""

    url: HttpUrl
    """The processor's lookup page."""
    fields: tuple[str, ...]
    """What the page asks for."""
    instructions: str
    """One sentence on using it."""


class LookupResult(Model):
    """The answer to a lookup: a status from the processor, or a self-service route."""

    processor: ProcessorId
    """The processor asked."""
    status: Lax[PaymentStatus]
    """The payment's status; ``unknown`` when only self-service was possible."""
    source: str
    """How the answer was obtained: ``api``, ``sandbox`` or ``self_service``."""
    payment: Transaction | None = None
    """What the processor returned about the payment, in core terms."""
    self_service: SelfService | None = None
    """Where the customer can look it up, when the API could not answer."""
    message: str | None = None
    """Anything the agent should read."""


class DisputeReason(StrEnum):
    """Why a customer wants money back, normalised across processors."""

    DUPLICATE_CHARGE = "duplicate_charge"
    NOT_RECOGNISED = "not_recognised"
    NOT_RECEIVED = "not_received"
    TECHNICAL_PROBLEM = "technical_problem"
    UNSATISFIED_SHOW = "unsatisfied_show"
    CANCELLED_STILL_CHARGED = "cancelled_still_charged"
    OTHER = "other"


class DisputeRequest(Model):
    """A refund or dispute a customer asks for, validated before anything is sent."""

    transaction: Transaction
    """The payment concerned."""
    reason: Lax[DisputeReason]
    """The normalised reason."""
    message: str = Field(min_length=1, max_length=5000)
    """The customer's own words."""
    contact_email: str = Field(pattern=EMAIL_PATTERN)
    """Where the processor should answer."""
    card_last4: CardLast4 | None = None
    """The last four digits of the card."""
    attachments: tuple[str, ...] = ()
    """Paths of receipts and screenshots to attach."""

    @model_validator(mode="after")
    def _has_processor_reference(self) -> DisputeRequest:
        tx = self.transaction
        if tx.transaction_id is None and not tx.references:
            raise ValueError("a dispute needs the processor's transaction id or another reference")
        return self


class SubmissionReceipt(Model):
    """Proof that a request was submitted (or prepared) once."""

    processor: ProcessorId
    """The processor it went to."""
    idempotency_key: str
    """The key that makes a repeat submission return this receipt instead of sending again."""
    channel: str
    """How it went: ``api``, ``email``, ``eml_file`` or ``web_form``."""
    reference: str | None
    """The processor's or mail server's reference, when one came back."""
    submitted_at: datetime
    """When it was sent or prepared."""
