"""What payhelp knows about Paymentico, with where each fact comes from.

No public merchant API is known, so lookups go to the help site and submissions by email.
"""

from __future__ import annotations

from datetime import date

from payhelp import (
    Audience,
    Capabilities,
    ChannelKind,
    ChannelRoute,
    Confidence,
    ContactChannel,
    ContactDirectory,
    DescriptorHint,
    ProcessorInfo,
    Provenance,
    Region,
    RouteStep,
)
from payhelp_paymentico import PROCESSOR_ID
from payhelp_paymentico.i18n import N_

CHECKED = date(2026, 11, 22)
SEED = Provenance(
    source="StripChat billing-support notes (Paymentico section)",
    confidence=Confidence.SEED,
    checked_on=CHECKED,
)
BILLING_PAGE = Provenance(
    source="a StripChat-style billing-support page listing Paymentico's contacts",
    confidence=Confidence.SECONDARY,
    checked_on=CHECKED,
)
HELP_SITE = Provenance(
    source="Paymentico help site",
    url="https://help.paymentico.com/",  # type: ignore[arg-type]
    confidence=Confidence.SINGLE,
    checked_on=CHECKED,
)

INFO = ProcessorInfo(
    id=PROCESSOR_ID,
    name="Paymentico",
    website="https://help.paymentico.com/",  # type: ignore[arg-type]
    regions=(Region.US, Region.CA, Region.EEA, Region.UK, Region.ROW),
    share_hint=4,  # the seed: "most transactions are processed through Paymentico"
    payment_methods=("card",),
    descriptors=(
        DescriptorHint(
            keyword="PAYMENTICO",
            example="PAYMENTICO",
            provenance=(
                Provenance(
                    source="didibuyit.com descriptor directory",
                    url="https://didibuyit.com/descriptors/paymentico",  # type: ignore[arg-type]
                    confidence=Confidence.SECONDARY,
                    checked_on=CHECKED,
                ),
            ),
        ),
    ),
    capabilities=Capabilities(email_submission=True),
    notes=("No public merchant API found; transaction-id format not published.",),
)

DIRECTORY = ContactDirectory(
    channels={
        "email": ContactChannel(
            kind=ChannelKind.EMAIL,
            value="help@paymentico.com",
            provenance=(BILLING_PAGE, SEED),
        ),
        "onsite": ContactChannel(
            kind=ChannelKind.ONSITE_SUPPORT,
            value="https://help.paymentico.com/",
            provenance=(HELP_SITE, SEED),
        ),
        "phone_tollfree": ContactChannel(
            kind=ChannelKind.PHONE,
            value="+18558777020",
            toll_free_in=("US", "CA"),
            serves=Audience(countries=("US", "CA")),
            provenance=(
                Provenance(
                    source="a StripChat-style billing-support page (US/Canada toll-free)",
                    confidence=Confidence.SINGLE,
                    checked_on=CHECKED,
                ),
                SEED,
            ),
        ),
        "phone_international": ContactChannel(
            kind=ChannelKind.PHONE,
            value="+441344586020",
            charges_may_apply=True,
            provenance=(
                Provenance(
                    source="a StripChat-style billing-support page (UK/international)",
                    confidence=Confidence.SINGLE,
                    checked_on=CHECKED,
                ),
                SEED,
            ),
        ),
    },
    routes=(
        ChannelRoute(
            audience=Audience(countries=("US", "CA")),
            steps=(
                RouteStep(channel="email", reason=N_("Email is Paymentico's most used channel.")),
                RouteStep(
                    channel="onsite",
                    reason=N_(
                        "Paymentico's support team answers requests quickly on its help site."
                    ),
                ),
                RouteStep(
                    channel="phone_tollfree",
                    reason=N_("From the US and Canada you can call Paymentico free of charge."),
                ),
            ),
        ),
        ChannelRoute(
            steps=(
                RouteStep(channel="email", reason=N_("Email is Paymentico's most used channel.")),
                RouteStep(
                    channel="onsite",
                    reason=N_(
                        "Paymentico's support team answers requests quickly on its help site."
                    ),
                ),
                RouteStep(
                    channel="phone_international",
                    reason=N_("Paymentico's international line, for when writing is not enough."),
                    warning=N_(
                        "Paymentico's international number is not free: your phone company may "
                        "charge for the call."
                    ),
                ),
            ),
        ),
    ),
    include=(
        N_("The date and amount of the charge"),
        N_("The email address you used to pay"),
        N_("The last four digits of the card (never the full number)"),
        N_("The receipt Paymentico emailed you"),
    ),
)
