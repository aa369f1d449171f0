"""A pending claim's lease: who holds it and until when.

Revision ID: 0002_leases
Revises: 0001_submissions
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_leases"
down_revision: str | Sequence[str] | None = "0001_submissions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns: a plain ADD COLUMN, which SQLite does without rebuilding the table.
    op.add_column("payhelp_submissions", sa.Column("lease_owner", sa.String(200), nullable=True))
    op.add_column(
        "payhelp_submissions", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("payhelp_submissions") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
