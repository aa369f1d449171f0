"""Alembic's environment for the submission store, run by :mod:`payhelp.store_migrations`.

Online, the connection comes in ``config.attributes["connection"]``, already inside the
transaction that holds the store's lock (payhelp's code opened it): the migrations join it and
never commit on their own. Offline (``payhelp store migrate --sql``), the SQL is written for the
dialect in ``config.attributes["dialect_name"]``.
"""

from __future__ import annotations

from alembic import context

from payhelp.migrations import VERSION_TABLE
from payhelp.store import metadata

config = context.config


def run_offline() -> None:
    context.configure(
        dialect_name=str(config.attributes["dialect_name"]),
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
        # One transaction around the whole script, as online (SQLite's DDL is transactional
        # too, though Alembic does not assume it).
        transactional_ddl=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "payhelp's migrations run through payhelp itself: use `payhelp store migrate`"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
