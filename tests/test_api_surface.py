"""One async surface: every public method of :class:`Payhelp` has a twin on
:class:`AsyncPayhelp` with the same parameters (names, kinds, defaults, annotations, the return
type read through ``Awaitable`` / ``AsyncIterator``), and the other way round, checked with
:func:`inspect.signature`. The checker is proved on small synthetic pairs first: it must fail
when a parameter is added, dropped or changed on one side only.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

import pytest

import payhelp
import payhelp.aio
import payhelp.api
from payhelp import AsyncPayhelp, Payhelp

#: Sync names whose async twin has another name, as in httpx (``close`` / ``aclose``).
RENAMED = {"close": "aclose", "__enter__": "__aenter__", "__exit__": "__aexit__"}
#: Payhelp's own coroutines, for code that holds a Payhelp inside an event loop: each must take
#: exactly the parameters of the sync method it mirrors.
BRIDGES = {"alookup": "lookup", "asubmit_dispute": "submit_dispute", "aclose": "close"}
#: What stays on the blocking object alone, and why: opening the SQL store blocks, so async
#: callers reach the records through ``disputes()`` / ``dispute()``, which run in a thread.
SYNC_ONLY = {"store", "sandbox_store"}
#: Methods that do no I/O on either side, so that the twin is a plain method too: registering a
#: callback for the notifications received.
PLAIN = {"on_event"}
#: Dunder methods that belong to the surface (construction and ``with`` / ``async with``).
DUNDERS = {"__init__", "__enter__", "__exit__", "__aenter__", "__aexit__"}
EMPTY = inspect.Parameter.empty


def _members(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers_static(cls)
        if (not name.startswith("_") or name in DUNDERS) and name in _own_names(cls)
    }


def _own_names(cls: type) -> set[str]:
    return {name for klass in cls.__mro__ if klass is not object for name in vars(klass)}


def _is_attribute(member: object) -> bool:
    return isinstance(member, property | cached_property)


def _function(member: object) -> Any:
    return member.__func__ if isinstance(member, classmethod | staticmethod) else member


def _normal(annotation: object, names: Mapping[str, str]) -> str:
    """An annotation as text, with an async twin's spelling read as the sync one's."""
    if annotation is EMPTY:
        return ""
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    text = text.replace(" ", "")
    for async_name, sync_name in names.items():
        text = re.sub(rf"\b{async_name}\b", sync_name, text)
    text = re.sub(r"\bAsync(Iterator|Iterable|Generator)\[", r"\1[", text)
    awaited = re.fullmatch(r"(?:Awaitable|Coroutine\[Any,Any,)\[?(.*)\]", text)
    return awaited.group(1) if awaited else text


def compare(
    name: str, sync: object, twin: object, names: Mapping[str, str], *, awaitable: bool = True
) -> list[str]:
    """What differs between a sync method and its async twin (empty when they agree)."""
    problems: list[str] = []
    sync_fn, twin_fn = _function(sync), _function(twin)
    if isinstance(sync, classmethod) != isinstance(twin, classmethod):
        problems.append(f"{name}: a classmethod on one side only")
    sync_sig, twin_sig = inspect.signature(sync_fn), inspect.signature(twin_fn)
    returns = _normal(sync_sig.return_annotation, names)
    if awaitable and not isinstance(sync, classmethod) and name != "__init__":
        streams = returns.startswith(("Iterator[", "Iterable[", "Generator["))
        if streams and not inspect.isasyncgenfunction(twin_fn):
            problems.append(f"{name}: the twin of an iterator must be an async iterator")
        if not streams and not inspect.iscoroutinefunction(twin_fn):
            problems.append(f"{name}: the twin must be a coroutine (async def)")
    if returns != _normal(twin_sig.return_annotation, names):
        problems.append(
            f"{name}: returns {sync_sig.return_annotation} on one side, "
            f"{twin_sig.return_annotation} on the other"
        )
    ours, theirs = sync_sig.parameters, twin_sig.parameters
    only_sync, only_async = ours.keys() - theirs.keys(), theirs.keys() - ours.keys()
    problems += [f"{name}: parameter {p!r} only on the sync side" for p in only_sync]
    problems += [f"{name}: parameter {p!r} only on the async side" for p in only_async]
    if [p for p in ours if p in theirs] != [p for p in theirs if p in ours]:
        problems.append(f"{name}: parameters in another order")
    for key in ours.keys() & theirs.keys():
        a, b = ours[key], theirs[key]
        if a.kind != b.kind:
            problems.append(f"{name}: {key!r} is {a.kind.description} / {b.kind.description}")
        if a.default != b.default and repr(a.default) != repr(b.default):
            problems.append(f"{name}: {key!r} defaults to {a.default!r} / {b.default!r}")
        if _normal(a.annotation, names) != _normal(b.annotation, names):
            problems.append(f"{name}: {key!r} is {a.annotation} / {b.annotation}")
    return sorted(problems)


def surface_mismatches(
    sync_cls: type,
    async_cls: type,
    *,
    renamed: Mapping[str, str] = RENAMED,
    bridges: Mapping[str, str] = BRIDGES,
    sync_only: set[str] = SYNC_ONLY,
    instance_attributes: set[str] = frozenset(),  # type: ignore[assignment]
    async_only: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[str]:
    """Every way ``async_cls`` is not the async twin of ``sync_cls``; ``instance_attributes``
    are those a ``sync_cls`` object sets for itself, which the twin must offer as properties."""
    names = {async_cls.__name__: sync_cls.__name__}
    ours, theirs = _members(sync_cls), _members(async_cls)
    problems = [
        f"{name}: set by {sync_cls.__name__}, no property on the twin"
        for name in instance_attributes
        if not _is_attribute(theirs.pop(name, None))
    ]
    matched: set[str] = set()
    for name, member in ours.items():
        if name in sync_only:
            continue
        if name in bridges:
            problems += compare(name, ours[bridges[name]], member, {})
            continue
        twin_name = renamed.get(name, name)
        twin = theirs.get(twin_name)
        if twin is None:
            problems.append(f"{name}: no twin on {async_cls.__name__}")
            continue
        matched.add(twin_name)
        if _is_attribute(member) or _is_attribute(twin):
            if not (_is_attribute(member) and _is_attribute(twin)):
                problems.append(f"{name}: an attribute on one side, a method on the other")
            elif _normal(_returns(member), names) != _normal(_returns(twin), names):
                problems.append(f"{name}: attributes of different types")
            continue
        problems += compare(name, member, twin, names, awaitable=name not in PLAIN)
    for name in theirs.keys() - matched - async_only:
        problems.append(f"{name}: {async_cls.__name__} has it, {sync_cls.__name__} has not")
    return sorted(problems)


def _returns(member: object) -> object:
    getter = member.fget if isinstance(member, property) else member.func  # type: ignore[attr-defined]
    return inspect.signature(getter).return_annotation


# -- the checker, proved on synthetic pairs ---------------------------------------------------


class Sync:
    def __init__(self, *, config: str | None = None) -> None: ...
    def get(self, key: str, *, fresh: bool = False) -> int: ...
    def stream(self, lines: list[str]) -> Iterator[str]: ...
    @property
    def size(self) -> int: ...


def _twin(**changes: Any) -> type:
    """An async twin of :class:`Sync`, with ``changes`` replacing its members."""

    async def get(self, key: str, *, fresh: bool = False) -> int: ...

    async def stream(self, lines: list[str]) -> Any:
        yield ""

    stream.__annotations__["return"] = "AsyncIterator[str]"
    members: dict[str, Any] = {
        "__init__": Sync.__init__,
        "get": get,
        "stream": stream,
        "size": Sync.size,
    }
    return type("AsyncSync", (), members | changes)


def test_a_faithful_twin_passes() -> None:
    assert surface_mismatches(Sync, _twin(), bridges={}, sync_only=set()) == []


async def _get_without_fresh(self, key: str) -> int: ...
async def _get_with_limit(self, key: str, *, fresh: bool = False, limit: int = 1) -> int: ...
async def _get_fresh_by_default(self, key: str, *, fresh: bool = True) -> int: ...
async def _get_fresh_positional(self, key: str, fresh: bool = False) -> int: ...
async def _get_any_key(self, key: object, *, fresh: bool = False) -> int: ...
async def _get_str(self, key: str, *, fresh: bool = False) -> str: ...
def _get_blocking(self, key: str, *, fresh: bool = False) -> int: ...
async def _stream_all_at_once(self, lines: list[str]) -> list[str]: ...


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"get": _get_without_fresh}, "get: parameter 'fresh' only on the sync side"),
        ({"get": _get_with_limit}, "get: parameter 'limit' only on the async side"),
        ({"get": _get_fresh_by_default}, "get: 'fresh' defaults to False / True"),
        ({"get": _get_fresh_positional}, "get: 'fresh' is keyword-only / positional or keyword"),
        ({"get": _get_any_key}, "get: 'key' is str / object"),
        ({"get": _get_str}, "get: returns int on one side, str on the other"),
        ({"get": _get_blocking}, "get: the twin must be a coroutine (async def)"),
        ({"stream": _stream_all_at_once}, "stream: the twin of an iterator must be an async"),
        ({"get": None}, "get: an attribute on one side, a method on the other"),
        ({"size": None}, "size: an attribute on one side, a method on the other"),
        ({"extra": _get_str}, "extra: AsyncSync has it, Sync has not"),
    ],
)
def test_the_checker_finds_a_change_on_one_side(changes: dict[str, Any], problem: str) -> None:
    if None in changes.values():  # a member turned into the other sort
        name = next(iter(changes))
        changes = {name: property(lambda self: 0) if name == "get" else _get_str}
    found = surface_mismatches(Sync, _twin(**changes), bridges={}, sync_only=set())
    assert any(p.startswith(problem) for p in found), found


def test_the_checker_finds_a_missing_twin() -> None:
    twin = _twin()
    del twin.get
    assert surface_mismatches(Sync, twin, bridges={}, sync_only=set()) == [
        "get: no twin on AsyncSync"
    ]


# -- the real pair ------------------------------------------------------------------------------


def _instance_attributes() -> set[str]:
    return {name for name in vars(Payhelp(load_entry_points=False)) if not name.startswith("_")}


def test_async_payhelp_is_the_twin_of_payhelp() -> None:
    found = surface_mismatches(
        Payhelp, AsyncPayhelp, instance_attributes=_instance_attributes(), async_only={"sync"}
    )
    assert found == []


def test_the_checker_sees_an_attribute_the_twin_lacks() -> None:
    found = surface_mismatches(
        Payhelp,
        AsyncPayhelp,
        instance_attributes={*_instance_attributes(), "colour"},
        async_only={"sync"},
    )
    assert found == ["colour: set by Payhelp, no property on the twin"]


def test_every_attribute_a_payhelp_sets_reads_the_same_on_the_twin() -> None:
    attributes = _instance_attributes()
    assert attributes == {"settings", "host", "refund_policy", "sandbox", "sandbox_behaviour"}
    aph = AsyncPayhelp(load_entry_points=False)
    for name in attributes:
        assert getattr(aph, name) is getattr(aph.sync, name)


def test_the_exceptions_are_still_what_they_say() -> None:
    members = _members(Payhelp)
    assert members.keys() >= SYNC_ONLY
    assert all(_is_attribute(members[name]) for name in SYNC_ONLY)
    for bridge, target in BRIDGES.items():
        assert inspect.iscoroutinefunction(members[bridge]), bridge
        assert target in members


def test_the_async_twin_is_importable_from_where_it_was() -> None:
    assert payhelp.api.AsyncPayhelp is payhelp.aio.AsyncPayhelp is payhelp.AsyncPayhelp
    assert payhelp.api.parse_moment is payhelp.inputs.parse_moment
