"""The ISO 8583 field 39 table and the card networks' retry caps."""

from __future__ import annotations

import pytest

from payhelp.policies.declines import (
    DeclineReason,
    Network,
    Severity,
    builtin_retry_caps,
    builtin_schemes,
)

ISO = next(scheme for scheme in builtin_schemes() if scheme.id == "iso8583")
CAPS = {cap.network.value: cap for cap in builtin_retry_caps()}

#: Mastercard's DE 39 table as acquirers publish it (Worldpay, Kushki).
MASTERCARD_CODES = {
    "00", "01", "03", "04", "05", "08", "10", "12", "13", "14", "15", "30", "41", "43", "51",
    "54", "55", "57", "58", "61", "62", "63", "65", "70", "71", "75", "76", "77", "78", "79",
    "81", "82", "83", "84", "85", "86", "87", "88", "89", "91", "92", "94", "96",
}  # fmt: skip

#: Visa's table as acquirers publish it (Worldpay, Kushki), plus the codes Visa's category lists
#: added since (5C and 9G from April 2025, Z5).
VISA_CODES = {
    "00", "01", "02", "03", "04", "05", "06", "07", "10", "11", "12", "13", "14", "15", "19",
    "21", "25", "28", "39", "41", "43", "46", "51", "52", "53", "54", "55", "57", "58", "59",
    "61", "62", "63", "64", "65", "70", "74", "75", "76", "78", "79", "80", "81", "82", "85",
    "86", "91", "92", "93", "94", "96", "1A", "6P", "B1", "N0", "N3", "N4", "N7", "N8", "P5",
    "P6", "Q1", "R0", "R1", "R2", "R3", "Z3", "5C", "9G", "Z5",
}  # fmt: skip

#: Visa's category 1 ("issuer will never approve") as the current lists give it.
VISA_CATEGORY_1 = {"04", "07", "12", "14", "15", "41", "43", "46", "57", "R0", "R1", "R3"}
#: Visa's category 2 ("issuer cannot approve at this time").
VISA_CATEGORY_2 = {
    "03", "19", "39", "51", "52", "53", "59", "61", "62", "65", "75", "78", "83", "86", "91",
    "93", "96", "N3", "N4", "5C", "9G", "Z5",
}  # fmt: skip
#: Visa's category 3 ("data quality: fix the details, then retry").
VISA_CATEGORY_3 = {"54", "55", "63", "70", "82", "1A", "6P", "N7"}

#: Codes acquirers report Mastercard forbids reattempting with the same card details.
MASTERCARD_NO_RETRY = {"04", "14", "15", "41", "43", "54", "57", "62"}

APPROVALS = {"00", "08", "10", "11", "85", "87"}


def test_exact_key_set():
    assert set(ISO.codes) == MASTERCARD_CODES | VISA_CODES
    assert len(ISO.codes) == 79


def test_keys_are_two_upper_case_characters():
    for key in ISO.codes:
        assert len(key) == 2, key
        assert key == key.upper(), key


@pytest.mark.parametrize(
    ("raw", "key"), [("5", "05"), (" 51 ", "51"), ("n7", "N7"), ("1a", "1A"), ("r0", "R0")]
)
def test_lookup_normalises_input(raw: str, key: str):
    assert ISO.key(raw) == key
    assert ISO.find(raw) is ISO.codes[key]


def test_do_not_honor_is_a_generic_decline():
    code = ISO.codes["05"]
    assert code.reason is DeclineReason.CARD_DECLINED
    assert code.severity is Severity.SOFT
    assert code.visa_category is None  # Visa counts it as generic (category 4)
    assert not code.no_retry


def test_invalid_card_number():
    code = ISO.codes["14"]
    assert code.reason is DeclineReason.INCORRECT_CARD_DETAILS
    assert code.visa_category == 1
    assert set(code.no_retry) == {Network.VISA, Network.MASTERCARD}


@pytest.mark.parametrize("key", ["41", "43"])
def test_lost_and_stolen_cards_are_never_retried(key: str):
    code = ISO.codes[key]
    assert code.reason is DeclineReason.LOST_OR_STOLEN_CARD
    assert code.severity is Severity.HARD
    assert code.visa_category == 1
    assert set(code.no_retry) == {Network.VISA, Network.MASTERCARD}


def test_insufficient_funds():
    code = ISO.codes["51"]
    assert code.reason is DeclineReason.INSUFFICIENT_FUNDS
    assert code.severity is Severity.SOFT
    assert code.visa_category == 2
    assert not code.no_retry


def test_expired_card():
    code = ISO.codes["54"]
    assert code.reason is DeclineReason.EXPIRED_CARD
    assert code.visa_category == 3
    assert Network.MASTERCARD in code.no_retry


def test_cvv2_failure_and_authentication():
    assert ISO.codes["N7"].reason is DeclineReason.INCORRECT_CARD_DETAILS
    assert ISO.codes["N7"].visa_category == 3
    assert ISO.codes["1A"].reason is DeclineReason.AUTHENTICATION_REQUIRED
    assert ISO.codes["1A"].visa_category == 3


@pytest.mark.parametrize("key", ["R0", "R1", "R3"])
def test_stop_payment_orders(key: str):
    code = ISO.codes[key]
    assert code.visa_category == 1
    assert Network.VISA in code.no_retry


def test_approvals():
    approved = {key for key, code in ISO.codes.items() if code.reason is DeclineReason.APPROVED}
    assert approved == APPROVALS
    for key in APPROVALS:
        code = ISO.codes[key]
        assert code.severity is None, key
        assert code.visa_category is None, key
        assert not code.no_retry, key


def test_visa_categories_match_the_sources():
    for category, expected in ((1, VISA_CATEGORY_1), (2, VISA_CATEGORY_2), (3, VISA_CATEGORY_3)):
        found = {key for key, code in ISO.codes.items() if code.visa_category == category}
        assert found == expected, category


def test_every_visa_category_1_code_bans_visa_retries():
    for key, code in ISO.codes.items():
        if code.visa_category == 1:
            assert Network.VISA in code.no_retry, key
        else:
            assert Network.VISA not in code.no_retry, key


def test_mastercard_no_retry_codes():
    found = {key for key, code in ISO.codes.items() if Network.MASTERCARD in code.no_retry}
    assert found == MASTERCARD_NO_RETRY
    assert found <= MASTERCARD_CODES


def test_every_decline_has_a_severity_and_no_unknown_reason():
    for key, code in ISO.codes.items():
        assert code.reason is not DeclineReason.UNKNOWN, key
        if code.reason is not DeclineReason.APPROVED:
            assert code.severity is not None, key


def test_source_is_recorded():
    assert ISO.source.url is not None
    assert ISO.source.confidence.value == "secondary"
    assert str(ISO.source.checked_on) == "2026-11-22"


def test_retry_caps_for_visa_and_mastercard():
    assert set(CAPS) >= {"visa", "mastercard"}
    visa, mastercard = CAPS["visa"], CAPS["mastercard"]
    assert (visa.max_retries, visa.window_days) == (15, 30)
    assert (mastercard.max_retries, mastercard.window_days) == (35, 30)
    for cap in (visa, mastercard):
        assert cap.source.url is not None
        assert cap.source.note
        assert str(cap.source.checked_on) == "2026-11-22"


def test_one_cap_per_network():
    networks = [cap.network for cap in builtin_retry_caps()]
    assert len(networks) == len(set(networks))
