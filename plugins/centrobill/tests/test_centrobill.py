"""CentroBill: web form first, the scope warning, languages, routing, honest capabilities."""

from __future__ import annotations

import pytest

from payhelp import ChannelKind, Confidence, IdKind, Payhelp, ProductKind, SubscriptionPeriod

SCOPE_WARNING = (
    "CentroBill can only help with payments it processed. If you cannot get into the site you "
    "paid for or see its content, contact that site directly."
)
PHONE_WARNING = "CentroBill's phone line may cost you money; the web form and email do not."


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return Payhelp(load_plugins=["centrobill"])


def test_registers_cleanly(ph: Payhelp) -> None:
    assert [p.id for p in ph.processors()] == ["centrobill"]
    assert [r.error for r in ph.plugins()] == [None, None]
    assert ph.processor("centrobill").name == "CentroBill"


@pytest.mark.parametrize("country", ["US", "CA", "IT", "DE", "GB", "JP", "BR"])
def test_everyone_gets_web_form_email_then_phone(ph: Payhelp, country: str) -> None:
    plan = ph.contacts("centrobill", country)
    assert [(c.kind, c.key) for c in plan.channels] == [
        (ChannelKind.WEB_FORM, "web_form"),
        (ChannelKind.EMAIL, "email"),
        (ChannelKind.PHONE, "phone"),
    ]
    assert plan.channels[0].value == "https://centrohelp.com/"
    assert plan.channels[1].value == "support@centrobill.com"
    phone = plan.channels[2]
    assert phone.e164 == "+18777788382"
    assert phone.toll_free is False
    assert phone.charges_may_apply is True
    assert plan.warnings == (SCOPE_WARNING, PHONE_WARNING)


def test_phone_is_written_the_way_the_caller_dials_it(ph: Payhelp) -> None:
    assert ph.contacts("centrobill", "US").channels[2].value == "1 (877) 778-8382"
    assert ph.contacts("centrobill", "IT").channels[2].value == "00 1 877-778-8382"
    assert ph.contacts("centrobill", "BR").channels[2].value == "+1 877-778-8382"


def test_the_scope_warning_comes_from_centrobill_itself(ph: Payhelp) -> None:
    directory = ph.directory("centrobill")
    assert len(directory.warnings) == 1
    assert ph.contacts("centrobill", "GB").warnings[0] == SCOPE_WARNING


def test_include(ph: Payhelp) -> None:
    assert ph.contacts("centrobill", "DE").include == (
        "The date and amount of the charge",
        "The email address you used to pay",
        "The last four digits of the card (never the full number)",
        "The name of the website where you paid",
    )


def test_italian_plan_is_fully_translated(ph: Payhelp) -> None:
    english = ph.contacts("centrobill", "IT", language="en")
    italian = ph.contacts("centrobill", "IT", language="it")
    for en, it in zip(english.channels, italian.channels, strict=True):
        assert en.reason != it.reason
    assert set(english.include).isdisjoint(italian.include)
    assert set(english.warnings).isdisjoint(italian.warnings)
    assert italian.warnings[0].startswith("CentroBill può aiutarti solo")
    assert "modulo web" in italian.channels[0].reason


def test_every_channel_is_sourced(ph: Payhelp) -> None:
    channels = ph.directory("centrobill").channels
    for channel in channels.values():
        assert channel.provenance
    assert channels["web_form"].provenance[0].confidence is Confidence.SECONDARY
    assert channels["email"].provenance[0].confidence is Confidence.SINGLE
    assert channels["phone"].provenance[0].confidence is Confidence.SINGLE


def test_descriptor_routes_to_centrobill(ph: Payhelp) -> None:
    decision = ph.route(descriptor="centrohelp.com", country="IT")
    assert decision.processor == "centrobill"
    assert decision.candidates[0].reasons[0] == "statement descriptor contains 'CENTROHELP'"


def test_an_order_id_ranks_centrobill_first_and_decides_with_the_statement(ph: Payhelp) -> None:
    decision = ph.route(references={IdKind.ORDER: "235324530"})
    assert decision.processor is None  # a bare run of digits alone is a hint, not a decision
    assert decision.candidates[0].processor == "centrobill"
    assert decision.candidates[0].reasons[0] == "order id has the shape of the CentroBill order id"
    confirmed = ph.route(references={IdKind.ORDER: "235324530"}, descriptor="centrohelp.com")
    assert confirmed.processor == "centrobill"
    # Below 6 digits, or as a transaction id (CentroBill publishes no such shape): no evidence.
    for decision in (
        ph.route(references={IdKind.ORDER: "12345"}),
        ph.route(transaction_id="235324530"),
    ):
        assert not any("id has the shape" in r for c in decision.candidates for r in c.reasons)


def test_recommended_for_annual_subscriptions(ph: Payhelp) -> None:
    (rule,) = ph.processor("centrobill").recommended_for
    assert (rule.kind, rule.period) == (ProductKind.SUBSCRIPTION, SubscriptionPeriod.ANNUAL)
    decision = ph.route(product={"kind": "subscription", "period": "annual"}, country="IT")
    assert any(r.startswith("recommended for this product") for r in decision.candidates[0].reasons)
    monthly = ph.route(product={"kind": "subscription", "period": "monthly"}, country="IT")
    assert not any(r.startswith("recommended") for r in monthly.candidates[0].reasons)


def test_capabilities_are_honest(ph: Payhelp) -> None:
    caps = ph.processor("centrobill").capabilities
    # Email and web-form submission come from payhelp's core for any processor whose directory
    # has that channel; API lookup and submission only where the plugin ships an adapter.
    assert caps.model_dump() == {
        "api_lookup": True,
        "self_service_lookup": True,
        "api_submission": True,
        "email_submission": True,
        "web_form": True,
        "notifications": True,  # the postback/IPN format registered with the processor
    }


def test_lookup_falls_back_to_the_web_form(ph: Payhelp) -> None:
    result = ph.lookup("centrobill", references={"order": "235324530"})
    assert result.source == "self_service"
    assert result.self_service is not None
    assert str(result.self_service.url) == "https://centrohelp.com/"
