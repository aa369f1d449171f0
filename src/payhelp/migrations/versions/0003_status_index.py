"""payhelp_submissions.status indexed: every listing first looks for abandoned pending claims.

Revision ID: 0003_status_index
Revises: 0002_leases
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_status_index"
down_revision: str | Sequence[str] | None = "0002_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_payhelp_submissions_status", "payhelp_submissions", ["status"])


def downgrade() -> None:
    op.drop_index("ix_payhelp_submissions_status", table_name="payhelp_submissions")
