"""What payhelp knows about SegPay, with where each fact comes from.

SegPay's SRS web services are known from third-party integrations; :mod:`.api` declares them
(``SegpayApi``: its basis, endpoint and sources), and the API capabilities and public-API record
are derived from that registration. Without SRS credentials, lookups go to SegPay's
customer-service site, and customers write, call or chat.
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
    IdFormat,
    IdKind,
    ProcessorInfo,
    Provenance,
    Region,
    RouteStep,
)
from payhelp_segpay import PROCESSOR_ID
from payhelp_segpay.i18n import N_

CHECKED = date(2026, 11, 22)
SEED = Provenance(
    source="StripChat billing-support notes (SegPay section)",
    confidence=Confidence.SEED,
    checked_on=CHECKED,
)
BILLING_PAGE = Provenance(
    source="StripChat-style billing-support pages listing SegPay's contacts (two copies)",
    confidence=Confidence.SECONDARY,
    checked_on=CHECKED,
)
PHONES = Provenance(
    source="a StripChat-style billing-support page ('+1-954-414-1610 and 1-888-376-0948')",
    confidence=Confidence.SINGLE,
    checked_on=CHECKED,
    note="The page does not say which number is which; 1-888 is a North American toll-free code.",
)
BLOG = Provenance(
    source="SegPay blog: help by email or live chat on SegPay's customer-service site",
    url="https://segpay.com/blog/how-to-cancel-your-secure-segpay-payment-account/",  # type: ignore[arg-type]
    confidence=Confidence.OFFICIAL,
    checked_on=CHECKED,
    note="The stored copy hides the email address; the chat's address is not given in full.",
)
SRS_SAMPLE = Provenance(
    source="SegPay help centre, SRS transactions report XML example",
    url="https://gethelp.segpay.com/docs/Content/MPFeatures/SRS-Transactions.htm",  # type: ignore[arg-type]
    confidence=Confidence.OFFICIAL,
    checked_on=CHECKED,
    note=(
        "One sample each (TransID 139630889, 9 digits; PurchaseID 83476992, 8 digits): the 6-12 "
        "digit range is widened around a single sample, so length is a weak hint."
    ),
)

INFO = ProcessorInfo(
    id=PROCESSOR_ID,
    name="SegPay",
    website="https://segpay.com/",  # type: ignore[arg-type]
    regions=(Region.US, Region.CA, Region.EEA, Region.UK, Region.ROW),
    payment_methods=("card",),
    id_formats=(
        IdFormat(
            kind=IdKind.TRANSACTION,
            label="SegPay transaction id",
            charset="digits",
            min_length=6,
            max_length=12,
            example="139630889",
            provenance=(SRS_SAMPLE,),
        ),
        IdFormat(
            kind=IdKind.PURCHASE,
            label="SegPay purchase id",
            charset="digits",
            min_length=6,
            max_length=12,
            example="83476992",
            provenance=(SRS_SAMPLE,),
        ),
    ),
    descriptors=(
        DescriptorHint(
            keyword="SEGPAY",
            example="SEGPAY.COM*FLRT Inc",
            provenance=(
                Provenance(
                    source="a merchant site's footer naming its statement line",
                    confidence=Confidence.SINGLE,
                    checked_on=CHECKED,
                    note=(
                        "Pattern SEGPAY.COM*<merchant>; SEO pages claim other variants "
                        "(Segpay.com, SEGPAY*, SegpayEU), unreliably."
                    ),
                ),
            ),
        ),
    ),
    # api_lookup, api_submission and public_api come from the registered API (api.SegpayApi).
    capabilities=Capabilities(self_service_lookup=True, email_submission=True),
    notes=(
        "Id lengths rest on one official sample each; match on digits, treat length as a hint.",
        "The sources write the customer-service site as http://cs.segpay.com/; payhelp links it "
        "over https.",
        "What the customer-service lookup asks for is not in the sources, so no fields are listed.",
    ),
)

_LOOKUP = N_("Look your payment up on SegPay's customer-service site.")
_CHAT = N_("SegPay's customer-service site also has a live chat with its support staff.")

DIRECTORY = ContactDirectory(
    channels={
        "lookup": ContactChannel(
            kind=ChannelKind.LOOKUP_PAGE,
            value="https://cs.segpay.com/",
            provenance=(
                BILLING_PAGE.model_copy(
                    update={"note": "Listed as http://cs.segpay.com/ under 'Look Up My Purchases'."}
                ),
                SEED,
            ),
        ),
        "email": ContactChannel(
            kind=ChannelKind.EMAIL,
            value="help@segpay.com",
            provenance=(BILLING_PAGE, BLOG, SEED),
        ),
        "phone_us": ContactChannel(
            kind=ChannelKind.PHONE,
            value="+18883760948",
            toll_free_in=("US",),
            serves=Audience(countries=("US",)),
            provenance=(PHONES, SEED),
        ),
        "phone": ContactChannel(
            kind=ChannelKind.PHONE,
            value="+19544141610",
            charges_may_apply=True,
            provenance=(PHONES, SEED),
        ),
        "chat": ContactChannel(
            kind=ChannelKind.LIVE_CHAT,
            value="https://cs.segpay.com/",
            provenance=(BLOG, BILLING_PAGE),
        ),
    },
    routes=(
        ChannelRoute(
            audience=Audience(countries=("US",)),
            steps=(
                RouteStep(
                    channel="phone_us",
                    reason=N_(
                        "SegPay's phone support is meant mainly for customers in the US, and "
                        "this number is free to call from there."
                    ),
                ),
                RouteStep(channel="lookup", reason=_LOOKUP),
                RouteStep(
                    channel="email",
                    reason=N_("Or write to SegPay: attach your receipts and transaction numbers."),
                ),
                RouteStep(channel="chat", reason=_CHAT),
            ),
        ),
        ChannelRoute(
            steps=(
                RouteStep(
                    channel="email",
                    reason=N_(
                        "Outside the US, SegPay prefers that customers write: start with email."
                    ),
                ),
                RouteStep(channel="lookup", reason=_LOOKUP),
                RouteStep(channel="chat", reason=_CHAT),
                RouteStep(
                    channel="phone",
                    reason=N_(
                        "SegPay's general phone line, if writing does not solve the problem."
                    ),
                    warning=N_(
                        "SegPay's general number is not free: calling it may cost you money. "
                        "Email costs nothing."
                    ),
                ),
            ),
        ),
    ),
    include=(
        N_("The receipts for the payment, attached to your message"),
        N_("The transaction numbers (SegPay's transaction id and purchase id)"),
        N_("A clear, brief description of the problem"),
        N_("The date and amount of the charge"),
    ),
)
