"""What payhelp knows about Webbilling, with where each fact comes from.

Webbilling publishes one support channel, an email address, and nothing else: no merchant API,
no lookup page, no statement descriptor and no reference-number format. Routing therefore rests
on the region and on a processor named explicitly.
"""

from __future__ import annotations

from datetime import date

from payhelp import (
    Capabilities,
    ChannelKind,
    ChannelRoute,
    Confidence,
    ContactChannel,
    ContactDirectory,
    ProcessorInfo,
    Provenance,
    Region,
    RouteStep,
)
from payhelp_webbilling import PROCESSOR_ID
from payhelp_webbilling.i18n import N_

CHECKED = date(2026, 11, 22)
SEED = Provenance(
    source="StripChat billing-support notes (Webbilling section)",
    confidence=Confidence.SEED,
    checked_on=CHECKED,
    note="Says Webbilling is the native option for the European region, reached through one "
    "email address, with no other channel supported.",
)
BILLING_PAGE = Provenance(
    source="a StripChat-style billing-support page listing Webbilling's contact email",
    confidence=Confidence.SINGLE,
    checked_on=CHECKED,
    note="Two copies of the same page, so one place only; not confirmed on a Webbilling site.",
)

INFO = ProcessorInfo(
    id=PROCESSOR_ID,
    name="Webbilling",
    # The domain of the support address; no Webbilling page was checked.
    website="https://webbilling.com/",  # type: ignore[arg-type]
    regions=(Region.EEA, Region.UK),
    capabilities=Capabilities(email_submission=True),
    notes=(
        "No public merchant API found; Webbilling is reached by email only.",
        "Regions EEA and UK come from our billing-support notes alone (the native option for the "
        "European region); no public source says where Webbilling takes payments.",
        "No statement descriptor and no transaction-id format are public, so routing uses only "
        "the region and a processor named explicitly.",
        "Payment methods are not published.",
        "The website is the domain of the support email address; no Webbilling page was checked.",
    ),
)

DIRECTORY = ContactDirectory(
    channels={
        "email": ContactChannel(
            kind=ChannelKind.EMAIL,
            value="usersupport@webbilling.com",
            provenance=(BILLING_PAGE, SEED),
        ),
    },
    routes=(
        ChannelRoute(
            steps=(
                RouteStep(
                    channel="email",
                    reason=N_(
                        "Webbilling takes support requests by email only; it offers no other "
                        "channel."
                    ),
                ),
            ),
        ),
    ),
    include=(
        N_("The date and amount of the charge"),
        N_("The email address you used for the purchase"),
        N_("The last four digits of the card (never the full number)"),
        N_("What went wrong, in a few words"),
    ),
)
