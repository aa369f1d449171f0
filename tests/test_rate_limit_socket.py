"""Rate limits as the processor counts them: a sandbox on a real socket, limiting arrivals per
sliding second, and payhelp's batch lookup configured with the same limit. The server must see
no more than its limit in any sliding second and refuse nothing; a 429's ``Retry-After`` holds
back every worker of the batch until it has passed. Only events are counted, never durations.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from payhelp.api import Payhelp
from payhelp.batch_lookup import lookup_lines
from payhelp.http import AsyncClient
from payhelp.ratelimit import Pause
from payhelp.sandbox import Behaviour, Sandbox, SandboxServer

LIMIT = 20


def most_in_a_sliding_second(stamps: list[float]) -> int:
    ordered = sorted(stamps)
    return max((bisect.bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0)


@asynccontextmanager
async def serving(sandbox: Sandbox, behaviour: Behaviour) -> AsyncIterator[str]:
    server = SandboxServer({sandbox.processor: sandbox}, behaviour)
    port = await server.start("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await asyncio.wait_for(server.close(), 5)


@pytest.mark.parametrize("concurrency", [16, 50])
def test_a_batch_at_the_servers_own_limit_is_never_refused(concurrency: int) -> None:
    probe = Payhelp(load_plugins=["centrobill"])
    box = probe.host.sandbox(probe.processor("centrobill"))
    assert box is not None
    approved = box.cases()["approved"]
    arrivals: list[float] = []
    behaviour = Behaviour(
        rate_limit=f"{LIMIT}/second", observe=lambda _request: arrivals.append(time.monotonic())
    )
    lines = [json.dumps({"processor": "centrobill", "transaction_id": approved})] * 60

    async def scenario() -> list[str]:
        async with serving(box, behaviour) as url:
            settings = {
                "api_key": "test-key",
                "base_url": f"{url}/centrobill/",
                "rate_limit": f"{LIMIT}/second",
                "max_retries": 0,  # a refusal would show as an error line, not be hidden
            }
            ph = Payhelp(
                load_plugins=["centrobill"], processors={"centrobill": {"settings": settings}}
            )
            try:
                return [line async for line in lookup_lines(ph, lines, concurrency=concurrency)]
            finally:
                await ph.aclose()

    answers = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert len(answers) == 60
    assert not [a for a in answers if '"error"' in a]
    assert behaviour.limited == 0
    assert behaviour.served == len(arrivals) == 60
    assert behaviour.max_arrivals_in_window <= LIMIT
    assert most_in_a_sliding_second(arrivals) <= LIMIT


class FirstRefused:
    """Answers its first request 429 with ``Retry-After: 1`` at once, every other one after a
    short delay: the workers that got an answer want to send again while the pause lasts."""

    processor = "pausing"

    def __init__(self) -> None:
        self.refused_at: float | None = None

    def cases(self) -> dict[str, str]:
        return {"approved": "P1"}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.refused_at is None:
            self.refused_at = time.monotonic()
            return httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "slow down"})
        return httpx.Response(200, json={"id": "P1"}, headers={"X-Sandbox-Delay": "0.1"})


class PausingClient(AsyncClient):
    processor = "pausing"


def test_retry_after_holds_back_every_worker_until_it_has_passed() -> None:
    box = FirstRefused()
    arrivals: list[float] = []
    behaviour = Behaviour(observe=lambda _request: arrivals.append(time.monotonic()))
    workers, each = 4, 3

    async def scenario() -> None:
        async with serving(box, behaviour) as url:
            client = PausingClient(base_url=f"{url}/pausing/", max_retries=1, pause=Pause())

            async def worker() -> None:
                for _ in range(each):
                    answer = await client.request("GET", "payments/P1")
                    assert answer.status_code == 200

            try:
                await asyncio.gather(*(worker() for _ in range(workers)))
            finally:
                await client.aclose()

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert box.refused_at is not None
    # Every lookup arrived once, and the refused one once more.
    assert len(arrivals) == workers * each + 1
    ordered = sorted(arrivals)
    # The first four left together, before the 429 came back; after it, nothing arrived until
    # its Retry-After had passed, from any worker.
    later = ordered[workers:]
    assert later
    assert all(t >= box.refused_at + 1.0 for t in later)
