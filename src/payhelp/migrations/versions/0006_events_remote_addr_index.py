"""payhelp_events.remote_addr indexed: refusals are counted per sender address.

Stores whose events table was made before this index existed never had it added (payhelp
before Alembic created missing indexes for payhelp_submissions only).

Revision ID: 0006_events_remote_addr_index
Revises: 0005_events_confirms_by
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_events_remote_addr_index"
down_revision: str | Sequence[str] | None = "0005_events_confirms_by"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_payhelp_events_remote_addr", "payhelp_events", ["remote_addr"])


def downgrade() -> None:
    op.drop_index("ix_payhelp_events_remote_addr", table_name="payhelp_events")
