"""Turning a processor's contact directory into a plan for one customer.

The builder is data-driven: the first route whose audience includes the customer's country gives
the order; channels that do not serve the country are skipped; phones are written the way the
customer dials them from home, and marked toll-free only where the call really is free.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from payhelp.channels import (
    ChannelKind,
    ContactChannel,
    ContactDirectory,
    ContactPlan,
    PlannedChannel,
)
from payhelp.geo import region_of
from payhelp.i18n import N_, Language, render
from payhelp.models import ProcessorInfo

_CALL_CHARGES = N_("Calls to {number} may cost you money from your country; writing is free.")
_NOTHING_SERVES = N_(
    "None of this processor's channels is listed for your country; the platform's own support "
    "can forward your request."
)


@lru_cache(maxsize=1024)
def dial_format(e164: str, caller_country: str) -> str:
    """``e164`` written the way a caller in ``caller_country`` dials it (national format at home,
    with the international prefix abroad)."""
    number = phonenumbers.parse(e164, None)
    return str(phonenumbers.format_out_of_country_calling_number(number, caller_country))


def _plan_channel(
    key: str, channel: ContactChannel, reason: str, country: str, language: Language
) -> PlannedChannel:
    is_phone = channel.kind is ChannelKind.PHONE
    toll_free = is_phone and country in channel.toll_free_in
    charges = channel.charges_may_apply or (is_phone and not toll_free)
    return PlannedChannel(
        key=key,
        kind=channel.kind,
        value=dial_format(channel.value, country) if is_phone else channel.value,
        e164=channel.value if is_phone else None,
        toll_free=toll_free,
        charges_may_apply=charges,
        reason=reason,
        languages=tuple(channel.languages),
        hours=channel.hours,
        fields=tuple(render(field, language) for field in channel.fields),
        provenance=channel.provenance,
    )


def build_plan(
    info: ProcessorInfo, directory: ContactDirectory, country: str, language: Language
) -> ContactPlan:
    """The contact plan for a customer of ``info`` in ``country`` (already normalised)."""
    region = region_of(country)
    route = next((r for r in directory.routes if r.audience.includes(country, region)), None)
    planned: list[PlannedChannel] = []
    warnings = [render(text, language) for text in directory.warnings]
    if route is not None:
        for step in route.steps:
            channel = directory.channels[step.channel]
            if not channel.serves.includes(country, region):
                continue
            item = _plan_channel(
                step.channel, channel, render(step.reason, language), country, language
            )
            planned.append(item)
            if step.warning is not None:
                warnings.append(render(step.warning, language))
            elif item.kind is ChannelKind.PHONE and item.charges_may_apply:
                warnings.append(render(_CALL_CHARGES, language).format(number=item.value))
    if not planned:
        warnings.append(render(_NOTHING_SERVES, language))
    return ContactPlan(
        processor=info.id,
        processor_name=info.name,
        country=country,
        region=region,
        language=language,
        channels=tuple(planned),
        warnings=tuple(dict.fromkeys(warnings)),
        include=tuple(render(text, language) for text in directory.include),
    )
