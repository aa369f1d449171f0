"""Webbilling: one email for everyone, Europe-only routing, languages, honest capabilities."""

from __future__ import annotations

import pytest

from payhelp import ChannelKind, Confidence, Payhelp, Region

EMAIL = "usersupport@webbilling.com"


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return Payhelp(load_plugins=["webbilling"])


def test_registers_cleanly(ph: Payhelp) -> None:
    assert [p.id for p in ph.processors()] == ["webbilling"]
    assert [r.error for r in ph.plugins()] == [None, None]
    assert ph.processor("webbilling").name == "Webbilling"


@pytest.mark.parametrize("country", ["US", "CA", "IT", "DE", "GB", "JP", "BR"])
def test_everyone_gets_the_one_email_address_and_nothing_else(ph: Payhelp, country: str) -> None:
    # The channel serves everyone; "serves Europe" is the router's business, not the plan's.
    plan = ph.contacts("webbilling", country)
    assert [(c.kind, c.key, c.value) for c in plan.channels] == [
        (ChannelKind.EMAIL, "email", EMAIL)
    ]
    email = plan.channels[0]
    assert email.e164 is None
    assert email.toll_free is False
    assert email.charges_may_apply is False
    assert email.reason == (
        "Webbilling takes support requests by email only; it offers no other channel."
    )
    assert plan.warnings == ()


def test_plan_says_what_to_include(ph: Payhelp) -> None:
    assert ph.contacts("webbilling", "DE").include == (
        "The date and amount of the charge",
        "The email address you used for the purchase",
        "The last four digits of the card (never the full number)",
        "What went wrong, in a few words",
    )


def test_italian_plan_is_fully_translated(ph: Payhelp) -> None:
    english = ph.contacts("webbilling", "IT", language="en")
    italian = ph.contacts("webbilling", "IT", language="it")
    assert italian.language == "it"
    assert italian.channels[0].reason == (
        "Webbilling accetta richieste di assistenza solo via email; non offre altri canali."
    )
    for en, it in zip(english.channels, italian.channels, strict=True):
        assert en.reason != it.reason
    assert len(italian.include) == len(english.include) == 4
    assert set(english.include).isdisjoint(italian.include)
    assert "Le ultime quattro cifre della carta (mai il numero completo)" in italian.include


def test_the_only_channel_has_provenance(ph: Payhelp) -> None:
    directory = ph.directory("webbilling")
    assert list(directory.channels) == ["email"]
    sources = directory.channels["email"].provenance
    assert [p.confidence for p in sources] == [Confidence.SINGLE, Confidence.SEED]
    assert {p.checked_on.isoformat() for p in sources} == {"2026-11-22"}


def test_serves_europe_only(ph: Payhelp) -> None:
    assert ph.processor("webbilling").regions == (Region.EEA, Region.UK)


@pytest.mark.parametrize(("country", "region"), [("US", "US"), ("CA", "CA"), ("JP", "ROW")])
def test_a_customer_outside_europe_gets_a_negative_region_reason(
    ph: Payhelp, country: str, region: str
) -> None:
    decision = ph.route(country=country)
    assert decision.processor is None
    assert decision.ambiguous is True
    [candidate] = decision.candidates
    assert candidate.score == -20
    assert candidate.reasons == (f"does not take payments in the {region} region",)


@pytest.mark.parametrize(("country", "region"), [("IT", "EEA"), ("DE", "EEA"), ("GB", "UK")])
def test_a_european_customer_gets_a_positive_region_reason(
    ph: Payhelp, country: str, region: str
) -> None:
    decision = ph.route(country=country)
    # Region alone is too weak to decide.
    assert decision.processor is None
    [candidate] = decision.candidates
    assert candidate.score == 5
    assert candidate.reasons == (f"takes payments in the {region} region",)


def test_named_explicitly_it_is_chosen_even_outside_europe(ph: Payhelp) -> None:
    decision = ph.route(processor="webbilling", country="US")
    assert decision.processor == "webbilling"
    assert decision.candidates[0].reasons == (
        "named explicitly",
        "does not take payments in the US region",
    )


def test_no_descriptor_or_id_format_is_invented(ph: Payhelp) -> None:
    info = ph.processor("webbilling")
    assert info.descriptors == ()
    assert info.id_formats == ()
    decision = ph.route(descriptor="WEBBILLING.COM", transaction_id="123456789", country="DE")
    assert decision.processor is None
    assert decision.candidates[0].reasons == ("takes payments in the EEA region",)


def test_capabilities_are_honest(ph: Payhelp) -> None:
    caps = ph.processor("webbilling").capabilities
    # Email and web-form submission come from payhelp's core for any processor whose directory
    # has that channel; API lookup and submission only where the plugin ships an adapter.
    assert caps.model_dump() == {
        "api_lookup": False,
        "self_service_lookup": False,
        "api_submission": False,
        "email_submission": True,
        "web_form": False,
        "notifications": False,
    }


def test_lookup_offers_no_self_service_page(ph: Payhelp) -> None:
    result = ph.lookup("webbilling")
    assert result.source == "self_service"
    assert result.self_service is None
