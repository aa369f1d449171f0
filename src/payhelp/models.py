"""The shared vocabulary: money, transactions, products, processor metadata and routing answers.

Contact-channel models live in :mod:`payhelp.channels`; lookup and submission models in
:mod:`payhelp.cases`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from payhelp._base import (
    CARD_NUMBER_ERROR,
    Identifier,
    Lax,
    Model,
    StatementLine,
    check_one_line,
)
from payhelp.geo import Country, RegionValue
from payhelp.redact import find_card_number

_PROCESSOR_ID = r"^[a-z][a-z0-9_]{1,39}$"


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


#: A processor id: lower case (input is folded), the same string as its plugin's entry-point name.
ProcessorId = Annotated[str, BeforeValidator(_lower), Field(pattern=_PROCESSOR_ID)]


@lru_cache(maxsize=512)
def known_currency(code: str) -> bool:
    """Whether ``code``, in any letter case, is an ISO 4217 alphabetic currency code (looked up
    once per spelling: a few hundred codes, and pycountry's lookup costs a microsecond)."""
    return pycountry.currencies.get(alpha_3=code.upper()) is not None


def _currency(value: str) -> str:
    if not known_currency(value):
        raise ValueError(f"unknown ISO 4217 currency {value!r}")
    return value.upper()


#: What payhelp accepts as an email address: one ``@``, no spaces, a dotted domain.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) and len(value) <= 1024 else value


#: An email address a caller gives: :data:`EMAIL_PATTERN`, at most 254 characters (RFC 5321),
#: one printable line, never a card number (``4111…1111@example.org`` is refused).
EmailAddress = Annotated[
    str,
    BeforeValidator(_strip),
    Field(max_length=254, pattern=EMAIL_PATTERN),
    AfterValidator(check_one_line),
]

#: How far in the future a purchase time may lie before it is refused: clocks disagree by a few
#: minutes, a purchase made a quarter of an hour from now has not been made.
CLOCK_SKEW = timedelta(minutes=5)

#: An ISO 4217 alphabetic currency code, upper case.
Currency = Annotated[str, AfterValidator(_currency)]


# The field is named before these (``card_last4: …`` in the API, ``--last4: …`` in the CLI).
_LAST4 = (
    "give exactly the last four digits of the card, e.g. 4242; "
    "payhelp never takes a whole card number"
)
_CARD_NUMBER = (
    "that is a whole card number, which payhelp never takes: give only its last four digits"
)


def _last4(value: str) -> str:
    if len(value) != 4 or not value.isascii() or not value.isdigit():
        if len(value) < 4096 and find_card_number(value) is not None:
            raise PydanticCustomError(CARD_NUMBER_ERROR, _CARD_NUMBER)
        raise PydanticCustomError("last4", _LAST4)
    return value


#: Exactly the last four digits of a card. Anything longer is refused, never stored.
CardLast4 = Annotated[str, AfterValidator(_last4)]


class Money(Model):
    """An amount in one currency, exact (no floating point)."""

    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=4)
    """The amount in the currency's major unit, e.g. ``19.99``."""
    currency: Currency
    """ISO 4217 alphabetic code, e.g. ``EUR``."""

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class ProductKind(StrEnum):
    """What the customer paid for, in the words of the platforms payhelp serves."""

    TOKEN_PURCHASE = "token_purchase"  # noqa: S105 - a product name, not a secret
    SUBSCRIPTION = "subscription"
    TIP = "tip"
    PRIVATE_SHOW = "private_show"
    STATIC_CONTENT = "static_content"
    OTHER = "other"


class SubscriptionPeriod(StrEnum):
    """How often a subscription renews."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"


class Product(Model):
    """The kind of product, and for a subscription how often it renews."""

    kind: Lax[ProductKind]
    """What was bought."""
    period: Lax[SubscriptionPeriod] | None = None
    """The renewal period; only for subscriptions."""

    @model_validator(mode="after")
    def _period_only_for_subscriptions(self) -> Product:
        """A period is given only for a subscription."""
        if self.period is not None and self.kind is not ProductKind.SUBSCRIPTION:
            raise ValueError("a period is only meaningful for a subscription")
        return self


class Confidence(StrEnum):
    """How sure we are of a fact, by where it comes from."""

    OFFICIAL = "official"
    """The processor's own site or official SDK."""
    SECONDARY = "secondary"
    """A third party quoting the processor."""
    SINGLE = "single"
    """Seen in one place only."""
    SEED = "seed"
    """Stated by one of payhelp's source documents."""
    PLATFORM = "platform"
    """Supplied by the embedding platform's own configuration."""


class Provenance(Model):
    """Where a fact comes from and when somebody last checked it."""

    source: str = Field(min_length=1)
    """What the fact was read from, in a few words (a site, a document, the platform's config)."""
    url: HttpUrl | None = None
    """The page, when it has a stable address."""
    confidence: Lax[Confidence]
    """How far the source can be trusted."""
    checked_on: date
    """The day the fact was last confirmed at the source."""
    note: str | None = None
    """Anything a maintainer should know when re-checking."""


class IdKind(StrEnum):
    """Which of a processor's reference numbers an id is."""

    TRANSACTION = "transaction"
    MEMBER = "member"
    PURCHASE = "purchase"
    ORDER = "order"
    SUBSCRIPTION = "subscription"


#: The characters of an id after its prefix: ``digits`` (0-9), ``hex`` (0-9, a-f in any case) or
#: ``alnum`` (ASCII letters and digits).
Charset = Literal["digits", "hex", "alnum"]
#: The character sets an id shape may use, as compiled patterns (shared with the router).
CHARSET_PATTERNS: dict[str, re.Pattern[str]] = {
    "digits": re.compile(r"[0-9]+"),
    "hex": re.compile(r"[0-9A-Fa-f]+"),
    "alnum": re.compile(r"[0-9A-Za-z]+"),
}


class IdFormat(Model):
    """The shape of one kind of processor reference number.

    Shapes are structured (a literal prefix, a character set and a length range) rather than free
    regular expressions so that the router can index them once and classify an id without trying
    every plugin's pattern.
    """

    kind: Lax[IdKind] = IdKind.TRANSACTION
    """Which reference number this is."""
    label: str
    """What customers and agents call it, e.g. ``Epoch member id``."""
    prefix: str = ""
    """A literal prefix, compared case-insensitively (empty when there is none)."""
    charset: Charset
    """The characters after the prefix."""
    min_length: int = Field(ge=1, le=64)
    """Shortest length of the part after the prefix."""
    max_length: int = Field(ge=1, le=64)
    """Longest length of the part after the prefix."""
    example: str
    """A real-shaped example; validated against this format."""
    provenance: tuple[Provenance, ...] = Field(min_length=1)
    """Where the shape was learned."""

    @model_validator(mode="after")
    def _consistent(self) -> IdFormat:
        """``min_length`` is at most ``max_length``, and the example has the shape it
        illustrates."""
        if self.min_length > self.max_length:
            raise ValueError(
                f"min_length {self.min_length} exceeds max_length {self.max_length}: swap them"
            )
        if not self.matches(self.example):
            raise ValueError(
                f"example {self.example!r} does not fit the format it illustrates: it must be "
                f"{self.prefix!r} then {self.min_length} to {self.max_length} {self.charset} "
                "characters"
            )
        return self

    @property
    def specific(self) -> bool:
        """Whether the shape is distinctive (has a prefix) rather than a bare run of characters."""
        return bool(self.prefix)

    def matches(self, value: str) -> bool:
        """Whether ``value`` has this shape."""
        if self.prefix and value[: len(self.prefix)].upper() != self.prefix.upper():
            return False
        body = value[len(self.prefix) :]
        return (
            self.min_length <= len(body) <= self.max_length
            and CHARSET_PATTERNS[self.charset].fullmatch(body) is not None
        )


class DescriptorHint(Model):
    """A word that identifies the processor on a card statement."""

    keyword: str = Field(pattern=r"^[A-Z0-9]{3,40}$")
    """The word, upper case letters and digits, as it appears between separators."""
    example: str
    """A whole descriptor line showing the word in place."""
    provenance: tuple[Provenance, ...] = Field(min_length=1)
    """Where the descriptor was seen."""


class ProductRule(Model):
    """A product the processor is recommended for, as a routing hint."""

    kind: Lax[ProductKind]
    """The product kind."""
    period: Lax[SubscriptionPeriod] | None = None
    """For subscriptions: only this period (any period when empty)."""
    note: str
    """Why, for the router's reasons."""


class PublicApi(Model):
    """What is publicly known of a processor's merchant API."""

    basis: Literal["official", "third_party"]
    """Whether the wire format comes from the processor's own documentation or SDK, or from
    third-party integrations."""
    base_url: HttpUrl
    """The production base URL (overridable in configuration)."""
    reference: HttpUrl | str
    """Where the wire format was learned (a URL, or a repository and path)."""


class Capabilities(Model):
    """What this plugin can do for its processor today: honest flags, checked by conformance."""

    api_lookup: bool = False
    """Looks payments up through the processor's API. Derived from the API registered with the
    processor: leave it unset."""
    self_service_lookup: bool = False
    """Points the customer to a page where they look their purchase up themselves."""
    api_submission: bool = False
    """Submits refunds or disputes through the processor's API. Derived from the registered
    API's ``can_submit``: leave it unset."""
    email_submission: bool = False
    """Composes a complete letter to the processor's support address."""
    web_form: bool = False
    """Prepares the answers for the processor's web form."""
    notifications: bool = False
    """Reads and checks the processor's notifications (postbacks, IPN). Derived from the format
    registered with the processor: leave it unset."""


class ProcessorInfo(Model):
    """A processor's metadata: who it is, where it works and how to recognise its transactions."""

    id: ProcessorId
    """Stable id; equal to the plugin's entry-point name."""
    name: str
    """Display name."""
    aliases: tuple[ProcessorId, ...] = ()
    """Other ids people use for it (``wts`` for WTS eTicket), accepted wherever an id is: in the
    API, the CLI and a transaction's ``processor``. Never another processor's id or alias."""
    website: HttpUrl
    """The processor's public site."""
    regions: tuple[RegionValue, ...] = Field(min_length=1)
    """Regions where it takes payments."""
    recommended_for: tuple[ProductRule, ...] = ()
    """Products it is the recommended processor for."""
    share_hint: int = Field(default=0, ge=0, le=10)
    """How much more likely it is when nothing else is known, 0-10 (the source documents say
    one processor handles most transactions)."""
    payment_methods: tuple[str, ...] = ()
    """Payment methods it processes, e.g. ``card``, ``ach``."""
    id_formats: tuple[IdFormat, ...] = ()
    """Shapes of its reference numbers."""
    descriptors: tuple[DescriptorHint, ...] = ()
    """Words that identify it on a statement."""
    capabilities: Capabilities
    """What the plugin can do."""
    public_api: PublicApi | None = None
    """Its public merchant API, when one exists. Derived from the API registered with the
    processor (its basis, base URL and reference): leave it unset."""
    notes: tuple[str, ...] = ()
    """Caveats for maintainers (e.g. sources that contradict each other)."""


class Transaction(Model):
    """What a customer or an agent knows about a payment. Every field is optional but at least
    one piece of evidence is needed to route it."""

    processor: ProcessorId | None = None
    """The processor, when somebody already knows it."""
    transaction_id: Identifier | None = None
    """The processor's transaction reference (never a card number)."""
    references: dict[Lax[IdKind], Identifier] = Field(default_factory=dict)
    """Other reference numbers (member, purchase, order, subscription ids)."""
    descriptor: StatementLine | None = None
    """The line on the card statement (full-width and invisible characters folded)."""
    product: Product | None = None
    """What was bought."""
    amount: Money | None = None
    """What was charged."""
    purchased_at: AwareDatetime | None = None
    """When the transaction completed (time zone required)."""
    country: Country | None = None
    """The customer's country."""
    card_last4: CardLast4 | None = None
    """The last four digits of the card; never the full number."""

    @field_validator("purchased_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > datetime.now(UTC) + CLOCK_SKEW:
            raise PydanticCustomError(
                "future_time", "is in the future: give the time the payment was made"
            )
        return value


class RouteCandidate(Model):
    """One processor the router considered, with its score and why."""

    processor: ProcessorId
    """The processor id."""
    score: int
    """Higher is likelier; comparable only within one decision."""
    reasons: tuple[str, ...]
    """Each piece of evidence that counted, for or against."""


class RouteDecision(Model):
    """The router's answer: the chosen processor, or none when the evidence does not decide."""

    processor: ProcessorId | None
    """The chosen processor; ``None`` when the case is ambiguous."""
    ambiguous: bool
    """Whether two or more candidates are too close to call, or no evidence was strong enough."""
    candidates: tuple[RouteCandidate, ...]
    """The candidates, best first."""
    note: str
    """One sentence on how the decision was made."""
