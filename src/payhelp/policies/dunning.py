"""Dunning: what happens after a subscription payment fails, as a state machine driven by events.

The default schedule is the source document's: tell the subscriber at once (email and a
control-panel alert), keep the service running for a 5-day grace period, charge the card again
every 12 hours meanwhile, and downgrade the account to the Free plan when the grace period ends
unpaid. payhelp does better than the source in three ways:

- after a decline that must not be retried (expired, lost/stolen/closed, fraud, any hard decline,
  a network ban) the same card is never charged again: the grace period goes on and the subscriber
  is asked to update the card;
- a card update triggers an attempt at once;
- the card networks' retry caps, and the wait a decline asks for, are never undercut.

:class:`Dunning` is the machine: feed it events (:class:`ChargeFailed`, :class:`AttemptResult`,
:class:`CardUpdated`, :class:`Paid`) and ask it what is :meth:`~Dunning.due` at the clock's time.
The clock is injected, so five days run in milliseconds under test. :func:`plan` runs the machine
against a decline that never clears and reports the whole schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BeforeValidator, Field, model_validator

from payhelp._base import Lax, Model
from payhelp.errors import InvalidInputError
from payhelp.i18n import N_, Language, Msg, render
from payhelp.policies.advice import DeclineAdvice, duration
from payhelp.policies.declines import DeclineReason, RetryCap

MIN_YEAR, MAX_YEAR = 1970, 2200

Clock = Callable[[], datetime]
"""Anything that tells the current time as an aware datetime."""


def system_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to: for tests and for :func:`plan`."""

    def __init__(self, start: datetime) -> None:
        self.now = _aware(start, "start")

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        """Move to ``moment`` (never backwards)."""
        moment = _aware(moment, "moment")
        if moment < self.now:
            raise InvalidInputError("a clock does not go backwards")
        self.now = moment

    def advance(self, delta: timedelta) -> None:
        """Move forward by ``delta``."""
        self.set(self.now + delta)


class FinalAction(StrEnum):
    """What happens when the grace period ends unpaid."""

    DOWNGRADE = "downgrade"
    """Cancel the subscription and move the account to a free plan."""
    CANCEL = "cancel"
    """Cancel the subscription and close what it paid for."""


class NotifyChannel(StrEnum):
    """How the subscriber is told."""

    EMAIL = "email"
    CONTROL_PANEL = "control_panel"


def _no_bare_number(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            "write durations in ISO 8601, e.g. 'P5D' (five days) or 'PT12H' (twelve hours); a "
            "bare number would be read as seconds"
        )
    return value


_Span = Annotated[
    timedelta, BeforeValidator(_no_bare_number), Field(ge=timedelta(0), le=timedelta(days=366))
]


class DunningPolicy(Model):
    """The schedule a platform applies to failed subscription payments."""

    grace: _Span = timedelta(days=5)
    """How long the service goes on untouched after the failure."""
    retry_interval: Annotated[
        timedelta,
        BeforeValidator(_no_bare_number),
        Field(ge=timedelta(minutes=1), le=timedelta(days=30)),
    ] = timedelta(hours=12)
    """Time between scheduled charge attempts."""
    max_attempts: int | None = Field(default=None, ge=0, le=1000)
    """The most scheduled attempts per failure (card-update attempts not counted); no limit of
    the platform's own when ``None`` (the networks' caps still apply)."""
    final_action: Lax[FinalAction] = FinalAction.DOWNGRADE
    """What happens when the grace period ends unpaid."""
    downgrade_plan: str = Field(default="Free", min_length=1, max_length=80)
    """The plan the account moves to on a downgrade."""
    notify: tuple[Lax[NotifyChannel], ...] = (NotifyChannel.EMAIL, NotifyChannel.CONTROL_PANEL)
    """How the subscriber is told of every change."""

    @model_validator(mode="after")
    def _some_channel(self) -> DunningPolicy:
        if not self.notify:
            raise ValueError("notify needs at least one channel: the subscriber must be told")
        return self


class DunningState(StrEnum):
    """Where a subscription stands."""

    CURRENT = "current"
    """Paid up; no dunning."""
    RETRYING = "retrying"
    """In the grace period, with a charge attempt scheduled or in flight."""
    AWAITING_CARD = "awaiting_card"
    """In the grace period; the card may not be charged again until it is updated."""
    RECOVERED = "recovered"
    """Paid after a failure."""
    ENDED = "ended"
    """The grace period ran out and the final action was taken."""


class NotificationKind(StrEnum):
    """Why the subscriber is told something."""

    PAYMENT_FAILED = "payment_failed"
    UPDATE_CARD = "update_card"
    RECOVERED = "recovered"
    FINAL_ACTION = "final_action"


class StopReason(StrEnum):
    """Why no further attempt is scheduled on the current card."""

    DECLINE = "decline"
    """The decline forbids charging this card again (as it is)."""
    NETWORK_CAP = "network_cap"
    """The card network's retry cap is reached."""
    POLICY_CAP = "policy_cap"
    """The platform's own limit on attempts is reached."""
    DECLINE_LIMIT = "decline_limit"
    """The decline allows only so many reattempts (a code payhelp does not know, under a
    platform's bounded allowance)."""
    GRACE = "grace"
    """The grace period ends before the next attempt would be due."""


class Notification(Model):
    """A message to the subscriber."""

    at: AwareDatetime
    """When it is sent."""
    kind: Lax[NotificationKind]
    """Why."""
    channels: tuple[Lax[NotifyChannel], ...]
    """How."""
    message: str
    """The text, in the machine's language."""


class AttemptTrigger(StrEnum):
    """Why a charge attempt happens."""

    SCHEDULED = "scheduled"
    CARD_UPDATED = "card_updated"


class ChargeAttempt(Model):
    """An attempt to charge the subscriber's card, due now: make it, then report the result."""

    action: Literal["charge"] = "charge"
    at: AwareDatetime
    """When it was due."""
    number: int = Field(ge=1)
    """Its number among this failure's attempts."""
    trigger: Lax[AttemptTrigger]
    """Why it happens."""


class FinalStep(Model):
    """The grace period ran out: cancel and downgrade (or cancel)."""

    action: Literal["final"] = "final"
    at: AwareDatetime
    """When the grace period ended."""
    final_action: Lax[FinalAction]
    """What to do."""
    plan: str | None
    """The plan to move to, on a downgrade."""


Action = ChargeAttempt | FinalStep


class ChargeFailed(Model):
    """The renewal charge failed: dunning starts."""

    event: Literal["charge_failed"] = "charge_failed"
    decline: DeclineAdvice
    """The explained decline."""
    at: AwareDatetime | None = None
    """When; the clock's time when not given."""


class AttemptResult(Model):
    """The outcome of a :class:`ChargeAttempt`."""

    event: Literal["attempt_result"] = "attempt_result"
    approved: bool
    """Whether the charge went through."""
    decline: DeclineAdvice | None = None
    """The explained decline, when it did not."""
    at: AwareDatetime | None = None
    """When; the clock's time when not given."""

    @model_validator(mode="after")
    def _decline_given(self) -> AttemptResult:
        if not self.approved and self.decline is None:
            raise ValueError("a failed attempt needs its decline")
        return self


class CardUpdated(Model):
    """The subscriber saved a new card (or new details)."""

    event: Literal["card_updated"] = "card_updated"
    new_card: bool = True
    """A different card; ``False`` for corrected details of the same card (address, expiry),
    whose reattempts keep counting against the networks' caps."""
    at: AwareDatetime | None = None
    """When; the clock's time when not given."""


class Paid(Model):
    """The subscription was paid some other way (another method, a manual payment)."""

    event: Literal["paid"] = "paid"
    at: AwareDatetime | None = None
    """When; the clock's time when not given."""


Event = ChargeFailed | AttemptResult | CardUpdated | Paid

_FAILED = N_(
    "Your subscription payment failed. Your account keeps working until {deadline}; we will try "
    "the payment again every {interval}."
)
_FAILED_NO_RETRY = N_(
    "Your subscription payment failed and will not be tried again as it is. {advice} Your "
    "account keeps working until {deadline}."
)
_UPDATE_CARD = N_("Please update your card: {advice} Your account keeps working until {deadline}.")
_NO_MORE_TRIES = N_(
    "We will not charge this card again: add another card or pay another way before {deadline}, "
    "when the grace period ends."
)
_RECOVERED = N_("Thank you: your subscription is paid and nothing changes on your account.")
_DOWNGRADED = N_(
    "The payment was not made within the grace period: the subscription is cancelled and your "
    "account has moved to the {plan} plan."
)
_CANCELLED = N_(
    "The payment was not made within the grace period, so the subscription has been cancelled."
)
_STOP_TEXT: dict[StopReason, Msg] = {
    StopReason.DECLINE: N_("the decline forbids charging this card again"),
    StopReason.NETWORK_CAP: N_("the card network's retry limit has been reached"),
    StopReason.POLICY_CAP: N_("the platform's limit on attempts has been reached"),
    StopReason.DECLINE_LIMIT: N_("the few reattempts allowed after this decline have been made"),
    StopReason.GRACE: N_("the grace period ends before the next attempt"),
}


def _aware(moment: datetime, name: str) -> datetime:
    """``moment`` in UTC (arithmetic on zoned times would follow the wall clock across DST)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInputError(f"{name} needs a time zone (e.g. 2026-11-22T10:00:00+00:00)")
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise InvalidInputError(f"{name} must fall between the years {MIN_YEAR} and {MAX_YEAR}")
    return moment.astimezone(UTC)


class Dunning:
    """The dunning of one subscription's failed payment.

    :param policy: The schedule to apply.
    :param caps: Card-network retry caps to respect (see
        :func:`~payhelp.policies.declines.builtin_retry_caps`); every cap binds when the card's
        network is unknown, so the strictest wins.
    :param clock: Tells the time; events without their own time happen at the clock's time.
    :param language: The language of notification texts.
    """

    def __init__(
        self,
        policy: DunningPolicy | None = None,
        *,
        caps: Iterable[RetryCap] = (),
        clock: Clock = system_clock,
        language: Language = "en",
    ) -> None:
        self.policy = policy or DunningPolicy()
        self.caps = tuple(caps)
        self.clock = clock
        self.language: Language = language
        self.state = DunningState.CURRENT
        self.failed_at: datetime | None = None
        self.ends_at: datetime | None = None
        self.next_attempt_at: datetime | None = None
        self.stopped_because: str | None = None
        self.attempts: list[ChargeAttempt] = []
        self.notifications: list[Notification] = []
        self._card_attempts: list[datetime] = []
        self._scheduled_count = 0
        self._in_flight: ChargeAttempt | None = None
        self._pending_trigger = AttemptTrigger.SCHEDULED
        self._last_event_at: datetime | None = None
        self._card_update_at: datetime | None = None
        self._new_card_pending = False
        self._last_decline: DeclineAdvice | None = None
        #: Why no further attempt is scheduled on the current card, when none is.
        self.stop_reason: StopReason | None = None

    # -- events ----------------------------------------------------------------------------

    def handle(self, event: Event) -> list[Notification]:
        """Apply ``event``; returns the notifications it caused."""
        at = self._event_time(event.at)
        before = len(self.notifications)
        if isinstance(event, ChargeFailed):
            self._start(event.decline, at)
        elif isinstance(event, AttemptResult):
            self._result(event, at)
        elif isinstance(event, CardUpdated):
            self._card_updated(at, new_card=event.new_card)
        else:
            self._paid(at)
        return self.notifications[before:]

    def _event_time(self, given: datetime | None) -> datetime:
        moment = _aware(given if given is not None else self.clock(), "an event's time")
        if self._last_event_at is not None and moment < self._last_event_at:
            raise InvalidInputError("events must arrive in time order")
        self._last_event_at = moment
        return moment

    def _now(self) -> datetime:
        """The clock's time, never before the last event (a processor's timestamp may run a
        little ahead of this machine's clock)."""
        now = _aware(self.clock(), "the clock's time")
        return max(now, self._last_event_at) if self._last_event_at is not None else now

    @property
    def active(self) -> bool:
        """Whether the subscription is in its grace period."""
        return self.state in (DunningState.RETRYING, DunningState.AWAITING_CARD)

    def _start(self, decline: DeclineAdvice, at: datetime) -> None:
        if self.active:
            raise InvalidInputError("dunning already runs for this failure; report attempts")
        _not_approved(decline)
        self.state = DunningState.RETRYING
        self.failed_at = at
        self.ends_at = at + self.policy.grace
        self.attempts.clear()
        self._card_attempts = [at]
        self._scheduled_count = 0
        self._in_flight = None
        self._card_update_at = None
        self.stopped_because = None
        self.stop_reason = None
        self._after_decline(decline, at, first=True)

    def _after_decline(self, decline: DeclineAdvice, at: datetime, *, first: bool) -> None:
        """Schedule the next attempt after a decline, or stop charging this card."""
        self._last_decline = decline
        next_at, stop = self._next_attempt(decline, at)
        self.next_attempt_at = next_at
        self._pending_trigger = AttemptTrigger.SCHEDULED
        self.stop_reason = stop
        self.stopped_because = render(_STOP_TEXT[stop], self.language) if stop else None
        if first:
            if next_at is not None or stop is StopReason.GRACE:
                wait = max(self.policy.retry_interval, decline.retry_after or timedelta(0))
                self._notify(
                    at,
                    NotificationKind.PAYMENT_FAILED,
                    _FAILED,
                    interval=duration(wait, self.language),
                )
            else:
                self._notify(
                    at,
                    NotificationKind.PAYMENT_FAILED,
                    _FAILED_NO_RETRY,
                    advice=decline.customer_message,
                )
        if next_at is None:
            # Nothing more to try on this card before the grace period ends: wait for a new one.
            self.state = DunningState.AWAITING_CARD
            if not first and stop is StopReason.DECLINE:
                self._notify(
                    at, NotificationKind.UPDATE_CARD, _UPDATE_CARD, advice=decline.customer_message
                )
            elif not first and stop is not StopReason.GRACE:
                self._notify(at, NotificationKind.UPDATE_CARD, _NO_MORE_TRIES)
        else:
            self.state = DunningState.RETRYING

    def _next_attempt(
        self, decline: DeclineAdvice, at: datetime
    ) -> tuple[datetime | None, StopReason | None]:
        assert self.ends_at is not None
        if not decline.retry_allowed:
            return None, StopReason.DECLINE
        limit = self.policy.max_attempts
        if limit is not None and self._scheduled_count >= limit:
            return None, StopReason.POLICY_CAP
        if decline.retry_limit is not None and len(self._card_attempts) - 1 >= decline.retry_limit:
            return None, StopReason.DECLINE_LIMIT
        wait = max(self.policy.retry_interval, decline.retry_after or timedelta(0))
        candidate = at + wait
        capped = self._cap_clear_at(candidate, decline)
        if capped is None or (capped > candidate and capped >= self.ends_at):
            return None, StopReason.NETWORK_CAP
        if capped >= self.ends_at:
            return None, StopReason.GRACE
        return capped, None

    def applicable_caps(self, decline: DeclineAdvice) -> tuple[RetryCap, ...]:
        """The caps that bind reattempts after ``decline``."""
        if decline.network is not None:
            return tuple(cap for cap in self.caps if cap.network is decline.network)
        return self.caps  # unknown network: every cap binds, so the strictest wins

    def _cap_clear_at(self, candidate: datetime, decline: DeclineAdvice) -> datetime | None:
        """The first moment from ``candidate`` at which one more reattempt stays within every
        cap; ``None`` when a cap allows no reattempt at all."""
        moment = candidate
        reattempts = self._card_attempts[1:]  # the first charge on a card is not a reattempt
        for cap in self.applicable_caps(decline):
            window = timedelta(days=cap.window_days)
            if cap.max_retries == 0:
                return None
            inside = [t for t in reattempts if t > moment - window]
            if len(inside) >= cap.max_retries:
                # Wait until the oldest reattempt in the window drops out of it.
                moment = max(moment, inside[len(inside) - cap.max_retries] + window)
        return moment

    def _result(self, event: AttemptResult, at: datetime) -> None:
        if not self.active:
            return  # a late answer after payment or the final step changes nothing
        if self._in_flight is None:
            raise InvalidInputError(
                "no charge attempt is in flight; report results of due attempts"
            )
        self._in_flight = None
        if event.approved:
            self._recover(at)
            return
        assert event.decline is not None
        _not_approved(event.decline)
        if self._card_update_at is not None:
            # The card changed while the old one was being charged: that decline concerns the
            # old card; the new one is charged at once.
            self._schedule_card_attempt(self._card_update_at)
            return
        self._after_decline(event.decline, at, first=False)

    def _card_updated(self, at: datetime, *, new_card: bool) -> None:
        if not self.active:
            return
        assert self.ends_at is not None
        if at >= self.ends_at:
            return  # too late: the final step is due
        if new_card:
            self._new_card_pending = True
        if self._in_flight is not None:
            self._card_update_at = at  # acted on when the old card's answer arrives
            return
        self._schedule_card_attempt(at)

    def _schedule_card_attempt(self, at: datetime) -> None:
        assert self.ends_at is not None
        new_card = self._new_card_pending
        self._new_card_pending = False
        self._card_update_at = None
        if new_card:
            # A different card starts its own count under the networks' caps.
            self._card_attempts = []
        elif self._last_decline is not None:
            # Corrected details of the same card: its reattempts still count.
            cleared = self._cap_clear_at(at, self._last_decline)
            if cleared is None or cleared >= self.ends_at:
                self.state = DunningState.AWAITING_CARD
                self.next_attempt_at = None
                self.stop_reason = StopReason.NETWORK_CAP
                self.stopped_because = render(_STOP_TEXT[StopReason.NETWORK_CAP], self.language)
                return
            at = cleared
        self.state = DunningState.RETRYING
        self.next_attempt_at = at
        self._pending_trigger = AttemptTrigger.CARD_UPDATED
        self.stopped_because = None
        self.stop_reason = None

    def _paid(self, at: datetime) -> None:
        if self.active:
            self._recover(at)

    def _recover(self, at: datetime) -> None:
        self.state = DunningState.RECOVERED
        self.next_attempt_at = None
        self._in_flight = None
        self._card_update_at = None
        self._notify(at, NotificationKind.RECOVERED, _RECOVERED)

    # -- time ------------------------------------------------------------------------------

    def next_wakeup(self) -> datetime | None:
        """When something will next be due (an attempt or the final step), if anything."""
        if not self.active:
            return None
        if self._in_flight is not None:
            return self.ends_at
        candidates = [t for t in (self.next_attempt_at, self.ends_at) if t is not None]
        return min(candidates)

    def due(self) -> list[Action]:
        """What must be done at the clock's time: a charge attempt (make it and report an
        :class:`AttemptResult`) or the final step. Each action is handed out once."""
        now = self._now()
        if not self.active:
            return []
        assert self.ends_at is not None
        if now >= self.ends_at:
            return [self._finish(self.ends_at)]
        attempt_at = self.next_attempt_at
        if self._in_flight is None and attempt_at is not None and attempt_at <= now:
            trigger = self._pending_trigger
            attempt = ChargeAttempt(at=now, number=len(self.attempts) + 1, trigger=trigger)
            self.attempts.append(attempt)
            self._card_attempts.append(now)
            if trigger is AttemptTrigger.SCHEDULED:
                self._scheduled_count += 1
            self._in_flight = attempt
            self.next_attempt_at = None
            return [attempt]
        return []

    def _finish(self, at: datetime) -> FinalStep:
        self.state = DunningState.ENDED
        self.next_attempt_at = None
        self._in_flight = None
        downgrade = self.policy.final_action is FinalAction.DOWNGRADE
        self._notify(
            at,
            NotificationKind.FINAL_ACTION,
            _DOWNGRADED if downgrade else _CANCELLED,
            plan=self.policy.downgrade_plan,
        )
        return FinalStep(
            at=at,
            final_action=self.policy.final_action,
            plan=self.policy.downgrade_plan if downgrade else None,
        )

    def _notify(self, at: datetime, kind: NotificationKind, template: Msg, **values: str) -> None:
        assert self.ends_at is not None
        text = render(template, self.language).format(
            deadline=self.ends_at.isoformat(timespec="minutes"), **values
        )
        self.notifications.append(
            Notification(at=at, kind=kind, channels=self.policy.notify, message=text)
        )


class DunningPlan(Model):
    """The whole schedule after a failed payment, if the decline never clears and the card is
    never updated."""

    failed_at: AwareDatetime
    """When the payment failed."""
    reason: Lax[DeclineReason]
    """The decline's normalised reason."""
    retry_allowed: bool
    """Whether the decline lets the same card be charged again."""
    attempts: tuple[AwareDatetime, ...]
    """When the card is charged again."""
    retries_stop: str | None
    """Why no further attempt is made before the end, in the plan's language."""
    stop_reason: Lax[StopReason] | None
    """The same, as a value for programs."""
    downgrade_at: AwareDatetime
    """When the grace period ends and the final action is taken."""
    final_action: Lax[FinalAction]
    """What happens then."""
    plan: str | None
    """The plan the account moves to, on a downgrade."""
    notifications: tuple[Notification, ...]
    """What the subscriber is told, and when."""
    retry_caps: tuple[RetryCap, ...]
    """The networks' caps that were applied (none when the decline allows no retry)."""
    policy: DunningPolicy
    """The schedule applied."""


def _not_approved(decline: DeclineAdvice) -> None:
    if decline.reason is DeclineReason.APPROVED:
        raise InvalidInputError(
            f"{decline.scheme} {decline.code} is an approval, not a failed payment"
        )


def plan(
    failed_at: datetime,
    decline: DeclineAdvice,
    *,
    policy: DunningPolicy | None = None,
    caps: Iterable[RetryCap] = (),
    language: Language = "en",
) -> DunningPlan:
    """Run :class:`Dunning` from ``failed_at`` with every attempt failing like ``decline``."""
    failed_at = _aware(failed_at, "failed_at")
    _not_approved(decline)
    clock = ManualClock(failed_at)
    machine = Dunning(policy, caps=caps, clock=clock, language=language)
    machine.handle(ChargeFailed(decline=decline))
    final: FinalStep | None = None
    while final is None:
        wakeup = machine.next_wakeup()
        assert wakeup is not None  # an active machine always has its final step ahead
        clock.set(wakeup)
        for action in machine.due():
            if isinstance(action, FinalStep):
                final = action
            else:
                machine.handle(AttemptResult(approved=False, decline=decline))
    return DunningPlan(
        failed_at=failed_at,
        reason=decline.reason,
        retry_allowed=decline.retry_allowed,
        attempts=tuple(a.at for a in machine.attempts),
        retries_stop=machine.stopped_because,
        stop_reason=machine.stop_reason,
        downgrade_at=final.at,
        final_action=final.final_action,
        plan=final.plan,
        notifications=tuple(machine.notifications),
        retry_caps=machine.applicable_caps(decline) if decline.retry_allowed else (),
        policy=machine.policy,
    )


__all__ = [
    "Action",
    "AttemptResult",
    "AttemptTrigger",
    "CardUpdated",
    "ChargeAttempt",
    "ChargeFailed",
    "Clock",
    "Dunning",
    "DunningPlan",
    "DunningPolicy",
    "DunningState",
    "Event",
    "FinalAction",
    "FinalStep",
    "ManualClock",
    "Notification",
    "NotificationKind",
    "NotifyChannel",
    "Paid",
    "StopReason",
    "plan",
    "system_clock",
]
