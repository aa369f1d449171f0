"""The plugin contract's core side: a ProcessorApi registered with its processor, driven by the
core over its own clients (sync and async), with credentials declared, masked by name, and
requests with side effects never repeated blindly; plus the wire kit."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
import respx

from payhelp import Payhelp, hookimpl, wire
from payhelp.adapters import (
    ApiAdapter,
    ApiDriver,
    Call,
    HeaderAuth,
    Operation,
    ProcessorApi,
    QueryAuth,
    RequestSpec,
    adrive,
    drive,
)
from payhelp.cases import (
    DisputeReason,
    DisputeRequest,
    LookupQuery,
    LookupResult,
    LookupRule,
    PaymentStatus,
    SubmissionReceipt,
    SubmissionStatus,
)
from payhelp.channels import ContactDirectory
from payhelp.errors import (
    APIResponseValidationError,
    APIStatusError,
    CapabilityError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PluginError,
)
from payhelp.hookspecs import RegisterProcessor
from payhelp.models import Capabilities, Money, ProcessorInfo, Transaction

from .conftest import make_directory

BASE = "https://api.tinypay.test/v1/"
TOKEN = "tp-secret-5f1c9a"
SHORT = "pw1"  # too short to scrub by value: only masking by name hides it


def info(**changes: object) -> ProcessorInfo:
    data: dict[str, object] = {
        "id": "tinypay",
        "name": "TinyPay",
        "website": "https://tinypay.test/",
        "regions": ["eea"],
        "capabilities": Capabilities(email_submission=True),
        **changes,
    }
    return ProcessorInfo.model_validate(data, strict=False)


DIRECTORY: ContactDirectory = make_directory("tinypay")


class TinyApi(ProcessorApi):
    """A two-request lookup (payment, then its refunds) and a refund that is a GET task."""

    processor = "tinypay"
    basis = "official"
    base_url = BASE
    reference = "https://docs.tinypay.test/api"
    auth = QueryAuth({"key": "api_key", "pin": "pin"}, spellings={"tasks/": {"key": "apikey"}})
    lookup_rules = (LookupRule(fields=("transaction_id",)),)

    def has_side_effects(self, request: httpx.Request) -> bool:
        return "tasks/" in request.url.path or super().has_side_effects(request)

    def error_for(self, response: httpx.Response, request_id: str | None) -> APIStatusError | None:
        root = wire.try_xml(response.content)
        if root is not None and root.tag == "error":
            return PHRASES.error(self, root.text or "", response, request_id)
        return None

    def lookup(self, query: LookupQuery) -> Operation[LookupResult]:
        payment = yield Call("GET", f"payments/{query.transaction_id}")
        root = wire.read_xml(self, payment)
        status = PaymentStatus.APPROVED
        if root.findtext("refundable") == "no":
            refunds = yield Call("GET", f"payments/{query.transaction_id}/refunds")
            if wire.read_xml(self, refunds).findall("refund"):
                status = PaymentStatus.REFUNDED
        return LookupResult(
            processor=self.processor,
            status=status,
            source=self.source,
            request_id=wire.request_id(payment),
        )

    def submit(self, request: DisputeRequest, idempotency_key: str) -> Operation[SubmissionReceipt]:
        wire.whole_transaction_only(self, request, "write to TinyPay for part of it")
        response = yield Call(
            "GET", "tasks/refund", params={"id": request.transaction.transaction_id or ""}
        )
        wire.read_xml(self, response)
        return wire.api_receipt(self, idempotency_key, reference="r-1", detail="refunded")


PHRASES = wire.Phrases(
    (
        wire.Phrase(("already refunded",), ConflictError, 409),
        wire.Phrase(("no such",), NotFoundError, 404),
    )
)


class TinySandbox:
    processor = "tinypay"

    def cases(self) -> dict[str, str]:
        return {"approved": "1", "refunded": "2", "not_found": "404"}

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/404"):
            return httpx.Response(200, text="<error>no such payment</error>")
        if path.endswith("/refunds"):
            return httpx.Response(200, text="<refunds><refund/></refunds>")
        refundable = "no" if path.endswith("/2") else "yes"
        return httpx.Response(200, text=f"<payment><refundable>{refundable}</refundable></payment>")


class NewStylePlugin:
    @hookimpl
    def payhelp_register_processors(self, register: RegisterProcessor) -> None:
        register(info(), DIRECTORY, api=TinyApi, sandbox=TinySandbox)


def tiny(**settings: object) -> Payhelp:
    configured = {"api_key": TOKEN, "pin": SHORT, "max_retries": 2, **settings}
    return Payhelp(
        load_entry_points=False,
        plugins=[("tinypay", NewStylePlugin())],
        processors={"tinypay": {"settings": configured}},
    )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def xml(body: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, text=body, headers={"Content-Type": "text/xml"})


# -- registration ----------------------------------------------------------------------------


def test_capabilities_and_public_api_are_derived_from_the_registered_api() -> None:
    processor = tiny().processor("tinypay")
    assert processor.capabilities.api_lookup is True
    assert processor.capabilities.api_submission is True
    assert processor.capabilities.email_submission is True  # the plugin's own flags stay
    assert processor.public_api is not None
    assert processor.public_api.basis == "official"
    assert str(processor.public_api.base_url) == BASE
    assert processor.public_api.reference == TinyApi.reference


def test_an_api_that_cannot_submit_says_so_in_the_capabilities() -> None:
    class LookupOnly(TinyApi):
        can_submit = False

    class Plugin:
        @hookimpl
        def payhelp_register_processors(self, register: RegisterProcessor) -> None:
            register(info(), DIRECTORY, api=LookupOnly)

    ph = Payhelp(load_entry_points=False, plugins=[("tinypay", Plugin())])
    assert ph.processor("tinypay").capabilities.api_submission is False


class _Other(TinyApi):
    processor = "otherpay"


class _NoReference(ProcessorApi):
    processor = "tinypay"
    basis = "official"
    base_url = BASE
    auth = HeaderAuth({"Authorization": "{token}"})
    lookup_rules = ()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"api": object}, "ProcessorApi subclass"),
        ({"api": _Other}, "API of 'otherpay'"),
        ({"api": _NoReference}, "does not declare reference"),
        ({"sandbox": TinySandbox}, "needs the api"),
        ({"api": TinyApi, "sandbox": "not callable"}, "Sandbox class or factory"),
    ],
)
def test_a_wrong_registration_names_what_to_fix(kwargs: dict[str, object], words: str) -> None:
    class Plugin:
        @hookimpl
        def payhelp_register_processors(self, register: RegisterProcessor) -> None:
            register(info(), DIRECTORY, **kwargs)  # type: ignore[arg-type]

    with pytest.raises(PluginError, match=words):
        Payhelp(load_entry_points=False, strict_plugins=True, plugins=[("tinypay", Plugin())])


# -- the core drives the operations ------------------------------------------------------------


def test_a_two_request_lookup_is_one_operation_sync_and_async(api: respx.MockRouter) -> None:
    api.get("payments/2").mock(return_value=xml("<payment><refundable>no</refundable></payment>"))
    api.get("payments/2/refunds").mock(return_value=xml("<refunds><refund/></refunds>"))
    ph = tiny()
    assert ph.lookup("tinypay", transaction_id="2").status is PaymentStatus.REFUNDED
    awaited = asyncio.run(ph.alookup("tinypay", transaction_id="2"))
    assert awaited.status is PaymentStatus.REFUNDED
    assert api.calls.call_count == 4
    sent = api.calls[0].request.url.params
    assert (sent["key"], sent["pin"]) == (TOKEN, SHORT)


def test_query_credentials_take_the_path_s_spelling(api: respx.MockRouter) -> None:
    route = api.get("tasks/refund").mock(return_value=xml("<ok/>"))
    tiny().adapter("tinypay").submit(refund(), "k-1")  # type: ignore[union-attr]
    sent = route.calls.last.request.url.params
    assert sent["apikey"] == TOKEN
    assert "key" not in sent


def test_query_credentials_follow_the_call_s_parameters_and_win_over_them() -> None:
    auth = QueryAuth({"auth_user": "user", "auth_pass": "password"})
    request = httpx.Request("GET", BASE, params={"api_action": "search", "auth_pass": "forged"})
    sent = auth.apply(request, {"user": "u-1", "password": "p-1"}.__getitem__).url.params
    assert list(sent.multi_items()) == [
        ("api_action", "search"),
        ("auth_pass", "p-1"),
        ("auth_user", "u-1"),
    ]


def test_credentials_are_masked_by_name_in_logs_and_errors(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.get("payments/9").mock(return_value=httpx.Response(500, text=f"boom pin={SHORT}"))
    with pytest.raises(InternalServerError) as raised:
        tiny(max_retries=0).lookup("tinypay", transaction_id="9")
    assert "pin=[secret]" in str(raised.value)
    assert "HTTP Request" in caplog.text
    assert "pin=[secret]" in caplog.text
    assert f"pin={SHORT}" not in caplog.text + str(raised.value)
    assert TOKEN not in caplog.text + str(raised.value)


def test_a_task_with_side_effects_is_never_sent_twice_after_it_may_have_arrived(
    api: respx.MockRouter,
) -> None:
    route = api.get("tasks/refund").mock(return_value=httpx.Response(502))
    with pytest.raises(InternalServerError) as raised:
        tiny().adapter("tinypay").submit(refund(), "k-2")  # type: ignore[union-attr]
    assert route.call_count == 1
    assert raised.value.maybe_applied is True
    # A lookup (no side effects) is retried on the same answer.
    lookup = api.get("payments/1").mock(return_value=httpx.Response(502))
    with pytest.raises(InternalServerError):
        tiny(sleep=lambda _: None).lookup("tinypay", transaction_id="1")
    assert lookup.call_count == 3


def test_a_refused_connection_is_retried_even_for_a_task(api: respx.MockRouter) -> None:
    route = api.get("tasks/refund").mock(side_effect=[httpx.ConnectError("refused"), xml("<ok/>")])
    receipt = tiny(sleep=lambda _: None).adapter("tinypay").submit(refund(), "k-3")  # type: ignore[union-attr]
    assert receipt.status is SubmissionStatus.SENT
    assert route.call_count == 2


def test_error_mapping_and_phrases(api: respx.MockRouter) -> None:
    api.get("payments/404").mock(return_value=xml("<error>No such payment</error>"))
    with pytest.raises(NotFoundError, match="No such payment"):
        tiny().lookup("tinypay", transaction_id="404")


def test_a_partial_refund_is_refused_before_anything_is_sent(api: respx.MockRouter) -> None:
    adapter = tiny().adapter("tinypay")
    assert adapter is not None
    with pytest.raises(CapabilityError, match="whole transaction"):
        adapter.submit(refund(amount=Money(amount=Decimal("1.00"), currency="EUR")), "k-4")
    assert not api.calls


def test_the_registered_sandbox_answers_without_credentials() -> None:
    ph = Payhelp(load_entry_points=False, plugins=[("tinypay", NewStylePlugin())], sandbox=True)
    result = ph.lookup("tinypay", transaction_id="2")
    assert (result.status, result.source) == (PaymentStatus.REFUNDED, "sandbox")
    with pytest.raises(NotFoundError):
        ph.lookup("tinypay", transaction_id="404")


def test_drive_and_adrive_send_each_call_and_return_the_result() -> None:
    def operation() -> Operation[str]:
        first = yield Call("GET", "a")
        second = yield Call("GET", first.text)
        return second.text

    answers = {"a": "b", "b": "done"}

    def send(call: RequestSpec) -> httpx.Response:
        return httpx.Response(200, text=answers[call.path])

    async def asend(call: RequestSpec) -> httpx.Response:
        return send(call)

    assert drive(operation(), send) == "done"
    assert asyncio.run(adrive(operation(), asend)) == "done"


def test_an_operation_s_own_error_reaches_the_caller_and_closes_it() -> None:
    closed = []

    def operation() -> Operation[str]:
        try:
            yield Call("GET", "a")
            raise AssertionError("not reached")
        finally:
            closed.append(True)

    def send(call: RequestSpec) -> httpx.Response:
        raise ConflictError("taken", processor="tinypay", status_code=409)

    with pytest.raises(ConflictError):
        drive(operation(), send)
    assert closed == [True]


# -- the old contract still works, and warns once --------------------------------------------


class OldAdapter(ApiAdapter):
    processor = "tinypay"
    basis = "official"
    default_base_url = BASE
    credential_names = ("api_key",)
    lookup_rules = (LookupRule(fields=("transaction_id",)),)

    def lookup_request(self, query: LookupQuery) -> RequestSpec:
        return RequestSpec("GET", f"payments/{query.transaction_id}")

    def parse_lookup(self, query, response, client):  # type: ignore[no-untyped-def]
        return LookupResult(processor="tinypay", status=PaymentStatus.APPROVED, source="api")


class OldStylePlugin:
    @hookimpl
    def payhelp_register_processors(self, register: RegisterProcessor) -> None:
        register(info(), DIRECTORY)

    @hookimpl
    def payhelp_adapter(self, processor, settings):  # type: ignore[no-untyped-def]
        return OldAdapter.from_settings(settings, {}) if processor.id == "tinypay" else None


def test_an_old_style_adapter_still_works_and_warns_once(api: respx.MockRouter) -> None:
    api.get("payments/1").mock(return_value=xml("<payment/>"))
    ph = Payhelp(
        load_entry_points=False,
        plugins=[("tinypay", OldStylePlugin())],
        processors={"tinypay": {"settings": {"api_key": TOKEN}}},
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert ph.lookup("tinypay", transaction_id="1").status is PaymentStatus.APPROVED
        ph.adapter("tinypay", sandbox=False)
        Payhelp.adapter(ph, "tinypay")
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1
    assert "payhelp_adapter is deprecated" in str(deprecations[0].message)
    record = next(r for r in ph.plugins() if r.name == "tinypay")
    assert any("deprecated" in note for note in record.notes)


# -- the wire kit -------------------------------------------------------------------------------


def _response(body: bytes, **headers: str) -> httpx.Response:
    return httpx.Response(200, content=body, headers=headers, request=httpx.Request("GET", BASE))


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "empty"),
        (b"<html><body>oops</body></html>", "HTML page"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DTD or an entity"),
        (b"<x><y></x>", "not well-formed"),
    ],
)
def test_read_xml_refuses_what_cannot_be_read_safely(body: bytes, why: str) -> None:
    with pytest.raises(APIResponseValidationError, match=why):
        wire.read_xml(TinyApi(), _response(body))
    assert wire.try_xml(body) is None


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "not JSON"),
        (b"<html><body>oops</body></html>", "not JSON"),
        (b'{"payment": {"id": 1', "not JSON"),  # cut short
        (b"[1, 2]", "not a JSON object"),
        (b'"ok"', "not a JSON object"),
    ],
)
def test_read_json_wants_an_object(body: bytes, why: str) -> None:
    with pytest.raises(APIResponseValidationError, match=why) as caught:
        wire.read_json(TinyApi(), _response(body))
    assert caught.value.processor == "tinypay"
    assert wire.try_json(body) is None
    assert wire.read_json(TinyApi(), _response(b'{"a": [1]}')) == {"a": [1]}
    assert wire.try_json(b'{"a": [1]}') == {"a": [1]}


def test_a_lookup_result_is_the_api_s_with_the_answer_s_request_id() -> None:
    answer = _response(b"", **{"x-request-id": "theirs"})
    result = wire.lookup_result(
        TinyApi(sandbox=True), answer, status=PaymentStatus.PENDING, message="m"
    )
    assert (result.processor, result.source, result.request_id) == ("tinypay", "sandbox", "theirs")
    assert (result.status, result.records, result.message) == (PaymentStatus.PENDING, (), "m")
    assert wire.lookup_result(TinyApi(), answer, status=PaymentStatus.PENDING).source == "api"


def test_the_request_id_is_the_processor_s_else_ours() -> None:
    assert wire.request_id(_response(b"", **{"x-request-id": "theirs"})) == "theirs"
    ours = httpx.Response(200, request=httpx.Request("GET", BASE, headers={"X-Request-Id": "mine"}))
    assert wire.request_id(ours) == "mine"
    assert wire.request_id(httpx.Response(200)) is None


def test_lenient_readers_never_guess() -> None:
    assert wire.money("-9.99", "EUR") is not None
    assert wire.money("-9.99", "EUR").amount == Decimal("9.99")  # type: ignore[union-attr]
    assert wire.money("nine", "EUR") is None
    assert wire.money("9.99", "") is None
    assert wire.money(None, "EUR") is None
    assert wire.moment("2026-11-20T10:00:00.1234567") == datetime(
        2026, 11, 20, 10, 0, 0, 123456, tzinfo=UTC
    )
    assert wire.moment("2026-11-20T10:00:00", naive="refuse") is None
    assert wire.moment("yesterday") is None
    assert wire.last4("************1111") == "1111"
    assert wire.last4("4111111111111111") == "1111"
    assert wire.last4("11") is None
    assert wire.last4("4024XXXX63a8") is None  # digits from anywhere are no last four
    assert wire.last4("402400****\uff16\uff13\uff14\uff18") is None  # full-width digits
    assert wire.local_name("{urn:x}Data") == "Data"


@pytest.mark.parametrize(
    ("number", "last4"),
    [
        ("402400****6348", "6348"),
        ("4024007134566348", "6348"),
        ("  ****1111 ", "1111"),
        ("****", None),
        ("63", None),
        ("", None),
        (None, None),
        ("4024XXXX63a8", None),
        ("402400****\uff16\uff13\uff14\uff18", None),  # full-width digits are not ASCII
    ],
)
def test_last4_keeps_only_the_four_ascii_digits_that_end_the_field(
    number: str | None, last4: str | None
) -> None:
    assert wire.last4(number) == last4


def test_header_auth_fills_its_templates() -> None:
    auth = HeaderAuth({"Authorization": "Bearer {token}", "X-Shop": "{shop}"})
    assert auth.credential_names == ("token", "shop")
    request = auth.apply(httpx.Request("GET", BASE), {"token": "t", "shop": "s"}.__getitem__)
    assert (request.headers["Authorization"], request.headers["X-Shop"]) == ("Bearer t", "s")


def refund(**fields: object) -> DisputeRequest:
    data: dict[str, object] = {
        "transaction": Transaction(processor="tinypay", transaction_id="1"),
        "reason": DisputeReason.DUPLICATE_CHARGE,
        "message": "Charged twice for one purchase.",
        "contact_email": "jane@example.com",
        **fields,
    }
    return DisputeRequest.model_validate(data)


def test_the_driver_is_an_adapter_for_everything_that_uses_one() -> None:
    adapter = tiny().adapter("tinypay")
    assert isinstance(adapter, ApiDriver)
    assert isinstance(adapter, ApiAdapter)
    assert adapter.processor == "tinypay"
    assert adapter.credential_names == ("api_key", "pin")
    assert adapter.source == "api"
