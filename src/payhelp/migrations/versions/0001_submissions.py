"""The first release: payhelp_submissions, without leases.

Revision ID: 0001_submissions
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_submissions"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payhelp_submissions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("processor", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        # Unnamed, as store.py declares it (unique=True): PostgreSQL calls it
        # payhelp_submissions_idempotency_key_key.
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index("ix_payhelp_submissions_processor", "payhelp_submissions", ["processor"])


def downgrade() -> None:
    op.drop_index("ix_payhelp_submissions_processor", table_name="payhelp_submissions")
    op.drop_table("payhelp_submissions")
