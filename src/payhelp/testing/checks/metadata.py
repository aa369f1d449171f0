"""Checks of the processor's metadata and contact directory: facts a model cannot validate on
its own (dates, phones, routes, examples that must route back to the processor)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType

from payhelp.channels import ChannelKind, ContactChannel, ContactDirectory
from payhelp.geo import region_of
from payhelp.models import ProcessorInfo
from payhelp.testing._report import fail_on, scrubbed, strings
from payhelp.testing.harness import Harness


def check_metadata(harness: Harness, today: date | None = None) -> None:
    """Beyond what the models validate: provenance not dated after ``today`` (by default the
    current UTC date) and with https URLs; phones free only from countries of their own country
    code and their audience; no channel that no route offers; a last route that serves
    everyone; id-shape examples and statement examples that route to the processor."""
    processor_id = harness.processor_id
    info, directory = harness.info, harness.directory()
    today = today or datetime.now(UTC).date()
    problems: list[str] = []
    if not info.name.strip():
        problems.append("the processor's name is empty")
    if not str(info.website).startswith("https://"):
        problems.append(f"website {info.website} must use https")
    for key, channel in directory.channels.items():
        problems += channel_problems(key, channel, today)
    offered = {step.channel for route in directory.routes for step in route.steps}
    for key in directory.channels:
        if key not in offered:
            problems.append(
                f"channel {key!r} is in the directory but no route offers it: add it to a "
                "route or remove it"
            )
    if not directory.routes or not directory.routes[-1].audience.everyone:
        problems.append(
            "the last route must serve everyone (an audience with no regions or countries), "
            "or customers outside every audience get no channel"
        )
    ph = harness.loaded()
    for shape in info.id_formats:
        fields: dict[str, Any] = (
            {"transaction_id": shape.example}
            if shape.kind.value == "transaction"
            else {"references": {shape.kind.value: shape.example}}
        )
        decision = ph.route(**fields)
        if processor_id not in {c.processor for c in decision.candidates}:
            problems.append(
                f"the example {shape.example!r} of id shape {shape.label!r} does not route to "
                f"{processor_id}: check its prefix, charset and lengths"
            )
    for hint in info.descriptors:
        decision = ph.route(descriptor=hint.example)
        if decision.processor != processor_id:
            problems.append(
                f"the statement example {hint.example!r} does not route to "
                f"{processor_id} (router chose {decision.processor})"
            )
    fail_on("metadata", problems)


def channel_problems(key: str, channel: ContactChannel, today: date) -> list[str]:
    """What is wrong with one channel of the directory (see :func:`check_metadata`)."""
    problems = []
    for source in channel.provenance:
        if source.checked_on > today:
            problems.append(
                f"channel {key!r}: provenance checked on {source.checked_on}, a day still to come"
            )
        if source.url is not None and not str(source.url).startswith("https://"):
            problems.append(f"channel {key!r}: provenance URL {source.url} must use https")
    if channel.kind is ChannelKind.PHONE:
        number = phonenumbers.parse(channel.value, None)
        worldwide = phonenumbers.region_code_for_country_code(number.country_code or 0) == "001"
        for country in channel.toll_free_in:
            code = phonenumbers.country_code_for_region(country)
            if code != number.country_code and not worldwide:  # +800 is free from many
                problems.append(
                    f"channel {key!r}: {channel.value} is a +{number.country_code} number, so "
                    f"it cannot be free to call from {country} (+{code}); fix toll_free_in"
                )
            if not channel.serves.includes(country, region_of(country)):
                problems.append(
                    f"channel {key!r}: free from {country}, but its audience does not include "
                    f"{country}"
                )
    return problems


def check_no_placeholders(info: ProcessorInfo, directory: ContactDirectory) -> None:
    """No value still holds a scaffold placeholder: ``TODO``, or an address on the reserved
    ``.invalid`` domain (``payhelp plugin new`` writes both)."""
    found: list[str] = []
    for label, model in (("INFO", info), ("DIRECTORY", directory)):
        for path, value in strings(model.model_dump(mode="json"), label):
            if "TODO" in value or ".invalid" in value:
                found.append(f"{path} = {scrubbed(value)!r}")
    fail_on("placeholders to fill in (data.py)", found)


#: How a customer would name each kind of number phonenumbers tells apart.
_NUMBER_KINDS = {
    PhoneNumberType.FIXED_LINE: "a fixed-line number",
    PhoneNumberType.MOBILE: "a mobile number",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "a fixed-line or mobile number",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.VOIP: "an internet (VoIP) number",
    PhoneNumberType.PERSONAL_NUMBER: "a personal number",
    PhoneNumberType.PAGER: "a pager number",
    PhoneNumberType.UAN: "a company (UAN) number",
    PhoneNumberType.VOICEMAIL: "a voicemail number",
}


def check_toll_free_numbers(directory: ContactDirectory) -> None:
    """Every phone marked free to call (``toll_free_in``) is a toll-free number of its country.

    payhelp tells a customer a call is free exactly when their country is in the channel's
    ``toll_free_in`` (see :mod:`payhelp.contacts`): it trusts the plugin. The toll-free ranges
    are those of the ``phonenumbers`` library, payhelp's dependency for every phone number: a
    port of Google's libphonenumber, whose metadata (``resources/PhoneNumberMetadata.xml``, the
    ``tollFree`` pattern of each territory, from its numbering plan) gives
    ``PhoneNumberType.TOLL_FREE``; the UIFN +800 numbers are toll-free by the same table."""
    problems = []
    for key, channel in directory.channels.items():
        if channel.kind is not ChannelKind.PHONE or not channel.toll_free_in:
            continue
        number = phonenumbers.parse(channel.value, None)
        kind = phonenumbers.number_type(number)
        if kind == PhoneNumberType.TOLL_FREE:
            continue
        region = phonenumbers.region_code_for_number(number) or f"+{number.country_code}"
        said = _NUMBER_KINDS.get(kind, "a number of no known kind")
        problems.append(
            f"channel {key!r}: {channel.value} is marked free to call from "
            f"{', '.join(channel.toll_free_in)}, but it is {said} of {region}, outside "
            f"{region}'s toll-free ranges: customers would be told a paid call is free. Give "
            "the processor's toll-free number, or empty toll_free_in"
        )
    fail_on("toll-free numbers", problems)
