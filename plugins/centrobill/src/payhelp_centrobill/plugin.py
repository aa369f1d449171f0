"""The hook implementations payhelp loads for CentroBill (entry point ``centrobill``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp.sandbox import Sandbox
from payhelp_centrobill.api import CentroBillApi
from payhelp_centrobill.data import DIRECTORY, INFO

if TYPE_CHECKING:
    from payhelp.notifications import NotificationFormat


def _sandbox() -> Sandbox:
    """CentroBill's sandbox, imported when a sandbox is first asked for rather than by every command
    that loads the plugins."""
    from payhelp_centrobill.sandbox import CentroBillSandbox  # noqa: PLC0415 - see above

    return CentroBillSandbox()


class _Notifications:
    """Builds CentroBill's notification format, imported when a notification first arrives rather
    than by every command that loads the plugins. It names the format's settings, as the format
    does, so that the core reads them (from the environment, and placeholders for the sandbox)
    without importing it."""

    setting_names: Final = ("api_key",)
    secret_names: Final[tuple[str, ...]] = ("api_key",)

    def __call__(
        self, settings: Mapping[str, object], *, test_mode: bool = False
    ) -> NotificationFormat:
        from payhelp_centrobill.notifications import CentroBillNotifications  # noqa: PLC0415 - see above

        return CentroBillNotifications(settings, test_mode=test_mode)


_notifications = _Notifications()


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register CentroBill's metadata, contact directory, merchant API and its sandbox. The API
    is used when an API key is configured (``api_key`` in ``[processors.centrobill.settings]``
    or ``PAYHELP_CENTROBILL_API_KEY``) or the sandbox is asked for. Its IPN are read
    by :class:`~payhelp_centrobill.notifications.CentroBillNotifications`."""
    register(INFO, DIRECTORY, api=CentroBillApi, sandbox=_sandbox, notifications=_notifications)
