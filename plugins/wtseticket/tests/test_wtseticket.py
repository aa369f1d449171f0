"""WTS: form, email, then a US toll-free phone; charges abroad, languages, descriptor routing."""

from __future__ import annotations

import pytest

from payhelp import ChannelKind, Confidence, Payhelp, Region

ORDER = [
    (ChannelKind.WEB_FORM, "web_form", "https://www.wtseticket.com/"),
    (ChannelKind.EMAIL, "email", "customerservice@wtseticket.com"),
    (ChannelKind.PHONE, "phone"),
]
CHARGES_WARNING = (
    "WTS's number is a US toll-free line: from outside the US and Canada it is an international "
    "call, and your phone company may charge for it."
)


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return Payhelp(load_plugins=["wtseticket"])


def order(ph: Payhelp, country: str) -> list[tuple[object, ...]]:
    return [
        (c.kind, c.key) if c.kind is ChannelKind.PHONE else (c.kind, c.key, c.value)
        for c in ph.contacts("wtseticket", country).channels
    ]


def test_registers_cleanly(ph: Payhelp) -> None:
    assert [p.id for p in ph.processors()] == ["wtseticket"]
    assert [r.error for r in ph.plugins()] == [None, None]
    assert ph.processor("wtseticket").name == "WTS"


@pytest.mark.parametrize("country", ["US", "CA"])
def test_north_america_calls_free_after_form_and_email(ph: Payhelp, country: str) -> None:
    assert order(ph, country) == ORDER
    plan = ph.contacts("wtseticket", country)
    phone = plan.channels[2]
    assert phone.e164 == "+18009755616"
    assert phone.toll_free is True
    assert phone.charges_may_apply is False
    assert phone.reason == "From the US and Canada you can call WTS free of charge."
    assert plan.warnings == ()


@pytest.mark.parametrize("country", ["IT", "DE", "GB", "JP", "BR"])
def test_everyone_else_is_warned_the_call_may_cost(ph: Payhelp, country: str) -> None:
    assert order(ph, country) == ORDER
    plan = ph.contacts("wtseticket", country)
    phone = plan.channels[2]
    assert phone.e164 == "+18009755616"
    assert phone.toll_free is False
    assert phone.charges_may_apply is True
    assert phone.reason == "WTS's phone line, for when writing is not enough."
    assert plan.warnings == (CHARGES_WARNING,)


def test_the_form_comes_first_for_its_quick_answer(ph: Payhelp) -> None:
    first = ph.contacts("wtseticket", "DE").channels[0]
    assert first.reason == (
        "WTS's customer-support form is the best way in: it usually gets you a quick, "
        "reasoned answer."
    )
    assert first.toll_free is False
    assert first.charges_may_apply is False


@pytest.mark.parametrize(
    ("country", "dialled"),
    [
        ("US", "1 (800) 975-5616"),
        ("CA", "1 (800) 975-5616"),
        ("IT", "00 1 800-975-5616"),
        ("GB", "00 1 800-975-5616"),
        ("JP", "010 1 800-975-5616"),
    ],
)
def test_phone_is_written_the_way_the_caller_dials_it(
    ph: Payhelp, country: str, dialled: str
) -> None:
    assert ph.contacts("wtseticket", country).channels[2].value == dialled


def test_plan_says_what_to_include(ph: Payhelp) -> None:
    assert ph.contacts("wtseticket", "US").include == (
        "The date and amount of the charge",
        "The email address you used for the purchase",
        "The last four digits of the card or bank account you paid with (never the full number)",
        "What went wrong, in a few words",
    )


def test_italian_plan_is_fully_translated(ph: Payhelp) -> None:
    english = ph.contacts("wtseticket", "IT", language="en")
    italian = ph.contacts("wtseticket", "IT", language="it")
    for en, it in zip(english.channels, italian.channels, strict=True):
        assert en.reason != it.reason
    assert set(english.include).isdisjoint(italian.include)
    assert italian.warnings == (
        "Il numero di WTS è un numero verde statunitense: fuori dagli Stati Uniti e dal Canada è "
        "una chiamata internazionale e il tuo operatore telefonico potrebbe addebitartela.",
    )
    north_america = ph.contacts("wtseticket", "US", language="it")
    assert north_america.channels[2].reason == (
        "Dagli Stati Uniti e dal Canada puoi chiamare WTS gratuitamente."
    )


def test_every_channel_has_provenance(ph: Payhelp) -> None:
    directory = ph.directory("wtseticket")
    assert list(directory.channels) == ["web_form", "email", "phone"]
    for channel in directory.channels.values():
        assert channel.provenance
        assert channel.provenance[-1].confidence is Confidence.SEED
    phone = directory.channels["phone"]
    assert [p.confidence for p in phone.provenance] == [
        Confidence.SECONDARY,
        Confidence.SECONDARY,
        Confidence.SEED,
    ]
    assert phone.toll_free_in == ("US", "CA")


@pytest.mark.parametrize(
    "descriptor", ["WTSeTicket.com 800-975-5616", "wtseticket.com", "WTSETICKET.COM*800-975-5616"]
)
def test_descriptor_routes_to_wts(ph: Payhelp, descriptor: str) -> None:
    decision = ph.route(descriptor=descriptor, country="US")
    assert decision.processor == "wtseticket"
    assert decision.ambiguous is False
    assert decision.candidates[0].score == 55  # descriptor 50 + serves the US 5
    assert decision.candidates[0].reasons == (
        "statement descriptor contains 'WTSETICKET'",
        "takes payments in the US region",
    )


def test_descriptor_still_decides_outside_wts_regions(ph: Payhelp) -> None:
    decision = ph.route(descriptor="WTSeTicket.com 800-975-5616", country="JP")
    assert decision.processor == "wtseticket"
    assert decision.candidates[0].score == 30  # descriptor 50 - outside its regions 20
    assert decision.candidates[0].reasons[1] == "does not take payments in the ROW region"


def test_regions_record_the_seed_and_terms_contradiction(ph: Payhelp) -> None:
    info = ph.processor("wtseticket")
    assert info.regions == (Region.EEA, Region.UK, Region.US)
    assert info.payment_methods == ("card", "ach")
    assert info.notes[1].startswith(
        "Sources disagree on the region: our billing-support notes call WTS"
    )
    for country, region in [("US", "US"), ("IT", "EEA"), ("GB", "UK")]:
        [candidate] = ph.route(country=country).candidates
        assert candidate.reasons == (f"takes payments in the {region} region",)
    for country, region in [("CA", "CA"), ("BR", "ROW")]:
        [candidate] = ph.route(country=country).candidates
        assert candidate.reasons == (f"does not take payments in the {region} region",)


def test_no_id_format_is_invented(ph: Payhelp) -> None:
    assert ph.processor("wtseticket").id_formats == ()
    decision = ph.route(transaction_id="123456789", country="US")
    assert decision.processor is None


def test_capabilities_are_honest(ph: Payhelp) -> None:
    caps = ph.processor("wtseticket").capabilities
    # Email and web-form submission come from payhelp's core for any processor whose directory
    # has that channel; API lookup and submission only where the plugin ships an adapter.
    assert caps.model_dump() == {
        "api_lookup": False,
        "self_service_lookup": True,
        "api_submission": False,
        "email_submission": True,
        "web_form": True,
        "notifications": False,
    }


def test_lookup_points_to_the_support_form(ph: Payhelp) -> None:
    result = ph.lookup("wtseticket")
    assert result.source == "self_service"
    assert result.self_service is not None
    assert str(result.self_service.url) == "https://www.wtseticket.com/"
