"""The HTTP layer: errors by class, retries and backoff, side effects never sent twice, secrets
and card numbers scrubbed, connections closed; each for the sync and async twins (the rate limit
they apply is tested in test_ratelimit.py).

HTTP is mocked with respx (``assert_all_mocked`` and ``assert_all_called`` on) or with an
``httpx.MockTransport`` where a test counts streams; every sleep is a recording fake.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx

import payhelp.ratelimit
from payhelp.errors import (
    REFUSED_STATUSES,
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
    ProcessorAPIError,
    RateLimitError,
    UnprocessableEntityError,
)
from payhelp.http import (
    DEFAULT_MAX_RETRIES,
    MAX_RETRY_AFTER,
    AsyncClient,
    BaseClient,
    SyncClient,
    parse_retry_after,
)

BASE = "https://api.testpay.example/v1/"
PATH = "payments/1"
SECRET = "sk_live_s3cr3t/key+value="
CARD = "4111111111111111"
KINDS = ("sync", "async")

_ids = itertools.count()
TLS = ssl.create_default_context()


def client_class(kind: str, processor: str = "testpay", **attrs: Any) -> type[Any]:
    """A client subclass for ``kind`` (sync or async) with the given class attributes."""
    base = SyncClient if kind == "sync" else AsyncClient
    return type(f"Test{kind.title()}Client", (base,), {"processor": processor, **attrs})


def _query_auth(self: BaseClient, request: httpx.Request) -> httpx.Request:
    """How a processor that wants its key in the query string authenticates."""
    request.url = request.url.copy_merge_params({"api_key": self.credential("api_key")})
    return request


def make_client(
    kind: str,
    waits: list[float],
    cls: type[Any] | None = None,
    **options: Any,
) -> Any:
    """A client whose sleeps are recorded in ``waits`` instead of slept. Its transport is
    httpx's own (which respx patches) on a shared TLS context: a fresh one costs ~40 ms."""
    cls = cls or client_class(kind)
    options.setdefault("base_url", BASE)
    if "transport" not in options:
        transport = httpx.HTTPTransport if kind == "sync" else httpx.AsyncHTTPTransport
        options["transport"] = transport(verify=TLS)
    if kind == "sync":
        return cls(sleep=waits.append, **options)

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return cls(sleep=sleep, **options)


def close(client: Any) -> None:
    if isinstance(client, SyncClient):
        client.close()
    else:
        asyncio.run(client.aclose())


def send(
    kind: str,
    method: str = "GET",
    path: str = PATH,
    *,
    waits: list[float] | None = None,
    cls: type[Any] | None = None,
    options: dict[str, Any] | None = None,
    **request: Any,
) -> httpx.Response:
    """One request through a fresh client of ``kind``, closed afterwards."""
    waits = [] if waits is None else waits
    client = make_client(kind, waits, cls, **(options or {}))
    if kind == "sync":
        with client:
            return client.request(method, path, **request)  # type: ignore[no-any-return]

    async def go() -> httpx.Response:
        async with client:
            return await client.request(method, path, **request)  # type: ignore[no-any-return]

    return asyncio.run(go())


@pytest.fixture(autouse=True)
def _no_pause_left() -> Iterator[None]:
    """Each test starts on fresh schedules."""
    yield
    payhelp.ratelimit.reset()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as mock:
        yield mock


# -- success and the request itself ----------------------------------------------------------


def test_success_returns_the_response(kind: str, api: respx.MockRouter) -> None:
    route = api.get(PATH).respond(200, json={"id": "1", "status": "approved"})
    waits: list[float] = []
    # httpx's default transport, as in production (the others share a TLS context).
    response = send(kind, waits=waits, params={"expand": "card"}, options={"transport": None})
    assert response.json() == {"id": "1", "status": "approved"}
    assert route.call_count == 1
    assert waits == []
    sent = route.calls.last.request
    assert sent.url.params["expand"] == "card"
    assert sent.headers["User-Agent"] == "payhelp"
    assert sent.headers["X-Request-Id"].startswith("payhelp-")


def test_json_body_and_headers_are_sent(kind: str, api: respx.MockRouter) -> None:
    route = api.post("refunds").respond(201, json={"ok": True})
    send(kind, "POST", "/refunds", json={"amount": 5}, headers={"X-Extra": "1"})
    sent = route.calls.last.request
    assert sent.read() == b'{"amount":5}'
    assert sent.headers["X-Extra"] == "1"


def test_a_cookie_the_processor_sets_is_sent_back(kind: str, api: respx.MockRouter) -> None:
    # Answers without Set-Cookie skip httpx's cookie reading; one that sets a cookie is stored.
    first = api.get(PATH).respond(200, headers={"Set-Cookie": "session=abc; Path=/"})
    second = api.get("other").respond(200)
    waits: list[float] = []
    client = make_client(kind, waits, None)

    def both() -> None:
        client.request("GET", PATH)
        client.request("GET", "other")
        client.close()

    async def both_async() -> None:
        await client.request("GET", PATH)
        await client.request("GET", "other")
        await client.aclose()

    if kind == "sync":
        both()
    else:
        asyncio.run(both_async())
    assert first.call_count == 1
    assert second.calls.last.request.headers["Cookie"] == "session=abc"
    assert client._http.cookies["session"] == "abc"


def test_the_timeout_reaches_httpx(kind: str, api: respx.MockRouter) -> None:
    route = api.get(PATH).respond(200)
    send(kind, options={"timeout": 3.5})
    assert route.calls.last.request.extensions["timeout"] == {
        "connect": 3.5,
        "read": 3.5,
        "write": 3.5,
        "pool": 3.5,
    }


@pytest.mark.parametrize(
    ("options", "match"),
    [({"max_retries": -1}, "max_retries"), ({"timeout": 0}, "timeout")],
)
def test_bad_options_are_refused(kind: str, options: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        make_client(kind, [], **options)


# -- every status to its error class, with processor and request id -------------------------

STATUSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (418, APIStatusError),
]


@pytest.mark.parametrize(("status", "error_class"), STATUSES)
def test_status_maps_to_its_error_class(
    kind: str, api: respx.MockRouter, status: int, error_class: type[APIStatusError]
) -> None:
    route = api.get(PATH).respond(status, json={"error": "nope"})
    with pytest.raises(APIStatusError) as caught:
        send(kind, options={"max_retries": 0})
    error = caught.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.processor == "testpay"
    assert error.request_id == route.calls.last.request.headers["X-Request-Id"]
    assert error.request_id.startswith("payhelp-")
    assert f"HTTP {status}" in str(error)
    assert "nope" in str(error)
    # Only a status that proves the processor refused the request leaves it surely unapplied.
    assert error.maybe_applied is (status not in REFUSED_STATUSES)
    assert route.call_count == 1


@pytest.mark.parametrize(("status", "error_class"), STATUSES)
def test_the_processors_request_id_wins(
    kind: str, api: respx.MockRouter, status: int, error_class: type[APIStatusError]
) -> None:
    api.get(PATH).respond(status, headers={"X-Request-Id": "req_7f3a"})
    with pytest.raises(error_class) as caught:
        send(kind, options={"max_retries": 0})
    assert caught.value.request_id == "req_7f3a"
    assert caught.value.processor == "testpay"


# -- retries on GET ---------------------------------------------------------------------------

TRANSIENT: list[Any] = [
    httpx.ConnectError("connection refused"),
    httpx.ConnectTimeout("connect timed out"),
    httpx.ReadTimeout("read timed out"),
    httpx.ReadError("connection reset by peer"),
    httpx.RemoteProtocolError("server disconnected without sending a response"),
    httpx.Response(408),
    httpx.Response(429),
    httpx.Response(500),
    httpx.Response(502),
    httpx.Response(503),
    httpx.Response(504),
]


def _label(effect: Any) -> str:
    return str(effect.status_code) if isinstance(effect, httpx.Response) else type(effect).__name__


@pytest.mark.parametrize("failure", TRANSIENT, ids=_label)
def test_get_is_retried_on_transient_failures(
    kind: str, api: respx.MockRouter, failure: Any
) -> None:
    route = api.get(PATH).mock(side_effect=[failure, failure, httpx.Response(200, json={})])
    waits: list[float] = []
    assert send(kind, waits=waits).status_code == 200
    assert route.call_count == 3
    assert len(waits) == 2


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.ConnectTimeout("connect timed out"), APITimeoutError),
        (httpx.ReadTimeout("read timed out"), APITimeoutError),
        (httpx.ReadError("reset"), APIConnectionError),
        (httpx.Response(503), InternalServerError),
        (httpx.Response(408), APIStatusError),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else _label(value),
)
@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_max_retries_is_respected(
    kind: str,
    api: respx.MockRouter,
    failure: Any,
    error_class: type[ProcessorAPIError],
    max_retries: int,
) -> None:
    route = api.get(PATH).mock(side_effect=itertools.repeat(failure))
    waits: list[float] = []
    with pytest.raises(error_class) as caught:
        send(kind, waits=waits, options={"max_retries": max_retries})
    assert type(caught.value) is error_class
    assert route.call_count == max_retries + 1
    assert len(waits) == max_retries
    assert caught.value.processor == "testpay"
    assert caught.value.request_id == route.calls.last.request.headers["X-Request-Id"]


def test_default_max_retries(kind: str, api: respx.MockRouter) -> None:
    route = api.get(PATH).mock(side_effect=itertools.repeat(httpx.Response(500)))
    with pytest.raises(InternalServerError):
        send(kind)
    assert route.call_count == DEFAULT_MAX_RETRIES + 1


def test_errors_that_are_not_transient_are_not_retried(kind: str, api: respx.MockRouter) -> None:
    route = api.get(PATH).respond(501)
    waits: list[float] = []
    with pytest.raises(InternalServerError):
        send(kind, waits=waits)
    assert route.call_count == 1
    assert waits == []
    api.get("other").respond(404)
    with pytest.raises(NotFoundError):
        send(kind, path="other", waits=waits)
    assert waits == []


def test_backoff_is_exponential_with_jitter_and_bounded(kind: str, api: respx.MockRouter) -> None:
    route = api.get(PATH).mock(side_effect=itertools.repeat(httpx.Response(503)))
    runs: list[list[float]] = []
    for _ in range(8):
        waits: list[float] = []
        with pytest.raises(InternalServerError):
            send(kind, waits=waits, options={"max_retries": 6})
        runs.append(waits)
    assert route.call_count == 8 * 7
    for waits in runs:
        assert len(waits) == 6
        # 0.5 s doubling, plus up to 0.5 s of jitter, never over 8 s.
        for attempt, wait in enumerate(waits):
            low = min(0.5 * 2**attempt, 8.0)
            assert low <= wait <= min(low + 0.5, 8.0)
        assert waits[-1] == 8.0
    firsts = {waits[0] for waits in runs}
    assert len(firsts) > 1, "jitter: the waits differ between runs"


# -- Retry-After ------------------------------------------------------------------------------


def test_retry_after_seconds_is_honoured(kind: str, api: respx.MockRouter) -> None:
    route = api.get(PATH).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(429, headers={"Retry-After": "0.25"}),
            httpx.Response(200),
        ]
    )
    waits: list[float] = []
    send(kind, waits=waits)
    assert waits == [7.0, 0.25]
    assert route.call_count == 3


def test_retry_after_http_date_is_honoured(kind: str, api: respx.MockRouter) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    api.get(PATH).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": when}), httpx.Response(200)]
    )
    waits: list[float] = []
    send(kind, waits=waits)
    assert len(waits) == 1
    assert 28.0 <= waits[0] <= 30.0


def test_a_rate_limit_error_carries_retry_after(kind: str, api: respx.MockRouter) -> None:
    api.get(PATH).respond(429, headers={"Retry-After": "12"})
    with pytest.raises(RateLimitError) as caught:
        send(kind, options={"max_retries": 0})
    assert caught.value.retry_after == 12.0


def test_a_retry_after_too_long_fails_at_once(kind: str, api: respx.MockRouter) -> None:
    route = api.get(PATH).respond(429, headers={"Retry-After": str(int(MAX_RETRY_AFTER) + 60)})
    waits: list[float] = []
    with pytest.raises(RateLimitError) as caught:
        send(kind, waits=waits, options={"max_retries": 5})
    assert route.call_count == 1
    assert waits == []
    assert caught.value.retry_after == MAX_RETRY_AFTER + 60


def test_a_retry_after_of_exactly_the_maximum_is_waited(kind: str, api: respx.MockRouter) -> None:
    api.get(PATH).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": f"{MAX_RETRY_AFTER:g}"}),
            httpx.Response(200),
        ]
    )
    waits: list[float] = []
    send(kind, waits=waits)
    assert waits == [MAX_RETRY_AFTER]


def test_429_without_retry_after_backs_off(kind: str, api: respx.MockRouter) -> None:
    api.get(PATH).mock(side_effect=[httpx.Response(429), httpx.Response(200)])
    waits: list[float] = []
    send(kind, waits=waits)
    assert len(waits) == 1
    assert 0.5 <= waits[0] <= 1.0


def test_retry_after_on_503_is_honoured(kind: str, api: respx.MockRouter) -> None:
    api.get(PATH).mock(
        side_effect=[httpx.Response(503, headers={"Retry-After": "5"}), httpx.Response(200)]
    )
    waits: list[float] = []
    send(kind, waits=waits)
    assert waits == [5.0]


# -- side effects: a POST is never sent twice blindly -----------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500),
        httpx.Response(502),
        httpx.Response(503),
        httpx.Response(504),
        httpx.Response(408),
        httpx.ReadTimeout("read timed out"),
        httpx.ReadError("connection reset by peer"),
        httpx.RemoteProtocolError("server disconnected without sending a response"),
        httpx.WriteError("broken pipe"),
    ],
    ids=_label,
)
def test_post_is_not_retried_when_it_may_have_arrived(
    kind: str, api: respx.MockRouter, failure: Any
) -> None:
    route = api.post("refunds").mock(side_effect=[failure, httpx.Response(201)])
    waits: list[float] = []
    with pytest.raises(ProcessorAPIError) as caught:
        send(kind, "POST", "refunds", waits=waits, json={"amount": 5}, options={"max_retries": 5})
    assert route.call_count == 1
    assert waits == []
    # Every one of these - a 408 included - may have been acted on before the answer.
    assert caught.value.maybe_applied is True


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        (httpx.ConnectError("connection refused"), APIConnectionError),
        (httpx.ConnectTimeout("connect timed out"), APITimeoutError),
    ],
    ids=["ConnectError", "ConnectTimeout"],
)
def test_post_is_retried_when_it_never_left(
    kind: str, api: respx.MockRouter, failure: Any, error_class: type[ProcessorAPIError]
) -> None:
    route = api.post("refunds").mock(side_effect=[failure, httpx.Response(201, json={"id": "r"})])
    waits: list[float] = []
    assert send(kind, "POST", "refunds", waits=waits, json={}).status_code == 201
    assert route.call_count == 2
    assert len(waits) == 1
    # ... and when it never gets through, the error says it surely did not apply.
    always = api.post("refunds2").mock(side_effect=itertools.repeat(failure))
    with pytest.raises(error_class) as caught:
        send(kind, "POST", "refunds2", json={}, options={"max_retries": 2})
    assert type(caught.value) is error_class
    assert always.call_count == 3
    assert caught.value.maybe_applied is False
    assert caught.value.request_id == always.calls.last.request.headers["X-Request-Id"]


def test_post_is_retried_on_429(kind: str, api: respx.MockRouter) -> None:
    route = api.post("refunds").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(201)]
    )
    waits: list[float] = []
    assert send(kind, "POST", "refunds", waits=waits, json={}).status_code == 201
    assert route.call_count == 2
    assert waits == [2.0]


def test_a_4xx_did_not_apply(kind: str, api: respx.MockRouter) -> None:
    api.post("refunds").respond(409)
    with pytest.raises(ConflictError) as caught:
        send(kind, "POST", "refunds", json={})
    assert caught.value.maybe_applied is False


def test_patch_is_not_retried(kind: str, api: respx.MockRouter) -> None:
    route = api.patch("subscriptions/1").mock(side_effect=[httpx.Response(500)])
    with pytest.raises(InternalServerError):
        send(kind, "PATCH", "subscriptions/1", json={})
    assert route.call_count == 1


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(500), httpx.Response(503), httpx.ReadTimeout("read timed out")],
    ids=_label,
)
def test_post_with_an_idempotency_key_is_retried(
    kind: str, api: respx.MockRouter, failure: Any
) -> None:
    cls = client_class(kind, idempotency_header="Idempotency-Key")
    route = api.post("refunds").mock(side_effect=[failure, failure, httpx.Response(201)])
    waits: list[float] = []
    response = send(kind, "POST", "refunds", waits=waits, cls=cls, json={}, idempotency_key="k-1")
    assert response.status_code == 201
    assert route.call_count == 3
    assert len(waits) == 2
    assert [call.request.headers["Idempotency-Key"] for call in route.calls] == ["k-1"] * 3


def test_an_idempotency_key_the_processor_ignores_is_not_sent_nor_trusted(
    kind: str, api: respx.MockRouter
) -> None:
    route = api.post("refunds").mock(side_effect=[httpx.Response(500)])
    with pytest.raises(InternalServerError):
        send(kind, "POST", "refunds", json={}, idempotency_key="k-1")
    assert route.call_count == 1
    assert "Idempotency-Key" not in route.calls.last.request.headers


# -- answers that are not what the processor documents ----------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"status": "approved"', "application/json"),
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
        (b"", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
    ],
    ids=["truncated", "html", "empty", "binary"],
)
def test_parse_json_rejects_what_is_not_json(
    kind: str, api: respx.MockRouter, content: bytes, content_type: str
) -> None:
    route = api.get(PATH).respond(200, content=content, headers={"Content-Type": content_type})
    response = send(kind)
    client = make_client(kind, [])
    with pytest.raises(APIResponseValidationError) as caught:
        client.parse_json(response)
    close(client)
    error = caught.value
    assert error.processor == "testpay"
    assert error.status_code == 200
    assert error.request_id == route.calls.last.request.headers["X-Request-Id"]
    assert content_type in str(error)
    assert APIStatusError not in type(error).__mro__, "an answer came: not a status error"


def test_parse_json_rejects_a_deeply_nested_body(api: respx.MockRouter) -> None:
    api.get(PATH).respond(200, content=b"[" * 100_000, headers={"Content-Type": "text/plain"})
    response = send("sync")
    with SyncClient(base_url=BASE) as client, pytest.raises(APIResponseValidationError):
        client.parse_json(response)


def test_parse_json_reads_json(kind: str, api: respx.MockRouter) -> None:
    api.get(PATH).respond(200, json={"a": [1, 2]})
    client = make_client(kind, [])
    assert client.parse_json(send(kind)) == {"a": [1, 2]}
    close(client)


def test_html_error_pages_become_status_errors(kind: str, api: respx.MockRouter) -> None:
    api.get(PATH).respond(
        503, text="<html><body>Service Unavailable</body></html>", content_type="text/html"
    )
    with pytest.raises(InternalServerError, match="Service Unavailable") as caught:
        send(kind, options={"max_retries": 0})
    assert caught.value.status_code == 503


# -- secrets and card numbers -----------------------------------------------------------------


def _secret_client(kind: str) -> type[Any]:
    return client_class(kind, authenticate=_query_auth)


SECRET_OPTIONS = {"credentials": {"api_key": SECRET}, "max_retries": 1}


def test_credentials_go_on_the_request(kind: str, api: respx.MockRouter) -> None:
    route = api.get(PATH).respond(200)
    send(kind, cls=_secret_client(kind), options=SECRET_OPTIONS)
    assert route.calls.last.request.url.params["api_key"] == SECRET


def _echo(request: httpx.Request) -> httpx.Response:
    """A processor that echoes the request (and a card number) in its error body."""
    return httpx.Response(
        400, text=f"bad request {request.url} for card {CARD}; key={SECRET}; raw={request.url}"
    )


def _reset(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError(f"connection to {request.url} reset (key {SECRET})", request=request)


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)


def _slow(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout(f"timed out reading {request.url}", request=request)


@pytest.mark.parametrize("effect", [_echo, _reset, _refused, _slow], ids=lambda f: f.__name__)
def test_secrets_never_appear_in_errors_or_debug_logs(
    kind: str, api: respx.MockRouter, caplog: pytest.LogCaptureFixture, effect: Any
) -> None:
    caplog.set_level(logging.DEBUG, logger="payhelp.http")
    route = api.get(f"cards/{CARD}").mock(side_effect=effect)
    with pytest.raises(ProcessorAPIError) as caught:
        send(kind, path=f"cards/{CARD}", cls=_secret_client(kind), options=SECRET_OPTIONS)
    assert route.calls.last.request.url.params["api_key"] == SECRET  # it was sent...
    encoded = str(route.calls.last.request.url).split("api_key=")[1]
    assert encoded != SECRET
    message = str(caught.value)
    for leak in (SECRET, encoded, CARD):
        assert leak not in message
        assert leak not in repr(caught.value)
    assert "…1111" in message
    records = [r for r in caplog.records if r.name == "payhelp.http"]
    assert records, "each attempt is logged at DEBUG"
    for record in records:
        for leak in (SECRET, encoded, CARD):
            assert leak not in record.getMessage()
    assert "[card …1111]" in records[0].getMessage()


def test_secrets_never_appear_in_any_log_record(
    kind: str, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.get(PATH).respond(200)
    send(kind, cls=_secret_client(kind), options=SECRET_OPTIONS)
    assert caplog.records
    for record in caplog.records:
        assert "s3cr3t" not in record.getMessage(), f"{record.name}: {record.getMessage()}"


def test_a_card_number_in_an_error_body_is_masked(kind: str, api: respx.MockRouter) -> None:
    api.get(PATH).respond(402, json={"error": f"card 4111 1111 1111 1111 / {CARD} declined"})
    with pytest.raises(APIStatusError) as caught:
        send(kind)
    assert "[card …1111] / [card …1111] declined" in str(caught.value)
    assert "4111 1111" not in str(caught.value)
    assert CARD not in str(caught.value)


def test_a_card_number_cut_by_the_body_limit_is_not_half_shown(
    kind: str, api: respx.MockRouter
) -> None:
    api.get(PATH).respond(400, text="x" * 290 + " " + CARD)
    with pytest.raises(BadRequestError) as caught:
        send(kind)
    assert "411111111" not in str(caught.value)


def test_a_secret_with_a_space_is_scrubbed_in_its_query_form(
    kind: str, api: respx.MockRouter
) -> None:
    password = "correct horse battery"
    api.get(PATH).mock(side_effect=lambda request: httpx.Response(400, text=str(request.url)))
    with pytest.raises(BadRequestError) as caught:
        send(
            kind,
            cls=_secret_client(kind),
            options={"credentials": {"api_key": password}, "max_retries": 0},
        )
    assert "correct+horse+battery" not in str(caught.value)


def test_repr_never_shows_credentials(kind: str) -> None:
    client = make_client(
        kind,
        [],
        _secret_client(kind),
        credentials={"api_key": SECRET, "password": "hunter22"},
        headers={"Authorization": "Bearer tok_abcdef"},
    )
    for text in (repr(client), str(client)):
        assert SECRET not in text
        assert "hunter22" not in text
        assert "tok_abcdef" not in text
        assert "testpay" in text
    assert client.secrets == (SECRET, "hunter22")
    close(client)


def test_a_missing_credential_names_the_setting(kind: str) -> None:
    client = make_client(kind, [], _secret_client(kind))
    with pytest.raises(InvalidInputError, match=r"PAYHELP_TESTPAY_API_KEY"):
        client.credential("api_key")
    close(client)


# -- connections ------------------------------------------------------------------------------


class TrackedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that counts whether it was closed."""

    opened = 0
    closed = 0

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.is_closed = False
        TrackedStream.opened += 1

    def __iter__(self) -> Iterator[bytes]:
        yield self.body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body

    def close(self) -> None:
        if not self.is_closed:
            self.is_closed = True
            TrackedStream.closed += 1

    async def aclose(self) -> None:
        self.close()


class TrackedTransport(httpx.MockTransport):
    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        super().__init__(handler)
        self.closed = False

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.parametrize("final", [200, 503, "reset"])
def test_no_connection_is_left_open(kind: str, final: int | str) -> None:
    TrackedStream.opened = TrackedStream.closed = 0
    answers = iter([503, 429, final])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == "reset":
            raise httpx.ReadError("reset", request=request)
        return httpx.Response(int(status), stream=TrackedStream(b'{"x": 1}'))

    transport = TrackedTransport(handler)
    waits: list[float] = []
    try:
        response = send(kind, waits=waits, options={"transport": transport, "max_retries": 2})
    except ProcessorAPIError:
        assert final != 200
    else:
        assert response.json() == {"x": 1}
    assert len(waits) == 2
    assert TrackedStream.opened == (3 if final != "reset" else 2)
    assert TrackedStream.closed == TrackedStream.opened
    assert transport.closed


# -- parsing helpers --------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0.5", 0.5),
        ("0", 0.0),
        ("-5", 0.0),
        ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0),
        ("Sun, 01 Mar 2026 12:02:00 GMT", 120.0),
        ("Sun, 01 Mar 2026 11:59:00 GMT", 0.0),  # in the past: no wait
        ("", None),
        (None, None),
        ("soon", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_a_request_that_cannot_be_built_is_bad_input_and_never_sent(kind: str) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        route = mock.get(PATH).mock(return_value=httpx.Response(200))
        with pytest.raises(InvalidInputError, match="cannot be built") as caught:
            send(kind, params={"id": "x" * 100_000})
    assert caught.value.maybe_applied is False
    assert route.call_count == 0
