"""The embedding API: sync and async twins give the same answers (their signatures are held equal
in test_api_surface.py); configuration sources combine."""

from __future__ import annotations

import asyncio
from types import MappingProxyType

import pytest

from payhelp import (
    AsyncPayhelp,
    ConfigurationError,
    InvalidInputError,
    Payhelp,
    Settings,
    hookimpl,
)

from .conftest import SyntheticPlugin, make_info


def test_async_answers_equal_sync_answers() -> None:
    sync = Payhelp(load_plugins=["segpay", "epoch"])
    asyn = AsyncPayhelp(load_plugins=["segpay", "epoch"])

    async def run() -> None:
        assert await asyn.contacts("segpay", "IT", language="it") == sync.contacts(
            "segpay", "IT", language="it"
        )
        assert await asyn.route(descriptor="EPOCH.COM*X") == sync.route(descriptor="EPOCH.COM*X")
        assert await asyn.processors() == sync.processors()
        lines = [line async for line in asyn.route_batch(['{"descriptor": "SEGPAY"}'])]
        assert lines == list(sync.route_batch(['{"descriptor": "SEGPAY"}']))
        assert (await asyn.lookup("epoch", email="a@b.example")).source == "self_service"

    asyncio.run(run())


def test_keyword_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYHELP_LANGUAGE", "it")
    assert Settings.load().language == "it"
    assert Settings.load(language="en").language == "en"
    assert Payhelp(load_plugins=["segpay"]).contacts("segpay", "IT").language == "it"


def test_route_accepts_a_mapping_or_keywords_but_validates() -> None:
    ph = Payhelp(load_plugins=["segpay"])
    assert ph.route({"descriptor": "SEGPAY"}) == ph.route(descriptor="SEGPAY")
    with pytest.raises(InvalidInputError, match="card_last4"):
        ph.route(card_last4="4111111111111111")
    with pytest.raises(InvalidInputError, match="Extra inputs"):
        ph.route(colour="blue")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ph: ph.contacts("segpay", None), "ISO 3166-1"),
        (lambda ph: ph.contacts("segpay", "IT", language="fr"), "language must be one of"),
        (lambda ph: ph.route(["a"]), r"route\(\) takes"),
        (lambda ph: ph.processor(42), "a processor id is a string"),
    ],
)
def test_wrong_types_at_the_boundary_are_input_errors(call, message: str) -> None:
    ph = Payhelp(load_plugins=["segpay"])
    with pytest.raises(InvalidInputError, match=message):
        call(ph)


def test_settings_and_keyword_settings_together_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="not both"):
        Payhelp(Settings(), language="it")


def test_processor_ids_are_case_insensitive() -> None:
    ph = Payhelp(load_plugins=["epoch"])
    assert ph.processor(" EPOCH ").id == "epoch"
    assert ph.contacts("Epoch", "US").processor == "epoch"
    assert ph.route(processor="EPOCH").processor == "epoch"


def test_payhelp_language_takes_a_locale_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYHELP_LANGUAGE", "it_IT.UTF-8")
    assert Settings.load().language == "it"
    monkeypatch.setenv("PAYHELP_LANGUAGE", "fr")
    with pytest.raises(ConfigurationError, match="speaks en and it"):
        Settings.load()


def test_plugins_get_a_read_only_view_of_their_settings() -> None:
    seen = {}

    class Adapter:
        @hookimpl
        def payhelp_adapter(self, processor, settings):
            seen["settings"] = settings

    ph = Payhelp(
        load_entry_points=False,
        plugins=[("rop", SyntheticPlugin(make_info("rop"))), ("adapter", Adapter())],
        processors={"rop": {"settings": {"api_key": "k"}}},
    )
    assert ph.lookup("rop", transaction_id="1").source == "self_service"
    assert isinstance(seen["settings"], MappingProxyType)
    assert seen["settings"]["api_key"] == "k"


def test_async_batch_lets_other_tasks_run() -> None:
    asyn = AsyncPayhelp(load_plugins=["segpay"])
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    async def run() -> None:
        task = asyncio.create_task(ticker())
        lines = ('{"descriptor": "SEGPAY"}' for _ in range(5000))
        count = sum([1 async for _ in asyn.route_batch(lines)])
        task.cancel()
        assert count == 5000

    asyncio.run(run())
    assert ticks >= 4
