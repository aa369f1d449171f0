"""The hook implementations payhelp loads for SegPay (entry point ``segpay``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp_segpay.data import DIRECTORY, INFO


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register SegPay's metadata and contact directory."""
    register(INFO, DIRECTORY)
