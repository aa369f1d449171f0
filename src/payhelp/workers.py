"""Batch work fanned out over Celery workers (the ``celery`` extra).

A platform that already runs Celery registers payhelp's tasks in its own app in one line::

    from payhelp.workers import register
    payhelp_tasks = register(app)                     # in the module that makes the app
    payhelp_tasks = register(app, reconcile_every=3600)   # and reconcile hourly through beat

and a platform that does not can run payhelp's own app, whose broker is ``broker_url``
(``PAYHELP_BROKER_URL``)::

    celery -A payhelp.workers worker --concurrency 4

What runs where:

- :meth:`PayhelpTasks.lookup` (``payhelp lookup --batch FILE --celery``) cuts JSON Lines into
  chunks, sends one ``payhelp.lookup_chunk`` task per chunk, and yields each answer as soon as a
  worker has it (completion order, the lines as :mod:`payhelp.batch_lookup` writes them);
- :meth:`PayhelpTasks.reconcile` fans :meth:`payhelp.api.Payhelp.reconcile` out in chunks of
  submissions (``payhelp.reconcile_chunk``), and ``payhelp.reconcile_all`` is what beat runs.

Nothing is lost and nothing is sent twice when a worker dies: tasks are acknowledged only once
they are done (``acks_late``; ``reject_on_worker_lost`` puts back a task whose process died), so a
dead worker's chunk is delivered again; each line's answer is kept in Redis (``redis_url``, which
the workers and the caller share) the moment it arrives, and a chunk delivered again skips every
line already answered. A line is claimed in Redis before its request goes, under a lease its
worker keeps renewing, so two deliveries of one chunk running at once (a broker's visibility
timeout) never both send it; a claim whose worker died runs out and the line is sent again --
the lookups in flight at the moment of the crash are the only requests a processor can see twice,
and a lookup changes nothing there. Reconciliation is idempotent by itself (its evidence is
stored once per submission).

Tasks run their lookups on one event loop per worker thread: use the ``prefork`` (default) or
``solo`` pool, not ``threads`` or ``gevent``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from payhelp.errors import ConfigurationError, PayhelpError

try:
    from celery import Celery
except ImportError:  # pragma: no cover - the celery extra is not installed
    raise ConfigurationError(
        "payhelp.workers needs Celery: pip install 'payhelp[celery]'"
    ) from None

if TYPE_CHECKING:
    from payhelp.api import Payhelp
    from payhelp.config import Settings
    from payhelp.i18n import Language
    from payhelp.reconcile import Reconciled
    from payhelp.shared import SharedState

#: Lines a lookup task takes (a task is the unit of redelivery: a dead worker's chunk is sent
#: again, its answered lines skipped).
DEFAULT_CHUNK = 200
#: Submissions a reconciliation task takes.
DEFAULT_RECONCILE_CHUNK = 50
#: How long a line's claim lasts unless its worker renews it (every third of it).
CLAIM_SECONDS = 30.0
#: How long a job's answers are kept in Redis for a caller that reads them late.
JOB_SECONDS = 24 * 3600

# Keep a line's answer once, and only then hand it to the caller and let go of its claim: one
# step, so that a crash can never keep an answer without handing it over, or the reverse.
_KEEP = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
redis.call('DEL', KEYS[3])
return 1
"""


# Claim lines for this worker: for each, 1 when claimed, 0 when it is answered already, -1 when
# another worker holds it. One step for a whole batch of lines (KEYS[1] the answers, KEYS[2..] the
# lines' claims, ARGV[1] the owner, ARGV[2] the lease, ARGV[3..] the lines), so that a line
# answered by another delivery of the chunk a moment ago is never sent again.
_CLAIM = """
local verdicts = {}
for i = 3, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    verdicts[#verdicts + 1] = 0
  elseif redis.call('SET', KEYS[i - 1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    verdicts[#verdicts + 1] = 1
  else
    verdicts[#verdicts + 1] = -1
  end
end
return verdicts
"""


class BrokerError(PayhelpError):
    """The Celery broker would not take a task (not running, wrong ``broker_url``). The tasks
    handed over before it are done by the workers; running the batch again answers every line
    (the answers are the same)."""


class JobTimeoutError(PayhelpError):
    """The workers did not answer every line in time (none running, or all busy); the job's
    answers so far were yielded, and the rest are still being worked on."""


@dataclass
class _Job:
    """The Redis keys of one job."""

    shared: SharedState
    job: str

    def key(self, part: str) -> str:
        return self.shared.key("job", self.job, part)

    @property
    def done(self) -> str:
        return self.key("done")

    @property
    def out(self) -> str:
        return self.key("out")

    def claim(self, item: str) -> str:
        return self.key(f"claim:{item}")


@dataclass
class PayhelpTasks:
    """payhelp's tasks in one Celery app (what :func:`register` returns)."""

    app: Celery
    payhelp: Callable[[], Payhelp]
    tasks: dict[str, Any] = field(default_factory=dict)
    claim_seconds: float = CLAIM_SECONDS

    # -- what the caller runs ----------------------------------------------------------------

    def lookup(
        self,
        lines: Iterable[bytes | str],
        *,
        chunk_size: int = DEFAULT_CHUNK,
        concurrency: int = 16,
        sandbox: bool | None = None,
        language: Language | None = None,
        timeout: float | None = None,
        queue: str | None = None,
    ) -> Iterator[str]:
        """Look up JSON Lines on the workers: yield one answer line per non-blank input line,
        as the workers answer (the lines :func:`payhelp.batch_lookup.lookup_lines` writes).
        :class:`JobTimeoutError` when ``timeout`` seconds pass without a new answer."""
        _count(chunk_size, "chunk_size is a whole number of lines, at least 1")
        _count(concurrency, "concurrency is a whole number, at least 1")
        job = _Job(_shared(self.payhelp()), uuid.uuid4().hex)
        total = 0
        chunk: list[tuple[int, str]] = []
        options = {"concurrency": concurrency, "sandbox": sandbox, "language": language}
        for number, raw in enumerate(lines, start=1):
            text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
            if number == 1:
                text = text.removeprefix("\ufeff")
            if not text.strip():
                continue
            chunk.append((number, text))
            total += 1
            if len(chunk) == chunk_size:
                self._send("payhelp.lookup_chunk", [job.job, chunk], options, queue)
                chunk = []
        if chunk:
            self._send("payhelp.lookup_chunk", [job.job, chunk], options, queue)
        yield from _collect(job, total, timeout)

    def reconcile(
        self,
        *,
        processor: str | None = None,
        due_days: float = 7.0,
        country: str | None = None,
        limit: int = 10_000,
        sandbox: bool | None = None,
        language: Language | None = None,
        chunk_size: int = DEFAULT_RECONCILE_CHUNK,
        timeout: float | None = None,
        queue: str | None = None,
    ) -> Iterator[Reconciled]:
        """:meth:`payhelp.api.Payhelp.reconcile` on the workers, in chunks of submissions;
        yields each submission's state as its chunk reports it."""
        from payhelp.reconcile import Reconciled  # noqa: PLC0415

        _count(chunk_size, "chunk_size is a whole number of submissions, at least 1")
        ph = self.payhelp()
        job = _Job(_shared(ph), uuid.uuid4().hex)
        ids = _open_ids(ph, processor, sandbox, limit)
        options = {
            "due_days": due_days,
            "country": country,
            "sandbox": sandbox,
            "language": language,
        }
        for start in range(0, len(ids), chunk_size):
            self._send(
                "payhelp.reconcile_chunk",
                [job.job, ids[start : start + chunk_size]],
                options,
                queue,
            )
        for line in _collect(job, len(ids), timeout):
            yield Reconciled.model_validate_json(line)

    def _send(self, name: str, args: list[Any], options: dict[str, Any], queue: str | None) -> None:
        try:
            self.tasks[name].apply_async(args=args, kwargs=options, queue=queue, retry=False)
        except Exception as exc:  # kombu's OperationalError and the transports' own errors
            raise BrokerError(
                f"cannot hand {name} to the Celery broker ({type(exc).__name__}): is it "
                "running at broker_url?"
            ) from None


def _count(value: object, problem: str, *, most: int | None = None) -> None:
    """``value`` is a whole number from 1 (to ``most``); :class:`ConfigurationError` saying
    ``problem`` otherwise."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < 1
        or (most is not None and value > most)
    ):
        raise ConfigurationError(problem)


def _open_ids(ph: Payhelp, processor: str | None, sandbox: bool | None, limit: int) -> list[int]:
    """The store's numbers of the open submissions to reconcile, newest first (the sandbox's
    store for ``sandbox``)."""
    from payhelp.store_statuses import OPEN  # noqa: PLC0415

    _count(limit, "limit is a whole number of submissions from 1 to 1,000,000", most=1_000_000)
    pid = ph.processor(processor).id if processor is not None else None
    store = ph.sandbox_store if ph._use_sandbox(sandbox) else ph.store
    return [record.id for record in store.list(processor=pid, status=OPEN, limit=limit)]


def _shared(ph: Payhelp) -> SharedState:
    shared = ph.shared
    if shared is None:
        raise ConfigurationError(
            "payhelp's Celery tasks keep each answer in Redis, shared by the workers and the "
            "caller: set redis_url (PAYHELP_REDIS_URL) for both"
        )
    return shared


def _collect(job: _Job, total: int, timeout: float | None) -> Iterator[str]:
    """Yield the job's ``total`` answers as they arrive, then forget the job. Each wait takes
    every answer already there (one round trip for many), then blocks for the next."""
    lib = _redis()
    client = job.shared.client()
    got = 0
    quiet_since = time.monotonic()
    try:
        while got < total:
            try:
                found = client.blpop([job.out], timeout=1)
                more = client.lpop(job.out, min(1000, total - got)) if found is not None else None
            except lib.RedisError as exc:
                raise job.shared.error(exc) from None
            if found is None:
                if timeout is not None and time.monotonic() - quiet_since > timeout:
                    raise JobTimeoutError(
                        f"no answer from the workers for {timeout:g} s: {got} of {total} "
                        "answered (are workers running, on the queue the tasks went to?)"
                    )
                continue
            quiet_since = time.monotonic()
            for answer in [found[1], *(more or [])]:
                got += 1
                yield answer.decode() if isinstance(answer, bytes) else str(answer)
    finally:
        if got >= total:
            client.delete(job.done, job.out)


def _redis() -> Any:
    import redis  # noqa: PLC0415

    return redis


# -- what the workers run ---------------------------------------------------------------------

_local = threading.local()


def _loop() -> asyncio.AbstractEventLoop:
    """This worker thread's event loop, kept from task to task (so are its connections)."""
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = _local.loop = asyncio.new_event_loop()
    return loop


_OWNER = f"{socket.gethostname()[:60]}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


class _ChunkRun:
    """One run of a lookup chunk in a worker: lines are claimed a batch (``concurrency`` of
    them) at a time, at most two batches ahead of the lookups; each answer is kept, handed over
    and its claim let go in one step."""

    def __init__(
        self,
        tasks: PayhelpTasks,
        job_id: str,
        *,
        concurrency: int,
        sandbox: bool | None,
        language: Language | None,
    ) -> None:
        self.ph = tasks.payhelp()
        self.job = _Job(_shared(self.ph), job_id)
        self.client = self.job.shared.async_client()
        self.keep = self.client.register_script(_KEEP)
        self.claim = self.client.register_script(_CLAIM)
        self.claim_seconds = tasks.claim_seconds
        self.lease_ms = int(tasks.claim_seconds * 1000)
        self.concurrency = concurrency
        self.sandbox = sandbox
        self.language = language
        self.held: set[str] = set()
        self.answered = 0
        self.inbox: asyncio.Queue[tuple[int, str] | None] = asyncio.Queue(concurrency)

    async def run(self, lines: list[tuple[int, str]]) -> int:
        """Answer the lines not answered yet; the number this run answered."""
        renewer = asyncio.ensure_future(self.renew())
        workers = [asyncio.ensure_future(self.work()) for _ in range(self.concurrency)]
        try:
            todo = await self.unanswered(lines)
            while todo:
                elsewhere = await self.claim_all(todo)
                if not elsewhere:
                    break
                # Claimed by a worker that is sending them now, or that died: wait for its
                # answers or for its claims to run out, then take what is still unanswered.
                await asyncio.sleep(min(1.0, self.claim_seconds / 10))
                todo = await self.unanswered(elsewhere)
            for _ in workers:
                await self.inbox.put(None)
            await asyncio.gather(*workers)
        finally:
            renewer.cancel()
            for worker in workers:
                worker.cancel()
        return self.answered

    async def unanswered(self, lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
        if not lines:
            return []
        found = await self.client.hmget(self.job.done, [str(number) for number, _ in lines])
        return [line for line, got in zip(lines, found, strict=True) if got is None]

    async def renew(self) -> None:
        """Keep this worker's claims alive while it works on them."""
        while True:
            await asyncio.sleep(self.claim_seconds / 3)
            if self.held:
                async with self.client.pipeline(transaction=False) as pipe:
                    for item in list(self.held):
                        pipe.pexpire(self.job.claim(item), self.lease_ms)
                    await pipe.execute()

    async def claim_all(self, todo: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Claim ``todo`` batch by batch and hand the claimed lines on; the lines another
        worker holds."""
        elsewhere: list[tuple[int, str]] = []
        for start in range(0, len(todo), self.concurrency):
            batch = todo[start : start + self.concurrency]
            items = [str(number) for number, _ in batch]
            verdicts = await self.claim(
                keys=[self.job.done, *(self.job.claim(item) for item in items)],
                args=[_OWNER, self.lease_ms, *items],
            )
            for line, item, verdict in zip(batch, items, verdicts, strict=True):
                if verdict == 1:
                    self.held.add(item)
                    await self.inbox.put(line)
                elif verdict == -1:
                    elsewhere.append(line)
        return elsewhere

    async def work(self) -> None:
        from payhelp.batch_lookup import _answer  # noqa: PLC0415 - one answer, as the CLI's

        while (line := await self.inbox.get()) is not None:
            number, raw = line
            item = str(number)
            try:
                answer = await _answer(
                    self.ph,
                    number,
                    raw,
                    sandbox=self.sandbox,
                    language=self.language,
                    on_error=None,
                )
                await self.keep(
                    keys=[self.job.done, self.job.out, self.job.claim(item)],
                    args=[item, answer, JOB_SECONDS],
                )
                self.answered += 1
            finally:
                self.held.discard(item)


async def _lookup_chunk(
    tasks: PayhelpTasks, job_id: str, lines: list[tuple[int, str]], **options: Any
) -> int:
    """Answer one chunk's lines not answered yet (on the worker's loop); how many it answered."""
    return await _ChunkRun(tasks, job_id, **options).run(lines)


def _reconcile_chunk(
    tasks: PayhelpTasks,
    job_id: str,
    ids: list[int],
    *,
    due_days: float,
    country: str | None,
    sandbox: bool | None,
    language: Language | None,
) -> int:
    ph = tasks.payhelp()
    job = _Job(_shared(ph), job_id)
    client = job.shared.client()
    keep = client.register_script(_KEEP)
    found = ph.reconcile(
        ids=ids, due_days=due_days, country=country, sandbox=sandbox, language=language
    )
    for item in found:
        keep(
            keys=[job.done, job.out, job.claim(str(item.submission_id))],
            args=[str(item.submission_id), item.model_dump_json(), JOB_SECONDS],
        )
    return len(found)


def _reconcile_all(tasks: PayhelpTasks, **options: Any) -> int:
    """Beat's task: fan reconciliation out in chunks (their answers are not collected: what
    matters is in the store, the submissions confirmed)."""
    ph = tasks.payhelp()
    ids = _open_ids(
        ph, options.get("processor"), options.get("sandbox"), options.get("limit", 10_000)
    )
    job = uuid.uuid4().hex
    for start in range(0, len(ids), DEFAULT_RECONCILE_CHUNK):
        tasks.tasks["payhelp.reconcile_chunk"].apply_async(
            args=[job, ids[start : start + DEFAULT_RECONCILE_CHUNK]], kwargs=_defaults(options)
        )
    return len(ids)


def _defaults(options: dict[str, Any]) -> dict[str, Any]:
    """A chunk's options from ``reconcile_all``'s (beat's schedule entry may set any)."""
    return {
        "due_days": options.get("due_days", 7.0),
        "country": options.get("country"),
        "sandbox": options.get("sandbox"),
        "language": options.get("language"),
    }


# -- registration -----------------------------------------------------------------------------

_REGISTERED: dict[int, PayhelpTasks] = {}
_REGISTER_LOCK = threading.Lock()
_TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,  # acknowledged once done: a dead worker's task is delivered again
    "reject_on_worker_lost": True,  # and put back at once when its process dies
    "ignore_result": True,  # answers travel through Redis, streamed, not the result backend
    "shared": False,  # this app's own: another app in the process registers its own tasks
}


def register(
    app: Celery,
    *,
    payhelp: Callable[[], Payhelp] | None = None,
    reconcile_every: float | timedelta | None = None,
    claim_seconds: float = CLAIM_SECONDS,
) -> PayhelpTasks:
    """Register payhelp's tasks in ``app`` (once; a second call returns the same tasks).

    :param payhelp: Builds the :class:`~payhelp.api.Payhelp` each worker process uses (once per
        process, on its first task); by default one from the worker's configuration file and
        environment (``PAYHELP_CONFIG``, ``PAYHELP_REDIS_URL``, ...).
    :param reconcile_every: Seconds (or a ``timedelta``) between reconciliations run by beat.
    :param claim_seconds: How long a line's claim outlives a worker that died holding it.
    """
    if not isinstance(app, Celery):
        raise ConfigurationError("register() takes the platform's Celery app")
    if isinstance(claim_seconds, bool) or not 1 <= float(claim_seconds) <= 3600:
        raise ConfigurationError("claim_seconds is a number of seconds from 1 to 3600")
    with _REGISTER_LOCK:
        found = _REGISTERED.get(id(app))
        if found is not None and found.app is app:
            return found
        tasks = PayhelpTasks(app, _once_per_process(payhelp), claim_seconds=float(claim_seconds))

        @app.task(name="payhelp.lookup_chunk", **_TASK_OPTIONS)  # type: ignore[untyped-decorator]
        def lookup_chunk(job: str, lines: list[list[Any]], **options: Any) -> int:
            """Answer one chunk of a batch lookup (skipping lines already answered)."""
            chunk = [(int(number), str(raw)) for number, raw in lines]
            return _loop().run_until_complete(_lookup_chunk(tasks, job, chunk, **options))

        @app.task(name="payhelp.reconcile_chunk", **_TASK_OPTIONS)  # type: ignore[untyped-decorator]
        def reconcile_chunk(job: str, ids: list[int], **options: Any) -> int:
            """Reconcile one chunk of submissions."""
            return _reconcile_chunk(tasks, job, [int(i) for i in ids], **options)

        @app.task(name="payhelp.reconcile_all", **_TASK_OPTIONS)  # type: ignore[untyped-decorator]
        def reconcile_all(**options: Any) -> int:
            """Reconcile every open submission, fanned out in chunks (what beat runs)."""
            return _reconcile_all(tasks, **options)

        tasks.tasks.update(
            {
                "payhelp.lookup_chunk": lookup_chunk,
                "payhelp.reconcile_chunk": reconcile_chunk,
                "payhelp.reconcile_all": reconcile_all,
            }
        )
        if reconcile_every is not None:
            seconds = (
                reconcile_every.total_seconds()
                if isinstance(reconcile_every, timedelta)
                else float(reconcile_every)
            )
            if not 60 <= seconds <= 7 * 24 * 3600:
                raise ConfigurationError("reconcile_every is from one minute to a week")
            schedule = dict(app.conf.beat_schedule or {})
            schedule["payhelp-reconcile"] = {"task": "payhelp.reconcile_all", "schedule": seconds}
            app.conf.beat_schedule = schedule
        _REGISTERED[id(app)] = tasks
        return tasks


def _once_per_process(factory: Callable[[], Payhelp] | None) -> Callable[[], Payhelp]:
    """``factory`` called once per process (a forked worker builds its own, never its
    parent's connections)."""
    made: dict[int, Payhelp] = {}
    lock = threading.Lock()

    def get() -> Payhelp:
        pid = os.getpid()
        with lock:
            if pid not in made:
                if factory is not None:
                    made[pid] = factory()
                else:
                    from payhelp.api import Payhelp  # noqa: PLC0415

                    made[pid] = Payhelp()
            return made[pid]

    return get


def own_app(settings: Settings | None = None) -> Celery:
    """payhelp's own Celery app, its broker from ``settings.broker_url`` (by default the
    configuration file and environment: ``PAYHELP_BROKER_URL``) and its queue
    ``settings.worker_queue``; one chunk at a time a worker, acknowledged once done."""
    if settings is None:
        from payhelp.config import Settings  # noqa: PLC0415

        settings = Settings.load()
    if not settings.broker_url:
        raise ConfigurationError(
            "payhelp's Celery app needs a broker: set broker_url (PAYHELP_BROKER_URL), e.g. "
            "redis://127.0.0.1:6379/0"
        )
    made = Celery("payhelp", broker=settings.broker_url, set_as_current=False)
    made.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a worker takes one chunk at a time: the others share
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=10,
        # Its own queue (worker_queue): a worker of this app takes it without --queues.
        task_default_queue=settings.worker_queue,
    )
    _quiet_http_logs()
    return made


def _quiet_http_logs() -> None:
    """httpx logs every request at INFO, the level workers usually run at: a line per lookup
    (20,000 for a batch of 20,000) is noise and costs each lookup a write. A worker of payhelp's
    own app keeps httpx's and httpcore's loggers at WARNING once Celery has set up its logging
    (``PAYHELP_DEBUG`` keeps them as they are); the process that only sends tasks, and a
    platform's own app, are left as they are."""
    from celery.signals import after_setup_logger  # noqa: PLC0415

    after_setup_logger.connect(_quieten, weak=False, dispatch_uid="payhelp-quiet-http-logs")


def _quieten(**_: Any) -> None:
    if os.environ.get("PAYHELP_DEBUG"):
        return
    import logging  # noqa: PLC0415

    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


_DEFAULT: list[PayhelpTasks] = []
_DEFAULT_LOCK = threading.Lock()


def __getattr__(name: str) -> Any:
    """``app`` (``celery -A payhelp.workers worker``) and ``tasks``: payhelp's own app with its
    tasks registered, made on first use (so that importing :func:`register` reads no
    configuration)."""
    if name not in ("app", "tasks"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _DEFAULT_LOCK:
        if not _DEFAULT:
            _DEFAULT.append(register(own_app()))
    found = _DEFAULT[0]
    return found.app if name == "app" else found


__all__ = [
    "CLAIM_SECONDS",
    "DEFAULT_CHUNK",
    "BrokerError",
    "JobTimeoutError",
    "PayhelpTasks",
    "own_app",
    "register",
]
