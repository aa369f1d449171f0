"""payhelp's own Celery app as a deployment runs it (``celery -A payhelp.workers worker``,
configured only by the environment), driven from the CLI: ``lookup --batch --celery`` and
``dispute reconcile --celery``; and what registration does without any worker.

The worker tests need a real Redis (``PAYHELP_TEST_REDIS_URL``; ``.ci/run`` starts one) and are
skipped with that reason without one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery

from payhelp.api import Payhelp
from payhelp.errors import ConfigurationError
from payhelp.workers import BrokerError, own_app, register

from .cli.conftest import run
from .test_reconcile import submit
from .test_shared_redis import forget, new_prefix

URL = os.environ.get("PAYHELP_TEST_REDIS_URL")
APPROVED = "511170001"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Two workers of payhelp's own app, and the environment the CLI shares with them."""
    if not URL:
        pytest.skip("no Redis: set PAYHELP_TEST_REDIS_URL (.ci/run starts one)")
    folder = tmp_path_factory.mktemp("deployment")
    queue = f"payhelp-cli-{uuid.uuid4().hex[:8]}"
    env = {
        "PAYHELP_BROKER_URL": URL,
        "PAYHELP_REDIS_URL": URL,
        "PAYHELP_REDIS_PREFIX": new_prefix(),
        "PAYHELP_STORE_URL": f"sqlite:///{folder / 'store.db'}",
        "PAYHELP_OUTBOX": str(folder / "outbox"),
        "PAYHELP_LOAD_PLUGINS": "centrobill,webbilling",
        "PAYHELP_WORKER_QUEUE": queue,  # the workers take it, the CLI sends to it
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAYHELP_")}
    workers = []
    for n in range(2):
        log = (folder / f"worker{n}.log").open("wb")
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "payhelp.workers",
                    "worker",
                    "--pool",
                    "solo",
                    "--hostname",
                    f"cli{n}@%h",
                    "--without-mingle",
                    "--without-gossip",
                    "--loglevel",
                    "INFO",
                ],
                env={**clean, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    try:
        for n in range(2):
            deadline = time.monotonic() + 60
            while "ready." not in (folder / f"worker{n}.log").read_text(errors="replace"):
                assert time.monotonic() < deadline, "a worker did not start"
                assert workers[n].poll() is None, (folder / f"worker{n}.log").read_text()
                time.sleep(0.1)
        yield env
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(30)
        forget(URL, env["PAYHELP_REDIS_PREFIX"])


@pytest.fixture
def cli_env(deployment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in [k for k in os.environ if k.startswith("PAYHELP_") and k not in deployment]:
        monkeypatch.delenv(name)
    for name, value in deployment.items():
        monkeypatch.setenv(name, value)
    return deployment


@pytest.mark.celery
@pytest.mark.redis
def test_lookup_batch_on_the_workers_answers_every_line_once(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines = [
        json.dumps({"processor": "centrobill", "transaction_id": APPROVED, "ref": n})
        for n in range(40)
    ]
    lines.insert(10, "{not json")
    lines.insert(20, "")
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "lookup", "--batch", str(batch), "--celery", "--sandbox")
    answers = [json.loads(line) for line in out.splitlines()]
    assert code == 2  # one line was bad: said on stderr, as without workers
    assert err.count("\n") == 1
    assert "line 11:" in err
    assert "Traceback" not in err
    assert sorted(a["line"] for a in answers) == [n for n in range(1, 43) if n != 21]
    good = [a for a in answers if "error" not in a]
    assert len(good) == 40
    assert {a["status"] for a in good} == {"approved"}
    assert sorted(a["ref"] for a in good) == list(range(40))


@pytest.mark.celery
@pytest.mark.redis
def test_reconcile_on_the_workers_confirms_what_the_api_reports(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ph = Payhelp()  # the deployment's configuration, from the environment
    refunded = submit(ph, "centrobill", "511170301", channel="email")
    still_open = submit(ph, "centrobill", "511170003", channel="email", country="IT")
    written = submit(ph, "webbilling", "WB-1", channel="email")
    ph.close()
    code, out, err = run(
        capsys, "dispute", "reconcile", "--celery", "--sandbox", "--due-days", "0", "--json"
    )
    assert code == 0, err
    items = {item["idempotency_key"]: item for item in json.loads(out)}
    assert set(items) == {refunded, still_open, written}
    assert items[refunded]["state"] == "confirmed"
    assert items[still_open]["state"] == "overdue"
    assert items[still_open]["checked_with"] == "api"
    assert items[written]["checked_with"] == "none"
    # Done on the workers, recorded in the store every process shares.
    again = Payhelp()
    assert again.dispute(refunded, sandbox=True).status == "confirmed"
    again.close()


@pytest.mark.celery
@pytest.mark.redis
def test_what_beat_runs_reconciles_on_the_workers(cli_env: dict[str, str]) -> None:
    """``payhelp.reconcile_all``, the task beat's schedule names, sent as beat sends it: the
    workers list the open submissions, fan them out and confirm what the API reports."""
    ph = Payhelp()
    # A request of its own (another country): nothing else in this module reconciles it.
    refunded = submit(ph, "centrobill", "511170301", channel="email", country="DE")
    assert ph.dispute(refunded, sandbox=True).status != "confirmed"
    tasks = register(own_app(ph.settings), payhelp=lambda: ph)
    tasks.tasks["payhelp.reconcile_all"].apply_async(kwargs={"sandbox": True, "due_days": 0})
    deadline = time.monotonic() + 60
    while ph.dispute(refunded, sandbox=True).status != "confirmed":
        assert time.monotonic() < deadline, "the workers did not reconcile it"
        time.sleep(0.2)
    ph.close()


def test_registering_is_one_line_once_with_an_optional_beat_schedule() -> None:
    app = Celery("platform", broker="memory://", set_as_current=False)
    tasks = register(app, reconcile_every=timedelta(hours=1))
    assert register(app) is tasks
    assert {"payhelp.lookup_chunk", "payhelp.reconcile_chunk", "payhelp.reconcile_all"} <= set(
        app.tasks
    )
    chunk = app.tasks["payhelp.lookup_chunk"]
    assert (chunk.acks_late, chunk.reject_on_worker_lost) == (True, True)
    assert app.conf.beat_schedule["payhelp-reconcile"] == {
        "task": "payhelp.reconcile_all",
        "schedule": 3600.0,
    }


def test_bad_registrations_and_missing_settings_are_typed_errors(tmp_path: Path) -> None:
    app = Celery("platform", broker="memory://", set_as_current=False)
    with pytest.raises(ConfigurationError, match="Celery app"):
        register("app")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="reconcile_every"):
        register(Celery("p", set_as_current=False), reconcile_every=5)
    with pytest.raises(ConfigurationError, match="broker_url"):
        own_app(Payhelp(load_plugins=["centrobill"]).settings)
    no_redis = register(app, payhelp=lambda: Payhelp(load_plugins=["centrobill"]))
    with pytest.raises(ConfigurationError, match="redis_url"):
        list(no_redis.lookup(['{"processor": "centrobill", "transaction_id": "1"}']))


def test_a_broker_that_is_not_there_is_a_typed_error(tmp_path: Path) -> None:
    ph = Payhelp(
        load_plugins=["centrobill"],
        broker_url="redis://127.0.0.1:1/0",
        redis_url="redis://127.0.0.1:1/0",
        store_url=f"sqlite:///{tmp_path / 's.db'}",
    )
    tasks = register(own_app(ph.settings), payhelp=lambda: ph)
    with pytest.raises(BrokerError, match="broker"):
        list(tasks.lookup(['{"processor": "centrobill", "transaction_id": "1"}']))
