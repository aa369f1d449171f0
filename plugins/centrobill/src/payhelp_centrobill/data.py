"""What payhelp knows about CentroBill, with where each fact comes from.

CentroBill publishes an official PHP SDK for its merchant API; :class:`.api.CentroBillApi` follows
it when the platform configures an API key. Customers are sent to CentroBill's web form, email and
phone line.
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
    DescriptorHint,
    IdFormat,
    IdKind,
    ProcessorInfo,
    ProductKind,
    ProductRule,
    Provenance,
    Region,
    RouteStep,
    SubscriptionPeriod,
)
from payhelp_centrobill import PROCESSOR_ID
from payhelp_centrobill.i18n import N_

CHECKED = date(2026, 11, 22)
SEED = Provenance(
    source="StripChat billing-support notes (CentroBill section)",
    confidence=Confidence.SEED,
    checked_on=CHECKED,
)
BILLING_PAGE = Provenance(
    source="StripChat-style billing-support pages listing CentroBill's contacts (two copies)",
    confidence=Confidence.SECONDARY,
    checked_on=CHECKED,
)
CONTACT_PAGE = Provenance(
    source="CentroBill consumer contact page: it may only assist with payments it processed",
    url="https://centrobill.com/de/consumer/contact.html",  # type: ignore[arg-type]
    confidence=Confidence.OFFICIAL,
    checked_on=CHECKED,
)
SDK_FIXTURE = Provenance(
    source=(
        "CentroBill official PHP SDK, Centrobill/php-sdk-v1 "
        "tests/fixtures/ChangePaymentAccountForsubscriptionResponse.json"
    ),
    confidence=Confidence.OFFICIAL,
    checked_on=CHECKED,
)

INFO = ProcessorInfo(
    id=PROCESSOR_ID,
    name="CentroBill",
    website="https://centrohelp.com/",  # type: ignore[arg-type]
    regions=(Region.US, Region.CA, Region.EEA, Region.UK, Region.ROW),
    recommended_for=(
        ProductRule(
            kind=ProductKind.SUBSCRIPTION,
            period=SubscriptionPeriod.ANNUAL,
            note="CentroBill is the usual processor for annual subscriptions such as Premium plans",
        ),
    ),
    payment_methods=("card",),
    id_formats=(
        IdFormat(
            kind=IdKind.ORDER,
            label="CentroBill order id",
            charset="digits",
            min_length=6,
            max_length=12,
            example="235324530",
            provenance=(
                SDK_FIXTURE.model_copy(
                    update={
                        "note": (
                            'orderId is a JSON string, sample "235324530" (9 digits); the 6-12 '
                            "digit range is widened around that single sample."
                        )
                    }
                ),
            ),
        ),
    ),
    descriptors=(
        DescriptorHint(
            keyword="CENTROHELP",
            example="centrohelp.com",
            provenance=(
                SDK_FIXTURE.model_copy(
                    update={
                        "note": (
                            "The payment object's descriptor field; no upper-case statement line "
                            "was found. centrohelp.com is also CentroBill's self-service site."
                        )
                    }
                ),
            ),
        ),
    ),
    # api_lookup, api_submission and public_api come from the registered API (api.CentroBillApi).
    capabilities=Capabilities(self_service_lookup=True, email_submission=True, web_form=True),
    notes=(
        "transactionId in the SDK fixtures is a placeholder ('12345'); no transaction-id format "
        "is recorded.",
        "Stage API: https://stage.api.centrobill.com.",
        "What the centrohelp.com web form asks for is not in the sources, so no fields are listed.",
    ),
)

DIRECTORY = ContactDirectory(
    channels={
        "web_form": ContactChannel(
            kind=ChannelKind.WEB_FORM,
            value="https://centrohelp.com/",
            provenance=(
                BILLING_PAGE.model_copy(update={"note": "Listed as 'Customer self service'."}),
                SEED,
            ),
        ),
        "email": ContactChannel(
            kind=ChannelKind.EMAIL,
            value="support@centrobill.com",
            provenance=(
                Provenance(
                    source="StripChat-style billing-support pages (one original, copied)",
                    confidence=Confidence.SINGLE,
                    checked_on=CHECKED,
                ),
            ),
        ),
        "phone": ContactChannel(
            kind=ChannelKind.PHONE,
            value="+18777788382",
            charges_may_apply=True,
            provenance=(
                Provenance(
                    source="a StripChat-style billing-support page ('Phone support')",
                    confidence=Confidence.SINGLE,
                    checked_on=CHECKED,
                    note=(
                        "No source says from where the call is free; our billing-support notes"
                        " warn it may cost."
                    ),
                ),
                SEED,
            ),
        ),
    },
    routes=(
        ChannelRoute(
            steps=(
                RouteStep(
                    channel="web_form",
                    reason=N_(
                        "CentroBill deals quickly with payment problems, and its web form is the "
                        "most convenient way to reach it."
                    ),
                ),
                RouteStep(
                    channel="email",
                    reason=N_("You can also write to CentroBill's support by email."),
                ),
                RouteStep(
                    channel="phone",
                    reason=N_("CentroBill's phone line, if writing does not solve the problem."),
                    warning=N_(
                        "CentroBill's phone line may cost you money; the web form and email do not."
                    ),
                ),
            ),
        ),
    ),
    include=(
        N_("The date and amount of the charge"),
        N_("The email address you used to pay"),
        N_("The last four digits of the card (never the full number)"),
        N_("The name of the website where you paid"),
    ),
    warnings=(
        N_(
            "CentroBill can only help with payments it processed. If you cannot get into the site "
            "you paid for or see its content, contact that site directly."
        ),
    ),
)
