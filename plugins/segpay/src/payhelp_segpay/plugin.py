"""The hook implementations payhelp loads for SegPay (entry point ``segpay``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp.sandbox import Sandbox
from payhelp_segpay.api import SegpayApi
from payhelp_segpay.data import DIRECTORY, INFO


def _sandbox() -> Sandbox:
    """SegPay's sandbox, imported when a sandbox is first asked for rather than by every command
    that loads the plugins."""
    from payhelp_segpay.sandbox import SegpaySandbox  # noqa: PLC0415 - see above

    return SegpaySandbox()


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register SegPay's metadata, contact directory, SRS API and its sandbox."""
    register(INFO, DIRECTORY, api=SegpayApi, sandbox=_sandbox)
