"""Decline codes: the normalised reasons, the code tables of each scheme, and how they load.

A *scheme* is one vocabulary of raw decline codes: a gateway's (Braintree processor responses), a
network standard's (ISO 8583 field 39), a PSP's (Stripe decline codes) or a processor's own. Each
scheme is a table of data with the source it was read from; payhelp ships the three public ones
as TOML files under ``payhelp/policies/codes`` and a processor plugin registers its own through
:func:`~payhelp.hookspecs.payhelp_register_decline_schemes`.

What a reason *means for the customer* (hard or soft, retry, who fixes it, what to say) is not
here but in :mod:`payhelp.policies.advice`; a code only names its reason and the facts its source
gives about it (hard/soft, network retry bans, Visa's reattempt category).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from payhelp._base import Lax, Model
from payhelp.errors import PluginError, describe_validation_error
from payhelp.models import Provenance


class DeclineReason(StrEnum):
    """The normalised reason behind a raw decline code: one of exactly these fifteen."""

    APPROVED = "approved"
    """Not a decline: the charge went through."""
    CARD_DECLINED = "card_declined"
    """The issuer refused without saying why (do not honour, generic decline)."""
    INSUFFICIENT_FUNDS = "insufficient_funds"
    """Not enough money or credit on the card for this charge."""
    EXPIRED_CARD = "expired_card"
    """The card is past its expiry date."""
    LOST_OR_STOLEN_CARD = "lost_or_stolen_card"
    """The card was reported lost or stolen, or its account is closed."""
    AVS_MISMATCH = "avs_mismatch"
    """The billing address or postcode does not match the issuer's records."""
    INCORRECT_CARD_DETAILS = "incorrect_card_details"
    """Card number, expiry date, security code or PIN entered wrongly."""
    LIMIT_EXCEEDED = "limit_exceeded"
    """A spending, withdrawal or frequency limit on the card was reached."""
    SUSPECTED_FRAUD = "suspected_fraud"
    """The issuer or a risk system suspects fraud."""
    AUTHENTICATION_REQUIRED = "authentication_required"
    """The issuer wants the cardholder to authenticate (3-D Secure, SCA)."""
    PROCESSING_ERROR = "processing_error"
    """A technical failure somewhere between merchant and issuer."""
    NOT_PERMITTED = "not_permitted"
    """This card may not be used for this kind of purchase, merchant or currency."""
    DUPLICATE_TRANSACTION = "duplicate_transaction"
    """An identical charge was just made."""
    MERCHANT_CONFIGURATION = "merchant_configuration"
    """The merchant's account or integration is set up wrongly."""
    UNKNOWN = "unknown"
    """The code is not in any table payhelp knows."""


class Severity(StrEnum):
    """Whether a decline can clear up by itself."""

    HARD = "hard"
    """The issuer will not approve this card for this charge, now or later."""
    SOFT = "soft"
    """The decline may clear (funds arrive, a limit resets, a system comes back)."""


class Network(StrEnum):
    """Card networks whose retry rules payhelp applies."""

    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"


class Fixer(StrEnum):
    """Who can fix the cause of a decline."""

    CUSTOMER = "customer"
    """The cardholder: new card, corrected details, more funds, authentication."""
    CARD_ISSUER = "card_issuer"
    """The cardholder's bank, reached by the cardholder."""
    MERCHANT = "merchant"
    """The platform selling the product (its settings, its integration)."""
    PROCESSOR = "processor"
    """The payment processor or gateway."""


#: Visa's reattempt categories: 1 the issuer will never approve, 2 cannot approve now (reattempts
#: allowed within the cap), 3 fix the data first, 4 generic (reattempts count against the cap).
VisaCategory = Literal[1, 2, 3, 4]

_HINT_ID = r"^[a-z][a-z0-9_]{1,39}$"


def _no_bare_number(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("write a wait in ISO 8601, e.g. 'PT1H' or 'P3D'")
    return value


#: A duration in a code table: ISO 8601 (``PT1H``, ``P3D``), never a bare number of seconds.
Wait = Annotated[
    timedelta,
    BeforeValidator(_no_bare_number),
    Field(gt=timedelta(0), le=timedelta(days=30)),
]


class DeclineCode(Model):
    """One raw code of a scheme, with what its source says about it."""

    label: str = Field(min_length=1)
    """The source's own short name for the code (English, technical; not shown to customers)."""
    reason: Lax[DeclineReason]
    """The normalised reason."""
    severity: Lax[Severity] | None = None
    """Hard or soft as the source states it; ``None`` leaves it to the reason's default."""
    no_retry: tuple[Lax[Network], ...] = ()
    """Networks whose rules forbid charging the card again after this code."""
    visa_category: VisaCategory | None = None
    """Visa's reattempt category, where the source gives one."""
    retry: bool | None = None
    """The source's own word on charging the card again: ``true`` where it says to try again
    (a soft decline whose page says "try again later"), ``false`` where it says never; ``None``
    leaves it to the reason. A network ban (``no_retry``, Visa category 1), a "fix the data
    first" decline and a lost, stolen or fraud code are never retried, whatever this says."""
    retry_after: Wait | None = None
    """The least wait the source asks for before a retry (it never shortens the reason's)."""
    hint: Annotated[str, Field(pattern=_HINT_ID)] | None = None
    """A specific advice for this code where the reason's general texts would tell the customer
    the wrong thing (``card_not_activated``); one of :data:`payhelp.policies.advice.HINTS`."""
    note: str | None = None
    """What else the source says (its suggested next step, a caveat)."""
    disclose: bool = True
    """``False`` when the source says to tell the customer only that the card was declined
    (a PSP's own fraud verdict, a merchant's block list)."""


class CodeRange(DeclineCode):
    """A run of numeric codes the source describes together ("2109-2999 Processor Declined")."""

    low: int = Field(ge=0)
    """The first code of the run."""
    high: int = Field(ge=0)
    """The last code of the run (included)."""

    @model_validator(mode="after")
    def _ordered(self) -> CodeRange:
        if self.high < self.low:
            raise ValueError(f"range {self.low}-{self.high} ends before it starts")
        return self


class Normalisation(Model):
    """How a scheme turns what a person pastes into one of its table keys."""

    extract: str | None = None
    """A regular expression with a group named ``code`` that picks the code out of a longer
    string (``"2001 Insufficient Funds"``); the whole trimmed input when not given."""
    case: Literal["upper", "lower", "keep"] = "keep"
    """Fold letters to one case before looking the code up."""
    width: int | None = Field(default=None, ge=1, le=8)
    """Zero-pad purely numeric codes to this width (ISO 8583 writes ``5`` as ``05``)."""

    @field_validator("extract")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                pattern = re.compile(value)
            except re.error as exc:
                raise ValueError(f"extract is not a regular expression: {exc}") from None
            if "code" not in pattern.groupindex:
                raise ValueError("extract needs a group named 'code'")
        return value


_SCHEME_ID = r"^[a-z][a-z0-9_]{1,39}$"


class DeclineScheme(Model):
    """A vocabulary of raw decline codes, with its source."""

    id: Annotated[str, Field(pattern=_SCHEME_ID)]
    """What ``--scheme`` names: ``braintree``, ``iso8583``, ``stripe`` or a processor id."""
    name: str = Field(min_length=1)
    """A readable name for the table."""
    source: Provenance
    """Where the table was read from."""
    normalise: Normalisation = Normalisation()
    """How raw input becomes a table key."""
    codes: dict[str, DeclineCode] = Field(min_length=1)
    """Every code of the table, by its normalised key."""
    ranges: tuple[CodeRange, ...] = ()
    """Runs of numeric codes described together; a code listed in ``codes`` wins."""

    @model_validator(mode="after")
    def _keys_are_normal(self) -> DeclineScheme:
        for key in self.codes:
            if self.key(key) != key:
                raise ValueError(
                    f"code {key!r} is not written the way the scheme normalises input "
                    f"({self.key(key)!r}); write the table's keys in normal form"
                )
        from payhelp.policies.hints import HINTS  # noqa: PLC0415 - hints build on this module

        for key, entry in [*self.codes.items(), *((f"{r.low}-{r.high}", r) for r in self.ranges)]:
            if entry.hint is not None and entry.hint not in HINTS:
                raise ValueError(
                    f"code {key!r} names the hint {entry.hint!r}, which payhelp does not have "
                    f"(known: {', '.join(sorted(HINTS))})"
                )
        return self

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.normalise.extract) if self.normalise.extract else None

    def key(self, raw: str) -> str:
        """The table key for ``raw`` (it may not be in the table)."""
        text = raw.strip()
        if self._pattern is not None:
            found = self._pattern.search(text)
            if found is not None and found.group("code"):
                text = found.group("code").strip()
        if self.normalise.case == "upper":
            text = text.upper()
        elif self.normalise.case == "lower":
            text = text.lower()
        width = self.normalise.width
        if width is not None and text.isascii() and text.isdigit():
            text = text.zfill(width)
        return text

    def find(self, raw: str) -> DeclineCode | None:
        """The entry for ``raw``, or ``None`` when the table lacks it."""
        key = self.key(raw)
        found = self.codes.get(key)
        if found is None and self.ranges and key.isascii() and key.isdigit():
            number = int(key)
            found = next((r for r in self.ranges if r.low <= number <= r.high), None)
        return found


class RetryCap(Model):
    """A card network's limit on charging the same card again after declines."""

    network: Lax[Network]
    """The network the rule belongs to."""
    max_retries: int = Field(ge=0)
    """The most reattempts allowed within ``window_days``."""
    window_days: int = Field(ge=1)
    """The rolling window the cap counts over."""
    source: Provenance
    """Where the rule is published or reported."""


class AdviceAction(StrEnum):
    """What a card network's merchant advice code tells the merchant to do."""

    UPDATE_DETAILS = "update_details"
    """New account information exists (new number or expiry): get it before charging again."""
    RETRY_LATER = "retry_later"
    """The issuer cannot approve now: the card may be charged again after the code's wait."""
    NEVER = "never"
    """Do not charge this card again."""
    STOP_RECURRING = "stop_recurring"
    """The cardholder stopped the recurring payments: end them; never charge again for them."""
    FIX_INTEGRATION = "fix_integration"
    """The merchant's request did not meet a network requirement (token data, product code):
    the merchant fixes it before charging again."""
    NOT_FOR_RECURRING = "not_for_recurring"
    """The card (a non-reloadable prepaid card, a single-use virtual number) is not meant for
    repeat charges: ask for another card for the subscription."""


class AdviceCode(Model):
    """One merchant advice code of a network, with what its sources say."""

    label: str = Field(min_length=1)
    """The network's short name for the code (English, technical)."""
    action: Lax[AdviceAction]
    """What the merchant must do."""
    retry_after: Wait | None = None
    """The wait before a retry, for ``retry_later``."""
    note: str | None = None
    """What else the sources say."""

    @model_validator(mode="after")
    def _wait_only_for_retry(self) -> AdviceCode:
        if (self.retry_after is not None) != (self.action is AdviceAction.RETRY_LATER):
            raise ValueError("a wait belongs to retry_later codes, and every one needs it")
        return self


class AdviceTable(Model):
    """A card network's merchant advice codes (Mastercard's MAC), with their source."""

    network: Lax[Network]
    """The network that sends the codes."""
    name: str = Field(min_length=1)
    """A readable name for the table."""
    source: Provenance
    """Where the table was read from."""
    codes: dict[Annotated[str, Field(pattern=r"^[0-9]{2}$")], AdviceCode] = Field(min_length=1)
    """Every code, by its two digits."""

    def key(self, raw: str) -> str:
        """The table key for ``raw``: trimmed, zero-padded to two digits when numeric."""
        text = raw.strip()
        return text.zfill(2) if text.isascii() and text.isdigit() else text

    def find(self, raw: str) -> AdviceCode | None:
        """The entry for ``raw``, or ``None`` when the table lacks it."""
        return self.codes.get(self.key(raw))


def parse_scheme(data: Mapping[str, Any], where: str) -> DeclineScheme:
    """Validate one scheme table (already parsed from TOML or built in code)."""
    try:
        return DeclineScheme.model_validate(data, strict=False)
    except ValidationError as exc:
        raise PluginError(
            where, f"invalid decline table: {describe_validation_error(exc)}"
        ) from None


def load_scheme(path: Path | resources.abc.Traversable, where: str | None = None) -> DeclineScheme:
    """Read a scheme from a TOML file: ``[scheme]`` (id, name, source, normalise), ``[codes]``
    and optional ``[[ranges]]``."""
    name = where or str(path)
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    body = dict(raw.get("scheme", {}))
    body["codes"] = raw.get("codes", {})
    if "ranges" in raw:
        body["ranges"] = raw["ranges"]
    return parse_scheme(body, name)


def _packaged(name: str) -> resources.abc.Traversable:
    return resources.files("payhelp.policies") / "codes" / name


# The packaged tables are read and validated once a process (frozen models, shared by every
# Payhelp and sandbox): parsing the TOML and validating a thousand codes is most of a first
# decline explanation.
#: The public tables payhelp ships, by scheme id.
BUILTIN_SCHEMES = ("braintree", "iso8583", "stripe")


@cache
def builtin_scheme(scheme: str) -> DeclineScheme:
    """One of the public tables payhelp ships (``braintree``, ``iso8583`` or ``stripe``), read
    on first use and shared after; a caller that needs one table parses only that one."""
    if scheme not in BUILTIN_SCHEMES:
        raise ValueError(f"payhelp ships no decline table {scheme!r}")
    return load_scheme(_packaged(f"{scheme}.toml"), f"payhelp:{scheme}")


def builtin_schemes() -> list[DeclineScheme]:
    """The three public tables payhelp ships: Braintree, ISO 8583 and Stripe."""
    return [builtin_scheme(scheme) for scheme in BUILTIN_SCHEMES]


def builtin_retry_caps() -> list[RetryCap]:
    """The card networks' retry caps payhelp knows, from ``codes/networks.toml``."""
    return list(_builtin_retry_caps())


@cache
def _builtin_retry_caps() -> tuple[RetryCap, ...]:
    with _packaged("networks.toml").open("rb") as handle:
        raw = tomllib.load(handle)
    try:
        return tuple(RetryCap.model_validate(cap, strict=False) for cap in raw.get("caps", []))
    except ValidationError as exc:
        raise PluginError(
            "payhelp", f"invalid networks.toml: {describe_validation_error(exc)}"
        ) from None


@cache
def builtin_advice_codes() -> AdviceTable:
    """Mastercard's merchant advice codes, from ``codes/mastercard_advice.toml`` (read once)."""
    with _packaged("mastercard_advice.toml").open("rb") as handle:
        raw = tomllib.load(handle)
    try:
        return AdviceTable.model_validate(
            {**raw.get("table", {}), "codes": raw.get("codes", {})}, strict=False
        )
    except ValidationError as exc:
        raise PluginError(
            "payhelp", f"invalid mastercard_advice.toml: {describe_validation_error(exc)}"
        ) from None


__all__ = [
    "BUILTIN_SCHEMES",
    "AdviceAction",
    "AdviceCode",
    "AdviceTable",
    "CodeRange",
    "DeclineCode",
    "DeclineReason",
    "DeclineScheme",
    "Fixer",
    "Network",
    "Normalisation",
    "RetryCap",
    "Severity",
    "VisaCategory",
    "Wait",
    "builtin_advice_codes",
    "builtin_retry_caps",
    "builtin_scheme",
    "builtin_schemes",
    "load_scheme",
    "parse_scheme",
]
