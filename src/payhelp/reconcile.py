"""Reconciliation: for each refund or dispute request sent and not yet confirmed, find out where it
stands.

Where the processor has an API payhelp can use (credentials configured, or the sandbox), the
payment is looked up: when the processor reports it refunded, the submission is confirmed with
that answer as its evidence (stored like a notification, of identity ``lookup:<key>``, so that
asking twice confirms once). Otherwise the request is left as it is and reported: ``waiting``
while it is younger than ``due``, ``overdue`` after, with the channel to chase it through (the
first of the customer's contact plan).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from payhelp._base import Model
from payhelp.cases import LookupQuery, LookupResult, PaymentStatus, SubmissionStatus
from payhelp.channels import PlannedChannel
from payhelp.errors import PayhelpError
from payhelp.notifications import EventKind, NotificationEvent
from payhelp.redact import mask_card_numbers
from payhelp.store_statuses import OPEN

if TYPE_CHECKING:
    from payhelp.store import SubmissionRecord, SubmissionStore

#: How long a processor is given before a request counts as overdue.
DEFAULT_DUE = timedelta(days=7)
_REFUNDED = frozenset({PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED})


class Reconciled(Model):
    """Where one submission stands after reconciliation."""

    submission_id: int
    """The store's number for the submission."""
    idempotency_key: str
    """Its key."""
    processor: str
    """Where it went."""
    state: Literal["confirmed", "waiting", "overdue", "unknown"]
    """``confirmed`` (the processor's API reports the refund), ``waiting`` (younger than the
    due time), ``overdue`` (older: chase it), ``unknown`` (the lookup failed)."""
    age_days: float
    """Days since it was submitted."""
    status: str
    """The submission's status after reconciliation."""
    checked_with: Literal["api", "none"]
    """Whether the processor's API was asked."""
    processor_status: str | None = None
    """The payment's status as the API reported it."""
    detail: str | None = None
    """What the lookup said, or why it failed (card numbers masked)."""
    chase: PlannedChannel | None = None
    """Where to chase a request that is not confirmed: the first channel of the contact plan."""


def reconcile(
    store: SubmissionStore,
    records: Sequence[SubmissionRecord],
    *,
    can_look_up: Callable[[str], bool],
    look_up: Callable[[str, LookupQuery], LookupResult],
    chase: Callable[[str, SubmissionRecord], PlannedChannel | None],
    due: timedelta,
    now: datetime | None = None,
) -> list[Reconciled]:
    """Reconcile ``records`` (open submissions, newest first) against their processors."""
    moment = now or datetime.now(UTC)
    found: list[Reconciled] = []
    for record in records:
        if record.status not in OPEN:
            continue
        age = (moment - record.created_at).total_seconds() / 86400
        waiting: Literal["waiting", "overdue"] = (
            "overdue" if moment - record.created_at >= due else "waiting"
        )
        transaction = record.request.get("transaction") or {}
        transaction_id = (
            transaction.get("transaction_id") if isinstance(transaction, dict) else None
        )
        base = {
            "submission_id": record.id,
            "idempotency_key": record.idempotency_key,
            "processor": record.processor,
            "age_days": round(age, 2),
        }
        if transaction_id and can_look_up(record.processor):
            try:
                result = look_up(record.processor, LookupQuery(transaction_id=transaction_id))
            except PayhelpError as exc:
                found.append(
                    _item(
                        base,
                        state="unknown",
                        status=_status(record),
                        checked_with="api",
                        detail=mask_card_numbers(f"{type(exc).__name__}: {exc}")[:300],
                        chase=chase(record.processor, record),
                    )
                )
                continue
            if result.status in _REFUNDED:
                stored = store.record_event(
                    _evidence(record, result, moment), remote_addr=None, received_at=moment
                )
                confirmed = record.id in stored.confirmed or not stored.fresh
                found.append(
                    _item(
                        base,
                        state="confirmed" if confirmed else waiting,
                        status=SubmissionStatus.CONFIRMED.value if confirmed else _status(record),
                        checked_with="api",
                        processor_status=result.status.value,
                        detail=f"the API reports the payment {result.status.value}",
                    )
                )
                continue
            found.append(
                _item(
                    base,
                    state=waiting,
                    status=_status(record),
                    checked_with="api",
                    processor_status=result.status.value,
                    detail=f"the API reports the payment {result.status.value}",
                    chase=chase(record.processor, record) if waiting == "overdue" else None,
                )
            )
            continue
        found.append(
            _item(
                base,
                state=waiting,
                status=_status(record),
                checked_with="none",
                detail="no API to ask: wait for the processor's answer by email or notification",
                chase=chase(record.processor, record),
            )
        )
    return found


def _item(base: dict[str, object], **fields: object) -> Reconciled:
    return Reconciled.model_validate({**base, **fields}, strict=False)


def _status(record: SubmissionRecord) -> str:
    return record.status if isinstance(record.status, str) else record.status.value


def _evidence(
    record: SubmissionRecord, result: LookupResult, moment: datetime
) -> NotificationEvent:
    """The API's answer as an event confirming ``record``."""
    return NotificationEvent(
        processor=record.processor,
        event_id=f"lookup:{record.idempotency_key}",
        kind=EventKind.REFUND,
        transaction_id=None,
        subscription_id=None,
        occurred_at=moment,
        raw_status=f"lookup: {result.status.value}",
        metadata={"payhelp_key": record.idempotency_key, "source": result.source},
        payload={"request_id": result.request_id, "status": result.status.value},
    )


__all__ = ["DEFAULT_DUE", "Reconciled", "reconcile"]
