"""dispute reconcile: the API asked where there is one (and what it reports refunded confirmed,
once), the rest waiting or overdue with the channel to chase."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from payhelp import Payhelp
from payhelp import reconcile as module
from payhelp.errors import InvalidInputError

from .cli.conftest import run


def make(tmp_path: Path) -> Payhelp:
    return Payhelp(
        load_plugins=["centrobill", "webbilling"],
        store_url=f"sqlite:///{tmp_path / 'r.db'}",
        outbox=tmp_path / "outbox",
    )


def submit(
    ph: Payhelp, processor: str, transaction_id: str, channel: str = "auto", **extra: object
) -> str:
    receipt = ph.submit_dispute(
        processor,
        transaction={"transaction_id": transaction_id, **extra},
        reason="duplicate_charge",
        message="Charged twice.",
        contact_email="customer@example.org",
        channel=channel,  # type: ignore[arg-type]
        sandbox=True,
    )
    return receipt.idempotency_key


def test_a_refund_the_sandbox_api_reports_is_confirmed_once(tmp_path: Path) -> None:
    ph = make(tmp_path)
    # Written to CentroBill's support (so not credited through the API), then refunded by them:
    # the sandbox's "refunded" payment. And one still approved, not refunded.
    refunded = submit(ph, "centrobill", "511170301", channel="email")
    open_one = submit(ph, "centrobill", "511170003", channel="email", country="IT")
    items = {i.idempotency_key: i for i in ph.reconcile(sandbox=True, due_days=0)}
    assert items[refunded].state == "confirmed"
    assert items[refunded].checked_with == "api"
    assert ph.dispute(refunded, sandbox=True).status == "confirmed"
    evidence = ph.event(ph.dispute(refunded, sandbox=True).confirmed_by or 0, sandbox=True)
    assert evidence.event is not None
    assert evidence.event.event_id == f"lookup:{refunded}"
    assert items[open_one].state == "overdue"  # due_days=0: everything open is overdue
    assert items[open_one].processor_status == "approved"
    assert items[open_one].chase is not None  # CentroBill's channel for a customer in Italy
    # Asked again: the confirmed one is no longer open, nothing is confirmed twice.
    again = {i.idempotency_key: i for i in ph.reconcile(sandbox=True, due_days=0)}
    assert refunded not in again
    assert len(ph.events(sandbox=True)) == 1


def test_without_an_api_a_request_waits_then_is_overdue_with_whom_to_chase(
    tmp_path: Path,
) -> None:
    ph = make(tmp_path)
    key = submit(ph, "webbilling", "WB-1", channel="email", country="IT")
    (waiting,) = ph.reconcile(sandbox=True)
    assert (waiting.state, waiting.checked_with) == ("waiting", "none")
    later = datetime.now(UTC) + timedelta(days=8)
    store = ph.sandbox_store
    (overdue,) = module.reconcile(
        store,
        store.list(),
        can_look_up=lambda pid: False,
        look_up=lambda pid, query: pytest.fail("no API to ask"),
        chase=lambda pid, record: ph.contacts(pid, "IT").channels[0],
        due=timedelta(days=7),
        now=later,
    )
    assert overdue.idempotency_key == key
    assert overdue.state == "overdue"
    assert overdue.chase is not None
    assert overdue.chase.value == ph.contacts("webbilling", "IT").channels[0].value


def test_bad_arguments_are_typed_errors(tmp_path: Path) -> None:
    ph = make(tmp_path)
    for bad in ({"due_days": -1}, {"due_days": True}, {"limit": 0}, {"country": "Atlantis"}):
        with pytest.raises(InvalidInputError):
            ph.reconcile(**bad)  # type: ignore[arg-type]


def test_the_command_prints_the_reconciliation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAYHELP_STORE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PAYHELP_OUTBOX", str(tmp_path / "outbox"))
    code, _, err = run(
        capsys,
        "dispute",
        "submit",
        "--processor",
        "centrobill",
        "--transaction-id",
        "511170301",
        "--reason",
        "duplicate_charge",
        "--message",
        "Charged twice.",
        "--email",
        "customer@example.org",
        "--channel",
        "email",
        "--sandbox",
    )
    assert code == 0, err
    code, out, err = run(capsys, "dispute", "reconcile", "--sandbox", "--json")
    assert code == 0, err
    (item,) = json.loads(out)
    assert item["state"] == "confirmed"
    code, out, _ = run(capsys, "dispute", "reconcile", "--sandbox")
    assert code == 0
    assert "Reconciliation" in out
