"""The Stripe decline-code table is complete and says what Stripe's documentation implies."""

from __future__ import annotations

import pytest

from payhelp import Payhelp
from payhelp.policies.declines import DeclineReason, Fixer, Network, Severity, builtin_schemes

STRIPE = next(scheme for scheme in builtin_schemes() if scheme.id == "stripe")

#: The "Card decline codes" table of https://docs.stripe.com/declines/codes, in Stripe's order
#: (50 codes; do_not_try_again and try_again_later are marked deprecated there).
CARD_CODES = [
    "authentication_required",
    "authentication_not_handled",
    "approve_with_id",
    "call_issuer",
    "card_not_supported",
    "card_velocity_exceeded",
    "currency_not_supported",
    "do_not_honor",
    "do_not_try_again",
    "duplicate_transaction",
    "expired_card",
    "fraudulent",
    "generic_decline",
    "incorrect_address",
    "incorrect_cvc",
    "incorrect_number",
    "incorrect_pin",
    "incorrect_zip",
    "insufficient_funds",
    "invalid_account",
    "invalid_amount",
    "invalid_cvc",
    "invalid_expiry_month",
    "invalid_expiry_year",
    "invalid_number",
    "invalid_pin",
    "issuer_not_available",
    "lost_card",
    "merchant_blacklist",
    "new_account_information_available",
    "no_action_taken",
    "not_permitted",
    "offline_pin_required",
    "online_or_offline_pin_required",
    "pickup_card",
    "pin_try_exceeded",
    "processing_error",
    "reenter_transaction",
    "restricted_card",
    "revocation_of_all_authorizations",
    "revocation_of_authorization",
    "security_violation",
    "service_not_allowed",
    "stolen_card",
    "stop_payment_order",
    "testmode_decline",
    "transaction_not_allowed",
    "try_again_later",
    "withdrawal_count_limit_exceeded",
    "mobile_device_authentication_required",
]

#: The "Local payment method decline codes" table of the same page (19 rows; the last,
#: recurring_not_supported_by_bank, is in the copy ingested 2026-05-09), less the six codes it shares
#: with the card table (expired_card, processing_error, insufficient_funds,
#: currency_not_supported, invalid_amount, duplicate_transaction).
LOCAL_PAYMENT_METHOD_CODES = [
    "partner_generic_decline",
    "invalid_customer_account",
    "payment_limit_exceeded",
    "invalid_billing_agreement",
    "invalid_business_account",
    "partner_high_risk_customer",
    "compliance_violation",
    "payment_disputed",
    "invalid_authorization",
    "invalid_payment_information",
    "partner_payment_not_found",
    "expired_payment_information",
    "recurring_not_supported_by_bank",
]

NEVER_RETRY = {Network.VISA, Network.MASTERCARD}


def test_the_lists_written_here_have_no_repeats() -> None:
    assert len(CARD_CODES) == len(set(CARD_CODES)) == 50
    assert len(LOCAL_PAYMENT_METHOD_CODES) == len(set(LOCAL_PAYMENT_METHOD_CODES)) == 13
    assert not set(CARD_CODES) & set(LOCAL_PAYMENT_METHOD_CODES)


def test_the_table_holds_exactly_the_documented_codes() -> None:
    assert set(STRIPE.codes) == set(CARD_CODES) | set(LOCAL_PAYMENT_METHOD_CODES)


def test_the_scheme_header() -> None:
    assert STRIPE.name
    assert STRIPE.normalise.case == "lower"
    assert str(STRIPE.source.url) == "https://docs.stripe.com/declines/codes"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Insufficient_Funds", "insufficient_funds"),
        ("  LOST_CARD ", "lost_card"),
        ("do_not_honor", "do_not_honor"),
    ],
)
def test_input_is_folded_to_lower_case(raw: str, key: str) -> None:
    assert STRIPE.key(raw) == key
    assert STRIPE.find(raw) is STRIPE.codes[key]


def test_an_unlisted_code_is_not_found() -> None:
    assert STRIPE.find("card_declined") is None


def test_every_entry_is_complete() -> None:
    for key, code in STRIPE.codes.items():
        assert code.label.strip(), key
        assert code.severity is not None, f"{key}: Stripe entries derive a severity"
        assert code.note is not None, f"{key}: Stripe's next step is summarised"
        assert code.note.strip(), key
        assert code.reason not in {DeclineReason.APPROVED, DeclineReason.UNKNOWN}, key
        assert code.visa_category is None, f"{key}: Stripe gives no Visa category"


def test_labels_are_short_descriptions() -> None:
    for key, code in STRIPE.codes.items():
        assert len(code.label) <= 60, key


@pytest.mark.parametrize(
    ("key", "reason", "severity"),
    [
        ("insufficient_funds", DeclineReason.INSUFFICIENT_FUNDS, Severity.SOFT),
        ("generic_decline", DeclineReason.CARD_DECLINED, Severity.SOFT),
        ("do_not_honor", DeclineReason.CARD_DECLINED, Severity.SOFT),
        ("expired_card", DeclineReason.EXPIRED_CARD, Severity.HARD),
        ("incorrect_zip", DeclineReason.AVS_MISMATCH, Severity.SOFT),
        ("incorrect_address", DeclineReason.AVS_MISMATCH, Severity.SOFT),
        ("incorrect_cvc", DeclineReason.INCORRECT_CARD_DETAILS, Severity.SOFT),
        ("invalid_expiry_year", DeclineReason.INCORRECT_CARD_DETAILS, Severity.SOFT),
        ("card_velocity_exceeded", DeclineReason.LIMIT_EXCEEDED, Severity.SOFT),
        ("withdrawal_count_limit_exceeded", DeclineReason.LIMIT_EXCEEDED, Severity.SOFT),
        ("fraudulent", DeclineReason.SUSPECTED_FRAUD, Severity.HARD),
        ("merchant_blacklist", DeclineReason.SUSPECTED_FRAUD, Severity.HARD),
        ("authentication_required", DeclineReason.AUTHENTICATION_REQUIRED, Severity.SOFT),
        ("authentication_not_handled", DeclineReason.AUTHENTICATION_REQUIRED, Severity.SOFT),
        ("offline_pin_required", DeclineReason.AUTHENTICATION_REQUIRED, Severity.SOFT),
        ("processing_error", DeclineReason.PROCESSING_ERROR, Severity.SOFT),
        ("issuer_not_available", DeclineReason.PROCESSING_ERROR, Severity.SOFT),
        ("currency_not_supported", DeclineReason.NOT_PERMITTED, Severity.HARD),
        ("card_not_supported", DeclineReason.NOT_PERMITTED, Severity.HARD),
        ("duplicate_transaction", DeclineReason.DUPLICATE_TRANSACTION, Severity.SOFT),
        ("testmode_decline", DeclineReason.MERCHANT_CONFIGURATION, Severity.HARD),
        ("invalid_amount", DeclineReason.NOT_PERMITTED, Severity.HARD),
        ("pickup_card", DeclineReason.LOST_OR_STOLEN_CARD, Severity.HARD),
        ("new_account_information_available", DeclineReason.EXPIRED_CARD, Severity.HARD),
        ("partner_generic_decline", DeclineReason.CARD_DECLINED, Severity.SOFT),
        ("payment_limit_exceeded", DeclineReason.LIMIT_EXCEEDED, Severity.SOFT),
    ],
)
def test_spot_checks(key: str, reason: DeclineReason, severity: Severity) -> None:
    code = STRIPE.codes[key]
    assert code.reason is reason
    assert code.severity is severity


def test_lost_and_stolen_codes_are_hard_lost_or_stolen() -> None:
    named = [key for key in STRIPE.codes if "lost" in key or "stolen" in key]
    assert sorted(named) == ["lost_card", "stolen_card"]
    for key in named:
        code = STRIPE.codes[key]
        assert code.reason is DeclineReason.LOST_OR_STOLEN_CARD, key
        assert code.severity is Severity.HARD, key
        assert set(code.no_retry) == NEVER_RETRY, key


@pytest.mark.parametrize(
    "key",
    [
        "lost_card",
        "stolen_card",
        "pickup_card",
        "do_not_try_again",
        "revocation_of_authorization",
        "revocation_of_all_authorizations",
        "stop_payment_order",
        "invalid_account",
        "restricted_card",
    ],
)
def test_codes_the_networks_forbid_retrying(key: str) -> None:
    code = STRIPE.codes[key]
    assert set(code.no_retry) == NEVER_RETRY
    assert code.severity is Severity.HARD


def test_retry_bans_only_on_hard_codes() -> None:
    for key, code in STRIPE.codes.items():
        if code.no_retry:
            assert code.severity is Severity.HARD, key


def test_merchant_side_blocks_carry_no_network_ban() -> None:
    """Radar block lists and local payment methods never reach a card network."""
    assert not STRIPE.codes["merchant_blacklist"].no_retry
    for key in LOCAL_PAYMENT_METHOD_CODES:
        assert not STRIPE.codes[key].no_retry, key


def test_retryable_codes_are_soft() -> None:
    for key in [
        "approve_with_id",
        "reenter_transaction",
        "try_again_later",
        "processing_error",
        "issuer_not_available",
        "insufficient_funds",
        "mobile_device_authentication_required",
        "online_or_offline_pin_required",
    ]:
        assert STRIPE.codes[key].severity is Severity.SOFT, key


def test_local_payment_method_entries_say_so() -> None:
    for key in LOCAL_PAYMENT_METHOD_CODES:
        note = STRIPE.codes[key].note or ""
        assert "local payment method" in note.lower(), key


def test_stripes_own_fraud_verdict_is_hard_but_not_a_network_ban() -> None:
    code = STRIPE.codes["fraudulent"]
    assert code.severity is Severity.HARD
    assert code.no_retry == ()


R = DeclineReason
CUSTOMER, ISSUER, MERCHANT, PROCESSOR = (
    Fixer.CUSTOMER,
    Fixer.CARD_ISSUER,
    Fixer.MERCHANT,
    Fixer.PROCESSOR,
)

#: Rows of Stripe's page relied on, as data: code, Stripe's description and next step (shortened),
#: then what payhelp must answer (reason, automatic retry on a Visa card, on a Mastercard, who
#: fixes it, and a phrase the English customer text must hold).
ROWS = [
    ("invalid_account", "card or its account invalid; check with issuer", R.CARD_DECLINED, False, False, ISSUER, "Call the bank"),
    ("new_account_information_available", "card or its account invalid; check with issuer", R.EXPIRED_CARD, False, False, CUSTOMER, "new details for this card"),
    ("invalid_amount", "amount invalid or too large; ask the issuer if it looks right", R.NOT_PERMITTED, False, False, ISSUER, "ask the bank"),
    ("recurring_not_supported_by_bank", "bank does not support recurring; use another bank", R.NOT_PERMITTED, False, False, CUSTOMER, "recurring payments"),
    ("testmode_decline", "a Stripe test card was used", R.MERCHANT_CONFIGURATION, False, False, MERCHANT, "not with your card"),
    ("invalid_business_account", "the business account is deactivated", R.MERCHANT_CONFIGURATION, False, False, MERCHANT, "not with your card"),
    ("insufficient_funds", "insufficient funds; use another method", R.INSUFFICIENT_FUNDS, True, True, CUSTOMER, "not enough money"),
    ("approve_with_id", "payment can't be authorized; attempt again", R.CARD_DECLINED, True, True, ISSUER, "refused"),
    ("processing_error", "error while processing; try again", R.PROCESSING_ERROR, True, True, PROCESSOR, "technical fault"),
    ("try_again_later", "unknown reason (deprecated); try again", R.PROCESSING_ERROR, True, True, PROCESSOR, "technical fault"),
    ("do_not_try_again", "unknown reason (deprecated); contact issuer", R.CARD_DECLINED, False, False, ISSUER, "refused"),
    ("pickup_card", "can't use this card (maybe lost or stolen)", R.LOST_OR_STOLEN_CARD, False, False, CUSTOMER, "lost or stolen"),
    ("incorrect_cvc", "the CVC is incorrect; retry with the correct one", R.INCORRECT_CARD_DETAILS, False, False, CUSTOMER, "security code"),
]  # fmt: skip


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return Payhelp(load_entry_points=False)


@pytest.mark.parametrize(("key", "says", "reason", "visa", "mastercard", "fixer", "phrase"), ROWS)
def test_published_rows(
    ph: Payhelp,
    key: str,
    says: str,
    reason: DeclineReason,
    visa: bool,
    mastercard: bool,
    fixer: Fixer,
    phrase: str,
) -> None:
    on_visa = ph.explain_decline(key, "stripe", network="visa")
    on_mastercard = ph.explain_decline(key, "stripe", network="mastercard")
    for advice in (on_visa, on_mastercard):
        assert advice.known, key
        assert advice.reason is reason, (key, says)
        assert advice.fixer is fixer, (key, says)
        assert phrase.lower() in advice.customer_message.lower(), (key, advice.customer_message)
    assert on_visa.retry_allowed is visa, (key, says)
    assert on_mastercard.retry_allowed is mastercard, (key, says)


@pytest.mark.parametrize(
    ("key", "wrong"),
    [
        ("invalid_account", "lost or stolen"),
        ("new_account_information_available", "has expired"),
        ("invalid_amount", "on our side"),
    ],
)
def test_corrected_words(ph: Payhelp, key: str, wrong: str) -> None:
    for language in ("en", "it"):
        advice = ph.explain_decline(key, "stripe", language=language)
        assert wrong not in advice.customer_message
        assert advice.customer_message
    italian = ph.explain_decline(key, "stripe", language="it").customer_message
    english = ph.explain_decline(key, "stripe", language="en").customer_message
    assert italian != english, f"{key}: the Italian text is a translation, not the English"


def test_merchant_configuration_is_only_the_merchants_own_set_up() -> None:
    found = {key for key, code in STRIPE.codes.items() if code.reason is R.MERCHANT_CONFIGURATION}
    assert found == {"testmode_decline", "invalid_business_account"}
