"""Receiving notifications through the embedding API, with a signed format of a test processor:
verified events stored once and applied, repeats changing nothing, forgeries recorded and never
applied, refunds confirming submissions (in and out of order), callbacks and the hook."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest

from payhelp import Payhelp, hookimpl
from payhelp.errors import (
    CapabilityError,
    InvalidInputError,
    NotificationRefusedError,
    UnknownProcessorError,
)
from payhelp.notifications import (
    Delivery,
    EventKind,
    NotificationEvent,
    NotificationFormat,
    check_source,
    masked,
    networks,
    refused,
    same_secret,
)
from payhelp.receiving import REFUSALS_KEPT_A_MINUTE, NotificationCallbackWarning

from .conftest import make_directory, make_info

SECRET = "whsec-test-4242"
CARD = "4111111111111111"


class AcmeNotifications(NotificationFormat):
    """JSON with an ``X-Acme-Signature``: hex HMAC-SHA256 of the body under ``webhook_secret``."""

    processor = "acme"
    basis: ClassVar[Literal["official", "third_party"]] = "third_party"
    reference = "tests/test_notifications.py"
    signed = True
    checks = ("X-Acme-Signature: HMAC-SHA256 of the body",)
    setting_names = ("webhook_secret",)
    secret_names = ("webhook_secret",)

    def verify(self, delivery: Delivery) -> None:
        secret = self.settings.get("webhook_secret")
        if not isinstance(secret, str):
            raise refused("acme", "unconfigured", "set webhook_secret")
        expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
        if not same_secret(delivery.header("x-acme-signature"), expected):
            raise refused("acme", "signature", "the signature does not match")

    def parse(self, delivery: Delivery) -> NotificationEvent:
        data = delivery.json()
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise refused("acme", "malformed", "no event id")
        if data.get("test"):
            self.refuse_test(delivery, "test=true")
        return NotificationEvent.model_validate(
            {
                "processor": "acme",
                "event_id": data["id"],
                "kind": data.get("type", "unknown"),
                "transaction_id": data.get("transaction"),
                "related_transaction_id": data.get("sale"),
                "amount": data.get("amount"),
                "test": bool(data.get("test")),
                "metadata": data.get("metadata", {}),
                "payload": masked(data),
            },
            strict=False,
        )


class AcmePlugin:
    """A test processor with email channels and the notification format above."""

    @hookimpl
    def payhelp_register_processors(self, register: Callable[..., None]) -> None:
        register(make_info("acme"), make_directory("acme"), notifications=AcmeNotifications)


class Listener:
    """A plugin hearing every applied event through the hook."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, tuple[int, ...]]] = []

    @hookimpl
    def payhelp_notification_received(
        self, event: NotificationEvent, confirmed: Sequence[int]
    ) -> None:
        self.heard.append((event.event_id, tuple(confirmed)))


def make(tmp_path: Path, **kwargs: Any) -> Payhelp:
    kwargs.setdefault("store_url", f"sqlite:///{tmp_path / 'n.db'}")
    extra = kwargs.pop("extra_plugins", [])
    settings = {"webhook_secret": SECRET, **kwargs.pop("acme_settings", {})}
    return Payhelp(
        load_entry_points=False,
        plugins=[("acme", AcmePlugin()), *extra],
        outbox=tmp_path / "outbox",
        processors={"acme": {"settings": settings}},
        **kwargs,
    )


def with_format(tmp_path: Path, fmt: type[NotificationFormat]) -> Payhelp:
    """A Payhelp whose test processor reads its notifications with ``fmt``."""

    class Plugin:
        @hookimpl
        def payhelp_register_processors(self, register: Callable[..., None]) -> None:
            register(make_info("acme"), make_directory("acme"), notifications=fmt)

    return Payhelp(
        load_entry_points=False,
        plugins=[("acme", Plugin())],
        store_url=f"sqlite:///{tmp_path / 'f.db'}",
        outbox=tmp_path / "outbox",
        processors={"acme": {"settings": {"webhook_secret": SECRET}}},
    )


def signed(payload: Mapping[str, Any], secret: str = SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Acme-Signature": signature}, body


def deliver(ph: Payhelp, payload: Mapping[str, Any], **kwargs: Any) -> Any:
    headers, body = signed(payload, kwargs.pop("secret", SECRET))
    return ph.receive(
        "acme", "POST", headers=headers, body=body, remote_addr="203.0.113.9", **kwargs
    )


REFUND = {
    "id": "evt_1",
    "type": "refund",
    "transaction": "TX-1001",
    "amount": {"amount": "19.99", "currency": "EUR"},
    "metadata": {"order": "A-1"},
}


def submission(ph: Payhelp, transaction_id: str = "TX-1001") -> int:
    receipt = ph.submit_dispute(
        "acme",
        transaction={"transaction_id": transaction_id},
        reason="duplicate_charge",
        message="Charged twice.",
        contact_email="customer@example.org",
        channel="email",
    )
    return ph.dispute(receipt.idempotency_key).id


def test_a_verified_event_is_applied_once_and_a_repeat_changes_nothing(tmp_path: Path) -> None:
    ph = make(tmp_path)
    first = deliver(ph, REFUND)
    assert first.status == "applied"
    assert first.event.kind is EventKind.REFUND
    assert (first.reply_status, first.reply_body) == (200, "OK")
    again = deliver(ph, REFUND)
    assert again.status == "duplicate"
    assert again.record_id == first.record_id
    assert again.reply_status == 200  # acknowledged, so the processor stops resending
    assert [r.id for r in ph.events()] == [first.record_id]


def test_a_forged_delivery_is_recorded_refused_and_the_genuine_one_still_applies(
    tmp_path: Path,
) -> None:
    ph = make(tmp_path)
    forged = deliver(ph, REFUND, secret="guessed")
    assert forged.status == "refused"
    assert forged.reason == "signature"
    assert forged.reply_status == 403
    (record,) = ph.events(status="refused")
    assert record.reason == "signature"
    assert record.event is None  # never read, never applied
    genuine = deliver(ph, REFUND)
    assert genuine.status == "applied"  # the forgery did not take the event's identity


def test_unsigned_and_test_deliveries_are_refused_in_live_mode(tmp_path: Path) -> None:
    ph = make(tmp_path)
    unsigned = ph.receive("acme", "POST", body=json.dumps(REFUND))
    assert (unsigned.status, unsigned.reason) == ("refused", "signature")
    test = deliver(ph, {**REFUND, "id": "evt_t", "test": True})
    assert (test.status, test.reason) == ("refused", "test_in_live")
    assert ph.events(status="applied") == []


def test_test_deliveries_are_accepted_in_test_mode(tmp_path: Path) -> None:
    ph = make(tmp_path, acme_settings={"test_mode": True})
    outcome = deliver(ph, {**REFUND, "id": "evt_t", "test": True})
    assert outcome.status == "applied"
    assert outcome.event.test is True


def test_a_refund_confirms_the_submission_for_its_transaction(tmp_path: Path) -> None:
    ph = make(tmp_path)
    number = submission(ph)
    other = submission(ph, "TX-2002")
    outcome = deliver(ph, REFUND)
    assert outcome.confirmed == (number,)
    record = ph.dispute(number)
    assert record.status == "confirmed"
    assert record.confirmed_by == outcome.record_id
    assert ph.dispute(other).status != "confirmed"
    # A repeat of the refund confirms nothing more and moves nothing.
    assert deliver(ph, REFUND).confirmed == ()


def test_a_refund_before_its_submission_is_recorded_confirms_it_when_it_is(
    tmp_path: Path,
) -> None:
    ph = make(tmp_path)
    outcome = deliver(ph, {**REFUND, "transaction": "TX-3003"})
    assert outcome.confirmed == ()
    number = submission(ph, "TX-3003")
    record = ph.dispute(number)
    assert record.status == "confirmed"
    assert record.confirmed_by == outcome.record_id


def test_a_refund_before_its_sale_is_kept_and_both_are_linked_by_transaction(
    tmp_path: Path,
) -> None:
    ph = make(tmp_path)
    refund = deliver(ph, {"id": "evt_r", "type": "refund", "sale": "TX-9"})
    sale = deliver(ph, {"id": "evt_s", "type": "sale", "transaction": "TX-9"})
    assert (refund.status, sale.status) == ("applied", "applied")
    assert {r.id for r in ph.events(transaction_id="TX-9")} == {refund.record_id, sale.record_id}


def test_a_chargeback_is_listed_with_the_chargebacks(tmp_path: Path) -> None:
    ph = make(tmp_path)
    deliver(ph, {"id": "evt_cb", "type": "chargeback", "sale": "TX-5"})
    deliver(ph, {"id": "evt_sale", "type": "sale", "transaction": "TX-5"})
    (chargeback,) = ph.chargebacks()
    assert chargeback.event is not None
    assert chargeback.event.related_transaction_id == "TX-5"


def test_card_numbers_in_a_payload_are_masked_where_stored(tmp_path: Path) -> None:
    ph = make(tmp_path)
    outcome = deliver(ph, {**REFUND, "note": f"card {CARD}"})
    stored = ph.event(outcome.record_id)
    assert CARD not in stored.model_dump_json()
    assert "1111" in stored.model_dump_json()


def test_callbacks_and_the_hook_hear_each_event_once(tmp_path: Path) -> None:
    listener = Listener()
    seen: list[str] = []
    ph = make(
        tmp_path,
        extra_plugins=[("listener", listener)],
        on_event=lambda event, confirmed: seen.append(event.event_id),
    )
    later: list[tuple[str, Sequence[int]]] = []
    ph.on_event(lambda event, confirmed: later.append((event.event_id, confirmed)))
    number = submission(ph)
    deliver(ph, REFUND)
    deliver(ph, REFUND)
    deliver(ph, REFUND, secret="forged")
    assert seen == ["evt_1"]
    assert later == [("evt_1", (number,))]
    assert listener.heard == [("evt_1", (number,))]


def test_a_failing_callback_is_a_warning_and_the_event_stays(tmp_path: Path) -> None:
    def broken(event: NotificationEvent, confirmed: Sequence[int]) -> None:
        raise RuntimeError(f"boom {CARD}")

    ph = make(tmp_path, on_event=broken)
    with pytest.warns(NotificationCallbackWarning, match="boom") as caught:
        outcome = deliver(ph, REFUND)
    assert CARD not in str(caught[0].message)
    assert outcome.status == "applied"
    assert deliver(ph, REFUND).status == "duplicate"


def test_identical_deliveries_from_many_threads_are_applied_exactly_once(tmp_path: Path) -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def count(event: NotificationEvent, confirmed: Sequence[int]) -> None:
        with lock:
            seen.append(event.event_id)

    ph = make(tmp_path, on_event=count)
    number = submission(ph)
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(lambda _: deliver(ph, REFUND), range(200)))
    statuses = [o.status for o in outcomes]
    assert statuses.count("applied") == 1
    assert statuses.count("duplicate") == 199
    assert seen == ["evt_1"]
    assert [o.confirmed for o in outcomes if o.status == "applied"] == [(number,)]
    assert len(ph.events()) == 1


def test_the_sandbox_store_is_apart(tmp_path: Path) -> None:
    ph = make(tmp_path)
    deliver(ph, REFUND, sandbox=True)
    assert ph.events() == []
    assert len(ph.events(sandbox=True)) == 1


def test_bad_calls_are_typed_errors(tmp_path: Path) -> None:
    ph = make(tmp_path, load_plugins=None)
    with pytest.raises(UnknownProcessorError):
        ph.receive("nope", "POST", body=b"{}")
    with pytest.raises(InvalidInputError, match="method"):
        ph.receive("acme", "P O S T", body=b"{}")
    with pytest.raises(InvalidInputError, match="at most"):
        ph.receive("acme", "POST", body=b"x" * (256 * 1024 + 1))
    with pytest.raises(InvalidInputError, match="pairs"):
        ph.receive("acme", "POST", headers=[("a", 1)], body=b"{}")  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="kind"):
        ph.events(kind="nonsense")
    with pytest.raises(InvalidInputError):
        ph.event(0)
    with pytest.raises(InvalidInputError, match="on_event"):
        make(tmp_path, on_event=42)


def test_a_processor_without_a_format_cannot_be_heard(tmp_path: Path) -> None:
    ph = Payhelp(
        load_entry_points=False,
        plugins=[("plain", _Plain())],
        store_url=f"sqlite:///{tmp_path / 'p.db'}",
    )
    with pytest.raises(CapabilityError, match="no notification format"):
        ph.receive("plain", "POST", body=b"{}")
    assert ph.processor("plain").capabilities.notifications is False
    assert make(tmp_path).processor("acme").capabilities.notifications is True


class _Plain:
    @hookimpl
    def payhelp_register_processors(self, register: Callable[..., None]) -> None:
        register(make_info("plain"), make_directory("plain"))


# -- the helpers formats use -------------------------------------------------------------------


def _delivery(addr: str | None) -> Delivery:
    return Delivery.of("acme", "GET", remote_addr=addr)


def test_source_ranges_allow_what_they_name_and_nothing_else() -> None:
    allowed = networks("208.236.105.0/24|65.17.248.0/24", "epoch", "postback_sources")
    check_source(_delivery("208.236.105.7"), allowed)
    check_source(_delivery("::ffff:65.17.248.200"), allowed)  # an IPv4-mapped address
    for addr in ("208.236.106.7", "127.0.0.1", None, "not an ip", "2001:db8::1"):
        with pytest.raises(NotificationRefusedError, match=r"postback addresses|unknown") as caught:
            check_source(_delivery(addr), allowed)
        assert caught.value.reason == "source"
    with pytest.raises(InvalidInputError, match="not an address range"):
        networks(["10.0.0.0/8", "ten"], "epoch", "postback_sources")
    assert networks(None, "epoch", "postback_sources") == ()


def test_fields_merge_query_and_form_and_json_is_checked() -> None:
    delivery = Delivery.of(
        "acme",
        "POST",
        query="a=1&b=2",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="b=3&c=",
    )
    assert delivery.fields() == {"a": "1", "b": "3", "c": ""}
    assert delivery.header("CONTENT-TYPE") == "application/x-www-form-urlencoded"
    with pytest.raises(NotificationRefusedError, match="not JSON") as caught:
        Delivery.of("acme", "POST", body=b"\xff{").json()
    assert caught.value.reason == "malformed"


def test_masked_masks_nested_card_numbers() -> None:
    value = masked({"a": [CARD, {"b": f"x {CARD} y"}], CARD: 1, "n": 5})
    text = json.dumps(value)
    assert CARD not in text
    assert value["n"] == 5


# -- what the reviewer found ------------------------------------------------------------------


def test_a_refund_confirms_one_submission_the_reference_first(tmp_path: Path) -> None:
    ph = make(tmp_path)
    older = submission(ph, "TX-77")
    newer = ph.submit_dispute(
        "acme",
        transaction={"transaction_id": "TX-77"},
        reason="not_recognised",
        message="Not mine.",
        contact_email="customer@example.org",
        channel="email",
    )
    outcome = deliver(ph, {**REFUND, "id": "evt_77", "transaction": "TX-77"})
    assert outcome.confirmed == (older,)  # one event, one submission: the oldest open one
    assert ph.dispute(newer.idempotency_key).status != "confirmed"
    second = deliver(ph, {**REFUND, "id": "evt_78", "transaction": "TX-77"})
    assert second.confirmed == (ph.dispute(newer.idempotency_key).id,)


def test_a_refund_that_confirmed_one_request_confirms_no_other(tmp_path: Path) -> None:
    ph = make(tmp_path)
    old = deliver(ph, {**REFUND, "id": "evt_old", "transaction": "TX-88"})
    assert old.status == "applied"
    first = submission(ph, "TX-88")
    assert ph.dispute(first).confirmed_by == old.record_id  # arrived in the clock skew window
    again = ph.submit_dispute(
        "acme",
        transaction={"transaction_id": "TX-88"},
        reason="not_recognised",
        message="Another one.",
        contact_email="customer@example.org",
        channel="email",
    )
    # The refund already confirmed the first request: it confirms nothing else.
    assert ph.dispute(again.idempotency_key).status == "prepared"


def test_a_format_confirms_only_by_what_its_signature_vouches_for(tmp_path: Path) -> None:
    class ReferenceOnly(AcmeNotifications):
        confirms_by = frozenset({"reference"})

    ph = with_format(tmp_path, ReferenceOnly)
    number = submission(ph)
    by_transaction = deliver(ph, REFUND)  # names the sale: not trusted for this format
    assert by_transaction.confirmed == ()
    assert ph.dispute(number).status != "confirmed"


def test_fields_over_the_bound_and_deep_json_are_refused_not_a_crash(tmp_path: Path) -> None:
    ph = make(tmp_path)
    many = "&".join(f"f{i}=1" for i in range(600))
    form = Delivery.of(
        "acme",
        "POST",
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=many,
    )
    with pytest.raises(NotificationRefusedError) as caught:
        form.fields()
    assert caught.value.reason == "malformed"
    deep = ph.receive("acme", "POST", headers=signed({})[0], body="[" * 5000)
    assert (deep.status, deep.reason) == ("refused", "signature")
    body = ("[" * 5000).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    nested = ph.receive("acme", "POST", headers={"x-acme-signature": signature}, body=body)
    assert (nested.status, nested.reason) == ("refused", "malformed")


def test_a_plugin_that_fails_to_read_is_a_recorded_refusal(tmp_path: Path) -> None:
    class Broken(AcmeNotifications):
        def parse(self, delivery: Delivery) -> NotificationEvent:
            raise KeyError("payment")

    ph = with_format(tmp_path, Broken)
    outcome = deliver(ph, REFUND)
    assert (outcome.status, outcome.reason) == ("refused", "malformed")
    assert "KeyError" in (outcome.message or "")


def test_a_refund_from_before_a_request_was_made_does_not_confirm_it(tmp_path: Path) -> None:
    ph = make(tmp_path)
    long_ago = datetime.now(UTC) - timedelta(days=90)
    event = NotificationEvent(
        processor="acme", event_id="evt_90", kind="refund", transaction_id="TX-90"
    )
    ph.store.record_event(event, remote_addr=None, received_at=long_ago)
    number = submission(ph, "TX-90")
    assert ph.dispute(number).status == "prepared"


def test_a_flood_of_refused_deliveries_from_one_address_is_not_stored_row_by_row(
    tmp_path: Path,
) -> None:
    ph = make(tmp_path)
    outcomes = [deliver(ph, REFUND, secret="forged") for _ in range(REFUSALS_KEPT_A_MINUTE + 5)]
    assert {o.status for o in outcomes} == {"refused"}
    assert [o.record_id is None for o in outcomes].count(True) == 5
    assert len(ph.events(status="refused", limit=1000)) == REFUSALS_KEPT_A_MINUTE
    assert deliver(ph, REFUND).status == "applied"  # the genuine one still gets through
