"""The one error tree every part of payhelp and every plugin raises from.

Library callers catch :class:`PayhelpError`; the CLI turns any of these into one line on stderr.
Input problems (:class:`InvalidInputError` and its children) are the caller's to fix and map to
exit code 2; the rest are environment or processor problems.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from payhelp.redact import mask_card_numbers, short_echo

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails


class PayhelpError(Exception):
    """Base of every error payhelp raises on purpose. Card numbers in the message are masked."""

    #: Whether what was asked may have taken effect at the processor or the mail server:
    #: ``True`` when it may have (do not repeat it before checking), ``False`` when it surely did
    #: not (safe to repeat), ``None`` when the operation sends nothing (routing, advice, listing).
    maybe_applied: bool | None = None
    #: The idempotency key of the submission the error concerns, when it came from one (so that
    #: ``payhelp dispute show KEY`` finds what the store recorded).
    idempotency_key: str | None = None

    def __init__(self, message: str, *, processor: str | None = None) -> None:
        message = mask_card_numbers(message)
        super().__init__(message)
        self.message = message
        #: The processor id the error concerns, when there is one.
        self.processor = processor

    def __str__(self) -> str:
        return self.message


class InvalidInputError(PayhelpError, ValueError):
    """The caller gave something payhelp cannot use; the message says what and how to fix it.
    It is raised before anything is sent, so nothing was applied."""

    maybe_applied: bool | None = False


class CardNumberError(InvalidInputError):
    """A full card number stood where only an identifier, a name or the last four digits belong.
    It is refused before anything is stored or sent; the message names the field, never the
    number."""


class IdempotencyConflictError(InvalidInputError):
    """An idempotency key already recorded for a different request (another processor,
    transaction, reason or amount) was given again. Nothing was sent: use a new key for a new
    request."""

    def __init__(self, message: str, *, processor: str | None = None, key: str) -> None:
        super().__init__(message, processor=processor)
        #: The key that was reused (safe to show: keys are validated and never hold a card).
        self.key = key


class UnknownProcessorError(InvalidInputError, LookupError):
    """No loaded plugin registers a processor with this id."""

    def __init__(self, processor: str, known: list[str]) -> None:
        choices = ", ".join(sorted(known)) or "none loaded"
        super().__init__(
            f"unknown processor {short_echo(processor)} (known: {choices})", processor=processor
        )
        self.known = sorted(known)


class ConfigurationError(InvalidInputError):
    """A configuration file or environment variable is malformed or contradicts itself (the
    caller's to fix, like any input)."""


class PluginError(PayhelpError):
    """A plugin could not be imported, registered, or broke the hook contract."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r}: {message}")
        #: The plugin's name (its entry-point name for installed plugins).
        self.plugin = plugin


class PluginLoadError(PluginError):
    """Raised in strict mode when a plugin fails to load; otherwise recorded and warned about."""


class PluginConflictError(PluginLoadError):
    """Two distributions register the same processor id. The built-in one is kept unless the
    configuration names the other; the conflict is reported by ``payhelp plugins``."""


class StorageError(PayhelpError):
    """A file or folder payhelp keeps (the submission store, the outbox, the data folder) cannot
    be read, written or trusted. An environment problem, not the caller's input: the CLI exits
    with 1. The message names the path, never its contents."""


class StoreIntegrityError(StorageError):
    """The submission store exists but is empty, damaged or not payhelp's. payhelp refuses to
    work on it (and never creates a fresh store over it), since an empty store would let an
    already-sent refund go out again."""


class SharedStateError(StorageError):
    """The Redis that workers share (``redis_url``: the rate limit's schedule, the notification
    dedupe) cannot be reached or answered wrongly. Nothing was sent: a request waits for its
    slot on the shared schedule before it goes, so it is safe to try again."""


class CapabilityError(InvalidInputError):
    """The processor (or its plugin) cannot do what was asked (no such channel, no sandbox, a
    partial refund its API cannot make); the message names the alternative. It is found before
    anything is sent, so it is the caller's request to change (exit code 2) and nothing was
    applied."""


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each invalid field and why, never echoing the rejected input (card numbers
    are masked even where a caller put one in a field name)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(
            part if isinstance(part, str) and len(part) <= 40 else short_echo(str(part), 20)
            for part in map(str, error["loc"])
        )
        if error["type"] == "missing":
            said = f"{where or 'input'} is missing"
        else:
            said = f"{where or 'input'}: {_reason(error)}"
        if said not in parts:  # the same field checked twice says it once
            parts.append(said)
    return mask_card_numbers("; ".join(parts))


#: What pydantic puts before a validator's own message, which the reader does not need.
PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


_COLLECTIONS = {"List", "Tuple", "Set", "Frozenset", "Dictionary", "Iterable", "Generator"}


def _count(number: object, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def _reason(error: ErrorDetails) -> str:
    """Why one field was refused, in plain words: a validator's own message without pydantic's
    prefix, and lengths counted in what the field holds."""
    ctx = error.get("ctx") or {}
    kind = error["type"]
    # pydantic says "items" for any length; a text (field_type "Value" or a string) has characters.
    unit = "value" if ctx.get("field_type") in _COLLECTIONS else "character"
    if kind in {"too_long", "string_too_long"}:
        actual = ctx.get("actual_length")
        return f"at most {_count(ctx.get('max_length'), unit)}" + (
            f", not {actual}" if actual is not None else ""
        )
    if kind in {"too_short", "string_too_short"}:
        return f"at least {_count(ctx.get('min_length'), unit)}"
    message = error["msg"]
    for prefix in PYDANTIC_PREFIXES:
        message = message.removeprefix(prefix)
    return message


class PluginLoadWarning(UserWarning):
    """Issued when a plugin fails to load and payhelp carries on without it."""


class ProcessorAPIError(PayhelpError):
    """A processor's API could not give an answer. Every error from the HTTP layer derives from
    this one and carries the processor id and the request id (the processor's, or payhelp's own
    ``X-Request-Id`` when the processor sent none). Secrets and card numbers are scrubbed from the
    message before it is built."""

    def __init__(self, message: str, *, processor: str, request_id: str | None = None) -> None:
        super().__init__(message, processor=processor)
        #: The id of the failed request, to quote to the processor's support.
        self.request_id = request_id
        #: Whether the request may have taken effect at the processor (a timeout after sending,
        #: a 5xx, an unreadable answer). ``False`` when it surely did not (the connection was
        #: refused, or the processor answered with a 4xx); a submission is then safe to repeat.
        self.maybe_applied = True


class APIConnectionError(ProcessorAPIError):
    """The processor could not be reached, or the connection broke before an answer came."""


class APITimeoutError(APIConnectionError):
    """No answer came within the timeout."""


class APIResponseValidationError(ProcessorAPIError):
    """An answer came but was not what the processor documents (HTML, malformed, missing
    fields)."""

    def __init__(
        self,
        message: str,
        *,
        processor: str,
        request_id: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, processor=processor, request_id=request_id)
        #: The HTTP status of the answer.
        self.status_code = status_code


class APIStatusError(ProcessorAPIError):
    """The processor answered with an error status; subclasses name the class of error."""

    def __init__(
        self,
        message: str,
        *,
        processor: str,
        status_code: int,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, processor=processor, request_id=request_id)
        #: The HTTP status (or the status the processor's own error code stands for).
        self.status_code = status_code
        self.maybe_applied = status_code not in REFUSED_STATUSES
        #: Seconds the processor asked to wait (``Retry-After``), when it said.
        self.retry_after: float | None = None
        #: The processor's own error code, when its body carried one.
        self.code = code


class BadRequestError(APIStatusError):
    """400: the processor rejected the request as malformed."""


class AuthenticationError(APIStatusError):
    """401: the credentials are missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the credentials may not do this."""


class NotFoundError(APIStatusError):
    """404: the processor has no such payment, member or subscription."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the payment's state (already refunded, say)."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is well formed but the processor will not act on it."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` says how long the processor asked to wait."""

    def __init__(
        self,
        message: str,
        *,
        processor: str,
        status_code: int = 429,
        request_id: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, processor=processor, status_code=status_code, request_id=request_id, code=code
        )
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: the processor failed."""


#: The error statuses that prove the processor refused the request without acting on it: the
#: request was malformed, unauthorised, aimed at nothing, in conflict with the payment's state,
#: or turned away by a rate limit before it was read. Every other error status - 408 (the server
#: gave up waiting, perhaps after acting), 425, any 5xx, a status payhelp does not know - leaves a
#: request *in doubt*: it may have been applied, so it is never sent again unasked.
REFUSED_STATUSES = frozenset(
    {400, 401, 403, 404, 405, 406, 409, 410, 411, 413, 414, 415, 422, 429, 431}
)

#: The class for each HTTP status payhelp distinguishes.
STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The error class for an HTTP error status."""
    if status_code >= 500:
        return InternalServerError
    return STATUS_ERRORS.get(status_code, APIStatusError)


class DeliveryError(PayhelpError):
    """An email could not be handed to the mail server (or written to the outbox)."""

    def __init__(self, message: str, *, processor: str | None = None, maybe_sent: bool) -> None:
        super().__init__(message, processor=processor)
        #: Whether the server may have accepted it before the failure.
        self.maybe_applied = maybe_sent


class NotificationRefusedError(PayhelpError):
    """A notification (postback, IPN) that payhelp will not apply: its signature, source address
    or token does not check out, it is a test delivery in live mode, it cannot be read, or the
    processor's checks are not configured. It is recorded as refused and changes nothing."""

    maybe_applied: bool | None = False

    def __init__(self, message: str, *, processor: str | None = None, reason: str) -> None:
        super().__init__(message, processor=processor)
        #: Why, as a short code: ``signature``, ``source``, ``token``, ``test_in_live``,
        #: ``malformed``, ``method``, ``unconfigured`` or ``unsupported``.
        self.reason = reason
