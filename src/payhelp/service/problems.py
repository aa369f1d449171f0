"""Errors as problem details (RFC 9457): one JSON shape for every failure, named by payhelp's own
typed error.

Every answer that is not a success is ``application/problem+json`` with ``type`` (a URN naming the
error class), ``title``, ``status``, ``detail`` (the error's message, card numbers masked as in
every payhelp message) and ``error``, the class name a Python caller would catch
(``InvalidInputError``, ``UnknownProcessorError``, ``IdempotencyConflictError``...). Where it
matters, ``maybe_applied`` says whether what was asked may have reached the processor, and
``idempotency_key`` names the submission.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from payhelp import errors
from payhelp.redact import mask_card_numbers

#: The media type of a problem.
PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """A problem details object (RFC 9457)."""

    type: str = Field(examples=["urn:payhelp:problem:InvalidInputError"])
    """A URN naming the kind of problem: ``urn:payhelp:problem:`` and the error class."""
    title: str
    """A short summary of that kind."""
    status: int
    """The HTTP status."""
    detail: str
    """What went wrong here, and how to fix it."""
    error: str
    """The payhelp error class (what a Python caller catches)."""
    maybe_applied: bool | None = None
    """Whether what was asked may have taken effect at the processor (``null`` when nothing is
    sent by this call)."""
    idempotency_key: str | None = None
    """The submission the problem concerns, when there is one."""


#: (status, title) by error class, most specific first.
_STATUSES: tuple[tuple[type[BaseException], int, str], ...] = (
    (errors.IdempotencyConflictError, 409, "Idempotency key already used"),
    (errors.UnknownProcessorError, 404, "Unknown processor"),
    (errors.CardNumberError, 422, "Card number where none belongs"),
    (errors.CapabilityError, 422, "Not possible with this processor"),
    (errors.ConfigurationError, 503, "Service configuration problem"),
    (errors.InvalidInputError, 422, "Invalid input"),
    (errors.NotificationRefusedError, 403, "Notification refused"),
    (errors.StorageError, 503, "Store unavailable"),
    (errors.RateLimitError, 503, "Processor rate limit"),
    (errors.APITimeoutError, 504, "Processor timed out"),
    (errors.ProcessorAPIError, 502, "Processor error"),
    (errors.DeliveryError, 502, "Mail server error"),
    (errors.PluginError, 502, "Plugin error"),
    (errors.PayhelpError, 500, "payhelp error"),
)


def problem(
    status: int,
    title: str,
    detail: str,
    error: str,
    *,
    maybe_applied: bool | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """A problem as a JSON object."""
    return Problem(
        type=f"urn:payhelp:problem:{error}",
        title=title,
        status=status,
        detail=mask_card_numbers(detail),
        error=error,
        maybe_applied=maybe_applied,
        idempotency_key=idempotency_key,
    ).model_dump(exclude_none=True)


def from_error(exc: errors.PayhelpError) -> dict[str, Any]:
    """The problem for one of payhelp's errors."""
    status, title = next((s, t) for cls, s, t in _STATUSES if isinstance(exc, cls))
    return problem(
        status,
        title,
        exc.message,
        type(exc).__name__,
        maybe_applied=exc.maybe_applied,
        idempotency_key=exc.idempotency_key,
    )


__all__ = ["PROBLEM_JSON", "Problem", "from_error", "problem"]
