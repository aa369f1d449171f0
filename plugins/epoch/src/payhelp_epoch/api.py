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

The credit and the cancellation are ``GET`` requests with side effects:
:meth:`EpochApi.has_side_effects` says so, and the core never sends one twice after it may have
reached Epoch.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from payhelp import wire
from payhelp.adapters import Call, Operation, ProcessorApi, QueryAuth
from payhelp.cases import (
    DisputeReason,
    DisputeRequest,
    LookupQuery,
    LookupResult,
    LookupRule,
    PaymentKind,
    PaymentRecord,
    PaymentStatus,
    SubmissionReceipt,
)
from payhelp.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
)
from payhelp.models import EMAIL_PATTERN, IdKind
from payhelp.redact import mask_card_numbers, short_echo
from payhelp_epoch import PROCESSOR_ID

if TYPE_CHECKING:
    import httpx

#: The production endpoint, as every integration we read has it (configurable as ``base_url``).
BASE_URL: Final = "https://epoch.com/services/customer_search/"
#: Where the wire format was learned.
REFERENCE: Final = (
    "third-party Epoch integrations of the Customer Search API (GET with auth_user, "
    "auth_pass, api_action=search|cancel|credit; XML answers); no official public docs"
)

#: Epoch's credit/cancel reason codes with the meaning buonzz/epoch-csa-client gives each
#: (``src/Parameters/CreditCancelReason.php``).
PROCESSOR_REASON_CODES: Final[Mapping[str, str]] = {
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

#: What payhelp files a refund under: the normalised reasons as Epoch ``credit_reason`` codes.
#: ``unsatisfied_show`` and ``other`` have no code of their own: the credit is issued on the
#: credential holder's (the webmaster's) authority, which is what ``wmapprvd`` says (MagicMembers
#: uses it for merchant-initiated cancellations). ``fdlststl`` (lost or stolen card) has no
#: normalised reason: a customer who does not recognise a charge is ``fdnotme``.
REFUND_REASONS: Final[Mapping[DisputeReason, str]] = {
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
TRANSACTION_TYPES: Final[Mapping[str, tuple[PaymentKind, PaymentStatus | None]]] = {
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

#: Epoch's own error texts are not published; these words in ``Error/Response`` (or an action's
#: ``N…`` code) pick the class, the first match winning, so authentication is recognised before
#: a generic "invalid"; anything else is a refusal (422).
ERROR_PHRASES: Final = wire.Phrases(
    (
        wire.Phrase(
            ("auth", "login", "password", "credential", "unauthori", "access denied"),
            AuthenticationError,
            401,
        ),
        wire.Phrase(
            ("not found", "no record", "no match", "no member", "no customer", "no result"),
            NotFoundError,
            404,
        ),
        wire.Phrase(("too many", "rate limit", "throttl"), RateLimitError, 429),
        wire.Phrase(("already",), ConflictError, 409),
        wire.Phrase(("invalid", "missing", "required", "must be"), BadRequestError, 400),
    ),
    default=wire.Phrase((), UnprocessableEntityError, 422),
)

#: The largest answer read; a Customer Search answer is a few kilobytes.
MAX_ANSWER_BYTES: Final = 2 * 1024 * 1024
#: The ``api_action`` values that change something at Epoch (the rest are searches).
ACTIONS_WITH_SIDE_EFFECTS: Final = frozenset({"credit", "cancel"})
_EPOCH_ID = re.compile(r"^[0-9]{1,10}$")
_EMAIL = re.compile(EMAIL_PATTERN)
_CODE = re.compile(r"^[A-Z0-9_]{2,40}$")
_ACTIONS = ("Credit", "Cancel")
_MAX_COMMENT = 254  # the integrations refuse 255 characters or more


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


def _reference(references: Mapping[IdKind, str], kind: IdKind) -> str | None:
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
    params = {
        "api_action": "credit",
        "trans_id": epoch_id(transaction, "transaction id"),
        "credit_reason": REFUND_REASONS[DisputeReason(request.reason)],
    }
    comment = mask_card_numbers(" ".join(request.message.split()))[:_MAX_COMMENT].strip()
    if comment:
        params["comment"] = comment
    return params


# -- reading answers ---------------------------------------------------------------------------


def _read(api: ProcessorApi, response: httpx.Response) -> ET.Element:
    """The answer's XML root, read safely by the kit, once it is no larger than any Customer
    Search answer can be."""
    if len(response.content) > MAX_ANSWER_BYTES:
        raise api.invalid(response, f"the answer is larger than {MAX_ANSWER_BYTES} bytes")
    return wire.read_xml(api, response)


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


def _cancelled(customer_status: str | None) -> bool:
    # "Canceled", "Cancelled Recurring", "Cancelled Trial", "Cancelled Preview" (MagicMembers).
    return customer_status is not None and customer_status.lower().startswith("cancel")


@dataclass(frozen=True)
class _Entry:
    record: PaymentRecord
    order: tuple[datetime, int]
    customer_status: str | None


_NEVER = datetime.min.replace(tzinfo=UTC)


def _transaction(
    api: ProcessorApi,
    response: httpx.Response,
    element: ET.Element,
    member_id: str,
    customer_status: str | None,
) -> _Entry:
    trans_id = _text(element, "TransID")
    if trans_id is None or not _EPOCH_ID.fullmatch(trans_id):
        raise api.invalid(response, "a Transaction has no whole-number TransID")
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
    date = _text(element, "TransDate")
    # Epoch's time zone is not known: a local time is kept out of created_at, and only ordered
    # against the others as it is written (offsets honoured).
    ordered_at = wire.moment(date, naive="UTC") or _NEVER
    record = PaymentRecord(
        transaction_id=trans_id,
        kind=kind,
        status=status,
        raw_status=ans or trans_type or None,
        amount=wire.money(_text(element, "Amount"), _text(element, "Currency")),
        created_at=wire.moment(date, naive="refuse"),
        card_last4=wire.last4(_text(element, "CardNum")),
        references={IdKind.MEMBER: member_id},
        decline_code=decline_code,
    )
    return _Entry(record, (ordered_at, int(trans_id)), customer_status)


def _entries(
    api: ProcessorApi, response: httpx.Response, records: Iterable[ET.Element]
) -> tuple[list[_Entry], list[str]]:
    entries: list[_Entry] = []
    statuses: list[str] = []
    for record in records:
        customer = record.find("Customer")
        member_id = _text(customer, "MemberId")
        if member_id is None or not _EPOCH_ID.fullmatch(member_id):
            raise api.invalid(response, "a Record has no whole-number Customer/MemberId")
        status = _text(customer, "Status")
        if status is not None:
            statuses.append(status)
        entries.extend(
            _transaction(api, response, element, member_id, status)
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


# -- the API -----------------------------------------------------------------------------------


class EpochApi(ProcessorApi):
    """Lookups and credits through Epoch's Customer Search API (third-party basis)."""

    processor = PROCESSOR_ID
    basis = "third_party"
    base_url = BASE_URL
    reference = REFERENCE
    auth = QueryAuth({"auth_user": "auth_user", "auth_pass": "auth_pass"})
    lookup_rules = (
        # Epoch's own purchase finder: any two of the four.
        LookupRule(fields=("member_id", "email", "username", "card_last4"), at_least=2),
        # MagicMembers searches by member id with the transaction id beside it.
        LookupRule(fields=("member_id", "transaction_id"), at_least=2),
    )

    def has_side_effects(self, request: httpx.Request) -> bool:
        """Every Epoch call is a ``GET``; ``api_action=credit`` and ``api_action=cancel`` change
        something at Epoch, which honours no idempotency header: such a request is repeated only
        when it surely never arrived (connection refused, or a 429), never after a timeout, a
        reset or a 5xx. Searches are retried as usual."""
        action = request.url.params.get("api_action", "").strip().lower()
        return action in ACTIONS_WITH_SIDE_EFFECTS or super().has_side_effects(request)

    def error_for(self, response: httpx.Response, request_id: str | None) -> APIStatusError | None:
        """Epoch answers errors as XML (``Error/Response``), usually with HTTP 200, and an
        action's refusal as an ``N…`` code in ``<Action>/Response``. 429 and 5xx are left to the
        HTTP status, so that retries and ``Retry-After`` work as for any processor; an answer
        that is not safe XML is left to the operation, which names what is wrong with it."""
        if response.status_code == 429 or response.status_code >= 500:
            return None
        if len(response.content) > MAX_ANSWER_BYTES:
            return None
        root = wire.try_xml(response.content)
        if root is None:
            return None
        message = error_text(root)
        if message is not None:
            return ERROR_PHRASES.error(self, message, response, request_id, what="Epoch answered")
        outcome = _action_outcome(root)
        if outcome is None or outcome.lower() == "success":
            return None
        code = outcome if _CODE.fullmatch(outcome) else None
        return ERROR_PHRASES.error(
            self, outcome, response, request_id, code=code, what="Epoch answered"
        )

    def lookup(self, query: LookupQuery) -> Operation[LookupResult]:
        """``GET …/customer_search/?api_action=search&member_id=…&email=…``: the records of every
        ``Record`` in the answer, newest first, and their status."""
        response = yield Call("GET", "", params=search_params(query))
        records = _read(self, response).findall("Record")
        if not records:
            raise self.invalid(response, "the answer has neither a Record nor an Error")
        entries, statuses = _entries(self, response, records)
        message = None
        if statuses:
            message = "Epoch member status: " + ", ".join(dict.fromkeys(statuses))
        return wire.lookup_result(
            self,
            response,
            status=overall_status(entries, statuses),
            records=(entry.record for entry in entries),
            message=message,
        )

    def submit(self, request: DisputeRequest, idempotency_key: str) -> Operation[SubmissionReceipt]:
        """``GET …/customer_search/?api_action=credit&trans_id=…&credit_reason=…``; a receipt
        when Epoch answers ``Success`` (its refusals were raised by :meth:`error_for`)."""
        params = credit_params(request)
        wire.whole_transaction_only(
            self, request, "ask for a partial refund by email to Epoch's billing support"
        )
        response = yield Call("GET", "", params=params, idempotency_key=idempotency_key)
        if (_text(_read(self, response), "Credit/Response") or "").lower() != "success":
            raise self.invalid(response, "the answer has no Credit/Response of Success")
        detail = f"Epoch credited transaction {params['trans_id']} ({params['credit_reason']})"
        if request.attachments:
            detail += f"; {len(request.attachments)} attachment(s) not sent: the API takes none"
        return wire.api_receipt(
            self,
            idempotency_key,
            reference=params["trans_id"],  # Epoch's answer carries no reference of its own
            detail=detail,
            processor_reason=params["credit_reason"],
        )


__all__ = [
    "ACTIONS_WITH_SIDE_EFFECTS",
    "BASE_URL",
    "ERROR_PHRASES",
    "MAX_ANSWER_BYTES",
    "PROCESSOR_REASON_CODES",
    "REFERENCE",
    "REFUND_REASONS",
    "TRANSACTION_TYPES",
    "EpochApi",
    "credit_params",
    "epoch_id",
    "search_params",
]
