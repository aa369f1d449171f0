"""What payhelp knows about WTS (wtseticket), with where each fact comes from.

No public merchant API is known, so lookups go to WTS's customer-support form and submissions by
email. WTS's phone number is a US toll-free line: free from the US and Canada, an international
call from anywhere else.
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
from payhelp_wtseticket import PROCESSOR_ID
from payhelp_wtseticket.i18n import N_

CHECKED = date(2026, 11, 22)
SEED = Provenance(
    source="StripChat billing-support notes (Wtseticket section)",
    confidence=Confidence.SEED,
    checked_on=CHECKED,
    note="Calls WTS an alternative for the European region; its support form is the best way "
    "(a quick, reasoned answer), then email, then an international phone line that may cost.",
)
BILLING_PAGE = Provenance(
    source="a StripChat-style billing-support page listing WTS's contacts",
    confidence=Confidence.SECONDARY,
    checked_on=CHECKED,
)
ACH_TEARDOWN = Provenance(
    source="a public teardown of a site's ACH payment flow quoting WTS's statement descriptor",
    confidence=Confidence.SINGLE,
    checked_on=CHECKED,
    note="AI-generated report: the descriptor 'WTSeTicket.com 800-975-5616' is seen there only.",
)

INFO = ProcessorInfo(
    id=PROCESSOR_ID,
    name="WTS",
    aliases=("wts",),
    website="https://www.wtseticket.com/",  # type: ignore[arg-type]
    regions=(Region.EEA, Region.UK, Region.US),
    payment_methods=("card", "ach"),
    descriptors=(
        DescriptorHint(
            keyword="WTSETICKET",
            example="WTSeTicket.com 800-975-5616",
            provenance=(ACH_TEARDOWN,),
        ),
    ),
    capabilities=Capabilities(self_service_lookup=True, email_submission=True, web_form=True),
    notes=(
        "No public merchant API found; transaction-id format not published.",
        "Sources disagree on the region: our billing-support notes call WTS an alternative for the "
        "European region, but WTS's public terms describe debits from US bank accounts (ACH). "
        "Regions are therefore EEA, UK and US.",
        "Payment method 'ach': WTS's public terms describe debits from US bank accounts, and the "
        "only statement descriptor found (single source) is labelled an ACH descriptor. 'card' "
        "is not confirmed by any WTS source.",
        "The phone number +1 800 975 5616 is the one in the ACH statement descriptor, which backs "
        "up the billing-support page.",
        "Toll-free from the US and Canada follows from the number being a North American 800 "
        "number; no source says so, and our billing-support notes call it an international line "
        "that may cost.",
    ),
)

# Everyone writes first: the form is the seed's best way, then email.
WRITE_FIRST = (
    RouteStep(
        channel="web_form",
        reason=N_(
            "WTS's customer-support form is the best way in: it usually gets you a quick, "
            "reasoned answer."
        ),
    ),
    RouteStep(
        channel="email",
        reason=N_("You can also write to WTS's customer-service address."),
    ),
)

DIRECTORY = ContactDirectory(
    channels={
        "web_form": ContactChannel(
            kind=ChannelKind.WEB_FORM,
            value="https://www.wtseticket.com/",
            provenance=(BILLING_PAGE, SEED),
        ),
        "email": ContactChannel(
            kind=ChannelKind.EMAIL,
            value="customerservice@wtseticket.com",
            provenance=(BILLING_PAGE, SEED),
        ),
        "phone": ContactChannel(
            kind=ChannelKind.PHONE,
            value="+18009755616",
            toll_free_in=("US", "CA"),
            provenance=(
                BILLING_PAGE,
                Provenance(
                    source="a public teardown of a site's ACH payment flow (the number in WTS's "
                    "statement descriptor)",
                    confidence=Confidence.SECONDARY,
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
                *WRITE_FIRST,
                RouteStep(
                    channel="phone",
                    reason=N_("From the US and Canada you can call WTS free of charge."),
                ),
            ),
        ),
        ChannelRoute(
            steps=(
                *WRITE_FIRST,
                RouteStep(
                    channel="phone",
                    reason=N_("WTS's phone line, for when writing is not enough."),
                    warning=N_(
                        "WTS's number is a US toll-free line: from outside the US and Canada it "
                        "is an international call, and your phone company may charge for it."
                    ),
                ),
            ),
        ),
    ),
    include=(
        N_("The date and amount of the charge"),
        N_("The email address you used for the purchase"),
        N_(
            "The last four digits of the card or bank account you paid with (never the full number)"
        ),
        N_("What went wrong, in a few words"),
    ),
)
