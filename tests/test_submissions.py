"""Dispute and refund submission: idempotency, the store, channels, failures, sync and async.

Email through a real SMTP server is in ``test_mail.py``; here email submissions become ``.eml``
files (no ``[smtp]``), and API submissions go to an ``httpx.MockTransport`` behind a test plugin's
adapter.
"""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from payhelp import AsyncPayhelp, DisputeRequest, Payhelp, hookimpl
from payhelp.adapters import ApiAdapter, RequestSpec
from payhelp.cases import (
    Attachment,
    LookupRule,
    SubmissionChannel,
    SubmissionReceipt,
    SubmissionStatus,
)
from payhelp.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    BadRequestError,
    CapabilityError,
    ConfigurationError,
    InternalServerError,
    InvalidInputError,
    PluginError,
    StorageError,
    UnknownProcessorError,
    UnprocessableEntityError,
)
from payhelp.http import AsyncClient, SyncClient
from payhelp.store import SubmissionStore
from payhelp.submissions import idempotency_key, summary

from .conftest import SyntheticPlugin, make_info

CARD = "4111111111111111"  # Luhn-valid test card number
CARD_GROUPED = "4111 1111 1111 1111"


# -- a processor with a refund API, behind a MockTransport -----------------------------------------


class FakeApi:
    """The processor's refund endpoint. Each POST takes the next scripted behaviour (a status
    code, an exception class, or a callable); 200 with a new refund id once the script runs out."""

    def __init__(self, *script: object, delay: float = 0.0) -> None:
        self.script = list(script)
        self.delay = delay
        self.calls: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.calls.append(request)
            number = len(self.calls)
            step = self.script.pop(0) if self.script else 200
        if self.delay:
            time.sleep(self.delay)
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("scripted failure", request=request)
        if callable(step):
            return step(request)
        if step == 200:
            return httpx.Response(200, json={"refund_id": f"RF-{number}", "reason": "dup"})
        return httpx.Response(
            int(step),  # type: ignore[call-overload]
            json={"error": f"card {CARD} rejected"},
        )

    @property
    def posts(self) -> int:
        return sum(1 for c in self.calls if c.method == "POST")


class RefundClient(SyncClient):
    processor = "apipay"

    def authenticate(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {self.credential('api_key')}"
        return request


class RefundAsyncClient(AsyncClient):
    processor = "apipay"

    def authenticate(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {self.credential('api_key')}"
        return request


class RefundAdapter(ApiAdapter):
    processor = "apipay"
    basis = "official"
    default_base_url = "https://api.apipay.example/v1/"
    credential_names = ("api_key",)
    lookup_rules = (LookupRule(fields=("transaction_id",)),)
    sync_client_class = RefundClient
    async_client_class = RefundAsyncClient

    def submit_request(self, request: DisputeRequest, idempotency_key: str) -> RequestSpec:
        return RequestSpec(
            "POST",
            "refunds",
            json={
                "transaction": request.transaction.transaction_id,
                "reason": request.reason.value,
                "reference": idempotency_key,
            },
            idempotency_key=idempotency_key,
        )

    def parse_submit(self, request, idempotency_key, response, client) -> SubmissionReceipt:
        body = client.parse_json(response)
        return SubmissionReceipt(
            processor="apipay",
            idempotency_key=idempotency_key,
            channel=SubmissionChannel.API,
            reference=body["refund_id"],
            submitted_at=datetime.now(UTC),
            processor_reason=body.get("reason"),
        )


class LookupOnlyAdapter(RefundAdapter):
    can_submit = False


class RefundPlugin:
    @hookimpl
    def payhelp_adapter(self, processor, settings) -> ApiAdapter | None:
        if processor.id != "apipay":
            return None
        kind = LookupOnlyAdapter if settings.get("lookup_only") else RefundAdapter
        return kind.from_settings(settings, environ={})


def make_ph(
    tmp_path: Path,
    api: FakeApi | None = None,
    *,
    db: str = "s.db",
    lookup_only: bool = False,
    api_settings: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Payhelp:
    """webbilling (email only), wtseticket (web form and email) and the test processor apipay
    (email and a refund API when ``api`` is given)."""
    processors: dict[str, Any] = dict(kwargs.pop("processors", {}))
    if api is not None:
        transport = httpx.MockTransport(api)
        settings = {"api_key": "k-secret-123", "transport": transport, "async_transport": transport}
        settings |= {"lookup_only": lookup_only} | (api_settings or {})
        processors["apipay"] = {"settings": settings}
    kwargs.setdefault("store_url", f"sqlite:///{tmp_path / db}")
    return Payhelp(
        load_plugins=["webbilling", "wtseticket"],
        plugins=[("apipay", SyntheticPlugin(make_info("apipay"))), ("refunds", RefundPlugin())],
        outbox=tmp_path / "outbox",
        processors=processors,
        **kwargs,
    )


def fields(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "transaction": {
            "transaction_id": "TX-1001",
            "references": {"member": "M-77"},
            "amount": {"amount": "19.99", "currency": "EUR"},
            "purchased_at": "2026-01-05T10:00:00+00:00",
            "descriptor": "WEBBILLING*SHOP",
        },
        "reason": "duplicate_charge",
        "message": "I was charged twice for the same tokens.",
        "contact_email": "customer@example.org",
        "card_last4": "1111",
    }
    base.update(changes)
    return base


def request(**changes: Any) -> DisputeRequest:
    return DisputeRequest.model_validate(fields(**changes), strict=False)


def receipt_file(name: str = "receipt.pdf", data: bytes = b"%PDF-1.4 receipt") -> dict[str, Any]:
    return {"filename": name, "content_type": "application/pdf", "data": data}


def eml_files(tmp_path: Path) -> list[Path]:
    outbox = tmp_path / "outbox"
    return sorted(outbox.iterdir()) if outbox.exists() else []


def rows(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("select * from payhelp_submissions order by id")]


# -- the idempotency key ---------------------------------------------------------------------------


def test_key_is_stable_for_the_same_request() -> None:
    key = idempotency_key("webbilling", request())
    assert key.startswith("ph_")
    assert len(key) == 43
    assert idempotency_key("webbilling", request()) == key
    # The same request written another way: references and fields in another order, strings
    # for enums, an equal model built directly.
    shuffled = {
        "card_last4": "1111",
        "contact_email": "customer@example.org",
        "message": "I was charged twice for the same tokens.",
        "reason": "duplicate_charge",
        "transaction": dict(reversed(list(fields()["transaction"].items()))),
    }
    assert (
        idempotency_key("webbilling", DisputeRequest.model_validate(shuffled, strict=False)) == key
    )
    again = DisputeRequest.model_validate_json(request().model_dump_json())
    assert idempotency_key("webbilling", again) == key


def test_key_identifies_attachments_by_content() -> None:
    one = request(attachments=[receipt_file(data=b"A" * 100)])
    same = request(attachments=[receipt_file(data=b"A" * 100)])
    assert idempotency_key("webbilling", one) == idempotency_key("webbilling", same)
    keys = {
        idempotency_key("webbilling", r)
        for r in (
            one,
            request(attachments=[receipt_file(data=b"A" * 99 + b"B")]),
            request(attachments=[receipt_file(name="other.pdf", data=b"A" * 100)]),
            request(attachments=[{**receipt_file(data=b"A" * 100), "content_type": "image/png"}]),
            request(attachments=[receipt_file(data=b"A" * 100)] * 2),
            request(),
        )
    }
    assert len(keys) == 6


@pytest.mark.parametrize(
    "change",
    [
        {"reason": "not_recognised"},
        {"message": "I was charged twice for the same tokens!"},
        {"contact_email": "other@example.org"},
        {"card_last4": "2222"},
        {"amount": {"amount": "5", "currency": "EUR"}},
        {"transaction": {**fields()["transaction"], "transaction_id": "TX-1002"}},
        {"transaction": {**fields()["transaction"], "references": {"member": "M-78"}}},
        {
            "transaction": {
                **fields()["transaction"],
                "amount": {"amount": "19.99", "currency": "USD"},
            }
        },
        {"transaction": {**fields()["transaction"], "purchased_at": "2026-01-06T10:00:00+00:00"}},
    ],
)
def test_key_changes_when_anything_changes(change: dict[str, Any]) -> None:
    assert idempotency_key("webbilling", request(**change)) != idempotency_key(
        "webbilling", request()
    )


def test_key_depends_on_the_processor() -> None:
    assert idempotency_key("webbilling", request()) != idempotency_key("wtseticket", request())


# -- exactly once ----------------------------------------------------------------------------------


def test_same_request_twice_returns_the_first_receipt_and_writes_once(tmp_path: Path) -> None:
    ph = make_ph(tmp_path)
    first = ph.submit_dispute("webbilling", fields())
    assert first.status is SubmissionStatus.PREPARED
    assert first.channel is SubmissionChannel.EML_FILE
    assert not first.replayed
    second = ph.submit_dispute("webbilling", request())  # a DisputeRequest works as well
    assert second.replayed
    assert second.idempotency_key == first.idempotency_key
    assert second.reference == first.reference
    assert second.submitted_at == first.submitted_at
    assert second.location == first.location
    assert second.status is SubmissionStatus.PREPARED
    assert second.detail != first.detail  # says it is the first receipt
    assert len(eml_files(tmp_path)) == 1
    [record] = ph.disputes()
    assert record.attempts == 1
    assert record.receipt is not None
    assert not record.receipt.replayed


def test_same_request_twice_posts_once(tmp_path: Path) -> None:
    api = FakeApi()
    ph = make_ph(tmp_path, api)
    first = ph.submit_dispute("apipay", fields())
    second = ph.submit_dispute("apipay", fields())
    assert api.posts == 1
    assert first.channel is SubmissionChannel.API
    assert first.status is SubmissionStatus.SENT
    assert first.reference == "RF-1"
    assert first.processor_reason == "dup"
    assert second.replayed
    assert second.reference == "RF-1"
    # The adapter got payhelp's key and the credentials.
    sent = api.calls[0]
    assert sent.url == "https://api.apipay.example/v1/refunds"
    assert sent.headers["Authorization"] == "Bearer k-secret-123"
    assert first.idempotency_key in sent.content.decode()


def test_a_changed_request_is_a_new_submission(tmp_path: Path) -> None:
    api = FakeApi()
    ph = make_ph(tmp_path, api)
    a = ph.submit_dispute("apipay", fields())
    b = ph.submit_dispute("apipay", fields(message="Charged twice, please refund one."))
    assert a.idempotency_key != b.idempotency_key
    assert not b.replayed
    assert api.posts == 2


def test_explicit_idempotency_key(tmp_path: Path) -> None:
    api = FakeApi()
    ph = make_ph(tmp_path, api)
    first = ph.submit_dispute("apipay", fields(), idempotency_key="ticket-4711")
    assert first.idempotency_key == "ticket-4711"
    # The key decides, not the content: another wording under the same key is the same request.
    again = ph.submit_dispute(
        "apipay", fields(message="other words"), idempotency_key="ticket-4711"
    )
    assert again.replayed
    assert again.reference == first.reference
    assert api.posts == 1
    # Without the explicit key the derived key is a different submission.
    derived = ph.submit_dispute("apipay", fields())
    assert derived.idempotency_key != "ticket-4711"
    assert api.posts == 2
    assert ph.dispute("ticket-4711").receipt == first


@pytest.mark.parametrize("key", ["k" * 101])
def test_overlong_idempotency_key_is_refused_before_recording(tmp_path: Path, key: str) -> None:
    ph = make_ph(tmp_path)
    with pytest.raises(InvalidInputError, match="1 to 100 characters"):
        ph.submit_dispute("webbilling", fields(), idempotency_key=key)
    assert ph.disputes() == []
    assert eml_files(tmp_path) == []


def test_process_died_between_sending_and_recording(tmp_path: Path) -> None:
    api = FakeApi()
    ph = make_ph(tmp_path, api)
    # What a crash leaves behind: the claim, never finished.
    key = idempotency_key("apipay", request())
    claim = ph.store.claim(key, "apipay", "duplicate_charge", summary(request()))
    assert claim.fresh
    receipt = ph.submit_dispute("apipay", fields())
    assert receipt.status is SubmissionStatus.IN_DOUBT
    assert receipt.replayed
    assert receipt.idempotency_key == key
    assert receipt.reference is None
    assert "will not send it again" in (receipt.detail or "")
    assert api.posts == 0
    # Email too: nothing is written.
    key = idempotency_key("webbilling", request())
    ph.store.claim(key, "webbilling", "duplicate_charge", summary(request()))
    assert ph.submit_dispute("webbilling", fields()).status is SubmissionStatus.IN_DOUBT
    assert eml_files(tmp_path) == []


def test_italian_in_doubt_detail(tmp_path: Path) -> None:
    ph = make_ph(tmp_path)
    key = idempotency_key("webbilling", request())
    ph.store.claim(key, "webbilling", "duplicate_charge", summary(request()))
    english = ph.submit_dispute("webbilling", fields())
    italian = ph.submit_dispute("webbilling", fields(), language="it")
    assert italian.status is SubmissionStatus.IN_DOUBT
    assert italian.detail != english.detail


def _run_threads(count: int, work: Callable[[int], SubmissionReceipt]) -> list[SubmissionReceipt]:
    barrier = threading.Barrier(count)
    results: list[SubmissionReceipt] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        barrier.wait()
        try:
            receipt = work(index)
        except BaseException as exc:
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(receipt)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(results) == count
    return results


def _exactly_one_fresh(results: list[SubmissionReceipt]) -> None:
    fresh = [r for r in results if not r.replayed]
    assert len(fresh) == 1
    assert fresh[0].status is SubmissionStatus.SENT
    for other in results:
        assert other.idempotency_key == fresh[0].idempotency_key
        if other.replayed:
            # Either the first receipt, or "in doubt" while the first sender was still at it.
            assert other.status in (SubmissionStatus.SENT, SubmissionStatus.IN_DOUBT)
            if other.status is SubmissionStatus.SENT:
                assert other.reference == fresh[0].reference


def test_eight_threads_one_payhelp_send_once(tmp_path: Path) -> None:
    api = FakeApi(delay=0.05)
    ph = make_ph(tmp_path, api)
    results = _run_threads(8, lambda _: ph.submit_dispute("apipay", fields()))
    assert api.posts == 1
    _exactly_one_fresh(results)
    [record] = ph.disputes()
    assert record.status is SubmissionStatus.SENT


def test_two_payhelps_on_one_sqlite_file_send_once(tmp_path: Path) -> None:
    api = FakeApi(delay=0.05)
    one = make_ph(tmp_path, api)
    two = make_ph(tmp_path, api)
    assert one.store is not two.store
    assert one.store.url == two.store.url
    results = _run_threads(8, lambda i: (one if i % 2 else two).submit_dispute("apipay", fields()))
    assert api.posts == 1
    _exactly_one_fresh(results)
    # Each sees the other's record.
    assert one.disputes() == two.disputes()
    # Sequentially too: the second instance replays the first one's receipt.
    eml = two.submit_dispute("webbilling", fields())
    assert one.submit_dispute("webbilling", fields()).replayed
    assert len(eml_files(tmp_path)) == 1
    assert eml.status is SubmissionStatus.PREPARED


def test_payhelps_opening_a_fresh_store_at_once(tmp_path: Path) -> None:
    for round_ in range(3):
        api = FakeApi(delay=0.02)
        instances = [make_ph(tmp_path, api, db=f"fresh{round_}.db") for _ in range(8)]
        # First use of each store happens inside the threads, at the same moment.
        results = _run_threads(
            8, lambda i, batch=instances: batch[i].submit_dispute("apipay", fields())
        )
        assert api.posts == 1
        _exactly_one_fresh(results)


# -- the API channel and its failures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "error"),
    [(500, InternalServerError), (503, InternalServerError), (httpx.ReadTimeout, APITimeoutError)],
)
def test_api_failure_that_may_have_reached_the_processor_is_in_doubt(
    tmp_path: Path, step: object, error: type[Exception]
) -> None:
    api = FakeApi(step)
    ph = make_ph(tmp_path, api)
    with pytest.raises(error) as caught:
        ph.submit_dispute("apipay", fields())
    assert caught.value.maybe_applied is True  # type: ignore[attr-defined]
    assert api.posts == 1  # a POST is never retried blindly
    [record] = ph.disputes()
    assert record.status is SubmissionStatus.IN_DOUBT
    assert record.receipt is None
    assert record.error
    assert error.__name__ in record.error
    # Submitting again sends nothing and says it is in doubt.
    again = ph.submit_dispute("apipay", fields())
    assert again.status is SubmissionStatus.IN_DOUBT
    assert again.replayed
    assert api.posts == 1
    assert ph.dispute(record.id).attempts == 1


def test_unreadable_answer_is_in_doubt(tmp_path: Path) -> None:
    api = FakeApi(lambda r: httpx.Response(200, text="<html>maintenance</html>"))
    ph = make_ph(tmp_path, api)
    with pytest.raises(APIResponseValidationError):
        ph.submit_dispute("apipay", fields())
    assert ph.disputes()[0].status is SubmissionStatus.IN_DOUBT
    assert ph.submit_dispute("apipay", fields()).status is SubmissionStatus.IN_DOUBT
    assert api.posts == 1


@pytest.mark.parametrize(
    ("status", "error"), [(400, BadRequestError), (422, UnprocessableEntityError)]
)
def test_api_rejection_is_failed_and_may_be_submitted_again(
    tmp_path: Path, status: int, error: type[Exception]
) -> None:
    api = FakeApi(status)
    ph = make_ph(tmp_path, api)
    with pytest.raises(error) as caught:
        ph.submit_dispute("apipay", fields())
    assert caught.value.maybe_applied is False  # type: ignore[attr-defined]
    [record] = ph.disputes()
    assert record.status is SubmissionStatus.FAILED
    assert record.error
    assert CARD not in record.error  # the processor's echo of the card is masked
    assert "1111" in record.error
    again = ph.submit_dispute("apipay", fields())
    assert api.posts == 2
    assert again.status is SubmissionStatus.SENT
    assert not again.replayed
    assert again.reference == "RF-2"
    record = ph.dispute(record.id)
    assert record.status is SubmissionStatus.SENT
    assert record.attempts == 2
    assert record.error is None
    assert ph.submit_dispute("apipay", fields()).replayed
    assert api.posts == 2


def test_connection_never_made_is_failed_and_may_be_submitted_again(tmp_path: Path) -> None:
    api = FakeApi(httpx.ConnectError)
    ph = make_ph(tmp_path, api, api_settings={"max_retries": 0})
    with pytest.raises(APIConnectionError) as caught:
        ph.submit_dispute("apipay", fields())
    assert caught.value.maybe_applied is False
    assert ph.disputes()[0].status is SubmissionStatus.FAILED
    again = ph.submit_dispute("apipay", fields())
    assert again.status is SubmissionStatus.SENT
    assert len(api.calls) == 2
    assert ph.disputes()[0].attempts == 2


class BrokenParse(RefundAdapter):
    def parse_submit(self, request, idempotency_key, response, client) -> SubmissionReceipt:
        raise KeyError("refund_id")


class BrokenPlugin:
    @hookimpl
    def payhelp_adapter(self, processor, settings) -> ApiAdapter | None:
        return BrokenParse.from_settings(settings, environ={}) if processor.id == "apipay" else None


def test_unexpected_error_after_the_post_is_in_doubt(tmp_path: Path) -> None:
    api = FakeApi()
    transport = httpx.MockTransport(api)
    ph = Payhelp(
        load_plugins=["webbilling"],
        plugins=[("apipay", SyntheticPlugin(make_info("apipay"))), ("broken", BrokenPlugin())],
        store_url=f"sqlite:///{tmp_path / 's.db'}",
        outbox=tmp_path / "outbox",
        processors={"apipay": {"settings": {"api_key": "k", "transport": transport}}},
    )
    # The plugin's bug reaches the caller as a PayhelpError that says it may have been applied.
    with pytest.raises(PluginError, match="may have reached the processor") as caught:
        ph.submit_dispute("apipay", fields())
    assert caught.value.maybe_applied is True
    assert caught.value.idempotency_key == ph.disputes()[0].idempotency_key
    assert isinstance(caught.value.__cause__, KeyError)
    assert api.posts == 1
    assert ph.disputes()[0].status is SubmissionStatus.IN_DOUBT
    again = ph.submit_dispute("apipay", fields())  # an in-doubt receipt, no second POST
    assert again.status is SubmissionStatus.IN_DOUBT
    assert api.posts == 1


# -- choosing the channel ------------------------------------------------------------------------------


def test_auto_uses_the_api_when_an_adapter_can_submit(tmp_path: Path) -> None:
    api = FakeApi()
    assert (
        make_ph(tmp_path, api).submit_dispute("apipay", fields()).channel is SubmissionChannel.API
    )
    assert api.posts == 1


def test_auto_uses_email_when_the_adapter_cannot_submit(tmp_path: Path) -> None:
    api = FakeApi()
    ph = make_ph(tmp_path, api, lookup_only=True)
    assert ph.adapter("apipay") is not None
    receipt = ph.submit_dispute("apipay", fields())
    assert receipt.channel is SubmissionChannel.EML_FILE
    assert api.calls == []
    with pytest.raises(CapabilityError, match="no API submission"):
        ph.submit_dispute("apipay", fields(message="again"), channel="api")


def test_auto_uses_email_without_credentials(tmp_path: Path) -> None:
    ph = make_ph(tmp_path)
    assert ph.adapter("apipay") is None
    receipt = ph.submit_dispute("apipay", fields())
    assert receipt.channel is SubmissionChannel.EML_FILE
    assert receipt.detail is not None
    assert "help@apipay.example.com" in receipt.detail


def test_email_channel_skips_the_api(tmp_path: Path) -> None:
    api = FakeApi()
    ph = make_ph(tmp_path, api)
    assert (
        ph.submit_dispute("apipay", fields(), channel="email").channel is SubmissionChannel.EML_FILE
    )
    assert api.calls == []


def test_auto_prefers_email_to_the_web_form(tmp_path: Path) -> None:
    ph = make_ph(tmp_path)
    receipt = ph.submit_dispute("wtseticket", fields())
    assert receipt.channel is SubmissionChannel.EML_FILE
    assert "customerservice@wtseticket.com" in (receipt.detail or "")


@pytest.mark.parametrize("how", ["auto_without_email", "explicit"])
def test_web_form_answers(tmp_path: Path, how: str) -> None:
    if how == "explicit":
        ph = make_ph(tmp_path)
        channel = "web_form"
    else:
        ph = make_ph(tmp_path, processors={"wtseticket": {"remove_channels": ["email"]}})
        channel = "auto"
    req = fields(message=f"Card {CARD_GROUPED} charged twice")
    receipt = ph.submit_dispute("wtseticket", req, channel=channel)  # type: ignore[arg-type]
    assert receipt.channel is SubmissionChannel.WEB_FORM
    assert receipt.status is SubmissionStatus.PREPARED
    assert receipt.location == "https://www.wtseticket.com/"
    assert receipt.reference is None
    answers = receipt.answers
    assert answers["reason"] == "duplicate_charge"
    assert answers["transaction_id"] == "TX-1001"
    assert answers["references"] == "member M-77"
    assert answers["email"] == "customer@example.org"
    assert answers["card_last4"] == "1111"
    assert answers["amount"] == "19.99 EUR"
    assert CARD_GROUPED not in answers["message"]
    assert "[card …1111]" in answers["message"]
    assert "https://www.wtseticket.com/" in (receipt.detail or "")
    assert eml_files(tmp_path) == []
    [record] = ph.disputes()
    assert record.status is SubmissionStatus.PREPARED
    assert record.receipt is not None
    assert record.receipt.answers == answers
    again = ph.submit_dispute("wtseticket", req, channel=channel)  # type: ignore[arg-type]
    assert again.replayed
    assert again.answers == answers
    assert len(ph.disputes()) == 1


@pytest.mark.parametrize(
    ("processor", "channel", "match"),
    [
        ("webbilling", "api", "no API submission"),
        ("webbilling", "web_form", "no web_form"),
        ("apipay", "web_form", "no web_form"),
    ],
)
def test_unavailable_channel_is_a_capability_error(
    tmp_path: Path, processor: str, channel: str, match: str
) -> None:
    ph = make_ph(tmp_path)
    with pytest.raises(CapabilityError, match=match) as caught:
        ph.submit_dispute(processor, fields(), channel=channel)  # type: ignore[arg-type]
    assert caught.value.processor == processor
    assert ph.disputes() == []


def test_no_way_at_all_is_a_capability_error(tmp_path: Path) -> None:
    ph = make_ph(tmp_path, processors={"wtseticket": {"remove_channels": ["email", "web_form"]}})
    with pytest.raises(CapabilityError, match="no way"):
        ph.submit_dispute("wtseticket", fields())
    assert ph.disputes() == []


# -- validation before anything is recorded ----------------------------------------------------------


def _big_file(tmp_path: Path) -> Path:
    big = tmp_path / "huge.pdf"
    with big.open("wb") as handle:
        handle.truncate(11 * 1024 * 1024)
    return big


@pytest.mark.parametrize(
    "bad",
    [
        {"transaction": {"amount": {"amount": "19.99", "currency": "EUR"}}},
        {"transaction": {"transaction_id": ""}},
        {"contact_email": "not-an-email"},
        {"contact_email": "a@b"},
        {"reason": "bogus"},
        {"message": ""},
        {"message": "x" * 5001},
        {"card_last4": CARD},
        {"card_last4": "12a4"},
        {"attachments": [receipt_file(f"r{i}.pdf") for i in range(11)]},
        {"attachments": [receipt_file(data=b"x" * (10 * 1024 * 1024 + 1))]},
        {"attachments": [receipt_file(name="../etc/passwd")]},
        {"attachments": [{**receipt_file(), "content_type": "pdf"}]},
        {"amount": {"amount": "-1", "currency": "EUR"}},
        {"unknown_field": 1},
    ],
    ids=lambda bad: next(iter(bad)) + ":" + str(bad[next(iter(bad))])[:20],
)
def test_bad_input_is_refused_before_anything_is_recorded(
    tmp_path: Path, bad: dict[str, Any]
) -> None:
    api = FakeApi()
    ph = make_ph(tmp_path, api)
    for processor in ("webbilling", "apipay"):
        with pytest.raises(InvalidInputError) as caught:
            ph.submit_dispute(processor, fields(**bad))
        assert CARD not in str(caught.value)
    assert ph.disputes() == []
    assert api.calls == []
    assert eml_files(tmp_path) == []


def test_attachment_from_path(tmp_path: Path) -> None:
    good = tmp_path / "receipt.pdf"
    good.write_bytes(b"%PDF-1.4 ok")
    attachment = Attachment.from_path(good)
    assert attachment.filename == "receipt.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.data == b"%PDF-1.4 ok"
    with pytest.raises(InvalidInputError, match=r"cannot read attachment 'missing\.png'"):
        Attachment.from_path(tmp_path / "missing.png")
    with pytest.raises(InvalidInputError, match="limit is 10485760 bytes"):
        Attachment.from_path(_big_file(tmp_path))
    ph = make_ph(tmp_path)
    receipt = ph.submit_dispute(
        "webbilling", DisputeRequest.model_validate(fields(attachments=[attachment]), strict=False)
    )
    assert receipt.status is SubmissionStatus.PREPARED


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda ph: ph.submit_dispute("nosuchpay", fields()), UnknownProcessorError),
        (lambda ph: ph.submit_dispute("webbilling", fields(), channel="fax"), InvalidInputError),
        (lambda ph: ph.submit_dispute("webbilling", request(), message="x"), InvalidInputError),
        (lambda ph: ph.submit_dispute("webbilling", [1, 2]), InvalidInputError),
        (lambda ph: ph.submit_dispute("webbilling"), InvalidInputError),
    ],
    ids=["unknown processor", "unknown channel", "request and fields", "not a mapping", "nothing"],
)
def test_bad_calls_are_refused_before_anything_is_recorded(
    tmp_path: Path, call: Callable[[Payhelp], object], error: type[Exception]
) -> None:
    ph = make_ph(tmp_path)
    with pytest.raises(error):
        call(ph)
    assert ph.disputes() == []
    assert eml_files(tmp_path) == []


def test_line_break_in_transaction_id_is_refused_before_recording(tmp_path: Path) -> None:
    ph = make_ph(tmp_path)
    tx = {**fields()["transaction"], "transaction_id": "TX-1\r\nBcc: spy@example.net"}
    with pytest.raises(InvalidInputError):
        ph.submit_dispute("webbilling", fields(transaction=tx))
    assert ph.disputes() == []


# -- the store -------------------------------------------------------------------------------------------


def _three(tmp_path: Path) -> tuple[Payhelp, list[SubmissionReceipt]]:
    api = FakeApi(200, 400)
    ph = make_ph(tmp_path, api)
    made = [
        ph.submit_dispute("webbilling", fields()),
        ph.submit_dispute("apipay", fields()),
    ]
    with pytest.raises(BadRequestError):
        ph.submit_dispute("apipay", fields(reason="not_received"))
    made.append(ph.submit_dispute("wtseticket", fields(), channel="web_form"))
    return ph, made


def test_disputes_newest_first_and_filtered(tmp_path: Path) -> None:
    ph, made = _three(tmp_path)
    listed = ph.disputes()
    assert [r.id for r in listed] == [4, 3, 2, 1]
    assert [r.processor for r in listed] == ["wtseticket", "apipay", "apipay", "webbilling"]
    assert [r.status for r in listed] == ["prepared", "failed", "sent", "prepared"]
    assert listed[3].idempotency_key == made[0].idempotency_key
    assert listed[1].reason == "not_received"
    assert [r.id for r in ph.disputes(processor="apipay")] == [3, 2]
    assert [r.id for r in ph.disputes(processor=" APIPAY ")] == [3, 2]
    assert [r.id for r in ph.disputes(status="prepared")] == [4, 1]
    assert [r.id for r in ph.disputes(status=SubmissionStatus.FAILED)] == [3]
    assert [r.id for r in ph.disputes(processor="apipay", status="sent")] == [2]
    assert ph.disputes(processor="webbilling", status="failed") == []
    assert [r.id for r in ph.disputes(limit=2)] == [4, 3]
    with pytest.raises(UnknownProcessorError):
        ph.disputes(processor="nosuchpay")
    for record in listed:
        assert record.created_at.tzinfo is not None
        assert record.updated_at >= record.created_at


def test_dispute_by_id_and_by_key(tmp_path: Path) -> None:
    ph, made = _three(tmp_path)
    by_id = ph.dispute(2)
    assert by_id.receipt == made[1]
    assert ph.dispute("2") == by_id
    assert ph.dispute(made[1].idempotency_key) == by_id
    with pytest.raises(InvalidInputError, match="no submission"):
        ph.dispute(99)
    with pytest.raises(InvalidInputError, match="no submission"):
        ph.dispute("ph_nosuchkey")
    with pytest.raises(InvalidInputError) as caught:
        ph.dispute(CARD)
    assert CARD not in str(caught.value)


def test_numeric_explicit_idempotency_key(tmp_path: Path) -> None:
    ph = make_ph(tmp_path)
    receipt = ph.submit_dispute("webbilling", fields(), idempotency_key="20260105")
    assert receipt.idempotency_key == "20260105"
    assert receipt.status is SubmissionStatus.PREPARED
    assert ph.dispute("20260105").receipt == receipt


def test_stored_request_has_no_attachment_bytes_or_card_number(tmp_path: Path) -> None:
    secret_bytes = b"RECEIPT-CONTENT-" + bytes(range(256)) * 4
    api = FakeApi(400)
    ph = make_ph(tmp_path, api)
    message = f"My card {CARD_GROUPED} (also {CARD}) was charged twice."
    req = fields(message=message, attachments=[receipt_file("proof.pdf", secret_bytes)])
    prepared = ph.submit_dispute("webbilling", req)
    with pytest.raises(BadRequestError):
        ph.submit_dispute("apipay", req)
    ph.submit_dispute("wtseticket", req, channel="web_form")
    for record in ph.disputes():
        stored = record.request
        assert stored["attachments"] == [
            {
                "filename": "proof.pdf",
                "bytes": len(secret_bytes),
                "sha256": Attachment(
                    filename="proof.pdf", content_type="application/pdf", data=secret_bytes
                ).sha256,
            }
        ]
        assert stored["message"] == ("My card [card …1111] (also [card …1111]) was charged twice.")
        assert stored["card_last4"] == "1111"
    raw = repr(rows(tmp_path / "s.db"))
    for needle in (
        CARD,
        CARD_GROUPED,
        "RECEIPT-CONTENT",
        base64.b64encode(secret_bytes)[:40].decode(),
    ):
        assert needle not in raw
    # The receipt does not point back at the bytes either; the .eml file holds them (and only
    # the masked message).
    assert prepared.location is not None
    eml = Path(prepared.location).read_bytes()
    assert CARD.encode() not in eml
    assert CARD_GROUPED.encode() not in eml


def test_summary_of_a_request() -> None:
    req = request(message=f"card {CARD}", attachments=[receipt_file(data=b"abc")])
    kept = summary(req)
    assert kept["message"] == "card [card …1111]"
    assert kept["attachments"] == [
        {"filename": "receipt.pdf", "bytes": 3, "sha256": req.attachments[0].sha256}
    ]
    assert kept["transaction"]["transaction_id"] == "TX-1001"


def test_store_with_a_sqlite_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested.db'}"
    ph = make_ph(tmp_path, store_url=url)
    ph.submit_dispute("webbilling", fields())
    assert (tmp_path / "nested.db").exists()
    assert ph.store.url == url
    assert "nested.db" in repr(ph.store)
    # A fresh store on the same file sees the record.
    again = SubmissionStore(url)
    try:
        assert len(again.list()) == 1
    finally:
        again.close()


@pytest.mark.parametrize(
    "url",
    [
        "nosuchdb://x",
        "not a url at all",
        "sqlite:////nonexistent-dir/deeper/x.db",
        "postgresql+nosuchdriver://user:pw-s3cret@127.0.0.1/db",
    ],
)
def test_unusable_store_url_is_a_configuration_error(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigurationError, match="cannot open the submission store") as caught:
        SubmissionStore(url)
    assert "pw-s3cret" not in str(caught.value)
    ph = make_ph(tmp_path, store_url=url)
    with pytest.raises(ConfigurationError):
        ph.submit_dispute("webbilling", fields())
    assert eml_files(tmp_path) == []  # nothing went out without a record
    with pytest.raises(ConfigurationError):
        ph.disputes()


def test_store_repr_hides_the_password(tmp_path: Path) -> None:
    store = SubmissionStore(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        assert "r.db" in repr(store)
    finally:
        store.close()
    # With the postgres extra installed it tries to connect (nobody listens on port 1), without
    # it the driver is missing: either way the error names the store without its password.
    with pytest.raises((ConfigurationError, StorageError)) as caught:
        SubmissionStore("postgresql://user:pw-s3cret@127.0.0.1:1/db")
    assert "pw-s3cret" not in str(caught.value)


def test_settings_repr_hides_the_store_url() -> None:
    ph = Payhelp(load_plugins=["webbilling"], store_url="postgresql://u:pw-s3cret@db/payhelp")
    assert "pw-s3cret" not in repr(ph.settings)


# -- async ---------------------------------------------------------------------------------------------


def test_async_twin_email(tmp_path: Path) -> None:
    async def main() -> tuple[SubmissionReceipt, SubmissionReceipt, list[Any], Any]:
        async with AsyncPayhelp(
            load_plugins=["webbilling"],
            store_url=f"sqlite:///{tmp_path / 's.db'}",
            outbox=tmp_path / "outbox",
        ) as aph:
            first = await aph.submit_dispute("webbilling", fields())
            second = await aph.submit_dispute("webbilling", fields())
            listed = await aph.disputes(processor="webbilling")
            one = await aph.dispute(first.idempotency_key)
            with pytest.raises(InvalidInputError):
                await aph.dispute(42)
            with pytest.raises(InvalidInputError):
                await aph.submit_dispute("webbilling", fields(reason="bogus"))
            return first, second, listed, one

    first, second, listed, one = asyncio.run(main())
    assert first.channel is SubmissionChannel.EML_FILE
    assert first.status is SubmissionStatus.PREPARED
    assert not first.replayed
    assert second.replayed
    assert second.reference == first.reference
    assert len(listed) == 1
    assert one.receipt == first
    assert len(eml_files(tmp_path)) == 1


def test_async_twin_api(tmp_path: Path) -> None:
    api = FakeApi(200, 500, 400)

    async def main() -> list[Any]:
        aph = AsyncPayhelp(
            load_plugins=["webbilling"],
            plugins=[("apipay", SyntheticPlugin(make_info("apipay"))), ("r", RefundPlugin())],
            store_url=f"sqlite:///{tmp_path / 's.db'}",
            outbox=tmp_path / "outbox",
            processors={
                "apipay": {
                    "settings": {
                        "api_key": "k",
                        "transport": httpx.MockTransport(api),
                        "async_transport": httpx.MockTransport(api),
                    }
                }
            },
        )
        out: list[Any] = []
        try:
            out.append(await aph.submit_dispute("apipay", fields()))
            out.append(await aph.submit_dispute("apipay", fields()))
            with pytest.raises(InternalServerError):
                await aph.submit_dispute("apipay", fields(reason="other"))
            out.append(await aph.submit_dispute("apipay", fields(reason="other")))
            with pytest.raises(BadRequestError):
                await aph.submit_dispute("apipay", fields(reason="not_received"))
            out.append(await aph.submit_dispute("apipay", fields(reason="not_received")))
            # Eight at once: one POST.
            out.append(
                await asyncio.gather(
                    *(
                        aph.submit_dispute("apipay", fields(reason="technical_problem"))
                        for _ in range(8)
                    )
                )
            )
            out.append(await aph.disputes())
            with pytest.raises(CapabilityError):
                await aph.submit_dispute("webbilling", fields(), channel="api")
        finally:
            await aph.aclose()
        return out

    sent, replayed, in_doubt, resent, gathered, listed = asyncio.run(main())
    assert sent.channel is SubmissionChannel.API
    assert sent.status is SubmissionStatus.SENT
    assert replayed.replayed
    assert replayed.reference == sent.reference
    assert in_doubt.status is SubmissionStatus.IN_DOUBT
    assert in_doubt.replayed
    assert resent.status is SubmissionStatus.SENT
    assert not resent.replayed
    _exactly_one_fresh(gathered)
    assert api.posts == 5  # sent, 500, 400, resent, one of the eight
    assert [r.status for r in listed] == ["sent", "sent", "in_doubt", "sent"]
    assert listed[1].attempts == 2


def test_async_cancelled_while_sending_is_in_doubt(tmp_path: Path) -> None:
    posts: list[httpx.Request] = []

    async def main() -> None:
        reached = asyncio.Event()

        async def handler(request: httpx.Request) -> httpx.Response:
            posts.append(request)
            if len(posts) == 1:
                reached.set()
                await asyncio.sleep(30)
            return httpx.Response(200, json={"refund_id": "RF"})

        transport = httpx.MockTransport(handler)
        aph = AsyncPayhelp(
            load_plugins=["webbilling"],
            plugins=[("apipay", SyntheticPlugin(make_info("apipay"))), ("r", RefundPlugin())],
            store_url=f"sqlite:///{tmp_path / 's.db'}",
            processors={"apipay": {"settings": {"api_key": "k", "async_transport": transport}}},
        )
        task = asyncio.create_task(aph.submit_dispute("apipay", fields()))
        await reached.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await aph.disputes())[0].status is SubmissionStatus.IN_DOUBT
        await aph.submit_dispute("apipay", fields())
        await aph.aclose()

    asyncio.run(main())
    assert len(posts) == 1
