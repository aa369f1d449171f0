"""Per-processor rate limiting, shared by every client of one processor in the process.

A rate is written as a platform writes it in its configuration (``"10/second"``,
``"600/minute"``, ``2.5``); :func:`parse_rate` reads it into a :class:`Rate`, and
:func:`acquire` / :func:`acquire_async` wait, with the caller's own sleep, until a request may
leave.

Requests are **paced**, not admitted by a window: each processor has one schedule (a generic
cell rate algorithm without burst), and each request takes the next free slot on it, one
interval after the previous one. The interval is that of the declared rate times a margin
(:data:`DEFAULT_MARGIN`, 90% of the limit unless the platform sets ``rate_limit_margin``), so
that a processor counting *arrivals* in any sliding window never sees more than its limit: a
window that admits whole bursts at exactly the limit lets transit bunch them past it, a steady
pace with room to spare does not. Pacing is stricter than the limit for long windows
(``"600/minute"`` is one request every 0.11 s, never 600 at once).

The schedule is keyed by processor id: two clients of one processor share it, sync and async
alike, two processors never do. When a processor answers 429 with ``Retry-After``, the clients
that heard it (an adapter's blocking and async clients, so every worker of a batch) send nothing
more to it until that time has passed (:class:`Pause`); the request that met the 429 waits for
it itself and then goes.

Where several processes share one processor account (service replicas, Celery workers), the
schedule must be shared too, or each would spend the whole budget: a :class:`Schedule` decides
where the slots are kept. :data:`LOCAL` keeps them in this process (the default);
:class:`payhelp.shared.RedisSchedule` (the ``redis`` extra, ``redis_url`` in the configuration)
keeps the same schedule, and every ``Retry-After`` pause, in Redis for all of them.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from payhelp.errors import InvalidInputError

_RATE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(?:/|per)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hours?)\s*$", re.I
)
_UNIT_SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_UNIT_SECONDS |= {"h": 3600, "hour": 3600}
_UNIT_SECONDS |= {f"{unit}s": value for unit, value in list(_UNIT_SECONDS.items()) if len(unit) > 1}

#: The share of a processor's declared limit payhelp aims at: 0.9 paces ``"100/second"`` at 90
#: requests a second, leaving room for the network and the event loop to bunch them.
DEFAULT_MARGIN = 0.9


@dataclass(frozen=True)
class Rate:
    """``amount`` requests per ``seconds`` (a whole number of each)."""

    amount: int
    seconds: int

    def get_expiry(self) -> int:
        """The window's length in seconds (the name ``limits``' rate items use)."""
        return self.seconds

    def interval(self, margin: float = DEFAULT_MARGIN) -> float:
        """Seconds between two requests paced at ``margin`` of this rate."""
        return self.seconds / (self.amount * margin)

    def __str__(self) -> str:
        return f"{self.amount} per {self.seconds} second{'s' if self.seconds != 1 else ''}"


def parse_rate(value: str | float | None) -> Rate | None:
    """A rate limit from ``"10/second"``, ``"10/s"``, ``"600/minute"``, ``"2.5/s"`` or a
    number per second; a fractional rate becomes whole requests over a longer window
    (2.5/s is 5 per 2 seconds). ``None`` is no limit; anything else is an
    :class:`~payhelp.errors.InvalidInputError`."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInputError("a rate limit is like '10/second' or a number per second")
    if isinstance(value, int | float):
        amount, seconds = float(value), 1
    elif isinstance(value, str):
        found = _RATE.match(value)
        if found is None:
            raise InvalidInputError(
                f"rate limit {value!r} is not like '10/second', '600/minute' or '2.5/s'"
            )
        amount, seconds = float(found.group(1)), _UNIT_SECONDS[found.group(2).lower()]
    else:
        raise InvalidInputError("a rate limit is like '10/second' or a number per second")
    if not math.isfinite(amount) or amount <= 0:
        raise InvalidInputError("a rate limit allows at least some requests")
    if amount.is_integer():
        return Rate(int(amount), seconds)  # N per second, minute or hour
    per_second = Fraction(amount / seconds).limit_denominator(3600)
    return Rate(per_second.numerator, per_second.denominator)


_MARGIN_ERROR = "rate_limit_margin is a number above 0 and at most 1, e.g. 0.9"


def check_margin(value: object) -> float:
    """``value`` as a margin: a number above 0 and at most 1 (``None`` is
    :data:`DEFAULT_MARGIN`); :class:`~payhelp.errors.InvalidInputError` otherwise."""
    if value is None:
        return DEFAULT_MARGIN
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInputError(_MARGIN_ERROR)
    try:
        margin = float(value)
    except ValueError:
        raise InvalidInputError(_MARGIN_ERROR) from None
    if not 0 < margin <= 1:
        raise InvalidInputError(_MARGIN_ERROR)
    return margin


#: The clock of every schedule (monotonic; tests move a fake one).
_clock: Callable[[], float] = time.monotonic


class Pause:
    """A processor's request to wait (a 429's ``Retry-After``), shared by the clients that
    heard it: the async and blocking clients of one adapter, so every worker of a batch. While
    it lasts, :func:`acquire` sends nothing through them."""

    __slots__ = ("served", "until")

    def __init__(self) -> None:
        #: The end of the pause on the schedules' clock (``-inf``: none).
        self.until = -math.inf
        #: The end of the latest pause a caller has waited out in full.
        self.served = -math.inf

    def extend(self, seconds: float) -> float:
        """Send nothing for ``seconds`` from now; a longer pause already set stands. Returns
        the end of this one, for :meth:`waited_out`."""
        with _LOCK:
            until = _clock() + max(0.0, seconds)
            self.until = max(self.until, until)
            return until

    def waited_out(self, until: float) -> None:
        """The caller that met the 429 has slept the whole pause ending at ``until`` (with its
        own sleep): that pause is over, and a later one set meanwhile still stands."""
        with _LOCK:
            self.served = max(self.served, until)

    def active(self) -> float:
        """The end of the pause still to be waited for, or ``-inf``."""
        return self.until if self.until > self.served else -math.inf


_NO_PAUSE = Pause()
_LOCK = threading.Lock()
#: The last slot given out, by processor id.
_LAST: dict[str, float] = {}


def _reserve(key: str, interval: float, pause: Pause) -> tuple[float, float]:
    """Take the next slot for ``key``, not before ``pause`` ends: ``(seconds to wait, the
    pause it was taken under)``."""
    with _LOCK:
        now = _clock()
        paused = pause.active()
        slot = max(now, _LAST.get(key, -math.inf) + interval, paused)
        _LAST[key] = slot
        return slot - now, paused


def reset(key: str | None = None) -> None:
    """Forget the schedule of ``key``, or of every processor (for tests)."""
    with _LOCK:
        if key is None:
            _LAST.clear()
        else:
            _LAST.pop(key, None)


def _interval(rate: Rate | None, margin: float) -> float:
    return rate.interval(margin) if rate is not None else 0.0


def acquire(
    rate: Rate | None,
    key: str,
    sleep: Callable[[float], None],
    *,
    margin: float = DEFAULT_MARGIN,
    pause: Pause | None = None,
) -> None:
    """Wait with ``sleep`` until one more request for ``key`` (a processor id) may leave: its
    slot on the processor's schedule paced at ``margin`` of ``rate``, and not before ``pause``
    ends. At once when there is neither."""
    pause = pause or _NO_PAUSE
    if rate is None and pause.active() == -math.inf:
        return
    interval = _interval(rate, margin)
    while True:
        wait, seen = _reserve(key, interval, pause)
        if wait > 0:
            sleep(wait)
        if pause.active() <= seen:  # no new pause while it waited
            return


async def acquire_async(
    rate: Rate | None,
    key: str,
    sleep: Callable[[float], Awaitable[None]],
    *,
    margin: float = DEFAULT_MARGIN,
    pause: Pause | None = None,
) -> None:
    """:func:`acquire` for async clients (the same schedules)."""
    pause = pause or _NO_PAUSE
    if rate is None and pause.active() == -math.inf:
        return
    interval = _interval(rate, margin)
    while True:
        wait, seen = _reserve(key, interval, pause)
        if wait > 0:
            await sleep(wait)
        if pause.active() <= seen:  # no new pause while it waited
            return


class Schedule(Protocol):
    """Where the processors' schedules are kept: the slots requests take and the pauses a 429
    asked for. :data:`LOCAL` is this process's; :class:`payhelp.shared.RedisSchedule` is shared
    by every process that points at the same Redis."""

    def acquire(
        self,
        rate: Rate | None,
        key: str,
        sleep: Callable[[float], None],
        *,
        margin: float = DEFAULT_MARGIN,
        pause: Pause | None = None,
    ) -> None:
        """Wait with ``sleep`` until one more request for ``key`` may leave."""
        ...

    async def acquire_async(
        self,
        rate: Rate | None,
        key: str,
        sleep: Callable[[float], Awaitable[None]],
        *,
        margin: float = DEFAULT_MARGIN,
        pause: Pause | None = None,
    ) -> None:
        """:meth:`acquire` for async clients."""
        ...

    def share_pause(self, key: str, seconds: float) -> None:
        """A processor asked ``key``'s requests to wait ``seconds`` (``Retry-After``): tell every
        process that shares this schedule."""
        ...


class LocalSchedule:
    """The schedules of this process (:func:`acquire`, :func:`acquire_async`); a pause is
    already shared by the clients that hold the same :class:`Pause`."""

    def acquire(
        self,
        rate: Rate | None,
        key: str,
        sleep: Callable[[float], None],
        *,
        margin: float = DEFAULT_MARGIN,
        pause: Pause | None = None,
    ) -> None:
        acquire(rate, key, sleep, margin=margin, pause=pause)

    async def acquire_async(
        self,
        rate: Rate | None,
        key: str,
        sleep: Callable[[float], Awaitable[None]],
        *,
        margin: float = DEFAULT_MARGIN,
        pause: Pause | None = None,
    ) -> None:
        await acquire_async(rate, key, sleep, margin=margin, pause=pause)

    def share_pause(self, key: str, seconds: float) -> None:
        """Nothing more to do: this process's clients of ``key`` share their :class:`Pause`."""

    def __repr__(self) -> str:
        return "LocalSchedule()"


#: This process's schedules, the default.
LOCAL = LocalSchedule()


__all__ = [
    "DEFAULT_MARGIN",
    "LOCAL",
    "LocalSchedule",
    "Pause",
    "Rate",
    "Schedule",
    "acquire",
    "acquire_async",
    "check_margin",
    "parse_rate",
    "reset",
]
