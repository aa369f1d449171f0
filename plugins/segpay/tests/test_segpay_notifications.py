"""SegPay's postback: configuration, sources, token, parsing, identity, masking, the sandbox."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payhelp_segpay.notifications import (
    DEFAULT_TOKEN_FIELD,
    SOURCE_LIST_CALL,
    SegpayNotifications,
)
from payhelp_segpay.sandbox import CASES, SANDBOX_TOKEN, SegpaySandbox

from payhelp import Payhelp
from payhelp.errors import NotificationRefusedError
from payhelp.models import Money
from payhelp.notifications import Delivery, EventKind, NotificationEvent

SOURCES = "198.51.100.0/24"
SEGPAY_ADDRESS = "198.51.100.9"
TOKEN = "s3cret-token"
PAN = "5555555555554444"
SOURCES_ONLY = {"postback_sources": SOURCES}
TOKEN_ONLY = {"postback_token": TOKEN}
BOTH = {"postback_sources": SOURCES, "postback_token": TOKEN}


def fields(**changes: str | None) -> dict[str, str]:
    found: dict[str, str | None] = {
        "act": "x",
        "stage": "y",
        "approved": "yes",
        "trantype": "sale",
        "purchaseid": "80000001",
        "tranid": "700000001",
        "relatedtranid": "0",
        "price": "29.95",
        "currencycode": "USD",
        "transGUID": "d0cac4a8-0ec8-59e4-aa98-7e2e97cad1f2",
        "billertranstime": "2026-11-20T10:00:00+00:00",
        "email": "customer@example.com",
        "username": "jonny",
        "token": TOKEN,
    }
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}


def delivery(
    query: dict[str, str] | None = None,
    *,
    method: str = "GET",
    remote_addr: str | None = SEGPAY_ADDRESS,
    form: bool = False,
) -> Delivery:
    values = fields() if query is None else query
    if form:
        return Delivery.of(
            "segpay",
            method,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=urlencode(values),
            remote_addr=remote_addr,
        )
    return Delivery.of("segpay", method, query=values, remote_addr=remote_addr)


def read(d: Delivery, config: dict[str, Any] | None = None) -> NotificationEvent:
    form = SegpayNotifications(BOTH if config is None else config)
    form.verify(d)
    return form.parse(d)


def refusal(d: Delivery, config: dict[str, Any] | None = None) -> str:
    with pytest.raises(NotificationRefusedError) as caught:
        read(d, config)
    return caught.value.reason


def test_an_approved_sale_parses() -> None:
    event = read(delivery())
    assert event.processor == "segpay"
    assert event.kind is EventKind.SALE
    assert event.transaction_id == "700000001"
    assert event.related_transaction_id is None  # 0 means none
    assert event.subscription_id == "80000001"
    assert event.event_id == "700000001:sale"
    assert event.amount == Money(amount=Decimal("29.95"), currency="USD")
    assert event.occurred_at is not None
    assert event.occurred_at.isoformat() == "2026-11-20T10:00:00+00:00"
    assert event.test is False
    assert event.payload["email"] == "customer@example.com"


def test_a_form_post_parses_like_a_query() -> None:
    assert read(delivery(method="POST", form=True)) == read(delivery())


@pytest.mark.parametrize(
    ("approved", "trantype", "kind"),
    [
        ("yes", "sale", EventKind.SALE),
        ("Yes", "Sale", EventKind.SALE),
        ("yes", "charge", EventKind.REBILL),
        ("yes", "credit", EventKind.REFUND),
        ("no", "sale", EventKind.DECLINE),
        ("no", "charge", EventKind.DECLINE),
        ("yes", "void", EventKind.UNKNOWN),
        ("maybe", "sale", EventKind.UNKNOWN),
        (None, "sale", EventKind.UNKNOWN),
    ],
)
def test_kinds(approved: str | None, trantype: str, kind: EventKind) -> None:
    event = read(delivery(fields(approved=approved, trantype=trantype)))
    assert event.kind is kind
    assert event.raw_status is not None
    assert event.raw_status.startswith(trantype)


def test_a_refund_names_the_sale() -> None:
    event = read(delivery(fields(trantype="credit", tranid="700000012", relatedtranid="700000002")))
    assert event.kind is EventKind.REFUND
    assert event.related_transaction_id == "700000002"
    assert event.ids() == {"700000012", "700000002"}


def test_a_repeat_is_the_same_event_and_another_trantype_another() -> None:
    first = read(delivery())
    assert read(delivery()).event_id == first.event_id
    assert read(delivery(fields(trantype="credit"))).event_id != first.event_id
    assert read(delivery(fields(tranid="700000002"))).event_id != first.event_id


def test_an_unusable_amount_or_time_is_left_out() -> None:
    event = read(delivery(fields(price="free", billertranstime="11/20/2026 10:00")))
    assert event.amount is None
    assert event.occurred_at is None
    assert read(delivery(fields(currencycode="XXQ"))).amount is None
    assert read(delivery(fields(billertranstime="2026-11-20T10:00:00"))).occurred_at is None


def test_a_negative_price_is_its_size() -> None:
    event = read(delivery(fields(trantype="credit", price="-10.00")))
    assert event.amount == Money(amount=Decimal("10.00"), currency="USD")


def test_the_reply_is_ok() -> None:
    form = SegpayNotifications(BOTH)
    assert (form.reply(True).status_code, form.reply(True).body) == (200, "OK")
    assert form.reply(False).status_code == 403


# -- configuration, sources and token --------------------------------------------------------


@pytest.mark.parametrize("config", [{}, {"postback_token": ""}, {"postback_sources": []}])
def test_without_sources_or_token_everything_is_refused(config: dict[str, Any]) -> None:
    with pytest.raises(NotificationRefusedError, match="postback_sources") as caught:
        read(delivery(), config)
    assert caught.value.reason == "unconfigured"
    assert SOURCE_LIST_CALL in str(caught.value)


def test_sources_alone_are_enough() -> None:
    assert read(delivery(fields(token=None)), SOURCES_ONLY).kind is EventKind.SALE


def test_a_token_alone_is_enough() -> None:
    assert read(delivery(remote_addr="203.0.113.5"), TOKEN_ONLY).kind is EventKind.SALE


@pytest.mark.parametrize(
    "address",
    ["203.0.113.5", "::ffff:203.0.113.5", "::ffff:cb00:7105", "2001:db8::1", "garbage", None],
)
def test_a_wrong_source_is_refused(address: str | None) -> None:
    assert refusal(delivery(remote_addr=address), SOURCES_ONLY) == "source"
    assert refusal(delivery(remote_addr=address), BOTH) == "source"


def test_an_ipv4_mapped_segpay_address_is_accepted() -> None:
    assert read(delivery(remote_addr="::ffff:198.51.100.9")).kind is EventKind.SALE


@pytest.mark.parametrize("token", ["wrong", "", TOKEN + "x", TOKEN.upper(), None])
def test_a_wrong_or_missing_token_is_refused(token: str | None) -> None:
    assert refusal(delivery(fields(token=token)), TOKEN_ONLY) == "token"
    assert refusal(delivery(fields(token=token)), BOTH) == "token"


def test_the_token_field_can_be_renamed() -> None:
    config = {**TOKEN_ONLY, "postback_token_field": "sig"}
    d = delivery(fields(token=None, sig=TOKEN))
    event = read(d, config)
    assert "sig" not in event.payload
    assert refusal(delivery(), config) == "token"  # the token in the wrong field


def test_the_token_never_reaches_the_payload() -> None:
    event = read(delivery())
    assert DEFAULT_TOKEN_FIELD not in event.payload
    assert TOKEN not in event.model_dump_json()


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_only_get_and_post_are_accepted(method: str) -> None:
    assert refusal(delivery(method=method)) == "method"


def test_a_bad_source_setting_refuses_as_unconfigured() -> None:
    assert refusal(delivery(), {"postback_sources": "nonsense"}) == "unconfigured"
    assert refusal(delivery(), {"postback_token": 5}) == "unconfigured"


# -- malformed and masking -------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"tranid": None},
        {"tranid": ""},
        {"trantype": None},
        {"trantype": "  "},
        {"tranid": "1" * 200},
        {"tranid": "7\x000"},
        {"tranid": PAN},
        {"purchaseid": PAN},
        {"relatedtranid": "x" * 200},
        {"trantype": "s" * 61},
    ],
)
def test_malformed_postbacks_are_refused(changes: dict[str, str | None]) -> None:
    assert refusal(delivery(fields(**changes))) == "malformed"


def test_card_numbers_are_masked_everywhere() -> None:
    d = delivery(fields(email=f"{PAN}@example.com", username="5555 5555 5555 4444", note=PAN))
    event = read(d)
    text = event.model_dump_json()
    assert PAN not in text
    assert "5555 5555 5555 4444" not in text
    assert "4444" in event.payload["note"]


_text = st.text(max_size=30)
_names = (
    st.sampled_from(["tranid", "trantype", "approved", "price", "currencycode", "purchaseid"])
    | st.sampled_from(["relatedtranid", "billertranstime", "token", PAN])
    | _text
)
_values = _text | st.sampled_from(["yes", "no", "sale", "charge", "credit", "0", "1.5", "USD", PAN])


@settings(max_examples=300, deadline=None)
@given(query=st.dictionaries(_names, _values), body=st.binary(max_size=100))
def test_fuzz_is_an_event_or_refused(query: dict[str, str], body: bytes) -> None:
    d = Delivery.of("segpay", "POST", query=query, body=body, remote_addr=SEGPAY_ADDRESS)
    form = SegpayNotifications(SOURCES_ONLY)
    reason = "event"
    try:
        form.verify(d)
        event = form.parse(d)
    except NotificationRefusedError as error:
        reason = error.reason
    else:
        assert isinstance(event, NotificationEvent)
        assert PAN not in event.model_dump_json()
    assert reason in {"event", "malformed"}


# -- the sandbox ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("sale", EventKind.SALE),
        ("rebill", EventKind.REBILL),
        ("refund", EventKind.REFUND),
        ("decline", EventKind.DECLINE),
    ],
)
def test_the_sandbox_postbacks_verify_and_parse(kind: str, expected: EventKind) -> None:
    box = SegpaySandbox()
    sent = box.notification(kind, CASES["approved"], token=TOKEN)
    assert set(sent) == {"method", "headers", "query", "body"}
    event = read(Delivery.of("segpay", **sent, remote_addr=SEGPAY_ADDRESS))
    assert event.kind is expected
    assert event.transaction_id == CASES["approved"]
    assert event.subscription_id == box.purchase_of(CASES["approved"])
    assert event.amount == Money(amount=Decimal("29.95"), currency="USD")


def test_the_sandbox_refund_postback_names_the_sale() -> None:
    sent = SegpaySandbox().notification("refund", CASES["refund_record"])
    event = read(Delivery.of("segpay", **sent, remote_addr=SEGPAY_ADDRESS), SOURCES_ONLY)
    assert event.related_transaction_id == CASES["refunded"]
    d = Delivery.of("segpay", **sent, remote_addr=SEGPAY_ADDRESS)
    assert refusal(d, TOKEN_ONLY) == "token"  # the sandbox's placeholder, not TOKEN
    with pytest.raises(ValueError, match="kind is one of"):
        SegpaySandbox().notification("chargeback", "1")


def test_the_sandbox_carries_the_placeholder_token() -> None:
    sent = SegpaySandbox().notification("sale", CASES["approved"])
    assert sent["query"][DEFAULT_TOKEN_FIELD] == SANDBOX_TOKEN
    d = Delivery.of("segpay", **sent, remote_addr="203.0.113.5")
    assert read(d, {"postback_token": SANDBOX_TOKEN}).kind is EventKind.SALE


def test_the_whole_loop_through_payhelp_in_the_sandbox(tmp_path: Path) -> None:
    with Payhelp(
        load_plugins=["segpay"], sandbox=True, store_url=f"sqlite:///{tmp_path / 's.db'}"
    ) as ph:
        sent = SegpaySandbox().notification("refund", CASES["refund_record"])
        first = ph.receive("segpay", **sent, remote_addr="203.0.113.5")
        again = ph.receive("segpay", **sent, remote_addr="203.0.113.5")
        query = {**sent["query"], DEFAULT_TOKEN_FIELD: "guess"}
        guessed = ph.receive("segpay", **{**sent, "query": query}, remote_addr="203.0.113.5")
    assert (first.status, first.reply_body) == ("applied", "OK")
    assert first.event is not None
    assert first.event.kind is EventKind.REFUND
    assert (again.status, again.reply_body) == ("duplicate", "OK")
    assert (guessed.status, guessed.reason, guessed.reply_status) == ("refused", "token", 403)


def test_outside_the_sandbox_nothing_is_configured_by_default(tmp_path: Path) -> None:
    with Payhelp(load_plugins=["segpay"], store_url=f"sqlite:///{tmp_path / 's.db'}") as ph:
        sent = SegpaySandbox().notification("sale", CASES["approved"])
        outcome = ph.receive("segpay", **sent, remote_addr="203.0.113.5")
    assert (outcome.status, outcome.reason) == ("refused", "unconfigured")


# -- registration --------------------------------------------------------------------------------


def test_the_format_says_what_it_follows() -> None:
    assert SegpayNotifications.basis == "third_party"
    assert SegpayNotifications.signed is False
    assert SegpayNotifications.secret_names == ("postback_token",)
    assert set(SegpayNotifications.setting_names) == {
        "postback_sources",
        "postback_token",
        "postback_token_field",
    }
    assert SOURCE_LIST_CALL in SegpayNotifications.reference


def test_the_plugin_builds_the_format_lazily() -> None:
    registered_first = Payhelp(load_plugins=["segpay"]).host.processors()["segpay"]
    assert registered_first.notifications is not None
    made = registered_first.notifications(TOKEN_ONLY, test_mode=True)
    assert isinstance(made, SegpayNotifications)
    assert made.test_mode is True
    registered = Payhelp(load_plugins=["segpay"]).host.processors()["segpay"]
    factory = getattr(registered, "notifications", None)
    assert factory is not None
    assert isinstance(factory(TOKEN_ONLY), SegpayNotifications)
