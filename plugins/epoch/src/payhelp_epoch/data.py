"""What payhelp knows about Epoch, with where each fact comes from.

Epoch's Customer Search API is known only from third-party integrations; ``api.py`` declares it
(its basis, endpoint and sources), and the API capabilities and public-API record are derived
from that registration. Without API credentials, lookups go to Epoch's purchase finder and
customers write, call or chat.
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
from payhelp_epoch import PROCESSOR_ID
from payhelp_epoch.i18n import N_

CHECKED = date(2026, 11, 22)
SEED = Provenance(
    source="StripChat billing-support notes (Epoch section)",
    confidence=Confidence.SEED,
    checked_on=CHECKED,
)
BILLING_PAGE = Provenance(
    source="StripChat-style billing-support pages listing Epoch's contacts (two copies)",
    confidence=Confidence.SECONDARY,
    checked_on=CHECKED,
)
CONTACT_BOX = Provenance(
    source="Epoch billing FAQ, 'Contact Epoch' box (live chat, toll-free and international phones)",
    url="https://epoch.com/en/billing_faqs.html",  # type: ignore[arg-type]
    confidence=Confidence.OFFICIAL,
    checked_on=CHECKED,
)
FIND_PURCHASE = Provenance(
    source="Epoch purchase finder: 'enter any two of the four fields'; billing support 24/7",
    url="https://www.epoch.com/find_purchase?ref=bl",  # type: ignore[arg-type]
    confidence=Confidence.OFFICIAL,
    checked_on=CHECKED,
)
DATAPLUS = Provenance(
    source="Epoch DataPlus schema quoted on mage2.pro (ets_member_idx, ets_transaction_id int(11))",
    url="https://mage2.pro/t/topic/5044",  # type: ignore[arg-type]
    confidence=Confidence.SECONDARY,
    checked_on=CHECKED,
    note=(
        "int(11) is a 32-bit MySQL INT (at most 2147483647), so at most 10 digits; the 11 is a "
        "display width. No typical length is published."
    ),
)

INFO = ProcessorInfo(
    id=PROCESSOR_ID,
    name="Epoch",
    website="https://www.epoch.com/",  # type: ignore[arg-type]
    regions=(Region.US, Region.CA, Region.EEA, Region.UK, Region.ROW),
    payment_methods=("card",),
    id_formats=(
        IdFormat(
            kind=IdKind.MEMBER,
            label="Epoch member id",
            charset="digits",
            min_length=1,
            max_length=10,
            example="2147483647",
            provenance=(
                Provenance(
                    source="Epoch purchase finder: a member id is a unique identifying number",
                    url="https://www.epoch.com/find_purchase?ref=bl",  # type: ignore[arg-type]
                    confidence=Confidence.OFFICIAL,
                    checked_on=CHECKED,
                    note="Numeric; no length given.",
                ),
                DATAPLUS.model_copy(
                    update={
                        "note": (
                            f"{DATAPLUS.note} No public member-id sample exists: the example is "
                            "the largest value the column holds."
                        )
                    }
                ),
            ),
        ),
        IdFormat(
            kind=IdKind.TRANSACTION,
            label="Epoch transaction id",
            charset="digits",
            min_length=1,
            max_length=10,
            example="1418464163",
            provenance=(
                DATAPLUS,
                Provenance(
                    source="a third-party Epoch postback handler (ans=YGOODTEST|1418464163)",
                    confidence=Confidence.SINGLE,
                    checked_on=CHECKED,
                    note="The only real-shaped transaction id seen; one sample, not a rule.",
                ),
            ),
        ),
    ),
    descriptors=(
        DescriptorHint(
            keyword="EPOCH",
            example="EPOCH.COM*LIVESODA",
            provenance=(
                Provenance(
                    source="review-site repository files listing statement lines per platform",
                    confidence=Confidence.SECONDARY,
                    checked_on=CHECKED,
                    note=(
                        "Pattern EPOCH.COM*<merchant> (also EPOCH.COM*Technius, "
                        "EPOCH.COM*ICFTECHNOL); probably one author."
                    ),
                ),
                Provenance(
                    source="Epoch billing blog: Epoch's name appears on the billing statement",
                    url="http://epochbilling.blogspot.com/2014/02/do-you-have-unknown-charge-from-epoch.html",  # type: ignore[arg-type]
                    confidence=Confidence.SECONDARY,
                    checked_on=CHECKED,
                    note="Written in Epoch's voice but not on epoch.com.",
                ),
            ),
        ),
    ),
    # api_lookup, api_submission and public_api are derived from the registered EpochApi.
    capabilities=Capabilities(self_service_lookup=True, email_submission=True),
    notes=(
        "Member and transaction id lengths are not published; 1-10 digits is inferred from the "
        "DataPlus int(11) columns.",
        "Descriptor examples come from one review-site author.",
        "The live chat's own address is not in the sources: the channel points at the purchase "
        "finder on Epoch's billing-support site.",
        "Our billing-support notes say Epoch also offers services to find payments and to detect "
        "fraud.",
    ),
)

_FIND_PURCHASE = N_(
    "Most Epoch cases are solved on its purchase finder: enter any two of the four details it "
    "asks for."
)
_EMAIL = N_("If the purchase finder does not solve it, write to Epoch's billing support.")
_CHAT = N_("Epoch's billing support also answers by live chat, around the clock.")

DIRECTORY = ContactDirectory(
    channels={
        "find_purchase": ContactChannel(
            kind=ChannelKind.LOOKUP_PAGE,
            value="https://www.epoch.com/billing_support/find_purchase",
            fields=(
                N_("Member id"),
                N_("Email address used for the purchase"),
                N_("Username"),
                N_("Last four digits of the card"),
            ),
            provenance=(
                BILLING_PAGE,
                FIND_PURCHASE.model_copy(
                    update={"note": "Fields and the any-two rule read at /find_purchase?ref=bl."}
                ),
                SEED,
            ),
        ),
        "email": ContactChannel(
            kind=ChannelKind.EMAIL,
            value="billing@epoch.com",
            provenance=(BILLING_PAGE, SEED),
        ),
        "phone_tollfree": ContactChannel(
            kind=ChannelKind.PHONE,
            value="+18008938871",
            toll_free_in=("US", "CA"),
            serves=Audience(countries=("US", "CA")),
            provenance=(CONTACT_BOX, BILLING_PAGE, SEED),
        ),
        "phone_international": ContactChannel(
            kind=ChannelKind.PHONE,
            value="+13106645810",
            charges_may_apply=True,
            provenance=(CONTACT_BOX, BILLING_PAGE, SEED),
        ),
        "chat": ContactChannel(
            kind=ChannelKind.LIVE_CHAT,
            value="https://www.epoch.com/billing_support/find_purchase",
            hours="24/7",
            provenance=(
                CONTACT_BOX.model_copy(
                    update={
                        "note": (
                            "The box offers live chat but the chat's own address is not in our "
                            "sources; the value is the purchase finder on the billing-support site."
                        )
                    }
                ),
                FIND_PURCHASE.model_copy(update={"note": "Source of the 24/7 hours."}),
            ),
        ),
    },
    routes=(
        ChannelRoute(
            audience=Audience(countries=("US", "CA")),
            steps=(
                RouteStep(channel="find_purchase", reason=_FIND_PURCHASE),
                RouteStep(channel="email", reason=_EMAIL),
                RouteStep(
                    channel="phone_tollfree",
                    reason=N_("From the US and Canada the call to Epoch is free."),
                ),
                RouteStep(channel="chat", reason=_CHAT),
            ),
        ),
        ChannelRoute(
            steps=(
                RouteStep(channel="find_purchase", reason=_FIND_PURCHASE),
                RouteStep(channel="email", reason=_EMAIL),
                RouteStep(
                    channel="phone_international",
                    reason=N_(
                        "Epoch's international line, for customers outside the US and Canada."
                    ),
                    warning=N_(
                        "Calls to Epoch's international number may cost you money; if you would "
                        "rather not pay, write to Epoch instead."
                    ),
                ),
                RouteStep(channel="chat", reason=_CHAT),
            ),
        ),
    ),
    include=(
        N_("Your payment number: the Epoch member id or transaction id from the receipt email"),
        N_("The email address you used for the purchase"),
        N_("The last four digits of the card (never the full number)"),
    ),
)
