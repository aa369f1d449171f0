"""The hook implementations payhelp loads for CentroBill (entry point ``centrobill``)."""

from __future__ import annotations

from collections.abc import Mapping

from payhelp import ProcessorInfo, hookimpl
from payhelp.adapters import ApiAdapter
from payhelp.hookspecs import RegisterProcessor
from payhelp.sandbox import Sandbox
from payhelp_centrobill import PROCESSOR_ID
from payhelp_centrobill.api import CentroBillAdapter
from payhelp_centrobill.data import DIRECTORY, INFO
from payhelp_centrobill.sandbox import CentroBillSandbox


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register CentroBill's metadata and contact directory."""
    register(INFO, DIRECTORY)


@hookimpl
def payhelp_adapter(processor: ProcessorInfo, settings: Mapping[str, object]) -> ApiAdapter | None:
    """CentroBill's API adapter when an API key is configured (``api_key`` in
    ``[processors.centrobill.settings]`` or ``PAYHELP_CENTROBILL_API_KEY``) or the sandbox is
    asked for; ``None`` otherwise and for any other processor."""
    if processor.id != PROCESSOR_ID:
        return None
    return CentroBillAdapter.from_settings(settings)


@hookimpl
def payhelp_sandbox(processor: ProcessorInfo) -> Sandbox | None:
    """CentroBill's sandbox; ``None`` for any other processor."""
    if processor.id != PROCESSOR_ID:
        return None
    return CentroBillSandbox()
