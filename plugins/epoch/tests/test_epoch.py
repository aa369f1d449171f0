"""Epoch: channel order per region, phone handling, languages, routing, honest capabilities."""

from __future__ import annotations

import pytest

from payhelp import ChannelKind, Confidence, IdKind, Payhelp

FIND_PURCHASE = "https://www.epoch.com/billing_support/find_purchase"


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return Payhelp(load_plugins=["epoch"])


def keys(ph: Payhelp, country: str) -> list[str]:
    return [c.key for c in ph.contacts("epoch", country).channels]


def test_registers_cleanly(ph: Payhelp) -> None:
    assert [p.id for p in ph.processors()] == ["epoch"]
    assert [r.error for r in ph.plugins()] == [None, None]
    assert ph.processor("epoch").name == "Epoch"


@pytest.mark.parametrize("country", ["US", "CA"])
def test_north_america_gets_lookup_email_toll_free_then_chat(ph: Payhelp, country: str) -> None:
    plan = ph.contacts("epoch", country)
    assert [(c.kind, c.key) for c in plan.channels] == [
        (ChannelKind.LOOKUP_PAGE, "find_purchase"),
        (ChannelKind.EMAIL, "email"),
        (ChannelKind.PHONE, "phone_tollfree"),
        (ChannelKind.LIVE_CHAT, "chat"),
    ]
    phone = plan.channels[2]
    assert phone.e164 == "+18008938871"
    assert phone.value == "1 (800) 893-8871"
    assert phone.toll_free is True
    assert phone.charges_may_apply is False
    assert plan.warnings == ()


@pytest.mark.parametrize("country", ["IT", "DE", "GB", "JP", "BR"])
def test_everyone_else_gets_the_international_line_with_a_charges_warning(
    ph: Payhelp, country: str
) -> None:
    plan = ph.contacts("epoch", country)
    assert keys(ph, country) == ["find_purchase", "email", "phone_international", "chat"]
    phone = plan.channels[2]
    assert phone.e164 == "+13106645810"
    assert phone.toll_free is False
    assert phone.charges_may_apply is True
    assert plan.warnings == (
        "Calls to Epoch's international number may cost you money; if you would rather not pay, "
        "write to Epoch instead.",
    )


def test_the_toll_free_number_is_never_offered_outside_north_america(ph: Payhelp) -> None:
    for country in ["IT", "GB", "MX", "AU"]:
        assert "phone_tollfree" not in keys(ph, country)
    for country in ["US", "CA"]:
        assert "phone_international" not in keys(ph, country)


def test_phone_is_written_the_way_the_caller_dials_it(ph: Payhelp) -> None:
    assert ph.contacts("epoch", "IT").channels[2].value == "00 1 310-664-5810"
    assert ph.contacts("epoch", "JP").channels[2].value == "010 1 310-664-5810"
    assert ph.contacts("epoch", "CA").channels[2].value == "1 (800) 893-8871"


def test_lookup_page_asks_for_any_two_of_four_fields(ph: Payhelp) -> None:
    page = ph.contacts("epoch", "US").channels[0]
    assert page.value == FIND_PURCHASE
    assert page.fields == (
        "Member id",
        "Email address used for the purchase",
        "Username",
        "Last four digits of the card",
    )
    assert "any two of the four" in page.reason


def test_live_chat_is_open_around_the_clock(ph: Payhelp) -> None:
    chat = ph.contacts("epoch", "BR").channels[3]
    assert chat.hours == "24/7"
    assert chat.value == FIND_PURCHASE
    assert chat.provenance[0].confidence is Confidence.OFFICIAL
    assert chat.provenance[0].note is not None
    assert "not in our sources" in chat.provenance[0].note


def test_include_asks_for_the_payment_number_email_and_last_four(ph: Payhelp) -> None:
    assert ph.contacts("epoch", "IT").include == (
        "Your payment number: the Epoch member id or transaction id from the receipt email",
        "The email address you used for the purchase",
        "The last four digits of the card (never the full number)",
    )


def test_italian_plan_is_fully_translated(ph: Payhelp) -> None:
    english = ph.contacts("epoch", "IT", language="en")
    italian = ph.contacts("epoch", "IT", language="it")
    for en, it in zip(english.channels, italian.channels, strict=True):
        assert en.reason != it.reason
        assert set(en.fields).isdisjoint(it.fields) or not en.fields
    assert set(english.include).isdisjoint(italian.include)
    assert set(english.warnings).isdisjoint(italian.warnings)
    assert "due dei quattro" in italian.channels[0].reason
    assert italian.channels[0].fields[0] == "ID membro"
    assert "carta" in " ".join(italian.include)


def test_every_channel_is_sourced(ph: Payhelp) -> None:
    directory = ph.directory("epoch")
    for channel in directory.channels.values():
        assert channel.provenance
    phones = {c.value: c for c in directory.channels.values() if c.kind is ChannelKind.PHONE}
    assert set(phones) == {"+18008938871", "+13106645810"}
    for phone in phones.values():
        assert phone.provenance[0].confidence is Confidence.OFFICIAL
    assert directory.channels["email"].provenance[0].confidence is Confidence.SECONDARY


def test_descriptor_routes_to_epoch(ph: Payhelp) -> None:
    decision = ph.route(descriptor="EPOCH.COM*LIVESODA", country="IT")
    assert decision.processor == "epoch"
    assert decision.ambiguous is False
    assert decision.candidates[0].reasons[0] == "statement descriptor contains 'EPOCH'"


@pytest.mark.parametrize(
    ("field", "value"),
    [("transaction_id", "1418464163"), ("transaction_id", "7"), ("member", "2147483647")],
)
def test_an_epoch_shaped_id_ranks_epoch_first_but_alone_does_not_decide(
    ph: Payhelp, field: str, value: str
) -> None:
    if field == "member":
        decision = ph.route(references={IdKind.MEMBER: value})
    else:
        decision = ph.route(transaction_id=value)
    assert decision.processor is None
    assert decision.candidates[0].processor == "epoch"
    assert "id has the shape of the Epoch" in decision.candidates[0].reasons[0]


def test_ids_outside_the_shape_are_no_evidence(ph: Payhelp) -> None:
    for value in ("12345678901", "A1234567"):  # 11 digits is beyond int32; a letter is no digit
        decision = ph.route(transaction_id=value)
        assert not any("id has the shape" in r for c in decision.candidates for r in c.reasons)


def test_a_bare_number_is_ambiguous_when_another_processor_shares_its_shape() -> None:
    both = Payhelp(load_plugins=["epoch", "segpay"])
    decision = both.route(transaction_id="139630889")
    assert decision.ambiguous is True
    assert decision.processor is None
    assert {c.processor for c in decision.candidates} == {"epoch", "segpay"}
    # The statement word settles it.
    settled = both.route(transaction_id="139630889", descriptor="EPOCH.COM*LIVESODA")
    assert settled.processor == "epoch"


def test_capabilities_are_honest(ph: Payhelp) -> None:
    caps = ph.processor("epoch").capabilities
    # Email and web-form submission come from payhelp's core for any processor whose directory
    # has that channel; API lookup and submission from the EpochApi registered with it.
    assert caps.model_dump() == {
        "api_lookup": True,
        "self_service_lookup": True,
        "api_submission": True,
        "email_submission": True,
        "web_form": False,
        "notifications": True,  # the postback/IPN format registered with the processor
    }


def test_lookup_falls_back_to_the_purchase_finder(ph: Payhelp) -> None:
    result = ph.lookup("epoch", transaction_id="1418464163")
    assert result.source == "self_service"
    assert result.self_service is not None
    assert str(result.self_service.url) == FIND_PURCHASE
    assert len(result.self_service.fields) == 4
