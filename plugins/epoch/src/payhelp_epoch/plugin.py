"""The hook implementations payhelp loads for Epoch (entry point ``epoch``)."""

from __future__ import annotations

from collections.abc import Mapping

from payhelp import hookimpl
from payhelp.adapters import ApiAdapter
from payhelp.hookspecs import RegisterProcessor
from payhelp.models import ProcessorInfo
from payhelp.sandbox import Sandbox
from payhelp_epoch import PROCESSOR_ID
from payhelp_epoch.api import EpochAdapter
from payhelp_epoch.data import DIRECTORY, INFO
from payhelp_epoch.sandbox import EpochSandbox


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register Epoch's metadata and contact directory."""
    register(INFO, DIRECTORY)


@hookimpl
def payhelp_adapter(processor: ProcessorInfo, settings: Mapping[str, object]) -> ApiAdapter | None:
    """The Customer Search API adapter when ``auth_user`` and ``auth_pass`` are configured (or
    the sandbox is asked for); ``None`` otherwise, and for any other processor."""
    if processor.id != PROCESSOR_ID:
        return None
    return EpochAdapter.from_settings(settings)


@hookimpl
def payhelp_sandbox(processor: ProcessorInfo) -> Sandbox | None:
    """Epoch's sandbox; ``None`` for any other processor."""
    return EpochSandbox() if processor.id == PROCESSOR_ID else None
