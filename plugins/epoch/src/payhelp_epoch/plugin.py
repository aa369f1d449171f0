"""The hook implementations payhelp loads for Epoch (entry point ``epoch``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from payhelp import hookimpl
from payhelp.hookspecs import RegisterProcessor
from payhelp.sandbox import Sandbox
from payhelp_epoch.api import EpochApi
from payhelp_epoch.data import DIRECTORY, INFO

if TYPE_CHECKING:
    from payhelp.notifications import NotificationFormat


def _sandbox() -> Sandbox:
    """Epoch's sandbox, imported when a sandbox is first asked for rather than by every command
    that loads the plugins."""
    from payhelp_epoch.sandbox import EpochSandbox  # noqa: PLC0415 - see above

    return EpochSandbox()


class _Notifications:
    """Builds Epoch's notification format, imported when a notification first arrives rather
    than by every command that loads the plugins. It names the format's settings, as the format
    does, so that the core reads them (from the environment, and placeholders for the sandbox)
    without importing it."""

    setting_names: Final = ("postback_sources",)
    secret_names: Final[tuple[str, ...]] = ()

    def __call__(
        self, settings: Mapping[str, object], *, test_mode: bool = False
    ) -> NotificationFormat:
        from payhelp_epoch.notifications import EpochNotifications  # noqa: PLC0415 - see above

        return EpochNotifications(settings, test_mode=test_mode)


_notifications = _Notifications()


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register Epoch's metadata, contact directory, Customer Search API, its sandbox and
    the format of its notifications."""
    register(INFO, DIRECTORY, api=EpochApi, sandbox=_sandbox, notifications=_notifications)
