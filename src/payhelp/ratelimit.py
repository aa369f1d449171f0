"""Per-processor rate limiting, shared by every client of one processor in the process.

A rate is written as a platform writes it in its configuration (``"10/second"``,
``"600/minute"``, ``2.5``); :func:`parse_rate` turns it into a ``limits`` item, and
:func:`acquire` / :func:`acquire_async` wait, with the caller's own sleep, until a request may
leave. The window is a moving one (the ``limits`` library), keyed by processor id: two clients
of one processor share it, two processors never do. The async window belongs to its event loop,
since ``limits``' async storage cannot be shared across loops.
"""

from __future__ import annotations

import asyncio
import re
import time
import weakref
from collections.abc import Awaitable, Callable
from fractions import Fraction

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage as AsyncMemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindow
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from payhelp.errors import InvalidInputError

_RATE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(?:/|per)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hours?)\s*$", re.I
)
_UNIT_SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_UNIT_SECONDS |= {"h": 3600, "hour": 3600}
_UNIT_SECONDS |= {f"{unit}s": value for unit, value in list(_UNIT_SECONDS.items()) if len(unit) > 1}


def parse_rate(value: str | float | None) -> RateLimitItem | None:
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
    else:
        found = _RATE.match(value)
        if found is None:
            raise InvalidInputError(
                f"rate limit {value!r} is not like '10/second', '600/minute' or '2.5/s'"
            )
        amount, seconds = float(found.group(1)), _UNIT_SECONDS[found.group(2).lower()]
    if amount <= 0:
        raise InvalidInputError("a rate limit allows at least some requests")
    if amount.is_integer():
        return RateLimitItemPerSecond(int(amount), seconds)  # N per second, minute or hour
    per_second = Fraction(amount / seconds).limit_denominator(3600)
    return RateLimitItemPerSecond(per_second.numerator, per_second.denominator)


_SYNC_WINDOW = MovingWindowRateLimiter(MemoryStorage())
_ASYNC_WINDOWS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncMovingWindow] = (
    weakref.WeakKeyDictionary()
)


def _async_window() -> AsyncMovingWindow:
    """The running loop's moving window, shared by every async client (keyed by processor)."""
    loop = asyncio.get_running_loop()
    window = _ASYNC_WINDOWS.get(loop)
    if window is None:
        window = _ASYNC_WINDOWS[loop] = AsyncMovingWindow(AsyncMemoryStorage())
    return window


def acquire(rate: RateLimitItem | None, key: str, sleep: Callable[[float], None]) -> None:
    """Wait with ``sleep`` until one more request for ``key`` (a processor id) fits ``rate``;
    at once when there is no rate."""
    if rate is None:
        return
    while not _SYNC_WINDOW.hit(rate, key):
        reset = _SYNC_WINDOW.get_window_stats(rate, key).reset_time
        sleep(max(0.001, reset - time.time()))


async def acquire_async(
    rate: RateLimitItem | None, key: str, sleep: Callable[[float], Awaitable[None]]
) -> None:
    """:func:`acquire` for async clients, in the running loop's window."""
    if rate is None:
        return
    window = _async_window()
    while not await window.hit(rate, key):
        stats = await window.get_window_stats(rate, key)
        await sleep(max(0.001, stats.reset_time - time.time()))


__all__ = ["acquire", "acquire_async", "parse_rate"]
