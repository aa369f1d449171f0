"""SegPay's SRS adapter against fixtures shaped like SRS's answers (respx), and its sandbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx
from payhelp_segpay.api import REFUND_REASONS, SegpayApi
from payhelp_segpay.sandbox import CASES, DECLINES, INVALID_ACCESS_KEY, SLOW_SECONDS, SegpaySandbox

from payhelp import Payhelp
from payhelp.adapters import ApiAdapter, ApiDriver
from payhelp.cases import (
    DisputeReason,
    DisputeRequest,
    LookupQuery,
    LookupResult,
    PaymentKind,
    PaymentStatus,
    SubmissionChannel,
    SubmissionStatus,
)
from payhelp.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CapabilityError,
    ConflictError,
    InternalServerError,
    InvalidInputError,
    NotFoundError,
    ProcessorAPIError,
)
from payhelp.models import IdKind, Money, Transaction
from payhelp.sandbox import DELAY_HEADER

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://srs.segpay.com/"
USER = "srs-user-4821"
KEY = "srs-key-9c1f0e77"
BY_ID = "MWS.asmx/TransactionByTransID"
BY_PURCHASE = "MWS.asmx/TransactionByPurchaseID"
REFUND = "ADM.asmx/RefundTransaction"
CANCEL = "ADM.asmx/CancelMembership"
SALE = "139630889"
PURCHASE = "83476992"
PAN = "4111111111111111"
HTML_500 = "<!DOCTYPE html><html><body><h1>Server Error in '/' Application.</h1></body></html>"


@pytest.fixture(autouse=True)
def _no_credentials_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("USER_ID", "ACCESS_KEY", "BASE_URL"):
        monkeypatch.delenv(f"PAYHELP_SEGPAY_{name}", raising=False)


def xml(name: str, status: int = 200) -> httpx.Response:
    body = (FIXTURES / name).read_bytes()
    return httpx.Response(status, content=body, headers={"Content-Type": "text/xml; charset=utf-8"})


def html(status: int = 500) -> httpx.Response:
    return httpx.Response(status, text=HTML_500, headers={"Content-Type": "text/html"})


def make_adapter(sleeps: list[float] | None = None, **settings: object) -> ApiDriver:
    """The core's driver for SegPay's API, whose waits are recorded instead of slept."""
    waits = sleeps if sleeps is not None else []

    async def async_sleep(seconds: float) -> None:
        waits.append(seconds)

    options = {"user_id": USER, "access_key": KEY, **settings}
    adapter = ApiDriver.build(
        SegpayApi, {**options, "sleep": waits.append, "async_sleep": async_sleep}, {}
    )
    assert adapter is not None
    assert isinstance(adapter.api, SegpayApi)
    return adapter


def cancel(adapter: ApiAdapter | None, purchase_id: str, reason: str | None = None) -> None:
    """SegPay's membership cancellation, one operation run by the core's driver."""
    assert isinstance(adapter, ApiDriver)
    assert isinstance(adapter.api, SegpayApi)
    adapter.run(adapter.api.cancel_membership(purchase_id, reason))


@pytest.fixture
def srs() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as router:
        yield router


def by_id(srs: respx.MockRouter, trans_id: str = SALE) -> respx.Route:
    return srs.get(BY_ID, params={"TransID": trans_id})


def by_purchase(srs: respx.MockRouter, purchase_id: str = PURCHASE) -> respx.Route:
    return srs.get(BY_PURCHASE, params={"PurchaseID": purchase_id})


def refund_request(**fields: object) -> DisputeRequest:
    data: dict[str, object] = {
        "transaction": Transaction(processor="segpay", transaction_id=SALE),
        "reason": DisputeReason.DUPLICATE_CHARGE,
        "message": "I was charged twice for the same membership.",
        "contact_email": "jane@example.com",
        **fields,
    }
    return DisputeRequest.model_validate(data)


# -- lookups ------------------------------------------------------------------------------------


def test_lookup_by_transaction_id_reads_segpays_sample_report(srs: respx.MockRouter) -> None:
    first = by_id(srs).mock(return_value=xml("report_sample.xml"))
    history = by_purchase(srs).mock(return_value=xml("report_sample.xml"))
    result = make_adapter().lookup(LookupQuery(transaction_id=SALE))
    sent = first.calls.last.request.url.params
    assert (sent["UserID"], sent["UserAccessKey"], sent["TransID"]) == (USER, KEY, SALE)
    assert history.calls.last.request.url.params["PurchaseID"] == PURCHASE
    assert result.processor == "segpay"
    assert result.source == "api"
    assert result.status is PaymentStatus.APPROVED  # PurchStatus "Expired" is not a cancellation
    assert result.request_id is not None
    assert result.request_id.startswith("payhelp-")
    (record,) = result.records
    assert record.transaction_id == SALE
    assert record.kind is PaymentKind.SALE
    assert record.status is PaymentStatus.APPROVED
    assert record.amount == Money(amount=Decimal("2.95"), currency="USD")
    assert record.created_at is not None
    assert record.created_at.isoformat() == "2023-03-01T00:03:01+00:00"
    assert record.references == {IdKind.PURCHASE: PURCHASE}
    assert record.raw_status == "Type=Sale; Source=Signup; Auth=Yes; PurchStatus=Expired"
    assert record.decline_code is None


def test_lookup_by_purchase_id_is_one_report_newest_first(srs: respx.MockRouter) -> None:
    route = by_purchase(srs).mock(return_value=xml("history_rebills.xml"))
    query = LookupQuery.model_validate({"references": {"purchase": PURCHASE}})
    assert query.given() == {"purchase_id"}
    result = make_adapter().lookup(query)
    assert route.call_count == 1
    assert [r.transaction_id for r in result.records] == ["142771904", "141002310", SALE]
    assert [r.kind for r in result.records] == [
        PaymentKind.REBILL,
        PaymentKind.REBILL,
        PaymentKind.SALE,
    ]
    # The purchase stands where its newest charge does: the last rebill was declined.
    assert result.status is PaymentStatus.DECLINED
    assert result.records[0].decline_code == "05"


def test_a_lookup_needs_a_transaction_id_or_a_purchase_id() -> None:
    with pytest.raises(
        InvalidInputError,
        match="by its transaction id or by its purchase id; this query gives only the email",
    ):
        make_adapter().lookup(LookupQuery(email="jane@example.com"))


@pytest.mark.parametrize(
    ("asked", "report", "history", "status"),
    [
        (SALE, "report_declined.xml", None, PaymentStatus.DECLINED),
        (SALE, "report_sample.xml", "history_refunded.xml", PaymentStatus.REFUNDED),
        (
            SALE,
            "history_partially_refunded.xml",
            "history_partially_refunded.xml",
            PaymentStatus.PARTIALLY_REFUNDED,
        ),
        (SALE, "report_sample.xml", "history_chargeback.xml", PaymentStatus.CHARGEBACK),
        (
            SALE,
            "report_cancelled.xml",
            "report_cancelled.xml",
            PaymentStatus.CANCELLED_SUBSCRIPTION,
        ),
        (SALE, "report_unmapped.xml", None, PaymentStatus.PENDING),  # Type "Charge": ambiguous
        (SALE, "report_no_auth.xml", None, PaymentStatus.PENDING),  # no explicit Auth
        ("139631201", "history_refunded.xml", "history_refunded.xml", PaymentStatus.REFUNDED),
        (
            "139631201",
            "history_partially_refunded.xml",
            "history_partially_refunded.xml",
            PaymentStatus.PARTIALLY_REFUNDED,
        ),
        ("139631377", "history_chargeback.xml", None, PaymentStatus.CHARGEBACK),
    ],
)
def test_statuses_come_from_auth_type_and_what_followed(
    srs: respx.MockRouter, asked: str, report: str, history: str | None, status: PaymentStatus
) -> None:
    by_id(srs, asked).mock(return_value=xml(report))
    if history is not None:
        by_purchase(srs).mock(return_value=xml(history))
    result = make_adapter().lookup(LookupQuery(transaction_id=asked))
    assert result.status is status


def test_a_declined_record_carries_the_iso_code_for_decline_advice(srs: respx.MockRouter) -> None:
    by_id(srs).mock(return_value=xml("report_declined.xml"))
    (record,) = make_adapter().lookup(LookupQuery(transaction_id=SALE)).records
    assert record.status is PaymentStatus.DECLINED
    assert record.decline_code == "51"


def test_refunds_and_chargebacks_are_records_of_their_own(srs: respx.MockRouter) -> None:
    by_id(srs).mock(return_value=xml("report_sample.xml"))
    by_purchase(srs).mock(return_value=xml("history_chargeback.xml"))
    result = make_adapter().lookup(LookupQuery(transaction_id=SALE))
    newest, sale = result.records
    assert (newest.kind, newest.status, newest.transaction_id) == (
        PaymentKind.CHARGEBACK,
        PaymentStatus.CHARGEBACK,
        "139631377",
    )
    assert newest.amount == Money(amount=Decimal("2.95"), currency="USD")  # SRS's sign dropped
    assert sale.status is PaymentStatus.APPROVED


def test_messages_explain_the_statuses_that_need_it(srs: respx.MockRouter) -> None:
    by_id(srs).mock(return_value=xml("report_cancelled.xml"))
    by_purchase(srs).mock(return_value=xml("report_cancelled.xml"))
    result = make_adapter().lookup(LookupQuery(transaction_id=SALE))
    assert result.message == (
        "The payment went through; the subscription has since been cancelled and will not renew."
    )


def test_a_full_card_number_in_a_report_never_reaches_the_result(srs: respx.MockRouter) -> None:
    by_id(srs).mock(return_value=xml("report_card_number.xml"))
    by_purchase(srs).mock(return_value=xml("report_card_number.xml"))
    result = make_adapter().lookup(LookupQuery(transaction_id=SALE))
    assert result.records[0].card_last4 == "1111"
    dumped = result.model_dump_json()
    assert PAN not in dumped
    assert "4111 1111 1111 1111" not in dumped


def test_a_card_number_in_an_auth_code_is_masked(srs: respx.MockRouter) -> None:
    by_id(srs).mock(return_value=xml("report_declined_card_in_authcode.xml"))
    result = make_adapter().lookup(LookupQuery(transaction_id=SALE))
    assert result.records[0].decline_code == "Declined card [card …1111]"
    assert PAN not in result.model_dump_json()


# -- refunds and cancellations ------------------------------------------------------------------


def test_a_refund_is_refund_transaction_with_the_reason_in_words(srs: respx.MockRouter) -> None:
    route = srs.get(REFUND).mock(return_value=xml("task_successful.xml"))
    receipt = make_adapter().submit(refund_request(), "idem-1")
    sent = route.calls.last.request.url.params
    assert dict(sent) == {
        "Userid": USER,
        "UserAccessKey": KEY,
        "TransID": SALE,
        "RefundReason": "Duplicate charge",
    }
    assert receipt.processor == "segpay"
    assert receipt.channel is SubmissionChannel.API
    assert receipt.status is SubmissionStatus.SENT
    assert receipt.idempotency_key == "idem-1"
    assert receipt.processor_reason == "Duplicate charge"
    assert receipt.detail == f"SegPay accepted the refund of transaction {SALE}."
    assert receipt.reference is None


def test_every_reason_has_its_own_words() -> None:
    assert set(REFUND_REASONS) == set(DisputeReason)
    assert len(set(REFUND_REASONS.values())) == len(DisputeReason)


def test_a_refund_needs_segpays_transaction_id_and_the_whole_amount(srs: respx.MockRouter) -> None:
    adapter = make_adapter()
    only_purchase = Transaction(processor="segpay", references={IdKind.PURCHASE: PURCHASE})
    with pytest.raises(InvalidInputError, match="TransID"):
        adapter.submit(refund_request(transaction=only_purchase), "idem-2")
    with pytest.raises(CapabilityError, match="whole transaction"):
        adapter.submit(refund_request(amount=Money(amount=Decimal("1.00"), currency="USD")), "k")
    assert not srs.calls  # nothing was sent


def test_cancel_membership(srs: respx.MockRouter) -> None:
    route = srs.get(CANCEL).mock(
        side_effect=[xml("task_successful.xml"), xml("task_not_active.xml")]
    )
    adapter = make_adapter()
    cancel(adapter, PURCHASE, "customer asked")
    sent = route.calls.last.request.url.params
    assert (sent["Userid"], sent["PurchaseID"], sent["CancelReason"]) == (
        USER,
        PURCHASE,
        "customer asked",
    )
    with pytest.raises(ConflictError, match="Subscription not active"):
        cancel(adapter, PURCHASE)


# -- errors -------------------------------------------------------------------------------------


def test_wrong_credentials_are_an_authentication_error(srs: respx.MockRouter) -> None:
    route = by_id(srs).mock(return_value=xml("task_invalid_merchant.xml"))
    with pytest.raises(AuthenticationError) as caught:
        make_adapter().lookup(LookupQuery(transaction_id=SALE))
    error = caught.value
    assert (error.processor, error.status_code, error.code) == ("segpay", 401, "Invalid Merchant")
    assert error.request_id is not None
    assert error.request_id.startswith("payhelp-")
    assert error.maybe_applied is False
    assert route.call_count == 1


def test_a_refund_with_wrong_credentials_is_an_authentication_error(srs: respx.MockRouter) -> None:
    srs.get(REFUND).mock(return_value=xml("task_invalid_merchant.xml"))
    with pytest.raises(AuthenticationError):
        make_adapter().submit(refund_request(), "idem-3")


def test_an_empty_report_is_not_found(srs: respx.MockRouter) -> None:
    route = by_id(srs, "100000000").mock(return_value=xml("report_empty.xml"))
    with pytest.raises(NotFoundError, match="no transaction for '100000000'") as caught:
        make_adapter().lookup(LookupQuery(transaction_id="100000000"))
    assert caught.value.status_code == 404
    assert route.call_count == 1


def test_refunding_an_unknown_transaction_is_not_found(srs: respx.MockRouter) -> None:
    srs.get(REFUND).mock(return_value=xml("task_transid_mismatch.xml"))
    with pytest.raises(NotFoundError, match="Mismatch"):
        make_adapter().submit(refund_request(), "idem-4")


@pytest.mark.parametrize(
    "answer",
    [
        xml("task_missing_parameter.xml"),
        httpx.Response(
            500,
            text="System.InvalidOperationException: Missing parameter: TransID.",
            headers={"Content-Type": "text/plain; charset=utf-8"},
        ),
    ],
)
def test_a_missing_parameter_is_a_bad_request_never_retried(
    srs: respx.MockRouter, answer: httpx.Response
) -> None:
    route = by_id(srs).mock(return_value=answer)
    with pytest.raises(BadRequestError):
        make_adapter().lookup(LookupQuery(transaction_id=SALE))
    assert route.call_count == 1


def test_an_unknown_sentence_to_a_refund_is_in_doubt(srs: respx.MockRouter) -> None:
    srs.get(REFUND).mock(return_value=xml("task_unknown_sentence.xml"))
    with pytest.raises(APIResponseValidationError) as caught:
        make_adapter().submit(refund_request(), "idem-5")
    assert caught.value.maybe_applied is True


def test_429_on_a_report_waits_as_told_and_retries(srs: respx.MockRouter) -> None:
    sleeps: list[float] = []
    limited = httpx.Response(429, headers={"Retry-After": "3"})
    first = by_id(srs).mock(side_effect=[limited, xml("report_sample.xml")])
    by_purchase(srs).mock(return_value=xml("report_sample.xml"))
    result = make_adapter(sleeps).lookup(LookupQuery(transaction_id=SALE))
    assert result.status is PaymentStatus.APPROVED
    assert first.call_count == 2
    assert sleeps == [3.0]


def test_5xx_on_a_report_is_retried(srs: respx.MockRouter) -> None:
    sleeps: list[float] = []
    first = by_id(srs).mock(side_effect=[html(503), html(500), xml("report_sample.xml")])
    by_purchase(srs).mock(return_value=xml("report_sample.xml"))
    assert make_adapter(sleeps).lookup(LookupQuery(transaction_id=SALE)).records
    assert first.call_count == 3
    assert len(sleeps) == 2


def test_a_report_failing_every_time_is_an_internal_server_error(srs: respx.MockRouter) -> None:
    route = by_id(srs).mock(return_value=html(500))
    with pytest.raises(InternalServerError) as caught:
        make_adapter(max_retries=1).lookup(LookupQuery(transaction_id=SALE))
    assert caught.value.status_code == 500
    assert route.call_count == 2


def test_a_connection_reset_on_a_report_is_retried(srs: respx.MockRouter) -> None:
    sleeps: list[float] = []
    reset = httpx.ReadError("[Errno 104] Connection reset by peer")
    first = by_id(srs).mock(side_effect=[reset, xml("report_sample.xml")])
    by_purchase(srs).mock(return_value=xml("report_sample.xml"))
    assert (
        make_adapter(sleeps).lookup(LookupQuery(transaction_id=SALE)).status
        is PaymentStatus.APPROVED
    )
    assert first.call_count == 2
    assert len(sleeps) == 1


def test_a_refund_answered_500_is_sent_exactly_once(srs: respx.MockRouter) -> None:
    route = srs.get(REFUND).mock(return_value=html(500))
    with pytest.raises(InternalServerError) as caught:
        make_adapter().submit(refund_request(), "idem-6")
    assert route.call_count == 1
    assert caught.value.maybe_applied is True


def test_a_refund_timing_out_is_sent_exactly_once(srs: respx.MockRouter) -> None:
    route = srs.get(REFUND).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(APITimeoutError) as caught:
        make_adapter().submit(refund_request(), "idem-7")
    assert route.call_count == 1
    assert caught.value.maybe_applied is True


def test_a_refund_reset_after_sending_is_sent_exactly_once(srs: respx.MockRouter) -> None:
    route = srs.get(REFUND).mock(side_effect=httpx.ReadError("connection reset"))
    with pytest.raises(APIConnectionError):
        make_adapter().submit(refund_request(), "idem-8")
    assert route.call_count == 1


def test_a_refund_that_never_arrived_is_retried(srs: respx.MockRouter) -> None:
    sleeps: list[float] = []
    refused = httpx.ConnectError("connection refused")
    limited = httpx.Response(429, headers={"Retry-After": "1"})
    route = srs.get(REFUND).mock(side_effect=[refused, limited, xml("task_successful.xml")])
    receipt = make_adapter(sleeps).submit(refund_request(), "idem-9")
    assert receipt.status is SubmissionStatus.SENT
    assert route.call_count == 3
    assert sleeps[-1] == 1.0


def test_a_cancellation_is_never_repeated_blindly_either(srs: respx.MockRouter) -> None:
    route = srs.get(CANCEL).mock(return_value=html(502))
    with pytest.raises(InternalServerError):
        cancel(make_adapter(), PURCHASE)
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (xml("report_malformed.xml"), "not well-formed XML"),
        (html(200), "HTML page"),
        (httpx.Response(200, content=b"", headers={"Content-Type": "text/xml"}), "empty"),
        (
            httpx.Response(
                200,
                text='<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><DataSet>&a;</DataSet>',
                headers={"Content-Type": "text/xml"},
            ),
            "DTD",
        ),
        (
            httpx.Response(
                200, text="<Envelope><Body/></Envelope>", headers={"Content-Type": "text/xml"}
            ),
            "not an SRS report",
        ),
    ],
)
def test_unreadable_reports_are_response_validation_errors(
    srs: respx.MockRouter, answer: httpx.Response, why: str
) -> None:
    route = by_id(srs).mock(return_value=answer)
    with pytest.raises(APIResponseValidationError, match=why) as caught:
        make_adapter().lookup(LookupQuery(transaction_id=SALE))
    assert caught.value.processor == "segpay"
    assert route.call_count == 1


def test_secrets_stay_out_of_errors_and_debug_logs(
    srs: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    by_id(srs).mock(
        side_effect=[xml("report_sample.xml"), httpx.ReadError(f"reset {KEY}"), html(500)]
    )
    by_purchase(srs).mock(return_value=xml("report_sample.xml"))
    srs.get(REFUND).mock(return_value=xml("task_invalid_merchant.xml"))
    adapter = make_adapter(max_retries=1)
    adapter.lookup(LookupQuery(transaction_id=SALE))
    errors: list[ProcessorAPIError] = []
    with pytest.raises(InternalServerError) as failed:
        adapter.lookup(LookupQuery(transaction_id=SALE))
    errors.append(failed.value)
    with pytest.raises(AuthenticationError) as refused:
        adapter.submit(refund_request(), "idem-10")
    errors.append(refused.value)
    assert "HTTP Request" in caplog.text  # httpx logged the URLs...
    assert "UserAccessKey=[secret]" in caplog.text  # ...with the credentials masked
    for text in [caplog.text, *map(str, errors), *map(repr, errors), repr(adapter.sync_client)]:
        assert USER not in text
        assert KEY not in text


# -- async --------------------------------------------------------------------------------------


# Async answers equal to the sync ones for every sandbox case (by transaction id) are checked by
# the conformance suite (test_async_lookups_give_the_sync_answers); the lookup by purchase id is
# not one of its cases, so its async twin is checked here.
def test_the_async_twin_gives_the_same_answers_by_purchase_id(srs: respx.MockRouter) -> None:
    srs.get(BY_PURCHASE).mock(side_effect=lambda request: xml("history_rebills.xml"))
    adapter = make_adapter()
    query = LookupQuery(references={IdKind.PURCHASE: PURCHASE})

    def comparable(result: LookupResult) -> dict[str, object]:
        return result.model_dump(exclude={"request_id"})

    blocking = adapter.lookup(query)
    awaited = asyncio.run(adapter.alookup(query))
    assert comparable(awaited) == comparable(blocking)


def test_async_errors_and_refunds_match(srs: respx.MockRouter) -> None:
    refund = srs.get(REFUND).mock(side_effect=[html(500), xml("task_successful.xml")])
    by_id(srs).mock(return_value=xml("report_empty.xml"))
    adapter = make_adapter()

    async def run() -> None:
        with pytest.raises(InternalServerError):
            await adapter.asubmit(refund_request(), "idem-11")
        assert refund.call_count == 1  # not repeated
        receipt = await adapter.asubmit(refund_request(), "idem-11")
        assert receipt.status is SubmissionStatus.SENT
        with pytest.raises(NotFoundError):
            await adapter.alookup(LookupQuery(transaction_id=SALE))
        await adapter.aclose()

    asyncio.run(run())


# -- configuration and hooks ----------------------------------------------------------------------


def test_credentials_come_from_the_environment(
    srs: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYHELP_SEGPAY_USER_ID", "env-user-77")
    monkeypatch.setenv("PAYHELP_SEGPAY_ACCESS_KEY", "env-key-88")
    route = by_id(srs).mock(return_value=xml("report_declined.xml"))
    ph = Payhelp(load_plugins=["segpay"])
    assert ph.lookup("segpay", transaction_id=SALE).status is PaymentStatus.DECLINED
    sent = route.calls.last.request.url.params
    assert (sent["UserID"], sent["UserAccessKey"]) == ("env-user-77", "env-key-88")


def test_the_base_url_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    with respx.mock(assert_all_mocked=True, assert_all_called=True) as router:
        route = router.get("https://srs.example.test/segpay/MWS.asmx/TransactionByTransID")
        route.mock(return_value=xml("report_declined.xml"))
        adapter = make_adapter(base_url="https://srs.example.test/segpay/")
        assert adapter.lookup(LookupQuery(transaction_id=SALE)).status is PaymentStatus.DECLINED


# That the API and sandbox are registered with the processor, the old hooks gone and the
# capabilities and public_api derived from SegpayApi is the conformance suite's
# (test_capabilities_match_what_the_plugin_does, test_no_deprecated_hook_beside_a_registered_api);
# the suite always configures credentials, so what happens without them is checked here.
def test_without_credentials_a_lookup_is_self_service() -> None:
    ph = Payhelp(load_plugins=["segpay"])
    assert ph.adapter("segpay") is None
    assert ph.lookup("segpay", transaction_id=SALE).source == "self_service"
    configured = Payhelp(
        load_plugins=["segpay"],
        processors={"segpay": {"settings": {"user_id": USER, "access_key": KEY}}},
    )
    adapter = configured.adapter("segpay")
    assert isinstance(adapter, ApiDriver)
    assert isinstance(adapter.api, SegpayApi)


# -- the sandbox ----------------------------------------------------------------------------------


def sandboxed(**settings: object) -> Payhelp:
    configured = {"user_id": "u", "access_key": "k", **settings}
    return Payhelp(load_plugins=["segpay"], processors={"segpay": {"settings": configured}})


SANDBOX_STATUSES = {
    "approved": PaymentStatus.APPROVED,
    "refunded": PaymentStatus.REFUNDED,
    "refund_record": PaymentStatus.REFUNDED,
    "partially_refunded": PaymentStatus.PARTIALLY_REFUNDED,
    "chargeback": PaymentStatus.CHARGEBACK,
    "cancelled_subscription": PaymentStatus.CANCELLED_SUBSCRIPTION,
    **{f"declined_{reason}": PaymentStatus.DECLINED for reason, _, _ in DECLINES},
}


@pytest.mark.parametrize(("case", "status"), sorted(SANDBOX_STATUSES.items()))
def test_the_sandbox_answers_each_case(case: str, status: PaymentStatus) -> None:
    ph = sandboxed()
    result = ph.lookup("segpay", transaction_id=CASES[case], sandbox=True)
    assert result.status is status
    assert result.source == "sandbox"
    by_purchase_id = ph.lookup(
        "segpay", references={"purchase": SegpaySandbox().purchase_of(CASES[case])}, sandbox=True
    )
    assert by_purchase_id.status is status


def test_the_sandbox_declines_carry_their_iso_codes() -> None:
    ph = sandboxed()
    for reason, code, _ in DECLINES:
        result = ph.lookup("segpay", transaction_id=CASES[f"declined_{reason}"], sandbox=True)
        assert result.records[0].decline_code == code


def test_the_sandbox_lists_every_case_the_contract_names() -> None:
    assert {"approved", "refunded", "chargeback", "not_found", "slow", "failing"} <= set(CASES)
    assert len(set(CASES.values())) == len(CASES)


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("not_found", NotFoundError),
        ("failing", InternalServerError),
        ("malformed", APIResponseValidationError),
    ],
)
def test_the_sandbox_fails_as_asked(case: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        sandboxed(max_retries=0).lookup("segpay", transaction_id=CASES[case], sandbox=True)


def test_the_sandbox_refuses_the_invalid_access_key() -> None:
    ph = sandboxed(access_key=INVALID_ACCESS_KEY)
    with pytest.raises(AuthenticationError, match="Invalid Merchant"):
        ph.lookup("segpay", transaction_id=CASES["approved"], sandbox=True)


def test_the_sandbox_needs_no_credentials_of_the_platforms() -> None:
    ph = Payhelp(load_plugins=["segpay"], sandbox=True)
    assert ph.lookup("segpay", transaction_id=CASES["approved"]).status is PaymentStatus.APPROVED


def test_the_sandbox_is_slow_when_asked() -> None:
    request = httpx.Request(
        "GET",
        f"http://sandbox.test/MWS.asmx/TransactionByTransID?UserID=u&UserAccessKey=k&TransID={CASES['slow']}",
    )
    answer = SegpaySandbox().handle(request)
    assert answer.status_code == 200
    assert float(answer.headers[DELAY_HEADER]) == SLOW_SECONDS


def test_the_sandbox_takes_refunds_and_cancellations() -> None:
    ph = sandboxed(max_retries=0)
    adapter = ph.adapter("segpay", sandbox=True)
    assert isinstance(adapter, ApiDriver)
    receipt = adapter.submit(
        refund_request(transaction=Transaction(transaction_id=CASES["approved"])), "s-1"
    )
    assert receipt.status is SubmissionStatus.SENT
    with pytest.raises(NotFoundError):
        adapter.submit(
            refund_request(transaction=Transaction(transaction_id=CASES["not_found"])), "s-2"
        )
    served = ph.sandbox_behaviour.served
    with pytest.raises(InternalServerError):
        adapter.submit(
            refund_request(transaction=Transaction(transaction_id=CASES["failing"])), "s-3"
        )
    assert ph.sandbox_behaviour.served == served + 1
    cancel(adapter, SegpaySandbox().purchase_of(CASES["approved"]) or "")
    with pytest.raises(ConflictError):
        cancel(adapter, SegpaySandbox().purchase_of(CASES["cancelled_subscription"]) or "")
