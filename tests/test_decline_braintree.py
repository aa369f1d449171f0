"""The Braintree table holds every processor response code Braintree's reference documents.

Expected values were read from Braintree's "Authorization responses" reference
(developer.paypal.com/braintree/docs/reference/general/processor-responses/authorization-responses).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from payhelp import Payhelp
from payhelp.policies.advice import REASONS
from payhelp.policies.declines import DeclineReason, Fixer, Network, Severity, builtin_schemes

BRAINTREE = next(scheme for scheme in builtin_schemes() if scheme.id == "braintree")

#: Every single-code row of the reference: approvals, 2000-2108 and the network code. The page's
#: range row "2109-2999 Processor Declined" is a [[ranges]] entry, not a key.
DOCUMENTED = (
    {f"{code}" for code in range(1000, 1006)} | {f"{code}" for code in range(2000, 2109)} | {"3000"}
)

#: The codes after which the reference says Mastercard prohibits a retry.
MASTERCARD_NO_RETRY = {"2009", "2012", "2019", "2022", "2047", "2053"}

#: Codes whose "Type" column says Soft (every other decline is Hard).
SOFT = {
    "2000", "2001", "2002", "2003", "2016", "2025", "2026", "2034", "2035", "2038", "2040",
    "2042", "2046", "2048", "2057", "2062", "2078", "2080", "2092", "2099", "2101", "2102",
    "2103", "2104", "2105", "2106", "3000",
}  # fmt: skip


def test_the_table_has_exactly_the_documented_codes():
    assert set(BRAINTREE.codes) == DOCUMENTED
    assert len(BRAINTREE.codes) == 116


def test_approvals_are_the_1000_class_and_nothing_else():
    approved = {
        key for key, code in BRAINTREE.codes.items() if code.reason is DeclineReason.APPROVED
    }
    assert approved == {"1000", "1001", "1002", "1003", "1004", "1005"}
    for key in approved:
        code = BRAINTREE.codes[key]
        assert code.severity is None
        assert code.no_retry == ()


def test_every_decline_has_the_documented_type():
    for key, code in BRAINTREE.codes.items():
        if key.startswith("1"):
            continue
        expected = Severity.SOFT if key in SOFT else Severity.HARD
        assert code.severity is expected, key


def test_the_mastercard_no_retry_set_is_exactly_the_documented_one():
    banned = {key for key, code in BRAINTREE.codes.items() if Network.MASTERCARD in code.no_retry}
    assert banned == MASTERCARD_NO_RETRY
    others = {
        key for key, code in BRAINTREE.codes.items() if set(code.no_retry) - {Network.MASTERCARD}
    }
    assert others == set()


def test_no_listed_code_is_unknown_and_labels_are_plain():
    for key, code in BRAINTREE.codes.items():
        assert code.reason is not DeclineReason.UNKNOWN, key
        assert "\u2013" not in code.label, f"{key}: write the API's hyphen, not an en dash"
        assert not code.label.endswith("."), key


@pytest.mark.parametrize(
    ("key", "label", "reason", "severity"),
    [
        ("1000", "Approved", DeclineReason.APPROVED, None),
        ("2000", "Do Not Honor", DeclineReason.CARD_DECLINED, Severity.SOFT),
        ("2001", "Insufficient Funds", DeclineReason.INSUFFICIENT_FUNDS, Severity.SOFT),
        ("2002", "Limit Exceeded", DeclineReason.LIMIT_EXCEEDED, Severity.SOFT),
        ("2004", "Expired Card", DeclineReason.EXPIRED_CARD, Severity.HARD),
        ("2005", "Invalid Credit Card Number", DeclineReason.INCORRECT_CARD_DETAILS, Severity.HARD),
        ("2010", "Card Issuer Declined CVV", DeclineReason.INCORRECT_CARD_DETAILS, Severity.HARD),
        (
            "2012",
            "Processor Declined - Possible Lost Card",
            DeclineReason.LOST_OR_STOLEN_CARD,
            Severity.HARD,
        ),
        (
            "2014",
            "Processor Declined - Fraud Suspected",
            DeclineReason.SUSPECTED_FRAUD,
            Severity.HARD,
        ),
        ("2015", "Transaction Not Allowed", DeclineReason.NOT_PERMITTED, Severity.HARD),
        ("2016", "Duplicate Transaction", DeclineReason.DUPLICATE_TRANSACTION, Severity.SOFT),
        ("2024", "Card Type Not Enabled", DeclineReason.MERCHANT_CONFIGURATION, Severity.HARD),
        ("2038", "Processor Declined", DeclineReason.CARD_DECLINED, Severity.SOFT),
        ("2044", "Declined - Call Issuer", DeclineReason.CARD_DECLINED, Severity.HARD),
        (
            "2053",
            "Card reported as lost or stolen",
            DeclineReason.LOST_OR_STOLEN_CARD,
            Severity.HARD,
        ),
        ("2059", "Address Verification Failed", DeclineReason.AVS_MISMATCH, Severity.HARD),
        (
            "2099",
            "Cardholder Authentication Required",
            DeclineReason.AUTHENTICATION_REQUIRED,
            Severity.SOFT,
        ),
        ("2107", "Card Not Activated", DeclineReason.CARD_DECLINED, Severity.HARD),
        ("2108", "Closed Card", DeclineReason.LOST_OR_STOLEN_CARD, Severity.HARD),
        (
            "3000",
            "Processor Network Unavailable - Try Again",
            DeclineReason.PROCESSING_ERROR,
            Severity.SOFT,
        ),
    ],
)
def test_spot_checks(key: str, label: str, reason: DeclineReason, severity: Severity | None):
    code = BRAINTREE.codes[key]
    assert code.label == label
    assert code.reason is reason
    assert code.severity is severity


def test_2053_is_banned_from_retry_on_mastercard_only():
    assert BRAINTREE.codes["2053"].no_retry == (Network.MASTERCARD,)
    assert BRAINTREE.codes["2001"].no_retry == ()


def test_pasted_processor_responses_find_their_code():
    assert BRAINTREE.find("2059 Address Verification Failed") is BRAINTREE.codes["2059"]
    assert BRAINTREE.find(" 2108 : Closed Card") is BRAINTREE.codes["2108"]


def test_the_2109_to_2999_row_covers_every_code_in_it():
    for raw in ("2109", "2150 Processor Declined", "2999"):
        found = BRAINTREE.find(raw)
        assert found is not None, raw
        assert found.reason is DeclineReason.CARD_DECLINED
        assert found.severity is Severity.SOFT
    assert BRAINTREE.find("2108") is BRAINTREE.codes["2108"]  # a listed code wins over the row
    assert BRAINTREE.find("3001") is None
    assert BRAINTREE.find("1999") is None


R = DeclineReason
CUSTOMER, ISSUER, MERCHANT, PROCESSOR = (
    Fixer.CUSTOMER,
    Fixer.CARD_ISSUER,
    Fixer.MERCHANT,
    Fixer.PROCESSOR,
)

#: Rows of the reference relied on for the retry verdict, as data: code, the page's text and
#: Type, what its "Implications" column says about another attempt, then what payhelp must answer
#: (reason, automatic retry on a Visa card, on a Mastercard, and who fixes it).
ROWS = [
    ("2000", "Do Not Honor", "Soft", "contact bank", R.CARD_DECLINED, True, True, ISSUER),
    ("2001", "Insufficient Funds", "Soft", "later attempts may succeed", R.INSUFFICIENT_FUNDS, True, True, CUSTOMER),
    ("2016", "Duplicate Transaction", "Soft", "declined to avoid charging twice", R.DUPLICATE_TRANSACTION, False, False, MERCHANT),
    ("2025", "Set Up Error - Merchant", "Soft", "connectivity or setup; contact us", R.MERCHANT_CONFIGURATION, True, True, MERCHANT),
    ("2026", "Invalid Merchant ID", "Soft", "card does not support this transaction", R.NOT_PERMITTED, False, False, CUSTOMER),
    ("2034", "No Action Taken", "Soft", "attempt the transaction again", R.PROCESSING_ERROR, True, True, PROCESSOR),
    ("2035", "Partial Approval For Amount In Group III Version", "Soft", "attempt again", R.CARD_DECLINED, True, True, ISSUER),
    ("2038", "Processor Declined", "Soft", "contact bank", R.CARD_DECLINED, True, True, ISSUER),
    ("2040", "Invalid Store", "Soft", "attempt again; if it persists contact us", R.MERCHANT_CONFIGURATION, True, True, MERCHANT),
    ("2042", "Invalid Client ID", "Soft", "attempt again; if it persists contact us", R.MERCHANT_CONFIGURATION, True, True, MERCHANT),
    ("2046", "Declined", "Soft", "contact bank or PayPal", R.CARD_DECLINED, True, True, ISSUER),
    ("2048", "Invalid Amount", "Soft", "make sure the amount is valid", R.MERCHANT_CONFIGURATION, False, False, MERCHANT),
    ("2057", "Issuer or Cardholder has put a restriction on the card", "Soft", "contact issuing bank", R.NOT_PERMITTED, True, True, CUSTOMER),
    ("2062", "Invalid Tax Amount", "Soft", "attempt again", R.CARD_DECLINED, True, True, ISSUER),
    ("2078", "Invalid Secure Payment Data", "Soft", "PIN cryptographic error", R.PROCESSING_ERROR, True, True, PROCESSOR),
    ("2080", "Invalid user credentials", "Soft", "invalid user credentials", R.MERCHANT_CONFIGURATION, False, False, MERCHANT),
    ("2092", "No Data Found - Try Another Verification Method", "Soft", "try a different method", R.PROCESSING_ERROR, False, False, PROCESSOR),
    ("2099", "Cardholder Authentication Required", "Soft", "authenticate with 3D Secure first", R.AUTHENTICATION_REQUIRED, False, False, CUSTOMER),
    ("2101", "Additional authorization required", "Soft", "insert the chip", R.AUTHENTICATION_REQUIRED, False, False, CUSTOMER),
    ("2102", "Incorrect PIN", "Soft", "PIN was wrong", R.INCORRECT_CARD_DETAILS, False, False, CUSTOMER),
    ("2103", "PIN try exceeded", "Soft", "PIN tries exceeded", R.INCORRECT_CARD_DETAILS, False, False, CUSTOMER),
    ("2104", "Offline Issuer Declined", "Soft", "contact bank", R.CARD_DECLINED, True, True, ISSUER),
    ("2105", "Cannot Authorize at this time (Life cycle)", "Soft", "try again later", R.CARD_DECLINED, True, True, ISSUER),
    ("2106", "Cannot Authorize at this time (Policy)", "Soft", "try again later", R.NOT_PERMITTED, True, True, CUSTOMER),
    ("3000", "Processor Network Unavailable - Try Again", "Soft", "attempt again", R.PROCESSING_ERROR, True, True, PROCESSOR),
    ("2044", "Declined - Call Issuer", "Hard", "customer attempts again, then calls bank", R.CARD_DECLINED, False, False, ISSUER),
    ("2047", "Call Issuer. Pick Up Card", "Hard", "obtain a different payment method", R.LOST_OR_STOLEN_CARD, False, False, CUSTOMER),
    ("2107", "Card Not Activated", "Hard", "card not properly unblocked", R.CARD_DECLINED, False, False, CUSTOMER),
    ("2108", "Closed Card", "Hard", "do not reattempt with the same PAN or token", R.LOST_OR_STOLEN_CARD, False, False, CUSTOMER),
    ("2023", "Processor Does Not Support This Feature", "Hard", "your account can't process this feature", R.MERCHANT_CONFIGURATION, False, False, MERCHANT),
    ("2045", "Invalid Merchant Number", "Hard", "setup issue with your account", R.MERCHANT_CONFIGURATION, False, False, MERCHANT),
    ("2027", "Set Up Error - Amount", "Hard", "customer contacts bank", R.PROCESSING_ERROR, False, False, ISSUER),
]  # fmt: skip


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return Payhelp(load_entry_points=False)


@pytest.mark.parametrize(
    ("key", "label", "type_", "implication", "reason", "visa", "mastercard", "fixer"), ROWS
)
def test_published_rows(
    ph: Payhelp,
    key: str,
    label: str,
    type_: str,
    implication: str,
    reason: DeclineReason,
    visa: bool,
    mastercard: bool,
    fixer: Fixer,
):
    assert BRAINTREE.codes[key].label == label
    severity = Severity.SOFT if type_ == "Soft" else Severity.HARD
    on_visa = ph.explain_decline(key, "braintree", network="visa")
    on_mastercard = ph.explain_decline(key, "braintree", network="mastercard")
    for advice in (on_visa, on_mastercard):
        assert advice.reason is reason, (key, implication)
        assert advice.severity is severity, (key, implication)
        assert advice.fixer is fixer, (key, implication)
    assert on_visa.retry_allowed is visa, (key, implication)
    assert on_mastercard.retry_allowed is mastercard, (key, implication)
    if on_visa.retry_allowed:
        assert on_visa.retry_after is not None
        assert on_visa.retry_after >= timedelta(hours=1)


def test_every_soft_code_has_a_decided_retry_verdict():
    """A soft code either follows its reason's default or states the page's word, never both
    silently: a soft code with a non-retrying reason carries retry = true or false."""
    for key, code in BRAINTREE.codes.items():
        if code.severity is not Severity.SOFT:
            continue
        fix_first = code.reason in {
            R.AVS_MISMATCH,
            R.INCORRECT_CARD_DETAILS,
            R.AUTHENTICATION_REQUIRED,
        }
        if not REASONS[code.reason].retry and not fix_first:
            assert code.retry is not None, f"{key}: a soft code the reason would not retry"
        if code.retry is not None:
            assert code.note is not None
            assert f"retry = {str(code.retry).lower()}" in code.note, key


def test_a_restricted_card_waits_a_day(ph: Payhelp):
    advice = ph.explain_decline("2057", "braintree", network="visa")
    assert advice.retry_allowed
    assert advice.retry_after == timedelta(days=1)


def test_card_not_activated_says_to_activate_it(ph: Payhelp):
    advice = ph.explain_decline("2107", "braintree")
    assert "activate" in advice.customer_message.lower()
    assert "security code" not in advice.customer_message
    assert advice.contact.party is Fixer.CARD_ISSUER
    assert not advice.retry_allowed
    italian = ph.explain_decline("2107", "braintree", language="it")
    assert "attivata" in italian.customer_message


def test_merchant_set_up_codes_never_ask_the_customer_to_fix_them(ph: Payhelp):
    merchant_only = {
        "2023", "2024", "2025", "2028", "2030", "2031", "2040", "2042", "2045", "2048", "2049",
        "2052", "2055", "2056", "2058", "2063", "2064", "2066", "2068", "2079", "2080", "2081",
        "2085", "2087", "2088", "2089", "2090", "2091", "2094", "2100",
    }  # fmt: skip
    found = {
        key
        for key, code in BRAINTREE.codes.items()
        if code.reason is DeclineReason.MERCHANT_CONFIGURATION
    }
    assert found == merchant_only
    for key in merchant_only:
        advice = ph.explain_decline(key, "braintree")
        assert advice.fixer is Fixer.MERCHANT, key
        assert "not with your card" in advice.customer_message, key
