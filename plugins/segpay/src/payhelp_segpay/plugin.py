"""The hook implementations payhelp loads for SegPay (entry point ``segpay``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp.sandbox import Sandbox
from payhelp_segpay.api import SegpayApi
from payhelp_segpay.data import DIRECTORY, INFO

if TYPE_CHECKING:
    from payhelp.notifications import NotificationFormat


def _sandbox() -> Sandbox:
    """SegPay's sandbox, imported when a sandbox is first asked for rather than by every command
    that loads the plugins."""
    from payhelp_segpay.sandbox import SegpaySandbox  # noqa: PLC0415 - see above

    return SegpaySandbox()


class _Notifications:
    """Builds SegPay's notification format, imported when a notification first arrives rather
    than by every command that loads the plugins. It names the format's settings, as the format
    does, so that the core reads them (from the environment, and placeholders for the sandbox)
    without importing it."""

    setting_names: Final = ("postback_sources", "postback_token", "postback_token_field")
    secret_names: Final[tuple[str, ...]] = ("postback_token",)

    def __call__(
        self, settings: Mapping[str, object], *, test_mode: bool = False
    ) -> NotificationFormat:
        from payhelp_segpay.notifications import SegpayNotifications  # noqa: PLC0415 - see above

        return SegpayNotifications(settings, test_mode=test_mode)


_notifications = _Notifications()


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register SegPay's metadata, contact directory, SRS API, its sandbox and
    the format of its notifications."""
    register(INFO, DIRECTORY, api=SegpayApi, sandbox=_sandbox, notifications=_notifications)
