"""Lookup wiring (:mod:`payhelp.lookups`): a processor without an API answer or a lookup page is
answered with the channel to write to, taken from its contact plan, and a message naming it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from payhelp_paymentico.data import DIRECTORY as PAYMENTICO
from payhelp_webbilling.data import DIRECTORY as WEBBILLING

from payhelp import (
    AsyncPayhelp,
    Audience,
    Capabilities,
    ChannelKind,
    ChannelRoute,
    ContactChannel,
    ContactDirectory,
    InvalidInputError,
    LookupQuery,
    Payhelp,
    Region,
    RouteStep,
)

from .conftest import PROV, SyntheticPlugin, make_info


@pytest.fixture(scope="module")
def builtin() -> Payhelp:
    return Payhelp(load_plugins=["paymentico", "webbilling", "epoch"])


def test_paymentico_names_the_address_to_write_to(builtin: Payhelp) -> None:
    address = PAYMENTICO.channels["email"].value
    result = builtin.lookup("paymentico", email="customer@example.org")
    assert result.source == "self_service"
    assert result.self_service is None
    assert result.channel is not None
    assert (result.channel.kind, result.channel.value) == (ChannelKind.EMAIL, address)
    assert result.message == (
        f"Paymentico offers no lookup page; write to {address} with the details of the payment."
    )


def test_the_message_is_in_the_language_asked(builtin: Payhelp) -> None:
    address = WEBBILLING.channels["email"].value
    result = builtin.lookup("webbilling", language="it")
    assert result.message == (
        f"Webbilling non offre una pagina di ricerca: scrivi a {address} con i dettagli del "
        "pagamento."
    )
    assert result.channel is not None
    assert result.channel.reason.startswith("Webbilling accetta")  # the route's reason, in Italian


def test_the_customers_country_picks_the_channel_from_their_plan(builtin: Payhelp) -> None:
    for country in ("US", "IT", "uk"):
        result = builtin.lookup("paymentico", country=country)
        plan = builtin.contacts("paymentico", country)
        assert result.channel == plan.channels[0]


def test_a_processor_with_a_page_is_answered_with_the_page(builtin: Payhelp) -> None:
    result = builtin.lookup("epoch", country="IT")
    assert result.self_service is not None
    assert result.channel is None


def _no_page(**routes: ChannelRoute) -> ContactDirectory:
    return ContactDirectory(
        channels={
            "email": ContactChannel(
                kind=ChannelKind.EMAIL, value="help@nopage.example.com", provenance=PROV
            ),
            "phone_us": ContactChannel(
                kind=ChannelKind.PHONE,
                value="+18005550123",
                toll_free_in=("US",),
                serves=Audience(countries=("US",)),
                provenance=PROV,
            ),
            "phone": ContactChannel(kind=ChannelKind.PHONE, value="+442071234567", provenance=PROV),
            "desk": ContactChannel(
                kind=ChannelKind.ONSITE_SUPPORT,
                value="https://help.nopage.example.com/",
                provenance=PROV,
            ),
            "chat": ContactChannel(
                kind=ChannelKind.LIVE_CHAT,
                value="https://chat.nopage.example.com/",
                provenance=PROV,
            ),
        },
        routes=tuple(routes.values()),
    )


def _payhelp(directory: ContactDirectory, **settings: Any) -> Payhelp:
    info = make_info("nopage").model_copy(
        update={"capabilities": Capabilities(email_submission=True)}
    )
    return Payhelp(
        load_entry_points=False, plugins=[("nopage", SyntheticPlugin(info, directory))], **settings
    )


US_PHONE_FIRST = ChannelRoute(
    audience=Audience(regions=(Region.US,)),
    steps=(RouteStep(channel="phone_us", reason="call"), RouteStep(channel="email", reason="w")),
)


def test_a_phone_is_named_as_the_customer_dials_it() -> None:
    ph = _payhelp(_no_page(us=US_PHONE_FIRST, rest=_route("email")))
    result = ph.lookup("nopage", country="US")
    assert result.channel is not None
    assert (result.channel.kind, result.channel.toll_free) == (ChannelKind.PHONE, True)
    assert result.message == (
        f"Nopage offers no lookup page; call {result.channel.value} with the details of the "
        "payment at hand."
    )
    assert "800" in result.channel.value


def _route(*keys: str) -> ChannelRoute:
    return ChannelRoute(steps=tuple(RouteStep(channel=k, reason=f"use {k}") for k in keys))


def test_without_a_country_the_route_for_everyone_is_used() -> None:
    ph = _payhelp(_no_page(us=US_PHONE_FIRST, rest=_route("email")))
    result = ph.lookup("nopage")
    assert result.channel is not None
    assert (result.channel.key, result.channel.reason) == ("email", "use email")
    assert "help@nopage.example.com" in (result.message or "")


def test_without_a_country_a_phone_is_written_for_dialling_from_anywhere() -> None:
    # phone_us serves only the US, so the first channel that serves everyone is the UK number.
    ph = _payhelp(_no_page(rest=_route("phone_us", "phone", "email")))
    result = ph.lookup("nopage")
    assert result.channel is not None
    assert result.channel.key == "phone"
    assert result.channel.value == "+44 20 7123 4567"
    assert result.channel.e164 == "+442071234567"
    assert (result.channel.toll_free, result.channel.charges_may_apply) == (False, True)


@pytest.mark.parametrize(
    ("key", "wording"),
    [("desk", "ask its support at https://help."), ("chat", "open its chat at https://chat.")],
)
def test_a_web_channel_is_named_by_its_address(key: str, wording: str) -> None:
    ph = _payhelp(_no_page(rest=_route(key)))
    result = ph.lookup("nopage")
    assert wording in (result.message or "")


def test_no_channel_for_the_customer_says_who_can_help() -> None:
    ph = _payhelp(_no_page(us=US_PHONE_FIRST))
    for result in (ph.lookup("nopage"), ph.lookup("nopage", country="IT")):
        assert result.channel is None
        assert result.message == (
            "Nopage offers no lookup page and lists no channel for this customer; the "
            "platform's own support can forward the request."
        )


def test_the_platforms_overrides_choose_the_channel() -> None:
    ph = _payhelp(
        _no_page(rest=_route("email")),
        processors={"nopage": {"routes": [{"steps": [{"channel": "desk", "reason": "ours"}]}]}},
    )
    result = ph.lookup("nopage", country="IT")
    assert result.channel is not None
    assert (result.channel.key, result.channel.reason) == ("desk", "ours")


def test_the_async_twin_gives_the_same_answer(builtin: Payhelp) -> None:
    async def run() -> None:
        async with AsyncPayhelp(load_plugins=["paymentico"]) as aph:
            got = await aph.lookup("paymentico", country="CA", language="it")
        assert got == builtin.lookup("paymentico", country="CA", language="it")

    asyncio.run(run())


def test_the_country_is_no_search_field() -> None:
    query = LookupQuery(email="a@b.example", country="uk")
    assert query.country == "GB"
    assert query.given() == {"email"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"country": "Narnia"}, "country"), ({"language": "fr"}, "language must be one of")],
)
def test_bad_country_or_language_is_bad_input(
    builtin: Payhelp, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        builtin.lookup("paymentico", **fields)


def test_the_channel_is_in_the_json_answer(builtin: Payhelp) -> None:
    dumped = builtin.lookup("paymentico").model_dump(mode="json")
    assert dumped["channel"]["value"] == PAYMENTICO.channels["email"].value
    assert dumped["channel"]["kind"] == "email"
