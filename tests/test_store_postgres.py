"""The store on a real PostgreSQL (``PAYHELP_TEST_POSTGRES_URL``; ``.ci/run`` starts one): the same
exactly-once guarantees as SQLite, across threads and across processes.

Nothing here is mocked. Without the variable every test is skipped, with that reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from payhelp.migrations import VERSION_TABLE
from payhelp.notifications import NotificationEvent
from payhelp.store import SubmissionStore, metadata

from .test_notifications import REFUND, deliver, make, submission

pytestmark = pytest.mark.postgres

URL = os.environ.get("PAYHELP_TEST_POSTGRES_URL")


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not URL:
        pytest.skip("no PostgreSQL: set PAYHELP_TEST_POSTGRES_URL (.ci/run starts one)")
    _drop_store(URL)  # every test starts from an empty database
    yield URL
    _drop_store(URL)


def _drop_store(url: str) -> None:
    """The store's tables and the table that records their schema revision."""
    engine = create_engine(url)
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
    engine.dispose()


def test_the_store_creates_its_tables_and_claims_once(pg_url: str) -> None:
    store = SubmissionStore(pg_url)
    try:
        first = store.claim(
            "k-1", "acme", "duplicate_charge", {"transaction": {"transaction_id": "T"}}
        )
        again = store.claim(
            "k-1", "acme", "duplicate_charge", {"transaction": {"transaction_id": "T"}}
        )
        assert (first.fresh, again.fresh) == (True, False)
        assert store.get("k-1") is not None
        assert [r.idempotency_key for r in store.list()] == ["k-1"]
    finally:
        store.close()


def test_one_event_from_many_threads_is_stored_once(pg_url: str) -> None:
    store = SubmissionStore(pg_url)
    event = NotificationEvent(processor="acme", event_id="e-1", kind="sale", transaction_id="T")
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(
                pool.map(
                    lambda _: store.record_event(
                        event, remote_addr=None, received_at=datetime.now(UTC)
                    ),
                    range(64),
                )
            )
        assert [r.fresh for r in results].count(True) == 1
        assert len({r.record.id for r in results}) == 1
    finally:
        store.close()


def test_notifications_are_applied_once_and_confirm_on_postgres(
    pg_url: str, tmp_path: Path
) -> None:
    ph = make(tmp_path, store_url=pg_url)
    number = submission(ph)
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(lambda _: deliver(ph, REFUND), range(50)))
    assert [o.status for o in outcomes].count("applied") == 1
    assert ph.dispute(number).status == "confirmed"
    ph.close()


#: One process of the eight: the same request, the same key, to the same store and outbox.
_SUBMITTER = textwrap.dedent(
    """
    import json, sys
    from payhelp import Payhelp
    ph = Payhelp(load_plugins=["webbilling"], store_url=sys.argv[1], outbox=sys.argv[2])
    receipt = ph.submit_dispute(
        "webbilling",
        transaction={"transaction_id": "WB-8"},
        reason="duplicate_charge",
        message="Charged twice.",
        contact_email="customer@example.org",
        idempotency_key="order-8",
    )
    print(json.dumps({"status": receipt.status.value, "location": receipt.location}))
    """
)


def test_eight_processes_submitting_the_same_key_send_once(pg_url: str, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    SubmissionStore(pg_url).close()  # the tables, before the race
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYHELP_")}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _SUBMITTER, pg_url, str(outbox)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    answers = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        answers.append(json.loads(out))
    written = sorted(outbox.iterdir())
    assert len(written) == 1  # one message, whoever won the claim
    # Each process either has the receipt of the one that sent, or (when it asked while that one
    # was still sending) an in_doubt receipt that sends nothing and says why.
    assert str(written[0]) in {a["location"] for a in answers}
    for answer in answers:
        assert answer["location"] == str(written[0]) or answer["status"] == "in_doubt", answer
    store = SubmissionStore(pg_url)
    try:
        (record,) = store.list()
        assert record.attempts == 1
    finally:
        store.close()
