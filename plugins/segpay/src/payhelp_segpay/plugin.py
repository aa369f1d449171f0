"""The hook implementations payhelp loads for SegPay (entry point ``segpay``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.authoring import on_first_use
from payhelp.hookspecs import RegisterProcessor
from payhelp_segpay.api import SegpayApi
from payhelp_segpay.data import DIRECTORY, INFO

# The sandbox and the notification format are imported when first asked for, not by every
# command that loads the plugins (contacts, route).


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register SegPay's metadata, contact directory, SRS API, its sandbox and
    the format of its notifications."""
    register(
        INFO,
        DIRECTORY,
        api=SegpayApi,
        sandbox=on_first_use("payhelp_segpay.sandbox", "SegpaySandbox"),
        notifications=on_first_use("payhelp_segpay.notifications", "SegpayNotifications"),
    )
