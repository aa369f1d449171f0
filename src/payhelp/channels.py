"""Contact channels as data, and the contact plan a customer is given.

A plugin describes its processor's channels once (a :class:`ContactDirectory`): every channel with
its provenance, and ordered *routes* saying which channels a customer in a given audience should
try, in which order, and why. :mod:`payhelp.contacts` turns a directory into a
:class:`ContactPlan` for one country and language; a platform's configuration may change any of it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

import phonenumbers
from pydantic import (
    AfterValidator,
    Field,
    HttpUrl,
    ValidationInfo,
    field_validator,
    model_validator,
)

from payhelp._base import Lax, Model
from payhelp.geo import Country, IsoCountry, Region, RegionValue
from payhelp.i18n import Language, Text
from payhelp.models import EMAIL_PATTERN, ProcessorId, Provenance


class ChannelKind(StrEnum):
    """How a customer reaches a processor."""

    EMAIL = "email"
    PHONE = "phone"
    WEB_FORM = "web_form"
    LIVE_CHAT = "live_chat"
    LOOKUP_PAGE = "lookup_page"
    ONSITE_SUPPORT = "onsite_support"


def _e164(value: str) -> str:
    give = "give it in E.164: +, the country code and the number, no spaces (e.g. +442071234567)"
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(f"phone number {value!r} is not in E.164 form: {give}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(
            f"phone number {value!r} is not a number in use in its country's numbering plan: "
            "check the digits at the source"
        )
    canonical = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if canonical != value:
        raise ValueError(f"phone number {value!r} must be written in E.164 as {canonical!r}")
    return value


#: A phone number in E.164 form, validated with libphonenumber.
E164 = Annotated[str, AfterValidator(_e164)]


class Audience(Model):
    """A set of customers by region and country; empty means everyone."""

    regions: tuple[RegionValue, ...] = ()
    """Region groups included."""
    countries: tuple[IsoCountry, ...] = ()
    """Countries included in addition to the regions."""
    except_countries: tuple[IsoCountry, ...] = ()
    """Countries excluded even when their region is included."""

    @property
    def everyone(self) -> bool:
        """Whether this audience includes every country."""
        return not self.regions and not self.countries and not self.except_countries

    def includes(self, country: str, region: Region) -> bool:
        """Whether a customer in ``country`` (of ``region``) belongs to this audience."""
        if country in self.except_countries:
            return False
        if not self.regions and not self.countries:
            return True
        return region in self.regions or country in self.countries


class ContactChannel(Model):
    """One way to reach a processor's support, with where we learned it."""

    kind: Lax[ChannelKind]
    """The kind of channel."""
    value: str
    """An address: an email address, an E.164 phone number, or an https URL."""
    toll_free_in: tuple[IsoCountry, ...] = ()
    """For phones: countries from which the call is free."""
    charges_may_apply: bool = False
    """Whether the processor warns that using it may cost the customer (phones always may,
    outside ``toll_free_in``)."""
    serves: Audience = Field(default_factory=Audience)
    """Who may use it (everyone when empty)."""
    languages: tuple[Language | str, ...] = ()
    """Languages support answers in (ISO 639-1); empty when the processor does not say."""
    hours: str | None = None
    """Opening hours as published, e.g. ``24/7``."""
    fields: tuple[Text, ...] = ()
    """For lookup pages and web forms: what the page asks the customer for."""
    provenance: tuple[Provenance, ...] = Field(min_length=1)
    """Where the value comes from; at least one source."""

    @field_validator("value")
    @classmethod
    def _value_fits_kind(cls, value: str, info: ValidationInfo) -> str:
        """The value is an address of the channel's kind: an E.164 number for a phone, an email
        address for email, an https URL for every other kind."""
        kind = info.data.get("kind")
        if kind is None:  # the kind itself is invalid, and reported
            return value
        if kind is ChannelKind.PHONE:
            _e164(value)
        elif kind is ChannelKind.EMAIL:
            if re.match(EMAIL_PATTERN, value) is None:
                raise ValueError(
                    f"{value!r} is not an email address: give one such as support@example.com"
                )
        elif not value.startswith("https://"):
            raise ValueError(
                f"{value!r}: a {kind.value} channel is an https URL, e.g. https://example.com/help"
            )
        else:
            try:
                HttpUrl(value)
            except ValueError:
                raise ValueError(
                    f"{value!r} is not a URL: give one such as https://example.com/help"
                ) from None
        return value

    @field_validator("toll_free_in")
    @classmethod
    def _toll_free_only_for_phones(
        cls, value: tuple[str, ...], info: ValidationInfo
    ) -> tuple[str, ...]:
        """Only a phone can be free to call."""
        kind = info.data.get("kind")
        if value and kind is not None and kind is not ChannelKind.PHONE:
            raise ValueError(
                f"toll_free_in only applies to phone channels, not to {kind.value}: remove it"
            )
        return value


class RouteStep(Model):
    """One place in a route: which channel, and why it sits there."""

    channel: str
    """The channel's key in the directory."""
    reason: Text
    """Why the customer should try it at this point."""
    warning: Text | None = None
    """Something the customer should know before using it."""


class ChannelRoute(Model):
    """The ordered channels for one audience."""

    audience: Audience = Field(default_factory=Audience)
    """Who this route is for; the first route whose audience includes the customer is used."""
    steps: tuple[RouteStep, ...] = Field(min_length=1)
    """The channels to try, first to last."""


class ContactDirectory(Model):
    """Everything about reaching one processor's support, as data."""

    channels: dict[str, ContactChannel] = Field(min_length=1)
    """Every channel, by a key stable across releases (e.g. ``email``, ``phone_us``)."""
    routes: tuple[ChannelRoute, ...] = Field(min_length=1)
    """Ordered routes; the last one should serve everyone."""
    include: tuple[Text, ...] = ()
    """What the customer must put in a message to this processor."""
    warnings: tuple[Text, ...] = ()
    """Things every customer of this processor should know."""

    @model_validator(mode="after")
    def _steps_name_channels(self) -> ContactDirectory:
        """Every route step names a channel of the directory."""
        for route in self.routes:
            for step in route.steps:
                if step.channel not in self.channels:
                    where = f"routes[{self.routes.index(route)}].steps[{route.steps.index(step)}]"
                    raise ValueError(
                        f"{where} names channel {step.channel!r}, which is not in channels: "
                        f"name one of {', '.join(sorted(self.channels))}, or add it"
                    )
        return self


class PlannedChannel(Model):
    """A channel as offered to one customer."""

    key: str
    """The channel's key in the processor's directory."""
    kind: Lax[ChannelKind]
    """The kind of channel."""
    value: str
    """The address, phones written the way the customer dials them from their country."""
    e164: str | None
    """For phones, the number in E.164."""
    toll_free: bool
    """Whether a call is free from the customer's country."""
    charges_may_apply: bool
    """Whether using it may cost the customer."""
    reason: str
    """Why it sits at this place in the plan."""
    languages: tuple[str, ...]
    """Languages support answers in; empty when the processor does not say."""
    hours: str | None
    """Opening hours, when published."""
    fields: tuple[str, ...]
    """What the page or form asks for."""
    provenance: tuple[Provenance, ...]
    """Where the value comes from."""


class ContactPlan(Model):
    """Whom a customer in one country should contact at one processor, in which order, and with
    what in hand."""

    processor: ProcessorId
    """The processor id."""
    processor_name: str
    """Its display name."""
    country: Country
    """The customer's country."""
    region: RegionValue
    """The customer's region group."""
    language: Language
    """The language of every text in the plan."""
    channels: tuple[PlannedChannel, ...]
    """Channels to try, first to last."""
    warnings: tuple[str, ...]
    """What the customer should know before contacting."""
    include: tuple[str, ...]
    """What the customer must put in a message."""
