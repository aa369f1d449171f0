"""Decline advice: what a normalised reason means for the customer and the merchant.

For each reason payhelp holds its default severity, whether the same card may be charged again
(and after how long), who can fix the cause, whom the customer should contact, and what to tell
the customer and the merchant, in our own words. :func:`explain` combines that with what a code
table says about the particular code (its source's hard/soft, network retry bans, Visa's
reattempt category) into one :class:`DeclineAdvice`.

The retry verdict follows the card networks: never after a lost/stolen/closed card, suspected
fraud, a hard decline, a Visa category 1 code, a code a network bans retrying or a merchant advice
code that says stop; never with the same data after a "fix the data first" decline (address, card
details, authentication, Visa category 3, Mastercard advice 01). A wait the source or the advice
code asks for is never undercut. A code payhelp does not know is never retried blindly: it is held
back unless the platform allows a bounded number of reattempts (:class:`UnknownCodePolicy`), or the
network itself said when to try again (Mastercard advice 02 and 24-30, Visa category 2).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, Field

from payhelp._base import Lax, Model
from payhelp.channels import ChannelKind, PlannedChannel
from payhelp.errors import InvalidInputError
from payhelp.i18n import N_, Language, Msg, render
from payhelp.models import Provenance
from payhelp.policies.declines import (
    AdviceAction,
    AdviceCode,
    AdviceTable,
    DeclineCode,
    DeclineReason,
    DeclineScheme,
    Fixer,
    Network,
    RetryCap,
    Severity,
    VisaCategory,
)
from payhelp.policies.hints import HINTS, CodeHint
from payhelp.redact import mask_card_numbers, short_echo

R = DeclineReason

MAX_CODE_LENGTH = 64


def _iso_duration(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("write durations in ISO 8601, e.g. 'P1D' (a day) or 'PT12H'")
    return value


class UnknownCodePolicy(Model):
    """What payhelp does with a decline code no table lists (``[policies.declines.unknown]``).

    The default holds the card back: nobody knows whether the code is a pick-up or a dead card,
    after which a network fines every reattempt, or a momentary refusal. A platform that knows its
    processor's codes are mostly soft may allow a few spaced reattempts; the networks' caps, an
    advice code and the platform's own dunning limits still apply.
    """

    retry: bool = False
    """Allow reattempts after a code payhelp does not know."""
    retry_after: Annotated[
        timedelta,
        BeforeValidator(_iso_duration),
        Field(ge=timedelta(hours=1), le=timedelta(days=30)),
    ] = timedelta(days=1)
    """The least wait before each of them."""
    max_retries: int = Field(default=1, ge=1, le=15)
    """The most reattempts after an unknown code (Visa's cap is 15 in 30 days)."""


class DeclinePolicySettings(Model):
    """A platform's settings for decline advice (``[policies.declines]``)."""

    unknown: UnknownCodePolicy = UnknownCodePolicy()
    """What to do with codes no table lists."""


class ReasonAdvice(Model):
    """payhelp's advice for one normalised reason."""

    severity: Lax[Severity] | None
    """Hard or soft when a code's table does not say (``None`` for ``approved``)."""
    retry: bool
    """Whether the same card, with the same details, may be charged again automatically."""
    retry_after: timedelta | None = None
    """The least time to wait before that retry."""
    fixer: Lax[Fixer]
    """Who can fix the cause."""
    contact: Lax[Fixer] | None
    """Whom the customer should turn to (``None`` when nobody: the customer acts alone)."""
    customer: Msg
    """What the customer should do."""
    merchant: Msg
    """What the merchant should do."""


def _advice(  # noqa: PLR0917 - the table below reads best as one row per reason
    severity: Severity | None,
    retry: bool,
    fixer: Fixer,
    contact: Fixer | None,
    customer: Msg,
    merchant: Msg,
    retry_after: timedelta | None = None,
) -> ReasonAdvice:
    return ReasonAdvice(
        severity=severity,
        retry=retry,
        retry_after=retry_after,
        fixer=fixer,
        contact=contact,
        customer=customer,
        merchant=merchant,
    )


HARD, SOFT = Severity.HARD, Severity.SOFT
CUSTOMER, ISSUER, MERCHANT, PROCESSOR = (
    Fixer.CUSTOMER,
    Fixer.CARD_ISSUER,
    Fixer.MERCHANT,
    Fixer.PROCESSOR,
)

#: The advice for every reason. The five errors of the subscription-failure source document
#: (card declined, expired, insufficient funds, lost/stolen/closed, address mismatch) say what
#: that document advises.
REASONS: dict[DeclineReason, ReasonAdvice] = {
    R.APPROVED: _advice(
        None,
        False,
        CUSTOMER,
        None,
        N_("The payment went through; there is nothing to do."),
        N_("Approved; no action needed."),
    ),
    R.CARD_DECLINED: _advice(
        SOFT,
        True,
        ISSUER,
        ISSUER,
        N_(
            "Your bank refused the payment without giving a reason. Call the bank on the number "
            "on the back of your card; in the meantime you can pay with another card or with "
            "PayPal."
        ),
        N_(
            "The issuer declined without a reason. Retry only on the dunning schedule and offer "
            "another payment method."
        ),
        retry_after=timedelta(hours=12),
    ),
    R.INSUFFICIENT_FUNDS: _advice(
        SOFT,
        True,
        CUSTOMER,
        None,
        N_(
            "There was not enough money on the card. Top it up and wait {retry_wait}: the "
            "payment is tried again by itself. You can also pay with another card, or ask your "
            "bank whether the funds are there."
        ),
        N_(
            "Insufficient funds: retry after {retry_wait}, within the network's retry "
            "cap, and remind the customer to top up."
        ),
        retry_after=timedelta(hours=12),
    ),
    R.EXPIRED_CARD: _advice(
        HARD,
        False,
        CUSTOMER,
        None,
        N_(
            "Your card has expired. Pay with a card that is still valid, or put the new card in "
            "your account."
        ),
        N_(
            "Expired card: do not charge it again. Ask the customer for a valid card; an updated "
            "card may be charged at once."
        ),
    ),
    R.LOST_OR_STOLEN_CARD: _advice(
        HARD,
        False,
        CUSTOMER,
        ISSUER,
        N_(
            "The card was reported lost or stolen, or its account has been closed. Pay with "
            "another card, or call your bank on the number on the back of the card to sort it "
            "out."
        ),
        N_(
            "Lost, stolen or closed card: never charge it again (card-network rule). Ask for "
            "another card and watch the account for fraud."
        ),
    ),
    R.AVS_MISMATCH: _advice(
        SOFT,
        False,
        CUSTOMER,
        None,
        N_(
            "The billing address does not match your bank's records. Enter your billing details "
            "exactly as they appear on your bank statement, then pay again."
        ),
        N_(
            "Address verification failed: do not retry with the same address. Ask the customer "
            "to correct the billing details; retry once they change."
        ),
    ),
    R.INCORRECT_CARD_DETAILS: _advice(
        SOFT,
        False,
        CUSTOMER,
        None,
        N_(
            "Some card details were wrong. Check the card number, expiry date and security code, "
            "then pay again."
        ),
        N_(
            "Card details rejected: do not retry with the same data. Ask the customer to enter "
            "the card again."
        ),
    ),
    R.LIMIT_EXCEEDED: _advice(
        SOFT,
        True,
        CUSTOMER,
        ISSUER,
        N_(
            "The card has reached a spending or usage limit. Wait for the limit to reset, ask "
            "your bank to raise it, or pay with another card."
        ),
        N_(
            "Card limit reached: retry after a day at the earliest, within the network's retry "
            "cap, or ask for another card."
        ),
        retry_after=timedelta(hours=24),
    ),
    R.SUSPECTED_FRAUD: _advice(
        HARD,
        False,
        ISSUER,
        ISSUER,
        N_(
            "Your bank stopped the payment as a precaution. Call the bank on the number on the "
            "back of your card to confirm the purchase was yours, or use another card."
        ),
        N_(
            "Suspected fraud: never retry this card automatically. Review the account; charge "
            "again only after the customer has cleared it with the bank."
        ),
    ),
    R.AUTHENTICATION_REQUIRED: _advice(
        SOFT,
        False,
        CUSTOMER,
        None,
        N_(
            "Your bank wants to confirm that it is you. Pay again while you are at the screen and "
            "complete the check in your banking app or with the code it sends you."
        ),
        N_(
            "Authentication required: a background retry will fail. Bring the customer back to "
            "pay with 3-D Secure."
        ),
    ),
    R.PROCESSING_ERROR: _advice(
        SOFT,
        True,
        PROCESSOR,
        MERCHANT,
        N_(
            "A technical fault stopped the payment; your card is not the problem. Try again in a "
            "little while; if it keeps failing, contact support."
        ),
        N_(
            "Processing or network error: retry after a short wait; if it persists, contact the "
            "processor."
        ),
        retry_after=timedelta(hours=1),
    ),
    R.NOT_PERMITTED: _advice(
        HARD,
        False,
        CUSTOMER,
        ISSUER,
        N_(
            "This card cannot be used for this kind of purchase. Pay with another card or method, "
            "or ask your bank which purchases the card allows."
        ),
        N_("Transaction not permitted for this card: do not retry. Offer another payment method."),
    ),
    R.DUPLICATE_TRANSACTION: _advice(
        HARD,
        False,
        MERCHANT,
        MERCHANT,
        N_(
            "The same payment was just made. Check your statement before paying again, so that "
            "you are not charged twice."
        ),
        N_(
            "Duplicate transaction: do not retry. Check whether the first charge succeeded "
            "before charging again."
        ),
    ),
    R.MERCHANT_CONFIGURATION: _advice(
        HARD,
        False,
        MERCHANT,
        MERCHANT,
        N_(
            "The payment failed because of a problem on our side, not with your card. Please "
            "contact support or try again later."
        ),
        N_(
            "Merchant account or integration problem: fix the configuration (or ask the processor) "
            "before charging again; the customer cannot fix this."
        ),
    ),
    R.UNKNOWN: _advice(
        None,
        False,
        CUSTOMER,
        MERCHANT,
        N_(
            "The payment was refused for a reason we could not identify. Try another card or "
            "payment method, or contact support with the error code."
        ),
        N_(
            "Unrecognised code: it could be a pick-up or dead-card decline that networks fine "
            "reattempts for, so do not charge the card again automatically. Ask the customer for "
            "another payment method, look the code up with the processor, and add it to a decline "
            "table."
        ),
    ),
}

_CONTACT: dict[Fixer, Msg] = {
    CUSTOMER: N_("Nobody: you can fix this yourself."),
    ISSUER: N_("Your card's bank, on the phone number printed on the back of the card."),
    MERCHANT: N_("The billing support of the site where you paid."),
    PROCESSOR: N_("The billing service that took the payment."),
}
_CONTACT_CHANNEL: dict[Fixer, ChannelKind | None] = {
    CUSTOMER: None,
    ISSUER: ChannelKind.PHONE,
    MERCHANT: None,
    PROCESSOR: None,
}

#: What a customer must put in a message to billing support (the source document's list).
INCLUDE: tuple[Msg, ...] = (
    N_("the last four digits of the card (or the PayPal email address) — never the full number"),
    N_("your account id or login email"),
    N_("the error code"),
    N_("the date and amount of the payment"),
)

_RETRY_YES = N_("The same card may be charged again after {retry_wait}.")
_RETRY_NEVER = N_("Suspected fraud or a lost, stolen or closed card: never charge this card again.")
_RETRY_VISA_3 = N_("Visa category 3: the data must be corrected before the card is charged again.")
_RETRY_APPROVED = N_("Nothing to retry: the payment was approved.")
_RETRY_NETWORK = N_("Card-network rules forbid charging this card again after this code.")
_RETRY_NETWORK_MAYBE = N_(
    "Some card networks ({networks}) forbid charging the card again after this code; without "
    "knowing the card's network, payhelp does not retry."
)
_RETRY_VISA_1 = N_("Visa category 1: the issuer will never approve this card; do not retry.")
_RETRY_HARD = N_("A hard decline: charging the same card again cannot succeed.")
_RETRY_FIX_FIRST = N_("Retrying with the same details would fail; they must change first.")
_RETRY_UNKNOWN = N_(
    "payhelp does not know this code, so the card is not charged again automatically: it could "
    "be a decline after which networks forbid reattempts. Ask for another payment method."
)
_RETRY_UNKNOWN_ALLOWED = N_(
    "payhelp does not know this code; the platform allows reattempts after such codes: at most "
    "{limit}, {retry_wait} apart."
)
_RETRY_SOURCE_NO = N_("The code's source says not to try this card again.")
_RETRY_ADVICE_NEVER = N_(
    "The card network's advice code {advice_code} says not to try again: never charge this card "
    "again (Mastercard fines such reattempts)."
)
_RETRY_ADVICE_STOP = N_(
    "Advice code {advice_code}: the cardholder stopped these recurring payments; never charge "
    "this card for them again."
)
_RETRY_ADVICE_PREPAID = N_(
    "Advice code {advice_code}: this card is not meant for repeat charges; do not charge it again "
    "for the subscription."
)
_RETRY_ADVICE_UPDATE = N_(
    "Advice code {advice_code}: new card details exist; charge again only with the updated ones."
)
_RETRY_ADVICE_FIX = N_(
    "Advice code {advice_code}: the merchant's request must be fixed before the card is charged "
    "again."
)
_RETRY_ADVICE_LATER = N_(
    "Advice code {advice_code}: the issuer cannot approve now; the card may be charged again "
    "after {retry_wait}."
)
#: Declines that only changed data can clear (address, card details, authentication).
_FIX_FIRST = frozenset({R.AVS_MISMATCH, R.INCORRECT_CARD_DETAILS, R.AUTHENTICATION_REQUIRED})
_UNKNOWN_LABEL = N_("code not in the {scheme} table")


class ContactAdvice(Model):
    """Whom the customer should turn to about a decline."""

    party: Lax[Fixer] | None
    """Who (``None``: nobody, the customer can act alone)."""
    how: str
    """How to reach them, in the answer's language."""
    channel_kind: Lax[ChannelKind] | None
    """The kind of channel (a phone for the issuer)."""
    channel: PlannedChannel | None = None
    """The processor's first channel for the customer's country, when processor and country are
    known."""


class DeclineAdvice(Model):
    """Everything payhelp can say about one raw decline code."""

    scheme: str
    """The code table used."""
    code: Annotated[str, Field(max_length=MAX_CODE_LENGTH)]
    """The raw code as given (trimmed; anything that looks like a card number masked)."""
    normalized_code: str
    """The key the raw code became in the table."""
    known: bool
    """Whether the table lists the code; ``False`` means ``reason`` is ``unknown``."""
    label: str
    """The table's own name for the code (English, technical)."""
    reason: Lax[DeclineReason]
    """The normalised reason."""
    severity: Lax[Severity] | None
    """Hard or soft (``None`` for approvals and unknown codes)."""
    retry_allowed: bool
    """Whether the same card may be charged again automatically."""
    retry_after: timedelta | None
    """The least wait before that retry."""
    retry_note: str
    """Why the retry verdict is what it is, in the answer's language."""
    retry_limit: int | None = None
    """The most reattempts this decline allows on top of the networks' caps (set for codes
    payhelp does not know, when the platform allows any); ``None``: only the caps count."""
    retry_caps: tuple[RetryCap, ...]
    """The card networks' limits on reattempts that apply."""
    visa_category: VisaCategory | None
    """Visa's reattempt category: the one the caller stated (the processor passed it on), or
    the code's from its table, where known."""
    advice_code: str | None = None
    """The card network's merchant advice code given with the decline (Mastercard), two
    digits."""
    advice_label: str | None = None
    """The network's name for that advice code (``None`` when it is not in payhelp's table)."""
    network: Lax[Network] | None
    """The card network the verdict was made for (``None``: unknown, judged conservatively)."""
    fixer: Lax[Fixer]
    """Who can fix the cause."""
    customer_message: str
    """What the customer should do, in the answer's language."""
    merchant_message: str
    """What the merchant should do, in the answer's language."""
    contact: ContactAdvice
    """Whom the customer should contact, and how."""
    include: tuple[str, ...]
    """What to put in a message to billing support."""
    note: str | None
    """What the table's source adds about the code."""
    source: Provenance
    """Where the code table comes from."""
    language: str
    """The language of every text in the answer."""


class _Verdict(Model):
    allowed: bool
    why: Msg
    wait: timedelta | None = None
    limit: int | None = None


def _no(why: Msg) -> _Verdict:
    return _Verdict(allowed=False, why=why)


_ADVICE_STOPS: dict[AdviceAction, Msg] = {
    AdviceAction.NEVER: _RETRY_ADVICE_NEVER,
    AdviceAction.STOP_RECURRING: _RETRY_ADVICE_STOP,
    AdviceAction.NOT_FOR_RECURRING: _RETRY_ADVICE_PREPAID,
    AdviceAction.UPDATE_DETAILS: _RETRY_ADVICE_UPDATE,
    AdviceAction.FIX_INTEGRATION: _RETRY_ADVICE_FIX,
}


def _retry(
    entry: DeclineCode | None,
    advice: ReasonAdvice,
    *,
    severity: Severity | None,
    network: Network | None,
    reason: DeclineReason,
    visa_category: VisaCategory | None,
    mac: AdviceCode | None,
    unknown: UnknownCodePolicy,
) -> tuple[_Verdict, dict[str, str]]:
    """The retry verdict, strictest rule first: network bans, fix-first declines, never-retry
    reasons, the source's own word, hard declines, then the reason's default."""
    if reason is R.APPROVED:
        return _no(_RETRY_APPROVED), {}
    banned = set(entry.no_retry) if entry is not None else set()
    if visa_category == 1:
        banned.add(Network.VISA)
    if network is not None and network in banned:
        visa_1 = network is Network.VISA and visa_category == 1
        return _no(_RETRY_VISA_1 if visa_1 else _RETRY_NETWORK), {}
    if network is None and banned:
        names = ", ".join(sorted(n.value.title() for n in banned))
        return _no(_RETRY_NETWORK_MAYBE), {"networks": names}
    if mac is not None and mac.action in _ADVICE_STOPS:
        return _no(_ADVICE_STOPS[mac.action]), {}
    if visa_category == 3 and network in (None, Network.VISA):
        return _no(_RETRY_VISA_3), {}
    if reason in (R.LOST_OR_STOLEN_CARD, R.SUSPECTED_FRAUD):
        return _no(_RETRY_NEVER), {}
    if reason in _FIX_FIRST:
        # Even where a table calls these hard, corrected data can succeed: say what must change.
        return _no(_RETRY_FIX_FIRST), {}
    source_says = entry.retry if entry is not None else None
    if source_says is False:
        return _no(_RETRY_SOURCE_NO), {}
    waits = [
        w
        for w in (
            advice.retry_after,
            entry.retry_after if entry is not None else None,
            mac.retry_after if mac is not None else None,
        )
        if w is not None
    ]
    wait = max(waits) if waits else None
    if entry is None:
        # The network's own word (try again later, Visa category 2) is the only safe ground for
        # a reattempt after a code nobody here knows; else the platform's bounded allowance.
        network_says_later = mac is not None or visa_category == 2
        if network_says_later or unknown.retry:
            wait = max(wait or unknown.retry_after, unknown.retry_after)
            if mac is not None:
                return _Verdict(allowed=True, why=_RETRY_ADVICE_LATER, wait=wait), {}
            limit = unknown.max_retries if unknown.retry and not network_says_later else None
            why = _RETRY_UNKNOWN_ALLOWED if limit is not None else _RETRY_YES
            return _Verdict(allowed=True, why=why, wait=wait, limit=limit), {"limit": str(limit)}
        return _no(_RETRY_UNKNOWN), {}
    if severity is HARD and source_says is not True:
        return _no(_RETRY_HARD), {}
    if not advice.retry and source_says is not True:
        return _no(_RETRY_FIX_FIRST), {}
    if wait is None:
        wait = timedelta(hours=12)  # a code the source says to retry, under a reason without a wait
    why = _RETRY_ADVICE_LATER if mac is not None else _RETRY_YES
    return _Verdict(allowed=True, why=why, wait=wait), {}


#: CLDR's long duration units as Babel gives them (Italian years, months and days fall back to
#: the short form, which spells them out), one and other: in both languages a whole number is
#: "one" only when it is 1 (Italian's "many", for millions, takes the "other" pattern).
_UNITS: dict[Language, tuple[tuple[int, str, str], ...]] = {
    "en": (
        (31_536_000, "{0} year", "{0} years"),
        (2_592_000, "{0} month", "{0} months"),
        (604_800, "{0} week", "{0} weeks"),
        (86_400, "{0} day", "{0} days"),
        (3_600, "{0} hour", "{0} hours"),
        (60, "{0} minute", "{0} minutes"),
        (1, "{0} second", "{0} seconds"),
    ),
    "it": (
        (31_536_000, "{0} anno", "{0} anni"),
        (2_592_000, "{0} mese", "{0} mesi"),
        (604_800, "{0} settimana", "{0} settimane"),
        (86_400, "{0} giorno", "{0} giorni"),
        (3_600, "{0} ora", "{0} ore"),
        (60, "{0} minuto", "{0} minuti"),
        (1, "{0} secondo", "{0} secondi"),
    ),
}


def duration(span: timedelta, language: Language) -> str:
    """``span`` in words, in ``language`` ("12 hours", "12 ore", "90 minutes", "2 days"): what
    Babel's ``format_timedelta(span, threshold=2, format="long")`` says, without loading its
    locale data (a test holds the two equal): the largest unit of which there are at least two,
    rounded, else seconds."""
    seconds = abs(span.days * 86_400 + span.seconds)
    units = _UNITS[language]
    for size, one, other in units:
        value = seconds / size
        if value >= 2 or size == 1:
            whole = max(1, round(value)) if size == 1 and value > 0 else round(value)
            return (one if whole == 1 else other).replace("{0}", str(whole))
    raise AssertionError("unreachable: the last unit is the second")


def _stated_network(
    network: Network | None, visa_category: VisaCategory | None, advice_code: str | None
) -> Network | None:
    """The card's network, from what the caller gave: a Visa category means Visa, a merchant
    advice code Mastercard; contradictions are bad input."""
    if visa_category is not None and advice_code is not None:
        raise InvalidInputError(
            "a decline carries a Visa category or a Mastercard advice code, not both"
        )
    if visa_category is not None:
        if network not in (None, Network.VISA):
            raise InvalidInputError(f"a Visa category was given for a {network} card")
        return Network.VISA
    if advice_code is not None:
        if network not in (None, Network.MASTERCARD):
            raise InvalidInputError(
                f"merchant advice codes are Mastercard's; the card is {network}"
            )
        return Network.MASTERCARD
    return network


def explain(
    scheme: DeclineScheme,
    raw: str,
    language: Language,
    *,
    network: Network | None = None,
    caps: tuple[RetryCap, ...] = (),
    processor_channel: PlannedChannel | None = None,
    advice_code: str | None = None,
    advice_codes: AdviceTable | None = None,
    visa_category: VisaCategory | None = None,
    unknown: UnknownCodePolicy | None = None,
) -> DeclineAdvice:
    """Explain ``raw`` in ``scheme``. An unknown code is not an error: its reason is ``unknown``,
    the raw code is kept, and it is held back from retries unless ``unknown`` allows a few.
    ``advice_code`` is the network's merchant advice code sent with the decline (looked up in
    ``advice_codes``; it implies Mastercard), ``visa_category`` Visa's reattempt category when
    the processor passes it on (it implies Visa, and wins over the code table's). ``caps`` are the
    networks' retry caps to report (those of the card's network only, when known);
    ``processor_channel`` is offered when the customer should contact the billing side."""
    code = mask_card_numbers(raw.strip())
    if not code:
        raise InvalidInputError("a decline code is needed, e.g. 2001 or insufficient_funds")
    if len(code) > MAX_CODE_LENGTH:
        raise InvalidInputError(
            f"a decline code is at most {MAX_CODE_LENGTH} characters; got {len(code)}"
        )
    if visa_category is not None and visa_category not in (1, 2, 3, 4):
        raise InvalidInputError(f"Visa's reattempt categories are 1 to 4; got {visa_category!r}")
    mac: AdviceCode | None = None
    mac_key: str | None = None
    if advice_code is not None:
        mac_key = advice_code.strip()
        if len(mac_key) == 1 and mac_key.isascii() and mac_key.isdigit():
            mac_key = mac_key.zfill(2)
        if not (len(mac_key) == 2 and mac_key.isascii() and mac_key.isdigit()):
            raise InvalidInputError(
                "a merchant advice code is two digits, e.g. 03 or 24; got "
                + short_echo(advice_code)
            )
        mac = advice_codes.codes.get(mac_key) if advice_codes is not None else None
    network = _stated_network(network, visa_category, mac_key)
    entry = scheme.find(code)
    reason = entry.reason if entry is not None else R.UNKNOWN
    advice = REASONS[reason]
    severity = (entry.severity if entry is not None else None) or advice.severity
    if entry is not None and reason is R.APPROVED:
        severity = None
    category = (
        visa_category
        if visa_category is not None
        else (entry.visa_category if entry is not None else None)
    )
    verdict, values = _retry(
        entry,
        advice,
        severity=severity,
        network=network,
        reason=reason,
        visa_category=category,
        mac=mac,
        unknown=unknown or UnknownCodePolicy(),
    )
    # Specific words for the code, or for the advice code (which knows the card's story better).
    hint: CodeHint | None = None
    if mac is not None and mac.action in _ADVICE_HINTS and reason is not R.APPROVED:
        hint = HINTS[_ADVICE_HINTS[mac.action]]
    elif entry is not None and entry.hint is not None:
        hint = HINTS[entry.hint]
    customer_msg = hint.customer if hint is not None else advice.customer
    merchant_msg = hint.merchant if hint is not None else advice.merchant
    fixer = hint.fixer if hint is not None else advice.fixer
    contact_party = hint.contact if hint is not None else advice.contact
    # A code whose source says to show only a generic decline (a PSP's own fraud verdict, a
    # merchant's block list) gets the generic customer text; the merchant still sees the truth.
    if entry is not None and not entry.disclose:
        customer_msg = REASONS[R.CARD_DECLINED].customer
    values = {
        "retry_wait": duration(verdict.wait or advice.retry_after or timedelta(0), language),
        "scheme": scheme.name,
        "advice_code": mac_key or "",
        **values,
    }
    contact = ContactAdvice(
        party=contact_party,
        how=render(_CONTACT[contact_party or CUSTOMER], language),
        channel_kind=_CONTACT_CHANNEL[contact_party] if contact_party else None,
        # The processor is the merchant of record at many platforms: its channel serves both.
        channel=processor_channel if contact_party in (MERCHANT, PROCESSOR) else None,
    )
    applicable = tuple(cap for cap in caps if network is None or cap.network is network)
    return DeclineAdvice(
        scheme=scheme.id,
        code=code,
        normalized_code=scheme.key(code),
        known=entry is not None,
        label=entry.label
        if entry is not None
        else render(_UNKNOWN_LABEL, language).format(**values),
        reason=reason,
        severity=severity,
        retry_allowed=verdict.allowed,
        retry_after=verdict.wait if verdict.allowed else None,
        retry_note=render(verdict.why, language).format(**values),
        retry_limit=verdict.limit if verdict.allowed else None,
        retry_caps=applicable if verdict.allowed else (),
        visa_category=category,
        advice_code=mac_key,
        advice_label=mac.label if mac is not None else None,
        network=network,
        fixer=fixer,
        customer_message=render(customer_msg, language).format(**values),
        merchant_message=render(merchant_msg, language).format(**values),
        contact=contact,
        include=tuple(render(item, language) for item in INCLUDE),
        note=entry.note if entry is not None else None,
        source=scheme.source,
        language=language,
    )


#: Advice codes whose story replaces the code's texts for the customer.
_ADVICE_HINTS: dict[AdviceAction, str] = {
    AdviceAction.UPDATE_DETAILS: "new_account_information",
    AdviceAction.STOP_RECURRING: "stop_recurring",
    AdviceAction.NOT_FOR_RECURRING: "not_for_recurring",
    AdviceAction.FIX_INTEGRATION: "merchant_integration",
}


__all__ = [
    "INCLUDE",
    "MAX_CODE_LENGTH",
    "REASONS",
    "ContactAdvice",
    "DeclineAdvice",
    "DeclinePolicySettings",
    "ReasonAdvice",
    "UnknownCodePolicy",
    "explain",
]
