"""The hook implementations payhelp loads for Epoch (entry point ``epoch``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp_epoch.data import DIRECTORY, INFO


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register Epoch's metadata and contact directory."""
    register(INFO, DIRECTORY)
