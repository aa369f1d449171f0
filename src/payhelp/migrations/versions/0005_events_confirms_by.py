"""payhelp_events.confirms_by: which of an event's ids may confirm a submission.

Revision ID: 0005_events_confirms_by
Revises: 0004_notifications
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_events_confirms_by"
down_revision: str | Sequence[str] | None = "0004_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Events stored before it have none: every way of naming a submission counts for them.
    op.add_column("payhelp_events", sa.Column("confirms_by", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payhelp_events") as batch:
        batch.drop_column("confirms_by")
