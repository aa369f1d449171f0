"""SloppyPay's metadata, contact directory, refund rules and registration."""

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
    hookimpl,
)
from payhelp.hookspecs import RegisterProcessor
from payhelp.policies.refunds import ElapsedOver, RefundOutcome, RefundRule
from sloppypay.i18n import N_, _

SOURCE = (
    Provenance(
        source="SloppyPay, a fictional processor made up for payhelp's conformance tests",
        confidence=Confidence.OFFICIAL,
        checked_on=date(2026, 11, 1),
    ),
)

INFO = ProcessorInfo(
    id="sloppypay",
    name="SloppyPay",
    website="https://sloppypay.example.com/",  # type: ignore[arg-type]
    regions=(Region.EEA,),
    capabilities=Capabilities(email_submission=True, self_service_lookup=True),
)

DIRECTORY = ContactDirectory(
    channels={
        "find_payment": ContactChannel(
            kind=ChannelKind.LOOKUP_PAGE,
            value="https://sloppypay.example.com/find",
            fields=(
                _("Order number"),  # not extracted: the Italian catalogue has no entry
                N_("Purchase date"),  # its Italian entry is the English, copied
                "Email address",  # a plain string: English in every language
            ),
            provenance=SOURCE,
        ),
        "email": ContactChannel(
            kind=ChannelKind.EMAIL, value="help@sloppypay.example.com", provenance=SOURCE
        ),
        "phone": ContactChannel(
            kind=ChannelKind.PHONE,
            value="+390612345678",  # a Rome fixed line, not an Italian toll-free (80x) number
            toll_free_in=("IT",),
            provenance=SOURCE,
        ),
    },
    routes=(
        ChannelRoute(
            steps=(
                RouteStep(
                    channel="find_payment",
                    reason=N_("Find the payment on SloppyPay's page with the details it asks for."),
                ),
                RouteStep(channel="email", reason=N_("Write to SloppyPay's support.")),
                RouteStep(channel="phone", reason=N_("Call SloppyPay's support line.")),
            )
        ),
    ),
)

RULE = RefundRule(
    id="sloppypay.older_than_90_days",
    when=ElapsedOver(hours=90 * 24),
    outcome=RefundOutcome.NOT_ELIGIBLE,
    message=N_("SloppyPay refunds a payment only in the 90 days after it was made."),
)


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register SloppyPay (no API)."""
    register(INFO, DIRECTORY)


@hookimpl
def payhelp_refund_rules(processor: ProcessorInfo) -> object:
    """The mistake: one rule where payhelp reads a sequence of them."""
    return RULE if processor.id == INFO.id else None
