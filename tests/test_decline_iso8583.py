"""The ISO 8583 field 39 table and the card networks' retry caps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from payhelp import Payhelp
from payhelp.policies.declines import (
    DeclineReason,
    Fixer,
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

#: Generic ISO 8583 (1987) codes that the Visa and Mastercard tables leave out but switches and
#: acquirers publish (Vodacom Payment Gateway's appendix, 2c2p; French CB tables for 90 and 97-99).
GENERIC_CODES = {
    "09", "16", "17", "18", "20", "22", "23", "24", "26", "27", "29", "31", "32", "33", "34",
    "35", "36", "37", "38", "40", "42", "44", "56", "60", "66", "67", "68", "90", "95", "97",
    "98", "99",
}  # fmt: skip

APPROVALS = {"00", "08", "10", "11", "16", "32", "85", "87"}

R, H, S = DeclineReason, Severity.HARD, Severity.SOFT
CUSTOMER, ISSUER, MERCHANT, PROCESSOR = (
    Fixer.CUSTOMER,
    Fixer.CARD_ISSUER,
    Fixer.MERCHANT,
    Fixer.PROCESSOR,
)

#: The public rows relied on, as data: code, the source's label, the source, then what payhelp
#: must answer (reason, severity, retry on a Visa card, retry on a Mastercard, who fixes it).
#: "iso" is the ISO 8583 (1987) list as Vodacom Payment Gateway and 2c2p publish it; "cb" the
#: French CB tables (OSB/Lyra, Verifone via Lemonway); "visa-2" a Visa category 2 code (Worldpay,
#: Checkout.com, Cielo).
ROWS = [
    ("09", "Request in progress", "iso", R.PROCESSING_ERROR, S, False, False, PROCESSOR),
    ("16", "Approved, update track 3", "iso", R.APPROVED, None, False, False, CUSTOMER),
    ("17", "Customer cancellation", "iso", R.CARD_DECLINED, H, False, False, CUSTOMER),
    ("18", "Customer dispute", "iso", R.NOT_PERMITTED, H, False, False, CUSTOMER),
    ("20", "Invalid response", "iso", R.PROCESSING_ERROR, S, True, True, PROCESSOR),
    ("22", "Suspected malfunction", "iso", R.PROCESSING_ERROR, S, True, True, PROCESSOR),
    ("23", "Unacceptable transaction fee", "iso", R.MERCHANT_CONFIGURATION, H, False, False, MERCHANT),
    ("24", "File update not supported", "iso", R.PROCESSING_ERROR, H, False, False, PROCESSOR),
    ("26", "Duplicate record", "iso", R.PROCESSING_ERROR, H, False, False, PROCESSOR),
    ("27", "File update field edit error", "iso", R.PROCESSING_ERROR, H, False, False, PROCESSOR),
    ("29", "File update failed", "iso", R.PROCESSING_ERROR, H, False, False, PROCESSOR),
    ("31", "Bank not supported", "iso", R.MERCHANT_CONFIGURATION, H, False, False, MERCHANT),
    ("31", "Identifiant de l'acquéreur inconnu", "cb", R.MERCHANT_CONFIGURATION, H, False, False, MERCHANT),
    ("32", "Completed partially", "iso", R.APPROVED, None, False, False, CUSTOMER),
    ("33", "Expired card, pick up", "iso", R.EXPIRED_CARD, H, False, False, CUSTOMER),
    ("34", "Suspected fraud, pick up", "iso", R.SUSPECTED_FRAUD, H, False, False, ISSUER),
    ("35", "Contact acquirer, pick up", "iso", R.LOST_OR_STOLEN_CARD, H, False, False, CUSTOMER),
    ("36", "Restricted card, pick up", "iso", R.LOST_OR_STOLEN_CARD, H, False, False, CUSTOMER),
    ("37", "Call acquirer security, pick up", "iso", R.SUSPECTED_FRAUD, H, False, False, ISSUER),
    ("38", "PIN tries exceeded, pick-up", "iso", R.LOST_OR_STOLEN_CARD, H, False, False, CUSTOMER),
    ("40", "Function not supported", "iso", R.NOT_PERMITTED, H, False, False, CUSTOMER),
    ("42", "No universal account", "iso", R.NOT_PERMITTED, H, False, False, CUSTOMER),
    ("44", "No investment account", "iso", R.NOT_PERMITTED, H, False, False, CUSTOMER),
    ("56", "No card record", "iso", R.INCORRECT_CARD_DETAILS, H, False, False, CUSTOMER),
    ("60", "Contact acquirer", "iso", R.MERCHANT_CONFIGURATION, H, False, False, MERCHANT),
    ("66", "Call acquirer security", "iso", R.SUSPECTED_FRAUD, H, False, False, ISSUER),
    ("67", "Hard capture", "iso", R.LOST_OR_STOLEN_CARD, H, False, False, CUSTOMER),
    ("68", "Response received too late", "iso", R.PROCESSING_ERROR, S, True, True, PROCESSOR),
    ("90", "Cut-off in progress", "iso", R.PROCESSING_ERROR, S, True, True, PROCESSOR),
    ("95", "Reconcile error", "iso", R.PROCESSING_ERROR, H, False, False, PROCESSOR),
    ("97", "Échéance de la temporisation de surveillance globale", "cb", R.PROCESSING_ERROR, H, False, False, PROCESSOR),
    ("98", "Serveur indisponible routage réseau demandé à nouveau", "cb", R.PROCESSING_ERROR, S, True, True, PROCESSOR),
    ("99", "Incident domaine initiateur", "cb", R.PROCESSING_ERROR, H, False, False, PROCESSOR),
    # Visa category 2 ("issuer cannot approve at this time"): reattempts allowed within the cap;
    # the verdict for each says whether one is sensible.
    ("03", "Invalid merchant", "visa-2", R.NOT_PERMITTED, S, False, False, CUSTOMER),
    ("39", "No credit account", "visa-2", R.NOT_PERMITTED, S, False, False, CUSTOMER),
    ("52", "No checking account", "visa-2", R.NOT_PERMITTED, S, False, False, CUSTOMER),
    ("53", "No savings account", "visa-2", R.NOT_PERMITTED, S, False, False, CUSTOMER),
    ("59", "Suspected fraud", "visa-2", R.SUSPECTED_FRAUD, S, False, False, ISSUER),
    ("62", "Restricted card", "visa-2", R.NOT_PERMITTED, H, True, False, CUSTOMER),
    ("75", "Allowable number of PIN tries exceeded", "visa-2", R.INCORRECT_CARD_DETAILS, S, False, False, CUSTOMER),
    ("83", "Fraud/Security", "visa-2", R.SUSPECTED_FRAUD, S, False, False, ISSUER),
    ("93", "Transaction cannot be completed, violation of law", "visa-2", R.NOT_PERMITTED, H, False, False, CUSTOMER),
    ("N3", "Cash service not available", "visa-2", R.NOT_PERMITTED, S, False, False, CUSTOMER),
    ("5C", "Transaction not supported / blocked by issuer", "visa-2", R.NOT_PERMITTED, H, False, False, CUSTOMER),
    ("Z5", "Valid account, amount not supported", "visa-2", R.NOT_PERMITTED, S, False, False, ISSUER),
    ("51", "Insufficient funds", "visa-2", R.INSUFFICIENT_FUNDS, S, True, True, CUSTOMER),
    ("91", "Issuer or switch inoperative", "visa-2", R.PROCESSING_ERROR, S, True, True, PROCESSOR),
    # Pick-up and dead-card codes of the network tables, for comparison.
    ("04", "Pick up card", "iso", R.LOST_OR_STOLEN_CARD, H, False, False, CUSTOMER),
    ("41", "Lost card, pick-up", "iso", R.LOST_OR_STOLEN_CARD, H, False, False, CUSTOMER),
    ("13", "Invalid amount", "iso", R.PROCESSING_ERROR, H, False, False, ISSUER),
]  # fmt: skip

#: Pick-up and dead-card conditions: never charged again, on any network or none.
PICK_UP_OR_DEAD = {"04", "07", "33", "34", "35", "36", "37", "38", "41", "43", "56", "67"}


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return Payhelp(load_entry_points=False)


def test_exact_key_set():
    assert set(ISO.codes) == MASTERCARD_CODES | VISA_CODES | GENERIC_CODES
    assert not GENERIC_CODES & (MASTERCARD_CODES | VISA_CODES)
    assert len(ISO.codes) == 111


@pytest.mark.parametrize(
    ("code", "label", "source", "reason", "severity", "visa", "mastercard", "fixer"), ROWS
)
def test_published_rows(
    ph: Payhelp,
    code: str,
    label: str,
    source: str,
    reason: DeclineReason,
    severity: Severity | None,
    visa: bool,
    mastercard: bool,
    fixer: Fixer,
):
    entry = ISO.codes[code]
    if source == "visa-2":
        assert entry.visa_category == 2, code
    elif source in {"iso", "cb"} and code in GENERIC_CODES:
        assert entry.visa_category is None, code
        assert entry.note, f"{code}: a generic code says where it comes from"
    on_visa = ph.explain_decline(code, "iso8583", network="visa")
    on_mastercard = ph.explain_decline(code, "iso8583", network="mastercard")
    anywhere = ph.explain_decline(code, "iso8583")
    for advice in (on_visa, on_mastercard, anywhere):
        assert advice.known
        assert advice.reason is reason, (code, label)
        assert advice.severity is severity, (code, label)
        assert advice.fixer is fixer, (code, label)
    assert on_visa.retry_allowed is visa, (code, label)
    assert on_mastercard.retry_allowed is mastercard, (code, label)
    # Without the card's network the strictest network's verdict holds.
    assert anywhere.retry_allowed is (visa and mastercard), (code, label)
    if anywhere.retry_allowed:
        assert anywhere.retry_after is not None
        assert anywhere.retry_after >= timedelta(hours=1)


@pytest.mark.parametrize("code", sorted(PICK_UP_OR_DEAD))
def test_pick_up_and_dead_cards_are_never_charged_again(ph: Payhelp, code: str):
    entry = ISO.codes[code]
    assert entry.severity is Severity.HARD, code
    assert entry.retry is False or entry.reason in {
        DeclineReason.LOST_OR_STOLEN_CARD,
        DeclineReason.SUSPECTED_FRAUD,
    }, code
    for network in (None, "visa", "mastercard", "amex", "discover"):
        for category in (None, 2, 4):
            if category is not None and network not in (None, "visa"):
                continue
            advice = ph.explain_decline(code, "iso8583", network=network, visa_category=category)
            assert not advice.retry_allowed, (code, network, category)
        for mac in ("02", "24", "30"):
            if network not in (None, "mastercard"):
                continue
            advice = ph.explain_decline(code, "iso8583", network=network, advice_code=mac)
            assert not advice.retry_allowed, (code, network, mac)


@pytest.mark.parametrize("code", ["04", "35", "36", "38", "67"])
def test_pick_up_codes_tell_the_customer_the_card_was_withdrawn(ph: Payhelp, code: str):
    advice = ph.explain_decline(code, "iso8583")
    assert "withdrawn" in advice.customer_message
    assert "lost or stolen" not in advice.customer_message
    assert advice.contact.party is Fixer.CARD_ISSUER
    italian = ph.explain_decline(code, "iso8583", language="it")
    assert "ritirare" in italian.customer_message


def test_category_2_retry_decisions_carry_their_reason():
    decided = {"03", "39", "52", "53", "59", "62", "75", "83", "93", "N3", "5C", "Z5"}
    for code in decided:
        entry = ISO.codes[code]
        assert entry.visa_category == 2, code
        assert entry.retry is not None, f"{code}: the category 2 decision is recorded"
        assert entry.note is not None
        assert "retry = " in entry.note, f"{code}: the note says why"
    assert ISO.codes["62"].retry is True
    assert ISO.codes["62"].retry_after == timedelta(days=1)


def test_amount_codes_send_the_customer_to_the_bank(ph: Payhelp):
    for code in ("13", "Z5"):
        advice = ph.explain_decline(code, "iso8583")
        assert "amount" in advice.customer_message
        assert "technical fault" not in advice.customer_message
        assert advice.contact.party is Fixer.CARD_ISSUER


def test_merchant_side_codes_are_the_merchants_to_fix(ph: Payhelp):
    for code in ("23", "31", "58", "60", "B1", "N8"):
        advice = ph.explain_decline(code, "iso8583")
        assert advice.fixer is Fixer.MERCHANT, code
        assert advice.reason is DeclineReason.MERCHANT_CONFIGURATION, code
        assert "not with your card" in advice.customer_message, code


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
