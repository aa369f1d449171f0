"""CentroBill's IPN: signature, parsing, identity, refusals, masking, and the sandbox's IPN."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payhelp_centrobill.notifications import SIGNATURE_HEADER, CentroBillNotifications, signature
from payhelp_centrobill.sandbox import CASES, SANDBOX_API_KEY, CentroBillSandbox

from payhelp import DisputeReason, DisputeRequest, Payhelp, Transaction
from payhelp.adapters import ApiDriver
from payhelp.errors import NotificationRefusedError
from payhelp.models import Money
from payhelp.notifications import Delivery, EventKind, NotificationEvent

KEY = "test-api-key"
PAN = "4024007179366348"


def fmt(**settings: Any) -> CentroBillNotifications:
    return CentroBillNotifications({"api_key": KEY, **settings})


def payment(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "code": 0,
        "description": "APPROVED",
        "action": "charge",
        "mode": "sale",
        "status": "success",
        "amount": 9.99,
        "currency": "USD",
        "orderId": "235324530",
        "transactionId": "511170001",
        "descriptor": "centrohelp.com",
        "source": {"method": "card", "number": "402400****6348", "brand": "visa"},
        "timestamp": {"dateTime": "2026-11-20 10:00:00", "timezone": "UTC", "unixTime": 1795168800},
    }
    found.update(changes)
    return found


def envelope(**changes: Any) -> dict[str, Any]:
    return {
        "payment": payment(**changes),
        "consumer": {"id": "111193024"},
        "metadata": {"user": "42", "plan": 7},
    }


def delivery(
    body: object,
    *,
    key: str = KEY,
    sign: str | None = None,
    method: str = "POST",
    raw: str | None = None,
) -> Delivery:
    headers = {"Content-Type": "application/json"}
    if sign is None and isinstance(body, dict) and isinstance(body.get("payment"), dict):
        pay = body["payment"]
        sign = signature(key, str(pay.get("transactionId")), str(pay.get("status")))
    if sign:
        headers[SIGNATURE_HEADER] = sign
    text = raw if raw is not None else json.dumps(body)
    return Delivery.of("centrobill", method, headers=headers, body=text, remote_addr="192.0.2.1")


def read(d: Delivery, form: CentroBillNotifications | None = None) -> NotificationEvent:
    form = form or fmt()
    form.verify(d)
    return form.parse(d)


def refusal(d: Delivery, form: CentroBillNotifications | None = None) -> str:
    with pytest.raises(NotificationRefusedError) as caught:
        read(d, form)
    return caught.value.reason


# -- the signature -------------------------------------------------------------------------------


def test_the_signature_is_sha256_of_key_transaction_and_status() -> None:
    expected = hashlib.sha256(b"k" + b"123" + b"success").hexdigest()
    assert signature("k", "123", "success") == expected


def test_a_signed_sale_parses() -> None:
    event = read(delivery(envelope()))
    assert event.processor == "centrobill"
    assert event.kind is EventKind.SALE
    assert event.transaction_id == "511170001"
    assert event.event_id == "511170001:sale:success"
    assert event.amount == Money(amount=Decimal("9.99"), currency="USD")
    assert event.occurred_at is not None
    assert event.occurred_at.isoformat() == "2026-11-20T10:00:00+00:00"
    assert event.metadata == {"user": "42", "plan": "7"}
    assert event.test is False
    assert event.raw_status == "sale/success"
    assert event.payload["payment"]["transactionId"] == "511170001"


def test_an_uppercase_signature_is_accepted() -> None:
    body = envelope()
    d = delivery(body, sign=signature(KEY, "511170001", "success").upper())
    assert read(d).kind is EventKind.SALE


def test_a_numeric_transaction_id_is_signed_as_its_digits() -> None:
    event = read(delivery(envelope(transactionId=511170009)))
    assert event.transaction_id == "511170009"


def test_a_repeat_is_the_same_event_and_another_status_another() -> None:
    first = read(delivery(envelope()))
    again = read(delivery(envelope()))
    failed = read(delivery(envelope(status="fail", code=51, description="Insufficient funds")))
    assert first.event_id == again.event_id
    assert failed.event_id != first.event_id
    other = read(delivery(envelope(transactionId="511170002")))
    assert other.event_id != first.event_id
    # The same payment's chargeback, with the same status, is another event, not a repeat.
    chargeback = read(delivery(envelope(mode="chargeback")))
    assert chargeback.event_id != first.event_id


def test_a_forged_signature_is_refused() -> None:
    assert refusal(delivery(envelope(), key="another-key")) == "signature"
    assert refusal(delivery(envelope(), sign="0" * 64)) == "signature"


def test_a_signature_over_another_status_is_refused() -> None:
    body = envelope(status="fail", code=51)
    d = delivery(body, sign=signature(KEY, "511170001", "success"))
    assert refusal(d) == "signature"


def test_a_missing_signature_is_refused() -> None:
    d = Delivery.of("centrobill", "POST", body=json.dumps(envelope()))
    assert refusal(d) == "signature"


def test_without_an_api_key_everything_is_refused() -> None:
    d = delivery(envelope())
    assert refusal(d, CentroBillNotifications({})) == "unconfigured"
    with pytest.raises(NotificationRefusedError, match="api_key"):
        CentroBillNotifications({"api_key": ""}).verify(d)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_only_a_post_is_accepted(method: str) -> None:
    assert refusal(delivery(envelope(), method=method)) == "method"


# -- kinds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({}, EventKind.SALE),
        ({"code": "0"}, EventKind.SALE),
        ({"status": "fail", "code": 51, "description": "Insufficient funds"}, EventKind.DECLINE),
        ({"status": "success", "code": 5}, EventKind.DECLINE),
        ({"mode": "credit"}, EventKind.REFUND),
        ({"mode": "credit", "status": "fail", "code": 12}, EventKind.UNKNOWN),
        ({"mode": "chargeback", "description": "CHARGEBACK"}, EventKind.CHARGEBACK),
        ({"mode": "auth"}, EventKind.UNKNOWN),
        ({"mode": "sale", "status": "pending"}, EventKind.UNKNOWN),
    ],
)
def test_kinds(changes: dict[str, Any], kind: EventKind) -> None:
    event = read(delivery(envelope(**changes)))
    assert event.kind is kind
    assert event.raw_status is not None
    assert event.raw_status.startswith(f"{changes.get('mode', 'sale')}/")


def test_a_decline_keeps_its_code_and_description() -> None:
    event = read(delivery(envelope(status="fail", code=51, description="Insufficient funds")))
    assert event.raw_status == "sale/fail 51: Insufficient funds"


@pytest.mark.parametrize(("cycle", "kind"), [(1, EventKind.SALE), (2, EventKind.REBILL)])
def test_a_sale_in_a_later_cycle_is_a_rebill(cycle: int, kind: EventKind) -> None:
    body = envelope()
    body["subscription"] = {"id": 7012346, "status": "active", "cycle": cycle}
    event = read(delivery(body))
    assert event.kind is kind
    assert event.subscription_id == "7012346"


def test_an_unusable_amount_or_time_is_left_out() -> None:
    body = envelope(amount="lots", currency="XXQ", timestamp={"dateTime": "yesterday"})
    event = read(delivery(body))
    assert event.amount is None
    assert event.occurred_at is None
    assert event.kind is EventKind.SALE


def test_a_negative_credit_amount_is_its_size() -> None:
    event = read(delivery(envelope(mode="credit", amount=-4.99)))
    assert event.amount == Money(amount=Decimal("4.99"), currency="USD")


def test_a_date_time_is_read_in_its_timezone() -> None:
    stamp = {"dateTime": "2026-11-20 10:00:00", "timezone": "Europe/Berlin"}
    event = read(delivery(envelope(timestamp=stamp)))
    assert event.occurred_at is not None
    assert event.occurred_at.utcoffset() is not None
    assert event.occurred_at.isoformat() == "2026-11-20T10:00:00+01:00"


def test_nested_metadata_is_left_out_of_metadata_but_kept_in_the_payload() -> None:
    body = envelope()
    body["metadata"] = {"user": "42", "nested": {"a": 1}, "flag": True}
    event = read(delivery(body))
    assert event.metadata == {"user": "42", "flag": "true"}
    assert event.payload["metadata"]["nested"] == {"a": 1}
    body["metadata"] = ["not", "a", "mapping"]
    assert read(delivery(body)).metadata == {}


# -- masking -------------------------------------------------------------------------------------


def test_card_numbers_are_masked_everywhere() -> None:
    body = envelope(
        descriptor=f"centrohelp.com {PAN}",
        source={"method": "card", "number": PAN},
        status="fail",
        code=51,
        description=f"card {PAN} declined",
    )
    body["metadata"] = {"note": f"paid with {PAN}", PAN: "key"}
    body["consumer"] = {"id": "1", "comment": "4024 0071 7936 6348"}
    event = read(delivery(body))
    text = event.model_dump_json()
    assert PAN not in text
    assert "4024 0071 7936 6348" not in text
    assert "6348" in event.payload["payment"]["source"]["number"]
    assert event.raw_status is not None
    assert PAN not in event.raw_status


def test_a_status_that_is_a_card_number_is_masked_in_the_identity() -> None:
    event = read(delivery(envelope(status=PAN)))
    assert event.kind is EventKind.UNKNOWN
    assert PAN not in event.model_dump_json()


@settings(max_examples=100, deadline=None)
@given(
    stamp=st.fixed_dictionaries(
        {},
        optional={
            "dateTime": st.text(max_size=30) | st.just("2026-11-20 10:00:00"),
            "timezone": st.text(max_size=30) | st.sampled_from(["Europe", "../x", "UTC", "EST"]),
            "unixTime": st.integers() | st.floats() | st.text(max_size=5),
        },
    )
)
def test_fuzz_timestamps_never_break_an_event(stamp: dict[str, Any]) -> None:
    event = read(delivery(envelope(timestamp=stamp)))
    assert event.kind is EventKind.SALE
    assert event.occurred_at is None or event.occurred_at.utcoffset() is not None


def test_a_transaction_id_that_is_a_card_number_is_refused() -> None:
    assert refusal(delivery(envelope(transactionId=PAN))) == "malformed"


# -- malformed -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "",
        "[1, 2]",
        '"text"',
        "null",
        '{"payment": []}',
        '{"payment": {"status": "success"}}',
        '{"payment": {"transactionId": "1"}}',
        '{"payment": {"transactionId": true, "status": "success"}}',
        '{"payment": {"transactionId": "1", "status": 5}}',
        '{"payment": {"transactionId": "' + "9" * 200 + '", "status": "success"}}',
        b"\xff\xfe".decode("latin-1"),
    ],
)
def test_malformed_bodies_are_refused(raw: str) -> None:
    d = delivery({}, sign="0" * 64, raw=raw)
    assert refusal(d) == "malformed"
    with pytest.raises(NotificationRefusedError) as caught:
        fmt().parse(d)
    assert caught.value.reason == "malformed"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
_payment_fields = st.fixed_dictionaries(
    {},
    optional={
        "transactionId": st.one_of(st.text(max_size=40), st.integers(), _json),
        "status": st.one_of(st.sampled_from(["success", "fail", ""]), st.text(max_size=20), _json),
        "mode": st.one_of(st.sampled_from(["sale", "credit", "chargeback"]), _json),
        "code": _json,
        "amount": _json,
        "currency": st.one_of(st.sampled_from(["USD", "EUR", "usd"]), _json),
        "timestamp": _json,
        "description": _json,
    },
)


def _outcome(d: Delivery, *, verify: bool = True) -> str:
    """``event`` when ``d`` reads as an event, else the refusal's reason."""
    form = fmt()
    try:
        if verify:
            form.verify(d)
        event = form.parse(d)
    except NotificationRefusedError as error:
        return error.reason
    assert isinstance(event, NotificationEvent)
    assert PAN not in event.model_dump_json()
    return "event"


def _check(d: Delivery) -> None:
    assert _outcome(d) in {"event", "malformed", "signature"}
    assert _outcome(d, verify=False) in {"event", "malformed"}


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200) | _json.map(lambda v: json.dumps(v).encode()))
def test_fuzz_arbitrary_bodies_never_raise_anything_else(body: bytes) -> None:
    _check(Delivery.of("centrobill", "POST", headers={SIGNATURE_HEADER: "00"}, body=body))


@settings(max_examples=300, deadline=None)
@given(
    pay=_payment_fields,
    subscription=_json,
    metadata=_json,
    consumer=_json,
)
def test_fuzz_signed_envelopes_are_an_event_or_refused(
    pay: dict[str, Any], subscription: object, metadata: object, consumer: object
) -> None:
    body = {
        "payment": pay,
        "subscription": subscription,
        "metadata": metadata,
        "consumer": consumer,
    }
    try:
        raw = json.dumps(body)
    except ValueError:
        return
    sign = signature(KEY, str(pay.get("transactionId")), str(pay.get("status")))
    _check(Delivery.of("centrobill", "POST", headers={SIGNATURE_HEADER: sign}, body=raw))


# -- the sandbox ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("sale", EventKind.SALE),
        ("rebill", EventKind.REBILL),
        ("decline", EventKind.DECLINE),
        ("refund", EventKind.REFUND),
        ("chargeback", EventKind.CHARGEBACK),
    ],
)
def test_the_sandbox_notifications_verify_and_parse(kind: str, expected: EventKind) -> None:
    sent = CentroBillSandbox().notification(kind, CASES["approved"])
    assert set(sent) == {"method", "headers", "query", "body"}
    d = Delivery.of("centrobill", **sent)
    event = read(d, CentroBillNotifications({"api_key": SANDBOX_API_KEY}))
    assert event.kind is expected
    assert event.transaction_id == CASES["approved"]
    assert refusal(d) == "signature"  # signed with the sandbox's key, not KEY


def test_the_sandbox_notification_takes_extra_fields_and_a_key() -> None:
    box = CentroBillSandbox(api_key=KEY)
    sent = box.notification("refund", "611170001", amount=4.99, metadata={"user": "7"})
    event = read(Delivery.of("centrobill", **sent))
    assert event.amount == Money(amount=Decimal("4.99"), currency="USD")
    assert event.metadata == {"user": "7"}
    with pytest.raises(ValueError, match="kind is one of"):
        box.notification("nonsense", "1")


def test_a_sandbox_credit_sends_its_ipn_signed_with_the_request_key() -> None:
    with Payhelp(
        load_plugins=["centrobill"],
        processors={"centrobill": {"settings": {"api_key": KEY, "max_retries": 0}}},
    ) as ph:
        adapter = ph.adapter("centrobill", sandbox=True)
        assert isinstance(adapter, ApiDriver)
        box = adapter.settings.transport.sandbox  # the sandbox this adapter talks to
        assert isinstance(box, CentroBillSandbox)
        assert box.sent_notifications() == []
        request = DisputeRequest(
            transaction=Transaction(transaction_id=CASES["approved"]),
            reason=DisputeReason.DUPLICATE_CHARGE,
            message="I was charged twice for the same month.",
            contact_email="jonny@example.com",
        )
        receipt = adapter.submit(request, "idem-n1")
        sent = box.sent_notifications()
    assert len(sent) == 1
    event = read(Delivery.of("centrobill", **sent[0]))
    assert event.kind is EventKind.REFUND
    assert event.transaction_id == receipt.reference
    assert event.amount == Money(amount=Decimal("9.99"), currency="USD")


def test_a_refused_credit_sends_nothing() -> None:
    box = CentroBillSandbox()
    import httpx  # noqa: PLC0415 - only this test builds a request

    request = httpx.Request(
        "POST",
        f"http://x/payment/{CASES['refunded']}/credit",
        headers={"Authorization": KEY},
        json={"reason": "Duplicate charge"},
    )
    assert box.handle(request).status_code == 400
    assert box.sent_notifications() == []


def test_the_whole_loop_through_payhelp_in_the_sandbox(tmp_path: Path) -> None:
    with Payhelp(
        load_plugins=["centrobill"], sandbox=True, store_url=f"sqlite:///{tmp_path / 's.db'}"
    ) as ph:
        sent = CentroBillSandbox().notification("chargeback", CASES["approved"])
        first = ph.receive("centrobill", **sent)
        again = ph.receive("centrobill", **sent)
        forged = ph.receive("centrobill", **{**sent, "headers": {SIGNATURE_HEADER: "00"}})
    assert first.status == "applied"
    assert first.event is not None
    assert first.event.kind is EventKind.CHARGEBACK
    assert again.status == "duplicate"
    assert (forged.status, forged.reason) == ("refused", "signature")


# -- registration --------------------------------------------------------------------------------


def test_the_format_says_what_it_follows() -> None:
    assert CentroBillNotifications.basis == "official"
    assert CentroBillNotifications.signed is True
    assert CentroBillNotifications.secret_names == ("api_key",)
    assert "SignatureCalculator.php" in CentroBillNotifications.reference
    assert fmt().reply(True).body == "OK"


def test_the_plugin_builds_the_format_lazily() -> None:
    registered_first = Payhelp(load_plugins=["centrobill"]).host.processors()["centrobill"]
    assert registered_first.notifications is not None
    made = registered_first.notifications({"api_key": KEY}, test_mode=True)
    assert isinstance(made, CentroBillNotifications)
    assert made.test_mode is True
    registered = Payhelp(load_plugins=["centrobill"]).host.processors()["centrobill"]
    factory = getattr(registered, "notifications", None)
    assert factory is not None
    assert isinstance(factory({"api_key": KEY}), CentroBillNotifications)
