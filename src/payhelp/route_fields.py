"""The fields ``route()`` takes, checked without building a :class:`~payhelp.models.Transaction`
where that check is exact.

Building a pydantic ``Transaction`` for every call costs about as much as a whole routing
decision. Most calls give plain values: ASCII ids and statement lines, a country code, a product
as ``{"kind": ..., "period": ...}``, an amount as a decimal string. :func:`check` accepts those
exactly as the model's lenient validation would, and answers ``None`` for anything else (another
type, non-ASCII text, an amount with an exponent, a time in another spelling, any field it does
not know): the caller then validates the model, which accepts it or raises the same typed error
it always did. So :func:`check` never refuses anything and never accepts what the model refuses;
what it accepts it normalises as the model does (ids stripped, the processor folded to lower
case, the country through :func:`~payhelp.geo.normalize_country`).

:func:`memo_key` turns fields into a hashable key for a memo of decisions, or ``None`` when a
value is not plain text (a ``Decimal``, a ``datetime``, a tuple): equal keys then mean equal
input, so an input the model refused can never share a key with one it accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final, NamedTuple

from payhelp.errors import InvalidInputError
from payhelp.geo import country_code
from payhelp.models import (
    CLOCK_SKEW,
    IdKind,
    Money,
    Product,
    ProductKind,
    SubscriptionPeriod,
    known_currency,
)
from payhelp.redact import MIN_DIGITS, find_card_number

#: A product as the router keys it: (kind, period), or ``None``.
ProductKey = tuple[ProductKind, SubscriptionPeriod | None] | None


class Checked(NamedTuple):
    """Fields that passed :func:`check`, normalised as the model would hold them. Only what
    routing reads is kept; amount, purchase time and card digits were checked and dropped."""

    processor: str | None
    transaction_id: str | None
    references: tuple[tuple[IdKind, str], ...]
    """Sorted by kind."""
    descriptor: str | None
    product: ProductKey
    country: str | None


#: The longest text the model folds before checking its length (``payhelp._base._FOLD_LIMIT``).
_FOLD_LIMIT: Final = 4096
_PROCESSOR: Final = re.compile(r"[a-z][a-z0-9_]{1,39}")
#: Amounts every spelling of the model accepts: at most 14 digits, then at most 4 decimals (so
#: at most 18 digits), not negative.
_AMOUNT: Final = re.compile(r"[0-9]{1,14}(?:\.[0-9]{1,4})?")
#: ISO 8601 times that both the model and :meth:`datetime.fromisoformat` read, and read alike.
_TIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
_KINDS: Final[dict[object, ProductKind]] = {k.value: k for k in ProductKind}
_PERIODS: Final[dict[object, SubscriptionPeriod]] = {p.value: p for p in SubscriptionPeriod}
_ID_KINDS: Final[dict[object, IdKind]] = {k.value: k for k in IdKind}
_MONEY_KEYS: Final = frozenset({"amount", "currency"})
_PRODUCT_KEYS: Final = frozenset({"kind", "period"})


#: Every byte but the ASCII digits, for counting the digits of ASCII text in one C call.
_NOT_DIGITS: Final = bytes(b for b in range(256) if not 0x30 <= b <= 0x39)


def _text(value: object, limit: int) -> str | None:
    """An ``Identifier`` (``limit`` 128) or ``StatementLine`` (200) the model would accept, as
    it would hold it; ``None`` when only the model can tell (non-ASCII text, not a ``str``) or
    the model refuses it."""
    if type(value) is not str or len(value) > _FOLD_LIMIT or not value.isascii():
        return None
    text = value.strip()
    if not text or len(text) > limit or not text.isprintable():
        return None
    # ASCII text with fewer digits than a card cannot hold one (find_card_number says so too,
    # counting them more slowly).
    if (
        len(text) >= MIN_DIGITS
        and len(text.encode("ascii").translate(None, _NOT_DIGITS)) >= MIN_DIGITS
        and find_card_number(text) is not None
    ):
        return None
    return text


#: Countries as given (exact ``str``) and their codes, for the few hundred spellings people use.
_COUNTRIES: dict[str, str] = {}


def _country(value: str) -> str | None:
    found = _COUNTRIES.get(value)
    if found is not None:
        return found
    try:
        found = country_code(value)
    except InvalidInputError:
        return None
    if len(_COUNTRIES) < 1024:
        _COUNTRIES[value] = found
    return found


def _product(value: object) -> tuple[ProductKey] | None:
    """The product's key (in a 1-tuple, as it may be ``None``), or ``None`` when only the model
    can tell."""
    if value is None:
        return (None,)
    if type(value) is Product:
        return ((value.kind, value.period),)
    if type(value) is not dict or not value.keys() <= _PRODUCT_KEYS:
        return None
    kind = value.get("kind")
    if type(kind) is not str and type(kind) is not ProductKind:
        return None
    member = _KINDS.get(kind)
    if member is None:
        return None
    period = value.get("period")
    if period is None:
        return ((member, None),)
    if member is not ProductKind.SUBSCRIPTION:
        return None
    if type(period) is not str and type(period) is not SubscriptionPeriod:
        return None
    found = _PERIODS.get(period)
    return None if found is None else ((member, found),)


def _references(value: object) -> tuple[tuple[IdKind, str], ...] | None:
    if type(value) is not dict:
        return None
    found: list[tuple[IdKind, str]] = []
    for key, raw in value.items():
        if type(key) is not str and type(key) is not IdKind:
            return None
        kind = _ID_KINDS.get(key)
        text = _text(raw, 128)
        if kind is None or text is None:
            return None
        found.append((kind, text))
    found.sort()
    return tuple(found)


def _amount(value: object) -> bool:
    if value is None or type(value) is Money:
        return True
    if type(value) is not dict or value.keys() != _MONEY_KEYS:
        return False
    amount, currency = value["amount"], value["currency"]
    if type(amount) is str:
        if _AMOUNT.fullmatch(amount) is None:
            return False
    elif type(amount) is not int or not 0 <= amount < 10**14:
        return False
    return type(currency) is str and known_currency(currency)


_latest = datetime.now(UTC) + CLOCK_SKEW


def _purchased_at(value: object) -> bool:
    if value is None:
        return True
    if type(value) is str:
        if _TIME.fullmatch(value) is None:
            return False
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return False
    if type(value) is not datetime or value.tzinfo is None or value.utcoffset() is None:
        return False
    # The latest time the model accepted when last asked: the clock only moves on, so a time
    # at or before it is still accepted; only a later one asks the clock again.
    global _latest  # noqa: PLW0603 - one bound for the process, moving forward
    if value <= _latest:
        return True
    _latest = datetime.now(UTC) + CLOCK_SKEW
    return value <= _latest


_FIELDS: Final = frozenset(
    {
        "processor",
        "transaction_id",
        "references",
        "descriptor",
        "product",
        "amount",
        "purchased_at",
        "country",
        "card_last4",
    }
)


def check(fields: Mapping[str, object]) -> Checked | None:
    """``fields`` as the model would hold what routing reads, when every field is one the model
    accepts and this check can tell so exactly; ``None`` when the model must be asked (it may
    accept the fields, or refuse them with its own error)."""
    processor = transaction_id = descriptor = country = None
    references: tuple[tuple[IdKind, str], ...] | None = ()
    product: ProductKey = None
    # One pass over what was given, the most frequent fields first; ``None`` (ask the model) at
    # the first doubt. A field given as None is the field left out, except references.
    for name, value in fields.items():
        if value is None:
            if name == "references" or name not in _FIELDS:
                return None
        elif name == "country":
            if type(value) is not str or (country := _country(value)) is None:
                return None
        elif name == "product":
            found = _product(value)
            if found is None:
                return None
            product = found[0]
        elif name == "transaction_id":
            if (transaction_id := _text(value, 128)) is None:
                return None
        elif name == "descriptor":
            if (descriptor := _text(value, 200)) is None:
                return None
        elif name == "amount":
            if not _amount(value):
                return None
        elif name == "purchased_at":
            if not _purchased_at(value):
                return None
        elif name == "card_last4":
            if type(value) is not str or len(value) != 4:
                return None
            if not (value.isascii() and value.isdigit()):
                return None
        elif name == "references":
            if (references := _references(value)) is None:
                return None
        elif name == "processor":
            if type(value) is not str:
                return None
            processor = value.strip().lower()
            if _PROCESSOR.fullmatch(processor) is None:
                return None
        else:
            return None
    return Checked(processor, transaction_id, references or (), descriptor, product, country)


def memo_key(fields: Mapping[str, object]) -> tuple[object, ...] | None:
    """A hashable key equal only for equal input: every value ``None``, a ``str`` or a ``dict``
    of ``str`` keys and ``str`` or ``None`` values (exact types: no subclass, number or
    ``Decimal``, whose equality is looser than validation); ``None`` otherwise."""
    key: list[object] = []
    for name, value in fields.items():
        if type(name) is not str:
            return None
        if type(value) is dict:
            for inner, item in value.items():
                if type(inner) is not str or (type(item) is not str and item is not None):
                    return None
            key += (name, tuple(value.items()))
        elif type(value) is str or value is None:
            key += (name, value)  # names and values alternate: equal keys, equal pairs
        else:
            return None
    return tuple(key)
