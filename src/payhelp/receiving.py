"""Receiving notifications: check a delivery with its processor's format, store the event once,
apply it, and tell the platform.

:class:`Receiver` is what :meth:`payhelp.api.Payhelp.receive` runs. For one delivery it builds (or
reuses) the processor's :class:`~payhelp.notifications.NotificationFormat` with the platform's
settings, lets it verify and parse the delivery, and then:

- a refused delivery (forged signature, wrong source, wrong token, a test in live mode, a body
  that cannot be read) is recorded as refused, with why, and applied to nothing;
- a verified event is stored under its identity; the first delivery is applied in the same
  transaction (a refund confirms the submission for its transaction), a repeat finds the first
  and changes nothing; events that arrive out of order (a refund before its sale, a refund
  before its submission's receipt) are kept and linked by transaction id;
- only for the first delivery, the ``payhelp_notification_received`` hook and the platform's
  ``on_event`` callbacks are called; their failures are warnings, never a lost event.

With ``redis_url`` set, a verified event the store already holds is answered from Redis (the
edge dedupe, :class:`payhelp.shared.NotificationDedupe`) without a store transaction: events are
remembered there only once the store has committed them, so the store's unique (processor, event
id) remains what makes a repeat change nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from payhelp.adapters import SANDBOX_CREDENTIAL
from payhelp.credentials import remember_secrets
from payhelp.errors import (
    CapabilityError,
    InvalidInputError,
    NotificationRefusedError,
    PayhelpError,
)
from payhelp.notifications import (
    Delivery,
    NotificationEvent,
    NotificationFactory,
    NotificationFormat,
    ReceiveOutcome,
    Reply,
    truthy,
)
from payhelp.redact import mask_card_numbers

if TYPE_CHECKING:
    from payhelp.plugins import PluginHost
    from payhelp.shared import SharedState
    from payhelp.store import SubmissionStore

#: How many refused deliveries from one address are recorded a minute; beyond, they are refused
#: without a row each (the receivers take no key, so anyone can send them).
REFUSALS_KEPT_A_MINUTE = 60
_LOG = logging.getLogger("payhelp.notifications")

#: What the platform passes as ``on_event``: called with the event and the submissions it
#: confirmed, once per event.
EventCallback = Callable[[NotificationEvent, Sequence[int]], None]


class NotificationCallbackWarning(UserWarning):
    """A platform's ``on_event`` callback or a plugin's hook raised; the event stays stored."""


class Receiver:
    """Receives notifications for one :class:`~payhelp.api.Payhelp`."""

    def __init__(
        self,
        host: PluginHost,
        processor_settings: Callable[[str], Mapping[str, object]],
        callbacks: Iterable[EventCallback] = (),
        environ: Mapping[str, str] | None = None,
        shared: Callable[[], SharedState | None] | None = None,
    ) -> None:
        self._host = host
        self._shared = shared or (lambda: None)
        self._settings = processor_settings
        self._callbacks = list(callbacks)
        self._environ = environ
        self._formats: dict[tuple[str, bool], NotificationFormat] = {}
        self._lock = threading.Lock()

    def subscribe(self, callback: EventCallback) -> None:
        """Call ``callback(event, confirmed)`` for each event applied from now on."""
        if not callable(callback):
            raise InvalidInputError("on_event is a function of (event, confirmed submissions)")
        with self._lock:
            self._callbacks.append(callback)

    def format_for(self, processor: str, *, sandbox: bool) -> NotificationFormat:
        """The processor's notification format under the platform's settings (built once per
        mode); :class:`~payhelp.errors.CapabilityError` for a processor payhelp cannot hear."""
        key = (processor, sandbox)
        with self._lock:
            found = self._formats.get(key)
        if found is not None:
            return found
        registered = self._host.processors().get(processor)
        factory = registered.notifications if registered is not None else None
        if factory is None:
            raise CapabilityError(
                f"payhelp reads no notifications from {processor!r}: its plugin registers no "
                "notification format",
                processor=processor,
            )
        settings = self._format_settings(processor)
        test_mode = sandbox or truthy(settings.get("test_mode"))
        made = _build(processor, factory, settings, test_mode)
        secrets = type(made).secret_names
        if sandbox and any(not settings.get(name) for name in secrets):
            # The sandboxes sign and tag their notifications with the placeholder credential.
            for name in secrets:
                if not settings.get(name):
                    settings[name] = SANDBOX_CREDENTIAL
            made = _build(processor, factory, settings, test_mode)
        remember_secrets(str(settings[name]) for name in secrets if settings.get(name))
        with self._lock:
            return self._formats.setdefault(key, made)

    def _format_settings(self, processor: str) -> dict[str, object]:
        """The processor's settings, with ``PAYHELP_<ID>_<NAME>`` from the environment for each
        name the configuration does not set."""
        settings = dict(self._settings(processor))
        env = os.environ if self._environ is None else self._environ
        prefix = f"PAYHELP_{processor.upper()}_"
        for variable, value in env.items():
            if variable.startswith(prefix) and len(variable) > len(prefix):
                settings.setdefault(variable[len(prefix) :].lower(), value)
        return settings

    def receive(
        self, delivery: Delivery, store: SubmissionStore, *, sandbox: bool
    ) -> ReceiveOutcome:
        """Verify, store once, apply and announce one delivery."""
        fmt = self.format_for(delivery.processor, sandbox=sandbox)
        try:
            fmt.verify(delivery)
            event = fmt.parse(delivery)
            if event.processor != delivery.processor:
                raise NotificationRefusedError(
                    f"{delivery.processor} notification refused: it reads as {event.processor}'s",
                    processor=delivery.processor,
                    reason="malformed",
                )
        except Exception as exc:  # a plugin failing to read it is a refusal too
            if not isinstance(exc, NotificationRefusedError):
                exc = NotificationRefusedError(
                    f"{delivery.processor} notification refused: its plugin could not read it "
                    f"({type(exc).__name__})",
                    processor=delivery.processor,
                    reason="malformed",
                )
            since = delivery.received_at - timedelta(minutes=1)
            if store.recent_refusals(delivery.processor, delivery.remote_addr, since) >= (
                REFUSALS_KEPT_A_MINUTE
            ):
                # A flood from one address (the receiver takes no key): refused, not stored.
                _LOG.warning(
                    "%s: over %d refused notifications a minute from %s; not recorded",
                    delivery.processor,
                    REFUSALS_KEPT_A_MINUTE,
                    delivery.remote_addr or "an unknown address",
                )
                record_id = None
            else:
                record_id = store.record_refusal(
                    delivery.processor,
                    reason=exc.reason,
                    message=exc.message,
                    event=None,
                    remote_addr=delivery.remote_addr,
                    received_at=delivery.received_at,
                ).id
            return _outcome(
                "refused",
                delivery,
                fmt.reply(False),
                record_id=record_id,
                reason=exc.reason,
                message=exc.message,
            )
        shared = self._shared()
        if shared is not None:
            known = shared.dedupe.seen(store.url, event.processor, event.event_id)
            if known is not None:  # a repeat: it confirms nothing more, as from the store
                return _outcome(
                    "duplicate", delivery, fmt.reply(True), record_id=known, event=event
                )
        stored = store.record_event(
            event,
            remote_addr=delivery.remote_addr,
            received_at=delivery.received_at,
            confirms_by=type(fmt).confirms_by,
        )
        if shared is not None:
            shared.dedupe.remember(store.url, event.processor, event.event_id, stored.record.id)
        if stored.fresh:
            self._announce(event, stored.confirmed)
        return _outcome(
            "applied" if stored.fresh else "duplicate",
            delivery,
            fmt.reply(True),
            record_id=stored.record.id,
            event=stored.record.event or event,
            confirmed=stored.confirmed,
        )

    def _announce(self, event: NotificationEvent, confirmed: tuple[int, ...]) -> None:
        try:
            self._host.pm.hook.payhelp_notification_received(event=event, confirmed=confirmed)
        except Exception as exc:
            _warn("a plugin's payhelp_notification_received", exc)
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(event, confirmed)
            except Exception as exc:
                _warn("the on_event callback", exc)


def _build(
    processor: str, factory: NotificationFactory, settings: dict[str, object], test_mode: bool
) -> NotificationFormat:
    try:
        made = factory(settings, test_mode=test_mode)
    except PayhelpError:
        raise
    except Exception as exc:  # a plugin's bug, named as such
        raise CapabilityError(
            f"the {processor!r} plugin's notification format could not be built: "
            f"{type(exc).__name__}: {mask_card_numbers(str(exc))[:200]}",
            processor=processor,
        ) from None
    if not isinstance(made, NotificationFormat):
        raise CapabilityError(
            f"the {processor!r} plugin's notifications= built a {type(made).__name__}, not a "
            "NotificationFormat",
            processor=processor,
        )
    return made


def _warn(who: str, exc: BaseException) -> None:
    warnings.warn(
        f"{who} raised {type(exc).__name__}: {mask_card_numbers(str(exc))[:200]} "
        "(the event is stored and applied)",
        NotificationCallbackWarning,
        stacklevel=3,
    )


def _outcome(status: str, delivery: Delivery, reply: Reply, **fields: Any) -> ReceiveOutcome:
    return ReceiveOutcome.model_validate(
        {
            "status": status,
            "processor": delivery.processor,
            "reply_status": reply.status_code,
            "reply_body": reply.body,
            "reply_content_type": reply.content_type,
            **fields,
        },
        strict=False,
    )


__all__ = ["EventCallback", "NotificationCallbackWarning", "Receiver"]
