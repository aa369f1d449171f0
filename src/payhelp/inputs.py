"""What callers of the embedding API pass, checked and coerced in one place.

Every public method of :class:`~payhelp.api.Payhelp` (and so of its async twin) takes its
arguments through these functions, so that a bad value becomes one
:class:`~payhelp.errors.InvalidInputError` saying what to give, whichever method received it.
Models are validated leniently here (a string for an enum or a date is fine), strictly inside.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from payhelp._base import Model, invalid_input
from payhelp.cases import DisputeRequest, LookupQuery
from payhelp.errors import InvalidInputError
from payhelp.i18n import LANGUAGES, Language
from payhelp.models import Transaction
from payhelp.policies.declines import Network, VisaCategory
from payhelp.policies.refunds import RefundFacts
from payhelp.redact import short_echo

_M = TypeVar("_M", bound=Model)


def encodable(text: str) -> bool:
    """Whether ``text`` is real text (no lone surrogates, which no file or terminal can take)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validated(model: type[_M], data: Mapping[str, Any]) -> _M:
    """Validate caller-supplied fields leniently (strings for enums and dates are fine) and turn
    a failure into one clear :class:`InvalidInputError`."""
    try:
        return model.model_validate(data, strict=False)
    except ValidationError as exc:
        raise invalid_input(exc) from None


def _model_or_fields(
    model: type[_M], given: object, fields: Mapping[str, Any], method: str, kind: str
) -> _M:
    """``given`` as ``model``: the model itself, a mapping, or keyword fields (never two)."""
    if isinstance(given, model):
        if fields:
            raise InvalidInputError(f"give either {kind} or keyword fields, not both")
        return given
    if given is not None and not isinstance(given, Mapping):
        raise InvalidInputError(f"{method}() takes {kind}, a mapping or keyword fields")
    return validated(model, dict(given or {}) | dict(fields))


def lookup_query(query: object, fields: Mapping[str, Any]) -> LookupQuery:
    """What :meth:`~payhelp.api.Payhelp.lookup` was given, as one :class:`LookupQuery`."""
    return _model_or_fields(LookupQuery, query, fields, "lookup", "a LookupQuery")


def route_input(transaction: object, fields: Mapping[str, Any]) -> Transaction | dict[str, Any]:
    """What :meth:`~payhelp.api.Payhelp.route` was given: the :class:`Transaction` itself, or
    the fields of a mapping and keyword fields combined (the keywords win), unvalidated, for
    :meth:`~payhelp.router.Router.route`, which validates them as a :class:`Transaction` (and
    may answer from its memo first). :class:`InvalidInputError` for anything else, or for a
    Transaction given with keyword fields."""
    if transaction is None:  # keyword fields: the call's own dict, which nobody else holds
        return fields if type(fields) is dict else dict(fields)
    if isinstance(transaction, Transaction):
        if fields:
            raise InvalidInputError("give either a Transaction or keyword fields, not both")
        return transaction
    if not isinstance(transaction, Mapping):
        raise InvalidInputError("route() takes a Transaction, a mapping, or keyword fields")
    return dict(transaction) | dict(fields) if fields else dict(transaction)


def dispute_request(request: object, fields: Mapping[str, Any]) -> DisputeRequest:
    """What :meth:`~payhelp.api.Payhelp.submit_dispute` was given, as a
    :class:`DisputeRequest`."""
    return _model_or_fields(DisputeRequest, request, fields, "submit_dispute", "a DisputeRequest")


def refund_facts(facts: object, fields: Mapping[str, Any]) -> RefundFacts:
    """What :meth:`~payhelp.api.Payhelp.refund_check` was given, as :class:`RefundFacts`."""
    return _model_or_fields(RefundFacts, facts, fields, "refund_check", "RefundFacts")


def plugin_pairs(plugins: object) -> list[tuple[str, object]]:
    """``plugins=`` as ``(name, plugin)`` pairs; :class:`InvalidInputError` for anything else."""
    if isinstance(plugins, str | bytes | Mapping) or not isinstance(plugins, Iterable):
        raise InvalidInputError("plugins is a list of (name, plugin) pairs")
    pairs = list(plugins)
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise InvalidInputError("plugins is a list of (name, plugin) pairs")
    return pairs


def callbacks(value: object, name: str) -> list[Any]:
    """A callback, several, or none, as a list; :class:`InvalidInputError` for anything that is
    not callable."""
    if value is None:
        return []
    found = [value] if callable(value) else value
    if isinstance(found, str | bytes | Mapping) or not isinstance(found, Iterable):
        raise InvalidInputError(f"{name} is a function, or a list of functions")
    found = list(found)
    if not all(callable(item) for item in found):
        raise InvalidInputError(f"{name} is a function, or a list of functions")
    return found


def submission_numbers(value: object) -> list[int]:
    """The store's numbers for submissions (an iterable of whole numbers, at most 10,000)."""
    problem = "ids are the store's numbers of submissions: whole numbers, at most 10,000 of them"
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInputError(problem)
    numbers = list(value)
    if len(numbers) > 10_000 or any(
        isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in numbers
    ):
        raise InvalidInputError(problem)
    return numbers


def sandbox_flag(value: object) -> bool | None:
    """A call's ``sandbox=``: ``True``, ``False`` or ``None`` (the object's default)."""
    if value is not None and not isinstance(value, bool):
        raise InvalidInputError("sandbox is True, False or None")
    return value


def language(value: object) -> Language | None:
    """A call's ``language=``: one payhelp speaks, or ``None`` for the platform's default."""
    if value is not None and value not in LANGUAGES:
        raise InvalidInputError(f"language must be one of {', '.join(LANGUAGES)}")
    return value


def network(value: Network | str | None) -> Network | None:
    """A card network by name in any letter case (``visa``, ``Mastercard``)."""
    if value is None or isinstance(value, Network):
        return value
    try:
        return Network(str(value).strip().lower())
    except ValueError:
        known = ", ".join(n.value for n in Network)
        raise InvalidInputError(
            f"unknown card network {short_echo(str(value))} (known: {known})"
        ) from None


def advice_code(value: object) -> str | None:
    """A merchant advice code as given (a number is read as its two digits: ``3`` is ``03``);
    :func:`~payhelp.policies.advice.explain` checks its form."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 99:
        return f"{value:02d}"
    raise InvalidInputError("a merchant advice code is two digits, e.g. '03' or '24'")


_VISA_CATEGORIES: dict[str, VisaCategory] = {"1": 1, "2": 2, "3": 3, "4": 4}


def visa_category(value: object) -> VisaCategory | None:
    """Visa's reattempt category as given: 1, 2, 3 or 4 (a digit string is read as its number)."""
    if value is None:
        return None
    found = None if isinstance(value, bool) else _VISA_CATEGORIES.get(str(value).strip())
    if found is None:
        raise InvalidInputError(
            f"Visa's reattempt category is 1, 2, 3 or 4; got {short_echo(str(value))}"
        )
    return found


def parse_moment(value: datetime | str, name: str) -> datetime:
    """An aware datetime from a datetime or an ISO 8601 string; naive times are refused with an
    :class:`InvalidInputError` naming ``name`` (a parameter, or a CLI option)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInputError(
                f"{name}: not an ISO 8601 time; write e.g. 2026-11-22T10:00:00Z"
            ) from None
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{name} is a datetime or an ISO 8601 string")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(f"{name} needs a time zone, e.g. 2026-11-22T10:00:00+01:00 or …Z")
    return value
