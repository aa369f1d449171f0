"""Bringing a submission store's schema to :data:`~payhelp.migrations.SCHEMA_REVISION` with
Alembic: on open (:class:`~payhelp.store.SubmissionStore` calls :func:`migrate` when the store
is not at head) and from ``payhelp store migrate``.

The whole upgrade is one transaction that holds the database against every other migrator: on
PostgreSQL an advisory lock (``pg_advisory_xact_lock``) taken in that transaction, on SQLite the
database's write lock (``BEGIN IMMEDIATE``). The revision is read again once the lock is held, so
that of many processes opening one old store at once, one upgrades it and the others find it at
head. A store made before payhelp used Alembic has no version table: the revision whose shape
its tables have is recorded (stamped) first, then the newer ones run.

Nothing here is imported when a store is opened at head: Alembic and Mako cost start-up time.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, inspect, make_url, select, text
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from payhelp.errors import ConfigurationError, StorageError, StoreIntegrityError
from payhelp.migrations import ADVISORY_LOCK_KEY, SCHEMA_REVISION, VERSION_TABLE
from payhelp.store import _reason, events, metadata, schema_versions, submissions

#: Where the environment, the template and the revisions are: inside the installed package.
SCRIPT_LOCATION = str(Path(__file__).resolve().parent / "migrations")

#: Alembic's ``context`` and ``op`` are module-level proxies for the one migration running in
#: the process: threads take turns (before any database lock, always in that order).
_ALEMBIC = threading.RLock()

_FIRST = frozenset(
    {
        "id",
        "idempotency_key",
        "processor",
        "reason",
        "status",
        "request",
        "receipt",
        "error",
        "attempts",
        "created_at",
        "updated_at",
    }
)
_LEASES = frozenset({"lease_owner", "lease_until"})
_NAMED_BY = frozenset({"transaction_id", "reference", "confirmed_by", "confirmed_at"})
_FIRST_EVENTS = frozenset(c.name for c in events.columns) - {"confirms_by"}


@dataclass(frozen=True)
class SchemaState:
    """Where a store's schema is."""

    where: str
    """The store, as payhelp names it in messages."""
    exists: bool
    """Whether there is a store at all (payhelp creates one at head when it is opened)."""
    current: str | None
    """The revision recorded in its version table; ``None`` without one."""
    legacy: str | None
    """For a store made before payhelp used Alembic: the revision its tables match."""
    head: str = SCHEMA_REVISION
    """The revision this payhelp brings a store to."""

    @property
    def revision(self) -> str | None:
        """The revision its schema is at, recorded or recognised."""
        return self.current or self.legacy

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def alembic_config(
    connection: Connection | None = None,
    *,
    dialect_name: str | None = None,
    output: io.StringIO | None = None,
) -> Config:
    """An Alembic configuration for the store's migrations, without any ini file: the
    connection to migrate (online) or the dialect to write SQL for (offline)."""
    config = Config(output_buffer=output) if output is not None else Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    if dialect_name is not None:
        config.attributes["dialect_name"] = dialect_name
    return config


def script_head() -> str:
    """The head of the revisions shipped in ``versions/``."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def recorded_revision(conn: Connection, where: str) -> str | None:
    """The revision in the store's version table; ``None`` when it has none."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    found = [str(r) for r in conn.execute(select(schema_versions.c.version_num)).scalars()]
    if len(found) > 1:
        raise StoreIntegrityError(
            f"the submission store {where!r} records several schema revisions ({', '.join(found)});"
            " payhelp will not migrate it"
        )
    return found[0] if found else None


def legacy_revision(conn: Connection, where: str) -> str | None:
    """The revision whose shape the tables of a store made before payhelp used Alembic have;
    ``None`` when there are no payhelp tables. Tables of any other shape are refused."""
    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    if submissions.name not in tables:
        return None
    columns = {c["name"] for c in inspector.get_columns(submissions.name)}
    indexes = {i["name"] for i in inspector.get_indexes(submissions.name)}
    found: str | None = None
    if events.name not in tables:
        if columns == _FIRST:
            found = "0001_submissions"
        elif columns == _FIRST | _LEASES:
            found = (
                "0003_status_index" if "ix_payhelp_submissions_status" in indexes else "0002_leases"
            )
    elif columns == _FIRST | _LEASES | _NAMED_BY:
        event_columns = {c["name"] for c in inspector.get_columns(events.name)}
        event_indexes = {i["name"] for i in inspector.get_indexes(events.name)}
        if event_columns == _FIRST_EVENTS:
            found = "0004_notifications"
        elif event_columns == _FIRST_EVENTS | {"confirms_by"}:
            found = (
                "0006_events_remote_addr_index"
                if "ix_payhelp_events_remote_addr" in event_indexes
                else "0005_events_confirms_by"
            )
    if found is None:
        raise StoreIntegrityError(
            f"the submission store {where!r} has payhelp's tables in a shape no payhelp release "
            f"made (payhelp_submissions columns: {', '.join(sorted(columns))}); it may have "
            "been changed by hand, and payhelp will not migrate it"
        )
    return found


@contextlib.contextmanager
def _locked(conn: Connection) -> Iterator[None]:
    """One transaction on ``conn`` that no other migrator can run beside; committed when the
    block ends, rolled back when it raises."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        # pysqlite begins transactions itself, lazily and never before DDL: with its
        # isolation_level at None it leaves them to us, and BEGIN IMMEDIATE takes the write
        # lock at once (waiting for it up to the busy timeout).
        raw: Any = conn.connection.driver_connection
        if conn.in_transaction():
            conn.rollback()
        previous = raw.isolation_level
        raw.isolation_level = None
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            if raw.in_transaction:  # pragma: no cover - BEGIN failed after starting one
                raw.rollback()
            raw.isolation_level = previous
        return
    with conn.begin():
        if dialect == "postgresql":
            # Held until this transaction ends; PostgreSQL's DDL is transactional, so the whole
            # upgrade commits or none of it does.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        yield


def migrate(engine: Engine, where: str) -> tuple[str | None, str]:
    """Bring the store on ``engine`` to head under the migration lock; the revision it was at
    (``None`` for an empty database) and the one it is at now."""
    try:
        with _ALEMBIC, engine.connect() as conn, _locked(conn):
            return _migrate(conn, where)
    except CommandError as exc:
        raise StorageError(
            f"cannot migrate the submission store {where!r}: {str(exc).splitlines()[0]}"
        ) from None
    except IntegrityError as exc:
        # (The store lets an IntegrityError through for its claims; here it is no such thing.)
        raise StorageError(
            f"cannot migrate the submission store {where!r} ({_reason(exc)})"
        ) from None


def _migrate(conn: Connection, where: str) -> tuple[str | None, str]:
    config = alembic_config(conn)
    before = recorded_revision(conn, where)
    if before == SCHEMA_REVISION:
        # Another process upgraded it while this one waited for the lock.
        if not inspect(conn).has_table(submissions.name):
            raise _dropped(where)
        return before, before
    if before is not None:
        _known(config, before, where)
        if not inspect(conn).has_table(submissions.name):
            raise _dropped(where)
        command.upgrade(config, "head")
        return before, SCHEMA_REVISION
    legacy = legacy_revision(conn, where)
    if legacy is None:
        # A new store: built from the tables' definitions and recorded at head, as Alembic's
        # documentation recommends; a test holds this equal to running every revision.
        metadata.create_all(conn)
        command.stamp(config, "head")
        return None, SCHEMA_REVISION
    command.stamp(config, legacy)
    command.upgrade(config, "head")
    return legacy, SCHEMA_REVISION


def _known(config: Config, revision: str, where: str) -> None:
    try:
        ScriptDirectory.from_config(config).get_revision(revision)
    except CommandError:
        raise StorageError(
            f"the submission store {where!r} is at schema revision {revision!r}, which this "
            f"payhelp does not know (its newest is {SCHEMA_REVISION!r}): it was migrated by a "
            "newer payhelp; upgrade payhelp to use it"
        ) from None


def _dropped(where: str) -> StoreIntegrityError:
    return StoreIntegrityError(
        f"the submission store {where!r} records a schema revision but has no "
        "payhelp_submissions table: its tables were dropped; payhelp will not start an empty "
        "store over them (sent refunds could go out again): restore them from a backup, or "
        f"drop {VERSION_TABLE} too to start a new store"
    )


def _where(url: str) -> tuple[str, Path | None]:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(
            "cannot open the submission store: store_url is not a database URL"
        ) from None
    database = parsed.database or ""
    if (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not database.startswith("file:")
    ):
        return database, Path(database)
    return parsed.render_as_string(hide_password=True), None


def schema_state(url: str) -> SchemaState:
    """Where the store at ``url`` is, read without changing anything (a missing SQLite file is
    not created)."""
    where, path = _where(url)
    if path is not None and not path.exists():
        return SchemaState(where, exists=False, current=None, legacy=None)
    if path is not None and path.stat().st_size == 0:
        raise StoreIntegrityError(f"the submission store {where!r} is empty (0 bytes)")
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise ConfigurationError(
            f"cannot open the submission store: {type(exc).__name__}"
        ) from None
    try:
        with engine.connect() as conn:
            current = recorded_revision(conn, where)
            legacy = None if current is not None else legacy_revision(conn, where)
            exists = current is not None or legacy is not None
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot read the submission store {where!r}: {_reason(exc)}") from None
    finally:
        engine.dispose()
    return SchemaState(where, exists=exists, current=current, legacy=legacy)


def offline_sql(url: str) -> str:
    """The SQL that would bring the store at ``url`` to head, for a DBA to read or run (nothing
    is changed): from the revision it is at, from its legacy shape (stamped first), or from
    nothing."""
    state = schema_state(url)
    if state.at_head:
        return ""
    output = io.StringIO()
    config = alembic_config(dialect_name=make_url(url).get_backend_name(), output=output)
    with _ALEMBIC:
        return _offline_sql(state, config, output)


def _offline_sql(state: SchemaState, config: Config, output: io.StringIO) -> str:
    try:
        if state.current is not None:
            _known(config, state.current, state.where)
            command.upgrade(config, f"{state.current}:head", sql=True)
        elif state.legacy is not None:
            command.stamp(config, state.legacy, sql=True)
            if state.legacy != SCHEMA_REVISION:
                command.upgrade(config, f"{state.legacy}:head", sql=True)
        else:
            command.upgrade(config, "head", sql=True)
    except (CommandError, NotImplementedError) as exc:
        raise StorageError(
            f"cannot write the upgrade of {state.where!r} as SQL: {str(exc).splitlines()[0]}"
        ) from None
    return output.getvalue()


__all__ = [
    "SCRIPT_LOCATION",
    "SchemaState",
    "alembic_config",
    "legacy_revision",
    "migrate",
    "offline_sql",
    "recorded_revision",
    "schema_state",
    "script_head",
]
