"""Rate limiting (:mod:`payhelp.ratelimit`): rates as a platform writes them, one paced
schedule per processor shared by its clients (sync and async), at a margin below the declared
limit, a 429's pause honoured by every client that shares it, waits made with the caller's
sleep. Time is a fake clock moved only by the recorded sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import pytest

import payhelp.http
import payhelp.ratelimit
from payhelp.errors import InvalidInputError
from payhelp.http import AsyncClient, SyncClient
from payhelp.ratelimit import (
    DEFAULT_MARGIN,
    Pause,
    Rate,
    acquire,
    acquire_async,
    check_margin,
    parse_rate,
)

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
    """The rate limiter's clock, moved only by the recorded sleeps."""

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
    monkeypatch.setattr(payhelp.ratelimit, "_clock", fake.time)
    return fake


def _ok_transport(stamps: list[float] | None = None) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if stamps is not None:
            stamps.append(payhelp.ratelimit._clock())
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


def _max_in_any_second(stamps: list[float], seconds: float = 1.0) -> int:
    return max(sum(1 for t in stamps if start <= t < start + seconds) for start in stamps)


def test_rate_limit_spaces_requests(kind: str, clock: FakeClock) -> None:
    stamps = _rate_run(kind, clock, clients=1, requests=12, rate="5/second")
    assert len(stamps) == 12
    # Paced at 90% of 5/s: one every 1/4.5 s, the first at once.
    assert sum(clock.waits) == pytest.approx(11 / 4.5)
    assert _max_in_any_second(stamps) <= 5
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert gaps == pytest.approx([1 / 4.5] * 11)


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 10, 20, 100])
def test_no_sliding_second_holds_more_than_the_limit(
    kind: str, clock: FakeClock, limit: int
) -> None:
    stamps = _rate_run(kind, clock, clients=4, requests=3 * limit + 5, rate=f"{limit}/second")
    assert _max_in_any_second(stamps) <= limit
    # The margin leaves room: at most 90% of the limit, and the one starting the second.
    assert _max_in_any_second(stamps) <= int(limit * DEFAULT_MARGIN) + 1


def test_a_long_window_is_paced_too(kind: str, clock: FakeClock) -> None:
    stamps = _rate_run(kind, clock, clients=1, requests=20, rate="600/minute")
    # 600 a minute is one request every 1/9 s at 90%, never a burst of 600.
    assert _max_in_any_second(stamps) <= 10


def test_rate_limit_is_per_processor(kind: str, clock: FakeClock) -> None:
    first = _rate_run(kind, clock, clients=1, requests=5, rate="5/second")
    waited = sum(clock.waits)
    # Another processor's schedule is untouched: its first request leaves at once.
    second = _rate_run(kind, clock, clients=1, requests=1, rate="5/second")
    assert sum(clock.waits) == waited
    assert second[0] == first[-1]


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


def test_acquire_paces_at_the_margin(clock: FakeClock) -> None:
    rate = parse_rate("2/second")
    key = f"direct{next(_ids)}"
    acquire(rate, key, clock.sleep)
    assert clock.waits == []
    acquire(rate, key, clock.sleep)
    acquire(rate, key, clock.sleep)
    assert clock.waits == pytest.approx([1 / 1.8, 1 / 1.8])


@pytest.mark.parametrize(("margin", "gap"), [(1.0, 0.5), (0.5, 1.0), (0.8, 0.625)])
def test_the_margin_is_configurable(clock: FakeClock, margin: float, gap: float) -> None:
    rate = parse_rate("2/second")
    key = f"direct{next(_ids)}"
    for _ in range(3):
        acquire(rate, key, clock.sleep, margin=margin)
    assert clock.waits == pytest.approx([gap, gap])


def test_sync_and_async_clients_share_one_schedule(clock: FakeClock) -> None:
    rate = parse_rate("1/second")
    key = f"direct{next(_ids)}"
    acquire(rate, key, clock.sleep)

    async def go() -> None:
        await acquire_async(rate, key, clock.async_sleep)

    asyncio.run(go())
    assert clock.waits == pytest.approx([1 / 0.9])


def test_a_pause_holds_back_every_request_until_it_ends(clock: FakeClock) -> None:
    pause = Pause()
    key = f"direct{next(_ids)}"
    until = pause.extend(3.0)
    assert until == clock.now + 3.0
    # No rate at all: the pause alone holds the request back.
    acquire(None, key, clock.sleep, pause=pause)
    assert clock.waits == [3.0]
    acquire(None, key, clock.sleep, pause=pause)
    assert clock.waits == [3.0]  # over: the next goes at once


def test_a_pause_waited_out_by_the_request_that_met_it_is_over(clock: FakeClock) -> None:
    pause = Pause()
    key = f"direct{next(_ids)}"
    until = pause.extend(5.0)
    pause.waited_out(until)
    acquire(None, key, clock.sleep, pause=pause)
    assert clock.waits == []


def test_a_longer_pause_set_meanwhile_still_stands(clock: FakeClock) -> None:
    pause = Pause()
    key = f"direct{next(_ids)}"
    mine = pause.extend(1.0)
    pause.extend(4.0)  # another worker met a 429 asking for longer
    pause.waited_out(mine)
    acquire(None, key, clock.sleep, pause=pause)
    assert clock.waits == [4.0]


def test_a_pause_set_while_a_request_waits_for_its_slot_is_waited_for(clock: FakeClock) -> None:
    pause = Pause()
    rate = parse_rate("1/second")
    key = f"direct{next(_ids)}"
    acquire(rate, key, clock.sleep, pause=pause)

    def sleep_then_429(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.waits) == 1:
            pause.extend(2.0)  # the processor said 429 to another worker meanwhile

    acquire(rate, key, sleep_then_429, pause=pause)
    assert clock.waits == pytest.approx([1 / 0.9, 2.0])


def test_a_429_pauses_the_other_clients_sharing_the_pause(kind: str, clock: FakeClock) -> None:
    pause = Pause()
    processor = f"paused{next(_ids)}"
    cls = client_class(kind, processor)
    stamps: list[float] = []
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"})])

    def answer(request: httpx.Request) -> httpx.Response:
        stamps.append(payhelp.ratelimit._clock())
        return next(answers, httpx.Response(200, json={}))

    options: dict[str, Any] = {"base_url": BASE, "pause": pause}
    options["transport"] = httpx.MockTransport(answer)
    if kind == "sync":
        met, other = (cls(sleep=clock.sleep, **options) for _ in range(2))
        # The client that meets the 429 waits Retry-After itself; the other one, asked
        # meanwhile, would have waited for it too.
        assert met.request("GET", PATH).status_code == 200
        assert clock.waits == [2.0]
        assert other.request("GET", PATH).status_code == 200
        met.close()
        other.close()
    else:

        async def go() -> None:
            met, other = (cls(sleep=clock.async_sleep, **options) for _ in range(2))
            assert (await met.request("GET", PATH)).status_code == 200
            assert clock.waits == [2.0]
            assert (await other.request("GET", PATH)).status_code == 200
            await met.aclose()
            await other.aclose()

        asyncio.run(go())
    assert clock.waits == [2.0]
    assert len(stamps) == 3
    assert stamps[1] - stamps[0] == pytest.approx(2.0)


def test_a_429_holds_back_a_client_sharing_the_pause(clock: FakeClock) -> None:
    pause = Pause()
    pause.extend(2.0)
    cls = client_class("sync", f"paused{next(_ids)}")
    client = cls(sleep=clock.sleep, base_url=BASE, pause=pause, transport=_ok_transport())
    client.request("GET", PATH)
    client.close()
    assert clock.waits == [2.0]


@pytest.mark.parametrize(("value", "margin"), [(None, 0.9), (1, 1.0), (0.5, 0.5), ("0.75", 0.75)])
def test_check_margin(value: object, margin: float) -> None:
    assert check_margin(value) == margin


@pytest.mark.parametrize("value", [0, -0.1, 1.5, "most", True, [0.9]])
def test_check_margin_refuses(value: object) -> None:
    with pytest.raises(InvalidInputError, match="rate_limit_margin"):
        check_margin(value)


def test_a_rate_reads_as_written() -> None:
    assert str(Rate(5, 2)) == "5 per 2 seconds"
    assert Rate(10, 1).interval(1.0) == pytest.approx(0.1)


def test_no_rate_never_waits(clock: FakeClock) -> None:
    """Without a rate or a pause nothing is scheduled."""
    for _ in range(100):
        acquire(None, "unlimited", clock.sleep)
    assert clock.waits == []


def test_the_http_module_still_offers_parse_rate() -> None:
    assert payhelp.http.parse_rate is parse_rate
