"""The shared models: validation, documentation, and never echoing secrets."""

from __future__ import annotations

import inspect
from datetime import datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

import payhelp
from payhelp import ContactChannel, IdFormat, Money, Product, Transaction
from payhelp._base import field_docs

from .conftest import PROV

MODELS = [
    obj
    for _, obj in inspect.getmembers(payhelp, inspect.isclass)
    if issubclass(obj, BaseModel) and obj.__module__.startswith("payhelp")
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    assert model.__doc__
    docs = field_docs(model)
    for name in model.model_fields:
        assert docs.get(name), f"{model.__name__}.{name} has no docstring"


def test_full_card_number_is_refused_and_never_echoed() -> None:
    card = "4111111111111111"
    with pytest.raises(ValidationError) as info:
        Transaction.model_validate({"card_last4": card}, strict=False)
    text = str(info.value)
    assert card not in text
    assert "1111111111" not in text
    assert "last four digits" in text


@pytest.mark.parametrize("value", ["123", "12345", "12a4", "    "])
def test_last4_takes_exactly_four_digits(value: str) -> None:
    with pytest.raises(ValidationError):
        Transaction.model_validate({"card_last4": value}, strict=False)


def test_purchase_time_must_carry_a_time_zone() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Transaction.model_validate({"purchased_at": "2026-11-01T10:00:00"}, strict=False)
    ok = Transaction.model_validate({"purchased_at": "2026-11-01T10:00:00+01:00"}, strict=False)
    assert isinstance(ok.purchased_at, datetime)


def test_money_is_exact_and_currency_checked() -> None:
    money = Money.model_validate_json('{"amount": "19.99", "currency": "eur"}')
    assert money.amount == Decimal("19.99")
    assert money.currency == "EUR"
    with pytest.raises(ValidationError, match="unknown ISO 4217"):
        Money.model_validate_json('{"amount": "1", "currency": "XYZ"}')
    with pytest.raises(ValidationError):
        Money.model_validate_json('{"amount": "-1", "currency": "EUR"}')


def test_period_only_for_subscriptions() -> None:
    assert (
        Product.model_validate({"kind": "subscription", "period": "annual"}, strict=False).period
        == "annual"
    )
    with pytest.raises(ValidationError, match="only meaningful for a subscription"):
        Product.model_validate({"kind": "tip", "period": "annual"}, strict=False)


def test_models_are_strict_by_default() -> None:
    # No silent coercion: a number is not an id, a float is not an exact amount.
    with pytest.raises(ValidationError, match="valid string"):
        Transaction(transaction_id=123)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="Decimal"):
        Money(amount=19.99, currency="EUR")  # type: ignore[arg-type]
    # Enum fields take their string values (plugin data and config are written so), and only those.
    assert Product(kind="tip").kind is payhelp.ProductKind.TIP  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Product(kind="tips")  # type: ignore[arg-type]


def test_id_format_example_must_fit_its_own_shape() -> None:
    with pytest.raises(ValidationError, match="does not fit"):
        IdFormat.model_validate(
            {
                "label": "x",
                "charset": "digits",
                "min_length": 3,
                "max_length": 3,
                "example": "12a",
                "provenance": PROV,
            },
            strict=False,
        )


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        Transaction.model_validate({"card_number": "4111"}, strict=False)


def test_channel_values_are_checked_by_kind() -> None:
    def channel(kind: str, value: str) -> ContactChannel:
        return ContactChannel.model_validate(
            {"kind": kind, "value": value, "provenance": PROV}, strict=False
        )

    assert channel("phone", "+441344586020").value == "+441344586020"
    with pytest.raises(ValidationError, match=r"E\.164"):
        channel("phone", "1-855-877-7020")
    with pytest.raises(ValidationError, match=r"must be written in E\.164 as"):
        channel("phone", "+44 1344 586020")
    with pytest.raises(ValidationError, match="not an email"):
        channel("email", "help.example.com")
    with pytest.raises(ValidationError, match="https"):
        channel("web_form", "http://example.com/form")
    with pytest.raises(ValidationError, match="only applies to phone"):
        ContactChannel.model_validate(
            {"kind": "email", "value": "a@b.example", "toll_free_in": ["US"], "provenance": PROV},
            strict=False,
        )
    with pytest.raises(ValidationError, match="at least 1"):
        ContactChannel.model_validate(
            {"kind": "email", "value": "a@b.example", "provenance": []}, strict=False
        )
