"""The statuses a stored submission can have, apart from the store (which loads SQLAlchemy), so
that the CLI can offer them as choices without opening or importing it."""

from __future__ import annotations

from payhelp.cases import SubmissionStatus

#: A submission claimed and not yet answered.
PENDING = "pending"
#: Every status a stored submission can have, for filters and listings.
STATUSES: tuple[str, ...] = (PENDING, *(s.value for s in SubmissionStatus))
#: The statuses of a submission that may have reached the processor and is not yet confirmed:
#: what a confirming notification may confirm, and what reconciliation looks at.
OPEN: tuple[str, ...] = (
    PENDING,
    SubmissionStatus.SENT.value,
    SubmissionStatus.IN_DOUBT.value,
    SubmissionStatus.PREPARED.value,
)

__all__ = ["OPEN", "PENDING", "STATUSES"]
