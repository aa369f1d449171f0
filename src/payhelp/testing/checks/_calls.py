"""Calling the plugin through payhelp, and telling apart what a call gave."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from payhelp.cases import LookupResult
from payhelp.errors import PayhelpError
from payhelp.testing._report import ConformanceError, describe, raised, scrubbed, where
from payhelp.testing.harness import Harness

T = TypeVar("T")


def call_plugin(harness: Harness, what: str, call: Callable[[], T]) -> T:
    """Run ``call``; an exception that is not payhelp's fails the check with what to fix (a
    :class:`~payhelp.errors.PayhelpError` is raised as it is, for the check to judge)."""
    try:
        return call()
    except PayhelpError as exc:
        harness.errors.append(exc)
        raise
    except Exception as exc:
        harness.errors.append(exc)
        raise ConformanceError(
            f"{what} raised {describe(exc)}{where(exc)}: a plugin must return its answer "
            "(or None for what is not its own) and report failures with payhelp.errors",
            [],
        ) from None


@dataclass(frozen=True)
class Outcome:
    """What one call gave: an answer, or an error. ``same`` is what must agree between the sync
    and the async API (a result without its request id; an error's class, processor and HTTP
    status); ``text`` describes it for a failure."""

    answer: object
    same: object
    text: str


def _settled(harness: Harness, answer: object, error: BaseException | None) -> Outcome:
    if error is not None:
        harness.errors.append(error)
        got = raised(error)
        same = (
            type(got).__name__,
            getattr(got, "processor", None),
            getattr(got, "status_code", None),
        )
        return Outcome(error, same, f"{describe(error)}{where(error)}")
    if isinstance(answer, LookupResult):
        dumped = answer.model_dump(mode="json", exclude={"request_id"})
        return Outcome(answer, dumped, f"status {answer.status.value} ({scrubbed(str(dumped))})")
    return Outcome(answer, answer, type(answer).__name__)


def outcome(harness: Harness, call: Callable[[], object]) -> Outcome:
    """What ``call`` gives, its error included."""
    try:
        return _settled(harness, call(), None)
    except Exception as exc:
        return _settled(harness, None, exc)


async def aoutcome(harness: Harness, call: Awaitable[object]) -> Outcome:
    """What awaiting ``call`` gives, its error included."""
    try:
        return _settled(harness, await call, None)
    except Exception as exc:
        return _settled(harness, None, exc)


def hook_impls(harness: Harness, hooks: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """Each of the plugin's implementations of ``hooks``, as pluggy registered it (any function
    name, with ``specname``): the hook's name and pluggy's ``HookImpl``."""
    host = harness.host
    if host is None:
        return
    plugin = harness.plugin
    for caller in host.pm.get_hookcallers(plugin) or ():
        if caller.name not in hooks:
            continue
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin:
                yield caller.name, impl


def implementations(
    harness: Harness, arguments: Mapping[str, Mapping[str, object]]
) -> Iterator[tuple[str, dict[str, object], Callable[..., Any]]]:
    """Each of the plugin's implementations of the hooks in ``arguments``, with the arguments it
    takes (an implementation may take fewer than the spec gives)."""
    for hook, impl in hook_impls(harness, tuple(arguments)):
        given = arguments[hook]
        yield hook, {a: given[a] for a in impl.argnames}, impl.function
