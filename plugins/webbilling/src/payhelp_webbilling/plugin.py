"""The hook implementations payhelp loads for Webbilling (entry point ``webbilling``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp_webbilling.data import DIRECTORY, INFO


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register Webbilling's metadata and contact directory."""
    register(INFO, DIRECTORY)
