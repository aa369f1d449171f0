"""Rate limiting (:mod:`payhelp.ratelimit`): rates as a platform writes them, one moving window
per processor shared by its sync clients (and, per event loop, its async ones), waits made with
the caller's sleep. Time is a fake clock moved only by the recorded sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import httpx
import pytest

import payhelp.http
from payhelp.errors import InvalidInputError
from payhelp.http import AsyncClient, SyncClient
from payhelp.ratelimit import acquire, acquire_async, parse_rate

BASE = "https://api.testpay.example/v1/"
PATH = "payments/1"
KINDS = ("sync", "async")

_ids = itertools.count()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def client_class(kind: str, processor: str) -> type[Any]:
    base = SyncClient if kind == "sync" else AsyncClient
    return type(f"Limited{kind.title()}Client", (base,), {"processor": processor})


class FakeClock:
    """``time.time`` for the rate limiter, moved only by the recorded sleeps."""

    def __init__(self) -> None:
        self.now = 1_000_000_000.0  # in the past: stale windows expire
        self.waits: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(time, "time", fake.time)
    return fake


def _ok_transport(stamps: list[float] | None = None) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if stamps is not None:
            stamps.append(time.time())
        return httpx.Response(200, json={})

    return httpx.MockTransport(answer)


def _rate_run(kind: str, clock: FakeClock, clients: int, requests: int, rate: str) -> list[float]:
    """``requests`` GETs spread over ``clients`` clients of one new processor; the (fake)
    times at which they reached the processor."""
    stamps: list[float] = []
    cls = client_class(kind, processor=f"limited{next(_ids)}")
    options = {"base_url": BASE, "rate_limit": rate, "transport": _ok_transport(stamps)}
    if kind == "sync":
        pool = [cls(sleep=clock.sleep, **options) for _ in range(clients)]
        for i in range(requests):
            pool[i % clients].request("GET", PATH)
        for client in pool:
            client.close()
        return stamps

    async def go() -> None:
        pool = [cls(sleep=clock.async_sleep, **options) for _ in range(clients)]
        for i in range(requests):
            await pool[i % clients].request("GET", PATH)
        for client in pool:
            await client.aclose()

    asyncio.run(go())
    return stamps


def _max_in_any_second(stamps: list[float]) -> int:
    return max(sum(1 for t in stamps if start <= t < start + 1.0) for start in stamps)


def test_rate_limit_spaces_requests(kind: str, clock: FakeClock) -> None:
    stamps = _rate_run(kind, clock, clients=1, requests=12, rate="5/second")
    assert len(stamps) == 12
    assert 2.0 <= sum(clock.waits) < 3.0
    assert _max_in_any_second(stamps) <= 5


def test_rate_limit_is_per_processor(kind: str, clock: FakeClock) -> None:
    _rate_run(kind, clock, clients=1, requests=5, rate="5/second")
    # Another processor's window is untouched.
    _rate_run(kind, clock, clients=1, requests=5, rate="5/second")
    assert clock.waits == []


def test_sync_rate_limit_is_shared_by_the_clients_of_a_processor(clock: FakeClock) -> None:
    stamps = _rate_run("sync", clock, clients=3, requests=12, rate="5/second")
    assert sum(clock.waits) >= 2.0
    assert _max_in_any_second(stamps) <= 5


def test_async_rate_limit_is_shared_by_the_clients_of_a_processor(clock: FakeClock) -> None:
    stamps = _rate_run("async", clock, clients=3, requests=12, rate="5/second")
    assert _max_in_any_second(stamps) <= 5


@pytest.mark.parametrize(
    ("value", "amount", "seconds"),
    [
        ("10/second", 10, 1),
        ("10/s", 10, 1),
        ("10/seconds", 10, 1),
        (" 10/S ", 10, 1),
        ("600/minute", 600, 60),
        ("600/m", 600, 60),
        ("10 per second", 10, 1),
        ("100/hour", 100, 3600),
        (5, 5, 1),
        (5.0, 5, 1),
        (2.5, 5, 2),  # a fraction becomes whole requests over a longer window
        (0.5, 1, 2),
        ("10/sec", 10, 1),
        (0.001, 1, 1000),
    ],
)
def test_parse_rate(value: str | float, amount: int, seconds: int) -> None:
    rate = parse_rate(value)
    assert rate is not None
    assert (rate.amount, rate.get_expiry()) == (amount, seconds)


def test_parse_rate_none() -> None:
    assert parse_rate(None) is None


@pytest.mark.parametrize("value", [0, -1, 0.0, -2.5, "ten a second", "10/fortnight", "/second", ""])
def test_parse_rate_refuses(value: str | float) -> None:
    with pytest.raises(InvalidInputError):
        parse_rate(value)


@pytest.mark.parametrize("value", ["0/second", "10/ms"])
def test_parse_rate_refuses_zero_and_misread_rates(value: str | float) -> None:
    with pytest.raises(InvalidInputError):
        parse_rate(value)


def test_acquire_waits_only_once_the_window_is_full(clock: FakeClock) -> None:
    rate = parse_rate("2/second")
    key = f"direct{next(_ids)}"
    for _ in range(2):
        acquire(rate, key, clock.sleep)
    assert clock.waits == []
    acquire(rate, key, clock.sleep)
    # The third waits for the first to leave the one-second window, and no longer.
    assert 1.0 <= sum(clock.waits) < 1.1


def test_acquire_async_shares_nothing_with_the_sync_window(clock: FakeClock) -> None:
    rate = parse_rate("1/second")
    key = f"direct{next(_ids)}"
    acquire(rate, key, clock.sleep)

    async def go() -> None:
        await acquire_async(rate, key, clock.async_sleep)

    asyncio.run(go())
    assert clock.waits == []
    acquire(rate, key, clock.sleep)
    assert 1.0 <= sum(clock.waits) < 1.1


def test_no_rate_never_waits(clock: FakeClock) -> None:
    for _ in range(100):
        acquire(None, "unlimited", clock.sleep)
    assert clock.waits == []


def test_the_http_module_still_offers_parse_rate() -> None:
    assert payhelp.http.parse_rate is parse_rate
