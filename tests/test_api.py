"""The embedding API: sync and async twins agree; configuration sources combine."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from payhelp import AsyncPayhelp, InvalidInputError, Payhelp, Settings


def test_async_twin_has_the_same_public_methods() -> None:
    def public(cls: type) -> set[str]:
        return {n for n, v in vars(cls).items() if not n.startswith("_") and callable(v)}

    assert public(Payhelp) - {"router"} <= public(AsyncPayhelp) | {"language"}
    for name in public(AsyncPayhelp) - {"from_config"}:
        method = getattr(AsyncPayhelp, name)
        assert inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method), name


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
