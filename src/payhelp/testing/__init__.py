"""Testing tools for processor plugins: the harness, the checks, the conformance suite and
pytest fixtures (see docs/conformance.md).

- :mod:`payhelp.testing.harness`: the plugin alone in a fresh plugin manager, a
  :class:`~payhelp.Payhelp` and an :class:`~payhelp.AsyncPayhelp` holding it, its sandbox as an
  in-process transport; no pytest needed;
- :mod:`payhelp.testing.checks`: each check of the contract as a plain function raising an
  ``AssertionError`` that says what to fix;
- :mod:`payhelp.testing.conformance`: :class:`ProcessorPluginConformance`, the suite that runs
  them, sync and async.

Installed with payhelp and registered as a pytest plugin (the ``pytest11`` entry point
``payhelp``), so a plugin's tests get the fixtures without a ``conftest.py``:

- ``payhelp_host``: a factory for a fresh plugin manager (:class:`~payhelp.plugins.PluginHost`)
  holding only payhelp's built-in plugin and the plugins given;
- ``payhelp_with``: a factory for a :class:`~payhelp.Payhelp` with a plugin registered for the
  test only (no installed plugin loaded, a temporary store and outbox), closed afterwards;
- ``payhelp_sandbox_transport``: a factory for an in-process httpx transport answering from a
  plugin's sandbox.

:class:`ProcessorPluginConformance` is the whole contract as tests: subclass it in a
``Test…`` class, give the processor id and the plugin, and pytest runs every check.
:class:`RecordedSandbox` turns recorded API answers into a sandbox, for a plugin whose processor
offers none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from payhelp.testing.recorded import RecordedAnswer, RecordedSandbox

if TYPE_CHECKING:
    from payhelp.testing.conformance import ProcessorPluginConformance


def __getattr__(name: str) -> Any:
    # The conformance suite needs pytest; RecordedSandbox is runtime code and must not.
    if name == "ProcessorPluginConformance":
        from payhelp.testing.conformance import ProcessorPluginConformance  # noqa: PLC0415

        return ProcessorPluginConformance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ProcessorPluginConformance", "RecordedAnswer", "RecordedSandbox"]
