"""A processor plugin still on the old contract: ``payhelp_adapter`` and ``payhelp_sandbox``
hooks, an :class:`~payhelp.adapters.ApiAdapter` subclass with its own client classes, and the API
capabilities and ``public_api`` set by hand. Deprecated, kept working for one release: payhelp
still uses it, and warns once per hook that it should move to
``register(info, directory, api=..., sandbox=...)``.

OldPay is fictional (its addresses are on ``example.com``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import httpx

from payhelp import (
    Capabilities,
    ChannelKind,
    ChannelRoute,
    Confidence,
    ContactChannel,
    ContactDirectory,
    ProcessorInfo,
    Provenance,
    Region,
    RouteStep,
    hookimpl,
)
from payhelp.adapters import ApiAdapter, RequestSpec
from payhelp.cases import (
    DisputeRequest,
    LookupQuery,
    LookupResult,
    LookupRule,
    PaymentStatus,
    SubmissionChannel,
    SubmissionReceipt,
)
from payhelp.hookspecs import RegisterProcessor
from payhelp.http import AsyncClient, SyncClient
from payhelp.models import PublicApi

BASE_URL = "https://api.oldpay.example.com/"
SOURCE = (
    Provenance(
        source="OldPay, a fictional processor made up for payhelp's conformance tests",
        confidence=Confidence.OFFICIAL,
        checked_on=date(2026, 11, 1),
    ),
)
INFO = ProcessorInfo(
    id="oldpay",
    name="OldPay",
    website="https://oldpay.example.com/",  # type: ignore[arg-type]
    regions=(Region.US,),
    capabilities=Capabilities(api_lookup=True, api_submission=True, email_submission=True),
    public_api=PublicApi(
        basis="official",
        base_url=BASE_URL,  # type: ignore[arg-type]
        reference="https://docs.oldpay.example.com/",
    ),
)
DIRECTORY = ContactDirectory(
    channels={
        "email": ContactChannel(
            kind=ChannelKind.EMAIL, value="help@oldpay.example.com", provenance=SOURCE
        )
    },
    routes=(ChannelRoute(steps=(RouteStep(channel="email", reason="Write to OldPay."),)),),
)

#: The sandbox's payments by id, and their status words.
CASES = {
    "approved": "op-1",
    "declined_insufficient_funds": "op-2",
    "refunded": "op-3",
    "chargeback": "op-4",
    "not_found": "op-404",
    "failing": "op-500",
}
_STATUS = {"op-1": "approved", "op-2": "declined", "op-3": "refunded", "op-4": "chargeback"}


class _Key:
    def authenticate(self, request: httpx.Request) -> httpx.Request:
        request.headers["X-Api-Key"] = self.credential("api_key")  # type: ignore[attr-defined]
        return request


class OldpayClient(_Key, SyncClient):
    processor = "oldpay"


class OldpayAsyncClient(_Key, AsyncClient):
    processor = "oldpay"


class OldpayAdapter(ApiAdapter):
    processor = "oldpay"
    basis = "official"
    default_base_url = BASE_URL
    credential_names = ("api_key",)
    lookup_rules = (LookupRule(fields=("transaction_id",)),)
    sync_client_class = OldpayClient
    async_client_class = OldpayAsyncClient

    def lookup_request(self, query: LookupQuery) -> RequestSpec:
        return RequestSpec("GET", f"payments/{query.transaction_id}")

    def parse_lookup(
        self, query: LookupQuery, response: httpx.Response, client: SyncClient | AsyncClient
    ) -> LookupResult:
        body: dict[str, Any] = client.parse_json(response)
        return LookupResult(
            processor=self.processor, status=PaymentStatus(body["status"]), source=self.source
        )

    def submit_request(self, request: DisputeRequest, idempotency_key: str) -> RequestSpec:
        ident = request.transaction.transaction_id
        return RequestSpec("POST", f"payments/{ident}/refund", idempotency_key=idempotency_key)

    def parse_submit(
        self,
        request: DisputeRequest,
        idempotency_key: str,
        response: httpx.Response,
        client: SyncClient | AsyncClient,
    ) -> SubmissionReceipt:
        return SubmissionReceipt(
            processor=self.processor,
            idempotency_key=idempotency_key,
            channel=SubmissionChannel.API,
            reference=str(client.parse_json(response)["id"]),
            submitted_at=datetime.now(UTC),
            detail="OldPay refunded the payment",
        )


class OldpaySandbox:
    processor = "oldpay"

    def cases(self) -> Mapping[str, str]:
        return dict(CASES)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not request.headers.get("X-Api-Key"):
            return httpx.Response(401, json={"error": "no key"})
        ident = request.url.path.strip("/").split("/")[-2 if request.method == "POST" else -1]
        if ident == CASES["failing"]:
            return httpx.Response(500, text="<html>down</html>")
        if ident not in _STATUS:
            return httpx.Response(404, json={"error": "no such payment"})
        if request.method == "POST":
            return httpx.Response(201, json={"id": f"re-{ident}"})
        return httpx.Response(200, json={"id": ident, "status": _STATUS[ident]})


@hookimpl
def payhelp_register_processors(register: RegisterProcessor) -> None:
    register(INFO, DIRECTORY)


@hookimpl
def payhelp_adapter(processor: ProcessorInfo, settings: Mapping[str, object]) -> ApiAdapter | None:
    if processor.id != "oldpay":
        return None
    return OldpayAdapter.from_settings(settings)


@hookimpl
def payhelp_sandbox(processor: ProcessorInfo) -> OldpaySandbox | None:
    return OldpaySandbox() if processor.id == "oldpay" else None
