"""SegPay: phone first in the US, email first elsewhere, languages, routing, honest capabilities."""

from __future__ import annotations

import pytest

from payhelp import ChannelKind, Confidence, IdKind, Payhelp

GENERAL_WARNING = (
    "SegPay's general number is not free: calling it may cost you money. Email costs nothing."
)


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return Payhelp(load_plugins=["segpay"])


def keys(ph: Payhelp, country: str) -> list[str]:
    return [c.key for c in ph.contacts("segpay", country).channels]


def test_registers_cleanly(ph: Payhelp) -> None:
    assert [p.id for p in ph.processors()] == ["segpay"]
    assert [r.error for r in ph.plugins()] == [None, None]
    assert ph.processor("segpay").name == "SegPay"


def test_us_customers_call_first_toll_free(ph: Payhelp) -> None:
    plan = ph.contacts("segpay", "US")
    assert [(c.kind, c.key) for c in plan.channels] == [
        (ChannelKind.PHONE, "phone_us"),
        (ChannelKind.LOOKUP_PAGE, "lookup"),
        (ChannelKind.EMAIL, "email"),
        (ChannelKind.LIVE_CHAT, "chat"),
    ]
    phone = plan.channels[0]
    assert phone.e164 == "+18883760948"
    assert phone.value == "1 (888) 376-0948"
    assert phone.toll_free is True
    assert phone.charges_may_apply is False
    assert plan.warnings == ()


@pytest.mark.parametrize("country", ["CA", "IT", "DE", "GB", "JP", "BR"])
def test_everyone_else_writes_first_and_calls_last_with_a_warning(
    ph: Payhelp, country: str
) -> None:
    plan = ph.contacts("segpay", country)
    assert [(c.kind, c.key) for c in plan.channels] == [
        (ChannelKind.EMAIL, "email"),
        (ChannelKind.LOOKUP_PAGE, "lookup"),
        (ChannelKind.LIVE_CHAT, "chat"),
        (ChannelKind.PHONE, "phone"),
    ]
    phone = plan.channels[3]
    assert phone.e164 == "+19544141610"
    assert phone.toll_free is False
    assert phone.charges_may_apply is True
    assert plan.warnings == (GENERAL_WARNING,)


def test_the_toll_free_number_is_for_the_us_only(ph: Payhelp) -> None:
    directory = ph.directory("segpay")
    assert directory.channels["phone_us"].toll_free_in == ("US",)
    for country in ["CA", "MX", "GB"]:
        assert "phone_us" not in keys(ph, country)
    assert "phone" not in keys(ph, "US")


def test_phone_is_written_the_way_the_caller_dials_it(ph: Payhelp) -> None:
    assert ph.contacts("segpay", "IT").channels[3].value == "00 1 954-414-1610"
    assert ph.contacts("segpay", "JP").channels[3].value == "010 1 954-414-1610"
    assert ph.contacts("segpay", "CA").channels[3].value == "1 (954) 414-1610"


def test_lookup_and_chat_are_on_the_customer_service_site(ph: Payhelp) -> None:
    plan = ph.contacts("segpay", "GB")
    assert plan.channels[1].value == "https://cs.segpay.com/"
    assert plan.channels[2].value == "https://cs.segpay.com/"
    chat = ph.directory("segpay").channels["chat"]
    assert chat.provenance[0].confidence is Confidence.OFFICIAL


def test_include_asks_for_receipts_transaction_numbers_and_a_brief_description(
    ph: Payhelp,
) -> None:
    assert ph.contacts("segpay", "DE").include == (
        "The receipts for the payment, attached to your message",
        "The transaction numbers (SegPay's transaction id and purchase id)",
        "A clear, brief description of the problem",
        "The date and amount of the charge",
    )


def test_italian_plan_is_fully_translated(ph: Payhelp) -> None:
    for country in ["US", "IT"]:
        english = ph.contacts("segpay", country, language="en")
        italian = ph.contacts("segpay", country, language="it")
        for en, it in zip(english.channels, italian.channels, strict=True):
            assert en.reason != it.reason
        assert set(english.include).isdisjoint(italian.include)
        assert set(english.warnings).isdisjoint(italian.warnings)
    italian = ph.contacts("segpay", "IT", language="it")
    assert italian.include[0] == "Le ricevute del pagamento, allegate al messaggio"
    assert "non è gratuito" in italian.warnings[0]


def test_every_channel_is_sourced(ph: Payhelp) -> None:
    for channel in ph.directory("segpay").channels.values():
        assert channel.provenance
    phones = [c for c in ph.directory("segpay").channels.values() if c.kind is ChannelKind.PHONE]
    assert {p.provenance[0].confidence for p in phones} == {Confidence.SINGLE}


def test_descriptor_routes_to_segpay(ph: Payhelp) -> None:
    decision = ph.route(descriptor="SEGPAY.COM*FLRT Inc", country="US")
    assert decision.processor == "segpay"
    assert decision.candidates[0].reasons[0] == "statement descriptor contains 'SEGPAY'"


def test_ids_rank_segpay_first_but_a_bare_number_alone_does_not_decide(ph: Payhelp) -> None:
    by_transaction = ph.route(transaction_id="139630889")
    assert by_transaction.processor is None
    assert by_transaction.candidates[0].processor == "segpay"
    by_purchase = ph.route(references={IdKind.PURCHASE: "83476992"})
    assert (
        "purchase id has the shape of the SegPay purchase id" in by_purchase.candidates[0].reasons
    )
    # With the statement word as well, the id confirms it.
    both = ph.route(transaction_id="139630889", descriptor="SEGPAY.COM*FLRT Inc")
    assert both.processor == "segpay"
    assert both.candidates[0].reasons[:2] == (
        "transaction id has the shape of the SegPay transaction id",
        "statement descriptor contains 'SEGPAY'",
    )


def no_shape(decision) -> bool:
    return not any("id has the shape" in r for c in decision.candidates for r in c.reasons)


def test_ids_outside_the_widened_range_are_no_evidence(ph: Payhelp) -> None:
    assert no_shape(ph.route(transaction_id="12345"))  # 5 digits
    assert no_shape(ph.route(transaction_id="1234567890123"))  # 13 digits


def test_id_formats_say_the_range_rests_on_one_sample(ph: Payhelp) -> None:
    formats = ph.processor("segpay").id_formats
    assert [(f.kind, f.example, f.min_length, f.max_length) for f in formats] == [
        (IdKind.TRANSACTION, "139630889", 6, 12),
        (IdKind.PURCHASE, "83476992", 6, 12),
    ]
    for fmt in formats:
        assert fmt.provenance[0].note is not None
        assert "single sample" in fmt.provenance[0].note


def test_a_nine_digit_id_is_ambiguous_next_to_epoch_until_the_descriptor_says_segpay() -> None:
    both = Payhelp(load_plugins=["epoch", "segpay"])
    assert both.route(transaction_id="139630889").processor is None
    settled = both.route(transaction_id="139630889", descriptor="SEGPAY.COM*FLRT Inc")
    assert settled.processor == "segpay"


def test_capabilities_are_honest(ph: Payhelp) -> None:
    caps = ph.processor("segpay").capabilities
    # Email submission comes from payhelp's core (SegPay has a support address); API lookup and
    # submission from the SRS adapter.
    assert caps.model_dump() == {
        "api_lookup": True,
        "self_service_lookup": True,
        "api_submission": True,
        "email_submission": True,
        "web_form": False,
        "notifications": True,  # the postback/IPN format registered with the processor
    }
