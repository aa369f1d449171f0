"""The hook implementations payhelp loads for CentroBill (entry point ``centrobill``)."""

from __future__ import annotations

from payhelp import hookimpl
from payhelp.authoring import on_first_use
from payhelp.hookspecs import RegisterProcessor
from payhelp_centrobill.api import CentroBillApi
from payhelp_centrobill.data import DIRECTORY, INFO

# The sandbox and the notification format are imported when first asked for, not by every
# command that loads the plugins (contacts, route).


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register CentroBill's metadata, contact directory, merchant API and its sandbox. The API
    is used when an API key is configured (``api_key`` in ``[processors.centrobill.settings]``
    or ``PAYHELP_CENTROBILL_API_KEY``) or the sandbox is asked for. Its IPN are read
    by :class:`~payhelp_centrobill.notifications.CentroBillNotifications`."""
    register(
        INFO,
        DIRECTORY,
        api=CentroBillApi,
        sandbox=on_first_use("payhelp_centrobill.sandbox", "CentroBillSandbox"),
        notifications=on_first_use("payhelp_centrobill.notifications", "CentroBillNotifications"),
    )
