"""An imitation of SegPay's SRS web services, in the XML SRS answers, with deterministic ids.

Reports come back as the .NET DataSet SegPay's help centre samples (rows ``<Data diffgr:id=…>``
inside a diffgram); support tasks as one ``<string>`` sentence. Parameter names and paths are
matched without regard to case, as ASP.NET does. The ids, by case, are in :data:`CASES` and the
plugin's README.

- Credentials: any non-empty ``Userid``/``UserID`` and ``UserAccessKey`` are accepted, except the
  access key :data:`INVALID_ACCESS_KEY`, which gets SRS's documented ``Invalid Merchant``; a
  missing one gets ``Missing Parameter``.
- ``slow`` answers after :data:`SLOW_SECONDS` (the ``X-Sandbox-Delay`` header), ``failing`` with
  an HTML 500 page, ``malformed`` with truncated XML, for reports and refunds alike.
- Refunds succeed for every known transaction (refund eligibility is not modelled);
  cancellations succeed for active memberships only.

:meth:`SegpaySandbox.notification` builds the postback SegPay would send (a filled-in TransPost2
template, as :mod:`payhelp_segpay.notifications` reads it). SegPay's postback addresses come from
SRS, so the sandbox has none: deliver it from an address the test configures as
``postback_sources``, or check the token. The token is the merchant's own; the sandbox's carries
:data:`SANDBOX_TOKEN` in the ``token`` field, the placeholder a sandbox ``Payhelp`` configures as
``postback_token`` (pass ``token=...`` for another).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final
from xml.sax.saxutils import escape

from payhelp.adapters import SANDBOX_CREDENTIAL
from payhelp.sandbox import failing_page, iso8583_declines, reply, slow, truncated
from payhelp_segpay import PROCESSOR_ID
from payhelp_segpay.notifications import DEFAULT_TOKEN_FIELD

if TYPE_CHECKING:
    import httpx

#: The access key the sandbox refuses, to try the authentication error.
INVALID_ACCESS_KEY: Final = "invalid"
#: How long the ``slow`` case takes to answer, in seconds.
SLOW_SECONDS: Final = 2.0

_XML: Final = "text/xml; charset=utf-8"
_HEADER: Final = '<?xml version="1.0" encoding="utf-8"?>\n'
_NAMESPACE: Final = "http://tempuri.org/"
#: The fields of a report row, in the order of SegPay's sample (which ends at CancelDate in the
#: copy payhelp read; later fields are not imitated).
_FIELDS: Final = (
    "URL",
    "TransID",
    "RelatedTransID",
    "TransTime",
    "Type",
    "Source",
    "Auth",
    "TransAmount",
    "AuthCode",
    "Currency",
    "AuthCode1",
    "PurchaseID",
    "PurchType",
    "CustName",
    "CustEMail",
    "CustAddress",
    "CustCity",
    "CustState",
    "CustCountry",
    "CustPhone",
    "CustIP",
    "IPCountry",
    "Username",
    "Password",
    "PurchStatus",
    "InitialAmount",
    "RecurringAmount",
    "RecurringPeriod",
    "CancelDate",
)

#: Declines, one per normalised reason SRS can express: an ISO 8583 response code leads
#: ``AuthCode`` (the sample reads ``00-Approved CVV:M``). An AVS mismatch has no such code.
DECLINES: Final = iso8583_declines()


@dataclass(frozen=True)
class _Tx:
    trans_id: str
    purchase_id: str
    type: str = "Sale"
    source: str = "Signup"
    auth: str = "Yes"
    amount: str = "29.9500"
    auth_code: str = "00-Approved CVV:M"
    related: str = "0"
    time: str = "2026-11-20T10:00:00+00:00"
    purchase_type: str = "Recurring"
    purchase_status: str = "Active"
    cancel_date: str = ""

    def fields(self) -> dict[str, str]:
        recurring = self.purchase_type == "Recurring"
        return {
            "URL": "www.sandbox.payhelp.test",
            "TransID": self.trans_id,
            "RelatedTransID": self.related,
            "TransTime": self.time,
            "Type": self.type,
            "Source": self.source,
            "Auth": self.auth,
            "TransAmount": self.amount,
            "AuthCode": self.auth_code,
            "Currency": "USD",
            "AuthCode1": "TestTrans",
            "PurchaseID": self.purchase_id,
            "PurchType": self.purchase_type,
            "CustName": "Sandbox Customer",
            "CustEMail": "customer@example.com",
            "CustAddress": "",
            "CustCity": "",
            "CustState": "",
            "CustCountry": "United States",
            "CustPhone": "",
            "CustIP": "192.0.2.10",
            "IPCountry": "United States",
            "Username": "",
            "Password": "",
            "PurchStatus": self.purchase_status,
            "InitialAmount": "29.9500",
            "RecurringAmount": "29.9500" if recurring else "0.0000",
            "RecurringPeriod": "30" if recurring else "0",
            "CancelDate": self.cancel_date,
        }


def _catalogue() -> tuple[dict[str, str], list[_Tx]]:
    cases: dict[str, str] = {}
    txs: list[_Tx] = []

    def add(case: str | None, *rows: _Tx) -> None:
        if case is not None:
            cases[case] = rows[0].trans_id
        txs.extend(rows)

    later = "2026-11-21T09:30:00+00:00"

    def follow_up(sale: _Tx, trans_id: str, kind: str, amount: str) -> _Tx:
        """A refund or chargeback row of ``sale``: its own id, pointing back at the sale."""
        return replace(
            sale,
            trans_id=trans_id,
            type=kind,
            source="System",
            amount=amount,
            auth_code="",
            related=sale.trans_id,
            time=later,
        )

    add("approved", _Tx("700000001", "80000001"))
    refunded = _Tx("700000002", "80000002", purchase_type="One Time", purchase_status="Expired")
    add("refunded", refunded, follow_up(refunded, "700000012", "Refund", "-29.9500"))
    partial = _Tx("700000003", "80000003", purchase_type="One Time", purchase_status="Expired")
    add("partially_refunded", partial, follow_up(partial, "700000013", "Refund", "-10.0000"))
    charged_back = _Tx("700000004", "80000004", purchase_status="Expired")
    add(
        "chargeback",
        charged_back,
        follow_up(charged_back, "700000014", "Chargeback", "-29.9500"),
    )
    add(
        "cancelled_subscription",
        _Tx("700000005", "80000005", purchase_status="Canceled", cancel_date=later),
    )
    add("slow", _Tx("700000006", "80000006"))
    add("failing", _Tx("700000007", "80000007"))
    add("malformed", _Tx("700000008", "80000008"))
    cases["refund_record"] = "700000012"  # the refund itself, looked up by its own id
    for number, (reason, code, label) in enumerate(DECLINES, start=1):
        add(
            f"declined_{reason}",
            _Tx(
                f"7000001{number:02d}",
                f"800001{number:02d}",
                auth="No",
                auth_code=f"{code}-{label}",
                purchase_status="",  # SegPay documents no status for a declined signup
            ),
        )
    cases["not_found"] = "799999999"
    return cases, txs


#: The deterministic ids, by case; ``refund_record`` is the refund row of ``refunded``.
CASES, _TRANSACTIONS = _catalogue()
_SLOW: Final = frozenset({"700000006", "80000006"})
_FAILING: Final = frozenset({"700000007", "80000007"})
_MALFORMED: Final = frozenset({"700000008", "80000008"})


def _dataset(rows: list[Mapping[str, str]]) -> str:
    """A report as ASP.NET serialises a DataSet: its schema, then the rows in a diffgram."""
    columns = "".join(
        f'<xs:element name="{name}" type="xs:string" minOccurs="0" />' for name in _FIELDS
    )
    schema = (
        '<xs:schema id="NewDataSet" xmlns="" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:msdata="urn:schemas-microsoft-com:xml-msdata">'
        '<xs:element name="NewDataSet" msdata:IsDataSet="true" msdata:UseCurrentLocale="true">'
        '<xs:complexType><xs:choice minOccurs="0" maxOccurs="unbounded">'
        f'<xs:element name="Data"><xs:complexType><xs:sequence>{columns}</xs:sequence>'
        "</xs:complexType></xs:element></xs:choice></xs:complexType></xs:element></xs:schema>"
    )
    diffgram_open = (
        '<diffgr:diffgram xmlns:msdata="urn:schemas-microsoft-com:xml-msdata" '
        'xmlns:diffgr="urn:schemas-microsoft-com:xml-diffgram-v1"'
    )
    if not rows:
        body = diffgram_open + " />"
    else:
        items = []
        for order, row in enumerate(rows):
            cells = "".join(
                f"<{name}>{escape(row[name])}</{name}>" if row[name] else f"<{name} />"
                for name in _FIELDS
            )
            items.append(
                f'<Data diffgr:id="Data{order + 1}" msdata:rowOrder="{order}">{cells}</Data>'
            )
        body = (
            f'{diffgram_open}><NewDataSet xmlns="">{"".join(items)}</NewDataSet></diffgr:diffgram>'
        )
    return f'{_HEADER}<DataSet xmlns="{_NAMESPACE}">{schema}{body}</DataSet>'


def _sentence(text: str) -> httpx.Response:
    body = f'{_HEADER}<string xmlns="{_NAMESPACE}">{escape(text)}</string>'
    return reply(200, text=body, headers={"Content-Type": _XML})


#: The token the sandbox's postbacks carry unless told another: the placeholder a sandbox
#: ``Payhelp`` configures for secrets it is not given (:data:`payhelp.adapters.SANDBOX_CREDENTIAL`).
SANDBOX_TOKEN: Final = SANDBOX_CREDENTIAL
#: ``approved`` and ``trantype`` of each kind of :meth:`SegpaySandbox.notification`.
_POSTBACKS: Final = {
    "sale": ("yes", "sale"),
    "rebill": ("yes", "charge"),
    "refund": ("yes", "credit"),
    "decline": ("no", "sale"),
}


class SegpaySandbox:
    """SegPay's SRS imitated in-process (``payhelp sandbox serve`` puts it on a socket)."""

    processor = PROCESSOR_ID

    def __init__(self) -> None:
        self._by_id = {tx.trans_id: tx for tx in _TRANSACTIONS}
        self._by_purchase: dict[str, list[_Tx]] = {}
        for tx in _TRANSACTIONS:
            self._by_purchase.setdefault(tx.purchase_id, []).append(tx)

    def cases(self) -> Mapping[str, str]:
        """The deterministic transaction ids, by case."""
        return dict(CASES)

    def purchase_of(self, transaction_id: str) -> str | None:
        """The purchase id a sandbox transaction belongs to."""
        tx = self._by_id.get(transaction_id)
        return tx.purchase_id if tx is not None else None

    def notification(self, kind: str, transaction_id: str, **extra: Any) -> dict[str, Any]:
        """The postback SegPay would send for transaction ``transaction_id`` of ``kind``
        (``sale``, ``rebill``, ``refund`` or ``decline``): ``method``, ``headers``, ``query``
        and ``body``, a ``GET`` with the template's fields in the query. A sandbox transaction
        gives its purchase, related transaction, amount and time, and the ``token`` field carries
        :data:`SANDBOX_TOKEN`; ``extra`` adds or replaces
        fields (``token="..."``, ``price="5.00"``), as text. ``act`` and ``stage`` are left out:
        payhelp knows no values of theirs."""
        if kind not in _POSTBACKS:
            raise ValueError(f"kind is one of {', '.join(_POSTBACKS)}")
        approved, trantype = _POSTBACKS[kind]
        tx = self._by_id.get(transaction_id)
        query = {
            "approved": approved,
            "trantype": trantype,
            "purchaseid": tx.purchase_id if tx is not None else "0",
            "tranid": transaction_id,
            "relatedtranid": tx.related if tx is not None else "0",
            "price": (tx.amount if tx is not None else "29.9500").lstrip("-"),
            "currencycode": "USD",
            "transGUID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"segpay-sandbox:{transaction_id}")),
            "billertranstime": tx.time if tx is not None else "2026-11-20T10:00:00+00:00",
            "email": "customer@example.com",
            "username": "sandbox",
            DEFAULT_TOKEN_FIELD: SANDBOX_TOKEN,
        }
        query |= {name: str(value) for name, value in extra.items()}
        return {"method": "GET", "headers": {}, "query": query, "body": ""}

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one SRS request."""
        params = {key.lower(): value for key, value in request.url.params.items()}
        service, _, operation = request.url.path.strip("/").lower().rpartition("/")
        service = service.rsplit("/", 1)[-1]
        if not params.get("userid") or not params.get("useraccesskey"):
            return _sentence("Missing Parameter")
        if params["useraccesskey"] == INVALID_ACCESS_KEY:
            return _sentence("Invalid Merchant")
        route = (service, operation)
        if route == ("mws.asmx", "transactionbytransid"):
            return self._report(params.get("transid"), by_purchase=False)
        if route == ("mws.asmx", "transactionbypurchaseid"):
            return self._report(params.get("purchaseid"), by_purchase=True)
        if route == ("adm.asmx", "refundtransaction"):
            return self._refund(params.get("transid"))
        if route == ("adm.asmx", "cancelmembership"):
            return self._cancel(params.get("purchaseid"))
        return reply(404, text="Not Found", headers={"Content-Type": "text/plain"})

    def _special(self, key: str, answer: httpx.Response) -> httpx.Response:
        if key in _FAILING:
            return failing_page("Runtime Error")
        if key in _MALFORMED:
            return truncated(answer.content, _XML)
        if key in _SLOW:
            return slow(answer, SLOW_SECONDS)
        return answer

    def _report(self, key: str | None, *, by_purchase: bool) -> httpx.Response:
        if not key:
            return _sentence("Missing Parameter")
        if by_purchase:
            txs = self._by_purchase.get(key, [])
        else:
            found = self._by_id.get(key)
            txs = [found] if found is not None else []
        body = _dataset([tx.fields() for tx in txs])
        return self._special(key, reply(200, text=body, headers={"Content-Type": _XML}))

    def _refund(self, key: str | None) -> httpx.Response:
        if not key:
            return _sentence("Missing Parameter")
        if key not in self._by_id:
            return _sentence("TransID/MerchantID Mismatch")
        return self._special(key, _sentence("Successful"))

    def _cancel(self, key: str | None) -> httpx.Response:
        if not key:
            return _sentence("Missing Parameter")
        txs = self._by_purchase.get(key)
        if not txs:
            return _sentence("PurchaseID/MerchantID Mismatch")
        if txs[0].purchase_status != "Active" or txs[0].purchase_type != "Recurring":
            return _sentence("Subscription not active, cancel failed")
        return self._special(key, _sentence("Successful"))


__all__ = [
    "CASES",
    "DECLINES",
    "INVALID_ACCESS_KEY",
    "SANDBOX_TOKEN",
    "SLOW_SECONDS",
    "SegpaySandbox",
]
