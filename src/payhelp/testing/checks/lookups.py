"""Checks of lookups through the sandbox, sync and async: every case maps into the core."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from payhelp.api import AsyncPayhelp
from payhelp.cases import PaymentStatus
from payhelp.errors import InvalidInputError, PayhelpError
from payhelp.testing._report import describe, fail_on, where
from payhelp.testing.checks._calls import Outcome, aoutcome, call_plugin, outcome
from payhelp.testing.harness import Harness

#: The sandbox cases every API's sandbox must answer, and at least one whose name starts with
#: ``declined``.
REQUIRED_CASES = ("approved", "refunded", "chargeback", "not_found", "failing")

#: What a lookup of a sandbox case gives: a status, or the class of the error it raises.
Expected = PaymentStatus | type[PayhelpError]
#: ``(case, ident) -> lookup fields``: how to ask for the sandbox case whose id is ``ident``.
LookupFields = Callable[[str, str], dict[str, Any]]


def by_transaction_id(case: str, ident: str) -> dict[str, Any]:
    """The default :data:`LookupFields`: the case's id is the transaction id."""
    return {"transaction_id": ident}


def missing_cases(names: Mapping[str, object]) -> list[str]:
    """Which of :data:`REQUIRED_CASES` (and a ``declined…`` case) ``names`` lacks."""
    missing = [name for name in REQUIRED_CASES if name not in names]
    if not any(name.startswith("declined") for name in names):
        missing.append("declined…")
    return missing


def check_lookups(
    harness: Harness,
    expected: Mapping[str, Expected],
    lookup_fields: LookupFields = by_transaction_id,
) -> None:
    """Through the sandbox, each case of ``expected`` gives its normalised status or its class
    of :mod:`payhelp.errors`, naming the processor; the sandbox has the required cases; nothing
    else escapes; a lookup with no field is an :class:`~payhelp.errors.InvalidInputError`.
    Without an API: a self-service answer, with the page when ``self_service_lookup`` is set."""
    processor_id = harness.processor_id
    adapter = harness.adapter()
    ph = harness.loaded()
    if adapter is None:
        result = call_plugin(
            harness, "a lookup", lambda: ph.lookup(processor_id, transaction_id="1")
        )
        problems = []
        if result.source != "self_service" or result.status is not PaymentStatus.UNKNOWN:
            problems.append(
                f"without an adapter a lookup must be self-service, unknown; got "
                f"{result.source}, {result.status}"
            )
        if harness.info.capabilities.self_service_lookup and result.self_service is None:
            problems.append("self_service_lookup is true but the lookup gives no page")
        fail_on("self-service lookup", problems)
        return
    cases = harness.sandbox_cases()
    problems = [f"the sandbox has no {name!r} case" for name in missing_cases(cases)]
    missing = missing_cases(expected)
    if missing:
        problems.append(
            f"expected_lookups must say what these cases give: {missing} (a PaymentStatus "
            "or an error class of payhelp.errors)"
        )
    for case, wanted in expected.items():
        if case not in cases:
            problems.append(f"expected_lookups names {case!r}, which the sandbox lacks")
            continue
        problems += lookup_problems(harness, case, lookup_fields(case, cases[case]), wanted)
    try:
        ph.lookup(processor_id, sandbox=True)
    except InvalidInputError:
        pass
    except Exception as exc:
        problems.append(f"a lookup with no field raised {describe(exc)}, not InvalidInputError")
    else:
        problems.append("a lookup with no field at all gave an answer instead of an error")
    fail_on("lookups", problems)


def lookup_problems(
    harness: Harness, case: str, fields: Mapping[str, Any], wanted: Expected
) -> list[str]:
    """What is wrong with the lookup of one sandbox case, against what it should give."""
    ph = harness.loaded()
    try:
        result = ph.lookup(harness.processor_id, sandbox=True, **fields)
    except PayhelpError as exc:
        harness.errors.append(exc)
        if isinstance(wanted, PaymentStatus):
            return [f"{case}: expected {wanted.value}, got {describe(exc)}"]
        problems = []
        if not isinstance(exc, wanted):
            problems.append(f"{case}: expected {wanted.__name__}, got {describe(exc)}")
        if exc.processor != harness.processor_id:
            problems.append(f"{case}: {type(exc).__name__} does not name the processor")
        return problems
    except Exception as exc:
        harness.errors.append(exc)
        return [
            f"{case}: raised {describe(exc)}{where(exc)}; map the processor's answers "
            "into payhelp.errors (the client's error mapping or parse_lookup)"
        ]
    if isinstance(wanted, PaymentStatus):
        if result.status is not wanted:
            return [f"{case}: expected {wanted.value}, got {result.status.value}"]
        return []
    return [f"{case}: expected {wanted.__name__}, got status {result.status.value}"]


def check_async_lookups(
    harness: Harness,
    expected: Mapping[str, Expected],
    lookup_fields: LookupFields = by_transaction_id,
) -> None:
    """Every lookup of :func:`check_lookups` made again through the async API
    (:class:`~payhelp.AsyncPayhelp`) gives the same answer (request ids aside) or the same
    class of error naming the same processor and HTTP status, so a plugin needs no async
    tests."""
    adapter = harness.adapter()
    queries: dict[str, tuple[dict[str, Any], bool | None]] = {}
    if adapter is None:
        queries["self-service"] = ({"transaction_id": "1"}, None)
    else:
        cases = harness.sandbox_cases()
        for case in expected:
            if case in cases:
                queries[case] = (lookup_fields(case, cases[case]), True)
        queries["a lookup with no field"] = ({}, True)
    ph = harness.loaded()
    pid = harness.processor_id
    blocking = {
        name: outcome(harness, partial(ph.lookup, pid, sandbox=box, **fields))
        for name, (fields, box) in queries.items()
    }

    async def lookups(aph: AsyncPayhelp) -> dict[str, Outcome]:
        return {
            name: await aoutcome(harness, aph.lookup(pid, sandbox=box, **fields))
            for name, (fields, box) in queries.items()
        }

    awaited = harness.run_async(lookups)
    fail_on(
        "async lookups",
        [
            f"{name}: AsyncPayhelp.lookup gives {awaited[name].text}, the sync lookup "
            f"{blocking[name].text}"
            for name in queries
            if awaited[name].same != blocking[name].same
        ],
    )
