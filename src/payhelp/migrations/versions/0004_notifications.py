"""Notifications: what a notification names a submission by, what confirmed it, and
payhelp_events.

Submissions recorded before get the reference their receipt holds (a refund's own id at the
processor) and the transaction id their request names, so that a notification finds them.

Revision ID: 0004_notifications
Revises: 0003_status_index
Create Date: 2026-12-04
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0004_notifications"
down_revision: str | Sequence[str] | None = "0003_status_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Rows read and updated at a time while backfilling.
_BATCH = 1000

_submissions = sa.table(
    "payhelp_submissions",
    sa.column("id", sa.Integer()),
    sa.column("request", sa.Text()),
    sa.column("receipt", sa.Text()),
    sa.column("transaction_id", sa.String(128)),
    sa.column("reference", sa.String(200)),
)

#: The same backfill as SQL, for an offline upgrade (``payhelp store migrate --sql``).
_OFFLINE_BACKFILL = {
    "sqlite": [
        "UPDATE payhelp_submissions SET reference = CASE WHEN json_valid(receipt) THEN "
        "CASE WHEN json_type(receipt, '$.reference') = 'text' THEN "
        "NULLIF(substr(json_extract(receipt, '$.reference'), 1, 200), '') END END "
        "WHERE receipt IS NOT NULL",
        "UPDATE payhelp_submissions SET transaction_id = CASE WHEN json_valid(request) THEN "
        "CASE WHEN json_type(request, '$.transaction') = 'object' THEN "
        "CASE WHEN json_type(request, '$.transaction.transaction_id') = 'text' THEN "
        "NULLIF(substr(json_extract(request, '$.transaction.transaction_id'), 1, 128), '') "
        "END END END",
    ],
    "postgresql": [
        "UPDATE payhelp_submissions SET reference = CASE "
        "WHEN json_typeof(CAST(receipt AS json) -> 'reference') = 'string' THEN "
        "NULLIF(LEFT(CAST(receipt AS json) ->> 'reference', 200), '') END "
        "WHERE receipt IS NOT NULL",
        "UPDATE payhelp_submissions SET transaction_id = CASE "
        "WHEN json_typeof(CAST(request AS json) -> 'transaction') = 'object' "
        "AND json_typeof(CAST(request AS json) -> 'transaction' -> 'transaction_id') = 'string' "
        "THEN NULLIF(LEFT(CAST(request AS json) -> 'transaction' ->> 'transaction_id', 128), '') "
        "END",
    ],
}


def upgrade() -> None:
    # Nullable columns: plain ADD COLUMNs, which SQLite does without rebuilding the table.
    for column in (
        sa.Column("transaction_id", sa.String(128), nullable=True),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
    ):
        op.add_column("payhelp_submissions", column)
    op.create_index(
        "ix_payhelp_submissions_transaction_id", "payhelp_submissions", ["transaction_id"]
    )
    op.create_index("ix_payhelp_submissions_reference", "payhelp_submissions", ["reference"])
    op.create_table(
        "payhelp_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("processor", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(300), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(30), nullable=True),
        sa.Column("transaction_id", sa.String(128), nullable=True),
        sa.Column("related_transaction_id", sa.String(128), nullable=True),
        sa.Column("subscription_id", sa.String(128), nullable=True),
        sa.Column("test", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(30), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.Column("event", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("processor", "event_id", name="uq_payhelp_events_processor_event"),
    )
    op.create_index("ix_payhelp_events_kind", "payhelp_events", ["kind"])
    op.create_index("ix_payhelp_events_transaction_id", "payhelp_events", ["transaction_id"])
    op.create_index(
        "ix_payhelp_events_related_transaction_id", "payhelp_events", ["related_transaction_id"]
    )
    if context.is_offline_mode():
        dialect = op.get_context().dialect.name
        if dialect not in _OFFLINE_BACKFILL:
            raise NotImplementedError(
                f"no offline SQL for the backfill on {dialect}: upgrade online instead"
            )
        for statement in _OFFLINE_BACKFILL[dialect]:
            op.execute(statement)
    else:
        _backfill(op.get_bind())


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _reference(receipt: Any) -> str | None:
    found = receipt.get("reference") if isinstance(receipt, dict) else None
    return found[:200] if isinstance(found, str) and found else None


def _transaction_id(request: Any) -> str | None:
    transaction = request.get("transaction") if isinstance(request, dict) else None
    found = transaction.get("transaction_id") if isinstance(transaction, dict) else None
    return found[:128] if isinstance(found, str) and found else None


def _backfill(bind: sa.Connection) -> None:
    """Each row's reference and transaction id, from the JSON it holds; in batches by id."""
    t = _submissions.c
    change = (
        sa.update(_submissions)
        .where(t.id == sa.bindparam("row_id"))
        .values(reference=sa.bindparam("new_reference"), transaction_id=sa.bindparam("new_tx"))
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(t.id, t.request, t.receipt).where(t.id > last).order_by(t.id).limit(_BATCH)
        ).all()
        if not rows:
            return
        found = [
            {
                "row_id": number,
                "new_reference": _reference(_loads(receipt)),
                "new_tx": _transaction_id(_loads(request)),
            }
            for number, request, receipt in rows
        ]
        changed = [row for row in found if row["new_reference"] or row["new_tx"]]
        if changed:
            bind.execute(change, changed)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_payhelp_events_related_transaction_id", table_name="payhelp_events")
    op.drop_index("ix_payhelp_events_transaction_id", table_name="payhelp_events")
    op.drop_index("ix_payhelp_events_kind", table_name="payhelp_events")
    op.drop_table("payhelp_events")
    op.drop_index("ix_payhelp_submissions_reference", table_name="payhelp_submissions")
    op.drop_index("ix_payhelp_submissions_transaction_id", table_name="payhelp_submissions")
    with op.batch_alter_table("payhelp_submissions") as batch:
        batch.drop_column("confirmed_at")
        batch.drop_column("confirmed_by")
        batch.drop_column("reference")
        batch.drop_column("transaction_id")
