"""What workers share through a real Redis (``PAYHELP_TEST_REDIS_URL``; ``.ci/run`` starts one):
the processors' rate limit schedule, ``Retry-After`` pauses and the notification dedupe.

Nothing here is mocked: the rate limit is checked by a sandbox on a real socket that counts every
arrival, with lookups from several real processes. Without the variable every test is skipped,
with that reason. Only events and computed waits are compared, never measured durations.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from payhelp.api import Payhelp
from payhelp.errors import SharedStateError
from payhelp.ratelimit import parse_rate
from payhelp.sandbox import Behaviour, Sandbox, SandboxServer
from payhelp.shared import connect

from .test_notifications import REFUND, deliver, make, submission
from .test_rate_limit_socket import most_in_a_sliding_second

pytestmark = pytest.mark.redis

URL = os.environ.get("PAYHELP_TEST_REDIS_URL")
LIMIT = 40


@pytest.fixture
def redis_url() -> str:
    if not URL:
        pytest.skip("no Redis: set PAYHELP_TEST_REDIS_URL (.ci/run starts one)")
    return URL


def new_prefix() -> str:
    """A key prefix of a test's own."""
    return f"payhelp-test-{uuid.uuid4().hex[:10]}:"


def forget(redis_url: str, prefix: str) -> None:
    """Remove every key under ``prefix``."""
    client = connect(redis_url).client()
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of the test's own, and its keys removed after."""
    name = new_prefix()
    yield name
    forget(redis_url, name)


@contextmanager
def sandbox_on_a_socket(behaviour: Behaviour) -> Iterator[tuple[str, str]]:
    """CentroBill's sandbox served from a thread of this process: ``(base url, approved id)``."""
    probe = Payhelp(load_plugins=["centrobill"])
    box: Sandbox | None = probe.host.sandbox(probe.processor("centrobill"))
    assert box is not None
    server = SandboxServer({box.processor: box}, behaviour)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        port.append(loop.run_until_complete(server.start("127.0.0.1", 0)))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield f"http://127.0.0.1:{port[0]}/centrobill/", box.cases()["approved"]
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _look_up_many(base_url: str, approved: str, count: int, shared: dict[str, str]) -> int:
    """In a process of its own: ``count`` lookups at the sandbox's own limit, concurrently; the
    number that failed."""
    from payhelp.batch_lookup import lookup_lines  # noqa: PLC0415

    settings = {
        "api_key": "test-key",
        "base_url": base_url,
        "rate_limit": f"{LIMIT}/second",
        "max_retries": 0,  # a refusal shows as an error line, never hidden by a retry
    }
    ph = Payhelp(
        load_plugins=["centrobill"], processors={"centrobill": {"settings": settings}}, **shared
    )
    lines = [json.dumps({"processor": "centrobill", "transaction_id": approved})] * count

    async def scenario() -> list[str]:
        try:
            return [line async for line in lookup_lines(ph, lines, concurrency=16)]
        finally:
            await ph.aclose()

    answers = asyncio.run(scenario())
    return sum('"error"' in answer for answer in answers)


def _four_processes(base_url: str, approved: str, each: int, shared: dict[str, str]) -> list[int]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        # A bound, so that a process that cannot start fails the test instead of hanging it.
        return pool.starmap_async(_look_up_many, [(base_url, approved, each, shared)] * 4).get(120)


def test_four_processes_sharing_redis_never_break_the_processors_limit(
    redis_url: str, prefix: str
) -> None:
    arrivals: list[float] = []
    behaviour = Behaviour(
        rate_limit=f"{LIMIT}/second", observe=lambda _request: arrivals.append(time.monotonic())
    )
    with sandbox_on_a_socket(behaviour) as (base_url, approved):
        failed = _four_processes(
            base_url, approved, 30, {"redis_url": redis_url, "redis_prefix": prefix}
        )
    assert failed == [0, 0, 0, 0]
    assert behaviour.limited == 0
    assert behaviour.served == len(arrivals) == 120
    assert behaviour.max_arrivals_in_window <= LIMIT
    assert most_in_a_sliding_second(arrivals) <= LIMIT


def test_without_redis_the_same_four_processes_each_spend_the_whole_budget() -> None:
    """The control: what the shared schedule prevents (each process paces itself alone)."""
    behaviour = Behaviour(rate_limit=f"{LIMIT}/second")
    with sandbox_on_a_socket(behaviour) as (base_url, approved):
        failed = _four_processes(base_url, approved, 30, {})
    assert behaviour.limited > 0
    assert sum(failed) == behaviour.limited
    assert behaviour.max_arrivals_in_window > LIMIT


def test_a_retry_after_heard_by_one_worker_holds_back_the_others(
    redis_url: str, prefix: str
) -> None:
    one, other = connect(redis_url, prefix=prefix), connect(redis_url, prefix=prefix)
    rate = parse_rate("1000/second")
    waits: list[float] = []
    try:
        one.schedule.share_pause("acme", 30.0)
        other.schedule.acquire(rate, "acme", waits.append)
        # The other worker was told to wait the pause out (computed on Redis's clock)...
        assert len(waits) >= 1
        assert 29.0 < waits[0] <= 30.0
        # ...and a processor nobody paused is not held back.
        free: list[float] = []
        other.schedule.acquire(rate, "elsewhere", free.append)
        assert free == []
    finally:
        one.close()
        other.close()


def test_slots_are_paced_on_one_schedule_across_clients(redis_url: str, prefix: str) -> None:
    """Two clients (two processes' worth of state) taking slots in turn get one interval apart:
    the waits they are told add up as on a single schedule."""
    first, second = connect(redis_url, prefix=prefix), connect(redis_url, prefix=prefix)
    rate = parse_rate("10/second")  # 0.111 s apart at the 90% margin
    assert rate is not None
    interval = rate.interval()
    try:
        told = [client.schedule.reserve("acme", interval)[0] for client in (first, second) * 3]
        assert told[0] == 0.0
        # Each later slot is one interval after the one before (less the moments in between).
        for number, wait in enumerate(told[1:], start=1):
            assert number * interval - 0.05 < wait <= number * interval
    finally:
        first.close()
        second.close()


def test_redis_down_means_nothing_is_sent(tmp_path: Path) -> None:
    sent: list[httpx.Request] = []
    settings = {
        "api_key": "test-key",
        "rate_limit": "10/second",
        "transport": httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200)),
    }
    ph = Payhelp(
        load_plugins=["centrobill"],
        processors={"centrobill": {"settings": settings}},
        redis_url="redis://127.0.0.1:1/0",  # nothing listens there
        store_url=f"sqlite:///{tmp_path / 's.db'}",
    )
    with pytest.raises(SharedStateError, match=r"127\.0\.0\.1:1/0.*nothing was sent"):
        ph.lookup("centrobill", {"transaction_id": "TX-1"})
    assert sent == []


def _inserts(ph: Payhelp) -> list[str]:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            statements.append(statement)

    event.listen(ph.store.engine, "before_cursor_execute", seen)
    return statements


def test_a_repeated_notification_is_answered_from_redis_without_a_store_write(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    ph = make(tmp_path, redis_url=redis_url, redis_prefix=prefix)
    number = submission(ph)
    first = deliver(ph, REFUND)
    assert first.status == "applied"
    assert first.confirmed == (number,)
    writes = _inserts(ph)
    again = deliver(ph, REFUND)
    assert (again.status, again.record_id, again.confirmed) == ("duplicate", first.record_id, ())
    assert again.reply_status == 200
    assert writes == []  # no refusal, no event, no confirmation: Redis answered
    assert [r.id for r in ph.events()] == [first.record_id]


def test_redis_forgetting_costs_a_store_lookup_never_an_event(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    ph = make(tmp_path, redis_url=redis_url, redis_prefix=prefix)
    first = deliver(ph, REFUND)
    client = connect(redis_url).client()
    client.delete(*client.scan_iter(match=f"{prefix}*"))  # Redis lost its memory
    again = deliver(ph, REFUND)
    assert (again.status, again.record_id) == ("duplicate", first.record_id)
    assert [r.id for r in ph.events()] == [first.record_id]
    # And a repeat is remembered again for the next one.
    assert any(client.scan_iter(match=f"{prefix}seen:*"))
    client.close()


def test_an_event_another_store_holds_is_not_answered_for_this_one(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    """Two installations (two stores) sharing one Redis and prefix never answer for each
    other: the store is part of what is remembered."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = make(tmp_path / "one", redis_url=redis_url, redis_prefix=prefix)
    two = make(tmp_path / "two", redis_url=redis_url, redis_prefix=prefix)
    assert deliver(one, REFUND).status == "applied"
    assert deliver(two, REFUND).status == "applied"


def test_identical_deliveries_from_many_threads_with_redis_are_stored_once(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    ph = make(tmp_path, redis_url=redis_url, redis_prefix=prefix)
    number = submission(ph)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def one() -> None:
        found = deliver(ph, REFUND)
        with lock:
            outcomes.append(found)

    threads = [threading.Thread(target=one) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 16
    assert [o.status for o in outcomes].count("applied") == 1
    assert {o.record_id for o in outcomes} == {outcomes[0].record_id}
    assert [o.confirmed for o in outcomes if o.status == "applied"] == [(number,)]
    assert len(ph.events()) == 1
