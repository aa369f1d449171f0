"""The store's schema under Alembic: a new store is at head; a store of every earlier release
(made here with that release's own DDL, rows included) is recognised, stamped and upgraded,
keeping every row and backfilling what the notifications need; the result equals the tables'
definitions (Alembic's compare_metadata finds nothing); many processes opening one old store
at once all succeed and migrate it once. On SQLite, and on PostgreSQL when
``PAYHELP_TEST_POSTGRES_URL`` is set (the tests marked ``postgres``, each in a database of its
own; skipped with that reason otherwise).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import textwrap
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Text,
    column,
    create_engine,
    insert,
    inspect,
    make_url,
    select,
    table,
    text,
)

from payhelp.errors import StorageError, StoreIntegrityError
from payhelp.migrations import SCHEMA_REVISION, VERSION_TABLE
from payhelp.store import SubmissionStore, events, metadata, submissions
from payhelp.store_migrations import (
    alembic_config,
    legacy_revision,
    offline_sql,
    schema_state,
    script_head,
)

PG_URL = os.environ.get("PAYHELP_TEST_POSTGRES_URL")

#: Every revision, oldest first: each is the shape of the tables in one earlier release.
HISTORY = [
    "0001_submissions",
    "0002_leases",
    "0003_status_index",
    "0004_notifications",
    "0005_events_confirms_by",
    "0006_events_remote_addr_index",
]
#: Every revision: the shapes, then repairs of what payhelp before Alembic left.
REVISIONS = [*HISTORY, "0007_timestamps_with_time_zone"]

# -- the DDL each release's create_all emitted ({pk} and {ts} differ between the databases) ----

_TYPES = {
    "sqlite": {"pk": "INTEGER NOT NULL", "ts": "DATETIME"},
    "postgresql": {"pk": "SERIAL NOT NULL", "ts": "TIMESTAMP WITH TIME ZONE"},
}
_SUBMISSIONS = (
    "CREATE TABLE payhelp_submissions (id {pk}, idempotency_key VARCHAR(100) NOT NULL, "
    "processor VARCHAR(40) NOT NULL, reason VARCHAR(40) NOT NULL, status VARCHAR(20) NOT NULL, "
    "request TEXT NOT NULL, receipt TEXT, error TEXT, attempts INTEGER NOT NULL, "
    "created_at {ts} NOT NULL, updated_at {ts} NOT NULL{more}, PRIMARY KEY (id), "
    "UNIQUE (idempotency_key))"
)
_LEASES = ", lease_owner VARCHAR(200), lease_until {ts}"
_NAMED_BY = (
    ", transaction_id VARCHAR(128), reference VARCHAR(200), confirmed_by INTEGER, confirmed_at {ts}"
)
_EVENTS = (
    "CREATE TABLE payhelp_events (id {pk}, processor VARCHAR(40) NOT NULL, "
    "event_id VARCHAR(300), status VARCHAR(20) NOT NULL, kind VARCHAR(30), "
    "transaction_id VARCHAR(128), related_transaction_id VARCHAR(128), "
    "subscription_id VARCHAR(128), test INTEGER NOT NULL, reason VARCHAR(30), message TEXT, "
    "remote_addr VARCHAR(64), event TEXT, received_at {ts} NOT NULL{more}, PRIMARY KEY (id), "
    "CONSTRAINT uq_payhelp_events_processor_event UNIQUE (processor, event_id))"
)


def _index(table_name: str, name: str) -> str:
    return f"CREATE INDEX ix_{table_name}_{name} ON {table_name} ({name})"


def release_ddl(revision: str, dialect: str) -> list[str]:
    """The statements a new store of the release at ``revision`` was made with."""
    shape = HISTORY.index(revision)
    more = (_LEASES if shape >= 1 else "") + (_NAMED_BY if shape >= 3 else "")
    statements = [_SUBMISSIONS.replace("{more}", more), _index("payhelp_submissions", "processor")]
    if shape >= 2:
        statements.append(_index("payhelp_submissions", "status"))
    if shape >= 3:
        statements += [
            _index("payhelp_submissions", "transaction_id"),
            _index("payhelp_submissions", "reference"),
            _EVENTS.replace("{more}", ", confirms_by VARCHAR(40)" if shape >= 4 else ""),
            _index("payhelp_events", "kind"),
            _index("payhelp_events", "transaction_id"),
            _index("payhelp_events", "related_transaction_id"),
        ]
    if shape >= 5:
        statements.append(_index("payhelp_events", "remote_addr"))
    return [s.format(**_TYPES[dialect]) for s in statements]


_WHEN = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
_LONG = "R" * 300

#: Rows an older store holds: what the backfill must read (references and transaction ids,
#: too long ones cut as the store cuts them, and values that are no id at all).
ROWS: list[dict[str, Any]] = [
    {
        "idempotency_key": "k-sent",
        "status": "sent",
        "request": {"transaction": {"transaction_id": "TX-1"}, "reason": "duplicate_charge"},
        "receipt": {"reference": "REF-1"},
    },
    {
        "idempotency_key": "k-failed",
        "status": "failed",
        "request": {"reason": "not_recognised"},
        "receipt": None,
    },
    {
        "idempotency_key": "k-long",
        "status": "sent",
        "request": {"transaction": {"transaction_id": "T" * 200}},
        "receipt": {"reference": _LONG},
    },
    {
        "idempotency_key": "k-odd",
        "status": "in_doubt",
        "request": {"transaction": {"transaction_id": 12345}},
        "receipt": {"reference": ""},
    },
    {
        "idempotency_key": "k-prepared",
        "status": "prepared",
        "request": {"transaction": "TX-3"},
        "receipt": {"reference": None},
    },
]
#: What each row's reference and transaction id must be once backfilled.
BACKFILLED = {
    "k-sent": ("REF-1", "TX-1"),
    "k-failed": (None, None),
    "k-long": (_LONG[:200], "T" * 128),
    "k-odd": (None, None),
    "k-prepared": (None, None),
}


def _legacy_rows(revision: str) -> tuple[Any, Any]:
    shape = HISTORY.index(revision)
    names = ["idempotency_key", "processor", "reason", "status", "request", "receipt", "error"]
    columns = [column(n, Text()) for n in names]
    columns += [
        column("attempts", Integer()),
        column("created_at", DateTime(timezone=True)),
        column("updated_at", DateTime(timezone=True)),
    ]
    if shape >= 1:
        columns += [column("lease_owner", String()), column("lease_until", DateTime(True))]
    if shape >= 3:
        columns += [column("reference", String()), column("transaction_id", String())]
    return table("payhelp_submissions", *columns), table(
        "payhelp_events",
        column("processor", String()),
        column("event_id", String()),
        column("status", String()),
        column("kind", String()),
        column("transaction_id", String()),
        column("test", Integer()),
        column("received_at", DateTime(timezone=True)),
    )


def _receipt(row: dict[str, Any]) -> str:
    """A receipt as payhelp records it, holding the row's reference."""
    return json.dumps(
        {
            "processor": "webbilling",
            "idempotency_key": row["idempotency_key"],
            "channel": "email",
            "submitted_at": _WHEN.isoformat(),
            "status": row["status"],
            **row["receipt"],
        }
    )


def make_legacy(url: str, revision: str) -> None:
    """A store as the release at ``revision`` left it: its tables, no version table, rows."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in release_ddl(revision, engine.dialect.name):
                conn.execute(text(statement))
            subs, evs = _legacy_rows(revision)
            for row in ROWS:
                values: dict[str, Any] = {
                    "idempotency_key": row["idempotency_key"],
                    "processor": "webbilling",
                    "reason": "duplicate_charge",
                    "status": row["status"],
                    "request": json.dumps(row["request"]),
                    "receipt": _receipt(row) if row["receipt"] else None,
                    "attempts": 1,
                    "created_at": _WHEN,
                    "updated_at": _WHEN,
                }
                if HISTORY.index(revision) >= 3:  # that release recorded them itself
                    reference, transaction_id = BACKFILLED[row["idempotency_key"]]
                    values.update(reference=reference, transaction_id=transaction_id)
                conn.execute(insert(subs).values(**values))
            if HISTORY.index(revision) >= 3:
                conn.execute(
                    insert(evs).values(
                        processor="webbilling",
                        event_id="EV-1",
                        status="applied",
                        kind="refund",
                        transaction_id="TX-9",
                        test=0,
                        received_at=_WHEN,
                    )
                )
    finally:
        engine.dispose()


def schema_diff(url: str) -> list[Any]:
    """What Alembic's autogenerate finds between the database and the tables' definitions."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def versions(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
            return [str(v) for v in found]
    finally:
        engine.dispose()


def assert_kept_and_backfilled(url: str, revision: str, *, extra: tuple[str, ...] = ()) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = {
                row.idempotency_key: (row.reference, row.transaction_id)
                for row in conn.execute(select(submissions))
            }
            event_ids = [row.event_id for row in conn.execute(select(events))]
    finally:
        engine.dispose()
    assert found == BACKFILLED | dict.fromkeys(extra, (None, None))
    assert event_ids == (["EV-1"] if HISTORY.index(revision) >= 3 else [])


def assert_at_head(url: str) -> None:
    assert versions(url) == [SCHEMA_REVISION]
    assert schema_diff(url) == []


# -- the revisions themselves ---------------------------------------------------------------------


def test_schema_revision_is_the_script_directorys_head() -> None:
    # A new revision must update payhelp.migrations.SCHEMA_REVISION: the fast path at open
    # compares the store's revision with it.
    assert script_head() == SCHEMA_REVISION == REVISIONS[-1]


def test_the_revisions_are_one_line_in_release_order() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    chain = [r.revision for r in script.walk_revisions("base", "heads")]
    assert list(reversed(chain)) == REVISIONS
    assert script.get_heads() == [SCHEMA_REVISION]


@pytest.mark.slow
def test_the_migrations_ship_in_the_wheel_and_run_from_it(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "uv", "build", "--wheel", "--out-dir", str(tmp_path / "dist")],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("payhelp-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    wanted = {"payhelp/migrations/env.py", "payhelp/migrations/script.py.mako"}
    wanted |= {f"payhelp/migrations/versions/{r}.py" for r in REVISIONS}
    assert wanted <= names
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "uv",
            "pip",
            "install",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    url = _sqlite(tmp_path)
    make_legacy(url, "0001_submissions")
    probe = (
        "import sys, payhelp; from payhelp.store import SubmissionStore; "
        "SubmissionStore(sys.argv[1]).close(); print(payhelp.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, url],
        env={**os.environ, "PYTHONPATH": str(target)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.strip().startswith(str(target))  # the installed copy ran
    assert_at_head(url)


# -- SQLite -------------------------------------------------------------------------------------


def _sqlite(tmp_path: Path, name: str = "store.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def test_a_new_store_is_at_head(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    SubmissionStore(url).close()
    assert_at_head(url)


def test_running_every_revision_makes_what_a_new_store_is(tmp_path: Path) -> None:
    # A new store is built from the tables' definitions and stamped; the revisions run one by
    # one from nothing must make the same schema.
    url = _sqlite(tmp_path)
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    engine.dispose()
    assert_at_head(url)


@pytest.mark.parametrize("revision", HISTORY)
def test_a_store_of_every_release_is_upgraded_keeping_its_rows(
    tmp_path: Path, revision: str
) -> None:
    url = _sqlite(tmp_path)
    make_legacy(url, revision)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert legacy_revision(conn, url) == revision
    engine.dispose()
    store = SubmissionStore(url)
    try:
        assert {r.idempotency_key for r in store.list()} == set(BACKFILLED)
        assert store.claim("k-new", "webbilling", "duplicate_charge", {}).fresh
    finally:
        store.close()
    assert_at_head(url)
    assert_kept_and_backfilled(url, revision, extra=("k-new",))


def make_hand_migrated(url: str) -> None:
    """A first-release store as payhelp before Alembic migrated it: ALTER TABLE ... ADD COLUMN
    with the types it named (TIMESTAMP), the missing indexes of payhelp_submissions, create_all
    for the events table (of that release: never its remote_addr index), then
    events.confirms_by. A lease written as the store writes it, in the session's time zone."""
    make_legacy(url, "0001_submissions")
    engine = create_engine(url)
    with engine.begin() as conn:
        for name, ddl in [
            ("lease_owner", "VARCHAR(200)"),
            ("lease_until", "TIMESTAMP"),
            ("transaction_id", "VARCHAR(128)"),
            ("reference", "VARCHAR(200)"),
            ("confirmed_by", "INTEGER"),
            ("confirmed_at", "TIMESTAMP"),
        ]:
            conn.execute(text(f"ALTER TABLE payhelp_submissions ADD COLUMN {name} {ddl}"))
        for name in ("status", "transaction_id", "reference"):
            conn.execute(text(_index("payhelp_submissions", name)))
        for statement in release_ddl("0004_notifications", engine.dialect.name)[5:]:
            conn.execute(text(statement))
        conn.execute(text("ALTER TABLE payhelp_events ADD COLUMN confirms_by VARCHAR(40)"))
        for key, (reference, transaction_id) in BACKFILLED.items():  # its own backfill
            conn.execute(
                text(
                    "UPDATE payhelp_submissions SET reference = :reference, "
                    "transaction_id = :transaction_id WHERE idempotency_key = :key"
                ),
                {"reference": reference, "transaction_id": transaction_id, "key": key},
            )
        conn.execute(
            text("UPDATE payhelp_submissions SET lease_until = :until WHERE status = 'sent'"),
            {"until": LEASE_UNTIL},
        )
    engine.dispose()


LEASE_UNTIL = datetime(2026, 12, 4, 12, 30, tzinfo=UTC)


def lease_of_the_sent_row(url: str) -> datetime:
    store = SubmissionStore(url)
    try:
        found = store._raw(submissions.c.idempotency_key == "k-sent")
        return store_aware(found["lease_until"])
    finally:
        store.close()


def store_aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def test_a_store_migrated_by_the_hand_rolled_code_is_recognised(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    make_hand_migrated(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert legacy_revision(conn, url) == "0005_events_confirms_by"
    engine.dispose()
    assert lease_of_the_sent_row(url) == LEASE_UNTIL
    assert versions(url) == [SCHEMA_REVISION]
    engine = create_engine(url)
    indexes = {i["name"] for i in inspect(engine).get_indexes("payhelp_events")}
    engine.dispose()
    assert "ix_payhelp_events_remote_addr" in indexes  # never added before Alembic
    assert_kept_and_backfilled(url, "0001_submissions")
    # Left as it is on SQLite: TIMESTAMP where a new store says DATETIME, the same affinity,
    # the same text stored and read (SQLAlchemy reads by the declared type, not the file's).
    diff = schema_diff(url)
    assert sorted((d[0][0], d[0][3], str(d[0][5])) for d in diff) == [
        ("modify_type", "confirmed_at", "TIMESTAMP"),
        ("modify_type", "lease_until", "TIMESTAMP"),
    ]


def test_the_revisions_go_down_to_nothing_and_up_again(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    make_legacy(url, "0001_submissions")
    SubmissionStore(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001_submissions")
    with engine.connect() as conn:
        assert legacy_revision(conn, url) == "0001_submissions"
        assert (
            len(conn.execute(select(text("*")).select_from(text("payhelp_submissions"))).all()) == 5
        )
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(engine).get_table_names()) == {VERSION_TABLE}
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    engine.dispose()
    assert_at_head(url)


def test_opening_a_store_at_head_never_loads_alembic(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    SubmissionStore(url).close()
    old = tmp_path / "old.db"
    make_legacy(f"sqlite:///{old}", "0002_leases")
    probe = textwrap.dedent(
        """
        import sys
        from payhelp.store import SubmissionStore
        SubmissionStore(sys.argv[1]).close()
        print(sorted({m.split(".")[0] for m in sys.modules} & {"alembic", "mako"}))
        """
    )

    def loaded(store_url: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, store_url],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return done.stdout.strip()

    assert loaded(url) == "[]"
    assert loaded(f"sqlite:///{old}") != "[]"  # one that needs migrating does load it
    assert versions(f"sqlite:///{old}") == [SCHEMA_REVISION]


def test_a_store_of_another_shape_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE payhelp_submissions (id INTEGER PRIMARY KEY, what TEXT)")
    with pytest.raises(StoreIntegrityError, match="shape no payhelp release made"):
        SubmissionStore(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"payhelp_submissions"}


def test_a_store_from_a_newer_payhelp_is_refused(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    SubmissionStore(url).close()
    with sqlite3.connect(tmp_path / "store.db") as conn:
        conn.execute(f"UPDATE {VERSION_TABLE} SET version_num = '0099_future'")
    with pytest.raises(StorageError, match=r"'0099_future'.*upgrade payhelp"):
        SubmissionStore(url)
    assert versions(url) == ["0099_future"]


def test_a_version_without_its_tables_is_refused(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    SubmissionStore(url).close()
    with sqlite3.connect(tmp_path / "store.db") as conn:
        conn.execute("DROP TABLE payhelp_events")
        conn.execute("DROP TABLE payhelp_submissions")
    with pytest.raises(StoreIntegrityError):
        SubmissionStore(url)


def test_an_in_memory_store_is_made_at_head() -> None:
    store = SubmissionStore("sqlite://")
    try:
        assert store.claim("k", "webbilling", "duplicate_charge", {}).fresh
        with store.engine.connect() as conn:
            assert [r[0] for r in conn.execute(text(f"SELECT * FROM {VERSION_TABLE}"))] == [
                SCHEMA_REVISION
            ]
    finally:
        store.close()


PROCESS_KEYS = tuple(f"k-proc-{n}" for n in range(8))


def _open_and_claim(url: str, number: int, barrier: Any) -> str:
    barrier.wait()
    store = SubmissionStore(url)
    try:
        claim = store.claim(f"k-proc-{number}", "webbilling", "duplicate_charge", {})
        assert claim.fresh
        return claim.record.idempotency_key
    finally:
        store.close()


def _in_processes(url: str, count: int = 8) -> list[str]:
    """``count`` real processes, released together, each opening the store and claiming."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(count)
        with context.Pool(count) as pool:
            pending = [pool.apply_async(_open_and_claim, (url, n, barrier)) for n in range(count)]
            return [result.get(timeout=180) for result in pending]


@pytest.mark.slow
def test_eight_processes_opening_one_old_sqlite_store_all_succeed(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    make_legacy(url, "0001_submissions")
    keys = _in_processes(url)
    assert sorted(keys) == list(PROCESS_KEYS)
    assert_at_head(url)
    assert_kept_and_backfilled(url, "0001_submissions", extra=PROCESS_KEYS)


@pytest.mark.parametrize("revision", [None, *HISTORY])
def test_the_offline_sql_upgrades_what_the_online_upgrade_does(
    tmp_path: Path, revision: str | None
) -> None:
    # `payhelp store migrate --sql` for a DBA: run as it is printed, it must leave the store
    # where opening it would, backfill included.
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    if revision is not None:
        make_legacy(url, revision)
    script = offline_sql(url)
    assert "BEGIN" in script
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.executescript(script)
    assert_at_head(url)
    if revision is not None:
        assert_kept_and_backfilled(url, revision)
    assert offline_sql(url) == ""


def test_the_schema_state_is_read_without_changing_anything(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    state = schema_state(url)
    assert (state.exists, state.current, state.at_head) == (False, None, False)
    assert not (tmp_path / "store.db").exists()
    make_legacy(url, "0003_status_index")
    state = schema_state(url)
    assert (state.exists, state.current, state.legacy) == (True, None, "0003_status_index")
    assert schema_state(url).revision == "0003_status_index"
    engine = create_engine(url)
    assert VERSION_TABLE not in inspect(engine).get_table_names()
    engine.dispose()


# -- PostgreSQL ----------------------------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty database of the test's own on the PostgreSQL server, dropped afterwards."""
    if not PG_URL:
        pytest.skip("no PostgreSQL: set PAYHELP_TEST_POSTGRES_URL (.ci/run starts one)")
    name = f"payhelp_migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_a_new_store_on_postgres_is_at_head(pg_url: str) -> None:
    SubmissionStore(pg_url).close()
    assert_at_head(pg_url)


@pytest.mark.postgres
def test_running_every_revision_on_postgres_makes_what_a_new_store_is(pg_url: str) -> None:
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    engine.dispose()
    assert_at_head(pg_url)


@pytest.mark.postgres
@pytest.mark.parametrize("revision", HISTORY)
def test_a_postgres_store_of_every_release_is_upgraded_keeping_its_rows(
    pg_url: str, revision: str
) -> None:
    make_legacy(pg_url, revision)
    SubmissionStore(pg_url).close()
    assert_at_head(pg_url)
    assert_kept_and_backfilled(pg_url, revision)


@pytest.mark.postgres
def test_a_failed_upgrade_on_postgres_changes_nothing(pg_url: str) -> None:
    # One transaction: a revision that fails leaves no half-upgraded schema and no stamp.
    make_legacy(pg_url, "0003_status_index")
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE payhelp_events (id INTEGER)"))  # in 0004's way
    engine.dispose()
    with pytest.raises(StoreIntegrityError):  # not a shape any release made
        SubmissionStore(pg_url)
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE payhelp_events"))
        conn.execute(text("CREATE INDEX ix_payhelp_events_kind ON payhelp_submissions (reason)"))
    engine.dispose()
    with pytest.raises(StorageError):  # 0004 cannot create its index of that name
        SubmissionStore(pg_url)
    engine = create_engine(pg_url)
    tables = set(inspect(engine).get_table_names())
    columns = {c["name"] for c in inspect(engine).get_columns("payhelp_submissions")}
    engine.dispose()
    assert VERSION_TABLE not in tables
    assert "payhelp_events" not in tables
    assert "reference" not in columns


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("revision", [None, "0001_submissions"])
def test_eight_processes_opening_one_postgres_store_all_succeed(
    pg_url: str, revision: str | None
) -> None:
    if revision is not None:
        make_legacy(pg_url, revision)
    keys = _in_processes(pg_url)
    assert sorted(keys) == list(PROCESS_KEYS)
    assert_at_head(pg_url)
    if revision is not None:
        assert_kept_and_backfilled(pg_url, revision, extra=PROCESS_KEYS)


@pytest.mark.postgres
@pytest.mark.parametrize("revision", [None, "0001_submissions", "0004_notifications", "hand"])
def test_the_offline_sql_on_postgres_upgrades_what_the_online_upgrade_does(
    pg_url: str, revision: str | None
) -> None:
    if revision == "hand":  # migrated by payhelp before Alembic: naive timestamps
        make_hand_migrated(pg_url)
        revision = "0001_submissions"
    elif revision is not None:
        make_legacy(pg_url, revision)
    script = offline_sql(pg_url)
    engine = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(script)
    engine.dispose()
    assert_at_head(pg_url)
    if revision is not None:
        assert_kept_and_backfilled(pg_url, revision)


@pytest.mark.postgres
def test_a_postgres_store_migrated_by_the_hand_rolled_code_gets_zoned_timestamps(
    pg_url: str,
) -> None:
    # Its lease_until and confirmed_at were TIMESTAMP WITHOUT TIME ZONE: a lease written from a
    # session in New York was kept in New York's time. Upgraded, it is the same moment.
    engine = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        database = make_url(pg_url).database
        conn.execute(text(f"ALTER DATABASE \"{database}\" SET timezone TO 'America/New_York'"))
    engine.dispose()
    make_hand_migrated(pg_url)
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        raw = conn.execute(
            text("SELECT lease_until FROM payhelp_submissions WHERE idempotency_key = 'k-sent'")
        ).scalar_one()
    engine.dispose()
    assert raw.tzinfo is None
    assert raw == LEASE_UNTIL.astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None)
    SubmissionStore(pg_url).close()
    assert_at_head(pg_url)
    assert lease_of_the_sent_row(pg_url) == LEASE_UNTIL
    assert_kept_and_backfilled(pg_url, "0001_submissions")
