"""An imitation of Epoch's Customer Search API, answering the XML the integrations read.

Deterministic member ids (``search``) and transaction ids (``credit``) give each case; the table
is in the plugin README and in :meth:`EpochSandbox.cases`. Any non-empty ``auth_user`` and
``auth_pass`` are accepted except the password ``wrong``, which gets Epoch's XML error, as does a
missing credential. Like the real API, errors come back as ``Error/Response`` with HTTP 200.

The failing, truncated and slow answers are the core's sandbox kit. Epoch passes no ISO 8583
code on (a decline is a bare ``N`` in ``Ans``; its own codes are not public), so the sandbox has
one ``declined`` case instead of the kit's list of ISO 8583 declines.

:meth:`EpochSandbox.notification` builds the postback Epoch would send, as
:mod:`payhelp_epoch.notifications` reads it; deliver it from :data:`SANDBOX_SOURCE`, an address
of the default ``postback_sources``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from payhelp.sandbox import failing_page, reply, slow, truncated
from payhelp_epoch import PROCESSOR_ID
from payhelp_epoch.api import PROCESSOR_REASON_CODES
from payhelp_epoch.notifications import TEST_ANSWER

if TYPE_CHECKING:
    import httpx

#: How long the ``slow`` cases take, in seconds.
SLOW_SECONDS = 3.0
#: The password the sandbox refuses.
WRONG_PASSWORD = "wrong"  # noqa: S105 - the sandbox's documented refusal, not a secret
#: An address in the default ``postback_sources``
#: (:data:`~payhelp_epoch.notifications.DEFAULT_SOURCES`), to deliver the sandbox's postbacks from.
SANDBOX_SOURCE = "208.236.105.10"
#: The ``ans`` of each kind of :meth:`EpochSandbox.notification`.
_ANSWERS = {"sale": "Y", "decline": "N", "test": TEST_ANSWER}
_XML = "text/xml; charset=utf-8"
_SEARCH_FIELDS = ("member_id", "email", "username", "cardnum")


@dataclass(frozen=True)
class SandboxTransaction:
    """One transaction of a sandbox member."""

    trans_id: int
    trans_type: str
    date: str
    amount: str
    ans: str | None = None


@dataclass(frozen=True)
class SandboxMember:
    """A sandbox member: the case it stands for, its status and its transactions."""

    case: str
    member_id: int
    status: str | None
    transactions: tuple[SandboxTransaction, ...]
    slow: bool = False

    @property
    def email(self) -> str:
        """The member's email address: ``<case>@example.com``."""
        return f"{self.case.replace('_', '.')}@example.com"

    @property
    def username(self) -> str:
        """The member's username: the case name."""
        return self.case

    @property
    def last4(self) -> str:
        """The card's last four digits: the member id's."""
        return f"{self.member_id % 10000:04d}"


def _sale(trans_id: int, ans: str | None = "Y", trans_type: str = "I") -> SandboxTransaction:
    return SandboxTransaction(trans_id, trans_type, "2026-11-01 09:30:00", "29.95", ans)


MEMBERS: tuple[SandboxMember, ...] = (
    SandboxMember("approved", 100000001, "Active Recurring", (_sale(200000001),)),
    SandboxMember("declined", 100000002, None, (_sale(200000002, ans="N"),)),
    SandboxMember(
        "refunded",
        100000003,
        "Canceled",
        (
            _sale(200000003),
            SandboxTransaction(200000103, "C", "2026-11-03 14:00:00", "-29.95"),
        ),
    ),
    SandboxMember(
        "chargeback",
        100000004,
        "Terminated",
        (
            _sale(200000004),
            SandboxTransaction(200000104, "D", "2026-11-20 08:00:00", "-29.95"),
        ),
    ),
    SandboxMember("cancelled_subscription", 100000005, "Cancelled Recurring", (_sale(200000005),)),
    SandboxMember("pending", 100000006, "Active Trial", (_sale(200000006, None, "T"),)),
    SandboxMember("slow", 100000007, "Active Recurring", (_sale(200000007),), slow=True),
)
NOT_FOUND_MEMBER = 100000404
FAILING_MEMBER = 100000500
MALFORMED_MEMBER = 100000502
#: What the ``malformed`` case would answer whole; it is cut short (the kit's truncated answer).
_MALFORMED = SandboxMember("malformed", MALFORMED_MEMBER, "Active Recurring", (_sale(200000502),))
#: Credits of these transactions are refused: they were already credited or charged back.
SETTLED = frozenset({200000003, 200000103, 200000004, 200000104})
NOT_FOUND_TRANSACTION = 200009404
FAILING_TRANSACTION = 200000500


def _body(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def _answer(root: ET.Element, *, late: bool = False) -> httpx.Response:
    response = reply(200, headers={"Content-Type": _XML}, content=_body(root))
    return slow(response, SLOW_SECONDS) if late else response


def _error(text: str) -> httpx.Response:
    root = ET.Element("Response")
    ET.SubElement(ET.SubElement(root, "Error"), "Response").text = text
    return _answer(root)


def _record(parent: ET.Element, member: SandboxMember) -> None:
    record = ET.SubElement(parent, "Record")
    customer = ET.SubElement(record, "Customer")
    ET.SubElement(customer, "MemberId").text = str(member.member_id)
    if member.status is not None:
        ET.SubElement(customer, "Status").text = member.status
    ET.SubElement(customer, "LastTransDate").text = max(t.date for t in member.transactions)
    transactions = ET.SubElement(record, "Transactions")
    for tx in member.transactions:
        element = ET.SubElement(transactions, "Transaction")
        ET.SubElement(element, "TransID").text = str(tx.trans_id)
        ET.SubElement(element, "TransType").text = tx.trans_type
        ET.SubElement(element, "TransDate").text = tx.date
        ET.SubElement(element, "Amount").text = tx.amount
        ET.SubElement(element, "Currency").text = "USD"
        if tx.ans is not None:
            ET.SubElement(element, "Ans").text = tx.ans
        ET.SubElement(element, "CardNum").text = "XXXXXXXXXXXX" + member.last4
    if member.status is not None and member.status.startswith("Active"):
        actions = ET.SubElement(record, "AvailableActions")
        ET.SubElement(actions, "Action").text = "cancel"


class EpochSandbox:
    """Epoch's Customer Search API, in-process: ``search`` and ``credit``."""

    processor = PROCESSOR_ID

    def cases(self) -> dict[str, str]:
        """Member ids for lookups, and ``credit_…`` transaction ids for credits."""
        cases = {member.case: str(member.member_id) for member in MEMBERS}
        cases |= {
            "not_found": str(NOT_FOUND_MEMBER),
            "failing": str(FAILING_MEMBER),
            "malformed": str(MALFORMED_MEMBER),
            "credit_approved": "200000001",
            "credit_already_refunded": "200000003",
            "credit_chargeback": "200000104",
            "credit_not_approved": "200000002",
            "credit_not_found": str(NOT_FOUND_TRANSACTION),
            "credit_slow": "200000007",
            "credit_failing": str(FAILING_TRANSACTION),
        }
        return cases

    def notification(self, kind: str, transaction_id: str, **extra: Any) -> dict[str, Any]:
        """The postback Epoch would send for transaction ``transaction_id`` of ``kind``
        (``sale``, ``decline`` or ``test``, a test approval): ``method``, ``headers``, ``query``,
        ``body`` and ``remote_addr``, a ``GET`` with the fields in the query. ``member_id`` is
        the sandbox member's whose transaction it is; ``extra`` adds or replaces fields
        (``x_user="42"``, ``member_id=...``, ``ans=...``), as text."""
        if kind not in _ANSWERS:
            raise ValueError(f"kind is one of {', '.join(_ANSWERS)}")
        query = {"ans": _ANSWERS[kind], "order_id": str(transaction_id)}
        owner = next(
            (
                m
                for m in MEMBERS
                if any(str(t.trans_id) == str(transaction_id) for t in m.transactions)
            ),
            None,
        )
        if owner is not None:
            query["member_id"] = str(owner.member_id)
        query |= {name: str(value) for name, value in extra.items()}
        # ``remote_addr``: where Epoch's own would come from, for a delivery made in-process.
        return {
            "method": "GET",
            "headers": {},
            "query": query,
            "body": "",
            "remote_addr": SANDBOX_SOURCE,
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one call, whatever its path (the API has one endpoint)."""
        params = request.url.params
        user, password = params.get("auth_user", ""), params.get("auth_pass", "")
        if not user or not password or password == WRONG_PASSWORD:
            return _error("Authentication failed: invalid auth_user or auth_pass")
        action = params.get("api_action", "")
        if action == "search":
            return self._search(params)
        if action == "credit":
            return self._credit(params)
        return _error("Invalid api_action")

    def _search(self, params: httpx.QueryParams) -> httpx.Response:
        if not any(params.get(name) for name in _SEARCH_FIELDS):
            return _error("At least one of member_id, email, username or cardnum is required")
        member_id = params.get("member_id")
        trans_id = params.get("trans_id")
        for name, value in (("member_id", member_id), ("trans_id", trans_id)):
            if value is not None and not value.isdigit():
                return _error(f"Invalid {name}")
        if member_id is not None and int(member_id) == FAILING_MEMBER:
            return failing_page()
        if member_id is not None and int(member_id) == MALFORMED_MEMBER:
            root = ET.Element("Response")
            _record(root, _MALFORMED)
            return truncated(_body(root), _XML)
        found = [m for m in MEMBERS if _matches(m, params)]
        if not found:
            return _error("No records found")
        root = ET.Element("Response")
        for member in found:
            _record(root, member)
        return _answer(root, late=any(member.slow for member in found))

    def _credit(self, params: httpx.QueryParams) -> httpx.Response:
        trans_id = params.get("trans_id", "")
        if not trans_id.isdigit():
            return _error("Invalid trans_id")
        if params.get("credit_reason") not in PROCESSOR_REASON_CODES:
            return _error("Invalid credit_reason")
        number = int(trans_id)
        if number == FAILING_TRANSACTION:
            return failing_page()
        if number in SETTLED:
            return _error("Transaction already credited or charged back")
        owner = next(
            (m for m in MEMBERS if any(t.trans_id == number for t in m.transactions)), None
        )
        if owner is None:
            return _error("No records found")
        tx = next(t for t in owner.transactions if t.trans_id == number)
        if tx.ans != "Y":
            return _error("Transaction was not approved and cannot be credited")
        root = ET.Element("Response")
        ET.SubElement(ET.SubElement(root, "Credit"), "Response").text = "Success"
        return _answer(root, late=owner.slow)


def _matches(member: SandboxMember, params: httpx.QueryParams) -> bool:
    """Whether ``member`` matches every search field given (the fields are combined with AND)."""
    known = {
        "member_id": str(member.member_id),
        "email": member.email,
        "username": member.username,
        "cardnum": member.last4,
    }
    for name, value in known.items():
        given = params.get(name)
        if given and given.lower() != value.lower():
            return False
    trans_id = params.get("trans_id")
    return not trans_id or any(str(t.trans_id) == trans_id for t in member.transactions)


__all__ = ["MEMBERS", "SANDBOX_SOURCE", "EpochSandbox", "SandboxMember", "SandboxTransaction"]
