"""NovaPay's metadata, contact directory and registration (the entry point would be ``novapay``)."""

from __future__ import annotations

from datetime import date

from novapay.api import NovapayApi
from novapay.i18n import N_
from novapay.sandbox import NovapaySandbox
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

SOURCE = (
    Provenance(
        source="NovaPay, a fictional processor made up for payhelp's conformance tests",
        confidence=Confidence.OFFICIAL,
        checked_on=date(2026, 11, 1),
    ),
)

# No api_lookup, api_submission or public_api here: payhelp derives them from NovapayApi.
INFO = ProcessorInfo(
    id="novapay",
    name="NovaPay",
    website="https://novapay.example.com/",  # type: ignore[arg-type]
    regions=(Region.EEA,),
    capabilities=Capabilities(email_submission=True),
)

DIRECTORY = ContactDirectory(
    channels={
        "email": ContactChannel(
            kind=ChannelKind.EMAIL, value="help@novapay.example.com", provenance=SOURCE
        ),
    },
    routes=(
        ChannelRoute(
            steps=(
                RouteStep(
                    channel="email",
                    reason=N_("Write to NovaPay with the payment's reference and date."),
                ),
            )
        ),
    ),
)


#: NovaPay's own refund rule: it refunds nothing older than 180 days.
REFUND_RULES = (
    RefundRule(
        id="novapay.older_than_180_days",
        when=ElapsedOver(hours=180 * 24),
        outcome=RefundOutcome.NOT_ELIGIBLE,
        message=N_("NovaPay refunds a payment only in the 180 days after it was made."),
        source="NovaPay's terms (fictional)",
    ),
)


@hookimpl
def payhelp_refund_rules(processor: ProcessorInfo) -> tuple[RefundRule, ...] | None:
    """NovaPay's refund rules, for NovaPay's payments only."""
    return REFUND_RULES if processor.id == INFO.id else None


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register NovaPay with its API and the sandbox that imitates it."""
    register(INFO, DIRECTORY, api=NovapayApi, sandbox=NovapaySandbox)
