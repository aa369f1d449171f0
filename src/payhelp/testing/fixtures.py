"""payhelp's pytest plugin: fixtures for plugin authors (loaded through the ``pytest11`` entry
point, so any project with payhelp installed has them)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from payhelp.api import AsyncPayhelp, Payhelp
from payhelp.models import ProcessorInfo
from payhelp.plugins import PluginHost, get_plugin_manager
from payhelp.sandbox import Behaviour, SandboxTransport

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


@pytest.fixture
def payhelp_host() -> Callable[..., PluginHost]:
    """``payhelp_host(plugin, name=..., strict=True)``: a fresh plugin manager with payhelp's
    built-in plugin and the plugins given (objects or module names); no installed plugin."""

    def build(*plugins: PluginArg, name: str | None = None, strict: bool = True) -> PluginHost:
        extra = []
        for index, plugin in enumerate(plugins):
            label = name if name is not None and index == 0 else f"plugin-{index}"
            extra.append((label, resolve_plugin(plugin)))
        return get_plugin_manager(load_entry_points=False, extra=extra, strict=strict)

    return build


@pytest.fixture
def payhelp_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Payhelp]]:
    """``payhelp_with(plugin, name, **settings)``: a :class:`Payhelp` with ``plugin`` registered
    under ``name`` for this test only, a temporary store and outbox, no ``PAYHELP_*`` variables
    of the machine; closed when the test ends."""
    without_payhelp_environment(monkeypatch)
    built: list[Payhelp] = []

    def build(plugin: PluginArg, name: str, **settings: Any) -> Payhelp:
        ph = isolated_payhelp(
            tmp_path / f"payhelp-{len(built)}", [(name, resolve_plugin(plugin))], **settings
        )
        built.append(ph)
        return ph

    yield build
    for ph in built:
        ph.close()


@pytest.fixture
def payhelp_sandbox_transport() -> Callable[..., SandboxTransport]:
    """``payhelp_sandbox_transport(plugin, processor_id, behaviour=None)``: an httpx transport
    (sync and async) that answers from the plugin's sandbox in-process, for adapters under test.
    Fails the test when the plugin has no sandbox for that processor (neither registered with
    its API nor given by the deprecated ``payhelp_sandbox`` hook)."""

    def build(
        plugin: PluginArg, processor_id: str, behaviour: Behaviour | None = None
    ) -> SandboxTransport:
        host = get_plugin_manager(
            load_entry_points=False, extra=[(processor_id, resolve_plugin(plugin))], strict=True
        )
        info: ProcessorInfo = host.processors()[processor_id].info
        sandbox = host.sandbox(info)
        if sandbox is None:
            pytest.fail(
                f"{processor_id}: the plugin has no sandbox: register one with its API "
                "(register(info, directory, api=..., sandbox=...))"
            )
        return SandboxTransport(sandbox, behaviour)

    return build


__all__ = [
    "isolated_async_payhelp",
    "isolated_payhelp",
    "payhelp_host",
    "payhelp_sandbox_transport",
    "payhelp_with",
    "without_payhelp_environment",
]
