"""The card-number sweep: a unique card number in every field of every API method and command, in
four spellings, and none of it anywhere afterwards - not in what is returned or raised, not in
the logs, the files payhelp writes (store, outbox, sandbox store), nor in the requests the
sandboxes receive.

A field may refuse the number (``CardNumberError``, never echoing it) or, for the customer's own
words, mask it; either way the sweep looks for the digits in every spelling, with separators and
URL escapes taken out, so a leak in any form is found.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from payhelp import AsyncPayhelp, Payhelp
from payhelp.cli import main
from payhelp.errors import PayhelpError
from payhelp.sandbox import Behaviour

from .conftest import dispute_fields

_counter = itertools.count(1)


def unique_card() -> str:
    """A new Luhn-valid 16-digit Visa-like number."""
    body = f"4{next(_counter) * 7919 + 10_000_000_000_000:014d}"[:15]
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def _groups(digits: str) -> list[str]:
    return [digits[i : i + 4] for i in range(0, len(digits), 4)]


SPELLINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda d: d,
    "spaced": lambda d: " ".join(_groups(d)),
    "plus": lambda d: "+".join(_groups(d)),
    "percent": lambda d: "%20".join(_groups(d)),
}
_SEPARATORS = re.compile(
    r"%(?:20|2[bBdDfF]|2[eE]|5[fF])|\\u00a0|[\s+\-._/:=,'\"\\\u200b-\u200d\u2060]"
)


def leaks(text: str, digits: str) -> bool:
    """Whether ``digits`` stand in ``text`` in any spelling."""
    flat = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    return digits in flat


class World:
    """One Payhelp in a temporary folder, with every place a number could end up."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen: list[httpx.Request] = []
        self.settings: dict[str, Any] = {
            "store_url": f"sqlite:///{root / 'store.db'}",
            "outbox": root / "outbox",
            "load_plugins": ["segpay", "epoch", "centrobill", "webbilling", "wtseticket"],
        }

    def payhelp(self, cls: type[Any] = Payhelp) -> Any:
        return cls(
            sandbox_behaviour=Behaviour(observe=self.seen.append),
            load_entry_points=True,
            **self.settings,
        )

    def places(self) -> Iterator[tuple[str, str]]:
        for request in self.seen:
            yield f"request {request.method} {request.url}", f"{request.url} {request.headers}"
            yield f"request body {request.url}", request.content.decode("latin-1")
        for path in self.root.rglob("*"):
            if path.is_file():
                yield f"file {path.relative_to(self.root)}", path.read_bytes().decode("latin-1")


def _texts(result: object) -> Iterator[str]:
    yield repr(result)
    yield str(result)
    if isinstance(result, BaseModel):
        yield result.model_dump_json()
    if isinstance(result, list | tuple):
        for item in result:
            yield from _texts(item)
    if isinstance(result, BaseException):
        yield " ".join(map(str, result.args))
        if result.__cause__ is not None:
            yield from _texts(result.__cause__)


def _sweep(world: World, caplog: pytest.LogCaptureFixture, run: Callable[[], object], digits: str):
    with caplog.at_level(logging.DEBUG):
        try:
            outcome: object = run()
        except PayhelpError as exc:
            outcome = exc
    found = [where for where, text in world.places() if leaks(text, digits)]
    found += ["result or error" for text in _texts(outcome) if leaks(text, digits)]
    found += ["logs" for record in caplog.records if leaks(record.getMessage(), digits)]
    found += ["log text" for _ in [caplog.text] if leaks(caplog.text, digits)]
    assert found == [], f"the card number leaked into: {sorted(set(found))}"
    return outcome


def _dispute(**changes: Any) -> dict[str, Any]:
    return dispute_fields(
        {
            "transaction_id": "700000002",
            "descriptor": "SEGPAY*SHOP",
            "references": {"member": "M-77"},
            "amount": {"amount": "19.99", "currency": "EUR"},
        },
        **changes,
    )


def _attachment(world: World, name: str) -> dict[str, Any]:
    return {"filename": name, "content_type": "application/pdf", "data": b"%PDF-1.4 receipt"}


#: (name, what to call with the card number) for the Python API.
API_CASES: dict[str, Callable[[World, Payhelp, str], object]] = {
    "route.transaction_id": lambda w, ph, c: ph.route(transaction_id=c, country="US"),
    "route.descriptor": lambda w, ph, c: ph.route(descriptor=f"SEGPAY*{c}", country="US"),
    "route.references": lambda w, ph, c: ph.route(references={"member": c}, country="US"),
    "route.processor": lambda w, ph, c: ph.route(processor=c, country="US"),
    "route.country": lambda w, ph, c: ph.route(transaction_id="X1", country=c),
    "route_batch.ref": lambda w, ph, c: list(
        ph.route_batch([json.dumps({"ref": c, "transaction_id": "X", "country": "US"})])
    ),
    "route_batch.transaction_id": lambda w, ph, c: list(
        ph.route_batch([json.dumps({"transaction_id": c, "country": "US"})])
    ),
    "route_batch.bad_line": lambda w, ph, c: list(ph.route_batch(['{"ref": "' + c + '", oops'])),
    "contacts.processor": lambda w, ph, c: ph.contacts(c, "IT"),
    "contacts.country": lambda w, ph, c: ph.contacts("segpay", c),
    "processor": lambda w, ph, c: ph.processor(c),
    "lookup.transaction_id": lambda w, ph, c: ph.lookup("segpay", sandbox=True, transaction_id=c),
    "lookup.epoch": lambda w, ph, c: ph.lookup("epoch", sandbox=True, transaction_id=c),
    "lookup.centrobill": lambda w, ph, c: ph.lookup("centrobill", sandbox=True, transaction_id=c),
    "lookup.references": lambda w, ph, c: ph.lookup(
        "segpay", sandbox=True, references={"member": c}
    ),
    "lookup.email": lambda w, ph, c: ph.lookup("epoch", sandbox=True, email=f"{c}@example.org"),
    "lookup.username": lambda w, ph, c: ph.lookup("epoch", sandbox=True, username=c),
    "submit.transaction_id": lambda w, ph, c: ph.submit_dispute(
        "webbilling", _dispute(**{"tx.transaction_id": c})
    ),
    "submit.api.transaction_id": lambda w, ph, c: ph.submit_dispute(
        "segpay", _dispute(**{"tx.transaction_id": c}), sandbox=True
    ),
    "submit.references": lambda w, ph, c: ph.submit_dispute(
        "webbilling", _dispute(**{"tx.references": {"member": c}, "tx.transaction_id": None})
    ),
    "submit.descriptor": lambda w, ph, c: ph.submit_dispute(
        "webbilling", _dispute(**{"tx.descriptor": f"WEBBILLING*{c}"})
    ),
    "submit.message": lambda w, ph, c: ph.submit_dispute(
        "webbilling", _dispute(message=f"my card {c} was charged twice")
    ),
    "submit.message.web_form": lambda w, ph, c: ph.submit_dispute(
        "wtseticket", _dispute(message=f"card {c}"), channel="web_form"
    ),
    "submit.references.web_form": lambda w, ph, c: ph.submit_dispute(
        "wtseticket",
        _dispute(**{"tx.references": {"member": c}, "tx.transaction_id": None}),
        channel="web_form",
    ),
    "submit.contact_email": lambda w, ph, c: ph.submit_dispute(
        "webbilling", _dispute(contact_email=f"{c}@example.org")
    ),
    "submit.card_last4": lambda w, ph, c: ph.submit_dispute("webbilling", _dispute(card_last4=c)),
    "submit.idempotency_key": lambda w, ph, c: ph.submit_dispute(
        "webbilling", _dispute(), idempotency_key=c
    ),
    "submit.attachment_name": lambda w, ph, c: ph.submit_dispute(
        "webbilling", _dispute(attachments=[_attachment(w, f"{c}.pdf")])
    ),
    "refund_check.motivation": lambda w, ph, c: ph.refund_check(
        product="tip",
        purchased_at="2026-11-20T10:00Z",
        now="2026-11-21T09:00Z",
        motivation=f"card {c}",
    ),
    "refund_check.processor": lambda w, ph, c: ph.refund_check(
        product="tip", purchased_at="2026-11-20T10:00Z", now="2026-11-21T09:00Z", processor=c
    ),
    "explain_decline.code": lambda w, ph, c: ph.explain_decline(c, "stripe"),
    "explain_decline.scheme": lambda w, ph, c: ph.explain_decline("05", c),
    "dunning_plan.code": lambda w, ph, c: ph.dunning_plan("2026-11-01T10:00Z", c, "braintree"),
    "disputes.processor": lambda w, ph, c: ph.disputes(processor=c),
    "disputes.status": lambda w, ph, c: ph.disputes(status=c),
    "dispute": lambda w, ph, c: ph.dispute(c),
    "async.route": lambda w, ph, c: asyncio.run(
        _async(w, lambda a: a.route(transaction_id=c, country="US"))
    ),
    "async.lookup": lambda w, ph, c: asyncio.run(
        _async(w, lambda a: a.lookup("segpay", sandbox=True, transaction_id=c))
    ),
    "async.submit": lambda w, ph, c: asyncio.run(
        _async(w, lambda a: a.submit_dispute("segpay", _dispute(**{"tx.transaction_id": c})))
    ),
}


async def _async(world: World, call: Callable[[AsyncPayhelp], Any]) -> object:
    ph = world.payhelp(AsyncPayhelp)
    try:
        return await call(ph)
    finally:
        await ph.aclose()


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("case", API_CASES)
def test_no_card_number_leaks_through_the_api(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str, spelling: str
) -> None:
    world = World(tmp_path)
    ph = world.payhelp()
    digits = unique_card()
    try:
        _sweep(
            world, caplog, lambda: API_CASES[case](world, ph, SPELLINGS[spelling](digits)), digits
        )
    finally:
        ph.close()


#: (name, argv with {c} for the card number) for the command line.
CLI_CASES: dict[str, list[str]] = {
    "route --transaction-id": ["route", "--transaction-id", "{c}", "--country", "US"],
    "route --descriptor": ["route", "--descriptor", "SEGPAY*{c}", "--country", "US", "--json"],
    "route --processor": ["route", "--processor", "{c}", "--country", "US"],
    "contacts --processor": ["contacts", "--processor", "{c}", "--country", "IT"],
    "contacts --country": ["contacts", "--processor", "segpay", "--country", "{c}"],
    "lookup ID": ["lookup", "{c}", "--processor", "segpay", "--sandbox", "--json"],
    "lookup --member-id": ["lookup", "--processor", "epoch", "--member-id", "{c}", "--sandbox"],
    "lookup --email": ["lookup", "--processor", "epoch", "--email", "{c}@example.org", "--sandbox"],
    "dispute submit --transaction-id": [
        "dispute", "submit", "--processor", "webbilling", "--transaction-id", "{c}",
        "--reason", "duplicate_charge", "--message", "twice", "--email", "c@example.org",
    ],
    "dispute submit --reference": [
        "dispute", "submit", "--processor", "webbilling", "--reference", "member={c}",
        "--reason", "duplicate_charge", "--message", "twice", "--email", "c@example.org",
    ],
    "dispute submit --message": [
        "dispute", "submit", "--processor", "webbilling", "--transaction-id", "WB-1",
        "--reason", "duplicate_charge", "--message", "card {c}", "--email", "c@example.org",
        "--json",
    ],
    "dispute submit --idempotency-key": [
        "dispute", "submit", "--processor", "webbilling", "--transaction-id", "WB-1",
        "--reason", "duplicate_charge", "--message", "twice", "--email", "c@example.org",
        "--idempotency-key", "{c}",
    ],
    "dispute submit --last4": [
        "dispute", "submit", "--processor", "webbilling", "--transaction-id", "WB-1",
        "--reason", "duplicate_charge", "--message", "twice", "--email", "c@example.org",
        "--last4", "{c}",
    ],
    "dispute submit --sandbox api": [
        "dispute", "submit", "--processor", "segpay", "--transaction-id", "{c}", "--sandbox",
        "--reason", "duplicate_charge", "--message", "twice", "--email", "c@example.org",
    ],
    "dispute submit --attach": [
        "dispute", "submit", "--processor", "webbilling", "--transaction-id", "WB-1",
        "--reason", "duplicate_charge", "--message", "twice", "--email", "c@example.org",
        "--attach", "{attachment}",
    ],
    "dispute show": ["dispute", "show", "{c}"],
    "dispute list --processor": ["dispute", "list", "--processor", "{c}"],
    "decline explain": ["decline", "explain", "{c}", "--scheme", "stripe"],
    "dunning plan": [
        "dunning", "plan", "--failed-at", "2026-11-01T10:00Z", "--decline", "{c}",
        "--scheme", "braintree",
    ],
    "refund check --motivation": [
        "refund", "check", "--product", "tip", "--purchased-at", "2026-11-20T10:00Z",
        "--now", "2026-11-21T09:00Z", "--motivation", "card {c}", "--json",
    ],
    "route --batch ref": ["route", "--batch", "{batch}"],
}  # fmt: skip


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("case", CLI_CASES)
def test_no_card_number_leaks_through_the_cli(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    spelling: str,
) -> None:
    world = World(tmp_path / "world")
    world.root.mkdir()
    digits = unique_card()
    card = SPELLINGS[spelling](digits)
    for name in list(__import__("os").environ):
        if name.startswith("PAYHELP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(world.root / "data"))
    monkeypatch.setenv("PAYHELP_STORE_URL", f"sqlite:///{world.root / 'store.db'}")
    monkeypatch.setenv("PAYHELP_OUTBOX", str(world.root / "outbox"))
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    attachment = inputs / f"receipt-{card.replace('%20', ' ')}.pdf"
    attachment.write_bytes(b"%PDF-1.4 receipt")
    batch = inputs / "lines.jsonl"
    batch.write_text(json.dumps({"ref": card, "transaction_id": "X", "country": "US"}) + "\n")
    argv = [part.format(c=card, attachment=attachment, batch=batch) for part in CLI_CASES[case]]

    def run() -> object:
        with contextlib.suppress(SystemExit):
            main(argv)
        captured = capsys.readouterr()
        return captured.out + "\n" + captured.err

    output = _sweep(world, caplog, run, digits)
    assert "Traceback" not in str(output)
