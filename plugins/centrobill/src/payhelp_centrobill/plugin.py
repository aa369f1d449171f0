"""The hook implementations payhelp loads for CentroBill (entry point ``centrobill``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp_centrobill.data import DIRECTORY, INFO


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register CentroBill's metadata and contact directory."""
    register(INFO, DIRECTORY)
