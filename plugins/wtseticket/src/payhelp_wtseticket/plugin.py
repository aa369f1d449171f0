"""The hook implementations payhelp loads for WTS (entry point ``wtseticket``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp_wtseticket.data import DIRECTORY, INFO


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register WTS's metadata and contact directory."""
    register(INFO, DIRECTORY)
