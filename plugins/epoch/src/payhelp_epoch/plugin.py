"""The hook implementations payhelp loads for Epoch (entry point ``epoch``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp.sandbox import Sandbox
from payhelp_epoch.api import EpochApi
from payhelp_epoch.data import DIRECTORY, INFO


def _sandbox() -> Sandbox:
    """Epoch's sandbox, imported when a sandbox is first asked for rather than by every command
    that loads the plugins."""
    from payhelp_epoch.sandbox import EpochSandbox  # noqa: PLC0415 - see above

    return EpochSandbox()


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register Epoch's metadata, contact directory, Customer Search API and its sandbox."""
    register(INFO, DIRECTORY, api=EpochApi, sandbox=_sandbox)
