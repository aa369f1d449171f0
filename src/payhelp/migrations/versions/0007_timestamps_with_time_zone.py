"""Every timestamp with its time zone on PostgreSQL.

payhelp before Alembic added lease_until and confirmed_at to an older store as ``TIMESTAMP``,
which PostgreSQL takes for a timestamp *without* time zone: an aware time written there is
turned into the session's local time and read back as if it were UTC. Such columns become
``TIMESTAMP WITH TIME ZONE``, their values read in the session's time zone (the one they were
written in). Columns already with a time zone are left alone. On SQLite the type names differ
(``TIMESTAMP`` against ``DATETIME``) but not what is stored or how it is read: nothing to do.

Revision ID: 0007_timestamps_with_time_zone
Revises: 0006_events_remote_addr_index
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0007_timestamps_with_time_zone"
down_revision: str | Sequence[str] | None = "0006_events_remote_addr_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The timestamp columns of each table.
_TIMESTAMPS = {
    "payhelp_submissions": ("created_at", "updated_at", "lease_until", "confirmed_at"),
    "payhelp_events": ("received_at",),
}


def _using(name: str) -> str:
    return f"{name} AT TIME ZONE current_setting('TimeZone')"


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, names in _TIMESTAMPS.items():
        if context.is_offline_mode():
            # No database to ask: the script asks it, column by column.
            for name in names:
                # The names are this file's own constants.
                op.execute(
                    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM information_schema.columns "  # noqa: S608
                    f"WHERE table_schema = current_schema() AND table_name = '{table}' "
                    f"AND column_name = '{name}' "
                    "AND data_type = 'timestamp without time zone') THEN "
                    f"ALTER TABLE {table} ALTER COLUMN {name} TYPE TIMESTAMP WITH TIME ZONE "
                    f"USING {_using(name)}; END IF; END $$"
                )
            continue
        columns = sa.inspect(op.get_bind()).get_columns(table)
        for found in columns:
            if found["name"] in names and not getattr(found["type"], "timezone", True):
                op.alter_column(
                    table,
                    found["name"],
                    type_=sa.DateTime(timezone=True),
                    existing_nullable=found["nullable"],
                    postgresql_using=_using(found["name"]),
                )


def downgrade() -> None:
    # The zoned columns are what every release meant: nothing to undo.
    pass
