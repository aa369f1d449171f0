"""The local record of every dispute and refund submission, written before anything is sent.

Each submission is claimed under its idempotency key (a unique column) *before* it goes out and
completed with its receipt after. A repeat of the same request finds the claim and returns the
first receipt; a key reused for a *different* request is refused
(:class:`~payhelp.errors.IdempotencyConflictError`). A claim is held under a lease by the process
that made it: while that process lives and the lease runs, the claim stays ``pending`` (it is
being sent); once the process is gone or the lease has run out, the claim is recorded
``in_doubt`` — it may have reached the processor — and is never sent again. Only a submission
that surely did not reach the processor (``failed``) may be claimed anew.

The store refuses to work on a file it cannot trust: an empty, damaged or foreign file at the
store's path raises :class:`~payhelp.errors.StoreIntegrityError` naming the file, and a new store
is only ever created where no file is (atomically, so that two processes opening a new store at
once never see half of one). An empty store would let an already-sent refund go out again.

The tables' schema is versioned with Alembic (:mod:`payhelp.migrations`, docs/migrations.md):
opening a store at the newest revision only reads that revision; an older one, or one made
before payhelp used Alembic, is upgraded first, once, under a lock
(:mod:`payhelp.store_migrations`).

SQLite in the user data directory by default (write-ahead log, a long busy timeout, one short
transaction a step, and every step retried while the database is locked by another writer); any
SQLAlchemy URL (PostgreSQL for a platform's shared store) through ``store_url`` in the
configuration or ``PAYHELP_STORE_URL``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import stat
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from platformdirs import user_data_dir
from pydantic import AwareDatetime
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    column,
    create_engine,
    event,
    func,
    insert,
    inspect,
    make_url,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError

from payhelp._base import Lax, Model
from payhelp.cases import SubmissionReceipt, SubmissionStatus
from payhelp.errors import (
    ConfigurationError,
    IdempotencyConflictError,
    StorageError,
    StoreIntegrityError,
)
from payhelp.migrations import SCHEMA_REVISION, VERSION_TABLE
from payhelp.notifications import CONFIRMING_KINDS, NotificationEvent
from payhelp.redact import mask_card_numbers
from payhelp.store_statuses import OPEN, PENDING, STATUSES

#: How long a claim is held for the process that made it before it counts as abandoned: longer
#: than any send can take (timeouts and retries included).
DEFAULT_LEASE = timedelta(minutes=10)
#: The largest store whose every page is checked when it is opened (``PRAGMA quick_check``).
FULL_CHECK_BYTES = 64 * 1024 * 1024
#: How long a step keeps trying while another writer holds the database.
_LOCK_PATIENCE = 60.0
_SQLITE_HEADER = b"SQLite format 3\x00"
_T = TypeVar("_T")

metadata = MetaData()
submissions = Table(
    "payhelp_submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Unnamed, as in every release: PostgreSQL names it payhelp_submissions_idempotency_key_key,
    # SQLite keeps it nameless (naming it there would mean rebuilding every older store's table).
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("processor", String(40), nullable=False, index=True),
    Column("reason", String(40), nullable=False),
    # Indexed: every listing first looks for abandoned pending claims.
    Column("status", String(20), nullable=False, index=True),
    Column("request", Text, nullable=False),
    Column("receipt", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Who holds a pending claim (host/pid/process token) and until when.
    Column("lease_owner", String(200), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    # What a processor's notification names it by: the transaction the request is about, and
    # the reference the processor gave in its receipt (a refund's own id).
    Column("transaction_id", String(128), nullable=True, index=True),
    Column("reference", String(200), nullable=True, index=True),
    # The notification that confirmed it (payhelp_events.id), and when it arrived.
    Column("confirmed_by", Integer, nullable=True),
    Column("confirmed_at", DateTime(timezone=True), nullable=True),
)
#: Each notification received, applied or refused. A verified event is stored once per
#: (processor, event id): the unique pair is what makes a repeated delivery change nothing. A
#: refused one has no event id, so that a forged copy never blocks the real delivery.
events = Table(
    "payhelp_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("processor", String(40), nullable=False),
    Column("event_id", String(300), nullable=True),
    Column("status", String(20), nullable=False),
    Column("kind", String(30), nullable=True, index=True),
    Column("transaction_id", String(128), nullable=True, index=True),
    Column("related_transaction_id", String(128), nullable=True, index=True),
    Column("subscription_id", String(128), nullable=True),
    Column("test", Integer, nullable=False, default=0),
    Column("reason", String(30), nullable=True),
    Column("message", Text, nullable=True),
    Column("remote_addr", String(64), nullable=True, index=True),
    Column("event", Text, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    # Which of its ids may confirm a submission (see NotificationFormat.confirms_by), e.g.
    # "reference" for a format whose signature covers the event's own id only.
    Column("confirms_by", String(40), nullable=True),
    UniqueConstraint("processor", "event_id", name="uq_payhelp_events_processor_event"),
)
#: The revision Alembic records the schema at (see payhelp.migrations), read at every open.
schema_versions = table(VERSION_TABLE, column("version_num", String(32)))
#: How long before a submission was recorded a notification may have arrived and still be its
#: confirmation (clocks of two machines disagree by a little).
CLOCK_SKEW = timedelta(minutes=5)
#: Every way an event may name the submission it confirms.
ALL_MATCHES = frozenset({"reference", "key", "transaction"})

#: This process's token: a claim whose owner names this process but which no thread of it is
#: sending was abandoned (its thread died or its task was cancelled).
_PROCESS_TOKEN = uuid.uuid4().hex[:12]
_HOST = socket.gethostname()[:100]
#: The claims some thread of this process is sending, by store and key, counted. Held for the
#: process, not for one store object: a second store on the same database (another Payhelp, or
#: the same one after aclose()) must not take a claim another is sending for abandoned.
_HELD: Counter[tuple[str, str]] = Counter()
_HELD_LOCK = threading.Lock()


class SubmissionRecord(Model):
    """One submission as the store holds it."""

    id: int
    """The store's own number for it (``payhelp dispute show ID``)."""
    idempotency_key: str
    """The key that identifies the request."""
    processor: str
    """The processor it went to."""
    reason: str
    """The normalised reason."""
    status: Lax[SubmissionStatus] | str
    """``sent``, ``prepared``, ``failed``, ``in_doubt``, or ``pending`` while it is being sent."""
    request: dict[str, Any]
    """The request as recorded (attachments by name and hash, card by last four)."""
    receipt: SubmissionReceipt | None
    """The receipt, once there is one."""
    error: str | None
    """What went wrong, for a failed or doubtful submission."""
    attempts: int
    """How many times it was claimed for sending."""
    created_at: AwareDatetime
    """When it was first recorded."""
    updated_at: AwareDatetime
    """When it last changed."""
    confirmed_by: int | None = None
    """The stored notification that confirmed it (``payhelp dispute show`` shows it)."""
    confirmed_at: AwareDatetime | None = None
    """When that notification arrived."""


class EventRecord(Model):
    """One notification as the store holds it."""

    id: int
    """The store's own number for it."""
    processor: str
    """The processor it came from (or claimed to)."""
    status: str
    """``applied``, or ``refused`` when a check failed."""
    event: NotificationEvent | None
    """The event, when it could be read."""
    reason: str | None
    """Why it was refused."""
    message: str | None
    """The refusal in words."""
    remote_addr: str | None
    """The sender's address."""
    received_at: AwareDatetime
    """When it first arrived."""


@dataclass(frozen=True)
class Stored:
    """The outcome of :meth:`SubmissionStore.record_event`."""

    record: EventRecord
    fresh: bool
    """Whether this delivery was the first: only then was it applied."""
    confirmed: tuple[int, ...]
    """The submissions it confirmed (empty for a repeat)."""


@dataclass(frozen=True)
class Claim:
    """The outcome of :meth:`SubmissionStore.claim`: the record, and whether this caller may
    send (``fresh``)."""

    record: SubmissionRecord
    fresh: bool


def data_folder() -> Path:
    """payhelp's folder in the user data directory, created when missing;
    :class:`~payhelp.errors.StorageError` when it cannot be (``XDG_DATA_HOME`` naming a file, a
    read-only disk)."""
    folder = Path(user_data_dir("payhelp", appauthor=False))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create payhelp's data folder {str(folder)!r}: {exc.strerror or exc}"
        ) from None
    if not folder.is_dir():
        raise StorageError(f"payhelp's data folder {str(folder)!r} is not a folder")
    return folder


def default_url(*, sandbox: bool = False) -> str:
    """``sqlite:///…/payhelp/submissions.sqlite3`` in the user data directory; the sandbox's own
    store, ``…/payhelp/sandbox/submissions.sqlite3``, with ``sandbox``."""
    folder = data_folder()
    if sandbox:
        folder /= "sandbox"
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the sandbox's folder {str(folder)!r}: {exc.strerror or exc}"
            ) from None
    return f"sqlite:///{folder / 'submissions.sqlite3'}"


def sandbox_url(url: str | None) -> str:
    """The sandbox's store beside the store at ``url``: a SQLite file gets a sibling
    ``NAME.sandbox.EXT``, an in-memory store another in-memory one, any other database the
    sandbox store in the user data directory. Sandbox submissions never share keys or rows
    with real ones."""
    if url is None:
        return default_url(sandbox=True)
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # the real store's error will say what is wrong
    if parsed.get_backend_name() != "sqlite":
        return default_url(sandbox=True)
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return "sqlite://"
    path = Path(database)
    return parsed.set(
        database=str(path.with_name(f"{path.stem}.sandbox{path.suffix}"))
    ).render_as_string(hide_password=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything payhelp stores is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


#: What must agree for two requests under one key to be the same request: what is asked of the
#: processor (its transaction, the reason, the amount). The customer's wording, attachments and
#: the channel may differ on a retry - the first request stands - as a retry that finds email
#: configured where the first found none is still the same refund.
IDENTITY_FIELDS = ("transaction", "reason", "amount")


def _comparable(request: dict[str, Any]) -> dict[str, Any]:
    return {k: request.get(k) for k in IDENTITY_FIELDS}


def _locked(exc: OperationalError) -> bool:
    text_ = str(exc.orig).lower()
    return "locked" in text_ or "busy" in text_


def _reason(exc: BaseException) -> str:
    """The database's own words for a failure, never the statement that failed (which could
    hold a customer's message)."""
    orig = getattr(exc, "orig", None) or exc
    words = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    return f"{type(orig).__name__}: {words[:200]}"


class SubmissionStore:
    """Submissions in a SQL database.

    :param url: A SQLAlchemy URL; the SQLite file in the user data directory when ``None``.
    :param lease: How long a claim is held for its process before it counts as abandoned.
    """

    def __init__(self, url: str | None = None, *, lease: timedelta = DEFAULT_LEASE) -> None:
        self.url = url or default_url()
        self.lease = lease
        self._owner = f"{_HOST}/{os.getpid()}/{_PROCESS_TOKEN}"
        try:
            parsed = make_url(self.url)
        except ArgumentError:
            raise ConfigurationError(
                "cannot open the submission store: store_url is not a database URL"
            ) from None
        self.path: Path | None = None
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            database = str(parsed.database)
            if not database.startswith("file:"):
                self.path = Path(database)
        self._where = str(self.path) if self.path is not None else parsed.render_as_string()
        #: The database as the process-wide holds name it (one file however its path is written).
        self._held_as = str(self.path.resolve()) if self.path is not None else self._where
        if self.path is not None:
            _prepare_sqlite_file(self.path)
        try:
            engine_options: dict[str, Any] = {}
            if parsed.get_backend_name() == "sqlite":
                # Each step waits for other writers itself (busy timeout, then our retries).
                engine_options["connect_args"] = {"timeout": 30.0}
            else:
                # A server's pooled connection may have died with a restart or a failover: each
                # is checked as it is taken from the pool, so that a step never meets a dead one.
                engine_options["pool_pre_ping"] = True
            self.engine: Engine = create_engine(self.url, **engine_options)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise ConfigurationError(
                f"cannot open the submission store: {type(exc).__name__}"
            ) from None
        self._patiently(self._check_and_migrate)

    def __repr__(self) -> str:
        return f"SubmissionStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- opening -------------------------------------------------------------------------------

    def _check_and_migrate(self) -> None:
        with self.engine.connect() as conn:
            if self.path is not None:
                # Readers never wait for the writer with a write-ahead log; a store made by an
                # older payhelp is switched when nobody else has it open (else left as it is).
                with contextlib.suppress(OperationalError):
                    conn.execute(text("PRAGMA journal_mode=WAL"))
                verdict = self._integrity(conn)
                if verdict != "ok":
                    raise StoreIntegrityError(
                        f"the submission store {self._where!r} is damaged (SQLite's check says "
                        f"{str(verdict)[:120]!r}); payhelp will not use it: restore it from a "
                        "backup, or move it away to start a new store"
                    )
            tables = set(inspect(conn).get_table_names())
            if submissions.name not in tables and self.path is not None and tables:
                raise StoreIntegrityError(
                    f"{self._where!r} is a database, but not a payhelp submission store; "
                    "payhelp will not write into it: point store_url elsewhere"
                )
            if {submissions.name, VERSION_TABLE} <= tables:
                found = conn.execute(select(schema_versions.c.version_num)).scalars().all()
                if list(found) == [SCHEMA_REVISION]:
                    return  # at head: Alembic is never loaded
        # An older schema, a store from before Alembic, or an empty database: brought to head
        # under a lock that makes every other process opening it wait (see store_migrations).
        from payhelp.store_migrations import migrate  # noqa: PLC0415 - loads Alembic

        migrate(self.engine, self._where)

    def _integrity(self, conn: Any) -> str:
        """SQLite's ``quick_check`` for a store up to :data:`FULL_CHECK_BYTES`; a larger one
        (where that would cost seconds at every start) is checked for truncation: its size must
        be its page count times its page size."""
        assert self.path is not None
        size = self.path.stat().st_size
        if size <= FULL_CHECK_BYTES:
            return str(conn.execute(text("PRAGMA quick_check")).scalar())
        pages = int(conn.execute(text("PRAGMA page_count")).scalar() or 0)
        page_size = int(conn.execute(text("PRAGMA page_size")).scalar() or 0)
        wal = Path(f"{self.path}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            return "ok"  # the newest pages are still in the write-ahead log
        if pages * page_size != size:
            return f"the file has {size} bytes where its pages make {pages * page_size}"
        return "ok"

    def _patiently(self, step: Callable[[], _T]) -> _T:
        """Run one step, again while another writer holds the database (up to a minute); any
        other database failure is a :class:`~payhelp.errors.StorageError` naming the store."""
        deadline = time.monotonic() + _LOCK_PATIENCE
        pause = 0.005
        while True:
            try:
                return step()
            except OperationalError as exc:
                if not _locked(exc) or time.monotonic() > deadline:
                    raise self._storage_error(exc) from None
            except sqlite3.DatabaseError as exc:  # raised outside SQLAlchemy's wrapping
                raise self._storage_error(exc) from None
            except IntegrityError:
                raise
            except SQLAlchemyError as exc:
                raise self._storage_error(exc) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    def _storage_error(self, exc: BaseException) -> StorageError:
        words = _reason(exc)
        if "not a database" in words or "malformed" in words:
            return StoreIntegrityError(
                f"the submission store {self._where!r} is damaged ({words}); payhelp will not "
                "use it: restore it from a backup, or move it away to start a new store"
            )
        return StorageError(f"the submission store {self._where!r} cannot be used ({words})")

    # -- claiming ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def sending(self, key: str) -> Iterator[None]:
        """Send the fresh claim of ``key`` inside this block. A fresh claim is held for this
        process from the moment it is made; the block ends the hold, whatever happens in it. A
        pending claim of this process that nobody holds was abandoned (its thread died, or its
        caller went away without giving it back)."""
        try:
            yield
        finally:
            self._let_go(key)

    def give_back(self, key: str, why: str) -> None:
        """Give back a fresh claim that was never sent: it is ``failed`` (safe to submit again)
        and no longer held."""
        try:
            self.fail(key, why, maybe_applied=False)
        finally:
            self._let_go(key)

    def hold(self, key: str) -> None:
        """Hold ``key`` for this process a moment longer, until :meth:`let_go`: for a step that
        ends a send in another thread, so that a caller cancelled meanwhile does not leave the
        claim looking abandoned while the step still records its outcome."""
        self._hold(key)

    def let_go(self, key: str) -> None:
        """End one :meth:`hold` of ``key``."""
        self._let_go(key)

    def _hold(self, key: str) -> None:
        # Counted: a repeat of a request another thread is sending holds the key for a moment
        # too, and letting go of that must not end the sender's hold.
        with _HELD_LOCK:
            _HELD[self._held_as, key] += 1

    def _let_go(self, key: str) -> None:
        with _HELD_LOCK:
            _HELD[self._held_as, key] -= 1
            if _HELD[self._held_as, key] <= 0:
                del _HELD[self._held_as, key]

    def claim(self, key: str, processor: str, reason: str, request: dict[str, Any]) -> Claim:
        """Record a submission as ``pending`` under ``key`` before it is sent. When the key is
        already there for the same request, return its record: a ``failed`` one is claimed
        again (it never reached the processor), an abandoned ``pending`` one is recorded
        ``in_doubt``, anything else is left as it is. A key recorded for another request raises
        :class:`~payhelp.errors.IdempotencyConflictError`."""
        return self._patiently(lambda: self._claim(key, processor, reason, request))

    def _claim(self, key: str, processor: str, reason: str, request: dict[str, Any]) -> Claim:
        now = _now()
        lease = {"lease_owner": self._owner, "lease_until": now + self.lease}
        row = {
            "idempotency_key": key,
            "processor": processor,
            "reason": reason,
            "status": PENDING,
            "request": json.dumps(request, sort_keys=True, ensure_ascii=False),
            "transaction_id": _transaction_id(request),
            "attempts": 1,
            "created_at": now,
            "updated_at": now,
            **lease,
        }
        self._hold(key)  # before the row exists, so no listing takes it for abandoned
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(submissions).values(**row))
        except BaseException as exc:
            self._let_go(key)
            if not isinstance(exc, IntegrityError):
                raise
        else:
            return Claim(self._get_key(key), fresh=True)
        found = self._raw(submissions.c.idempotency_key == key)
        if found is None:  # pragma: no cover - a unique key that no row holds
            raise StorageError(f"the submission store {self._where!r} lost the claim of {key!r}")
        if found["processor"] != processor or _comparable(
            json.loads(found["request"])
        ) != _comparable(request):
            raise IdempotencyConflictError(
                f"the idempotency key {key!r} was already used for a different request (to "
                f"{found['processor']}, record {found['id']}); nothing was sent: give a new "
                "key for a new request",
                processor=processor,
                key=key,
            )
        if found["status"] == SubmissionStatus.FAILED.value:
            self._hold(key)
            moved = 0
            try:
                with self.engine.begin() as conn:
                    # Only one claimant can move a failed submission back to pending.
                    moved = conn.execute(
                        update(submissions)
                        .where(submissions.c.idempotency_key == key)
                        .where(submissions.c.status == SubmissionStatus.FAILED.value)
                        .values(
                            status=PENDING,
                            attempts=submissions.c.attempts + 1,
                            error=None,
                            updated_at=now,
                            **lease,
                        )
                    ).rowcount
            finally:
                if not moved:
                    self._let_go(key)
            return Claim(self._get_key(key), fresh=bool(moved))
        if found["status"] == PENDING:
            self._settle_if_abandoned(found, now)
        return Claim(self._get_key(key), fresh=False)

    def _abandoned(self, row: Any, now: datetime) -> bool:
        """Whether a pending claim's process is gone (or its lease has run out)."""
        until = row["lease_until"]
        if until is None or _aware(until) <= now:
            return True
        owner = str(row["lease_owner"] or "")
        host, _, rest = owner.partition("/")
        pid_text, _, token = rest.partition("/")
        if host != _HOST or not pid_text.isdigit():
            return False  # another machine's claim: only its lease tells
        pid = int(pid_text)
        if pid == os.getpid():
            if token != _PROCESS_TOKEN:
                return True  # an earlier process with the same number
            with _HELD_LOCK:
                return _HELD[self._held_as, row["idempotency_key"]] <= 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False  # it exists, under another user
        return False

    def _settle_if_abandoned(self, row: Any, now: datetime) -> bool:
        if not self._abandoned(row, now):
            return False
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(submissions)
                .where(submissions.c.id == row["id"])
                .where(submissions.c.status == PENDING)
                .where(submissions.c.attempts == row["attempts"])
                .values(
                    status=SubmissionStatus.IN_DOUBT.value,
                    error=(
                        "interrupted: the process sending it stopped before the answer was "
                        "recorded; it may have reached the processor"
                    ),
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
            ).rowcount
        return bool(moved)

    def settle_abandoned(self) -> int:
        """Record every abandoned ``pending`` claim as ``in_doubt``; how many were. Listings do
        this first, so that a claim left by a crash is always found under ``in_doubt``."""

        def step() -> int:
            now = _now()
            with self.engine.connect() as conn:
                rows = (
                    conn.execute(select(submissions).where(submissions.c.status == PENDING))
                    .mappings()
                    .all()
                )
            return sum(self._settle_if_abandoned(row, now) for row in rows)

        return self._patiently(step)

    # -- completing ----------------------------------------------------------------------------

    def finish(self, key: str, receipt: SubmissionReceipt) -> SubmissionRecord:
        """Record the receipt of a sent (or prepared) submission. A confirming notification
        that arrived before it (out of order) confirms it now; one already confirmed stays so."""
        reference = receipt.reference[:200] if receipt.reference else None

        def step() -> None:
            with self.engine.begin() as conn:
                self._update(
                    conn,
                    key,
                    status=_unless_confirmed(receipt.status.value),
                    receipt=receipt.model_dump_json(),
                    reference=reference,
                    error=None,
                )
            # Once the receipt is committed: a notification stored before or while this ran
            # (another process, a database that does not serialise writers) is seen now, and
            # one stored after sees the reference (record_event checks again once committed).
            with self.engine.begin() as conn:
                self._confirm_from_earlier_events(conn, key)

        self._patiently(step)
        return self._get_key(key)

    def fail(self, key: str, error: str, *, maybe_applied: bool) -> SubmissionRecord:
        """Record a failure: ``in_doubt`` when the request may have taken effect, ``failed``
        (safe to submit again) when it surely did not. A submission the processor has already
        confirmed stays ``confirmed``."""
        status = SubmissionStatus.IN_DOUBT if maybe_applied else SubmissionStatus.FAILED

        def step() -> None:
            with self.engine.begin() as conn:
                self._update(conn, key, status=_unless_confirmed(status.value), error=error[:2000])

        self._patiently(step)
        return self._get_key(key)

    @staticmethod
    def _update(conn: Any, key: str, **values: Any) -> None:
        conn.execute(
            update(submissions)
            .where(submissions.c.idempotency_key == key)
            .values(updated_at=_now(), lease_owner=None, lease_until=None, **values)
        )

    # -- notifications -------------------------------------------------------------------------

    def record_event(
        self,
        event: NotificationEvent,
        *,
        remote_addr: str | None,
        received_at: datetime,
        confirms_by: frozenset[str] = ALL_MATCHES,
    ) -> Stored:
        """Store a verified event once per (processor, event id) and apply it in the same
        transaction: a refund or void confirms one submission it names, the first of: the one
        whose receipt reference is the event's id, the one whose key the platform passed
        through (``payhelp_key``), the oldest open one for the transaction it names; only by the
        ways in ``confirms_by`` (what the processor's signature vouches for). A repeat finds the
        first and changes nothing."""
        when = _aware(received_at)
        row: dict[str, Any] = {
            "processor": event.processor,
            "event_id": event.event_id,
            "status": "applied",
            "kind": event.kind.value,
            "transaction_id": event.transaction_id,
            "related_transaction_id": event.related_transaction_id,
            "subscription_id": event.subscription_id,
            "test": int(event.test),
            "remote_addr": (remote_addr or None) and str(remote_addr)[:64],
            "event": event.model_dump_json(),
            "received_at": when,
            "confirms_by": ",".join(sorted(confirms_by & ALL_MATCHES)),
        }

        def step() -> Stored:
            try:
                with self.engine.begin() as conn:
                    number = _inserted(conn.execute(insert(events).values(**row)))
                    confirmed: tuple[int, ...] = ()
                    if event.kind in CONFIRMING_KINDS:
                        confirmed = _confirm(conn, number, event, when, confirms_by)
            except IntegrityError:
                first = self._event_where(
                    (events.c.processor == event.processor) & (events.c.event_id == event.event_id)
                )
                if first is None:  # pragma: no cover - a unique pair that no row holds
                    raise
                return Stored(first, fresh=False, confirmed=())
            if event.kind in CONFIRMING_KINDS and not confirmed:
                # Again once committed (see finish): a receipt recorded meanwhile is seen now.
                with self.engine.begin() as conn:
                    confirmed = _confirm(conn, number, event, when, confirms_by)
            stored = self._event_where(events.c.id == number)
            assert stored is not None
            return Stored(stored, fresh=True, confirmed=confirmed)

        return self._patiently(step)

    def record_refusal(
        self,
        processor: str,
        *,
        reason: str,
        message: str,
        event: NotificationEvent | None,
        remote_addr: str | None,
        received_at: datetime,
    ) -> EventRecord:
        """Record a refused delivery, for the platform to see; it is never applied and holds no
        event id, so that the genuine delivery of the same event is still accepted."""
        row: dict[str, Any] = {
            "processor": processor[:40],
            "event_id": None,
            "status": "refused",
            "kind": event.kind.value if event else None,
            "transaction_id": event.transaction_id if event else None,
            "related_transaction_id": event.related_transaction_id if event else None,
            "subscription_id": event.subscription_id if event else None,
            "test": int(event.test) if event else 0,
            "reason": reason[:30],
            "message": mask_card_numbers(message)[:2000],
            "remote_addr": (remote_addr or None) and str(remote_addr)[:64],
            "event": event.model_dump_json() if event else None,
            "received_at": _aware(received_at),
        }

        def step() -> EventRecord:
            with self.engine.begin() as conn:
                number = _inserted(conn.execute(insert(events).values(**row)))
            stored = self._event_where(events.c.id == number)
            assert stored is not None
            return stored

        return self._patiently(step)

    def recent_refusals(self, processor: str, remote_addr: str | None, since: datetime) -> int:
        """How many deliveries from ``remote_addr`` claiming to be ``processor``'s were refused
        since ``since``."""
        query = (
            select(func.count())
            .select_from(events)
            .where(events.c.processor == processor[:40])
            .where(events.c.status == "refused")
            .where(events.c.received_at >= _aware(since))
        )
        if remote_addr is None:
            query = query.where(events.c.remote_addr.is_(None))
        else:
            query = query.where(events.c.remote_addr == remote_addr[:64])

        def step() -> int:
            with self.engine.connect() as conn:
                return int(conn.execute(query).scalar() or 0)

        return self._patiently(step)

    def events(
        self,
        *,
        processor: str | None = None,
        kind: str | Iterable[str] | None = None,
        status: str | None = None,
        transaction_id: str | None = None,
        limit: int = 50,
    ) -> list[EventRecord]:
        """The newest notifications first, optionally of one processor, kind(s), status, or
        naming one transaction (as its own id or the one it concerns)."""
        query = select(events).order_by(events.c.id.desc()).limit(max(1, limit))
        if processor is not None:
            query = query.where(events.c.processor == processor)
        if isinstance(kind, str):
            query = query.where(events.c.kind == kind)
        elif kind is not None:
            query = query.where(events.c.kind.in_(list(kind)))
        if status is not None:
            query = query.where(events.c.status == status)
        if transaction_id is not None:
            query = query.where(
                or_(
                    events.c.transaction_id == transaction_id,
                    events.c.related_transaction_id == transaction_id,
                )
            )

        def step() -> list[Any]:
            with self.engine.connect() as conn:
                return list(conn.execute(query).mappings().all())

        return [_event_record(row) for row in self._patiently(step)]

    def event(self, number: int) -> EventRecord | None:
        """One stored notification by its number."""
        return self._event_where(events.c.id == number)

    def _event_where(self, condition: Any) -> EventRecord | None:
        def step() -> Any:
            with self.engine.connect() as conn:
                return conn.execute(select(events).where(condition)).mappings().first()

        row = self._patiently(step)
        return _event_record(row) if row is not None else None

    def _confirm_from_earlier_events(self, conn: Any, key: str) -> None:
        """Confirm ``key``'s submission from a confirming event stored before its receipt: one
        that arrived after the submission was recorded, confirmed nothing else, and names it in
        a way its format vouches for."""
        row = (
            conn.execute(select(submissions).where(submissions.c.idempotency_key == key))
            .mappings()
            .first()
        )
        if row is None or row["status"] == SubmissionStatus.CONFIRMED.value:
            return
        claimed = select(submissions.c.confirmed_by).where(submissions.c.confirmed_by.is_not(None))
        candidates = (
            conn.execute(
                select(events)
                .where(events.c.processor == row["processor"])
                .where(events.c.status == "applied")
                .where(events.c.kind.in_([k.value for k in CONFIRMING_KINDS]))
                .where(events.c.received_at >= _aware(row["created_at"]) - CLOCK_SKEW)
                .where(events.c.id.not_in(claimed))
                .order_by(events.c.id)
            )
            .mappings()
            .all()
        )
        for candidate in candidates:
            if not _names(candidate, row):
                continue
            _mark_confirmed(conn, row["id"], candidate["id"], _aware(candidate["received_at"]))
            return

    # -- reading -------------------------------------------------------------------------------

    def _get_key(self, key: str) -> SubmissionRecord:
        found = self._select(submissions.c.idempotency_key == key)
        if found is None:  # pragma: no cover - the row was just written
            raise StorageError(f"submission {key!r} vanished from the store {self._where!r}")
        return found

    def get(self, id_or_key: int | str) -> SubmissionRecord | None:
        """A submission by its idempotency key, or by its number (a key wins when a string of
        digits is both)."""
        self.settle_abandoned()
        if isinstance(id_or_key, str):
            found = self._select(submissions.c.idempotency_key == id_or_key)
            if found is not None or not id_or_key.isdigit() or len(id_or_key) > 18:
                return found
        return self._select(submissions.c.id == int(id_or_key))

    def _raw(self, condition: Any) -> Any:
        def step() -> Any:
            with self.engine.connect() as conn:
                return conn.execute(select(submissions).where(condition)).mappings().first()

        return self._patiently(step)

    def _select(self, condition: Any) -> SubmissionRecord | None:
        row = self._raw(condition)
        return _record(row) if row is not None else None

    def list(
        self,
        *,
        processor: str | None = None,
        status: str | Iterable[str] | None = None,
        limit: int = 50,
    ) -> list[SubmissionRecord]:
        """The newest submissions first, optionally of one processor, of one status or of any of
        several."""
        self.settle_abandoned()
        query = select(submissions).order_by(submissions.c.id.desc()).limit(max(1, limit))
        if processor is not None:
            query = query.where(submissions.c.processor == processor)
        if isinstance(status, str):
            query = query.where(submissions.c.status == status)
        elif status is not None:
            query = query.where(submissions.c.status.in_(list(status)))

        def step() -> list[Any]:
            with self.engine.connect() as conn:
                return list(conn.execute(query).mappings().all())

        return [_record(row) for row in self._patiently(step)]


def _record(row: Any) -> SubmissionRecord:
    receipt = row["receipt"]
    return SubmissionRecord(
        id=row["id"],
        idempotency_key=row["idempotency_key"],
        processor=row["processor"],
        reason=row["reason"],
        status=_status(row["status"]),
        request=json.loads(row["request"]),
        receipt=SubmissionReceipt.model_validate_json(receipt) if receipt else None,
        error=row["error"],
        attempts=row["attempts"],
        created_at=_aware(row["created_at"]),
        updated_at=_aware(row["updated_at"]),
        confirmed_by=row["confirmed_by"],
        confirmed_at=_aware(row["confirmed_at"]) if row["confirmed_at"] else None,
    )


def _event_record(row: Any) -> EventRecord:
    stored = row["event"]
    return EventRecord(
        id=row["id"],
        processor=row["processor"],
        status=row["status"],
        event=NotificationEvent.model_validate_json(stored) if stored else None,
        reason=row["reason"],
        message=row["message"],
        remote_addr=row["remote_addr"],
        received_at=_aware(row["received_at"]),
    )


def _names(event_row: Any, submission_row: Any) -> bool:
    """Whether a stored confirming event names a submission, in the ways its format vouches
    for."""
    ways = set((event_row["confirms_by"] or ",".join(sorted(ALL_MATCHES))).split(","))
    own = event_row["transaction_id"]
    named = {i for i in (own, event_row["related_transaction_id"]) if i}
    if "reference" in ways and own and own == submission_row["reference"]:
        return True
    if "key" in ways and event_row["event"]:
        metadata = json.loads(event_row["event"]).get("metadata") or {}
        if metadata.get("payhelp_key") == submission_row["idempotency_key"]:
            return True
    return "transaction" in ways and submission_row["transaction_id"] in named


def _inserted(result: Any) -> int:
    """The primary key of the row an ``insert`` made."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _transaction_id(request: Mapping[str, Any]) -> str | None:
    """The transaction id a recorded request names, if any."""
    transaction = request.get("transaction")
    found = transaction.get("transaction_id") if isinstance(transaction, Mapping) else None
    return found[:128] if isinstance(found, str) and found else None


def _unless_confirmed(status: str) -> Any:
    """``status``, except for a submission a notification has already confirmed."""
    return case(
        (submissions.c.status == SubmissionStatus.CONFIRMED.value, submissions.c.status),
        else_=status,
    )


def _confirm(
    conn: Any, number: int, event: NotificationEvent, when: datetime, confirms_by: frozenset[str]
) -> tuple[int, ...]:
    """Confirm the one open submission ``event`` names (see :meth:`record_event`); its number."""
    own = [event.transaction_id] if event.transaction_id else []
    named = list(event.ids())
    key = event.metadata.get("payhelp_key")
    open_ones = (
        select(submissions.c.id)
        .where(submissions.c.processor == event.processor)
        .where(submissions.c.status.in_(OPEN))
    )
    tries: list[Any] = []
    if own and "reference" in confirms_by:
        tries.append(submissions.c.reference.in_(own))
    if key and "key" in confirms_by:
        tries.append(submissions.c.idempotency_key == key)
    if named and "transaction" in confirms_by:
        tries.append(submissions.c.transaction_id.in_(named))
    for condition in tries:
        found = conn.execute(
            open_ones.where(condition).order_by(submissions.c.created_at, submissions.c.id).limit(1)
        ).scalar()
        if found is not None:
            _mark_confirmed(conn, found, number, when)
            return (int(found),)
    return ()


def _mark_confirmed(conn: Any, submission: int, event: int, when: datetime) -> None:
    """Record that stored notification ``event`` (which arrived ``when``) confirmed
    ``submission``."""
    conn.execute(
        update(submissions)
        .where(submissions.c.id == submission)
        .values(
            status=SubmissionStatus.CONFIRMED.value,
            confirmed_by=event,
            confirmed_at=when,
            updated_at=_now(),
        )
    )


def _status(value: str) -> SubmissionStatus | str:
    try:
        return SubmissionStatus(value)
    except ValueError:
        return value  # "pending"


def _prepare_sqlite_file(path: Path) -> None:
    """Make sure ``path`` holds a SQLite database payhelp may open: refuse anything that is not
    one (an empty or foreign file, a folder, a device); where nothing is, create a new store
    atomically, so that a concurrent opener sees either no file or a whole store."""
    where = str(path)
    if not path.parent.is_dir():
        # A configured path whose folder is missing is a typo more often than a wish: the
        # default store's folder is made by data_folder().
        raise ConfigurationError(
            f"cannot open the submission store: its folder {str(path.parent)!r} does not exist"
        )
    for _ in range(3):
        try:
            info = path.stat()
        except FileNotFoundError:
            if _create_sqlite_file(path):
                return
            continue  # another process created it meanwhile: check what it made
        except OSError as exc:
            raise StorageError(f"cannot read the store {where!r}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(info.st_mode):
            raise StorageError(f"the store {where!r} is not a regular file")
        if info.st_size == 0:
            raise StoreIntegrityError(
                f"the submission store {where!r} is empty (0 bytes): it may have been truncated, "
                "and an empty store would let sent refunds go out again; payhelp will not use "
                "it: restore it from a backup, or delete it to start a new store"
            )
        try:
            with path.open("rb") as handle:
                header = handle.read(len(_SQLITE_HEADER))
        except OSError as exc:
            raise StorageError(f"cannot read the store {where!r}: {exc.strerror or exc}") from None
        if header != _SQLITE_HEADER:
            raise StoreIntegrityError(
                f"{where!r} is not a SQLite database, so not a payhelp submission store; "
                "payhelp will not use or replace it: point store_url elsewhere, or move it away"
            )
        return
    raise StorageError(f"the store {where!r} keeps changing while it is opened")


def _create_sqlite_file(path: Path) -> bool:
    """Build a new store beside ``path`` and link it into place; ``False`` when a file appeared
    at ``path`` meanwhile (it is never replaced)."""
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".new", dir=path.parent
        )
    except OSError as exc:
        raise StorageError(
            f"cannot create the store in {str(path.parent)!r}: {exc.strerror or exc}"
        ) from None
    os.close(handle)
    try:
        engine = create_engine(f"sqlite:///{temporary}")
        try:
            # Built at head (and recorded so) before anyone can see it.
            from payhelp.store_migrations import migrate  # noqa: PLC0415 - loads Alembic

            migrate(engine, str(path))
            with engine.begin() as conn:
                conn.execute(text("PRAGMA journal_mode=WAL"))
        finally:
            engine.dispose()
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError:
            # A file system without hard links: take the name only if it is still free.
            if path.exists():
                return False
            os.replace(temporary, path)
        return True
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot create the store {str(path)!r} ({_reason(exc)})") from None
    except OSError as exc:
        raise StorageError(
            f"cannot create the store {str(path)!r}: {exc.strerror or exc}"
        ) from None
    finally:
        for leftover in (temporary, f"{temporary}-wal", f"{temporary}-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    # A claim must survive a crash of the machine, not only of the process.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


__all__ = [
    "DEFAULT_LEASE",
    "SCHEMA_REVISION",
    "STATUSES",
    "Claim",
    "SubmissionRecord",
    "SubmissionStore",
    "data_folder",
    "default_url",
    "sandbox_url",
]
