"""The hook implementations payhelp loads for Paymentico (entry point ``paymentico``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp_paymentico.data import DIRECTORY, INFO


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register Paymentico's metadata and contact directory."""
    register(INFO, DIRECTORY)
