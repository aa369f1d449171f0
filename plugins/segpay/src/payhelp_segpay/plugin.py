"""The hook implementations payhelp loads for SegPay (entry point ``segpay``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp_segpay import PROCESSOR_ID
from payhelp_segpay.api import SegpayAdapter
from payhelp_segpay.data import DIRECTORY, INFO
from payhelp_segpay.sandbox import SegpaySandbox

if TYPE_CHECKING:
    from payhelp.adapters import ApiAdapter
    from payhelp.models import ProcessorInfo


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register SegPay's metadata and contact directory."""
    register(INFO, DIRECTORY)


@hookimpl
def payhelp_adapter(processor: ProcessorInfo, settings: Mapping[str, object]) -> ApiAdapter | None:
    """SegPay's SRS adapter when credentials are configured (or the sandbox is asked for)."""
    if processor.id != PROCESSOR_ID:
        return None
    return SegpayAdapter.from_settings(settings)


@hookimpl
def payhelp_sandbox(processor: ProcessorInfo) -> SegpaySandbox | None:
    """SegPay's SRS imitation."""
    if processor.id != PROCESSOR_ID:
        return None
    return SegpaySandbox()
