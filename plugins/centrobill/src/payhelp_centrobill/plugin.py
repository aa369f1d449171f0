"""The hook implementations payhelp loads for CentroBill (entry point ``centrobill``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp.sandbox import Sandbox
from payhelp_centrobill.api import CentroBillApi
from payhelp_centrobill.data import DIRECTORY, INFO


def _sandbox() -> Sandbox:
    """CentroBill's sandbox, imported when a sandbox is first asked for rather than by every command
    that loads the plugins."""
    from payhelp_centrobill.sandbox import CentroBillSandbox  # noqa: PLC0415 - see above

    return CentroBillSandbox()


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register CentroBill's metadata, contact directory, merchant API and its sandbox. The API
    is used when an API key is configured (``api_key`` in ``[processors.centrobill.settings]``
    or ``PAYHELP_CENTROBILL_API_KEY``) or the sandbox is asked for."""
    register(INFO, DIRECTORY, api=CentroBillApi, sandbox=_sandbox)
