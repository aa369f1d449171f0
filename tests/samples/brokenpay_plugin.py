"""A deliberately broken processor plugin: the conformance suite must say what is wrong with it.

Its faults, each one a mistake plugin authors make:

- a US number declared free to call from Italy, and a channel no route offers;
- a contact-plan hook that raises for Japan;
- a sandbox hook that answers for every processor, not only its own;
- an API lookup claimed in its capabilities that it does not have;
- a card number written to the log.
"""

from __future__ import annotations

import logging
from datetime import date

import httpx

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
from payhelp.channels import ContactPlan
from payhelp.hookspecs import RegisterProcessor
from payhelp.i18n import Language

log = logging.getLogger("brokenpay")

SOURCE = (
    Provenance(
        source="BrokenPay help page", confidence=Confidence.OFFICIAL, checked_on=date(2026, 11, 1)
    ),
)
INFO = ProcessorInfo(
    id="brokenpay",
    name="BrokenPay",
    website="https://brokenpay.example.com/",  # type: ignore[arg-type]
    regions=(Region.US, Region.EEA),
    capabilities=Capabilities(api_lookup=True, email_submission=True),
)
DIRECTORY = ContactDirectory(
    channels={
        "email": ContactChannel(
            kind=ChannelKind.EMAIL, value="help@brokenpay.example.com", provenance=SOURCE
        ),
        "phone": ContactChannel(
            kind=ChannelKind.PHONE,
            value="+18005550199",
            toll_free_in=("US", "IT"),
            provenance=SOURCE,
        ),
        "chat": ContactChannel(
            kind=ChannelKind.LIVE_CHAT,
            value="https://brokenpay.example.com/chat",
            provenance=SOURCE,
        ),
    },
    routes=(
        ChannelRoute(
            steps=(
                RouteStep(channel="phone", reason="Call BrokenPay."),
                RouteStep(channel="email", reason="Write to BrokenPay."),
            )
        ),
    ),
)


class _Answering:
    processor = "brokenpay"

    def handle(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={})

    def cases(self) -> dict[str, str]:
        return {}


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    log.info("registering; last test charge was on card 4242424242424242")
    register(INFO, DIRECTORY)


@hookimpl
def payhelp_contact_plan(
    processor: ProcessorInfo, directory: ContactDirectory, country: str, language: Language
) -> ContactPlan | None:
    if processor.id != "brokenpay":
        return None
    if country == "JP":
        raise KeyError(country)
    return None


@hookimpl
def payhelp_sandbox(processor: ProcessorInfo) -> _Answering:
    return _Answering()
