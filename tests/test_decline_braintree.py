"""The Braintree table holds every processor response code Braintree's reference documents.

Expected values were read from Braintree's "Authorization responses" reference
(developer.paypal.com/braintree/docs/reference/general/processor-responses/authorization-responses).
"""

from __future__ import annotations

import pytest

from payhelp.policies.declines import DeclineReason, Network, Severity, builtin_schemes

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
        ("2107", "Card Not Activated", DeclineReason.INCORRECT_CARD_DETAILS, Severity.HARD),
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
