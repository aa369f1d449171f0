"""Loading plugins, isolating their failures, and the one typed wrapper around ``pm.hook``.

Plugins come from two places: payhelp's built-in plugin (default behaviour every processor gets)
and the ``payhelp`` entry-point group, where each entry-point name is a processor id. A plugin
that fails to import or to register is recorded with its name and error and a
:class:`~payhelp.errors.PluginLoadWarning` is issued; the others keep working. In strict mode the
first failure raises :class:`~payhelp.errors.PluginLoadError` instead.
"""

from __future__ import annotations

import importlib.metadata
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import pluggy

from payhelp import builtin, hookspecs
from payhelp.adapters import ApiAdapter
from payhelp.channels import ContactDirectory, ContactPlan
from payhelp.errors import CapabilityError, PluginError, PluginLoadError, PluginLoadWarning
from payhelp.i18n import Language
from payhelp.models import ProcessorInfo
from payhelp.policies.declines import DeclineScheme
from payhelp.policies.refunds import RefundRule
from payhelp.sandbox import Sandbox

ENTRY_POINT_GROUP = "payhelp"
BUILTIN_NAME = "payhelp.builtin"
_T = TypeVar("_T")


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


@dataclass
class PluginRecord:
    """What the host knows about one plugin, loaded or not."""

    name: str
    version: str | None
    source: str
    hooks: tuple[str, ...] = ()
    processors: tuple[str, ...] = ()
    error: str | None = None


@dataclass
class _Loaded:
    records: dict[str, PluginRecord] = field(default_factory=dict)
    processors: dict[str, RegisteredProcessor] = field(default_factory=dict)


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


class PluginHost:
    """Owns a plugin manager and exposes each hook as a typed method.

    Build one with :func:`get_plugin_manager`; nothing else in payhelp calls ``pm.hook``.
    """

    def __init__(self, pm: pluggy.PluginManager, strict: bool = False) -> None:
        self.pm = pm
        self.strict = strict
        self._loaded = _Loaded()
        self._schemes: dict[str, DeclineScheme] | None = None
        self._schemes_lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------

    def _fail(
        self,
        name: str,
        message: str,
        version: str | None,
        source: str,
        exc: BaseException | None,
        *,
        record: bool = True,
    ) -> None:
        if record:
            self._loaded.records[name] = PluginRecord(name, version, source, error=message)
        if self.strict:
            raise PluginLoadError(name, message) from exc
        warnings.warn(f"plugin {name!r} not loaded: {message}", PluginLoadWarning, stacklevel=3)

    def add(
        self, plugin: object, name: str, *, version: str | None = None, source: str = "object"
    ) -> bool:
        """Register ``plugin`` under ``name`` and collect its processors; ``False`` on failure."""
        if self.pm.has_plugin(name) or name in self._loaded.records:
            # Never overwrite the record of the plugin that holds the name.
            message = "the name is taken by another plugin"
            self._fail(name, message, version, source, None, record=False)
            return False
        try:
            self.pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self._fail(name, f"does not fit the hook contract: {exc}", version, source, exc)
            return False
        unknown = [
            caller.name for caller in self.pm.get_hookcallers(plugin) or () if not caller.has_spec()
        ]
        if unknown:
            self.pm.unregister(plugin)
            self._fail(
                name,
                f"implements unknown hooks: {', '.join(sorted(unknown))}",
                version,
                source,
                None,
            )
            return False
        found: list[RegisteredProcessor] = []

        def register(info: ProcessorInfo, directory: ContactDirectory) -> None:
            if not isinstance(info, ProcessorInfo) or not isinstance(directory, ContactDirectory):
                raise PluginError(name, "register() takes a ProcessorInfo and a ContactDirectory")
            if source == "entry point" and info.id != name:
                raise PluginError(
                    name, f"registers processor {info.id!r}; its entry-point name must equal the id"
                )
            taken = self._loaded.processors.get(info.id)
            if taken is not None or any(p.info.id == info.id for p in found):
                owner = taken.plugin if taken else name
                raise PluginError(
                    name, f"processor id {info.id!r} is already registered by {owner!r}"
                )
            found.append(RegisteredProcessor(info, directory, name))

        caller = self.pm.subset_hook_caller(
            "payhelp_register_processors",
            remove_plugins=[p for p in self.pm.get_plugins() if p is not plugin],
        )
        try:
            caller(register=register)
        except Exception as exc:  # a plugin's bug must not take payhelp down
            self.pm.unregister(plugin)
            self._fail(
                name, f"failed to register: {type(exc).__name__}: {exc}", version, source, exc
            )
            return False
        hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
        self._loaded.records[name] = PluginRecord(
            name, version, source, hooks=hooks, processors=tuple(p.info.id for p in found)
        )
        for registered in found:
            self._loaded.processors[registered.info.id] = registered
        return True

    def load_entry_points(
        self, only: Sequence[str] | None = None, disable: Iterable[str] = ()
    ) -> None:
        """Load installed plugins from the ``payhelp`` entry-point group."""
        disabled = set(disable)
        wanted = None if only is None else set(only)
        for ep in sorted(
            importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
        ):
            if ep.name in disabled or (wanted is not None and ep.name not in wanted):
                continue
            if ep.name in self._loaded.records and self._loaded.records[ep.name].error is None:
                continue  # the same distribution visible twice on sys.path
            version = ep.dist.version if ep.dist is not None else None
            try:
                module = ep.load()
            except Exception as exc:  # any import-time error is the plugin's, not ours
                self._fail(
                    ep.name,
                    f"failed to import {ep.value}: {type(exc).__name__}: {exc}",
                    version,
                    "entry point",
                    exc,
                )
                continue
            self.add(module, ep.name, version=version, source="entry point")
        if wanted is not None:
            for missing in sorted(wanted - set(self._loaded.records) - disabled):
                self._fail(
                    missing,
                    "requested in load_plugins but not installed",
                    None,
                    "entry point",
                    None,
                )

    @staticmethod
    def installed_names() -> list[str]:
        """Names of every installed plugin, loaded or not."""
        return sorted({ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)})

    # -- what was loaded -------------------------------------------------------------------

    def records(self) -> list[PluginRecord]:
        """Every plugin tried, loaded or failed, by name."""
        return [self._loaded.records[name] for name in sorted(self._loaded.records)]

    def failures(self) -> list[LoadFailure]:
        """The plugins that failed to load."""
        return [LoadFailure(r.name, r.error) for r in self.records() if r.error is not None]

    def processors(self) -> Mapping[str, RegisteredProcessor]:
        """Registered processors by id."""
        return self._loaded.processors

    # -- typed hook calls --------------------------------------------------------------------

    def contact_plan(
        self, info: ProcessorInfo, directory: ContactDirectory, country: str, language: Language
    ) -> ContactPlan:
        """Call :func:`~payhelp.hookspecs.payhelp_contact_plan`."""
        plan = self.pm.hook.payhelp_contact_plan(
            processor=info, directory=directory, country=country, language=language
        )
        return _expect(plan, ContactPlan, "payhelp_contact_plan", info.id)

    def adapter(self, info: ProcessorInfo, settings: Mapping[str, object]) -> ApiAdapter | None:
        """Call :func:`~payhelp.hookspecs.payhelp_adapter`; ``None`` when no plugin gives one."""
        adapter = self.pm.hook.payhelp_adapter(processor=info, settings=settings)
        found = _optional(adapter, ApiAdapter, "payhelp_adapter", info.id)
        if found is not None and found.processor != info.id:
            raise PluginError(
                info.id, f"payhelp_adapter gave an adapter for {found.processor!r}, not {info.id!r}"
            )
        return found

    def sandbox(self, info: ProcessorInfo) -> Sandbox | None:
        """Call :func:`~payhelp.hookspecs.payhelp_sandbox`; ``None`` when no plugin gives one."""
        sandbox = self.pm.hook.payhelp_sandbox(processor=info)
        if sandbox is not None and not isinstance(sandbox, Sandbox):
            raise PluginError(info.id, "payhelp_sandbox must return a Sandbox (handle, cases)")
        return sandbox

    def refund_rules(self, info: ProcessorInfo) -> tuple[RefundRule, ...]:
        """Call :func:`~payhelp.hookspecs.payhelp_refund_rules`: every plugin's rules for
        ``info``, in one tuple."""
        found: list[RefundRule] = []
        for result in self.pm.hook.payhelp_refund_rules(processor=info):
            if isinstance(result, RefundRule | str | bytes) or not isinstance(result, Sequence):
                raise PluginError(
                    info.id, "payhelp_refund_rules must return a sequence of RefundRule or None"
                )
            for rule in result:
                if not isinstance(rule, RefundRule):
                    raise PluginError(
                        info.id,
                        f"payhelp_refund_rules returned {type(rule).__name__}, expected RefundRule",
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
            if name is None or hook not in {c.name for c in self.pm.get_hookcallers(plugin) or ()}:
                continue
            try:
                own = self._schemes_of(name, plugin, owners)
            except Exception as exc:  # one plugin's broken table must not hide the others
                message = f"decline schemes not loaded: {type(exc).__name__}: {exc}"
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

        def register(scheme: DeclineScheme) -> None:
            if not isinstance(scheme, DeclineScheme):
                raise PluginError(name, "register() takes a DeclineScheme")
            if own_prefix and scheme.id != name and not scheme.id.startswith(name + "_"):
                raise PluginError(
                    name,
                    f"registers decline scheme {scheme.id!r}; a processor plugin's schemes are "
                    f"named {name!r} or {name + '_…'!r}",
                )
            if scheme.id in owners or scheme.id in own:
                owner = owners.get(scheme.id, name)
                raise PluginError(
                    name, f"decline scheme {scheme.id!r} is already registered by {owner!r}"
                )
            own[scheme.id] = scheme

        caller = self.pm.subset_hook_caller(
            "payhelp_register_decline_schemes",
            remove_plugins=[p for p in self.pm.get_plugins() if p is not plugin],
        )
        caller(register=register)
        return own


def _expect(value: object, kind: type[_T], hook: str, processor: str) -> _T:
    found = _optional(value, kind, hook, processor)
    if found is None:
        raise CapabilityError(
            f"no plugin answers {hook} for processor {processor!r}", processor=processor
        )
    return found


def _optional(value: object, kind: type[_T], hook: str, processor: str) -> _T | None:
    if value is not None and not isinstance(value, kind):
        raise PluginError(
            processor, f"{hook} returned {type(value).__name__}, expected {kind.__name__}"
        )
    return value


def get_plugin_manager(
    *,
    load_entry_points: bool = True,
    only: Sequence[str] | None = None,
    disable: Iterable[str] = (),
    strict: bool = False,
    extra: Iterable[tuple[str, object]] = (),
) -> PluginHost:
    """Build a fresh :class:`PluginHost`: the built-in plugin, installed plugins, then ``extra``.

    :param load_entry_points: Whether to load installed plugins at all.
    :param only: Load only these installed plugins (``PAYHELP_LOAD_PLUGINS``).
    :param disable: Never load these (``PAYHELP_DISABLE_PLUGINS``).
    :param strict: Raise :class:`PluginLoadError` on the first plugin that fails to load.
    :param extra: ``(name, plugin)`` pairs registered after the installed ones (tests, embedding
        platforms with in-house processors).
    """
    host = PluginHost(_new_manager(), strict=strict)
    host.add(builtin, BUILTIN_NAME, version=importlib.metadata.version("payhelp"), source="builtin")
    if load_entry_points:
        host.load_entry_points(only=only, disable=disable)
    for name, plugin in extra:
        host.add(plugin, name, source="object")
    host.pm.check_pending()
    return host


__all__ = [
    "ENTRY_POINT_GROUP",
    "LoadFailure",
    "PluginHost",
    "PluginRecord",
    "RegisteredProcessor",
    "get_plugin_manager",
]
