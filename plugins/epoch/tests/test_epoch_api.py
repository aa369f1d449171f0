"""Epoch's Customer Search API, driven by the core: requests, XML answers, errors, retries,
secrets, sandbox.

HTTP is mocked with respx (every request mocked, every route called); answers come from the XML
files in ``fixtures/``, shaped as the third-party integrations read them (see the README). What
the conformance suite checks for every plugin (registration, capabilities and public_api derived
from :class:`EpochApi`, async answers equal to the sync ones for each sandbox case) is not
repeated here.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import payhelp_epoch
import pytest
import respx
from payhelp_epoch.api import BASE_URL, PROCESSOR_REASON_CODES, REFUND_REASONS, EpochApi
from payhelp_epoch.sandbox import SLOW_SECONDS, EpochSandbox
from pydantic import ValidationError

from payhelp import Payhelp
from payhelp.adapters import AdapterSettings, ApiDriver
from payhelp.cases import (
    Attachment,
    DisputeReason,
    DisputeRequest,
    LookupQuery,
    PaymentKind,
    PaymentStatus,
    SubmissionChannel,
    SubmissionStatus,
)
from payhelp.catalogues import check
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
    RateLimitError,
    UnprocessableEntityError,
)
from payhelp.models import Money, Transaction
from payhelp.sandbox import DELAY_HEADER, SandboxTransport, sandbox_base_url

FIXTURES = Path(__file__).parent / "fixtures"
README = Path(__file__).parent.parent / "README.md"
PACKAGE = Path(payhelp_epoch.__file__).parent
BASE = "https://epoch.com/services/customer_search/"
USER = "merchant-epoch-7"
PASSWORD = "s3cret-Pass-9&x"  # an '&' checks the query encoding, and its scrubbing
SECRETS = (USER, PASSWORD, "s3cret-Pass-9%26x", "s3cret-Pass-9")


def answer(name: str, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    kind = "text/html" if name.endswith(".html") else "text/xml; charset=utf-8"
    return httpx.Response(
        status,
        headers={"Content-Type": kind, **(headers or {})},
        content=(FIXTURES / name).read_bytes(),
    )


def make_adapter(sleeps: list[float] | None = None, **settings: object) -> ApiDriver:
    """The core's driver for Epoch's API, whose waits are recorded instead of slept."""
    waits = sleeps if sleeps is not None else []

    async def async_sleep(seconds: float) -> None:
        waits.append(seconds)

    options = {"auth_user": USER, "auth_pass": PASSWORD, **settings}
    adapter = ApiDriver.build(
        EpochApi, {**options, "sleep": waits.append, "async_sleep": async_sleep}, environ={}
    )
    assert adapter is not None
    assert isinstance(adapter.api, EpochApi)
    return adapter


def query(**fields: object) -> LookupQuery:
    member = fields.pop("member", None)
    if member is not None:
        fields["references"] = {"member": member}
    return LookupQuery.model_validate(fields)


def dispute(reason: DisputeReason = DisputeReason.DUPLICATE_CHARGE, **tx: object) -> DisputeRequest:
    return DisputeRequest(
        transaction=Transaction.model_validate(tx or {"transaction_id": "1418464163"}),
        reason=reason,
        message="I was charged twice for the same month.",
        contact_email="customer@example.com",
    )


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=True) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


# -- lookups: requests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"member": "1234567", "email": "fan@example.com"},
            {"member_id": "1234567", "email": "fan@example.com"},
        ),
        (
            {"member": "1234567", "username": "fan_77"},
            {"member_id": "1234567", "username": "fan_77"},
        ),
        (
            {"email": "fan@example.com", "card_last4": "0042"},
            {"email": "fan@example.com", "cardnum": "0042"},
        ),
        ({"username": "fan_77", "card_last4": "1111"}, {"username": "fan_77", "cardnum": "1111"}),
        (
            {"member": "1234567", "transaction_id": "1418464163"},
            {"member_id": "1234567", "trans_id": "1418464163"},
        ),
        (
            {"member": "001234567", "email": " fan@example.com ", "transaction_id": "1418464163"},
            {"member_id": "1234567", "email": "fan@example.com", "trans_id": "1418464163"},
        ),
    ],
)
def test_each_lookup_path_sends_exactly_the_search_parameters(
    router: respx.MockRouter, fields: dict[str, str], expected: dict[str, str]
) -> None:
    route = router.get(BASE).mock(return_value=answer("search_approved.xml"))
    make_adapter().lookup(query(**fields))
    sent = route.calls.last.request
    assert sent.method == "GET"
    assert str(sent.url.copy_with(query=None)) == BASE
    assert dict(sent.url.params) == {
        "api_action": "search",
        **expected,
        "auth_user": USER,
        "auth_pass": PASSWORD,
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "fan@example.com"},
        {"member": "1234567"},
        {"transaction_id": "1418464163"},
        {"email": "fan@example.com", "transaction_id": "1418464163"},
    ],
)
def test_an_unusable_combination_names_what_is_missing_and_sends_nothing(
    router: respx.MockRouter, fields: dict[str, str]
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        make_adapter().lookup(query(**fields))
    assert "any 2 of member id, email, username, card's last four digits" in str(caught.value)
    assert "member id, transaction id" in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"member": "12ab", "email": "fan@example.com"}, "member id is a whole number"),
        ({"member": "0", "email": "fan@example.com"}, "member id is a whole number"),
        ({"member": "12345678901", "email": "fan@example.com"}, "member id is a whole number"),
        ({"member": "1", "transaction_id": "TX-9"}, "transaction id is a whole number"),
    ],
)
def test_ids_are_integers_and_inputs_are_checked_before_sending(
    router: respx.MockRouter, fields: dict[str, str], words: str
) -> None:
    with pytest.raises(InvalidInputError, match=words):
        make_adapter().lookup(query(**fields))


@pytest.mark.parametrize(
    ("fields", "words"),
    [({"email": "not-an-email"}, "email"), ({"username": "   "}, "username")],
)
def test_a_malformed_email_or_a_blank_username_never_becomes_a_query(
    fields: dict[str, str], words: str
) -> None:
    # The core's LookupQuery refuses both before any adapter sees them; the adapter's own
    # checks stay as a second guard for queries built without validation.
    with pytest.raises(ValidationError, match=words):
        query(member="1", **fields)


def test_a_full_card_number_is_refused_in_the_query() -> None:
    with pytest.raises(ValueError, match="payhelp never takes"):
        query(member="1", card_last4="4111111111111111")


# -- lookups: answers --------------------------------------------------------------------------


def lookup_fixture(router: respx.MockRouter, name: str):
    router.get(BASE, params={"api_action": "search"}).mock(return_value=answer(name))
    return make_adapter().lookup(query(member="1234567", email="fan@example.com"))


def test_approved(router: respx.MockRouter) -> None:
    result = lookup_fixture(router, "search_approved.xml")
    assert result.processor == "epoch"
    assert result.source == "api"
    assert result.status is PaymentStatus.APPROVED
    assert result.message == "Epoch member status: Active Recurring"
    assert result.request_id is not None
    assert result.request_id.startswith("payhelp-")
    (record,) = result.records
    assert record.transaction_id == "1418464163"
    assert record.kind is PaymentKind.SALE
    assert record.status is PaymentStatus.APPROVED
    assert record.raw_status == "Y"
    assert record.amount is not None
    assert (record.amount.amount, record.amount.currency) == (Decimal("29.95"), "USD")
    assert record.card_last4 == "1111"
    assert record.references == {"member": "1234567"}
    assert record.created_at == datetime(2026, 11, 1, 17, 30, tzinfo=UTC)


def test_declined(router: respx.MockRouter) -> None:
    result = lookup_fixture(router, "search_declined.xml")
    assert result.status is PaymentStatus.DECLINED
    assert result.message is None  # the Record carries no Customer/Status
    (record,) = result.records
    assert record.status is PaymentStatus.DECLINED
    assert record.decline_code is None  # a bare "N": Epoch's decline codes are not public
    assert record.created_at is None  # a local time: Epoch's time zone is not known


def test_refunded_lists_the_credit_first(router: respx.MockRouter) -> None:
    result = lookup_fixture(router, "search_refunded.xml")
    assert result.status is PaymentStatus.REFUNDED
    assert [(r.transaction_id, r.kind, r.status) for r in result.records] == [
        ("1418464999", PaymentKind.REFUND, PaymentStatus.REFUNDED),
        ("1418464180", PaymentKind.SALE, PaymentStatus.APPROVED),
    ]
    assert result.records[0].amount is not None
    assert result.records[0].amount.amount == Decimal("29.95")


def test_chargeback(router: respx.MockRouter) -> None:
    result = lookup_fixture(router, "search_chargeback.xml")
    assert result.status is PaymentStatus.CHARGEBACK
    assert result.records[0].kind is PaymentKind.CHARGEBACK
    assert result.records[1].status is PaymentStatus.APPROVED


def test_cancelled_membership(router: respx.MockRouter) -> None:
    result = lookup_fixture(router, "search_cancelled.xml")
    assert result.status is PaymentStatus.CANCELLED_SUBSCRIPTION
    assert result.records[0].kind is PaymentKind.REBILL
    assert result.records[0].status is PaymentStatus.APPROVED  # the payment itself went through


def test_anything_not_explicit_is_pending(router: respx.MockRouter) -> None:
    result = lookup_fixture(router, "search_pending.xml")
    assert result.status is PaymentStatus.PENDING
    assert result.records[0].raw_status == "T"


def test_a_full_card_number_in_an_answer_never_reaches_the_result(
    router: respx.MockRouter,
) -> None:
    result = lookup_fixture(router, "search_full_pan.xml")
    assert result.records[0].card_last4 == "1111"
    assert "4111111111111111" not in result.model_dump_json()
    assert "411111" not in repr(result)


def test_a_decline_code_after_the_n_is_kept() -> None:
    body = (FIXTURES / "search_declined.xml").read_text().replace("<Ans>N<", "<Ans>NXYZ<")
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"Content-Type": "text/xml"}, text=body)
    )
    adapter = make_adapter(transport=transport)
    assert adapter.lookup(query(member="1", email="a@b.example")).records[0].decline_code == "XYZ"
    piped = body.replace("<Ans>N<", "<Ans>NXYZ|1418464170<")
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"Content-Type": "text/xml"}, text=piped)
    )
    record = make_adapter(transport=transport).lookup(query(member="1", email="a@b.example"))
    assert record.records[0].decline_code == "XYZ"


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "error", "status"),
    [
        ("error_auth.xml", AuthenticationError, 401),
        ("error_not_found.xml", NotFoundError, 404),
        ("error_invalid.xml", BadRequestError, 400),
        ("error_not_approved.xml", UnprocessableEntityError, 422),
        ("credit_already.xml", ConflictError, 409),
    ],
)
def test_epoch_error_answers_map_into_the_error_tree(
    router: respx.MockRouter, fixture: str, error: type[ProcessorAPIError], status: int
) -> None:
    route = router.get(BASE).mock(return_value=answer(fixture))
    with pytest.raises(error) as caught:
        make_adapter().lookup(query(member="1234567", email="fan@example.com"))
    assert caught.value.processor == "epoch"
    assert caught.value.request_id
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    assert "Epoch answered" in str(caught.value)
    assert route.call_count == 1  # an answer, not a failure: never retried


def test_an_action_refused_with_an_n_code_keeps_the_code(router: respx.MockRouter) -> None:
    router.get(BASE).mock(return_value=answer("cancel_already.xml"))
    with pytest.raises(ConflictError) as caught:
        make_adapter().lookup(query(member="1234567", email="fan@example.com"))
    assert caught.value.code == "NMYALREADYCANCELLED"


def test_rate_limit_429_with_retry_after_is_retried_for_search(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.get(BASE).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            answer("search_approved.xml"),
        ]
    )
    result = make_adapter(sleeps).lookup(query(member="1234567", email="fan@example.com"))
    assert result.status is PaymentStatus.APPROVED
    assert route.call_count == 2
    assert sleeps == [2.0]


def test_rate_limit_that_persists_is_a_rate_limit_error(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.get(BASE).mock(return_value=httpx.Response(429, headers={"Retry-After": "1"}))
    with pytest.raises(RateLimitError) as caught:
        make_adapter(sleeps).lookup(query(member="1234567", email="fan@example.com"))
    assert caught.value.retry_after == 1.0
    assert route.call_count == 3  # max_retries=2


def test_a_rate_limit_said_in_xml_is_a_rate_limit_error(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    router.get(BASE).mock(
        side_effect=[
            answer("error_rate_limit.xml", 200, {"Retry-After": "3"}),
            answer("search_approved.xml"),
        ]
    )
    result = make_adapter(sleeps).lookup(query(member="1234567", email="fan@example.com"))
    assert result.status is PaymentStatus.APPROVED
    assert sleeps == [3.0]


def test_5xx_is_retried_for_search(router: respx.MockRouter, sleeps: list[float]) -> None:
    route = router.get(BASE).mock(
        side_effect=[answer("server_error.html", 502), answer("search_approved.xml")]
    )
    result = make_adapter(sleeps).lookup(query(member="1234567", email="fan@example.com"))
    assert result.status is PaymentStatus.APPROVED
    assert route.call_count == 2
    assert len(sleeps) == 1


def test_5xx_that_persists_is_an_internal_server_error(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.get(BASE).mock(return_value=answer("server_error.html", 500))
    with pytest.raises(InternalServerError) as caught:
        make_adapter(sleeps).lookup(query(member="1234567", email="fan@example.com"))
    assert caught.value.status_code == 500
    assert route.call_count == 3


def test_a_connection_reset_on_search_is_retried(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.get(BASE).mock(
        side_effect=[
            httpx.ReadError("[Errno 104] Connection reset by peer"),
            answer("search_approved.xml"),
        ]
    )
    result = make_adapter(sleeps).lookup(query(member="1234567", email="fan@example.com"))
    assert result.status is PaymentStatus.APPROVED
    assert route.call_count == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (answer("malformed.xml"), "not well-formed XML"),
        (answer("server_error.html"), "HTML page"),
        (  # an HTML page that says it is XML
            httpx.Response(
                200,
                headers={"Content-Type": "text/xml"},
                content=(FIXTURES / "server_error.html").read_bytes(),
            ),
            "HTML page",
        ),
        (answer("entities.xml"), "declares a DTD or an entity; refused unread"),
        (httpx.Response(200, headers={"Content-Type": "text/xml"}, text="<Response/>"), "neither"),
        (httpx.Response(200, text=""), "the answer is empty"),
    ],
)
def test_malformed_html_and_dtd_answers_are_validation_errors(
    router: respx.MockRouter, body: httpx.Response, why: str
) -> None:
    route = router.get(BASE).mock(return_value=body)
    with pytest.raises(APIResponseValidationError, match=why) as caught:
        make_adapter().lookup(query(member="1234567", email="fan@example.com"))
    assert caught.value.processor == "epoch"
    assert route.call_count == 1
    assert "root:" not in str(caught.value)  # no entity was ever expanded


def test_a_record_without_a_member_id_is_a_validation_error(router: respx.MockRouter) -> None:
    body = (
        (FIXTURES / "search_approved.xml").read_text().replace("<MemberId>1234567</MemberId>", "")
    )
    router.get(BASE).mock(
        return_value=httpx.Response(200, headers={"Content-Type": "text/xml"}, text=body)
    )
    with pytest.raises(APIResponseValidationError, match="MemberId"):
        make_adapter().lookup(query(member="1234567", email="fan@example.com"))


def test_a_non_integer_transaction_id_is_a_validation_error(router: respx.MockRouter) -> None:
    body = (FIXTURES / "search_approved.xml").read_text().replace("1418464163", "TX-1")
    router.get(BASE).mock(
        return_value=httpx.Response(200, headers={"Content-Type": "text/xml"}, text=body)
    )
    with pytest.raises(APIResponseValidationError, match="TransID"):
        make_adapter().lookup(query(member="1234567", email="fan@example.com"))


# -- credits -----------------------------------------------------------------------------------


def test_credit_success(router: respx.MockRouter) -> None:
    route = router.get(BASE, params={"api_action": "credit"}).mock(
        return_value=answer("credit_success.xml")
    )
    receipt = make_adapter().submit(dispute(), "key-1")
    sent = route.calls.last.request
    assert dict(sent.url.params) == {
        "api_action": "credit",
        "trans_id": "1418464163",
        "credit_reason": "dupcharg",
        "comment": "I was charged twice for the same month.",
        "auth_user": USER,
        "auth_pass": PASSWORD,
    }
    assert "Idempotency-Key" not in sent.headers  # Epoch honours none
    assert receipt.processor == "epoch"
    assert receipt.channel is SubmissionChannel.API
    assert receipt.status is SubmissionStatus.SENT
    assert receipt.idempotency_key == "key-1"
    assert receipt.processor_reason == "dupcharg"
    assert receipt.reference == "1418464163"


def test_every_reason_has_an_epoch_code() -> None:
    assert set(REFUND_REASONS) == set(DisputeReason)
    assert set(REFUND_REASONS.values()) <= set(PROCESSOR_REASON_CODES)
    assert "fdlststl" not in REFUND_REASONS.values()  # a lost or stolen card is never claimed
    assert REFUND_REASONS[DisputeReason.DUPLICATE_CHARGE] == "dupcharg"
    assert REFUND_REASONS[DisputeReason.NOT_RECOGNISED] == "fdnotme"
    assert REFUND_REASONS[DisputeReason.NOT_RECEIVED] == "noaccess"
    assert REFUND_REASONS[DisputeReason.TECHNICAL_PROBLEM] == "siteprob"


@pytest.mark.parametrize("reason", list(DisputeReason))
def test_each_reason_is_sent_as_its_code(router: respx.MockRouter, reason: DisputeReason) -> None:
    route = router.get(BASE, params={"credit_reason": REFUND_REASONS[reason]}).mock(
        return_value=answer("credit_success.xml")
    )
    assert make_adapter().submit(dispute(reason), "k").processor_reason == REFUND_REASONS[reason]
    assert route.call_count == 1


def test_a_credit_masks_card_numbers_in_the_comment_and_notes_attachments(
    router: respx.MockRouter,
) -> None:
    route = router.get(BASE).mock(return_value=answer("credit_success.xml"))
    request = dispute().model_copy(
        update={
            "message": "Charged twice on card 4111 1111 1111 1111.\n" + "x" * 400,
            "attachments": (
                Attachment(filename="receipt.pdf", content_type="application/pdf", data=b"%PDF"),
            ),
        }
    )
    receipt = make_adapter().submit(request, "k")
    comment = route.calls.last.request.url.params["comment"]
    assert comment.startswith("Charged twice on card [card …1111]. xxx")
    assert len(comment) <= 254
    assert "4111 1111" not in comment
    assert receipt.detail is not None
    assert "1 attachment(s) not sent" in receipt.detail


def test_a_credit_needs_the_transaction_id(router: respx.MockRouter) -> None:
    with pytest.raises(InvalidInputError, match="trans_id"):
        make_adapter().submit(dispute(references={"member": "1234567"}), "k")
    with pytest.raises(InvalidInputError, match="whole number"):
        make_adapter().submit(dispute(transaction_id="TX-1"), "k")


def test_a_partial_credit_is_not_offered(router: respx.MockRouter) -> None:
    request = dispute().model_copy(update={"amount": Money(amount=Decimal("5"), currency="USD")})
    with pytest.raises(CapabilityError, match="partial refund by email"):
        make_adapter().submit(request, "k")


def test_a_credit_answered_500_is_sent_exactly_once(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.get(BASE).mock(return_value=answer("server_error.html", 500))
    with pytest.raises(InternalServerError):
        make_adapter(sleeps).submit(dispute(), "k")
    assert route.call_count == 1
    assert sleeps == []


def test_a_credit_that_times_out_is_sent_exactly_once(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.get(BASE).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(APITimeoutError):
        make_adapter(sleeps).submit(dispute(), "k")
    assert route.call_count == 1


def test_a_credit_whose_connection_resets_is_sent_exactly_once(
    router: respx.MockRouter, sleeps: list[float]
) -> None:
    route = router.get(BASE).mock(side_effect=httpx.ReadError("Connection reset by peer"))
    with pytest.raises(APIConnectionError):
        make_adapter(sleeps).submit(dispute(), "k")
    assert route.call_count == 1


def test_a_credit_that_never_left_is_retried(router: respx.MockRouter, sleeps: list[float]) -> None:
    route = router.get(BASE).mock(
        side_effect=[httpx.ConnectError("connection refused"), answer("credit_success.xml")]
    )
    assert make_adapter(sleeps).submit(dispute(), "k").status is SubmissionStatus.SENT
    assert route.call_count == 2


def test_a_refused_credit_is_an_error_not_a_receipt(router: respx.MockRouter) -> None:
    router.get(BASE).mock(return_value=answer("credit_already.xml"))
    with pytest.raises(ConflictError):
        make_adapter().submit(dispute(), "k")


def test_a_credit_answer_without_success_is_a_validation_error(router: respx.MockRouter) -> None:
    router.get(BASE).mock(return_value=answer("search_approved.xml"))
    with pytest.raises(APIResponseValidationError, match="Credit/Response"):
        make_adapter().submit(dispute(), "k")


# -- secrets -----------------------------------------------------------------------------------


def test_secrets_are_absent_from_every_error_and_log(
    router: respx.MockRouter, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    echoed = httpx.Response(
        200,
        headers={"Content-Type": "text/xml"},
        text=f"<Response><Error><Response>Bad login {USER} / {escape(PASSWORD)}</Response></Error>"
        "</Response>",
    )
    router.get(BASE).mock(
        side_effect=[
            answer("error_auth.xml"),
            echoed,
            answer("server_error.html", 500),
            httpx.ReadTimeout(f"timed out talking to {BASE}?auth_user={USER}&auth_pass={PASSWORD}"),
            answer("malformed.xml"),
            httpx.ReadError(f"reset: auth_user={USER}&auth_pass={PASSWORD}"),
        ]
    )
    adapter = make_adapter(sleeps, max_retries=0)
    errors: list[BaseException] = []
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="payhelp")
    for _ in range(5):
        with pytest.raises(ProcessorAPIError) as caught:
            adapter.lookup(query(member="1234567", email="fan@example.com"))
        errors.append(caught.value)
    with pytest.raises(ProcessorAPIError) as caught:
        adapter.submit(dispute(), "k")
    errors.append(caught.value)
    assert [type(e) for e in errors] == [
        AuthenticationError,
        AuthenticationError,
        InternalServerError,
        APITimeoutError,
        APIResponseValidationError,
        APIConnectionError,
    ]
    assert "[secret]" in str(errors[1])
    logged = caplog.text
    assert "GET https://epoch.com/services/customer_search/" in logged
    assert "auth_user=[secret]&auth_pass=[secret]" in logged  # httpx's own request line
    for secret in SECRETS:
        assert secret not in logged
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)
    assert USER not in repr(adapter.sync_client)


def test_httpx_info_log_of_an_epoch_request_never_holds_the_credentials(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx logs every request's full URL at INFO, and Epoch takes its credentials in the query.
    The core masks them by name, for values too short to scrub by value as well; the plugin puts
    no filter of its own on any logger."""
    router.get(BASE).mock(side_effect=[answer("search_approved.xml"), answer("credit_success.xml")])
    caplog.set_level(logging.INFO, logger="httpx")
    adapter = make_adapter(auth_user="ab7", auth_pass="x9")  # below the by-value scrub's length
    adapter.lookup(query(member="1234567", email="fan@example.com"))
    adapter.submit(dispute(), "k")
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert len(lines) == 2
    for line in lines:
        assert line.startswith("HTTP Request: GET https://epoch.com/services/customer_search/?")
        assert "auth_user=[secret]" in line
        assert "auth_pass=[secret]" in line
        assert "ab7" not in line
        assert "x9" not in line
    for name in ("httpx", "httpcore"):
        owners = {type(f).__module__ for f in logging.getLogger(name).filters}
        assert not any(owner.startswith("payhelp_epoch") for owner in owners)


# -- async ------------------------------------------------------------------------------------


# Async answers equal to the sync ones for each sandbox case are the conformance suite's
# (test_async_lookups_give_the_sync_answers); what it does not reach is how the async path
# retries a search and never repeats a credit, checked here.
def test_async_errors_and_retries_match(router: respx.MockRouter, sleeps: list[float]) -> None:
    route = router.get(BASE).mock(
        side_effect=[
            httpx.ReadError("Connection reset by peer"),
            answer("error_not_found.xml"),
            answer("server_error.html", 500),
            answer("credit_success.xml"),
        ]
    )
    adapter = make_adapter(sleeps)

    async def run() -> None:
        try:
            with pytest.raises(NotFoundError):
                await adapter.alookup(query(member="1234567", email="fan@example.com"))
            with pytest.raises(InternalServerError):
                await adapter.asubmit(dispute(), "k")
            assert (await adapter.asubmit(dispute(), "k2")).status is SubmissionStatus.SENT
        finally:
            await adapter.aclose()

    asyncio.run(run())
    assert route.call_count == 4  # the reset search was retried; the failed credit was not


# -- configuration and hooks -------------------------------------------------------------------


def test_credentials_come_from_the_environment_and_the_base_url_is_configurable() -> None:
    env = {"PAYHELP_EPOCH_AUTH_USER": USER, "PAYHELP_EPOCH_AUTH_PASS": PASSWORD}
    adapter = ApiDriver.build(EpochApi, {"base_url": "https://mirror.example/cs/"}, environ=env)
    assert adapter is not None
    assert adapter.settings.credentials == {"auth_user": USER, "auth_pass": PASSWORD}
    assert adapter.sync_client.base_url == "https://mirror.example/cs/"
    assert ApiDriver.build(EpochApi, {}, environ={}) is None
    with pytest.raises(InvalidInputError, match="missing auth_pass"):
        ApiDriver.build(EpochApi, {"auth_user": USER}, environ={})
    assert USER not in repr(adapter.settings)
    assert adapter.basis == "third_party"
    assert EpochApi.base_url == BASE_URL == BASE


# That the API and sandbox are registered with the processor, the old hooks gone and the
# capabilities and public_api derived from EpochApi is the conformance suite's
# (test_capabilities_match_what_the_plugin_does, test_no_deprecated_hook_beside_a_registered_api);
# the suite always configures credentials, so what happens without them is checked here.
def test_without_credentials_a_lookup_is_the_purchase_finder() -> None:
    ph = Payhelp(load_plugins=["epoch"], processors={})
    assert ph.adapter("epoch") is None
    result = ph.lookup("epoch", references={"member": "1234567"}, email="fan@example.com")
    assert result.source == "self_service"
    configured = Payhelp(
        load_plugins=["epoch"],
        processors={"epoch": {"settings": {"auth_user": USER, "auth_pass": PASSWORD}}},
    )
    adapter = configured.adapter("epoch")
    assert isinstance(adapter, ApiDriver)
    assert isinstance(adapter.api, EpochApi)


def test_catalogues_stay_complete() -> None:
    assert check(PACKAGE, "payhelp_epoch") == []


# -- sandbox -----------------------------------------------------------------------------------

CASES = EpochSandbox().cases()


@pytest.fixture(scope="module")
def sandboxed() -> Iterator[Payhelp]:
    ph = Payhelp(
        load_plugins=["epoch"],
        processors={"epoch": {"settings": {"auth_user": "u", "auth_pass": "p", "max_retries": 0}}},
    )
    yield ph
    ph.close()


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("approved", PaymentStatus.APPROVED),
        ("declined", PaymentStatus.DECLINED),
        ("refunded", PaymentStatus.REFUNDED),
        ("chargeback", PaymentStatus.CHARGEBACK),
        ("cancelled_subscription", PaymentStatus.CANCELLED_SUBSCRIPTION),
        ("pending", PaymentStatus.PENDING),
    ],
)
def test_sandbox_lookup_by_member_id_and_email(
    sandboxed: Payhelp, case: str, status: PaymentStatus
) -> None:
    email = case.replace("_", ".") + "@example.com"
    result = sandboxed.lookup(
        "epoch", references={"member": CASES[case]}, email=email, sandbox=True
    )
    assert result.status is status
    assert result.source == "sandbox"
    assert all(r.references == {"member": CASES[case]} for r in result.records)
    assert result.records[0].card_last4 == CASES[case][-4:]


def test_sandbox_other_combinations(sandboxed: Payhelp) -> None:
    by_user = sandboxed.lookup("epoch", username="refunded", card_last4="0003", sandbox=True)
    assert by_user.status is PaymentStatus.REFUNDED
    by_tx = sandboxed.lookup(
        "epoch", references={"member": CASES["approved"]}, transaction_id="200000001", sandbox=True
    )
    assert by_tx.status is PaymentStatus.APPROVED
    with pytest.raises(NotFoundError):  # the fields are combined: a wrong email finds nothing
        sandboxed.lookup(
            "epoch", references={"member": CASES["approved"]}, email="x@example.com", sandbox=True
        )


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("not_found", NotFoundError),
        ("failing", InternalServerError),
        ("malformed", APIResponseValidationError),
    ],
)
def test_sandbox_failure_cases(sandboxed: Payhelp, case: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        sandboxed.lookup(
            "epoch", references={"member": CASES[case]}, email="a@example.com", sandbox=True
        )


def test_sandbox_wrong_credentials_get_the_xml_auth_error() -> None:
    ph = Payhelp(
        load_plugins=["epoch"],
        processors={"epoch": {"settings": {"auth_user": "u", "auth_pass": "wrong"}}},
    )
    with pytest.raises(AuthenticationError, match="Authentication failed"):
        ph.lookup(
            "epoch", references={"member": CASES["approved"]}, username="approved", sandbox=True
        )


def test_sandbox_slow_case_asks_for_a_delay() -> None:
    box = EpochSandbox()
    request = httpx.Request(
        "GET",
        "http://sandbox.payhelp.test/",
        params={
            "auth_user": "u",
            "auth_pass": "p",
            "api_action": "search",
            "member_id": CASES["slow"],
        },
    )
    response = box.handle(request)
    assert response.headers[DELAY_HEADER] == f"{SLOW_SECONDS:g}"
    credit = httpx.Request(
        "GET",
        "http://sandbox.payhelp.test/",
        params={
            "auth_user": "u",
            "auth_pass": "p",
            "api_action": "credit",
            "trans_id": CASES["credit_slow"],
            "credit_reason": "dupcharg",
        },
    )
    assert box.handle(credit).headers[DELAY_HEADER] == f"{SLOW_SECONDS:g}"
    assert (
        DELAY_HEADER
        not in box.handle(
            httpx.Request(
                "GET",
                "http://x/",
                params={
                    "auth_user": "u",
                    "auth_pass": "p",
                    "api_action": "search",
                    "member_id": CASES["approved"],
                },
            )
        ).headers
    )


class CountingSandbox(EpochSandbox):
    def __init__(self) -> None:
        self.calls = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return super().handle(request)


def sandbox_adapter(box: EpochSandbox) -> ApiDriver:
    transport = SandboxTransport(box)
    return ApiDriver(
        EpochApi(sandbox=True),
        AdapterSettings(
            base_url=sandbox_base_url("epoch"),
            credentials={"auth_user": "u", "auth_pass": "p"},
            transport=transport,
            async_transport=transport,
            sandbox=True,
        ),
    )


@pytest.mark.parametrize(
    ("case", "outcome"),
    [
        ("credit_approved", None),
        ("credit_already_refunded", ConflictError),
        ("credit_chargeback", ConflictError),
        ("credit_not_approved", UnprocessableEntityError),
        ("credit_not_found", NotFoundError),
        ("credit_failing", InternalServerError),
    ],
)
def test_sandbox_credits_are_sent_once(case: str, outcome: type[Exception] | None) -> None:
    box = CountingSandbox()
    adapter = sandbox_adapter(box)
    request = dispute(transaction_id=CASES[case])
    if outcome is None:
        receipt = adapter.submit(request, "k")
        assert receipt.status is SubmissionStatus.SENT
        assert receipt.reference == CASES[case]
    else:
        with pytest.raises(outcome):
            adapter.submit(request, "k")
    assert box.calls == 1


def test_readme_lists_every_sandbox_case() -> None:
    text = README.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| `(\d+)` \|", text, flags=re.MULTILINE))
    assert rows == CASES


def test_the_sandbox_needs_no_credentials_of_the_platform() -> None:
    """Integrators try the sandbox before they have an Epoch account: each missing credential is
    the core's placeholder there, never against the real API."""
    with Payhelp(load_plugins=["epoch"]) as ph:
        result = ph.lookup(
            "epoch",
            references={"member": CASES["approved"]},
            email="approved@example.com",
            sandbox=True,
        )
        assert result.status is PaymentStatus.APPROVED
        assert ph.adapter("epoch", sandbox=False) is None
