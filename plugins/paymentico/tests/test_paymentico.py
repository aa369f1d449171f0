"""Paymentico: channel order per region, phone handling, languages, routing."""

from __future__ import annotations

import pytest

from payhelp import ChannelKind, Payhelp


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return Payhelp(load_plugins=["paymentico"])


def kinds(ph: Payhelp, country: str) -> list[tuple[str, str]]:
    return [(c.kind.value, c.key) for c in ph.contacts("paymentico", country).channels]


def test_registers_cleanly(ph: Payhelp) -> None:
    assert [p.id for p in ph.processors()] == ["paymentico"]
    assert [r.error for r in ph.plugins()] == [None, None]


@pytest.mark.parametrize("country", ["US", "CA"])
def test_north_america_gets_the_toll_free_number_after_email_and_onsite(
    ph: Payhelp, country: str
) -> None:
    assert kinds(ph, country) == [
        ("email", "email"),
        ("onsite_support", "onsite"),
        ("phone", "phone_tollfree"),
    ]
    phone = ph.contacts("paymentico", country).channels[2]
    assert phone.e164 == "+18558777020"
    assert phone.toll_free is True
    assert phone.charges_may_apply is False


@pytest.mark.parametrize("country", ["IT", "DE", "GB", "JP", "BR"])
def test_everyone_else_gets_the_international_number_with_a_charges_warning(
    ph: Payhelp, country: str
) -> None:
    plan = ph.contacts("paymentico", country)
    assert [c.key for c in plan.channels] == ["email", "onsite", "phone_international"]
    phone = plan.channels[2]
    assert phone.e164 == "+441344586020"
    assert phone.toll_free is False
    assert phone.charges_may_apply is True
    assert any("not free" in w for w in plan.warnings)


def test_phone_is_written_the_way_the_caller_dials_it(ph: Payhelp) -> None:
    assert ph.contacts("paymentico", "IT").channels[2].value == "00 44 1344 586020"
    assert ph.contacts("paymentico", "US").channels[2].value == "1 (855) 877-7020"
    # From the UK the international number is a national call.
    assert ph.contacts("paymentico", "GB").channels[2].value == "01344 586020"


def test_italian_plan_is_fully_translated(ph: Payhelp) -> None:
    english = ph.contacts("paymentico", "IT", language="en")
    italian = ph.contacts("paymentico", "IT", language="it")
    for en, it in zip(english.channels, italian.channels, strict=True):
        assert en.reason != it.reason
    assert set(english.include).isdisjoint(italian.include)
    assert "carta" in " ".join(italian.include)


def test_every_channel_has_provenance_and_valid_values(ph: Payhelp) -> None:
    directory = ph.directory("paymentico")
    for channel in directory.channels.values():
        assert channel.provenance
    assert {c.kind for c in directory.channels.values()} >= {ChannelKind.EMAIL, ChannelKind.PHONE}


def test_descriptor_routes_to_paymentico(ph: Payhelp) -> None:
    decision = ph.route(descriptor="PAYMENTICO 855-877-7020", country="IT")
    assert decision.processor == "paymentico"
    assert "PAYMENTICO" in decision.candidates[0].reasons[0]


def test_capabilities_are_honest(ph: Payhelp) -> None:
    caps = ph.processor("paymentico").capabilities
    # Email and web-form submission come from payhelp's core for any processor whose directory
    # has that channel; API lookup and submission only where the plugin ships an adapter.
    # Paymentico's help site is a support desk, not a page where a purchase can be looked up.
    assert caps.model_dump() == {
        "api_lookup": False,
        "self_service_lookup": False,
        "api_submission": False,
        "email_submission": True,
        "web_form": False,
        "notifications": False,
    }
