"""Decline advice: every code of every table explained, retry rules that follow the networks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payhelp import Payhelp
from payhelp.errors import CardNumberError, InvalidInputError
from payhelp.i18n import LANGUAGES
from payhelp.policies.advice import REASONS, explain
from payhelp.policies.declines import (
    DeclineReason,
    Fixer,
    Network,
    Severity,
    builtin_retry_caps,
    builtin_schemes,
    parse_scheme,
)

R = DeclineReason
SCHEMES = {scheme.id: scheme for scheme in builtin_schemes()}
CAPS = tuple(builtin_retry_caps())
NETWORKS = [None, *Network]
EVERY_CODE = [(scheme.id, key) for scheme in SCHEMES.values() for key in scheme.codes]
NEVER_RETRIED = {R.LOST_OR_STOLEN_CARD, R.SUSPECTED_FRAUD, R.APPROVED, R.EXPIRED_CARD}


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return Payhelp(load_entry_points=False)


def test_every_reason_has_advice():
    assert set(REASONS) == set(DeclineReason)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("scheme_id", "code"), EVERY_CODE)
def test_every_code_of_every_table_is_explained(scheme_id: str, code: str, language):
    advice = explain(SCHEMES[scheme_id], code, language, caps=CAPS)
    assert advice.known
    assert advice.normalized_code == code
    assert advice.reason is SCHEMES[scheme_id].codes[code].reason
    for text in (advice.customer_message, advice.merchant_message, advice.retry_note):
        assert text
        assert "{" not in text, f"unfilled placeholder in {text!r}"
    assert len(advice.include) == 4


@settings(max_examples=400, deadline=None)
@given(pair=st.sampled_from(EVERY_CODE), network=st.sampled_from(NETWORKS))
def test_no_retry_after_a_decline_the_networks_forbid(pair, network):
    scheme_id, key = pair
    entry = SCHEMES[scheme_id].codes[key]
    advice = explain(SCHEMES[scheme_id], key, "en", network=network, caps=CAPS)
    if not advice.retry_allowed:
        assert advice.retry_caps == ()
        assert advice.retry_after is None
        return
    assert advice.reason not in NEVER_RETRIED
    # A hard label is lifted only by the source's own word that a reattempt may clear it.
    assert advice.severity is not Severity.HARD or entry.retry is True
    banned = set(entry.no_retry) | ({Network.VISA} if entry.visa_category == 1 else set())
    assert not banned or (network is not None and network not in banned)
    assert advice.retry_after is not None
    assert all(network is None or cap.network is network for cap in advice.retry_caps)


def test_an_unknown_network_is_judged_by_every_networks_rules():
    scheme = parse_scheme(
        {
            "id": "demo",
            "name": "Demo",
            "source": {"source": "test", "confidence": "single", "checked_on": "2026-11-22"},
            "codes": {
                "X1": {
                    "label": "soft but banned on Mastercard",
                    "reason": "card_declined",
                    "severity": "soft",
                    "no_retry": ["mastercard"],
                }
            },
        },
        "demo",
    )
    banned_on_mastercard = "X1"
    assert not explain(scheme, banned_on_mastercard, "en").retry_allowed
    assert "Mastercard" in explain(scheme, banned_on_mastercard, "en").retry_note
    assert not explain(scheme, banned_on_mastercard, "en", network=Network.MASTERCARD).retry_allowed
    assert explain(scheme, banned_on_mastercard, "en", network=Network.VISA).retry_allowed


def test_visa_category_1_is_never_retried_on_visa():
    scheme = SCHEMES["iso8583"]
    for key, code in scheme.codes.items():
        if code.visa_category == 1:
            advice = explain(scheme, key, "en", network=Network.VISA)
            assert not advice.retry_allowed, key


# -- the five errors of the subscription-failure document --------------------------------------


@pytest.mark.parametrize(
    ("scheme", "code", "reason", "phrases"),
    [
        ("braintree", "2000", R.CARD_DECLINED, ["back of your card", "another card", "PayPal"]),
        ("braintree", "2004", R.EXPIRED_CARD, ["still valid"]),
        ("braintree", "2001", R.INSUFFICIENT_FUNDS, ["Top it up", "wait 12 hours"]),
        ("iso8583", "41", R.LOST_OR_STOLEN_CARD, ["another card", "call your bank"]),
        ("braintree", "2059", R.AVS_MISMATCH, ["exactly as they appear on your bank statement"]),
    ],
)
def test_the_source_documents_five_errors_read_as_it_advises(scheme, code, reason, phrases, ph):
    advice = ph.explain_decline(code, scheme, language="en")
    assert advice.reason is reason
    for phrase in phrases:
        assert phrase in advice.customer_message


def test_the_advice_exists_in_italian(ph):
    advice = ph.explain_decline("2001", "braintree", language="it")
    assert advice.customer_message.startswith("Sulla carta non c'erano fondi sufficienti")
    assert "12 ore" in advice.customer_message
    assert advice.language == "it"


def test_who_fixes_and_whom_to_contact(ph):
    declined = ph.explain_decline("05", "iso8583")
    assert declined.fixer is Fixer.CARD_ISSUER
    assert declined.contact.party is Fixer.CARD_ISSUER
    assert declined.contact.channel_kind is not None
    assert declined.contact.channel_kind.value == "phone"
    avs = ph.explain_decline("incorrect_zip", "stripe")
    assert avs.fixer is Fixer.CUSTOMER
    assert avs.contact.party is None
    assert not avs.retry_allowed


def test_a_processor_and_country_add_the_processors_channel():
    ph = Payhelp()
    advice = ph.explain_decline("3000", "braintree", processor="segpay", country="IT")
    assert advice.contact.party is Fixer.MERCHANT
    assert advice.contact.channel is not None
    assert advice.contact.channel.key == ph.contacts("segpay", "IT").channels[0].key


# -- unknown codes and bad input ----------------------------------------------------------------


def test_an_unknown_code_is_unknown_not_an_error(ph):
    advice = ph.explain_decline(" 9999 ", "braintree")
    assert advice.reason is R.UNKNOWN
    assert not advice.known
    assert advice.code == "9999"
    assert advice.severity is None
    assert "not in the Braintree processor responses table" in advice.label


@pytest.mark.parametrize("pasted", ["4111111111111111", "4111 1111 1111 1111"])
def test_a_pasted_card_number_is_refused_without_echo(ph, pasted):
    # A code field is never meant for a card number: refused before anything keeps it.
    with pytest.raises(CardNumberError) as caught:
        ph.explain_decline(pasted, "stripe")
    assert "4111" not in str(caught.value)


@pytest.mark.parametrize("code", ["05\udcff", "0\x005", "05\n"])
def test_codes_that_are_not_text_are_refused(code, ph):
    with pytest.raises(InvalidInputError, match="decline code"):
        ph.explain_decline(code, "stripe")


@pytest.mark.parametrize("code", ["", "   ", "x" * 65])
def test_empty_or_overlong_codes_are_refused(code, ph):
    with pytest.raises(InvalidInputError, match="decline code"):
        ph.explain_decline(code, "stripe")


def test_unknown_scheme_and_network_are_refused(ph):
    with pytest.raises(InvalidInputError, match=r"known: braintree, iso8583, stripe"):
        ph.explain_decline("05", "visa")
    with pytest.raises(InvalidInputError, match="unknown card network"):
        ph.explain_decline("05", "iso8583", network="diners")


def test_codes_are_normalised_as_people_paste_them(ph):
    assert ph.explain_decline("5", "iso8583").normalized_code == "05"
    assert ph.explain_decline("n7", "iso8583").reason is R.INCORRECT_CARD_DETAILS
    assert ph.explain_decline("2001 Insufficient Funds", "braintree").known
    assert ph.explain_decline("Lost_Card", "STRIPE").reason is R.LOST_OR_STOLEN_CARD


def test_caps_reported_for_the_given_network_only(ph):
    anywhere = ph.explain_decline("2001", "braintree")
    assert {cap.network for cap in anywhere.retry_caps} >= {Network.VISA, Network.MASTERCARD}
    visa = ph.explain_decline("2001", "braintree", network="visa")
    assert {cap.network for cap in visa.retry_caps} == {Network.VISA}
