"""Loading plugins, isolating their failures, and the one typed wrapper around the hooks.

Plugins come from two places: payhelp's built-in plugin (default behaviour every processor gets)
and the ``payhelp`` entry-point group, where each entry-point name is a processor id. A plugin
that fails to import or to register is recorded with its name and error and a
:class:`~payhelp.errors.PluginLoadWarning` is issued; the others keep working. In strict mode the
first failure raises :class:`~payhelp.errors.PluginLoadError` instead.

Who may provide a processor id is decided from the set of installed distributions, never from the
order Python happens to list them in: an id claimed by two distributions is a conflict
(:class:`~payhelp.errors.PluginConflictError` in strict mode), a built-in id stays with payhelp's
own distribution unless the configuration names another, and two third-party claims leave the id
to neither.

A hook about one processor is asked only of the plugin that registered it, of the plugins the
platform registered in code without processors of their own, and of the built-in defaults; each
implementation is called on its own, so a broken hook fails the calls about its own processors
only, with a :class:`~payhelp.errors.PluginError` naming it, and is recorded in its
:class:`PluginRecord`.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import importlib.metadata
import re
import threading
import time
import traceback
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pluggy
from pydantic import ValidationError

from payhelp import builtin, hookspecs
from payhelp.adapters import ApiAdapter, ApiDriver, ProcessorApi
from payhelp.authoring import describe_plugin_error, is_placeholder, placeholders
from payhelp.channels import ContactDirectory, ContactPlan
from payhelp.errors import (
    CapabilityError,
    PayhelpError,
    PluginConflictError,
    PluginError,
    PluginLoadError,
    PluginLoadWarning,
    describe_validation_error,
)
from payhelp.i18n import LANGUAGES, Language
from payhelp.models import ProcessorInfo, PublicApi
from payhelp.policies.declines import DeclineScheme
from payhelp.policies.refunds import RefundRule
from payhelp.redact import mask_card_numbers, short_echo
from payhelp.sandbox import Sandbox, sandbox_base_url

if TYPE_CHECKING:
    from payhelp.notifications import NotificationFactory

ENTRY_POINT_GROUP = "payhelp"
BUILTIN_NAME = "payhelp.builtin"
#: The processor ids payhelp ships, each with the one distribution allowed to provide it unless
#: the configuration (``plugin_distributions``) names another.
BUILTIN_PROCESSORS: Mapping[str, str] = MappingProxyType(
    {
        "paymentico": "payhelp-paymentico",
        "epoch": "payhelp-epoch",
        "segpay": "payhelp-segpay",
        "centrobill": "payhelp-centrobill",
        "webbilling": "payhelp-webbilling",
        "wtseticket": "payhelp-wtseticket",
    }
)
#: The distributions payhelp trusts as its own: the core and the six shipped plugins.
BUILTIN_DISTRIBUTIONS: frozenset[str] = frozenset({"payhelp", *BUILTIN_PROCESSORS.values()})
#: Seconds a plugin's registration may take before payhelp stops waiting for it.
REGISTRATION_TIMEOUT = 2.0
#: Seconds of registration after which the plugin is reported as slow (it is still loaded).
SLOW_REGISTRATION = 0.5
#: Seconds of importing after which a note says so in the plugin's record.
SLOW_IMPORT = 1.0
#: The hooks asked about one processor, and so asked of that processor's plugin only.
PER_PROCESSOR_HOOKS = (
    "payhelp_adapter",
    "payhelp_contact_plan",
    "payhelp_refund_rules",
    "payhelp_sandbox",
)
#: The countries :meth:`PluginHost.check` asks contact plans for: one in each region.
CHECK_COUNTRIES = ("US", "CA", "DE", "GB", "JP")
_HOOK_ERRORS_KEPT = 10
_UNKNOWN_DISTRIBUTION = "(unknown distribution)"

# Plugins whose registration overran the limit in this process: their thread may still be
# running, so they are not started again (one stuck thread per plugin at most).
_overran: weakref.WeakSet[object] = weakref.WeakSet()
_overran_lock = threading.Lock()


@dataclass(frozen=True)
class LoadFailure:
    """A plugin that could not be loaded, and why."""

    plugin: str
    error: str


@dataclass(frozen=True)
class RegisteredProcessor:
    """A processor as one plugin registered it."""

    info: ProcessorInfo
    directory: ContactDirectory
    plugin: str
    #: The processor's API, when it has a public one (registered with its metadata).
    api: type[ProcessorApi] | None = None
    #: What builds its sandbox, registered with the API.
    sandbox: Callable[[], Sandbox] | None = None
    #: What reads its notifications (postbacks, IPN): a
    #: :class:`~payhelp.notifications.NotificationFormat` subclass or a function building one
    #: from the processor's settings (``test_mode=`` keyword).
    notifications: NotificationFactory | None = None


def _derived(name: str, info: ProcessorInfo, api: type[ProcessorApi] | None) -> ProcessorInfo:
    """``info`` with the API capabilities and the public-API record taken from what was
    registered, so that they cannot disagree with it."""
    if api is None:
        return info
    capabilities = info.capabilities.model_copy(
        update={"api_lookup": True, "api_submission": api.can_submit}
    )
    try:
        public = PublicApi.model_validate(
            {"basis": api.basis, "base_url": api.base_url, "reference": api.reference},
            strict=False,
        )
    except ValidationError as exc:
        raise PluginError(name, f"{api.__name__}: {describe_validation_error(exc)}") from None
    return info.model_copy(update={"capabilities": capabilities, "public_api": public})


def _host_of(url: object) -> str | None:
    # The standard library's parser: registering a processor loads no HTTP client.
    try:
        return urlsplit(str(url)).hostname or None
    except ValueError:
        return None


def _check_aliases(plugin: str, info: ProcessorInfo, others: Sequence[RegisteredProcessor]) -> None:
    """Refuse an alias that is the processor's own id, or another processor's id or alias: an
    id given by a user must name one processor."""
    for alias in info.aliases:
        if alias == info.id:
            raise PluginError(plugin, f"alias {alias!r} is the processor's own id")
        for other in others:
            if alias == other.info.id or alias in other.info.aliases:
                raise PluginError(
                    plugin,
                    f"alias {alias!r} of {info.id!r} already names {other.info.id!r} "
                    f"(registered by {other.plugin!r})",
                )
    for other in others:
        if info.id in other.info.aliases:
            raise PluginError(
                plugin,
                f"processor id {info.id!r} is already an alias of {other.info.id!r} "
                f"(registered by {other.plugin!r})",
            )


def _check_api(
    name: str, info: ProcessorInfo, api: object, sandbox: object
) -> tuple[type[ProcessorApi] | None, Callable[[], Sandbox] | None]:
    if api is not None:
        if not (isinstance(api, type) and issubclass(api, ProcessorApi)):
            raise PluginError(name, "register(api=...) takes a ProcessorApi subclass")
        declared = [
            a
            for a in ("processor", "basis", "base_url", "reference", "auth", "lookup_rules")
            if not hasattr(api, a)
        ]
        if declared:
            raise PluginError(name, f"{api.__name__} does not declare {', '.join(declared)}")
        if api.processor != info.id:
            raise PluginError(
                name, f"{api.__name__} is the API of {api.processor!r}, not of {info.id!r}"
            )
        host = _host_of(api.base_url)
        if host is None or host == "invalid" or host.endswith(".invalid"):
            raise PluginError(
                name,
                f"{api.__name__}.base_url is not the API's address yet "
                f"({short_echo(str(api.base_url))}): write it, or register no api while the "
                "processor has none",
            )
        if isinstance(api.reference, str) and is_placeholder(api.reference):
            raise PluginError(
                name,
                f"{api.__name__}.reference is still a placeholder "
                f"({short_echo(api.reference)}): name where the wire format was learned (a URL, "
                "or a repository and path)",
            )
    if sandbox is not None:
        if api is None:
            raise PluginError(name, "register(sandbox=...) needs the api it imitates")
        if not callable(sandbox):
            raise PluginError(name, "register(sandbox=...) takes a Sandbox class or factory")
    return api, sandbox


@dataclass
class PluginRecord:
    """What the host knows about one plugin, loaded or not."""

    name: str
    version: str | None
    source: str
    hooks: tuple[str, ...] = ()
    processors: tuple[str, ...] = ()
    #: Why the plugin is not loaded (``None`` when it is, or when the configuration chose
    #: another distribution for its id: then ``notes`` says so).
    error: str | None = None
    #: The distribution that provides it (``None`` for plugins registered in code).
    distribution: str | None = None
    #: Seconds spent importing and registering it.
    seconds: float | None = None
    #: What is worth knowing and is not a load error: slow to import or register, set aside
    #: for the distribution the configuration names, hooks that are never asked.
    notes: tuple[str, ...] = ()
    #: The latest distinct failures of its hooks in this process (raised, or answered with the
    #: wrong type), each naming the hook and the processor.
    hook_errors: tuple[str, ...] = ()
    #: What is wrong with a plugin that loaded all the same, each saying what to fix: an
    #: installed plugin that registered no processor (its entry-point name promises one).
    problems: tuple[str, ...] = ()


@dataclass
class _Loaded:
    records: dict[str, PluginRecord] = field(default_factory=dict)
    #: Installed plugins not loaded because another distribution holds (or contests) their id.
    set_aside: list[PluginRecord] = field(default_factory=list)
    processors: dict[str, RegisteredProcessor] = field(default_factory=dict)
    #: Plugins registered in code with no processor: asked about every processor.
    hook_plugins: set[str] = field(default_factory=set)


class _OverranError(Exception):
    """A plugin call did not finish within its time limit."""


def canonical_distribution(name: str) -> str:
    """A distribution name as packaging compares them (``Payhelp_SegPay`` is
    ``payhelp-segpay``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution_of(ep: importlib.metadata.EntryPoint) -> str:
    dist = ep.dist
    name = dist.name if dist is not None else None
    return canonical_distribution(name) if name else _UNKNOWN_DISTRIBUTION


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _where(exc: BaseException, function: Callable[..., object]) -> str:
    """Where in the plugin ``exc`` was raised: the innermost frame in the folder of the hook
    implementation ``function`` (file name and line, never a full path)."""
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    if code is None:
        return ""
    folder = Path(code.co_filename).parent
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).parent == folder:
            return f" (at {Path(frame.filename).name}:{frame.lineno}, in {frame.name})"
    return ""


def _run_limited(call: Callable[[], None], limit: float | None, name: str) -> None:
    """Run ``call``; with a ``limit``, in a daemon thread waited for at most ``limit`` seconds.

    Python cannot stop a thread: on :class:`_OverranError` the call goes on in the background and
    the caller must make sure whatever it does afterwards is ignored.
    """
    if limit is None:
        call()
        return
    outcome: list[BaseException | None] = []
    done = threading.Event()

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the waiting thread
            outcome.append(exc)
        else:
            outcome.append(None)
        finally:
            done.set()

    context = contextvars.copy_context()  # the caller's context (log capture, settings)
    worker = threading.Thread(
        target=context.run, args=(target,), name=f"payhelp-plugin-{name}", daemon=True
    )
    worker.start()
    if not done.wait(limit):
        raise _OverranError(name)
    if outcome[0] is not None:
        raise outcome[0]


def _remember_overran(plugin: object) -> None:
    # An object that cannot be weakly referenced is simply tried again next time.
    with _overran_lock, contextlib.suppress(TypeError):
        _overran.add(plugin)


def _has_overran(plugin: object) -> bool:
    with _overran_lock:
        try:
            return plugin in _overran
        except TypeError:
            return False


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


class PluginHost:
    """Owns a plugin manager and exposes each hook as a typed method.

    Build one with :func:`get_plugin_manager`; nothing else in payhelp calls the hooks.

    :param registration_timeout: Seconds a plugin's registration hooks may run before payhelp
        stops waiting and reports the plugin as not loaded (``None``: wait forever, in the
        calling thread).
    :param slow_registration: Seconds after which a registration is reported as slow.
    """

    def __init__(
        self,
        pm: pluggy.PluginManager,
        strict: bool = False,
        *,
        registration_timeout: float | None = REGISTRATION_TIMEOUT,
        slow_registration: float = SLOW_REGISTRATION,
    ) -> None:
        self.pm = pm
        self.strict = strict
        self.registration_timeout = registration_timeout
        self.slow_registration = slow_registration
        self._loaded = _Loaded()
        self._lock = threading.Lock()
        self._schemes: dict[str, DeclineScheme] | None = None
        self._schemes_lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------

    def _report(
        self,
        name: str,
        message: str,
        exc: BaseException | None,
        *,
        distribution: str | None = None,
        error: type[PluginLoadError] = PluginLoadError,
    ) -> None:
        """Raise in strict mode, warn otherwise."""
        if self.strict:
            raise error(name, message) from exc
        where = f" from {distribution!r}" if distribution else ""
        warnings.warn(
            f"plugin {name!r}{where} not loaded: {message}", PluginLoadWarning, stacklevel=4
        )

    def _fail(
        self,
        name: str,
        message: str,
        version: str | None,
        source: str,
        exc: BaseException | None,
        *,
        record: bool = True,
        distribution: str | None = None,
        seconds: float | None = None,
    ) -> None:
        if record:
            self._loaded.records[name] = PluginRecord(
                name,
                version,
                source,
                error=message,
                distribution=distribution,
                seconds=None if seconds is None else round(seconds, 4),
            )
        self._report(name, message, exc)

    def _set_aside(
        self,
        ep: importlib.metadata.EntryPoint,
        message: str,
        *,
        error: bool = True,
    ) -> None:
        """Record an installed plugin that is not loaded because of who holds its id."""
        distribution = _distribution_of(ep)
        version = ep.dist.version if ep.dist is not None else None
        record = PluginRecord(ep.name, version, "entry point", distribution=distribution)
        if error:
            record.error = message
        else:
            record.notes = (message,)
        self._loaded.set_aside.append(record)
        if error:
            self._report(
                ep.name, message, None, distribution=distribution, error=PluginConflictError
            )

    def _limit_for(self, name: str) -> float | None:
        """The time limit for ``name``'s registration hooks: none for payhelp's own code."""
        return None if name == BUILTIN_NAME else self.registration_timeout

    def _impls_of(self, hook: str, plugin: object) -> list[pluggy.HookImpl]:
        """``plugin``'s implementations of ``hook`` (whatever their function names)."""
        caller: pluggy.HookCaller = getattr(self.pm.hook, hook)
        return [impl for impl in reversed(caller.get_hookimpls()) if impl.plugin is plugin]

    def add(
        self,
        plugin: object,
        name: str,
        *,
        version: str | None = None,
        source: str = "object",
        distribution: str | None = None,
    ) -> bool:
        """Register ``plugin`` under ``name`` and collect its processors; ``False`` on failure."""
        if self.pm.has_plugin(name) or name in self._loaded.records:
            # Never overwrite the record of the plugin that holds the name.
            message = "the name is taken by another plugin"
            self._fail(name, message, version, source, None, record=False)
            return False

        def fail(
            message: str, exc: BaseException | None = None, spent: float | None = None
        ) -> bool:
            self._fail(
                name, message, version, source, exc, distribution=distribution, seconds=spent
            )
            return False

        if _has_overran(plugin):
            return fail(
                f"its registration did not finish within {self.registration_timeout:g} s earlier "
                "in this process; it is not tried again until the process restarts"
            )
        try:
            self.pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            return fail(f"does not fit the hook contract: {exc}", exc)
        misfit = self._misfit(plugin)
        if misfit is not None:
            self.pm.unregister(plugin)
            return fail(misfit)
        started = time.perf_counter()
        try:
            found = self._register_processors(plugin, name, source)
        except _OverranError as exc:
            self.pm.unregister(plugin)
            _remember_overran(plugin)
            return fail(
                f"registration did not finish within {self.registration_timeout:g} s "
                "(registration must be data only); payhelp stopped waiting, and since Python "
                "cannot stop a thread it finishes in the background, ignored",
                exc,
                time.perf_counter() - started,
            )
        except Exception as exc:  # a plugin's bug must not take payhelp down
            self.pm.unregister(plugin)
            own = f"plugin {name!r}: "
            if isinstance(exc, PluginError) and str(exc).startswith(own):
                why = str(exc)[len(own) :]  # payhelp's own words: said once, not wrapped
            else:
                why = describe_plugin_error(exc)
            return fail(f"failed to register: {why}", exc, time.perf_counter() - started)
        spent = time.perf_counter() - started
        hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
        notes: list[str] = []
        if spent >= self.slow_registration and name != BUILTIN_NAME:
            note = (
                f"registration took {spent:.2f} s (every start waits for it; registration "
                "must be data only)"
            )
            notes.append(note)
            warnings.warn(f"plugin {name!r} is slow: {note}", PluginLoadWarning, stacklevel=2)
        asked = sorted(set(hooks) & set(PER_PROCESSOR_HOOKS))
        if not found and source == "entry point" and asked:
            notes.append(
                "it registers no processor, so its hooks about processors "
                f"({', '.join(asked)}) are never asked: an installed plugin answers only for "
                "the processor it registers"
            )
        problems: list[str] = []
        if not found and source == "entry point":
            if "payhelp_register_processors" in hooks:
                why = "its payhelp_register_processors called register() for no processor"
            else:
                why = "it does not implement payhelp_register_processors"
            problems.append(
                f"registered no processor: {why}, so processor {name!r} (its entry-point name) "
                "is not provided; call register(INFO, DIRECTORY) from payhelp_register_processors"
            )
            warnings.warn(
                f"plugin {name!r} loaded but {problems[0]}", PluginLoadWarning, stacklevel=2
            )
        self._loaded.records[name] = PluginRecord(
            name,
            version,
            source,
            hooks=hooks,
            processors=tuple(p.info.id for p in found),
            distribution=distribution,
            seconds=round(spent, 4),
            notes=tuple(notes),
            problems=tuple(problems),
        )
        for registered in found:
            self._loaded.processors[registered.info.id] = registered
        if source == "object" and not found:
            self._loaded.hook_plugins.add(name)
        return True

    def _misfit(self, plugin: object) -> str | None:
        """Why a registered ``plugin`` breaks the contract pluggy does not check, if it does."""
        callers = self.pm.get_hookcallers(plugin) or []
        unknown = sorted(caller.name for caller in callers if not caller.has_spec())
        if unknown:
            return f"implements unknown hooks: {', '.join(unknown)}"
        wrappers = sorted(
            caller.name
            for caller in callers
            for impl in caller.get_hookimpls()
            if impl.plugin is plugin and (impl.wrapper or impl.hookwrapper)
        )
        if wrappers:
            return (
                "does not fit the hook contract: hook wrappers are not supported (payhelp calls "
                f"each plugin's implementation on its own): {', '.join(wrappers)}"
            )
        return None

    def _register_processors(
        self, plugin: object, name: str, source: str
    ) -> list[RegisteredProcessor]:
        """Run ``plugin``'s ``payhelp_register_processors`` (within the time limit) and check
        what it registers; a call to ``register`` after it ended is refused."""
        found: list[RegisteredProcessor] = []
        guard = threading.Lock()
        closed = False

        def register(
            info: ProcessorInfo,
            directory: ContactDirectory,
            *,
            api: type[ProcessorApi] | None = None,
            sandbox: Callable[[], Sandbox] | None = None,
            notifications: NotificationFactory | None = None,
        ) -> None:
            with guard:
                if closed:
                    raise PluginError(name, "register() called after its registration ended")
                if not isinstance(info, ProcessorInfo) or not isinstance(
                    directory, ContactDirectory
                ):
                    raise PluginError(
                        name, "register() takes a ProcessorInfo and a ContactDirectory"
                    )
                left = placeholders({"INFO": info, "DIRECTORY": directory})
                if left:
                    raise PluginError(
                        name,
                        f"processor {info.id!r} still holds what payhelp plugin new left to fill "
                        "in, and payhelp never sends a customer to a placeholder; replace each "
                        "with the fact read at its source:"
                        + "".join(f"\n  - {item}" for item in left),
                    )
                if source == "entry point" and info.id != name:
                    raise PluginError(
                        name,
                        f"registers processor {info.id!r}; its entry-point name must equal the id",
                    )
                taken = self._loaded.processors.get(info.id)
                if taken is not None or any(p.info.id == info.id for p in found):
                    owner = taken.plugin if taken else name
                    raise PluginError(
                        name, f"processor id {info.id!r} is already registered by {owner!r}"
                    )
                _check_aliases(name, info, [*self._loaded.processors.values(), *found])
                checked_api, checked_sandbox = _check_api(name, info, api, sandbox)
                if notifications is not None and not callable(notifications):
                    raise PluginError(
                        name,
                        "register(notifications=...) takes a NotificationFormat subclass or a "
                        "function building one",
                    )
                derived = _derived(name, info, checked_api)
                if derived.capabilities.notifications != (notifications is not None):
                    # Derived, like the API's: the flag says whether a format was registered.
                    capabilities = derived.capabilities.model_copy(
                        update={"notifications": notifications is not None}
                    )
                    derived = derived.model_copy(update={"capabilities": capabilities})
                found.append(
                    RegisteredProcessor(
                        derived, directory, name, checked_api, checked_sandbox, notifications
                    )
                )

        impls = self._impls_of("payhelp_register_processors", plugin)

        def run() -> None:
            for impl in impls:
                impl.function(*({"register": register}[arg] for arg in impl.argnames))

        try:
            _run_limited(run, self._limit_for(name) if impls else None, name)
        finally:
            with guard:
                closed = True
                registered = list(found)
        return registered

    def load_entry_points(
        self,
        only: Sequence[str] | None = None,
        disable: Iterable[str] = (),
        *,
        distributions: Mapping[str, str] | None = None,
        entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
    ) -> None:
        """Load installed plugins from the ``payhelp`` entry-point group.

        :param only: Load only the plugins with these names.
        :param disable: Never load the plugins with these names.
        :param distributions: Processor id → the distribution that provides it, where the
            platform wants one other than payhelp's own or has to choose between two
            (``plugin_distributions``). No other distribution is loaded for that id.
        :param entry_points: The entry points to consider (default: every installed one).
        """
        disabled = set(disable)
        wanted = None if only is None else set(only)
        chosen = {pid: canonical_distribution(d) for pid, d in (distributions or {}).items()}
        found = (
            importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
            if entry_points is None
            else entry_points
        )
        claims: dict[str, dict[str, importlib.metadata.EntryPoint]] = {}
        for ep in found:
            if ep.group != ENTRY_POINT_GROUP or ep.name in disabled:
                continue
            if wanted is not None and ep.name not in wanted:
                continue
            by_dist = claims.setdefault(ep.name, {})
            dist = _distribution_of(ep)
            if dist not in by_dist or ep.value < by_dist[dist].value:
                by_dist[dist] = ep  # a distribution seen twice: the same answer either way
        for name in sorted(claims):
            winner = self._settle(name, claims[name], chosen.get(name))
            if winner is not None:
                self._load(winner)
        for pid in sorted(set(chosen) - set(claims) - disabled):
            if wanted is None or pid in wanted:
                self._fail(
                    pid,
                    f"the configuration (plugin_distributions) gives processor id {pid!r} to "
                    f"{chosen[pid]!r}, but no installed distribution provides it",
                    None,
                    "entry point",
                    None,
                    distribution=chosen[pid],
                )
        if wanted is not None:
            known = set(self._loaded.records) | {r.name for r in self._loaded.set_aside}
            for missing in sorted(wanted - known - disabled):
                self._fail(
                    missing,
                    "requested in load_plugins but not installed",
                    None,
                    "entry point",
                    None,
                )

    def _settle(
        self,
        name: str,
        by_dist: Mapping[str, importlib.metadata.EntryPoint],
        configured: str | None,
    ) -> importlib.metadata.EntryPoint | None:
        """Which distribution provides processor id ``name``; the others are set aside.

        Decided from the set of distributions alone, so the order Python lists them in (the
        filesystem's) never matters.
        """
        dists = sorted(by_dist)
        listed = ", ".join(repr(d) for d in dists)
        if configured is not None:
            if configured not in by_dist:
                self._fail(
                    name,
                    f"the configuration (plugin_distributions) gives processor id {name!r} to "
                    f"{configured!r}, which does not provide it (provided by {listed}); "
                    "nothing is loaded for it",
                    None,
                    "entry point",
                    None,
                    distribution=configured,
                )
                return None
            for dist in dists:
                if dist != configured:
                    self._set_aside(
                        by_dist[dist],
                        f"not loaded: the configuration (plugin_distributions) gives processor "
                        f"id {name!r} to {configured!r}",
                        error=False,
                    )
            return by_dist[configured]
        own = [d for d in dists if d in BUILTIN_DISTRIBUTIONS]
        reserved = BUILTIN_PROCESSORS.get(name)
        if len(own) == 1:
            for dist in dists:
                if dist != own[0]:
                    self._set_aside(
                        by_dist[dist],
                        f"processor id {name!r} is claimed by {own[0]!r} (built-in) and "
                        f"{dist!r}; the built-in one is kept. To use {dist!r}, name it in the "
                        f'configuration: plugin_distributions {name} = "{dist}"',
                    )
            return by_dist[own[0]]
        if len(dists) == 1 and reserved is None:
            return by_dist[dists[0]]
        for dist in dists:
            if reserved is not None and len(dists) == 1:
                message = (
                    f"processor id {name!r} belongs to payhelp's built-in {reserved!r}; "
                    f"{dist!r} provides it only when the configuration names it: "
                    f'plugin_distributions {name} = "{dist}"'
                )
            else:
                message = (
                    f"processor id {name!r} is claimed by {listed}; none of them is loaded. "
                    f'Name the one to trust in the configuration: plugin_distributions {name} = "…"'
                )
            self._set_aside(by_dist[dist], message)
        return None

    def _load(self, ep: importlib.metadata.EntryPoint) -> None:
        version = ep.dist.version if ep.dist is not None else None
        distribution = _distribution_of(ep)
        started = time.perf_counter()
        try:
            module = ep.load()
        except Exception as exc:  # any import-time error is the plugin's, not ours
            self._fail(
                ep.name,
                f"failed to import {ep.value}: {describe_plugin_error(exc)}",
                version,
                "entry point",
                exc,
                distribution=distribution,
                seconds=time.perf_counter() - started,
            )
            return
        imported = time.perf_counter() - started
        if not self.add(
            module, ep.name, version=version, source="entry point", distribution=distribution
        ):
            return
        record = self._loaded.records[ep.name]
        record.seconds = round(imported + (record.seconds or 0.0), 4)
        if imported >= SLOW_IMPORT:
            record.notes = (
                f"importing it took {imported:.2f} s (every start waits for it)",
                *record.notes,
            )

    @staticmethod
    def installed_names() -> list[str]:
        """Names of every installed plugin, loaded or not."""
        return sorted({ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)})

    # -- what was loaded -------------------------------------------------------------------

    def records(self) -> list[PluginRecord]:
        """Every plugin tried, loaded, failed or set aside, by name (a snapshot)."""
        with self._lock:
            found = [dataclasses.replace(r) for r in self._loaded.records.values()]
            found += [dataclasses.replace(r) for r in self._loaded.set_aside]
        return sorted(found, key=lambda r: (r.name, r.distribution or ""))

    def failures(self) -> list[LoadFailure]:
        """The plugins that failed to load (conflicts included)."""
        return [LoadFailure(r.name, r.error) for r in self.records() if r.error is not None]

    def processors(self) -> Mapping[str, RegisteredProcessor]:
        """Registered processors by id."""
        return self._loaded.processors

    def check(
        self, directories: Mapping[str, ContactDirectory] | None = None
    ) -> list[PluginRecord]:
        """Ask every plugin's hooks about its processors once (a contact plan for a country of
        each region in every language, the sandbox, an adapter for the sandbox, the refund
        rules, the decline tables) and return the records, where each failure is now listed.

        Nothing is sent anywhere: the adapter is built for the in-process sandbox and closed.

        :param directories: The directories as the platform's configuration left them (the
            registered ones by default).
        """
        for pid, registered in sorted(self._loaded.processors.items()):
            info = registered.info
            directory = (directories or {}).get(pid, registered.directory)
            for country in CHECK_COUNTRIES:
                for language in LANGUAGES:
                    _quietly(self.contact_plan, info, directory, country, language)
            _quietly(self.sandbox, info)
            settings = MappingProxyType({"sandbox": True, "base_url": sandbox_base_url(pid)})
            adapter = _quietly(self.adapter, info, settings)
            if adapter is not None:
                adapter.close()
            _quietly(self.refund_rules, info)
        _quietly(self.decline_schemes)
        return self.records()

    # -- typed hook calls --------------------------------------------------------------------

    def _answerers(self, hook: str, processor_id: str) -> list[pluggy.HookImpl]:
        """The implementations asked about ``processor_id``, in pluggy's order: the platform's
        hook plugins, the processor's own plugin, the built-in defaults."""
        owner = self._loaded.processors.get(processor_id)
        allowed = {BUILTIN_NAME, *self._loaded.hook_plugins}
        if owner is not None:
            allowed.add(owner.plugin)
        caller: pluggy.HookCaller = getattr(self.pm.hook, hook)
        return [impl for impl in reversed(caller.get_hookimpls()) if impl.plugin_name in allowed]

    def _ask(
        self, impl: pluggy.HookImpl, hook: str, processor_id: str, kwargs: Mapping[str, object]
    ) -> object:
        """Call one implementation; anything but a payhelp error becomes a :class:`PluginError`
        naming its plugin."""
        try:
            return impl.function(*(kwargs[arg] for arg in impl.argnames))
        except PayhelpError:
            raise  # the plugin's deliberate, typed answer (bad settings, no such payment...)
        except Exception as exc:
            what = f"raised {_describe(exc)}{_where(exc, impl.function)}"
            raise self._broken(impl.plugin_name, hook, processor_id, what) from exc

    def _broken(self, plugin: str, hook: str, processor_id: str, what: str) -> PluginError:
        """The error for ``plugin``'s hook failing a call about ``processor_id``, recorded in
        the plugin's record."""
        message = mask_card_numbers(f"{hook} for processor {processor_id!r} {what}")
        self._note_hook_error(plugin, message)
        error = PluginError(plugin, message)
        error.processor = processor_id
        return error

    def _note_hook_error(self, plugin: str, message: str) -> None:
        with self._lock:
            record = self._loaded.records.get(plugin)
            if record is None or message in record.hook_errors:
                return
            record.hook_errors = (*record.hook_errors, message)[-_HOOK_ERRORS_KEPT:]

    def _first(
        self, hook: str, processor_id: str, kwargs: Mapping[str, object]
    ) -> tuple[object, str] | None:
        """The first answer other than ``None``, with the plugin that gave it."""
        for impl in self._answerers(hook, processor_id):
            answer = self._ask(impl, hook, processor_id, kwargs)
            if answer is not None:
                return answer, impl.plugin_name
        return None

    def contact_plan(
        self, info: ProcessorInfo, directory: ContactDirectory, country: str, language: Language
    ) -> ContactPlan:
        """Call :func:`~payhelp.hookspecs.payhelp_contact_plan`."""
        hook = "payhelp_contact_plan"
        kwargs = {
            "processor": info,
            "directory": directory,
            "country": country,
            "language": language,
        }
        answer = self._first(hook, info.id, kwargs)
        if answer is None:
            raise CapabilityError(
                f"no plugin answers {hook} for processor {info.id!r}", processor=info.id
            )
        plan, plugin = answer
        if not isinstance(plan, ContactPlan):
            raise self._broken(
                plugin, hook, info.id, f"returned {type(plan).__name__}, expected ContactPlan"
            )
        if plan.processor != info.id:
            raise self._broken(plugin, hook, info.id, f"returned a plan for {plan.processor!r}")
        return plan

    def _registered(self, processor_id: str) -> RegisteredProcessor | None:
        return self._loaded.processors.get(processor_id)

    def _deprecated(self, plugin: str, hook: str) -> None:
        """Warn once per plugin and hook that it still answers an old fan-out hook."""
        with self._lock:
            record = self._loaded.records.get(plugin)
            note = (
                f"{hook} is deprecated: register the API and sandbox with the processor "
                "(register(info, directory, api=..., sandbox=...)); the hook goes in the next "
                "release"
            )
            if record is None or note in record.notes:
                return
            record.notes = (*record.notes, note)
        warnings.warn(f"plugin {plugin!r}: {note}", DeprecationWarning, stacklevel=3)

    def adapter(self, info: ProcessorInfo, settings: Mapping[str, object]) -> ApiAdapter | None:
        """The processor's adapter: the core's driver for the API registered with it, or (for a
        plugin of the old contract) what :func:`~payhelp.hookspecs.payhelp_adapter` gives;
        ``None`` when there is none or no credentials are configured."""
        registered = self._registered(info.id)
        if registered is not None and registered.api is not None:
            try:
                return ApiDriver.build(registered.api, settings)
            except PayhelpError:
                raise
            except Exception as exc:
                raise self._broken(
                    registered.plugin, "api", info.id, f"raised {_describe(exc)}"
                ) from None
        hook = "payhelp_adapter"
        answer = self._first(hook, info.id, {"processor": info, "settings": settings})
        if answer is None:
            return None
        adapter, plugin = answer
        self._deprecated(plugin, hook)
        if not isinstance(adapter, ApiAdapter):
            raise self._broken(
                plugin, hook, info.id, f"returned {type(adapter).__name__}, expected ApiAdapter"
            )
        if adapter.processor != info.id:
            raise self._broken(plugin, hook, info.id, f"gave an adapter for {adapter.processor!r}")
        return adapter

    def sandbox(self, info: ProcessorInfo) -> Sandbox | None:
        """The processor's sandbox: built from what was registered with its API, or (old
        contract) what :func:`~payhelp.hookspecs.payhelp_sandbox` gives; ``None`` when none."""
        registered = self._registered(info.id)
        hook = "payhelp_sandbox"
        if registered is not None and registered.sandbox is not None:
            plugin = registered.plugin
            try:
                sandbox: object = registered.sandbox()
            except PayhelpError:
                raise
            except Exception as exc:
                raise self._broken(plugin, "sandbox", info.id, f"raised {_describe(exc)}") from None
        else:
            answer = self._first(hook, info.id, {"processor": info})
            if answer is None:
                return None
            sandbox, plugin = answer
            self._deprecated(plugin, hook)
        if not isinstance(sandbox, Sandbox):
            raise self._broken(
                plugin,
                hook,
                info.id,
                f"returned {type(sandbox).__name__}; payhelp_sandbox must return a Sandbox "
                "(processor, handle, cases)",
            )
        if sandbox.processor != info.id:
            raise self._broken(plugin, hook, info.id, f"gave a sandbox for {sandbox.processor!r}")
        return sandbox

    def refund_rules(self, info: ProcessorInfo) -> tuple[RefundRule, ...]:
        """Call :func:`~payhelp.hookspecs.payhelp_refund_rules`: the rules of every plugin
        asked about ``info``, in one tuple.

        A plugin whose rules cannot be had fails the call: the decision is never made without
        them, since leaving a processor's rules out could make a refund look eligible.
        """
        hook = "payhelp_refund_rules"
        found: list[RefundRule] = []
        for impl in self._answerers(hook, info.id):
            result = self._ask(impl, hook, info.id, {"processor": info})
            if result is None:
                continue
            if isinstance(result, RefundRule | str | bytes) or not isinstance(result, Sequence):
                raise self._broken(
                    impl.plugin_name,
                    hook,
                    info.id,
                    f"returned {type(result).__name__}; payhelp_refund_rules must return a "
                    "sequence of RefundRule or None",
                )
            for rule in result:
                if not isinstance(rule, RefundRule):
                    raise self._broken(
                        impl.plugin_name,
                        hook,
                        info.id,
                        f"returned {type(rule).__name__} in its rules, expected RefundRule",
                    )
                found.append(rule)
        return tuple(found)

    def decline_schemes(self) -> Mapping[str, DeclineScheme]:
        """Every decline-code table, by scheme id; collected from the plugins on first use
        (:func:`~payhelp.hookspecs.payhelp_register_decline_schemes`)."""
        if self._schemes is None:
            with self._schemes_lock:
                if self._schemes is None:
                    self._schemes = self._collect_schemes()
        return self._schemes

    def _collect_schemes(self) -> dict[str, DeclineScheme]:
        schemes: dict[str, DeclineScheme] = {}
        owners: dict[str, str] = {}
        hook = "payhelp_register_decline_schemes"
        for name, plugin in self.pm.list_name_plugin():
            if name is None or not self._impls_of(hook, plugin):
                continue
            try:
                own = self._schemes_of(name, plugin, owners)
            except Exception as exc:  # one plugin's broken table must not hide the others
                what = (
                    f"did not finish within {self.registration_timeout:g} s"
                    if isinstance(exc, _OverranError)
                    else _describe(exc)
                )
                message = f"decline schemes not loaded: {what}"
                self._note_hook_error(name, f"{hook}: {mask_card_numbers(what)}")
                if self.strict:
                    raise PluginLoadError(name, message) from exc
                warnings.warn(f"plugin {name!r}: {message}", PluginLoadWarning, stacklevel=4)
                continue
            schemes.update(own)
            owners.update(dict.fromkeys(own, name))
        return schemes

    def _schemes_of(
        self, name: str, plugin: object, owners: Mapping[str, str]
    ) -> dict[str, DeclineScheme]:
        """Call one plugin's ``payhelp_register_decline_schemes`` and check what it registers."""
        record = self._loaded.records.get(name)
        own_prefix = record is not None and record.source == "entry point"
        own: dict[str, DeclineScheme] = {}
        guard = threading.Lock()
        closed = False

        def register(scheme: DeclineScheme) -> None:
            with guard:
                if closed:
                    raise PluginError(name, "register() called after its registration ended")
                if not isinstance(scheme, DeclineScheme):
                    raise PluginError(name, "register() takes a DeclineScheme")
                if own_prefix and scheme.id != name and not scheme.id.startswith(name + "_"):
                    raise PluginError(
                        name,
                        f"registers decline scheme {scheme.id!r}; a processor plugin's schemes "
                        f"are named {name!r} or {name + '_…'!r}",
                    )
                if scheme.id in owners or scheme.id in own:
                    owner = owners.get(scheme.id, name)
                    raise PluginError(
                        name, f"decline scheme {scheme.id!r} is already registered by {owner!r}"
                    )
                own[scheme.id] = scheme

        impls = self._impls_of("payhelp_register_decline_schemes", plugin)

        def run() -> None:
            for impl in impls:
                impl.function(*({"register": register}[arg] for arg in impl.argnames))

        try:
            _run_limited(run, self._limit_for(name), name)
        finally:
            with guard:
                closed = True
        return own


def _quietly(call: Callable[..., Any], *args: object) -> Any:
    """``call(*args)``, or ``None`` when it raises a payhelp error (a plugin's failure is
    recorded by the call itself)."""
    try:
        return call(*args)
    except PayhelpError:
        return None


def get_plugin_manager(
    *,
    load_entry_points: bool = True,
    only: Sequence[str] | None = None,
    disable: Iterable[str] = (),
    strict: bool = False,
    extra: Iterable[tuple[str, object]] = (),
    distributions: Mapping[str, str] | None = None,
    registration_timeout: float | None = REGISTRATION_TIMEOUT,
    slow_registration: float = SLOW_REGISTRATION,
) -> PluginHost:
    """Build a fresh :class:`PluginHost`: the built-in plugin, installed plugins, then ``extra``.

    :param load_entry_points: Whether to load installed plugins at all.
    :param only: Load only these installed plugins (``PAYHELP_LOAD_PLUGINS``).
    :param disable: Never load these (``PAYHELP_DISABLE_PLUGINS``).
    :param strict: Raise :class:`PluginLoadError` on the first plugin that fails to load
        (:class:`PluginConflictError` when two distributions claim one processor id).
    :param extra: ``(name, plugin)`` pairs registered after the installed ones (tests, embedding
        platforms with in-house processors). One that registers no processor is asked about
        every processor; one that does, about its own.
    :param distributions: Processor id → the distribution trusted to provide it
        (``plugin_distributions``): to use a third-party plugin for a built-in id, or to choose
        between two third-party ones.
    :param registration_timeout: Seconds a plugin's registration may take (``None``: no limit).
    :param slow_registration: Seconds after which a registration is reported as slow.
    """
    host = PluginHost(
        _new_manager(),
        strict=strict,
        registration_timeout=registration_timeout,
        slow_registration=slow_registration,
    )
    host.add(
        builtin,
        BUILTIN_NAME,
        version=importlib.metadata.version("payhelp"),
        source="builtin",
        distribution="payhelp",
    )
    if load_entry_points:
        host.load_entry_points(only=only, disable=disable, distributions=distributions)
    for name, plugin in extra:
        host.add(plugin, name, source="object")
    host.pm.check_pending()
    return host


__all__ = [
    "BUILTIN_DISTRIBUTIONS",
    "BUILTIN_PROCESSORS",
    "ENTRY_POINT_GROUP",
    "LoadFailure",
    "PluginHost",
    "PluginRecord",
    "RegisteredProcessor",
    "canonical_distribution",
    "get_plugin_manager",
]
