"""The local record of every dispute and refund submission, written before anything is sent.

Each submission is claimed under its idempotency key (a unique column) *before* it goes out and
completed with its receipt after. A repeat of the same request finds the claim and returns the
first receipt; a claim left ``pending`` — another process is sending it, or a process died
between sending and recording — is reported *in doubt* and never sent again. Only a submission
that surely did not reach the processor (``failed``) may be claimed anew.

SQLite in the user data directory by default; any SQLAlchemy URL (PostgreSQL for a platform's
shared store) through ``store_url`` in the configuration or ``PAYHELP_STORE_URL``.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from payhelp._base import Lax, Model
from payhelp.cases import SubmissionReceipt, SubmissionStatus
from payhelp.errors import ConfigurationError, PayhelpError

PENDING = "pending"

metadata = MetaData()
submissions = Table(
    "payhelp_submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("processor", String(40), nullable=False, index=True),
    Column("reason", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("request", Text, nullable=False),
    Column("receipt", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


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


@dataclass(frozen=True)
class Claim:
    """The outcome of :meth:`SubmissionStore.claim`: the record, and whether this caller may
    send (``fresh``)."""

    record: SubmissionRecord
    fresh: bool


def default_url() -> str:
    """``sqlite:///…/payhelp/submissions.sqlite3`` in the user data directory."""
    folder = Path(user_data_dir("payhelp", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'submissions.sqlite3'}"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything payhelp stores is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class SubmissionStore:
    """Submissions in a SQL database.

    :param url: A SQLAlchemy URL; the SQLite file in the user data directory when ``None``.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        try:
            self.engine: Engine = create_engine(self.url, future=True)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            _create_tables(self.engine)
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise ConfigurationError(
                f"cannot open the submission store: {type(exc).__name__}: {exc}"
            ) from None

    def __repr__(self) -> str:
        return f"SubmissionStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def claim(self, key: str, processor: str, reason: str, request: dict[str, Any]) -> Claim:
        """Record a submission as ``pending`` under ``key`` before it is sent. When the key is
        already there, return its record; a ``failed`` one is claimed again (it never reached
        the processor), anything else is not."""
        now = _now()
        row = {
            "idempotency_key": key,
            "processor": processor,
            "reason": reason,
            "status": PENDING,
            "request": json.dumps(request, sort_keys=True, ensure_ascii=False),
            "attempts": 1,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(submissions).values(**row))
            return Claim(self._get_key(key), fresh=True)
        except IntegrityError:
            pass
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
                )
            ).rowcount
        return Claim(self._get_key(key), fresh=bool(moved))

    def finish(self, key: str, receipt: SubmissionReceipt) -> SubmissionRecord:
        """Record the receipt of a sent (or prepared) submission."""
        self._set(key, status=receipt.status.value, receipt=receipt.model_dump_json(), error=None)
        return self._get_key(key)

    def fail(self, key: str, error: str, *, maybe_applied: bool) -> SubmissionRecord:
        """Record a failure: ``in_doubt`` when the request may have taken effect, ``failed``
        (safe to submit again) when it surely did not."""
        status = SubmissionStatus.IN_DOUBT if maybe_applied else SubmissionStatus.FAILED
        self._set(key, status=status.value, error=error[:2000])
        return self._get_key(key)

    def _set(self, key: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(submissions)
                .where(submissions.c.idempotency_key == key)
                .values(updated_at=_now(), **values)
            )

    def _get_key(self, key: str) -> SubmissionRecord:
        found = self._select(submissions.c.idempotency_key == key)
        if found is None:  # pragma: no cover - the row was just written
            raise PayhelpError(f"submission {key!r} vanished from the store")
        return found

    def get(self, id_or_key: int | str) -> SubmissionRecord | None:
        """A submission by its idempotency key, or by its number (a key wins when a string of
        digits is both)."""
        if isinstance(id_or_key, str):
            found = self._select(submissions.c.idempotency_key == id_or_key)
            if found is not None or not id_or_key.isdigit():
                return found
        return self._select(submissions.c.id == int(id_or_key))

    def _select(self, condition: Any) -> SubmissionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(submissions).where(condition)).mappings().first()
        return _record(row) if row is not None else None

    def list(
        self, *, processor: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[SubmissionRecord]:
        """The newest submissions first, optionally of one processor or status."""
        query = select(submissions).order_by(submissions.c.id.desc()).limit(max(1, limit))
        if processor is not None:
            query = query.where(submissions.c.processor == processor)
        if status is not None:
            query = query.where(submissions.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_record(row) for row in rows]


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
    )


def _status(value: str) -> SubmissionStatus | str:
    try:
        return SubmissionStatus(value)
    except ValueError:
        return value  # "pending"


def _create_tables(engine: Engine) -> None:
    """Create the table; several processes opening a new store at once race to create it, and
    the losers see it appear (or find the file locked) and try again."""
    for attempt in range(10):
        try:
            metadata.create_all(engine, checkfirst=True)
            return
        except OperationalError:
            if attempt == 9:
                raise
            time.sleep(0.02 * (attempt + 1))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")
    # Another opener may hold the lock; WAL is an optimisation, the store works without it.
    with contextlib.suppress(Exception):
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


__all__ = ["Claim", "SubmissionRecord", "SubmissionStore", "default_url"]
