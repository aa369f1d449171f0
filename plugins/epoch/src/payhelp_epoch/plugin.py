"""The hook implementations payhelp loads for Epoch (entry point ``epoch``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp_epoch.api import EpochApi
from payhelp_epoch.data import DIRECTORY, INFO
from payhelp_epoch.sandbox import EpochSandbox


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register Epoch's metadata, contact directory, Customer Search API and its sandbox."""
    register(INFO, DIRECTORY, api=EpochApi, sandbox=EpochSandbox)
