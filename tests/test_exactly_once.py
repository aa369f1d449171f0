"""Exactly once at the edges: a store that cannot be trusted, keys reused for other requests, claims
left by crashes and cancellations, many writers on one SQLite file, one object on two event loops,
keys that look like paths or card numbers, and a sandbox that touches nothing real."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from payhelp import AsyncPayhelp, Payhelp
from payhelp.cases import DisputeRequest, SubmissionStatus
from payhelp.errors import (
    CapabilityError,
    CardNumberError,
    IdempotencyConflictError,
    InvalidInputError,
    PayhelpError,
    StorageError,
    StoreIntegrityError,
)
from payhelp.redact import find_card_number
from payhelp.store import SubmissionStore, sandbox_url
from payhelp.submissions import idempotency_key

from .conftest import SyntheticPlugin, make_info
from .faults import FaultServer, FaultyPayPlugin, faultypay_settings, refund_fields

CARD = "4111111111111111"


def make(tmp_path: Path, server: FaultServer | None = None, **kwargs: Any) -> Payhelp:
    processors = {}
    if server is not None:
        processors["faultypay"] = {"settings": faultypay_settings(server.base_url)}
    kwargs.setdefault("store_url", f"sqlite:///{tmp_path / 'store.db'}")
    return Payhelp(
        load_plugins=["webbilling"],
        plugins=[("faultypay", SyntheticPlugin(make_info("faultypay"))), ("fp", FaultyPayPlugin())],
        outbox=tmp_path / "outbox",
        processors=processors,
        **kwargs,
    )


def webbilling_fields(tx: str = "WB-1") -> dict[str, Any]:
    return refund_fields(tx) | {"transaction": {"transaction_id": tx}}


# -- a store that cannot be trusted -----------------------------------------------------------------


def test_an_empty_store_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"")
    with pytest.raises(StoreIntegrityError, match=r"empty \(0 bytes\)") as caught:
        SubmissionStore(f"sqlite:///{path}")
    assert str(path) in str(caught.value)
    assert path.stat().st_size == 0  # never replaced by a fresh store
    ph = make(tmp_path)
    with pytest.raises(StoreIntegrityError):
        ph.submit_dispute("webbilling", webbilling_fields())
    assert not (tmp_path / "outbox").exists()  # nothing went out without a record


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"my notes, not a database\n" * 100)
    with pytest.raises(StoreIntegrityError, match="not a SQLite database"):
        SubmissionStore(f"sqlite:///{path}")
    assert path.read_bytes().startswith(b"my notes")


def test_another_programs_database_is_never_written_into(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StoreIntegrityError, match="not a payhelp submission store"):
        SubmissionStore(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"invoices"}


def test_a_damaged_store_is_refused_not_read_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    ph = make(tmp_path)
    for n in range(200):  # enough rows for several pages
        ph.submit_dispute("webbilling", webbilling_fields(f"WB-{n}"))
    ph.close()
    raw = bytearray(path.read_bytes())
    # Scribble over the middle pages, as a bad disk or a half-copied file would.
    for offset in range(4096 * 2, min(len(raw), 4096 * 6)):
        raw[offset] = 0xA5
    path.write_bytes(bytes(raw))
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with pytest.raises(StoreIntegrityError, match="damaged"):
        SubmissionStore(f"sqlite:///{path}")


def test_a_store_path_that_is_a_folder_is_an_environment_error(tmp_path: Path) -> None:
    (tmp_path / "store.db").mkdir()
    with pytest.raises(StorageError, match="not a regular file"):
        SubmissionStore(f"sqlite:///{tmp_path / 'store.db'}")


def test_a_data_folder_that_is_a_file_is_an_environment_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where a folder should be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    with pytest.raises(StorageError, match="data folder") as caught:
        SubmissionStore()
    assert not isinstance(caught.value, InvalidInputError)  # the CLI exits 1, not 2


def test_a_new_store_opened_by_many_at_once_is_one_whole_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    errors: list[BaseException] = []

    def open_and_claim(n: int) -> None:
        try:
            store = SubmissionStore(url)
            store.claim(f"k-{n}", "webbilling", "other", {"transaction": {"n": n}})
            store.close()
        except BaseException as exc:  # pragma: no cover - what the test is for
            errors.append(exc)

    threads = [threading.Thread(target=open_and_claim, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(SubmissionStore(url).list(limit=100)) == 12
    assert [p.name for p in tmp_path.iterdir() if ".new" in p.name] == []


# -- a key reused for another request -------------------------------------------------------------


def test_a_key_reused_for_another_transaction_is_refused(tmp_path: Path) -> None:
    ph = make(tmp_path)
    first = ph.submit_dispute("webbilling", webbilling_fields("WB-1"), idempotency_key="order-9")
    with pytest.raises(IdempotencyConflictError, match="different request") as caught:
        ph.submit_dispute("webbilling", webbilling_fields("WB-2"), idempotency_key="order-9")
    assert caught.value.maybe_applied is False
    assert caught.value.key == "order-9"
    assert [r.idempotency_key for r in ph.disputes()] == ["order-9"]
    assert ph.dispute("order-9").receipt == first
    # Another amount asked back is another request too.
    with pytest.raises(IdempotencyConflictError):
        ph.submit_dispute(
            "webbilling",
            webbilling_fields("WB-1") | {"amount": {"amount": "1.00", "currency": "EUR"}},
            idempotency_key="order-9",
        )


def test_a_key_reused_at_another_processor_is_refused(tmp_path: Path) -> None:
    with FaultServer() as server:
        ph = make(tmp_path, server)
        ph.submit_dispute("webbilling", webbilling_fields("TX-1"), idempotency_key="k-1")
        with pytest.raises(IdempotencyConflictError):
            ph.submit_dispute(
                "faultypay", refund_fields("TX-1"), channel="api", idempotency_key="k-1"
            )
        assert server.received == Counter()


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../x",
        "/etc/passwd",
        "a/b",
        "..",
        "k" * 101,
        "key with spaces",
        "ключ",
        "a\nb",
        CARD,
        "order-4111-1111-1111-1111",
        "order:4111:1111:1111:1111",
    ],
)
def test_bad_idempotency_keys_are_refused_before_anything(tmp_path: Path, key: str) -> None:
    ph = make(tmp_path)
    with pytest.raises(InvalidInputError) as caught:
        ph.submit_dispute("webbilling", webbilling_fields(), idempotency_key=key)
    if "1111" in key:
        assert isinstance(caught.value, CardNumberError)
    assert CARD not in str(caught.value)
    assert ph.disputes() == []
    assert not (tmp_path / "outbox").exists()
    assert not Path("/x.eml").exists()


# -- claims left behind --------------------------------------------------------------------------


def test_a_claim_abandoned_in_this_process_is_settled_in_doubt(tmp_path: Path) -> None:
    store = SubmissionStore(f"sqlite:///{tmp_path / 'store.db'}")
    claim = store.claim("k-1", "webbilling", "other", {"transaction": {}})
    assert claim.fresh
    # Held by its claimant from the start: a listing meanwhile leaves it pending.
    assert [r.idempotency_key for r in store.list(status="pending")] == ["k-1"]
    with store.sending("k-1"):
        pass  # the sender ended without recording an answer (its thread died mid-send)
    # Nobody holds it any more: a listing finds it in doubt.
    assert [r.idempotency_key for r in store.list(status="in_doubt")] == ["k-1"]
    with store.sending("k-2"):
        store.claim("k-2", "webbilling", "other", {"transaction": {}})
        # Being sent right now: it stays pending, and a repeat does not take it.
        assert [r.idempotency_key for r in store.list(status="pending")] == ["k-2"]
        assert not store.claim("k-2", "webbilling", "other", {"transaction": {}}).fresh


def test_another_store_on_the_same_file_sees_the_claim_held(tmp_path: Path) -> None:
    # A second store object in the process (another Payhelp, or the same one reopened after
    # aclose()) once took a claim still being sent for abandoned, and the sender's answer then
    # overwrote its 'in doubt'. The hold is the process's, whoever opened the store.
    sender = SubmissionStore(f"sqlite:///{tmp_path / 'store.db'}")
    other = SubmissionStore(f"sqlite:///{tmp_path / '.' / 'store.db'}")  # written another way
    assert sender.claim("k-1", "webbilling", "other", {"transaction": {}}).fresh
    assert other.settle_abandoned() == 0
    assert [r.idempotency_key for r in other.list(status="pending")] == ["k-1"]
    with sender.sending("k-1"):
        pass  # the sender ends without an answer recorded
    assert [r.idempotency_key for r in other.list(status="in_doubt")] == ["k-1"]


def test_async_callers_timing_out_leave_no_claim_pending(tmp_path: Path) -> None:
    transactions = [f"C-{n}" for n in range(40)]

    async def run(ph: AsyncPayhelp) -> None:
        for n, tx in enumerate(transactions):
            # Timeouts that land everywhere: in the claim, in the send, after the answer.
            with_timeout = asyncio.wait_for(
                ph.submit_dispute("faultypay", refund_fields(tx), channel="api"),
                timeout=0.0005 * (n % 12),
            )
            with contextlib.suppress(TimeoutError, PayhelpError):
                await with_timeout
        await ph.aclose()

    with FaultServer() as server:
        ph = AsyncPayhelp(
            load_entry_points=False,
            plugins=[
                ("faultypay", SyntheticPlugin(make_info("faultypay"))),
                ("fp", FaultyPayPlugin()),
            ],
            store_url=f"sqlite:///{tmp_path / 'store.db'}",
            processors={"faultypay": {"settings": faultypay_settings(server.base_url)}},
        )
        asyncio.run(run(ph))
        sync = ph.sync
        # The store threads finish what cancelled callers left them: every claim soon ends.
        # (Generous: on a loaded machine the store threads may queue behind each other.)
        deadline = time.monotonic() + 30
        while sync.disputes(status="pending") and time.monotonic() < deadline:
            time.sleep(0.05)
        records = sync.disputes(limit=100)
        pending = [
            (r.request["transaction"]["transaction_id"], r.attempts, r.error, r.updated_at)
            for r in records
            if r.status == "pending"
        ]
        assert pending == [], [r.status for r in records]
        for record in records:
            tx = record.request["transaction"]["transaction_id"]
            if record.status is SubmissionStatus.FAILED:
                assert server.applied[tx] == 0
            if record.status is SubmissionStatus.SENT:
                assert server.applied[tx] == 1
        # Everything given back (or never claimed) goes through on a retry, once; what was
        # cancelled mid-send is in doubt and is not sent again.
        doubtful = {
            r.request["transaction"]["transaction_id"]
            for r in records
            if r.status is SubmissionStatus.IN_DOUBT
        }
        before = dict(server.received)
        for tx in transactions:
            receipt = sync.submit_dispute("faultypay", refund_fields(tx), channel="api")
            if tx in doubtful:
                assert receipt.status is SubmissionStatus.IN_DOUBT
                assert server.received[tx] == before.get(tx, 0)
            else:
                assert server.applied[tx] == 1
        assert max(server.applied.values()) == 1


def _hammer(args: tuple[str, str, int]) -> list[str]:
    """One of eight processes: eight threads submitting the same six refunds."""
    root, url, _n = args
    ph = Payhelp(
        load_entry_points=False,
        plugins=[("faultypay", SyntheticPlugin(make_info("faultypay"))), ("fp", FaultyPayPlugin())],
        store_url=f"sqlite:///{root}/store.db",
        processors={"faultypay": {"settings": faultypay_settings(url, timeout=20)}},
    )
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for tx in range(6):
            try:
                receipt = ph.submit_dispute("faultypay", refund_fields(f"H-{tx}"), channel="api")
                outcome = "replayed" if receipt.replayed else str(receipt.status)
            except PayhelpError as exc:
                outcome = f"error {type(exc).__name__}: {exc}"
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ph.close()
    return outcomes


HAMMER = (
    "import json, sys; sys.path.insert(0, {root!r}); "
    "from tests.test_exactly_once import _hammer; "
    "print(json.dumps(_hammer(({tmp!r}, {url!r}, 0))))"
)


def test_eight_processes_of_eight_threads_on_one_sqlite_store(tmp_path: Path) -> None:
    root = str(Path(__file__).resolve().parents[1])
    with FaultServer() as server:
        script = HAMMER.format(root=root, tmp=str(tmp_path), url=server.base_url)
        children = [
            subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
            for _ in range(8)
        ]
        results = []
        for child in children:
            out, _ = child.communicate(timeout=240)
            assert child.returncode == 0
            results.append(json.loads(out))
        outcomes = [o for result in results for o in result]
        assert len(outcomes) == 8 * 8 * 6
        assert [o for o in outcomes if o.startswith("error")] == []
        assert Counter(server.applied.values()) == Counter({1: 6})  # each refund once
        store = SubmissionStore(f"sqlite:///{tmp_path / 'store.db'}")
        assert {str(r.status) for r in store.list(limit=100)} == {"sent"}


def test_one_payhelp_on_two_event_loops(tmp_path: Path) -> None:
    with FaultServer() as server:
        ph = make(tmp_path, server)
        first = asyncio.run(ph.asubmit_dispute("faultypay", refund_fields("L-1"), channel="api"))
        second = asyncio.run(ph.asubmit_dispute("faultypay", refund_fields("L-2"), channel="api"))
        assert first.status is second.status is SubmissionStatus.SENT
        assert dict(server.applied) == {"L-1": 1, "L-2": 1}


# -- the sandbox touches nothing real ---------------------------------------------------------------


def test_sandbox_url_keeps_sandbox_rows_apart(tmp_path: Path) -> None:
    real = f"sqlite:///{tmp_path / 'store.db'}"
    assert sandbox_url(real) == f"sqlite:///{tmp_path / 'store.sandbox.db'}"
    assert sandbox_url("sqlite://") == "sqlite://"
    assert sandbox_url("postgresql://u:p@db/x").endswith("sandbox/submissions.sqlite3")


def test_generated_keys_never_look_like_card_numbers() -> None:
    rehashed = 0
    for n in range(3000):
        request = DisputeRequest.model_validate(webbilling_fields(f"WB-{n}"), strict=False)
        key = idempotency_key("webbilling", request)
        assert find_card_number(key) is None
        assert key == idempotency_key("webbilling", request)  # still deterministic
        body = request.model_dump(mode="json", exclude={"attachments"})
        body["attachments"] = []
        canonical = json.dumps(["webbilling", body], sort_keys=True, separators=(",", ":"))
        naive = "ph_" + hashlib.sha256(canonical.encode()).hexdigest()[:40]
        rehashed += naive != key
    # About one hash in four hundred holds a Luhn-valid run: those, and only those, changed.
    assert 1 <= rehashed <= 30


def test_a_large_store_is_checked_for_truncation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Above the full-check size (made tiny here) a store is checked by its length.
    monkeypatch.setattr("payhelp.store.FULL_CHECK_BYTES", 0)
    path = tmp_path / "store.db"
    ph = make(tmp_path)
    for n in range(100):
        ph.submit_dispute("webbilling", webbilling_fields(f"WB-{n}"))
    ph.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    SubmissionStore(f"sqlite:///{path}").close()  # whole: opens
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 4096])  # a copy cut short
    with pytest.raises(StoreIntegrityError, match="damaged"):
        SubmissionStore(f"sqlite:///{path}")


def test_a_store_made_by_an_older_payhelp_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE payhelp_submissions (id INTEGER PRIMARY KEY, idempotency_key "
            "VARCHAR(100) NOT NULL UNIQUE, processor VARCHAR(40) NOT NULL, reason VARCHAR(40) "
            "NOT NULL, status VARCHAR(20) NOT NULL, request TEXT NOT NULL, receipt TEXT, error "
            "TEXT, attempts INTEGER NOT NULL, created_at DATETIME NOT NULL, updated_at DATETIME "
            "NOT NULL)"
        )
        conn.execute(
            "INSERT INTO payhelp_submissions VALUES (1, 'k', 'webbilling', 'other', 'pending', "
            "'{}', NULL, NULL, 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    store = SubmissionStore(f"sqlite:///{path}")
    # Its pending row has no lease (an older process that stopped): it is in doubt.
    assert [(r.idempotency_key, str(r.status)) for r in store.list()] == [("k", "in_doubt")]
    store.close()
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(payhelp_submissions)")}
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(payhelp_submissions)")}
    assert {"lease_owner", "lease_until"} <= columns
    assert "ix_payhelp_submissions_status" in indexes


@pytest.mark.parametrize("spellings", [("1", "1.0", "1.00"), ("5", "5.00", "05", "5e0")])
def test_one_amount_written_several_ways_is_one_request(
    tmp_path: Path, spellings: tuple[str, ...]
) -> None:
    ph = make(tmp_path)
    receipts = [
        ph.submit_dispute(
            "webbilling",
            webbilling_fields("WB-1")
            | {
                "transaction": {
                    "transaction_id": "WB-1",
                    "amount": {"amount": "29.95", "currency": "USD"},
                },
                "amount": {"amount": amount, "currency": "USD"},
            },
        )
        for amount in spellings
    ]
    assert len({r.idempotency_key for r in receipts}) == 1
    assert [r.replayed for r in receipts] == [False] + [True] * (len(spellings) - 1)
    assert len(list((tmp_path / "outbox").iterdir())) == 1


def test_a_refusal_found_before_sending_is_failed_not_in_doubt(tmp_path: Path) -> None:
    ph = Payhelp(
        load_plugins=["segpay"],
        store_url=f"sqlite:///{tmp_path / 'store.db'}",
        outbox=tmp_path / "outbox",
    )
    fields = refund_fields("700000001") | {
        "transaction": {
            "transaction_id": "700000001",
            "amount": {"amount": "29.95", "currency": "USD"},
        },
        "amount": {"amount": "1", "currency": "USD"},
    }
    with pytest.raises(CapabilityError, match="whole transaction") as caught:
        ph.submit_dispute("segpay", fields, channel="api", sandbox=True)
    assert caught.value.maybe_applied is False
    assert [str(r.status) for r in ph.disputes(sandbox=True)] == ["failed"]
