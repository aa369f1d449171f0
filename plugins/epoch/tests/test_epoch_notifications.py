"""Epoch's postback: source addresses, parsing, identity, test approvals, masking, the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payhelp_epoch.notifications import (
    DEFAULT_SOURCES,
    SOURCE_LIST_URL,
    TEST_ANSWER,
    EpochNotifications,
)
from payhelp_epoch.sandbox import SANDBOX_SOURCE, EpochSandbox

from payhelp import Payhelp
from payhelp.errors import NotificationRefusedError
from payhelp.notifications import Delivery, EventKind, NotificationEvent

EPOCH_ADDRESS = "65.17.248.20"
PAN = "4111111111111111"


def fields(**changes: str) -> dict[str, str]:
    found = {"ans": "Y123456", "order_id": "200000001", "member_id": "100000001", "x_user": "42"}
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}


def delivery(
    query: dict[str, str] | None = None,
    *,
    method: str = "GET",
    remote_addr: str | None = EPOCH_ADDRESS,
    form: bool = False,
) -> Delivery:
    values = fields() if query is None else query
    if form:
        return Delivery.of(
            "epoch",
            method,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=urlencode(values),
            remote_addr=remote_addr,
        )
    return Delivery.of("epoch", method, query=values, remote_addr=remote_addr)


def read(d: Delivery, *, test_mode: bool = False, **config: Any) -> NotificationEvent:
    form = EpochNotifications(config, test_mode=test_mode)
    form.verify(d)
    return form.parse(d)


def refusal(d: Delivery, *, test_mode: bool = False, **config: Any) -> str:
    with pytest.raises(NotificationRefusedError) as caught:
        read(d, test_mode=test_mode, **config)
    return caught.value.reason


def test_an_approval_parses() -> None:
    event = read(delivery())
    assert event.processor == "epoch"
    assert event.kind is EventKind.SALE
    assert event.transaction_id == "200000001"
    assert event.subscription_id == "100000001"
    assert event.event_id == "200000001:Y123456"
    assert event.raw_status == "Y123456"
    assert event.metadata == {"x_user": "42"}
    assert event.test is False
    assert event.amount is None
    assert event.payload == fields()


def test_a_form_post_parses_like_a_query() -> None:
    assert read(delivery(method="POST", form=True)) == read(delivery())


def test_a_decline_parses() -> None:
    event = read(delivery(fields(ans="NDECLINED")))
    assert event.kind is EventKind.DECLINE
    assert event.raw_status == "NDECLINED"


def test_an_answer_of_neither_kind_is_unknown() -> None:
    assert read(delivery(fields(ans="QSOMETHING"))).kind is EventKind.UNKNOWN


def test_a_repeat_is_the_same_event_and_another_answer_another() -> None:
    first = read(delivery())
    assert read(delivery()).event_id == first.event_id
    assert read(delivery(fields(ans="N"))).event_id != first.event_id
    assert read(delivery(fields(order_id="200000002"))).event_id != first.event_id


def test_only_x_fields_are_metadata() -> None:
    event = read(delivery(fields(x_site="a", other="b", X_Caps="c")))
    assert event.metadata == {"x_user": "42", "x_site": "a", "X_Caps": "c"}
    assert event.payload["other"] == "b"


# -- sources ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["208.236.105.1", "208.236.105.254", "65.17.248.20", "::ffff:208.236.105.7"],
)
def test_the_default_ranges_are_accepted(address: str) -> None:
    assert read(delivery(remote_addr=address)).kind is EventKind.SALE


@pytest.mark.parametrize(
    "address",
    [
        "198.51.100.7",
        "208.236.106.1",
        "::ffff:198.51.100.7",
        "::ffff:c633:6407",  # 198.51.100.7, written in hex
        "2001:db8::1",
        "::1",
        "not an address",
        "",
        None,
    ],
)
def test_other_addresses_are_refused(address: str | None) -> None:
    assert refusal(delivery(remote_addr=address)) == "source"


def test_configured_sources_replace_the_default() -> None:
    d = delivery(remote_addr="198.51.100.7")
    assert read(d, postback_sources="198.51.100.0/24|203.0.113.0/24").kind is EventKind.SALE
    assert refusal(delivery(), postback_sources=["198.51.100.0/24"]) == "source"
    assert refusal(delivery(), postback_sources=[]) == "source"


def test_a_bad_source_setting_refuses_as_unconfigured() -> None:
    assert refusal(delivery(), postback_sources="nonsense") == "unconfigured"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_only_get_and_post_are_accepted(method: str) -> None:
    assert refusal(delivery(method=method)) == "method"


# -- test approvals ----------------------------------------------------------------------------


@pytest.mark.parametrize("ans", [TEST_ANSWER, "ygoodtest"])
def test_a_test_approval_is_refused_in_live_mode(ans: str) -> None:
    assert refusal(delivery(fields(ans=ans))) == "test_in_live"


def test_a_test_approval_is_accepted_in_test_mode() -> None:
    event = read(delivery(fields(ans=TEST_ANSWER)), test_mode=True)
    assert event.test is True
    assert event.kind is EventKind.SALE


def test_test_mode_still_checks_the_source() -> None:
    d = delivery(fields(ans=TEST_ANSWER), remote_addr="198.51.100.7")
    assert refusal(d, test_mode=True) == "source"


# -- malformed -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"ans": "Y"},
        {"order_id": "200000001"},
        {"ans": "", "order_id": "200000001"},
        {"ans": "Y", "order_id": "abc"},
        {"ans": "Y", "order_id": "-5"},
        {"ans": "Y", "order_id": "١٢٣"},  # digits, but not ASCII ones
        {"ans": "Y", "order_id": "1" * 41},
        {"ans": "Y", "order_id": "200000001", "member_id": "x"},
        {"ans": "Y\x00N", "order_id": "200000001", "member_id": "1"},
        {"ans": "Y" + "x" * 300, "order_id": "200000001"},
        {"ans": "Y", "order_id": PAN},
    ],
)
def test_malformed_postbacks_are_refused(query: dict[str, str]) -> None:
    assert refusal(delivery(query)) == "malformed"


def test_a_json_body_is_not_a_postback() -> None:
    d = Delivery.of(
        "epoch",
        "POST",
        headers={"Content-Type": "application/json"},
        body='{"ans": "Y", "order_id": "1"}',
        remote_addr=EPOCH_ADDRESS,
    )
    assert refusal(d) == "malformed"


def test_card_numbers_are_masked_everywhere() -> None:
    event = read(delivery(fields(x_note=f"card {PAN}", ans=f"N{PAN}", comment=PAN)))
    text = event.model_dump_json()
    assert PAN not in text
    assert "1111" in event.payload["comment"]
    assert event.metadata["x_note"] != f"card {PAN}"


_text = st.text(max_size=30)
_names = st.sampled_from(["ans", "order_id", "member_id", "x_user", "x_" + PAN, "other"]) | _text


@settings(max_examples=300, deadline=None)
@given(
    query=st.dictionaries(_names, _text | st.sampled_from(["Y", "N", TEST_ANSWER, "123"])),
    body=st.binary(max_size=100),
    test_mode=st.booleans(),
)
def test_fuzz_is_an_event_or_refused(query: dict[str, str], body: bytes, test_mode: bool) -> None:
    d = Delivery.of("epoch", "POST", query=query, body=body, remote_addr=EPOCH_ADDRESS)
    form = EpochNotifications({}, test_mode=test_mode)
    reason = "event"
    try:
        form.verify(d)
        event = form.parse(d)
    except NotificationRefusedError as error:
        reason = error.reason
    else:
        assert isinstance(event, NotificationEvent)
        assert PAN not in event.model_dump_json()
    assert reason in {"event", "malformed", "test_in_live"}


# -- the sandbox ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"), [("sale", EventKind.SALE), ("decline", EventKind.DECLINE)]
)
def test_the_sandbox_postbacks_verify_and_parse(kind: str, expected: EventKind) -> None:
    sent = EpochSandbox().notification(kind, "200000001", x_user="7")
    assert set(sent) == {"method", "headers", "query", "body", "remote_addr"}
    assert sent["remote_addr"] == SANDBOX_SOURCE
    event = read(Delivery.of("epoch", **{**sent, "remote_addr": SANDBOX_SOURCE}))
    assert event.kind is expected
    assert event.transaction_id == "200000001"
    assert event.subscription_id == "100000001"  # the sandbox member of that transaction
    assert event.metadata == {"x_user": "7"}


def test_the_sandbox_test_postback_needs_test_mode() -> None:
    sent = EpochSandbox().notification("test", "200000001")
    d = Delivery.of("epoch", **{**sent, "remote_addr": SANDBOX_SOURCE})
    assert refusal(d) == "test_in_live"
    assert read(d, test_mode=True).test is True
    with pytest.raises(ValueError, match="kind is one of"):
        EpochSandbox().notification("refund", "1")


def test_the_whole_loop_through_payhelp_in_the_sandbox(tmp_path: Path) -> None:
    with Payhelp(
        load_plugins=["epoch"], sandbox=True, store_url=f"sqlite:///{tmp_path / 's.db'}"
    ) as ph:
        sent = EpochSandbox().notification("test", "200000001")
        first = ph.receive("epoch", **{**sent, "remote_addr": SANDBOX_SOURCE})
        again = ph.receive("epoch", **{**sent, "remote_addr": SANDBOX_SOURCE})
        stranger = ph.receive("epoch", **{**sent, "remote_addr": "198.51.100.7"})
    assert first.status == "applied"
    assert first.event is not None
    assert first.event.test is True
    assert again.status == "duplicate"
    assert (stranger.status, stranger.reason) == ("refused", "source")


# -- registration --------------------------------------------------------------------------------


def test_the_format_says_what_it_follows() -> None:
    assert EpochNotifications.basis == "third_party"
    assert EpochNotifications.signed is False
    assert DEFAULT_SOURCES == ("208.236.105.0/24", "65.17.248.0/24")
    assert SOURCE_LIST_URL in EpochNotifications.reference
    assert EpochNotifications.setting_names == ("postback_sources",)
    assert EpochNotifications({}).reply(True).body == "OK"


def test_the_plugin_builds_the_format_lazily() -> None:
    registered_first = Payhelp(load_plugins=["epoch"]).host.processors()["epoch"]
    assert registered_first.notifications is not None
    made = registered_first.notifications({}, test_mode=True)
    assert isinstance(made, EpochNotifications)
    assert made.test_mode is True
    registered = Payhelp(load_plugins=["epoch"]).host.processors()["epoch"]
    factory = getattr(registered, "notifications", None)
    assert factory is not None
    assert isinstance(factory({}), EpochNotifications)
