"""The hook implementations payhelp loads for Epoch (entry point ``epoch``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.authoring import on_first_use
from payhelp.hookspecs import RegisterProcessor
from payhelp_epoch.api import EpochApi
from payhelp_epoch.data import DIRECTORY, INFO

# The sandbox and the notification format are imported when first asked for, not by every
# command that loads the plugins (contacts, route).


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register Epoch's metadata, contact directory, Customer Search API, its sandbox and
    the format of its notifications."""
    register(
        INFO,
        DIRECTORY,
        api=EpochApi,
        sandbox=on_first_use("payhelp_epoch.sandbox", "EpochSandbox"),
        notifications=on_first_use("payhelp_epoch.notifications", "EpochNotifications"),
    )
