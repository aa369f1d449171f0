"""The harness: what a plugin is tested in, built once and shared by the checks.

- :func:`plugin_host`, :func:`isolated_payhelp`, :func:`isolated_async_payhelp`: a plugin
  manager, a :class:`~payhelp.Payhelp` or an :class:`~payhelp.AsyncPayhelp` holding only
  payhelp's built-in plugin and the plugins given (no installed plugin), with a store and outbox
  of their own;
- :func:`sandbox_transport`: an in-process httpx transport answering from a plugin's sandbox;
  :class:`~payhelp.testing.recorded.RecordedSandbox` makes one from recorded answers;
- :class:`Harness` and :func:`build_harness`: the plugin alone, loaded the way the conformance
  suite loads it (distinctive fake credentials, no retries, every request its sandbox sees and
  every log record kept), or the reason it did not load.

Nothing here needs pytest: the fixtures of :mod:`payhelp.testing.fixtures` and the suite of
:mod:`payhelp.testing.conformance` are built on it.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from payhelp.adapters import ApiAdapter, ProcessorApi
from payhelp.api import AsyncPayhelp, Payhelp
from payhelp.authoring import describe_plugin_error
from payhelp.cases import SubmissionReceipt
from payhelp.channels import ContactDirectory
from payhelp.errors import PluginLoadError
from payhelp.models import ProcessorInfo
from payhelp.plugins import PluginHost, RegisteredProcessor, get_plugin_manager
from payhelp.sandbox import Behaviour, Sandbox, SandboxTransport, sandbox_base_url
from payhelp.testing._report import SECRET_PREFIX, SECRET_SUFFIX, describe, scrubbed
from payhelp.testing.recorded import RecordedAnswer, RecordedSandbox

if TYPE_CHECKING:
    import pytest

T = TypeVar("T")

#: A plugin, given as the object holding its hook implementations or as its module's name.
PluginArg = object | str


def resolve_plugin(plugin: PluginArg) -> object:
    """A plugin given as an object or as the dotted name of its module."""
    return importlib.import_module(plugin) if isinstance(plugin, str) else plugin


def without_payhelp_environment(patch: pytest.MonkeyPatch) -> None:
    """Remove every ``PAYHELP_*`` variable of the machine for as long as ``patch`` lasts, so a
    developer's own configuration or credentials never reach a test."""
    for variable in [v for v in os.environ if v.startswith("PAYHELP_")]:
        patch.delenv(variable)


def _isolated(root: Path, settings: Mapping[str, Any]) -> dict[str, Any]:
    root.mkdir(parents=True, exist_ok=True)
    defaults: dict[str, Any] = {
        "store_url": f"sqlite:///{root / 'submissions.sqlite3'}",
        "outbox": str(root / "outbox"),
        "language": "en",
    }
    return defaults | dict(settings)


def isolated_payhelp(root: Path, plugins: list[tuple[str, object]], **settings: Any) -> Payhelp:
    """A :class:`Payhelp` holding only the built-in plugin and ``plugins``, whose store and
    outbox live under ``root`` and whose language is English unless ``settings`` say otherwise."""
    return Payhelp(load_entry_points=False, plugins=plugins, **_isolated(root, settings))


def isolated_async_payhelp(
    root: Path, plugins: list[tuple[str, object]], **settings: Any
) -> AsyncPayhelp:
    """:func:`isolated_payhelp` for the async API: an :class:`AsyncPayhelp` built the same way."""
    return AsyncPayhelp(load_entry_points=False, plugins=plugins, **_isolated(root, settings))


def plugin_host(*plugins: PluginArg, name: str | None = None, strict: bool = True) -> PluginHost:
    """A fresh plugin manager with payhelp's built-in plugin and ``plugins`` (objects or module
    names), the first registered under ``name`` when given; no installed plugin."""
    extra = []
    for index, plugin in enumerate(plugins):
        label = name if name is not None and index == 0 else f"plugin-{index}"
        extra.append((label, resolve_plugin(plugin)))
    return get_plugin_manager(load_entry_points=False, extra=extra, strict=strict)


def sandbox_transport(
    plugin: PluginArg, processor_id: str, behaviour: Behaviour | None = None
) -> SandboxTransport:
    """An httpx transport (sync and async) answering from the sandbox registered for
    ``processor_id`` by ``plugin``, in-process. Raises :class:`AssertionError` saying what to do
    when the plugin has none (neither registered with its API nor given by the deprecated
    ``payhelp_sandbox`` hook)."""
    host = plugin_host(plugin, name=processor_id)
    info: ProcessorInfo = host.processors()[processor_id].info
    sandbox = host.sandbox(info)
    if sandbox is None:
        raise AssertionError(
            f"{processor_id}: the plugin has no sandbox: register one with its API "
            "(register(info, directory, api=..., sandbox=...))"
        )
    return SandboxTransport(sandbox, behaviour)


# -- what the plugin logs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Logged:
    """One log record, as text: logger name, level, where it was emitted, message and error."""

    name: str
    level: str
    where: str
    text: str


class LogCapture(logging.Handler):
    """Keeps the text of every log record emitted while the suite runs a class, at every level,
    then masks card numbers and the suite's credentials in the record itself, so that the
    handlers after it (pytest's log capture among them) never show them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.logged: list[Logged] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        error = ""
        if record.exc_info and record.exc_info[1] is not None:
            error = "".join(traceback.format_exception(record.exc_info[1]))
        where = f"{record.pathname}:{record.lineno}"
        self.logged.append(Logged(record.name, record.levelname, where, f"{message}\n{error}"))
        masked = scrubbed(message)
        if masked != message:
            record.msg, record.args = masked, None
        if error and scrubbed(error) != error:
            record.exc_info, record.exc_text = None, scrubbed(error)

    def attach(self) -> None:
        """Be the root logger's first handler, so that records are masked before the other
        handlers see them."""
        root = logging.getLogger()
        if self in root.handlers:
            root.removeHandler(self)
        root.handlers.insert(0, self)


@contextmanager
def watching(capture: LogCapture) -> Iterator[None]:
    """Every record at every level reaches ``capture`` while the block runs, whatever level
    pytest's log capture (``log_level``) left on the root logger."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    capture.attach()
    try:
        yield
    finally:
        root.setLevel(level)


# -- the plugin, loaded -----------------------------------------------------------------------


class PluginNotLoadedError(AssertionError):
    """The plugin did not load (it does not import, fails to register, fails validation or
    registers nothing), so a check that needs it cannot run; the message says why."""


@dataclass
class Harness:
    """The plugin alone in a fresh plugin manager, a :class:`Payhelp` holding it (temporary
    store and outbox, distinctive fake credentials, no retries) and an :class:`AsyncPayhelp`
    built the same way with a store and outbox of its own; the requests their sandboxes saw,
    the log records and the errors raised. Build it with :func:`build_harness`; when the plugin
    did not load, ``load_error`` says why and every accessor raises
    :class:`PluginNotLoadedError`."""

    processor_id: str
    plugin: object
    root: Path
    load_error: str | None = None
    host: PluginHost | None = None
    ph: Payhelp | None = None
    aph: AsyncPayhelp | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)
    capture: LogCapture = field(default_factory=LogCapture)
    errors: list[BaseException] = field(default_factory=list)
    #: The first receipt of each submission the checks made, by idempotency key (a repeat's
    #: receipt says it is one instead of what the processor answered).
    receipts: dict[str, SubmissionReceipt] = field(default_factory=dict)

    def first_receipt(self, receipt: SubmissionReceipt) -> SubmissionReceipt:
        """``receipt`` as it was first given: a repeat's is replaced by the one remembered."""
        if not receipt.replayed:
            self.receipts.setdefault(receipt.idempotency_key, receipt)
        return self.receipts.get(receipt.idempotency_key, receipt)

    @property
    def info(self) -> ProcessorInfo:
        """The processor's metadata, as registered."""
        return self.loaded().processor(self.processor_id)

    def loaded(self) -> Payhelp:
        """The :class:`Payhelp`; :class:`PluginNotLoadedError` when the plugin did not load."""
        if self.ph is None:
            raise PluginNotLoadedError(
                f"the plugin did not load, so this check cannot run: {self.load_error}"
            )
        return self.ph

    def async_loaded(self) -> AsyncPayhelp:
        """The :class:`AsyncPayhelp`; :class:`PluginNotLoadedError` when the plugin did not load."""
        self.loaded()
        assert self.aph is not None
        return self.aph

    def run_async(self, work: Callable[[AsyncPayhelp], Awaitable[T]]) -> T:
        """Run ``work`` on the :class:`AsyncPayhelp` in an event loop of its own, closing its
        connections in that loop afterwards."""
        aph = self.async_loaded()

        async def run() -> T:
            try:
                return await work(aph)
            finally:
                await aph.aclose()

        return asyncio.run(run())

    @property
    def registered(self) -> RegisteredProcessor:
        """The processor as the plugin registered it (with its API and sandbox, if any)."""
        self.loaded()
        assert self.host is not None
        return self.host.processors()[self.processor_id]

    @property
    def api(self) -> type[ProcessorApi] | None:
        """The :class:`ProcessorApi` registered with the processor (the current contract), or
        ``None`` (no API, or one given by the deprecated ``payhelp_adapter`` hook)."""
        return self.registered.api

    def directory(self) -> ContactDirectory:
        """The processor's contact directory, as registered."""
        return self.loaded().directory(self.processor_id)

    @cached_property
    def sandbox(self) -> Sandbox | None:
        """The plugin's sandbox, asked for once."""
        return self.loaded().host.sandbox(self.info)

    def sandbox_cases(self) -> dict[str, str]:
        """The sandbox's case ids by name; none without a sandbox."""
        return dict(self.sandbox.cases()) if self.sandbox is not None else {}

    def adapter(self) -> ApiAdapter | None:
        """The adapter against the sandbox; without a sandbox, the one the fake credentials
        give (``None`` for a plugin without an adapter)."""
        return self.loaded().adapter(self.processor_id, sandbox=self.sandbox is not None)

    def close(self) -> None:
        """Stop capturing logs and close both clients."""
        logging.getLogger().removeHandler(self.capture)
        if self.ph is not None:
            self.ph.close()
        if self.aph is not None:
            asyncio.run(self.aph.aclose())


def build_harness(processor_id: str, plugin: PluginArg, root: Path) -> Harness:
    """Load ``plugin`` (an object or its module's name) the way the conformance suite does,
    under ``root``. A plugin that does not import, fails to register or registers no processor
    ``processor_id`` gives a harness whose ``load_error`` says what to fix; no exception."""
    try:
        resolved = resolve_plugin(plugin)
    except Exception as exc:
        harness = Harness(processor_id, plugin, root)
        harness.load_error = f"the plugin module cannot be imported: {_import_error(exc)}"
        return harness
    harness = Harness(processor_id, resolved, root)
    with watching(harness.capture):  # what registration logs counts too
        _load(harness)
    return harness


def _import_error(exc: BaseException) -> str:
    """What to tell the author about an exception raised while their module was imported."""
    # payhelp's words for a validation error, naming the value as the plugin wrote it.
    return scrubbed(describe_plugin_error(exc))


def _registered_nothing(host: PluginHost, processor_id: str) -> str:
    ids = sorted(host.processors())
    if ids:
        return (
            f"the plugin registered {ids} but no processor with the id {processor_id!r}: "
            f"give INFO the id {processor_id!r} (its entry-point name), or set processor_id"
        )
    record = next((r for r in host.records() if r.name == processor_id), None)
    if record is not None and "payhelp_register_processors" not in record.hooks:
        why = "it does not implement payhelp_register_processors"
    else:
        why = "its payhelp_register_processors called register() for no processor"
    return (
        f"the plugin registered no processor: {why}; call register(INFO, DIRECTORY) from "
        "payhelp_register_processors"
    )


def _load(harness: Harness) -> None:
    processor_id, plugin, root = harness.processor_id, harness.plugin, harness.root
    try:
        harness.host = get_plugin_manager(
            load_entry_points=False, extra=[(processor_id, plugin)], strict=True
        )
    except PluginLoadError as exc:
        harness.load_error = describe(exc)
        return
    registered = harness.host.processors().get(processor_id)
    if registered is None:
        harness.load_error = _registered_nothing(harness.host, processor_id)
        return
    # Distinctive fake credentials: the sandboxes take any, and the checks then look for them.
    names: tuple[str, ...] = ()
    try:
        probe = harness.host.adapter(
            registered.info,
            MappingProxyType({"sandbox": True, "base_url": sandbox_base_url(processor_id)}),
        )
    except Exception as exc:  # reported by the capability check; build without credentials
        harness.errors.append(exc)
        probe = None
    if probe is not None:
        names = probe.credential_names
        probe.close()
    harness.secrets = {name: f"{SECRET_PREFIX}{name}{SECRET_SUFFIX}" for name in names}
    settings = {**harness.secrets, "max_retries": 0}
    harness.ph = isolated_payhelp(
        root,
        [(processor_id, plugin)],
        processors={processor_id: {"settings": settings}},
        sandbox_behaviour=Behaviour(observe=harness.seen.append),
    )
    harness.aph = isolated_async_payhelp(
        root / "async",
        [(processor_id, plugin)],
        processors={processor_id: {"settings": settings}},
        sandbox_behaviour=Behaviour(observe=harness.seen.append),
    )


__all__ = [
    "Harness",
    "LogCapture",
    "Logged",
    "PluginArg",
    "PluginNotLoadedError",
    "RecordedAnswer",
    "RecordedSandbox",
    "build_harness",
    "isolated_async_payhelp",
    "isolated_payhelp",
    "plugin_host",
    "resolve_plugin",
    "sandbox_transport",
    "watching",
    "without_payhelp_environment",
]
