"""payhelp's pytest plugin: fixtures for plugin authors (loaded through the ``pytest11`` entry
point, so any project with payhelp installed has them). Each is a thin wrapper of
:mod:`payhelp.testing.harness`, which needs no pytest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from payhelp.api import Payhelp
from payhelp.plugins import PluginHost
from payhelp.sandbox import Behaviour, SandboxTransport
from payhelp.testing.harness import (
    PluginArg,
    isolated_async_payhelp,
    isolated_payhelp,
    plugin_host,
    resolve_plugin,
    sandbox_transport,
    without_payhelp_environment,
)


@pytest.fixture
def payhelp_host() -> Callable[..., PluginHost]:
    """``payhelp_host(plugin, name=..., strict=True)``: a fresh plugin manager with payhelp's
    built-in plugin and the plugins given (objects or module names); no installed plugin."""
    return plugin_host


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
        try:
            return sandbox_transport(plugin, processor_id, behaviour)
        except AssertionError as exc:
            pytest.fail(str(exc), pytrace=False)

    return build


__all__ = [
    "isolated_async_payhelp",
    "isolated_payhelp",
    "payhelp_host",
    "payhelp_sandbox_transport",
    "payhelp_with",
    "resolve_plugin",
    "without_payhelp_environment",
]
