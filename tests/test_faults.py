"""Fault injection: submissions through a real local server that fails in every way a network and a
processor can, counted at the server.

Whatever happens, three things hold: no transaction is refunded twice, the store never says
``failed`` (safe to send again) for a refund the server applied nor ``sent`` for one it did not,
and every submission can be found by its status - none is left ``pending``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from payhelp import AsyncPayhelp, Payhelp
from payhelp.cases import SubmissionStatus
from payhelp.errors import PayhelpError
from payhelp.store import SubmissionRecord

from .conftest import SyntheticPlugin, make_info
from .faults import (
    AFTER,
    ALL_FAULTS,
    BEFORE,
    FaultServer,
    FaultyPayPlugin,
    faultypay_settings,
    refund_fields,
    seeded,
)

ROOT = Path(__file__).resolve().parents[1]


def make(tmp_path: Path, server: FaultServer, cls: type[Any] = Payhelp, **settings: Any) -> Any:
    return cls(
        load_entry_points=False,
        plugins=[("faultypay", SyntheticPlugin(make_info("faultypay"))), ("fp", FaultyPayPlugin())],
        store_url=f"sqlite:///{tmp_path / 'store.db'}",
        outbox=tmp_path / "outbox",
        processors={"faultypay": {"settings": faultypay_settings(server.base_url, **settings)}},
    )


def check_truth(server: FaultServer, records: list[SubmissionRecord], transactions: list[str]):
    """The store against the server's count, transaction by transaction."""
    by_tx = {r.request["transaction"]["transaction_id"]: r for r in records}
    assert sorted(by_tx) == sorted(transactions), "every submission has its row"
    problems = []
    for tx in transactions:
        record, applied = by_tx[tx], server.applied[tx]
        if applied > 1:
            problems.append(f"{tx}: applied {applied} times")
        if record.status is SubmissionStatus.SENT and applied != 1:
            problems.append(f"{tx}: recorded sent, applied {applied} times")
        if record.status is SubmissionStatus.FAILED and applied != 0:
            problems.append(f"{tx}: recorded failed (safe to resend) but applied")
        if record.status not in (
            SubmissionStatus.SENT,
            SubmissionStatus.FAILED,
            SubmissionStatus.IN_DOUBT,
        ):
            problems.append(f"{tx}: left {record.status}")
    assert problems == []
    return {str(r.status) for r in records}


def _attempt(ph: Payhelp, tx: str) -> str:
    """What a caller does: submit; on a failure that says nothing was applied, try again."""
    for _ in range(5):
        try:
            receipt = ph.submit_dispute("faultypay", refund_fields(tx), channel="api")
        except PayhelpError as exc:
            # Every error says whether it may have been applied, and names its submission.
            if exc.maybe_applied is None or exc.idempotency_key is None:
                return f"unclear {type(exc).__name__}"
            if exc.maybe_applied:
                return "in_doubt"
            continue
        return str(receipt.status)
    return "failed"


@pytest.mark.parametrize("seed", [1, 2])
def test_every_fault_sync_no_duplicate_no_silent_loss(tmp_path: Path, seed: int) -> None:
    transactions = [f"TX-{seed}-{n}" for n in range(60)]
    with FaultServer(seeded(seed), timeout_hold=0.8) as server:
        ph = make(tmp_path, server)
        outcomes = {tx: _attempt(ph, tx) for tx in transactions}
        assert [o for o in outcomes.values() if o.startswith("unclear")] == []
        # A second round, as an impatient customer: nothing in doubt is sent again.
        received = sum(server.received.values())
        again = {tx: _attempt(ph, tx) for tx in transactions if outcomes[tx] == "in_doubt"}
        assert set(again.values()) <= {"in_doubt"}
        assert sum(server.received.values()) == received
        statuses = check_truth(server, ph.disputes(limit=1000), transactions)
        ph.close()
    # The schedule really exercised every kind of fault, before and after applying.
    assert set(server.faults) >= {*ALL_FAULTS, "ok"}
    assert {"sent", "in_doubt"} <= statuses


def test_every_fault_async_concurrently(tmp_path: Path) -> None:
    transactions = [f"ATX-{n}" for n in range(40)]

    async def one(ph: AsyncPayhelp, tx: str) -> None:
        for _ in range(5):
            try:
                await ph.submit_dispute("faultypay", refund_fields(tx), channel="api")
            except PayhelpError as exc:
                if exc.maybe_applied:
                    return
                continue
            return

    async def run(ph: AsyncPayhelp) -> list[SubmissionRecord]:
        await asyncio.gather(*(one(ph, tx) for tx in transactions))
        records = await ph.disputes(limit=1000)
        await ph.aclose()
        return records

    with FaultServer(seeded(7), timeout_hold=0.8) as server:
        records = asyncio.run(run(make(tmp_path, server, AsyncPayhelp)))
        check_truth(server, records, transactions)


@pytest.mark.parametrize("fault", AFTER)
def test_a_fault_after_the_refund_was_applied_is_in_doubt_and_never_resent(
    tmp_path: Path, fault: str
) -> None:
    with FaultServer(lambda _tx, _n: fault, timeout_hold=0.8) as server:
        ph = make(tmp_path, server)
        with pytest.raises(PayhelpError) as caught:
            ph.submit_dispute("faultypay", refund_fields("TX-1"), channel="api")
        assert caught.value.maybe_applied is True
        assert server.applied["TX-1"] == 1
        again = ph.submit_dispute("faultypay", refund_fields("TX-1"), channel="api")
        assert again.status is SubmissionStatus.IN_DOUBT
        assert again.replayed
        assert server.received["TX-1"] == 1
        assert [r.status for r in ph.disputes(status="in_doubt")] == [SubmissionStatus.IN_DOUBT]


@pytest.mark.parametrize("fault", BEFORE)
def test_a_refusal_before_applying_is_failed_or_retried_and_sent_once(
    tmp_path: Path, fault: str
) -> None:
    # The fault comes once; the caller's retry (or payhelp's own, for 429) goes through.
    with FaultServer(lambda _tx, n: fault if n == 1 else None) as server:
        ph = make(tmp_path, server)
        outcome = _attempt(ph, "TX-2")
        records = ph.disputes()
        if fault == "429":
            assert outcome == "sent"  # retried by payhelp: a 429 is a refusal
        assert server.applied["TX-2"] <= 1
        check_truth(server, records, ["TX-2"])


# -- killed mid-flight ------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from tests.test_faults import make_for_child
    ph = make_for_child(Path({tmp!r}), {url!r})
    ph.submit_dispute("faultypay", {{
        "transaction": {{"transaction_id": "TX-KILL", "descriptor": "FAULTYPAY*SHOP"}},
        "reason": "duplicate_charge", "message": "Charged twice.",
        "contact_email": "customer@example.org"}}, channel="api")
    """
)


def make_for_child(tmp_path: Path, url: str) -> Payhelp:
    return Payhelp(
        load_entry_points=False,
        plugins=[("faultypay", SyntheticPlugin(make_info("faultypay"))), ("fp", FaultyPayPlugin())],
        store_url=f"sqlite:///{tmp_path / 'store.db'}",
        outbox=tmp_path / "outbox",
        processors={"faultypay": {"settings": faultypay_settings(url, timeout=30)}},
    )


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_process_killed_mid_flight_leaves_a_row_in_doubt(tmp_path: Path, how: int) -> None:
    with FaultServer(lambda _tx, _n: "hang_after") as server:
        script = CHILD.format(root=str(ROOT), tmp=str(tmp_path), url=server.base_url)
        child = subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PAYHELP_DEBUG": ""},
        )
        try:
            assert server.holding.wait(30), "the child never reached the server"
            child.send_signal(how)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        server.release.set()
        ph = make_for_child(tmp_path, server.base_url)
        # The dead process's claim is found under in_doubt (not left pending), and recorded so.
        doubtful = ph.disputes(status="in_doubt")
        assert [r.request["transaction"]["transaction_id"] for r in doubtful] == ["TX-KILL"]
        assert ph.disputes(status="pending") == []
        assert "interrupted" in (doubtful[0].error or "")
        again = ph.submit_dispute("faultypay", refund_fields("TX-KILL"), channel="api")
        assert again.status is SubmissionStatus.IN_DOUBT
        assert server.received["TX-KILL"] == 1
        assert server.applied["TX-KILL"] == 1
