"""``payhelp store migrate``: where the store's schema is, the SQL of its upgrade for a DBA,
``--check`` for a deployment, and the upgrade itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from payhelp.migrations import SCHEMA_REVISION, VERSION_TABLE

from .conftest import one_line, run

#: A store of payhelp's first release, with one row (no lease columns, no version table).
FIRST_RELEASE = [
    "CREATE TABLE payhelp_submissions (id INTEGER NOT NULL, idempotency_key VARCHAR(100) NOT "
    "NULL, processor VARCHAR(40) NOT NULL, reason VARCHAR(40) NOT NULL, status VARCHAR(20) NOT "
    "NULL, request TEXT NOT NULL, receipt TEXT, error TEXT, attempts INTEGER NOT NULL, "
    "created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL, PRIMARY KEY (id), "
    "UNIQUE (idempotency_key))",
    "CREATE INDEX ix_payhelp_submissions_processor ON payhelp_submissions (processor)",
    "INSERT INTO payhelp_submissions (idempotency_key, processor, reason, status, request, "
    "attempts, created_at, updated_at) VALUES ('k-1', 'webbilling', 'duplicate_charge', "
    '\'failed\', \'{"transaction": {"transaction_id": "TX-1"}}\', 1, '
    "'2026-11-22 10:00:00.000000', '2026-11-22 10:00:00.000000')",
]


def first_release_store(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        for statement in FIRST_RELEASE:
            conn.execute(statement)
    return f"sqlite:///{path}"


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_check_says_an_old_store_is_behind_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "store.db"
    url = first_release_store(path)
    code, out, err = run(capsys, "store", "migrate", "--store-url", url, "--check")
    assert code == 1
    assert "0001_submissions (made before payhelp recorded revisions" in out
    assert f"newest: {SCHEMA_REVISION}" in out
    assert "is not at the newest revision" in one_line(err)
    assert tables(path) == {"payhelp_submissions"}


def test_check_says_a_missing_store_is_not_at_head_and_creates_none(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "store.db"
    code, out, _ = run(capsys, "store", "migrate", "--store-url", f"sqlite:///{path}", "--check")
    assert code == 1
    assert "no store yet" in out
    assert not path.exists()


def test_migrate_upgrades_an_old_store_then_check_passes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "store.db"
    url = first_release_store(path)
    code, out, err = run(capsys, "store", "migrate", "--store-url", url)
    assert (code, err) == (0, "")
    assert "migrated: 0001_submissions (made before" in out
    assert out.rstrip().endswith(f"-> {SCHEMA_REVISION}")
    with sqlite3.connect(path) as conn:
        assert conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall() == [
            (SCHEMA_REVISION,)
        ]
        assert conn.execute("SELECT transaction_id FROM payhelp_submissions").fetchall() == [
            ("TX-1",)
        ]
    code, out, err = run(capsys, "store", "migrate", "--store-url", url, "--check")
    assert (code, err) == (0, "")
    assert "up to date" in out
    code, out, _ = run(capsys, "store", "migrate", "--store-url", url)
    assert code == 0
    assert "nothing to do" in out


def test_sql_prints_the_upgrade_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "store.db"
    url = first_release_store(path)
    code, out, err = run(capsys, "store", "migrate", "--store-url", url, "--sql")
    assert (code, err) == (0, "")
    assert f"CREATE TABLE {VERSION_TABLE}" in out
    assert f"INSERT INTO {VERSION_TABLE} (version_num) VALUES ('0001_submissions')" in out
    assert "ALTER TABLE payhelp_submissions ADD COLUMN lease_owner VARCHAR(200);" in out
    assert "json_extract(request, '$.transaction.transaction_id')" in out
    assert f"SET version_num='{SCHEMA_REVISION}'" in out
    assert out.startswith("BEGIN;")
    assert out.rstrip().endswith("COMMIT;")
    assert tables(path) == {"payhelp_submissions"}


def test_the_store_comes_from_the_configuration(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "configured.db"
    monkeypatch.setenv("PAYHELP_STORE_URL", first_release_store(path))
    code, out, _ = run(capsys, "store", "migrate", "--check")
    assert code == 1
    assert str(path) in out
    code, out, _ = run(capsys, "store", "migrate")
    assert code == 0
    code, _, _ = run(capsys, "store", "migrate", "--check")
    assert code == 0
    # The sandbox's store beside it is another one, not made yet.
    code, out, _ = run(capsys, "store", "migrate", "--sandbox", "--check")
    assert code == 1
    assert str(tmp_path / "configured.sandbox.db") in out


def test_a_database_that_is_no_store_is_one_line_and_untouched(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "store.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE payhelp_submissions (id INTEGER PRIMARY KEY, what TEXT)")
    for extra in ((), ("--check",), ("--sql",)):
        code, _, err = run(capsys, "store", "migrate", "--store-url", f"sqlite:///{path}", *extra)
        assert code == 1
        assert "shape no payhelp release made" in one_line(err)
    assert tables(path) == {"payhelp_submissions"}


def test_an_unreachable_database_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://payhelp@127.0.0.1:9/nowhere?connect_timeout=2"
    code, _, err = run(capsys, "store", "migrate", "--store-url", url, "--check")
    assert code == 1
    assert "cannot read the submission store" in one_line(err)


def test_check_and_sql_together_are_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    code, _, err = run(capsys, "store", "migrate", "--store-url", url, "--check", "--sql")
    assert code == 2
    assert "cannot be combined" in one_line(err)
