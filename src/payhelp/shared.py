"""What many workers share through Redis (the ``redis`` extra, ``redis_url`` in the configuration).

A processor's API limit is per merchant account, not per process: ten service replicas or Celery
workers that each paced themselves at the whole limit would send ten times too much. With
``redis_url`` set, every :class:`~payhelp.api.Payhelp` pointing at the same Redis keeps:

- **one schedule per processor** (:class:`RedisSchedule`): the same pacing as
  :mod:`payhelp.ratelimit` (each request takes the next free slot, one interval at
  ``rate_limit_margin`` of the limit after the previous one), but the last slot lives in Redis and
  is taken by one Lua script on Redis's own clock, so slots never collide across processes or
  machines and no clocks need agreeing; a 429's ``Retry-After`` is written there too, so every
  worker holds back, not only the one that heard it;
- **the notifications already stored** (:class:`NotificationDedupe`): a processor that delivers
  the same event again (they retry until they hear ``200``, often to several replicas at once)
  is answered from Redis without a write to the store. The store's unique (processor, event id)
  stays the guarantee: Redis only remembers events *after* the store has them, so a Redis that
  loses its memory costs a store lookup, never an event.

Why not the ``limits`` library's Redis storage: its windows admit whole bursts at exactly the
limit, which transit then bunches past a processor that counts arrivals in a sliding window (see
:mod:`payhelp.ratelimit`); pacing in one script needs nothing but the Redis client.

If Redis cannot be reached, a request that needs a slot is not sent
(:class:`~payhelp.errors.SharedStateError`, safe to retry); notifications fall back on the store
alone (a warning is logged), since refusing them would make the processor retry for days.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from payhelp.errors import ConfigurationError, SharedStateError
from payhelp.ratelimit import DEFAULT_MARGIN, Pause, Rate, acquire, acquire_async

if TYPE_CHECKING:
    import redis
    import redis.asyncio

_LOG = logging.getLogger("payhelp.shared")

#: Every key payhelp writes starts with this (``redis_prefix`` changes it, for two installations
#: sharing one Redis).
DEFAULT_PREFIX = "payhelp:"
#: How long a stored notification is remembered at the edge: processors retry for up to about
#: three days; after that a repeat goes to the store, which still knows it.
DEDUPE_SECONDS = 3 * 24 * 3600
#: Seconds to wait for Redis before a step counts as failed.
REDIS_TIMEOUT = 5.0

# Take the next slot on the processor's schedule: not before the last slot plus one interval,
# nor before a pause ends, nor before now (on Redis's clock). Returns how long to wait, and the
# slot itself (on Redis's clock, to compare with a pause set later). Numbers
# leave a script as strings: a Lua number returned to Redis is cut to an integer.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local slot = now
local last = redis.call('GET', KEYS[1])
if last then slot = math.max(slot, tonumber(last) + interval) end
local paused = redis.call('GET', KEYS[2])
if paused then slot = math.max(slot, tonumber(paused)) end
local keep = math.ceil((slot - now + interval) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', slot), 'PX', keep)
return string.format('%.6f %.6f', slot - now, slot)
"""
# Pause the processor's requests for ARGV[1] seconds from now; a longer pause already set stands.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds = tonumber(ARGV[1])
local stop = now + seconds
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(current) < stop then
  redis.call('SET', KEYS[1], string.format('%.6f', stop), 'PX', math.ceil(seconds * 1000) + 1000)
end
return 1
"""


def _redis_module() -> Any:
    try:
        import redis  # noqa: PLC0415 - the redis extra, only where redis_url is set
    except ImportError:
        raise ConfigurationError(
            "redis_url is set but the Redis client is not installed: pip install 'payhelp[redis]'"
        ) from None
    return redis


def _unreachable(where: str, exc: BaseException) -> SharedStateError:
    return SharedStateError(
        f"Redis at {where} ({type(exc).__name__}): the shared rate limit cannot give a slot, so "
        "nothing was sent; try again when Redis is back"
    )


class SharedState:
    """One Redis, as every worker of an installation sees it: its :attr:`schedule` and its
    :attr:`dedupe`. Built by :func:`connect`; clients are made on first use (an async one per
    event loop, since a Redis connection belongs to the loop it was opened on)."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        lib = _redis_module()
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigurationError(
                "redis_url is a Redis URL: redis://host:port/db, rediss:// or unix://"
            )
        if not isinstance(prefix, str) or not prefix or len(prefix) > 100:
            raise ConfigurationError("redis_prefix is a short text that starts every key")
        self.url = url
        self.prefix = prefix
        try:
            self._pool_args = lib.connection.parse_url(url)
        except ValueError:
            raise ConfigurationError(
                "redis_url is not a valid Redis URL (redis://host:port/db)"
            ) from None
        self._where = _describe(self._pool_args)
        self._lock = threading.Lock()
        self._sync: redis.Redis | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self.schedule = RedisSchedule(self)
        self.dedupe = NotificationDedupe(self)

    def __repr__(self) -> str:
        return f"SharedState({self._where!r})"

    @property
    def where(self) -> str:
        """Host and port (or socket) and database, without any password."""
        return self._where

    def client(self) -> redis.Redis:
        """The blocking client (one connection pool per :class:`SharedState`)."""
        with self._lock:
            if self._sync is None:
                lib = _redis_module()
                self._sync = lib.Redis.from_url(
                    self.url,
                    socket_timeout=REDIS_TIMEOUT,
                    socket_connect_timeout=REDIS_TIMEOUT,
                )
            return self._sync

    def async_client(self) -> redis.asyncio.Redis:
        """The async client of the running event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._async.get(loop)
            if found is None:
                from redis import asyncio as aioredis  # noqa: PLC0415

                found = aioredis.Redis.from_url(
                    self.url,
                    socket_timeout=REDIS_TIMEOUT,
                    socket_connect_timeout=REDIS_TIMEOUT,
                )
                self._async[loop] = found
            return found

    def key(self, *parts: str) -> str:
        """A key of payhelp's under :attr:`prefix`."""
        return self.prefix + ":".join(parts)

    def error(self, exc: BaseException) -> SharedStateError:
        """``exc`` (a failure of the Redis client) as payhelp's error, naming the server."""
        return _unreachable(self._where, exc)

    def ping(self) -> None:
        """Check that Redis answers; :class:`~payhelp.errors.SharedStateError` if not."""
        lib = _redis_module()
        try:
            self.client().ping()
        except lib.RedisError as exc:
            raise self.error(exc) from None

    def close(self) -> None:
        """Release the blocking client's connections (async clients go with their loops)."""
        with self._lock:
            found, self._sync = self._sync, None
        if found is not None:
            found.close()

    async def aclose(self) -> None:
        """Release the running loop's async client."""
        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._async.pop(loop, None)
        if found is not None:
            await found.aclose()


def _describe(args: dict[str, Any]) -> str:
    if "path" in args:
        where = f"unix:{args['path']}"
    else:
        where = f"{args.get('host', 'localhost')}:{args.get('port', 6379)}"
    return f"{where}/{args.get('db', 0)}"


class RedisSchedule:
    """The processors' schedules in Redis: a :class:`~payhelp.ratelimit.Schedule` shared by every
    process that points at the same Redis and prefix. One script call per request that has a
    rate limit; none for a processor without one."""

    def __init__(self, shared: SharedState) -> None:
        self._shared = shared
        self._scripts: dict[str, Any] = {}
        # One registered script per async client (so per event loop).
        self._async_scripts: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"RedisSchedule({self._shared.where!r})"

    def _keys(self, key: str) -> list[str]:
        return [self._shared.key("rate", key), self._shared.key("pause", key)]

    def reserve(self, key: str, interval: float) -> tuple[float, float]:
        """Take the next slot for ``key`` (a processor id): ``(seconds to wait for it, the slot
        on Redis's clock)``."""
        lib = _redis_module()
        try:
            script = self._script("reserve", self._shared.client(), _RESERVE)
            return _slot(script(keys=self._keys(key), args=[repr(interval)]))
        except lib.RedisError as exc:
            raise self._shared.error(exc) from None

    async def reserve_async(self, key: str, interval: float) -> tuple[float, float]:
        """:meth:`reserve` on the running loop's async client."""
        lib = _redis_module()
        try:
            client = self._shared.async_client()
            script = self._async_scripts.get(client)
            if script is None:
                script = self._async_scripts[client] = client.register_script(_RESERVE)
            return _slot(await script(keys=self._keys(key), args=[repr(interval)]))
        except lib.RedisError as exc:
            raise self._shared.error(exc) from None

    def _script(self, name: str, client: Any, source: str) -> Any:
        found = self._scripts.get(name)
        if found is None:
            found = self._scripts[name] = client.register_script(source)
        return found

    def _paused_after(self, key: str, slot: float) -> bool:
        """Whether a pause set for ``key`` meanwhile ends after ``slot``."""
        lib = _redis_module()
        try:
            return _after(self._shared.client().get(self._keys(key)[1]), slot)
        except lib.RedisError as exc:
            raise self._shared.error(exc) from None

    async def _paused_after_async(self, key: str, slot: float) -> bool:
        lib = _redis_module()
        try:
            return _after(await self._shared.async_client().get(self._keys(key)[1]), slot)
        except lib.RedisError as exc:
            raise self._shared.error(exc) from None

    def acquire(
        self,
        rate: Rate | None,
        key: str,
        sleep: Callable[[float], None],
        *,
        margin: float = DEFAULT_MARGIN,
        pause: Pause | None = None,
    ) -> None:
        """Wait for this process's pause (if any), then for a slot on the shared schedule."""
        if rate is None:
            acquire(None, key, sleep, margin=margin, pause=pause)
            return
        interval = rate.interval(margin)
        while True:
            acquire(None, key, sleep, margin=margin, pause=pause)  # a pause this process heard
            asked = time.monotonic()
            wait, slot = self.reserve(key, interval)
            if wait <= 0:
                return
            sleep(wait)
            if _late(asked, wait, interval):
                continue  # it slept past its slot: going now would bunch with the next one
            if wait < _RECHECK_AFTER or not self._paused_after(key, slot):
                return  # no worker heard a longer pause while this one waited

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
        if rate is None:
            await acquire_async(None, key, sleep, margin=margin, pause=pause)
            return
        interval = rate.interval(margin)
        while True:
            await acquire_async(None, key, sleep, margin=margin, pause=pause)
            asked = time.monotonic()
            wait, slot = await self.reserve_async(key, interval)
            if wait <= 0:
                return
            await sleep(wait)
            if _late(asked, wait, interval):
                continue
            if wait < _RECHECK_AFTER or not await self._paused_after_async(key, slot):
                return

    def share_pause(self, key: str, seconds: float) -> None:
        """Hold back every worker's requests to ``key`` for ``seconds`` (a ``Retry-After``)."""
        if not math.isfinite(seconds) or seconds <= 0:
            return
        lib = _redis_module()
        try:
            script = self._script("pause", self._shared.client(), _PAUSE)
            script(keys=[self._keys(key)[1]], args=[repr(float(seconds))])
        except lib.RedisError as exc:
            # The worker that heard the 429 still waits it out itself; the others may meet it.
            _LOG.warning("%s: could not share a pause in Redis: %s", key, self._shared.error(exc))


def _slot(answer: bytes | str) -> tuple[float, float]:
    text = answer.decode() if isinstance(answer, bytes) else answer
    wait, slot = text.split()
    return float(wait), float(slot)


def _after(pause: bytes | str | None, slot: float) -> bool:
    return pause is not None and float(pause) > slot


def _late(asked: float, wait: float, interval: float) -> bool:
    """Whether a request that asked for its slot at ``asked`` (this process's clock) and was
    told to wait ``wait`` woke up more than a quarter interval after its slot: a process that
    stalled (a busy machine, a blocked event loop) would otherwise send a late request together
    with the next worker's on-time one. It takes a new slot instead; the old one stays empty."""
    return time.monotonic() - (asked + wait) > max(interval / 4, 0.002)


#: A request that waited at least this long for its slot checks that no other worker set a pause
#: meanwhile (a pause set later than the slot was taken does not move it). Shorter waits are the
#: plain pacing of a busy schedule and skip the extra round trip.
_RECHECK_AFTER = 0.5


class NotificationDedupe:
    """The notifications a store already holds, remembered in Redis for
    :data:`DEDUPE_SECONDS`: what a repeated delivery is answered from."""

    def __init__(self, shared: SharedState, *, seconds: int = DEDUPE_SECONDS) -> None:
        self._shared = shared
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"NotificationDedupe({self._shared.where!r})"

    def _key(self, store: str, processor: str, event_id: str) -> str:
        # The store's URL is part of the identity: two stores (live and sandbox, or two
        # installations) sharing one Redis never answer for each other.
        digest = hashlib.sha256(f"{store}\x00{processor}\x00{event_id}".encode()).hexdigest()
        return self._shared.key("seen", digest[:40])

    def seen(self, store: str, processor: str, event_id: str) -> int | None:
        """The store's record number for the event when the store already holds it; ``None``
        when Redis does not know it (or cannot be reached: the store decides)."""
        lib = _redis_module()
        try:
            found = self._shared.client().get(self._key(store, processor, event_id))
        except lib.RedisError as exc:
            _LOG.warning("notification dedupe skipped: %s", self._shared.error(exc))
            return None
        try:
            return int(found) if found is not None else None
        except ValueError:
            return None  # not ours after all: the store decides

    def remember(self, store: str, processor: str, event_id: str, record: int) -> None:
        """The store holds the event as ``record``: answer its repeats from Redis from now on."""
        lib = _redis_module()
        try:
            self._shared.client().set(
                self._key(store, processor, event_id), str(record), ex=self.seconds
            )
        except lib.RedisError as exc:
            _LOG.warning("notification dedupe not updated: %s", self._shared.error(exc))


def connect(url: str, *, prefix: str = DEFAULT_PREFIX) -> SharedState:
    """The :class:`SharedState` at ``url`` (``redis://host:port/db``); nothing is opened until
    it is first used. :class:`~payhelp.errors.ConfigurationError` when the extra is missing or
    the URL is not Redis's."""
    return SharedState(url, prefix=prefix)


__all__ = [
    "DEDUPE_SECONDS",
    "DEFAULT_PREFIX",
    "NotificationDedupe",
    "RedisSchedule",
    "SharedState",
    "connect",
]
