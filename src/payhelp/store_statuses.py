"""The statuses a stored submission can have, apart from the store (which loads SQLAlchemy), so
that the CLI can offer them as choices without opening or importing it."""

from __future__ import annotations

from payhelp.cases import SubmissionStatus

#: A submission claimed and not yet answered.
PENDING = "pending"
#: Every status a stored submission can have, for filters and listings.
STATUSES: tuple[str, ...] = (PENDING, *(s.value for s in SubmissionStatus))

__all__ = ["PENDING", "STATUSES"]
