"""payhelp's Celery tasks on real workers: three ``celery worker`` processes with a real Redis as
broker and shared state, and one sandbox processor on a real socket with a rate limit that counts
every arrival. 20,000 lookups complete; the sandbox never sees its limit exceeded; a worker
killed mid-run loses nothing, and the only requests sent twice are the ones it had in flight.

Nothing is mocked. Without ``PAYHELP_TEST_REDIS_URL`` (``.ci/run`` starts a Redis) every test is
skipped, with that reason. Only events are counted, never durations.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from payhelp.sandbox import Behaviour

from .test_rate_limit_socket import most_in_a_sliding_second
from .test_shared_redis import forget, new_prefix, sandbox_on_a_socket

pytestmark = [pytest.mark.celery, pytest.mark.redis]

URL = os.environ.get("PAYHELP_TEST_REDIS_URL")
SUPPORT = Path(__file__).parent / "celery_support"
LIMIT = 600
LOOKUPS = 20_000
#: Lookups in flight at once in one worker (the tasks' concurrency).
CONCURRENCY = 16


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    if not URL:
        pytest.skip("no Redis: set PAYHELP_TEST_REDIS_URL (.ci/run starts one)")
    prefix = new_prefix()
    env = {
        "PAYHELP_TEST_BROKER": URL,
        "PAYHELP_TEST_REDIS_URL": URL,
        "PAYHELP_TEST_REDIS_PREFIX": prefix,
        "PAYHELP_TEST_RATE_LIMIT": f"{LIMIT}/second",
        "PAYHELP_TEST_STORE_URL": f"sqlite:///{tmp_path / 'workers.db'}",
    }
    yield env
    forget(URL, prefix)


def platform_app(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The platform's app module, in this process too (the caller sends the tasks)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(SUPPORT))
    sys.modules.pop("payhelp_test_celery", None)
    return importlib.import_module("payhelp_test_celery")


def start_worker(name: str, queue: str, env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "payhelp_test_celery",
        "worker",
        "--pool",
        "solo",
        "--queues",
        queue,
        "--hostname",
        f"{name}@%h",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "--loglevel",
        "WARNING",
    ]
    path = os.pathsep.join([str(SUPPORT), os.environ.get("PYTHONPATH", "")])
    with (logs / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            command,
            env={**os.environ, **env, "PYTHONPATH": path},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(5)


def test_three_workers_twenty_thousand_lookups_one_killed_nothing_lost_nothing_twice(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    arrivals: list[float] = []
    asked: Counter[str] = Counter()

    def observe(request: Any) -> None:
        arrivals.append(time.monotonic())
        asked[request.url.path.rsplit("/", 1)[-1]] += 1

    behaviour = Behaviour(rate_limit=f"{LIMIT}/second", observe=observe)
    queue = f"payhelp-test-{uuid.uuid4().hex[:8]}"
    lines = [
        json.dumps({"processor": "centrobill", "transaction_id": f"9{n:08d}", "ref": n})
        for n in range(LOOKUPS)
    ]
    with sandbox_on_a_socket(behaviour) as (base_url, _approved):
        env = {**environment, "PAYHELP_TEST_SANDBOX_URL": base_url}
        module = platform_app(env, monkeypatch)
        workers = [start_worker(f"w{n}", queue, env, tmp_path) for n in range(3)]
        answers: list[dict[str, Any]] = []
        killed = False
        try:
            stream = module.payhelp_tasks.lookup(
                lines, chunk_size=200, concurrency=CONCURRENCY, queue=queue, timeout=90
            )
            for line in stream:
                answers.append(json.loads(line))
                if not killed and len(answers) == LOOKUPS // 4:
                    os.killpg(workers[0].pid, signal.SIGKILL)  # mid-chunk, no warning
                    killed = True
        finally:
            stop(workers)
    assert killed
    assert workers[0].returncode == -signal.SIGKILL
    # Nothing lost, nothing answered twice: one answer for every line, with its own ref.
    assert len(answers) == LOOKUPS
    assert sorted(a["line"] for a in answers) == list(range(1, LOOKUPS + 1))
    assert all(a["ref"] == a["line"] - 1 for a in answers)
    # Every lookup reached the processor (these ids are unknown there: 404, not found)...
    assert Counter(a.get("error_type") for a in answers) == {"NotFoundError": LOOKUPS}
    assert set(asked) == {f"9{n:08d}" for n in range(LOOKUPS)}
    # ...within its limit, counted per sliding second as it counts, and never refused.
    assert behaviour.limited == 0
    assert behaviour.max_arrivals_in_window <= LIMIT
    assert most_in_a_sliding_second(arrivals) <= LIMIT
    # Sent twice: only what the killed worker had in flight when it died, never more.
    twice = [tid for tid, count in asked.items() if count > 1]
    assert len(twice) <= CONCURRENCY
    assert max(asked.values()) <= 2
