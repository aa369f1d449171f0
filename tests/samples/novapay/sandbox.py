"""NovaPay's sandbox: its wire format, with a deterministic payment id for each case, built on
payhelp's sandbox kit (ISO 8583 declines, a failing page, a truncated answer, a slow one)."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import httpx

from payhelp.sandbox import failing_page, iso8583_declines, slow, truncated

JSON = "application/json"
SLOW_SECONDS = 0.05

#: The payments, by id: status, refunds.
_PAYMENTS: dict[str, dict[str, Any]] = {
    "np_1001": {"status": "captured"},
    "np_1002": {"status": "captured", "refunds": ["19.90"]},
    "np_1003": {"status": "captured", "refunds": ["5.00"]},
    "np_1004": {"status": "disputed"},
    "np_1005": {"status": "captured"},  # answered slowly
}
_DECLINES = {
    f"np_2{index:03d}": (reason, code) for index, (reason, code, _) in enumerate(iso8583_declines())
}
CASES: dict[str, str] = {
    "approved": "np_1001",
    "refunded": "np_1002",
    "partially_refunded": "np_1003",
    "chargeback": "np_1004",
    "slow": "np_1005",
    **{f"declined_{reason}": ident for ident, (reason, _) in _DECLINES.items()},
    "not_found": "np_4040",
    "failing": "np_5000",
    "malformed": "np_5001",
}


def _json(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"Content-Type": JSON})


def _error(status: int, message: str) -> httpx.Response:
    return _json(status, {"error": {"message": message}})


class NovapaySandbox:
    """NovaPay imitated: it remembers the refunds it took, as NovaPay would."""

    processor = "novapay"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refunded: set[str] = set()

    def cases(self) -> Mapping[str, str]:
        return dict(CASES)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _error(401, "missing bearer token")
        parts = request.url.path.strip("/").split("/")
        if request.method == "POST" and parts[-1] == "refunds":
            return self._refund(json.loads(request.content or b"{}"))
        if request.method == "GET" and len(parts) >= 2 and parts[-2] == "payments":
            return self._payment(parts[-1])
        if request.method == "GET" and len(parts) >= 3 and parts[-1] == "refunds":
            return self._refunds(parts[-2])
        return _error(404, "no such endpoint")

    def _payment(self, ident: str) -> httpx.Response:
        if ident == CASES["failing"]:
            return failing_page()
        if ident == CASES["malformed"]:
            return truncated(json.dumps(self._body(CASES["approved"])).encode(), JSON)
        if ident not in _PAYMENTS and ident not in _DECLINES:
            return _error(404, f"no such payment {ident}")
        answer = _json(200, self._body(ident))
        return slow(answer, SLOW_SECONDS) if ident == CASES["slow"] else answer

    def _body(self, ident: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": ident,
            "amount": "19.90",
            "currency": "EUR",
            "created": "2026-11-02T10:00:00Z",
            "card_last4": "1111",
        }
        if ident in _DECLINES:
            return {**body, "status": "declined", "decline_code": _DECLINES[ident][1]}
        payment = _PAYMENTS[ident]
        return {**body, "status": payment["status"], "refunded": bool(payment.get("refunds"))}

    def _refunds(self, ident: str) -> httpx.Response:
        amounts = _PAYMENTS.get(ident, {}).get("refunds", [])
        data = [
            {
                "id": f"re_{ident}_{n}",
                "status": "succeeded",
                "amount": amount,
                "currency": "EUR",
                "created": "2026-11-03T10:00:00Z",
            }
            for n, amount in enumerate(amounts)
        ]
        return _json(200, {"data": data})

    def _refund(self, body: dict[str, Any]) -> httpx.Response:
        ident = str(body.get("payment", ""))
        if ident == CASES["failing"]:
            return failing_page()
        if ident not in _PAYMENTS:
            return _error(404, f"no such payment {ident}")
        with self._lock:
            if ident in self._refunded or _PAYMENTS[ident].get("refunds"):
                return _error(409, "payment already refunded")
            self._refunded.add(ident)
        return _json(201, {"id": f"re_{ident}", "status": "succeeded"})
