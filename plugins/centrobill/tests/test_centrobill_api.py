"""CentroBill's API and sandbox: lookups, statuses, credits, errors and faults.

``CentroBillApi`` is driven by the core (``ApiDriver.build``, or ``Payhelp``), sync and async.
HTTP is mocked with respx (every route mocked and called); answers come from ``fixtures/``, shaped
like the payloads of CentroBill's official PHP SDK (``Centrobill/php-sdk-v1``). Sleeps between
retries are recorded (the ``sleep`` / ``async_sleep`` settings), never slept.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from payhelp_centrobill import plugin
from payhelp_centrobill.api import (
    BASE_URL,
    REFERENCE,
    REFUND_REASONS,
    STAGE_BASE_URL,
    CentroBillApi,
    WirePayment,
    payment_status,
)
from payhelp_centrobill.sandbox import CASES, DECLINES, SLOW_SECONDS, CentroBillSandbox

from payhelp import DisputeReason, DisputeRequest, LookupQuery, Payhelp, PaymentStatus, Transaction
from payhelp.adapters import SANDBOX_CREDENTIAL, ApiAdapter, ApiDriver
from payhelp.cases import PaymentKind, SubmissionChannel, SubmissionStatus
from payhelp.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from payhelp.models import IdKind, Money
from payhelp.policies.declines import DeclineReason
from payhelp.sandbox import DELAY_HEADER

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "cb-live-key-7f3a9c"
BASE = BASE_URL + "/"
PAN = "4024007179366348"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def answer(name: str, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=fixture(name), headers=headers)


def make_adapter(waits: list[float] | None = None, max_retries: int = 2) -> ApiDriver:
    """The core's driver for CentroBill's API, its waits recorded in ``waits``, never slept."""
    recorded = [] if waits is None else waits

    async def async_sleep(seconds: float) -> None:
        recorded.append(seconds)

    settings = {
        "api_key": KEY,
        "max_retries": max_retries,
        "sleep": recorded.append,
        "async_sleep": async_sleep,
    }
    made = ApiDriver.build(CentroBillApi, settings, {})
    assert made is not None
    assert isinstance(made.api, CentroBillApi)
    return made


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as mock:
        yield mock


@pytest.fixture
def adapter() -> Iterator[ApiDriver]:
    made = make_adapter()
    yield made
    asyncio.run(made.aclose())


def lookup(adapter: ApiAdapter, kind: str, **fields: Any) -> Any:
    query = LookupQuery(**fields)
    if kind == "sync":
        return adapter.lookup(query)
    return asyncio.run(adapter.alookup(query))


def submit(adapter: ApiAdapter, kind: str, request: DisputeRequest, key: str = "k1") -> Any:
    if kind == "sync":
        return adapter.submit(request, key)
    return asyncio.run(adapter.asubmit(request, key))


def dispute(transaction_id: str = "511171812", **extra: Any) -> DisputeRequest:
    return DisputeRequest(
        transaction=Transaction(transaction_id=transaction_id),
        reason=extra.pop("reason", DisputeReason.DUPLICATE_CHARGE),
        message="I was charged twice for the same month.",
        contact_email="jonny@example.com",
        **extra,
    )


KINDS = pytest.mark.parametrize("kind", ["sync", "async"])

# -- lookup paths ------------------------------------------------------------------------------


@KINDS
def test_a_transaction_id_looks_the_payment_up(
    kind: str, api: respx.MockRouter, adapter: ApiDriver
) -> None:
    route = api.get("payment/12345").mock(
        return_value=answer("payment_sale", headers={"X-Request-Id": "cb-1"})
    )
    result = lookup(adapter, kind, transaction_id="12345")
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == KEY  # the bare key, as the SDK sends it
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["X-Requested-With"] == "XMLHttpRequest"
    assert result.processor == "centrobill"
    assert result.source == "api"
    assert result.status is PaymentStatus.APPROVED
    assert result.request_id == "cb-1"
    payment, subscription = result.records
    assert payment.transaction_id == "12345"
    assert payment.kind is PaymentKind.SALE
    assert payment.amount == Money(amount=Decimal("9.99"), currency="USD")
    assert payment.descriptor == "centrohelp.com"
    assert payment.card_last4 == "6348"
    assert payment.raw_status == "sale/success (APPROVED)"
    assert payment.decline_code is None
    assert payment.references == {
        IdKind.ORDER: "235324530",
        IdKind.MEMBER: "string",
        IdKind.SUBSCRIPTION: "string",
    }
    assert subscription.status is PaymentStatus.APPROVED  # "active"


def test_a_transaction_reference_works_like_the_transaction_id(
    api: respx.MockRouter, adapter: ApiDriver
) -> None:
    api.get("payment/12345").mock(return_value=answer("payment_sale"))
    result = adapter.lookup(LookupQuery(references={IdKind.TRANSACTION: "12345"}))
    assert result.status is PaymentStatus.APPROVED


@KINDS
def test_a_subscription_id_looks_the_subscription_up(
    kind: str, api: respx.MockRouter, adapter: ApiDriver
) -> None:
    route = api.get("subscription/7012345").mock(return_value=answer("subscription_cancelled"))
    result = lookup(adapter, kind, references={"subscription": "7012345"})
    assert route.calls.last.request.headers["Authorization"] == KEY
    assert result.status is PaymentStatus.CANCELLED_SUBSCRIPTION
    (record,) = result.records
    assert record.references == {IdKind.SUBSCRIPTION: "7012345", IdKind.MEMBER: "111193024"}
    assert record.raw_status == "subscription/canceled"
    assert result.message is not None
    assert "cancel date 2026-11-21 09:30:00" in result.message


def test_an_active_subscription_is_in_good_standing(
    api: respx.MockRouter, adapter: ApiDriver
) -> None:
    api.get("subscription/string").mock(return_value=answer("subscription_active"))
    result = adapter.lookup(LookupQuery(references={IdKind.SUBSCRIPTION: "string"}))
    assert result.status is PaymentStatus.APPROVED


@KINDS
def test_a_member_id_looks_the_consumer_up_and_claims_no_status(
    kind: str, api: respx.MockRouter, adapter: ApiDriver
) -> None:
    api.get("consumer/string").mock(return_value=answer("consumer"))
    result = lookup(adapter, kind, references={"member": "string"})
    assert result.status is PaymentStatus.UNKNOWN
    assert result.records == ()
    assert result.message is not None
    assert "lists no payments" in result.message


def test_the_transaction_id_wins_over_other_references(
    api: respx.MockRouter, adapter: ApiDriver
) -> None:
    api.get("payment/12345").mock(return_value=answer("payment_sale"))
    adapter.lookup(
        LookupQuery(
            transaction_id="12345",
            references={IdKind.SUBSCRIPTION: "7012345", IdKind.MEMBER: "111193024"},
        )
    )


def test_the_subscription_wins_over_the_member(api: respx.MockRouter, adapter: ApiDriver) -> None:
    api.get("subscription/7012345").mock(return_value=answer("subscription_cancelled"))
    adapter.lookup(
        LookupQuery(references={IdKind.SUBSCRIPTION: "7012345", IdKind.MEMBER: "111193024"})
    )


def test_an_unusable_query_names_what_is_missing(adapter: ApiDriver) -> None:
    with pytest.raises(InvalidInputError) as caught:
        adapter.lookup(LookupQuery(email="a@example.com", card_last4="6348"))
    assert str(caught.value) == (
        "centrobill finds a payment by its transaction id or by its subscription id or by its "
        "member id; this query gives the card's last four digits and the email"
    )


def test_an_id_cannot_walk_the_path(api: respx.MockRouter, adapter: ApiDriver) -> None:
    route = api.get(url=BASE + "payment/..%2Fconsumer%2F1").mock(
        return_value=answer("error_not_found", 404)
    )
    with pytest.raises(NotFoundError):
        adapter.lookup(LookupQuery(transaction_id="../consumer/1"))
    assert route.call_count == 1


# -- statuses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "kind", "decline"),
    [
        ("payment_sale", PaymentStatus.APPROVED, PaymentKind.SALE, None),
        ("payment_declined", PaymentStatus.DECLINED, PaymentKind.SALE, "51"),
        ("payment_credit", PaymentStatus.REFUNDED, PaymentKind.REFUND, None),
        ("credit_response", PaymentStatus.REFUNDED, PaymentKind.REFUND, None),
        ("payment_chargeback", PaymentStatus.CHARGEBACK, PaymentKind.CHARGEBACK, None),
        (
            "payment_rebill_cancelled_subscription",
            PaymentStatus.CANCELLED_SUBSCRIPTION,
            PaymentKind.REBILL,
            None,
        ),
    ],
)
def test_every_documented_shape_gets_its_status(
    api: respx.MockRouter,
    adapter: ApiDriver,
    name: str,
    status: PaymentStatus,
    kind: PaymentKind,
    decline: str | None,
) -> None:
    api.get("payment/1").mock(return_value=answer(name))
    result = adapter.lookup(LookupQuery(transaction_id="1"))
    assert result.status is status
    assert result.records[0].kind is kind
    assert result.records[0].decline_code == decline
    assert result.records[0].card_last4 == "6348"


def test_a_rebill_of_a_cancelled_subscription_keeps_both_facts(
    api: respx.MockRouter, adapter: ApiDriver
) -> None:
    api.get("payment/511171899").mock(return_value=answer("payment_rebill_cancelled_subscription"))
    result = adapter.lookup(LookupQuery(transaction_id="511171899"))
    payment, subscription = result.records
    assert payment.status is PaymentStatus.APPROVED  # the charge itself went through
    assert subscription.status is PaymentStatus.CANCELLED_SUBSCRIPTION
    assert payment.amount == Money(amount=Decimal("29.99"), currency="EUR")


def test_a_declined_payment_carries_its_code_and_time(
    api: respx.MockRouter, adapter: ApiDriver
) -> None:
    api.get("payment/511171812").mock(return_value=answer("payment_declined"))
    (record,) = adapter.lookup(LookupQuery(transaction_id="511171812")).records
    assert record.decline_code == "51"
    assert record.raw_status == "sale/fail (Insufficient funds)"
    assert record.created_at is not None
    assert record.created_at.isoformat() == "2026-11-20T10:00:00+00:00"


@pytest.mark.parametrize(
    ("charged", "status"),
    [
        (None, PaymentStatus.REFUNDED),
        (Money(amount=Decimal("9.99"), currency="USD"), PaymentStatus.PARTIALLY_REFUNDED),
        (Money(amount=Decimal("4.99"), currency="USD"), PaymentStatus.REFUNDED),
        (Money(amount=Decimal("9.99"), currency="EUR"), PaymentStatus.REFUNDED),
    ],
)
def test_a_credit_below_the_charge_is_a_partial_refund(
    api: respx.MockRouter, adapter: ApiDriver, charged: Money | None, status: PaymentStatus
) -> None:
    api.get("payment/611171812").mock(return_value=answer("payment_credit"))
    result = adapter.lookup(LookupQuery(transaction_id="611171812", amount=charged))
    assert result.status is status
    if charged is None:
        assert result.message == (
            "CentroBill credit of 4.99 USD; give the amount that was charged to tell a full "
            "refund from a partial one."
        )
    else:
        assert result.message is None


@pytest.mark.parametrize(
    ("mode", "status", "code", "expected"),
    [
        ("sale", "success", 0, PaymentStatus.APPROVED),
        ("sale", "successful", "0", PaymentStatus.APPROVED),
        ("sale", "SUCCESS", "0000", PaymentStatus.APPROVED),
        ("sale", "success", None, PaymentStatus.APPROVED),
        ("auth", "success", 0, PaymentStatus.APPROVED),
        ("sale", "success", "05", PaymentStatus.DECLINED),  # any other code is a decline
        ("sale", "fail", "51", PaymentStatus.DECLINED),
        ("sale", "failed", None, PaymentStatus.DECLINED),
        ("sale", "declined", "14", PaymentStatus.DECLINED),
        ("sale", "refunded", 0, PaymentStatus.REFUNDED),
        ("credit", "success", 0, PaymentStatus.REFUNDED),
        ("refund", "success", 0, PaymentStatus.REFUNDED),
        ("credit", "fail", "96", PaymentStatus.DECLINED),
        ("chargeback", "success", 0, PaymentStatus.CHARGEBACK),
        ("sale", "chargeback", 0, PaymentStatus.CHARGEBACK),
        ("sale", "pending", None, PaymentStatus.PENDING),
        ("sale", "shipped", 0, PaymentStatus.PENDING),
        ("sale", "processing", "51", PaymentStatus.PENDING),
        ("sale", None, None, PaymentStatus.PENDING),
        ("sale", "", 0, PaymentStatus.PENDING),
        ("void", "success", 0, PaymentStatus.PENDING),
        (None, "success", 0, PaymentStatus.APPROVED),
    ],
)
def test_only_explicit_words_decide(
    mode: str | None, status: str | None, code: int | str | None, expected: PaymentStatus
) -> None:
    payment = WirePayment.model_validate({"mode": mode, "status": status, "code": code})
    assert payment_status(payment) is expected


def test_an_unknown_status_word_stays_pending(api: respx.MockRouter, adapter: ApiDriver) -> None:
    body = fixture("payment_sale")
    body["payment"]["status"] = "waiting_for_3ds"
    api.get("payment/12345").mock(return_value=httpx.Response(200, json=body))
    result = adapter.lookup(LookupQuery(transaction_id="12345"))
    assert result.status is PaymentStatus.PENDING
    assert result.records[0].raw_status == "sale/waiting_for_3ds (APPROVED)"


# -- card numbers --------------------------------------------------------------------------------


@KINDS
def test_a_full_card_number_never_reaches_the_result(
    kind: str, api: respx.MockRouter, adapter: ApiDriver
) -> None:
    api.get("payment/12345").mock(return_value=answer("payment_full_pan"))
    result = lookup(adapter, kind, transaction_id="12345")
    assert result.records[0].card_last4 == "6348"
    dumped = result.model_dump_json()
    assert PAN not in dumped
    assert PAN[:6] not in dumped
    assert "[card …6348]" in dumped  # the descriptor's stray number, masked


# -- submission ----------------------------------------------------------------------------------


@KINDS
def test_a_refund_posts_a_credit_with_the_reason(
    kind: str, api: respx.MockRouter, adapter: ApiDriver
) -> None:
    route = api.post("payment/511171812/credit").mock(return_value=answer("credit_response", 201))
    receipt = submit(adapter, kind, dispute(), key="idem-1")
    sent = route.calls.last.request
    assert json.loads(sent.content) == {"reason": "Duplicate charge"}
    assert sent.headers["Authorization"] == KEY
    assert "Idempotency-Key" not in sent.headers
    assert receipt.processor == "centrobill"
    assert receipt.idempotency_key == "idem-1"
    assert receipt.channel is SubmissionChannel.API
    assert receipt.status is SubmissionStatus.SENT
    assert receipt.reference == "12345"  # the credit's own transaction id
    assert receipt.processor_reason == "Duplicate charge"
    assert receipt.detail == "CentroBill credit 12345: credit/success (APPROVED)"


def test_a_partial_refund_sends_the_amount(api: respx.MockRouter, adapter: ApiDriver) -> None:
    route = api.post("payment/511171812/credit").mock(return_value=answer("credit_response", 201))
    adapter.submit(dispute(amount=Money(amount=Decimal("4.99"), currency="USD")), "idem-2")
    assert json.loads(route.calls.last.request.content) == {
        "reason": "Duplicate charge",
        "amount": 4.99,
    }


@pytest.mark.parametrize("reason", list(DisputeReason))
def test_every_reason_has_a_short_text(
    api: respx.MockRouter, adapter: ApiDriver, reason: DisputeReason
) -> None:
    route = api.post("payment/511171812/credit").mock(return_value=answer("credit_response", 201))
    receipt = adapter.submit(dispute(reason=reason), f"idem-{reason}")
    sent = json.loads(route.calls.last.request.content)["reason"]
    assert sent == REFUND_REASONS[reason] == receipt.processor_reason
    assert 0 < len(sent) <= 255


def test_a_refund_needs_the_transaction_id(adapter: ApiDriver) -> None:
    request = DisputeRequest(
        transaction=Transaction(references={IdKind.ORDER: "235324530"}),
        reason=DisputeReason.OTHER,
        message="Please refund.",
        contact_email="jonny@example.com",
    )
    with pytest.raises(InvalidInputError, match="by its transaction id"):
        adapter.submit(request, "idem-3")


def test_a_declined_credit_is_an_error_with_its_code(
    api: respx.MockRouter, adapter: ApiDriver
) -> None:
    body = fixture("credit_response")
    body["payment"] |= {"code": "96", "status": "fail", "description": "System malfunction"}
    api.post("payment/511171812/credit").mock(return_value=httpx.Response(201, json=body))
    with pytest.raises(UnprocessableEntityError) as caught:
        adapter.submit(dispute(), "idem-4")
    assert caught.value.code == "96"


def test_a_credit_answer_without_a_transaction_id_is_invalid(
    api: respx.MockRouter, adapter: ApiDriver
) -> None:
    body = fixture("credit_response")
    del body["payment"]["transactionId"]
    api.post("payment/511171812/credit").mock(return_value=httpx.Response(201, json=body))
    with pytest.raises(APIResponseValidationError, match="no transactionId"):
        adapter.submit(dispute(), "idem-5")


# -- errors --------------------------------------------------------------------------------------


@KINDS
@pytest.mark.parametrize(
    ("status", "name", "error", "message"),
    [
        (401, "error_unauthorized", AuthenticationError, "Unauthorized"),
        (403, "error_forbidden", PermissionDeniedError, "Access denied"),
        (404, "error_not_found", NotFoundError, "Payment not found"),
        (409, "error_not_found", ConflictError, "Payment not found"),
        (400, "error_already_credited", ConflictError, "already been credited"),
        (400, "error_validation", UnprocessableEntityError, "Validation failed"),
        (422, "error_bad_request", UnprocessableEntityError, "cannot be credited"),
        (400, "error_bad_request", BadRequestError, "cannot be credited"),
    ],
)
def test_error_bodies_map_to_their_class(
    kind: str,
    api: respx.MockRouter,
    adapter: ApiDriver,
    status: int,
    name: str,
    error: type[APIStatusError],
    message: str,
) -> None:
    route = api.post("payment/511171812/credit").mock(return_value=answer(name, status))
    with pytest.raises(error) as caught:
        submit(adapter, kind, dispute())
    assert type(caught.value) is error
    assert caught.value.processor == "centrobill"
    assert caught.value.status_code == status
    assert caught.value.request_id
    assert message in str(caught.value)
    assert KEY not in str(caught.value)
    assert route.call_count == 1  # a 4xx means it did not apply: never resent


@KINDS
def test_a_code_in_a_successful_body_is_an_error_with_that_code(
    kind: str, api: respx.MockRouter, adapter: ApiDriver
) -> None:
    # Defensive: CentroBill's SDK reads errors from the HTTP status, but "code != 0" means failure.
    api.post("payment/511171812/credit").mock(return_value=answer("error_code_in_body"))
    with pytest.raises(ConflictError) as caught:
        submit(adapter, kind, dispute())
    assert caught.value.code == "3"
    assert caught.value.status_code == 200


def test_a_zero_code_in_a_body_is_no_error(api: respx.MockRouter, adapter: ApiDriver) -> None:
    body = {"code": 0, **fixture("payment_sale")}
    api.get("payment/12345").mock(return_value=httpx.Response(200, json=body))
    assert adapter.lookup(LookupQuery(transaction_id="12345")).status is PaymentStatus.APPROVED


@KINDS
def test_429_with_retry_after_is_waited_then_the_lookup_succeeds(
    kind: str, api: respx.MockRouter
) -> None:
    waits: list[float] = []
    made = make_adapter(waits)
    route = api.get("payment/12345").mock(
        side_effect=[
            httpx.Response(
                429, json={"message": "Too Many Requests"}, headers={"Retry-After": "3"}
            ),
            answer("payment_sale"),
        ]
    )
    assert lookup(made, kind, transaction_id="12345").status is PaymentStatus.APPROVED
    assert route.call_count == 2
    assert waits == [3.0]
    asyncio.run(made.aclose())


def test_429_that_never_clears_is_a_rate_limit_error(api: respx.MockRouter) -> None:
    made = make_adapter([], max_retries=1)
    limited = httpx.Response(
        429, json={"message": "Too Many Requests"}, headers={"Retry-After": "1"}
    )
    route = api.get("payment/12345").mock(return_value=limited)
    with pytest.raises(RateLimitError) as caught:
        made.lookup(LookupQuery(transaction_id="12345"))
    assert caught.value.retry_after == 1.0
    assert route.call_count == 2
    made.close()


@KINDS
def test_a_credit_answered_500_is_not_resent(kind: str, api: respx.MockRouter) -> None:
    waits: list[float] = []
    made = make_adapter(waits)
    route = api.post("payment/511171812/credit").mock(
        return_value=httpx.Response(500, json={"message": "Internal Server Error", "errors": {}})
    )
    with pytest.raises(InternalServerError):
        submit(made, kind, dispute())
    assert route.call_count == 1
    assert waits == []
    asyncio.run(made.aclose())


@KINDS
@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.ReadTimeout("read timed out"), APITimeoutError),
        (httpx.ReadError("connection reset by peer"), APIConnectionError),
    ],
)
def test_a_credit_that_may_have_arrived_is_not_resent(
    kind: str, api: respx.MockRouter, failure: Exception, error: type[Exception]
) -> None:
    made = make_adapter([])
    route = api.post("payment/511171812/credit").mock(side_effect=failure)
    with pytest.raises(error):
        submit(made, kind, dispute())
    assert route.call_count == 1
    asyncio.run(made.aclose())


@KINDS
def test_a_connection_reset_on_a_lookup_is_retried(kind: str, api: respx.MockRouter) -> None:
    waits: list[float] = []
    made = make_adapter(waits)
    route = api.get("payment/12345").mock(
        side_effect=[httpx.ReadError("connection reset by peer"), answer("payment_sale")]
    )
    assert lookup(made, kind, transaction_id="12345").status is PaymentStatus.APPROVED
    assert route.call_count == 2
    assert len(waits) == 1
    asyncio.run(made.aclose())


@KINDS
@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"payment": {"code": 0, "status": "succ', "application/json"),
        (b"<html><body><h1>Maintenance</h1></body></html>", "text/html"),
        (b"", "application/json"),
        (b'["payment"]', "application/json"),
        (b'{"consumer": {"id": "1"}}', "application/json"),
        (b'{"payment": {"amount": "lots"}}', "application/json"),
        (b'{"payment": {"status": ["success"]}}', "application/json"),
    ],
)
def test_answers_that_are_not_the_documented_json_are_validation_errors(
    kind: str, api: respx.MockRouter, adapter: ApiDriver, content: bytes, content_type: str
) -> None:
    api.get("payment/12345").mock(
        return_value=httpx.Response(200, content=content, headers={"Content-Type": content_type})
    )
    with pytest.raises(APIResponseValidationError) as caught:
        lookup(adapter, kind, transaction_id="12345")
    assert caught.value.processor == "centrobill"
    assert caught.value.status_code == 200


def test_an_html_error_page_is_a_server_error_after_retries(api: respx.MockRouter) -> None:
    made = make_adapter([])
    page = httpx.Response(
        502, text="<html>Bad Gateway</html>", headers={"Content-Type": "text/html"}
    )
    route = api.get("payment/12345").mock(return_value=page)
    with pytest.raises(InternalServerError):
        made.lookup(LookupQuery(transaction_id="12345"))
    assert route.call_count == 3
    made.close()


def test_a_non_json_client_error_keeps_its_status_class(
    api: respx.MockRouter, adapter: ApiDriver
) -> None:
    api.get("payment/12345").mock(return_value=httpx.Response(404, text="<html>404</html>"))
    with pytest.raises(NotFoundError):
        adapter.lookup(LookupQuery(transaction_id="12345"))


def test_a_missing_api_key_is_named_and_no_placeholder_leaves() -> None:
    # The sandbox setting alone, with requests going to a real server: the placeholder key is for
    # the in-process sandbox only, so the missing key is named and nothing is sent.
    made = ApiDriver.build(CentroBillApi, {"sandbox": True}, {})
    assert made is not None
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        route = mock.get("payment/1").mock(return_value=answer("payment_sale"))
        with pytest.raises(InvalidInputError, match="credential 'api_key' is not configured"):
            made.lookup(LookupQuery(transaction_id="1"))
    assert route.call_count == 0
    made.close()


def test_the_sandbox_needs_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYHELP_CENTROBILL_API_KEY", raising=False)
    with Payhelp(load_plugins=["centrobill"], sandbox=True) as made:
        result = made.lookup("centrobill", transaction_id=CASES["approved"])
        assert result.status is PaymentStatus.APPROVED
        assert result.source == "sandbox"
        adapter = made.adapter("centrobill")
        assert adapter is not None
        assert adapter.settings.credentials == {"api_key": SANDBOX_CREDENTIAL}
    # Outside the sandbox the placeholder is never used: no key, no API.
    assert ApiDriver.build(CentroBillApi, {}, {}) is None


# -- async twin ----------------------------------------------------------------------------------


def test_the_async_twin_gives_the_same_answers(api: respx.MockRouter, adapter: ApiDriver) -> None:
    api.get("payment/511171812").mock(return_value=answer("payment_declined"))
    api.post("payment/511171812/credit").mock(return_value=answer("credit_response", 201))
    query = LookupQuery(transaction_id="511171812")
    sync_result = adapter.lookup(query)
    async_result = asyncio.run(adapter.alookup(query))
    assert sync_result.model_dump(exclude={"request_id"}) == async_result.model_dump(
        exclude={"request_id"}
    )
    sync_receipt = adapter.submit(dispute(), "idem-a")
    async_receipt = asyncio.run(adapter.asubmit(dispute(), "idem-a"))
    ignore = {"submitted_at"}
    assert sync_receipt.model_dump(exclude=ignore) == async_receipt.model_dump(exclude=ignore)


# -- registration and configuration ---------------------------------------------------------


def test_the_api_needs_an_api_key_or_the_sandbox() -> None:
    assert ApiDriver.build(CentroBillApi, {}, {}) is None
    configured = ApiDriver.build(CentroBillApi, {"api_key": KEY}, {})
    assert configured is not None
    assert isinstance(configured.api, CentroBillApi)
    assert configured.settings.base_url == BASE_URL
    assert KEY not in repr(configured.settings)
    stage = ApiDriver.build(CentroBillApi, {"api_key": KEY, "base_url": STAGE_BASE_URL}, {})
    assert stage is not None
    assert stage.settings.base_url == "https://stage.api.centrobill.com"


def test_the_api_key_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYHELP_CENTROBILL_API_KEY", "from-env")
    adapter = ApiDriver.build(CentroBillApi, {})
    assert adapter is not None
    assert adapter.settings.credentials == {"api_key": "from-env"}
    with Payhelp(load_plugins=["centrobill"]) as ph:
        through_payhelp = ph.adapter("centrobill")
        assert isinstance(through_payhelp, ApiDriver)
        assert through_payhelp.settings.credentials == {"api_key": "from-env"}


def test_the_api_and_sandbox_are_registered_with_the_processor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PAYHELP_CENTROBILL_API_KEY", raising=False)
    ph = Payhelp(load_plugins=["centrobill"])
    registered = ph.host.processors()["centrobill"]
    assert registered.api is CentroBillApi
    assert registered.sandbox is not None  # a factory importing the sandbox when called
    assert not hasattr(plugin, "payhelp_adapter")  # the old fan-out hooks are gone
    assert not hasattr(plugin, "payhelp_sandbox")
    assert ph.adapter("centrobill") is None  # no key: the web form instead
    assert isinstance(ph.host.sandbox(ph.processor("centrobill")), CentroBillSandbox)


def test_the_api_says_what_it_follows() -> None:
    assert CentroBillApi.basis == "official"
    assert CentroBillApi.credential_names() == ("api_key",)
    assert CentroBillApi.idempotency_header is None
    assert CentroBillApi.can_submit is True


def test_capabilities_and_public_api_come_from_the_registered_api() -> None:
    info = Payhelp(load_plugins=["centrobill"]).processor("centrobill")
    caps = info.capabilities
    assert (caps.api_lookup, caps.api_submission, caps.self_service_lookup) == (True, True, True)
    # What data.py recorded before the API was registered with it, unchanged.
    assert info.public_api is not None
    assert info.public_api.basis == "official"
    assert str(info.public_api.base_url) == "https://api.centrobill.com/"
    assert info.public_api.reference == REFERENCE == "Centrobill/php-sdk-v1"


def test_payhelp_uses_the_adapter_when_a_key_is_configured(api: respx.MockRouter) -> None:
    api.get("payment/12345").mock(return_value=answer("payment_sale"))
    with Payhelp(
        load_plugins=["centrobill"], processors={"centrobill": {"settings": {"api_key": KEY}}}
    ) as ph:
        result = ph.lookup("centrobill", transaction_id="12345")
    assert result.source == "api"
    assert result.status is PaymentStatus.APPROVED


# -- the sandbox ---------------------------------------------------------------------------------

_SUBSCRIPTION_CASES = {"subscription_cancelled", "subscription_active"}


def sandboxed(**settings: Any) -> Payhelp:
    return Payhelp(
        load_plugins=["centrobill"],
        processors={"centrobill": {"settings": {"api_key": "k", "max_retries": 0, **settings}}},
    )


@pytest.fixture(scope="module")
def ph() -> Iterator[Payhelp]:
    with sandboxed() as made:
        yield made


EXPECTED: dict[str, PaymentStatus] = {
    "approved": PaymentStatus.APPROVED,
    "rebill": PaymentStatus.APPROVED,
    "refunded": PaymentStatus.REFUNDED,
    "partially_refunded": PaymentStatus.REFUNDED,  # partial only against the charged amount
    "chargeback": PaymentStatus.CHARGEBACK,
    "cancelled_subscription": PaymentStatus.CANCELLED_SUBSCRIPTION,
} | {f"declined_{reason}": PaymentStatus.DECLINED for reason, _, _ in DECLINES}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_sandbox_payment_cases(ph: Payhelp, case: str) -> None:
    result = ph.lookup("centrobill", transaction_id=CASES[case], sandbox=True)
    assert result.status is EXPECTED[case]
    assert result.source == "sandbox"
    assert result.records[0].transaction_id == CASES[case]
    assert result.records[0].card_last4 == "6348"


@pytest.mark.parametrize(("reason", "code", "description"), DECLINES)
def test_sandbox_declines_carry_codes_payhelp_explains(
    ph: Payhelp, reason: str, code: str, description: str
) -> None:
    result = ph.lookup("centrobill", transaction_id=CASES[f"declined_{reason}"], sandbox=True)
    record = result.records[0]
    assert record.decline_code == code
    assert description in (record.raw_status or "")
    assert ph.explain_decline(code, "iso8583").reason is DeclineReason(reason)


def test_sandbox_declines_cover_every_reason_an_iso_code_can_say() -> None:
    covered = {DeclineReason(reason) for reason, _, _ in DECLINES}
    # AVS mismatch has no ISO 8583 field-39 code; "approved" and "unknown" are not declines.
    assert set(DeclineReason) - covered == {
        DeclineReason.APPROVED,
        DeclineReason.AVS_MISMATCH,
        DeclineReason.UNKNOWN,
    }


def test_sandbox_partial_refund_against_the_charged_amount(ph: Payhelp) -> None:
    result = ph.lookup(
        "centrobill",
        transaction_id=CASES["partially_refunded"],
        amount={"amount": "9.99", "currency": "USD"},
        sandbox=True,
    )
    assert result.status is PaymentStatus.PARTIALLY_REFUNDED


def test_sandbox_subscriptions_and_consumer(ph: Payhelp) -> None:
    cancelled = ph.lookup(
        "centrobill", references={"subscription": CASES["subscription_cancelled"]}, sandbox=True
    )
    assert cancelled.status is PaymentStatus.CANCELLED_SUBSCRIPTION
    active = ph.lookup(
        "centrobill", references={"subscription": CASES["subscription_active"]}, sandbox=True
    )
    assert active.status is PaymentStatus.APPROVED
    consumer = ph.lookup("centrobill", references={"member": CASES["consumer"]}, sandbox=True)
    assert consumer.status is PaymentStatus.UNKNOWN
    with pytest.raises(NotFoundError):
        ph.lookup("centrobill", references={"member": "404"}, sandbox=True)
    with pytest.raises(NotFoundError):
        ph.lookup("centrobill", references={"subscription": "404"}, sandbox=True)


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("not_found", NotFoundError),
        ("failing", InternalServerError),
        ("malformed", APIResponseValidationError),
    ],
)
def test_sandbox_fault_cases(ph: Payhelp, case: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        ph.lookup("centrobill", transaction_id=CASES[case], sandbox=True)
    assert getattr(caught.value, "processor", None) == "centrobill"


def test_sandbox_failing_is_an_html_500_and_malformed_a_cut_json() -> None:
    box = CentroBillSandbox()
    headers = {"Authorization": "k"}
    failing = box.handle(
        httpx.Request("GET", f"http://x/payment/{CASES['failing']}", headers=headers)
    )
    assert failing.status_code == 500
    assert failing.headers["Content-Type"].startswith("text/html")
    cut = box.handle(
        httpx.Request("GET", f"http://x/payment/{CASES['malformed']}", headers=headers)
    )
    assert cut.status_code == 200
    with pytest.raises(ValueError):  # noqa: PT011 - json's own error
        json.loads(cut.content)


def test_sandbox_slow_case_asks_for_a_delay() -> None:
    box = CentroBillSandbox()
    response = box.handle(
        httpx.Request("GET", f"http://x/payment/{CASES['slow']}", headers={"Authorization": "k"})
    )
    assert response.headers[DELAY_HEADER] == str(SLOW_SECONDS)
    assert response.status_code == 200


def test_sandbox_slow_case_is_slow_and_approved() -> None:
    with sandboxed() as made:
        started = time.monotonic()
        result = made.lookup("centrobill", transaction_id=CASES["slow"], sandbox=True)
        assert time.monotonic() - started >= SLOW_SECONDS
    assert result.status is PaymentStatus.APPROVED


@pytest.mark.parametrize("key", [None, "bad-key"])
def test_sandbox_refuses_a_missing_or_bad_key(key: str | None) -> None:
    box = CentroBillSandbox()
    headers = {} if key is None else {"Authorization": key}
    response = box.handle(
        httpx.Request("GET", f"http://x/payment/{CASES['approved']}", headers=headers)
    )
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized", "errors": {}}
    with sandboxed(api_key="bad-key") as made, pytest.raises(AuthenticationError):
        made.lookup("centrobill", transaction_id=CASES["approved"], sandbox=True)


def test_sandbox_credit_then_second_credit_conflicts() -> None:
    with sandboxed() as made:
        adapter = made.adapter("centrobill", sandbox=True)
        assert adapter is not None
        receipt = adapter.submit(dispute(CASES["approved"]), "idem-s1")
        assert receipt.reference == "6" + CASES["approved"][1:]
        assert receipt.processor_reason == "Duplicate charge"
        credit = made.lookup("centrobill", transaction_id=receipt.reference, sandbox=True)
        assert credit.status is PaymentStatus.REFUNDED
        assert credit.records[0].kind is PaymentKind.REFUND
        with pytest.raises(ConflictError, match="already been credited"):
            adapter.submit(dispute(CASES["approved"]), "idem-s2")


def test_sandbox_partial_credit_async() -> None:
    async def go() -> Any:
        with sandboxed() as made:
            adapter = made.adapter("centrobill", sandbox=True)
            assert adapter is not None
            request = dispute(CASES["rebill"], amount=Money(amount=Decimal("3"), currency="USD"))
            receipt = await adapter.asubmit(request, "idem-s3")
            assert receipt.reference is not None
            result = await made.alookup(
                "centrobill",
                transaction_id=receipt.reference,
                amount={"amount": "9.99", "currency": "USD"},
                sandbox=True,
            )
            await made.aclose()
            return result

    result = asyncio.run(go())
    assert result.status is PaymentStatus.PARTIALLY_REFUNDED
    assert result.records[0].amount == Money(amount=Decimal("3"), currency="USD")


@pytest.mark.parametrize(
    ("case", "extra", "error"),
    [
        ("not_found", {}, NotFoundError),
        ("declined_insufficient_funds", {}, BadRequestError),
        ("refunded", {}, BadRequestError),
        (
            "approved",
            {"amount": Money(amount=Decimal("10"), currency="USD")},
            UnprocessableEntityError,
        ),
        ("failing", {}, InternalServerError),
        ("malformed", {}, APIResponseValidationError),
    ],
)
def test_sandbox_credit_refusals(case: str, extra: dict[str, Any], error: type[Exception]) -> None:
    with sandboxed(max_retries=2) as made:
        adapter = made.adapter("centrobill", sandbox=True)
        assert adapter is not None
        with pytest.raises(error):
            adapter.submit(dispute(CASES[case], **extra), "idem-r")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "  "}, "reason"),
        ({"reason": "x" * 256}, "reason"),
        ({"reason": "ok", "amount": -1}, "amount"),
        ({"reason": "ok", "amount": "many"}, "amount"),
        ({"reason": "ok", "amount": True}, "amount"),
    ],
)
def test_sandbox_credit_validates_like_the_sdk(body: dict[str, Any], field: str) -> None:
    box = CentroBillSandbox()
    response = box.handle(
        httpx.Request(
            "POST",
            f"http://x/payment/{CASES['approved']}/credit",
            headers={"Authorization": "k"},
            json=body,
        )
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_sandbox_answers_unknown_routes_with_404_and_wrong_methods_with_405() -> None:
    box = CentroBillSandbox()
    headers = {"Authorization": "k"}
    assert box.handle(httpx.Request("GET", "http://x/tokenize", headers=headers)).status_code == 404
    credit = f"http://x/payment/{CASES['approved']}/credit"
    assert box.handle(httpx.Request("GET", credit, headers=headers)).status_code == 405


def test_a_float_amount_is_kept_exact_to_four_places(
    api: respx.MockRouter, adapter: ApiDriver
) -> None:
    body = fixture("payment_sale")
    body["payment"]["amount"] = 0.1 + 0.2
    api.get("payment/12345").mock(return_value=httpx.Response(200, json=body))
    (payment, _) = adapter.lookup(LookupQuery(transaction_id="12345")).records
    assert payment.amount == Money(amount=Decimal("0.3"), currency="USD")


def test_the_readme_lists_every_sandbox_id() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for case, ident in CASES.items():
        assert f"| {case} | `{ident}`" in readme, case
