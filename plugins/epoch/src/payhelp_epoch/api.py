"""Epoch's Customer Search API: lookups (``api_action=search``) and refunds (``api_action=credit``).

Basis: **third party**. Epoch publishes no documentation of this API; what follows is what
third-party integrations send and read (the plugin README names each one):

- every call is a ``GET`` on ``https://epoch.com/services/customer_search/`` with ``auth_user``,
  ``auth_pass`` and ``api_action`` in the query string, and the action's parameters beside them;
- ``search`` takes ``member_id``, ``email``, ``username``, ``cardnum`` and ``trans_id``;
  ``credit`` takes ``trans_id`` and ``credit_reason`` (and an optional ``comment``);
- the answer is XML: ``Record/Customer/{MemberId, Status, LastTransDate}``,
  ``Record/Transactions/Transaction/TransID``, ``Record/Events/Event``,
  ``Record/AvailableActions/Action``; an action's outcome is ``<Action>/Response`` (``Success``,
  or an ``N…`` code such as ``NMYALREADYCANCELLED``); errors are ``Error/Response``.

Assumed, because no source shows them: the root element's name (any is accepted), the children
of ``Transaction`` other than ``TransID`` (``TransType`` with Epoch's DataPlus type codes,
``TransDate``, ``Amount``, ``Currency``, ``Ans`` in the postback's ``Y…``/``N…`` form and
``CardNum``), the wording of Epoch's error texts, and ``Credit/Response`` (by analogy with
``Cancel/Response``). Assumed fields are read leniently (a value that does not parse is left
out); the fields the integrations rely on (``MemberId``, ``TransID``) are checked strictly.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import ClassVar

import httpx
from pydantic import ValidationError

from payhelp.adapters import ApiAdapter, RequestSpec
from payhelp.cases import (
    DisputeReason,
    DisputeRequest,
    LookupQuery,
    LookupResult,
    LookupRule,
    PaymentKind,
    PaymentRecord,
    PaymentStatus,
    SubmissionChannel,
    SubmissionReceipt,
    SubmissionStatus,
)
from payhelp.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    CapabilityError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
)
from payhelp.http import AsyncClient, BaseClient, SyncClient, parse_retry_after
from payhelp.models import EMAIL_PATTERN, IdKind, Money
from payhelp.redact import mask_card_numbers, short_echo
from payhelp_epoch import PROCESSOR_ID

#: The production endpoint, as every integration we read has it (configurable as ``base_url``).
DEFAULT_BASE_URL = "https://epoch.com/services/customer_search/"
#: The settings (and ``PAYHELP_EPOCH_<NAME>`` variables) that hold the credentials.
CREDENTIAL_NAMES = ("auth_user", "auth_pass")

#: Epoch's credit/cancel reason codes with the meaning buonzz/epoch-csa-client gives each.
CREDIT_REASONS: dict[str, str] = {
    "bankcall": "Phone/Email Request from Issuing Bank",
    "bankltr": "Cancellation Letter Sent From Bank",
    "crdcbk": "Transaction after Chargeback",
    "dispbnus": "Dispute over Bonus sites",
    "minorxs": "Minor Accessed",
    "noaccess": "Login/Access Problems",
    "pendcbck": "Pending Chargeback",
    "wmapprvd": "Webmaster Approved",
    "cansamdy": "Cancellation After Same Day Rebill (or Reasonable Time Allotment)",
    "dupcharg": "Duplicate Charge",
    "fdlststl": "Fraud (card lost/stolen)",
    "fdnotme": 'Fraud ("I didn\'t do it" or "I don\'t recognize the transaction")',
    "prevcanc": "Previously Cancelled",
    "rsfraud": "Reseller Fraud",
    "siteprob": "Site Technical Problem",
    "trmsncon": "Terms and Conditions",
}

#: The normalised reasons as Epoch credit reasons. ``unsatisfied_show`` and ``other`` have no
#: code of their own: the credit is issued on the credential holder's (the webmaster's)
#: authority, which is what ``wmapprvd`` says (MagicMembers uses it for merchant-initiated
#: cancellations). ``fdlststl`` (lost or stolen card) has no normalised reason: a customer who
#: does not recognise a charge is ``fdnotme``.
REASON_CODES: dict[DisputeReason, str] = {
    DisputeReason.DUPLICATE_CHARGE: "dupcharg",
    DisputeReason.NOT_RECOGNISED: "fdnotme",
    DisputeReason.NOT_RECEIVED: "noaccess",
    DisputeReason.TECHNICAL_PROBLEM: "siteprob",
    DisputeReason.CANCELLED_STILL_CHARGED: "prevcanc",
    DisputeReason.UNSATISFIED_SHOW: "wmapprvd",
    DisputeReason.OTHER: "wmapprvd",
}

#: Epoch's DataPlus transaction type codes (as the MagicMembers module lists them), read from the
#: assumed ``TransType`` child: the kind of payment, and the status the type itself settles.
TRANSACTION_TYPES: dict[str, tuple[PaymentKind, PaymentStatus | None]] = {
    "C": (PaymentKind.REFUND, PaymentStatus.REFUNDED),  # credit to the customer's account
    "D": (PaymentKind.CHARGEBACK, PaymentStatus.CHARGEBACK),
    "X": (PaymentKind.OTHER, PaymentStatus.DECLINED),  # returned check
    "F": (PaymentKind.SALE, None),  # initial free trial
    "I": (PaymentKind.SALE, None),  # standard initial recurring
    "O": (PaymentKind.SALE, None),  # non-recurring
    "T": (PaymentKind.SALE, None),  # initial paid trial
    "N": (PaymentKind.REBILL, None),  # non-initial recurring
    "U": (PaymentKind.REBILL, None),  # trial conversion
    "A": (PaymentKind.OTHER, None),  # internal adjustment / rejected check: not explicit
}

#: Epoch's own error texts are not published; these words in ``Error/Response`` pick the class.
#: The first match wins, so authentication is recognised before a generic "invalid".
_ERROR_WORDS: tuple[tuple[tuple[str, ...], type[APIStatusError], int], ...] = (
    (
        ("auth", "login", "password", "credential", "unauthori", "access denied"),
        AuthenticationError,
        401,
    ),
    (
        ("not found", "no record", "no match", "no member", "no customer", "no result"),
        NotFoundError,
        404,
    ),
    (("too many", "rate limit", "throttl"), RateLimitError, 429),
    (("already",), ConflictError, 409),
    (("invalid", "missing", "required", "must be"), BadRequestError, 400),
)

#: The largest answer read; a Customer Search answer is a few kilobytes.
MAX_ANSWER_BYTES = 2 * 1024 * 1024
_EPOCH_ID = re.compile(r"^[0-9]{1,10}$")
_EMAIL = re.compile(EMAIL_PATTERN)
_CODE = re.compile(r"^[A-Z0-9_]{2,40}$")
_DECLARATIONS = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_ACTIONS = ("Credit", "Cancel")
_MAX_COMMENT = 254  # the integrations refuse 255 characters or more


# -- logs --------------------------------------------------------------------------------------

_QUERY_CREDENTIAL = re.compile(r"(\bauth_(?:user|pass)=)[^&\s\"'#]*", re.IGNORECASE)


class QueryCredentialFilter(logging.Filter):
    """Replaces the values of ``auth_user`` and ``auth_pass`` in every record it passes.

    payhelp's own log lines leave the query out, but httpx logs each request's full URL at INFO
    (``HTTP Request: GET https://…?auth_user=…&auth_pass=…``), and Epoch takes its credentials in
    the query. This filter sits on the ``httpx`` and ``httpcore`` loggers, so the values are gone
    before any handler sees the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record; never drop it."""
        message = record.getMessage()
        cleaned = _QUERY_CREDENTIAL.sub(r"\1[secret]", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def guard_http_logs() -> None:
    """Install :class:`QueryCredentialFilter` on the HTTP libraries' loggers (once)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, QueryCredentialFilter) for f in logger.filters):
            logger.addFilter(QueryCredentialFilter())


guard_http_logs()


# -- input -------------------------------------------------------------------------------------


def epoch_id(value: str, what: str) -> str:
    """An Epoch member or transaction id as the API takes it (digits, no leading zeros);
    :class:`InvalidInputError` for anything else."""
    text = value.strip()
    if not _EPOCH_ID.fullmatch(text) or int(text) == 0:
        raise InvalidInputError(
            f"epoch: the {what} is a whole number of 1 to 10 digits, not {short_echo(value)}",
            processor=PROCESSOR_ID,
        )
    return str(int(text))


def _reference(references: dict[IdKind, str], kind: IdKind) -> str | None:
    value = references.get(kind)
    return value if value else None


def search_params(query: LookupQuery) -> dict[str, str]:
    """The query string of ``api_action=search`` for ``query`` (credentials not included)."""
    params = {"api_action": "search"}
    member = _reference(query.references, IdKind.MEMBER)
    if member is not None:
        params["member_id"] = epoch_id(member, "member id")
    if query.email is not None:
        email = query.email.strip()
        if not _EMAIL.fullmatch(email):
            raise InvalidInputError(
                f"epoch: {short_echo(query.email)} is not an email address", processor=PROCESSOR_ID
            )
        params["email"] = email
    if query.username is not None:
        username = query.username.strip()
        if not username or len(username) > 254 or not username.isprintable():
            raise InvalidInputError(
                "epoch: the username must be 1 to 254 printable characters",
                processor=PROCESSOR_ID,
            )
        params["username"] = username
    if query.card_last4 is not None:
        params["cardnum"] = query.card_last4  # a string: "0042" keeps its zeros
    transaction = query.transaction_id or _reference(query.references, IdKind.TRANSACTION)
    if transaction is not None:
        params["trans_id"] = epoch_id(transaction, "transaction id")
    return params


def credit_params(request: DisputeRequest) -> dict[str, str]:
    """The query string of ``api_action=credit`` for ``request`` (credentials not included)."""
    tx = request.transaction
    transaction = tx.transaction_id or _reference(tx.references, IdKind.TRANSACTION)
    if transaction is None:
        raise InvalidInputError(
            "epoch: a credit names the Epoch transaction id (trans_id); a member id alone "
            "cannot be credited",
            processor=PROCESSOR_ID,
        )
    if request.amount is not None:
        raise CapabilityError(
            "epoch: Epoch's credit refunds a whole transaction; ask for a partial refund by "
            "email to Epoch's billing support",
            processor=PROCESSOR_ID,
        )
    params = {
        "api_action": "credit",
        "trans_id": epoch_id(transaction, "transaction id"),
        "credit_reason": REASON_CODES[DisputeReason(request.reason)],
    }
    comment = mask_card_numbers(" ".join(request.message.split()))[:_MAX_COMMENT].strip()
    if comment:
        params["comment"] = comment
    return params


# -- reading answers ---------------------------------------------------------------------------


def _untrusted_xml(body: bytes) -> ET.Element | None:
    """``body`` parsed, or ``None`` when it is not a plain XML document. Epoch's answers carry no
    DTD, so any ``<!DOCTYPE`` or ``<!ENTITY`` is refused before parsing: no entity expansion,
    internal or external, ever happens."""
    if not body or len(body) > MAX_ANSWER_BYTES or _DECLARATIONS.search(body):
        return None
    try:
        # The declarations that make XML parsing dangerous were refused above.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError:
        return None
    return None if root.tag.lower() == "html" else root


def read_xml(client: BaseClient, response: httpx.Response) -> ET.Element:
    """The answer's XML root; :class:`APIResponseValidationError` for an HTML page, a malformed
    or truncated body, or a document with a DTD."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in {"text/html", "application/xhtml+xml"}:
        raise client.invalid(response, "the answer is an HTML page, not Epoch's XML")
    root = _untrusted_xml(response.content)
    if root is None:
        raise client.invalid(response, "the answer is not well-formed XML without a DTD")
    return root


def _text(element: ET.Element | None, path: str) -> str | None:
    if element is None:
        return None
    value = element.findtext(path)
    return value.strip() if value is not None and value.strip() else None


def error_text(root: ET.Element) -> str | None:
    """Epoch's error message: ``Error/Response`` (also when ``Error`` is the root, and the
    ``ErrorResponse`` element one integration looks for)."""
    for path in ("Error/Response", "ErrorResponse", ".//ErrorResponse"):
        found = _text(root, path)
        if found is not None:
            return found
    if root.tag == "Error":
        return _text(root, "Response") or "".join(root.itertext()).strip() or "error"
    return None


def _action_outcome(root: ET.Element) -> str | None:
    for action in _ACTIONS:
        found = _text(root, f"{action}/Response")
        if found is not None:
            return found
    return None


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _money(amount: str | None, currency: str | None) -> Money | None:
    if amount is None or currency is None:
        return None
    try:
        return Money(amount=abs(Decimal(amount)), currency=currency)
    except (InvalidOperation, ValidationError):
        return None


def _last4(value: str | None) -> str | None:
    """The last four digits of whatever card text Epoch sends (masked or, should it ever, the
    full number): never more than four digits are kept."""
    digits = "".join(ch for ch in value or "" if ch.isascii() and ch.isdigit())
    return digits[-4:] if len(digits) >= 4 else None


def _cancelled(customer_status: str | None) -> bool:
    # "Canceled", "Cancelled Recurring", "Cancelled Trial", "Cancelled Preview" (MagicMembers).
    return customer_status is not None and customer_status.lower().startswith("cancel")


@dataclass(frozen=True)
class _Entry:
    record: PaymentRecord
    order: tuple[datetime, int]
    customer_status: str | None


def _order_key(when: datetime | None, trans_id: str) -> tuple[datetime, int]:
    # Epoch's time zone is not known: offsets are honoured, local times compared as they are.
    if when is None:
        moment = datetime.min
    elif when.tzinfo is not None:
        moment = when.astimezone(UTC).replace(tzinfo=None)
    else:
        moment = when
    return moment, int(trans_id)


def _transaction(
    client: BaseClient,
    response: httpx.Response,
    element: ET.Element,
    member_id: str,
    customer_status: str | None,
) -> _Entry:
    trans_id = _text(element, "TransID")
    if trans_id is None or not _EPOCH_ID.fullmatch(trans_id):
        raise client.invalid(response, "a Transaction has no whole-number TransID")
    trans_type = (_text(element, "TransType") or "").upper()
    kind, settled = TRANSACTION_TYPES.get(trans_type, (PaymentKind.OTHER, None))
    ans = _text(element, "Ans")
    decline_code = None
    if ans is not None and ans[:1].upper() == "N":
        status = PaymentStatus.DECLINED  # an explicit failure, whatever the type
        # The postback's form is "N<code>" or "N<code>|<trans id>" (MagicMembers splits at "|").
        decline_code = ans.split("|", 1)[0][1:] or None
    elif settled is not None:
        status = settled
    elif ans is not None and ans[:1].upper() == "Y":
        status = PaymentStatus.APPROVED
    else:
        status = PaymentStatus.PENDING  # not explicitly a success or a failure
    when = _when(_text(element, "TransDate"))
    record = PaymentRecord(
        transaction_id=trans_id,
        kind=kind,
        status=status,
        raw_status=ans or trans_type or None,
        amount=_money(_text(element, "Amount"), _text(element, "Currency")),
        created_at=when if when is not None and when.tzinfo is not None else None,
        card_last4=_last4(_text(element, "CardNum")),
        references={IdKind.MEMBER: member_id},
        decline_code=decline_code,
    )
    return _Entry(record, _order_key(when, trans_id), customer_status)


def _entries(
    client: BaseClient, response: httpx.Response, records: Iterable[ET.Element]
) -> tuple[list[_Entry], list[str]]:
    entries: list[_Entry] = []
    statuses: list[str] = []
    for record in records:
        customer = record.find("Customer")
        member_id = _text(customer, "MemberId")
        if member_id is None or not _EPOCH_ID.fullmatch(member_id):
            raise client.invalid(response, "a Record has no whole-number Customer/MemberId")
        status = _text(customer, "Status")
        if status is not None:
            statuses.append(status)
        entries.extend(
            _transaction(client, response, element, member_id, status)
            for element in record.iterfind("Transactions/Transaction")
        )
    entries.sort(key=lambda entry: entry.order, reverse=True)
    return entries, statuses


def overall_status(entries: list[_Entry], customer_statuses: list[str]) -> PaymentStatus:
    """The lookup's status: the newest transaction's when it is a refund, a chargeback or a
    decline; ``cancelled_subscription`` when the membership behind it is cancelled; else the
    newest transaction's (approved, or pending when nothing explicit was said)."""
    if not entries:
        cancelled = bool(customer_statuses) and all(_cancelled(s) for s in customer_statuses)
        return PaymentStatus.CANCELLED_SUBSCRIPTION if cancelled else PaymentStatus.PENDING
    newest = entries[0]
    final = {PaymentStatus.REFUNDED, PaymentStatus.CHARGEBACK, PaymentStatus.DECLINED}
    if newest.record.status in final:
        return PaymentStatus(newest.record.status)
    if _cancelled(newest.customer_status):
        return PaymentStatus.CANCELLED_SUBSCRIPTION
    return PaymentStatus(newest.record.status)


def request_id(response: httpx.Response) -> str | None:
    """Epoch's request id when it sends one, else payhelp's own ``X-Request-Id``."""
    for header in ("x-request-id", "request-id", "x-correlation-id", "cf-ray"):
        if header in response.headers:
            return str(response.headers[header])
    own = response.request.headers.get("X-Request-Id")
    return str(own) if own else None


# -- clients -----------------------------------------------------------------------------------


class _EpochClient(BaseClient):
    """What Epoch's sync and async clients share: query-string credentials and XML errors."""

    processor: ClassVar[str] = PROCESSOR_ID

    def authenticate(self, request: httpx.Request) -> httpx.Request:
        """Epoch takes the credentials as ``auth_user`` and ``auth_pass`` query parameters.
        payhelp logs URLs without their query and scrubs both values from every message."""
        request.url = request.url.copy_merge_params(
            {"auth_user": self.credential("auth_user"), "auth_pass": self.credential("auth_pass")}
        )
        return request

    def map_error(self, response: httpx.Response, request_id: str | None) -> APIStatusError | None:
        """Epoch answers errors as XML (``Error/Response``), usually with HTTP 200, and an
        action's refusal as an ``N…`` code in ``<Action>/Response``. 429 and 5xx are left to the
        HTTP status, so that retries and ``Retry-After`` work as for any processor."""
        if response.status_code == 429 or response.status_code >= 500:
            return None
        root = _untrusted_xml(response.content)
        if root is None:
            return None  # the parse step names what is wrong with the answer
        message = error_text(root)
        if message is not None:
            return self._error(message, response, request_id, code=None)
        outcome = _action_outcome(root)
        if outcome is not None and outcome.lower() != "success":
            return self._error(outcome, response, request_id, code=outcome)
        return None

    def _error(
        self, text: str, response: httpx.Response, rid: str | None, *, code: str | None
    ) -> APIStatusError:
        said = self.scrub(" ".join(text.split()))[:300]
        lowered = said.lower()
        kind: type[APIStatusError] = UnprocessableEntityError
        status = 422
        for words, error_class, error_status in _ERROR_WORDS:
            if any(word in lowered for word in words):
                kind, status = error_class, error_status
                break
        message = f"{self.processor}: Epoch answered {said!r}"
        clean_code = code if code is not None and _CODE.fullmatch(code) else None
        if kind is RateLimitError:
            return RateLimitError(
                message,
                processor=self.processor,
                request_id=rid,
                code=clean_code,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        return kind(
            message, processor=self.processor, status_code=status, request_id=rid, code=clean_code
        )

    def _may_retry_blindly(self, method: str, idempotency_key: str | None) -> bool:
        # Every Epoch call is a GET, the credit included, and the core retries GETs blindly.
        # The adapter gives an idempotency key only to requests with side effects, and Epoch
        # honours none (no idempotency header is set): such a request is never re-sent after
        # it may have reached Epoch (a timeout, a reset, a 5xx).
        if idempotency_key is not None:
            return False
        return super()._may_retry_blindly(method, idempotency_key)


class EpochClient(_EpochClient, SyncClient):
    """The blocking client for Epoch's Customer Search API."""


class EpochAsyncClient(_EpochClient, AsyncClient):
    """The async client for Epoch's Customer Search API."""


# -- the adapter -------------------------------------------------------------------------------


class EpochAdapter(ApiAdapter):
    """Lookups and credits through Epoch's Customer Search API (third-party basis)."""

    processor = PROCESSOR_ID
    basis = "third_party"
    default_base_url = DEFAULT_BASE_URL
    credential_names = CREDENTIAL_NAMES
    lookup_rules = (
        # Epoch's own purchase finder: any two of the four.
        LookupRule(fields=("member_id", "email", "username", "card_last4"), at_least=2),
        # MagicMembers searches by member id with the transaction id beside it.
        LookupRule(fields=("member_id", "transaction_id"), at_least=2),
    )
    sync_client_class = EpochClient
    async_client_class = EpochAsyncClient
    can_submit = True

    def lookup_request(self, query: LookupQuery) -> RequestSpec:
        """``GET …/customer_search/?api_action=search&member_id=…&email=…``."""
        return RequestSpec("GET", "", params=search_params(query))

    def parse_lookup(
        self, query: LookupQuery, response: httpx.Response, client: SyncClient | AsyncClient
    ) -> LookupResult:
        """The records of every ``Record`` in the answer, newest first, and their status."""
        root = read_xml(client, response)
        records = root.findall("Record")
        if not records:
            raise client.invalid(response, "the answer has neither a Record nor an Error")
        entries, statuses = _entries(client, response, records)
        message = None
        if statuses:
            message = "Epoch member status: " + ", ".join(dict.fromkeys(statuses))
        return LookupResult(
            processor=PROCESSOR_ID,
            status=overall_status(entries, statuses),
            source=self.source,
            records=tuple(entry.record for entry in entries),
            request_id=request_id(response),
            message=message,
        )

    def submit_request(self, request: DisputeRequest, idempotency_key: str) -> RequestSpec:
        """``GET …/customer_search/?api_action=credit&trans_id=…&credit_reason=…``, carrying the
        idempotency key so that the client never re-sends it blindly."""
        return RequestSpec(
            "GET", "", params=credit_params(request), idempotency_key=idempotency_key
        )

    def parse_submit(
        self,
        request: DisputeRequest,
        idempotency_key: str,
        response: httpx.Response,
        client: SyncClient | AsyncClient,
    ) -> SubmissionReceipt:
        """A receipt when Epoch answered ``Success`` (refusals were raised by the client)."""
        root = read_xml(client, response)
        if (_text(root, "Credit/Response") or "").lower() != "success":
            raise client.invalid(response, "the answer has no Credit/Response of Success")
        params = credit_params(request)
        detail = f"Epoch credited transaction {params['trans_id']} ({params['credit_reason']})"
        if request.attachments:
            detail += f"; {len(request.attachments)} attachment(s) not sent: the API takes none"
        return SubmissionReceipt(
            processor=PROCESSOR_ID,
            idempotency_key=idempotency_key,
            channel=SubmissionChannel.API,
            reference=params["trans_id"],  # Epoch's answer carries no reference of its own
            submitted_at=datetime.now(UTC),
            status=SubmissionStatus.SENT,
            detail=detail,
            processor_reason=params["credit_reason"],
        )


__all__ = [
    "CREDENTIAL_NAMES",
    "CREDIT_REASONS",
    "DEFAULT_BASE_URL",
    "REASON_CODES",
    "TRANSACTION_TYPES",
    "EpochAdapter",
    "EpochAsyncClient",
    "EpochClient",
    "QueryCredentialFilter",
    "credit_params",
    "epoch_id",
    "guard_http_logs",
    "search_params",
]
