"""Routing from the fields route() takes without building a Transaction: ``payhelp.route_fields``
and ``Router.route``. What the fast check accepts, the model accepts, normalised alike; what the
model refuses still raises the model's error; a repeated call is answered from the memo."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from payhelp import Money, Payhelp, Product, Transaction
from payhelp import route_fields as rf
from payhelp.errors import (
    CardNumberError,
    InvalidInputError,
    PayhelpError,
    UnknownProcessorError,
)
from payhelp.models import IdKind, ProductKind
from payhelp.router import Router

NOW = datetime.now(UTC)

#: Fields that are routed, each a case the fast check must judge as the model does.
VALID: list[dict[str, Any]] = [
    {},
    {"country": "US"},
    {"country": " it "},
    {"country": "uk"},
    {"country": "\uff55\uff53"},
    {"transaction_id": "139630889", "country": "US"},
    {"transaction_id": "  139630889  "},
    {"transaction_id": "\uff11\uff13\uff19\uff16\uff13\uff10\uff18\uff18\uff19"},
    {"processor": " EPOCH "},
    {"processor": "wts"},
    {"descriptor": "EPOCH.COM*LIVESODA 800-555-1234", "country": "DE"},
    {"descriptor": "EP\u200bOCH.COM*X"},
    {"references": {"subscription": "7012345"}, "country": "US"},
    {"references": {IdKind.MEMBER: "1234567", "purchase": "83476992"}},
    {"references": {}},
    {"product": {"kind": "tip"}},
    {"product": {"kind": "subscription", "period": "annual"}},
    {"product": {"kind": ProductKind.SUBSCRIPTION, "period": None}},
    {"product": Product(kind=ProductKind.TIP)},
    {"product": None, "country": None},
    {"amount": {"amount": "9.99", "currency": "usd"}},
    {"amount": {"amount": "12345678901234.5678", "currency": "EUR"}},
    {"amount": {"amount": 15, "currency": "EUR"}},
    {"amount": {"amount": Decimal("1.5"), "currency": "EUR"}},
    {"amount": {"amount": "1e2", "currency": "EUR"}},
    {"amount": Money(amount=Decimal("1.00"), currency="GBP")},
    {"purchased_at": "2026-01-01T10:00:00Z"},
    {"purchased_at": "2026-01-01T10:00:00.123456+01:00"},
    {"purchased_at": "2026-01-01 10:00:00+01:00"},
    {"purchased_at": datetime(2026, 1, 1, tzinfo=UTC)},
    {"purchased_at": (NOW + timedelta(minutes=1)).isoformat()},
    {"card_last4": "4242"},
    {"transaction_id": "a" * 128, "descriptor": "D" * 200},
    {"descriptor": "x" * 199 + " " * 4000},
    {"transaction_id": " " * 4000 + "abc"},
]

#: Fields the model refuses; the fast check must leave every one to the model.
INVALID: list[dict[str, Any]] = [
    {"country": "XX"},
    {"country": "U S"},
    {"country": 1},
    {"transaction_id": ""},
    {"transaction_id": "   "},
    {"transaction_id": "a" * 129},
    {"transaction_id": " " * 5000 + "abc"},
    {"transaction_id": "4111111111111111"},
    {"transaction_id": "4111 1111 1111 1111"},
    {"transaction_id": "line\nbreak"},
    {"transaction_id": "tab\there"},
    {"transaction_id": 139630889},
    {"transaction_id": b"139630889"},
    {"descriptor": "SHOP 4111-1111-1111-1111"},
    {"descriptor": "D" * 201},
    {"descriptor": "x" * 5000},
    {"processor": "x"},
    {"processor": "EP OCH"},
    {"processor": 3},
    {"references": {"invoice": "1"}},
    {"references": {"member": ""}},
    {"references": {"member": 1}},
    {"references": None},
    {"references": [("member", "1")]},
    {"product": "tip"},
    {"product": {"kind": "TIP"}},
    {"product": {"kind": "tip", "period": "monthly"}},
    {"product": {"kind": "subscription", "period": "daily"}},
    {"product": {"kind": "tip", "extra": 1}},
    {"product": {}},
    {"amount": {"amount": "-1", "currency": "USD"}},
    {"amount": {"amount": "1.12345", "currency": "USD"}},
    {"amount": {"amount": "9.99", "currency": "XYZ"}},
    {"amount": {"amount": "9.99"}},
    {"amount": {"amount": True, "currency": "USD"}},
    {"amount": {"amount": "9.99", "currency": "USD", "note": "x"}},
    {"purchased_at": "2026-01-01T10:00:00"},
    {"purchased_at": "2026-13-01T10:00:00Z"},
    {"purchased_at": "2026-01-01T24:00:00Z"},
    {"purchased_at": (NOW + timedelta(days=1)).isoformat()},
    {"purchased_at": datetime(2026, 1, 1)},
    {"card_last4": "424"},
    {"card_last4": "4111111111111111"},
    {"card_last4": "\uff14\uff12\uff14\uff12"},
    {"card_last4": 4242},
    {"cardnumber": "4111111111111111"},
    {"ref": "r-1"},
]


@pytest.fixture(scope="module")
def router() -> Router:
    return Payhelp().router


def _short(fields: object) -> str:
    text = repr(fields)
    return text if len(text) <= 80 else text[:77] + "..."


def _outcome(call: Any) -> object:
    try:
        return call()
    except PayhelpError as exc:
        return (type(exc), str(exc))


def _by_model(router: Router, fields: dict[str, Any]) -> object:
    def call() -> object:
        try:
            tx = Transaction.model_validate(fields, strict=False)
        except Exception as exc:
            from payhelp._base import invalid_input  # noqa: PLC0415

            raise invalid_input(exc) from None  # type: ignore[arg-type]
        return router.decide(tx)

    return _outcome(call)


@pytest.mark.parametrize("fields", VALID + INVALID, ids=_short)
def test_route_answers_as_the_model_does(router: Router, fields: dict[str, Any]) -> None:
    expected = _by_model(router, fields)
    assert _outcome(lambda: router.route(fields)) == expected
    assert _outcome(lambda: router.route(fields)) == expected  # from the memo, if it was kept


@pytest.mark.parametrize("fields", VALID, ids=_short)
def test_the_check_normalises_what_it_accepts_as_the_model_does(fields: dict[str, Any]) -> None:
    checked = rf.check(fields)
    if checked is None:
        return  # left to the model: allowed for any input
    tx = Transaction.model_validate(fields, strict=False)
    assert checked.processor == tx.processor
    assert checked.transaction_id == tx.transaction_id
    assert checked.references == tuple(sorted(tx.references.items()))
    assert checked.descriptor == tx.descriptor
    assert checked.product == (None if tx.product is None else (tx.product.kind, tx.product.period))
    assert checked.country == tx.country


def test_the_check_takes_the_plain_fields_most_callers_give() -> None:
    # The fast path must be the common path, or it buys nothing.
    for fields in (
        {"transaction_id": "139630889", "country": "US"},
        {"descriptor": "EPOCH.COM*LIVESODA 800-555-1234", "product": {"kind": "tip"}},
        {"references": {"member": "1234567"}, "amount": {"amount": "9.99", "currency": "USD"}},
        {"purchased_at": "2026-01-01T10:00:00+00:00", "card_last4": "4242", "processor": "epoch"},
    ):
        assert rf.check(fields) is not None, fields


@pytest.mark.parametrize("fields", INVALID, ids=_short)
def test_the_check_never_accepts_what_the_model_refuses(fields: dict[str, Any]) -> None:
    assert rf.check(fields) is None


def test_a_card_number_in_an_id_raises_however_often_it_is_given(router: Router) -> None:
    for _ in range(3):
        with pytest.raises(CardNumberError):
            router.route({"transaction_id": "4111111111111111", "country": "US"})


def test_a_bad_country_raises_the_same_error_every_time(router: Router) -> None:
    messages = set()
    for _ in range(3):
        with pytest.raises(InvalidInputError) as caught:
            router.route({"transaction_id": "139630889", "country": "XX"})
        assert type(caught.value) is InvalidInputError
        messages.add(str(caught.value))
    assert messages == {
        "country: invalid country 'XX': expected an ISO 3166-1 alpha-2 code such as US, IT or GB"
    }


def test_an_unknown_processor_raises_after_every_field_is_checked(router: Router) -> None:
    with pytest.raises(UnknownProcessorError):
        router.route({"processor": "nosuchpay"})
    # A bad field is named first, as when the model was built before routing.
    with pytest.raises(InvalidInputError, match="country"):
        router.route({"processor": "nosuchpay", "country": "XX"})


def test_a_repeated_call_is_answered_from_the_memo() -> None:
    router = Payhelp().router
    fields = {"transaction_id": "139630889", "country": "US", "card_last4": "4242"}
    first = router.route(fields)
    assert router.route(dict(fields)) is first
    assert len(router._by_fields) == 1
    # Another order of the same fields is another key, and the same answer.
    assert router.route(dict(reversed(fields.items()))) == first


def test_payhelp_route_answers_from_the_routers_memo() -> None:
    # The facade hands its fields to Router.route: a repeated call builds no Transaction.
    payhelp = Payhelp()
    first = payhelp.route(transaction_id="139630889", country="US")
    assert payhelp.route({"transaction_id": "139630889"}, country="US") is first
    assert len(payhelp.router._by_fields) == 1
    with pytest.raises(InvalidInputError, match="not both"):
        payhelp.route(Transaction(country="US"), country="US")


def test_values_whose_equality_is_looser_than_validation_are_not_memo_keys() -> None:
    # 1 == True and 1 == Decimal(1): the first is a valid amount, True is refused.
    assert rf.memo_key({"amount": {"amount": Decimal(1), "currency": "USD"}}) is None
    assert rf.memo_key({"amount": {"amount": 1, "currency": "USD"}}) is None
    assert rf.memo_key({"transaction_id": 1}) is None
    assert rf.memo_key({"references": [("member", "1")]}) is None
    assert rf.memo_key({"product": {"kind": "tip"}}) == ("product", (("kind", "tip"),))
    router = Payhelp().router
    router.route({"amount": {"amount": 1, "currency": "USD"}})
    with pytest.raises(InvalidInputError, match="amount"):
        router.route({"amount": {"amount": True, "currency": "USD"}})


def test_a_refused_input_is_not_remembered() -> None:
    router = Payhelp().router
    with pytest.raises(InvalidInputError):
        router.route({"country": "XX"})
    assert router._by_fields == {}


def test_the_memo_keeps_at_most_cache_size_entries() -> None:
    router = Router(Payhelp().processors(), cache_size=2)
    for number in range(5):
        router.route({"transaction_id": f"13963088{number}"})
    assert len(router._by_fields) == 2
    assert Router(Payhelp().processors(), cache_size=0).route({"country": "US"}).ambiguous
    off = Router(Payhelp().processors(), cache_size=0)
    off.route({"country": "US"})
    assert off._by_fields == {}


def test_a_transaction_is_decided_as_given(router: Router) -> None:
    tx = Transaction(transaction_id="139630889", country="US")
    assert router.route(tx) == router.decide(tx)


def test_random_mixes_of_fields_answer_as_the_model_does(router: Router) -> None:
    # Every field's valid and refused values, drawn together: a refusal anywhere must win, and
    # an accepted mix must route as the model's Transaction does.
    pools: dict[str, list[object]] = {}
    for fields in VALID + INVALID:
        for name, value in fields.items():
            pools.setdefault(name, []).append(value)
    rng = random.Random(13)
    names = sorted(pools)
    for _ in range(1500):
        fields = {name: rng.choice(pools[name]) for name in rng.sample(names, rng.randint(1, 5))}
        expected = _by_model(router, fields)
        assert _outcome(lambda f=fields: router.route(f)) == expected, fields
        assert _outcome(lambda f=fields: router.route(f)) == expected, fields


def test_the_words_of_recent_statement_lines_are_kept_within_a_bound() -> None:
    router = Payhelp().router
    first = router.route({"descriptor": "EPOCH.COM*SHOP 800-555-0000"})
    for number in range(1500):
        router.route({"descriptor": f"EPOCH.COM*SHOP 800-555-{number:04d}", "country": "US"})
    assert 0 < len(router._descriptor_words) <= 1024  # router._DESCRIPTOR_CACHE
    assert Payhelp().router.route({"descriptor": "EPOCH.COM*SHOP 800-555-0000"}) == first
