"""The core's HTTP clients: sync and async twins on httpx, the only code that sends a request.

A processor's API (:class:`~payhelp.adapters.ProcessorApi`, registered with the processor)
declares what is its own, read here through :class:`WireRules`: its id, how credentials go on a
request, how its answers map into the error tree, and which requests have side effects. The
core's driver (:class:`~payhelp.adapters.ApiDriver`) builds one :class:`SyncClient` and one
:class:`AsyncClient` with those rules; no plugin subclasses them any more (a plugin of the old
contract still may, overriding :meth:`~BaseClient.authenticate` and
:meth:`~BaseClient.map_error`, for one release). Everything else is here, once:

- retries with exponential backoff and jitter on connection errors, timeouts, 408, 429 and 5xx,
  honouring ``Retry-After`` (a 429's also pauses every request to that processor until then);
- a request with side effects (``POST`` by default) is retried only when it surely never reached
  the processor (the connection was refused, or the processor said 429), unless it carries an
  idempotency key the processor honours;
- per-processor rate limiting (:mod:`payhelp.ratelimit`), shared by every client of one
  processor in the process (or, with ``redis_url``, by every process pointing at one Redis):
  requests are paced at ``rate_limit_margin`` (90%) of the declared rate, so that the processor
  never counts more than its limit in a sliding window;
- one error tree (:mod:`payhelp.errors`), each error with the processor id and the request id;
- secrets and card numbers scrubbed from every log line and error message.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar
from typing import Any, ClassVar, Protocol, Self

import httpx

from payhelp.credentials import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    declare_query_credentials,
    known_secrets,
    mask_query_credentials,
    masks_query_credentials,
    remember_secrets,
)
from payhelp.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    InvalidInputError,
    ProcessorAPIError,
    RateLimitError,
    status_error_class,
)
from payhelp.ratelimit import LOCAL, Pause, Schedule, check_margin, parse_rate
from payhelp.redact import RedactingFilter, scrub


class _QueryCredentialFilter(logging.Filter):
    """Masks declared credential query parameters in the records of the HTTP loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not masks_query_credentials():
            return True
        message = record.getMessage()
        cleaned = mask_query_credentials(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


logger = logging.getLogger("payhelp.http")
for _name in ("payhelp.http", "httpx", "httpcore"):
    logging.getLogger(_name).addFilter(_QueryCredentialFilter())
    logging.getLogger(_name).addFilter(RedactingFilter(provider=known_secrets))


class WireRules(Protocol):
    """What a processor's API declares for the core's client: its id, how credentials go on a
    request, how its answers map into the error tree, and which requests have side effects.
    :class:`~payhelp.adapters.ProcessorApi` is the implementation plugins subclass."""

    processor: str
    idempotency_header: str | None

    def authenticate(
        self, request: httpx.Request, credential: Callable[[str], str]
    ) -> httpx.Request:
        """Put the credentials (read through ``credential(name)``) on ``request``."""
        ...

    def error_for(self, response: httpx.Response, request_id: str | None) -> APIStatusError | None:
        """The error a response means, or ``None`` to let the HTTP status decide."""
        ...

    def has_side_effects(self, request: httpx.Request) -> bool:
        """Whether sending ``request`` changes something at the processor."""
        ...


#: The longest ``Retry-After`` payhelp waits for; a longer one fails at once as a RateLimitError.
MAX_RETRY_AFTER = 60.0
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id", "cf-ray")

# Request ids: ``payhelp-`` and 32 hex digits, a random prefix per process (80 bits, drawn anew
# in a forked child) and a counter; unique, without drawing 16 random bytes for each request.
_ID_PREFIX = ""
_ID_COUNTER = itertools.count()


def _new_id_prefix() -> None:
    global _ID_PREFIX, _ID_COUNTER  # noqa: PLW0603 - one sequence per process
    _ID_PREFIX = f"payhelp-{os.urandom(10).hex()}"
    _ID_COUNTER = itertools.count()


_new_id_prefix()
os.register_at_fork(after_in_child=_new_id_prefix)


def new_request_id() -> str:
    """A new ``X-Request-Id``: ``payhelp-`` and 32 hex digits, unique in the process and, by
    its random prefix, across processes."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFFFFFF:012x}"


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first): 0.5 s doubling, plus
    up to 0.5 s of jitter, never over 8 s."""
    try:
        base = 0.5 * 2.0 ** (attempt - 1) + random.uniform(0, 0.5)  # noqa: S311 - jitter
    except OverflowError:
        base = 8.0
    return max(0.0, min(base, 8.0))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


#: A relative path that means the same appended to the base URL as merged into it by httpx: no
#: scheme, query, fragment, space or character beyond ASCII.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._~%!$&'()*+,;=@/-]*")


def _url_prefix(client: httpx.Client | httpx.AsyncClient) -> str | None:
    """The client's base URL as text to put a plain path after (it ends in ``/``), or ``None``
    when it has a query or a fragment."""
    base = client.base_url
    if base.query or base.fragment:
        return None
    return str(base)


_CookieTypes = httpx.Cookies | CookieJar | dict[str, str] | list[tuple[str, str]] | None


class _Cookies(httpx.Cookies):
    """httpx's cookie store, reading an answer's cookies only when it sets some: httpx wraps
    every response for :mod:`http.cookiejar` (about 26 µs), which then finds no ``Set-Cookie``
    in a processor's usual answer. An answer that sets cookies is read exactly as before."""

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


class _LeanCookies:
    """Mixin for httpx's clients: their cookies are a :class:`_Cookies` (set as httpx sets
    them, a copy of what is given)."""

    _lean_cookies: _Cookies

    @property
    def cookies(self) -> httpx.Cookies:
        return self._lean_cookies

    @cookies.setter
    def cookies(self, cookies: _CookieTypes) -> None:
        self._lean_cookies = _Cookies(cookies)


class _Http(_LeanCookies, httpx.Client):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._lean_cookies = _Cookies(options.get("cookies"))


class _AsyncHttp(_LeanCookies, httpx.AsyncClient):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._lean_cookies = _Cookies(options.get("cookies"))


class BaseClient:
    """What the sync and async clients share: configuration, building requests, reading
    answers, errors and scrubbing. ``rules`` are the processor API's declarations; without
    them a subclass (old contract) sets the class attributes and overrides
    :meth:`authenticate` / :meth:`map_error`."""

    #: The processor id the client talks to; from ``rules``, else set by a subclass.
    processor: ClassVar[str] = "processor"
    #: The header that carries an idempotency key, when the processor honours one.
    idempotency_header: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        base_url: str,
        credentials: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        rate_limit: str | float | None = None,
        rate_limit_margin: float | None = None,
        pause: Pause | None = None,
        headers: Mapping[str, str] | None = None,
        rules: WireRules | None = None,
        schedule: Schedule | None = None,
    ) -> None:
        self.rules = rules
        if rules is not None:
            # The API's declarations stand in for a subclass's class attributes.
            vars(self).update(
                processor=rules.processor, idempotency_header=rules.idempotency_header
            )
        if max_retries < 0:
            raise InvalidInputError("max_retries cannot be negative")
        if timeout <= 0:
            raise InvalidInputError("timeout must be positive")
        self.base_url = base_url.rstrip("/") + "/"
        self._credentials = dict(credentials or {})
        remember_secrets(self._credentials.values())
        self.timeout = timeout
        self.max_retries = max_retries
        self.rate = parse_rate(rate_limit)
        #: The share of :attr:`rate` requests are paced at (see :mod:`payhelp.ratelimit`).
        self.rate_margin = check_margin(rate_limit_margin)
        #: The processor's pause after a 429 with ``Retry-After``: this client's own, or one
        #: shared with the other clients of its adapter.
        self.pause = pause if pause is not None else Pause()
        #: Where the processor's schedule is kept: this process (the default) or Redis.
        self.schedule: Schedule = schedule if schedule is not None else LOCAL
        self.headers = {"User-Agent": "payhelp", **(headers or {})}
        self._prefix: str | None = None  # the base URL to append plain paths to (see _build)

    # -- what a plugin overrides ---------------------------------------------------------------

    def authenticate(self, request: httpx.Request) -> httpx.Request:
        """Put the credentials on ``request``: the processor API's rules when the client has
        them; the default adds none."""
        if self.rules is not None:
            return self.rules.authenticate(request, self.credential)
        return request

    def map_error(self, response: httpx.Response, request_id: str | None) -> APIStatusError | None:
        """Turn the processor's error body into the right error, or ``None`` to use the HTTP
        status. Called for every answer: a processor that reports errors with status 200 (a
        ``code`` field, an XML ``Error`` element) maps them here."""
        if self.rules is not None:
            return self.rules.error_for(response, request_id)
        return None

    # -- helpers for subclasses ----------------------------------------------------------------

    def credential(self, name: str) -> str:
        """One credential; :class:`~payhelp.errors.InvalidInputError` naming the setting when it
        is missing."""
        value = self._credentials.get(name)
        if not value:
            raise InvalidInputError(
                f"{self.processor}: credential {name!r} is not configured (set "
                f"[processors.{self.processor}.settings] {name} or "
                f"PAYHELP_{self.processor.upper()}_{name.upper()})"
            )
        return value

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential value, for scrubbing."""
        return tuple(v for v in self._credentials.values() if v)

    def scrub(self, text: str) -> str:
        """``text`` without secrets, credential query parameters or card numbers."""
        return scrub(mask_query_credentials(text), self.secrets)

    def __repr__(self) -> str:  # never show credentials
        return f"{type(self).__name__}(processor={self.processor!r}, base_url={self.base_url!r})"

    # -- shared mechanics ----------------------------------------------------------------------

    def _build(
        self,
        client: httpx.Client | httpx.AsyncClient,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json_body: Any,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        idempotency_key: str | None,
    ) -> httpx.Request:
        extra = {"X-Request-Id": new_request_id()}
        if headers:
            extra.update(headers)
        if idempotency_key is not None and self.idempotency_header:
            extra[self.idempotency_header] = idempotency_key
        path = path.lstrip("/")
        try:
            mine = client is getattr(self, "_http", None)
            prefix = self._prefix if mine else _url_prefix(client)
            if prefix is not None and _PLAIN_PATH.fullmatch(path) and not client.cookies:
                # What build_request makes, without parsing the path alone and merging it into
                # the base URL: the same URL, the client's headers under the request's own, its
                # timeout.
                merged = client.headers.copy()
                merged.update(extra)
                request = httpx.Request(
                    method,
                    prefix + path,
                    params=dict(params) if params else None,
                    json=json_body,
                    data=dict(data) if data else None,
                    headers=merged,
                    extensions={"timeout": client.timeout.as_dict()},
                )
            else:
                request = client.build_request(
                    method,
                    path,
                    params=dict(params) if params else None,
                    json=json_body,
                    data=dict(data) if data else None,
                    headers=extra,
                )
        except (httpx.InvalidURL, UnicodeError, TypeError, ValueError) as exc:
            # Nothing left: a value that cannot be put on the wire (too long, not text).
            raise InvalidInputError(
                f"{self.processor}: the request cannot be built ({type(exc).__name__}); "
                "check the lengths and characters of the ids given"
            ) from None
        return self.authenticate(request)

    def _may_retry_blindly(self, method: str, idempotency_key: str | None) -> bool:
        if method.upper() in _SAFE_METHODS:
            return True
        return idempotency_key is not None and self.idempotency_header is not None

    def may_repeat(self, request: httpx.Request, idempotency_key: str | None) -> bool:
        """Whether ``request`` may be sent again after it may have reached the processor (a
        timeout, a reset connection, a 5xx): when it has no side effects (by the processor
        API's rules, else by its method), or when it carries an idempotency key the processor
        honours."""
        if self.rules is None:
            return self._may_retry_blindly(request.method, idempotency_key)
        if idempotency_key is not None and self.idempotency_header is not None:
            return True
        return not self.rules.has_side_effects(request)

    def _first(
        self,
        client: httpx.Client | httpx.AsyncClient,
        method: str,
        path: str,
        parts: dict[str, Any],
    ) -> tuple[httpx.Request, bool]:
        """The request of the first attempt, and whether it may be repeated after it may have
        arrived (:meth:`may_repeat`, judged on the request as built)."""
        request = self._build(client, method, path, **parts)
        if self.rules is None:
            return request, self._may_retry_blindly(method, parts["idempotency_key"])
        return request, self.may_repeat(request, parts["idempotency_key"])

    def _retry_wait(self, exc: Exception, attempt: int, blind: bool) -> float | None:
        """Seconds to wait before sending again after ``exc`` on attempt ``attempt``, or
        ``None`` when it is not retried: out of attempts, a failure that is not transient, one
        that may have reached the processor when the request may not be repeated, or a
        ``Retry-After`` longer than :data:`MAX_RETRY_AFTER`."""
        if attempt > self.max_retries:
            return None
        after = getattr(exc, "retry_after", None)
        if after is not None and after > MAX_RETRY_AFTER:
            return None  # the processor asks for a longer pause than a caller should wait
        if not isinstance(exc, RateLimitError | _NotSentError):
            if not blind:
                return None  # it may have reached the processor: never send it twice
            if not isinstance(exc, APIConnectionError) and not (
                isinstance(exc, APIStatusError) and exc.status_code in _RETRY_STATUSES
            ):
                return None
        if isinstance(exc, APIStatusError) and after is not None:
            return float(after)
        return backoff(attempt)

    def _pause_for(self, exc: Exception) -> float | None:
        """After a 429 with ``Retry-After`` (at most :data:`MAX_RETRY_AFTER`), pause every
        request of this client (and of those sharing its :attr:`pause`) for that long; the end
        of the pause, which the request that met it waits out itself before it retries."""
        after = exc.retry_after if isinstance(exc, RateLimitError) else None
        if after is not None and after <= MAX_RETRY_AFTER:
            self.schedule.share_pause(self.processor, after)
            return self.pause.extend(after)
        return None

    def _request_id(self, request: httpx.Request, response: httpx.Response | None) -> str:
        if response is not None:
            for header in _REQUEST_ID_HEADERS:
                if header in response.headers:
                    return str(response.headers[header])
        return str(request.headers.get("X-Request-Id", ""))

    def _transport_error(self, exc: httpx.TransportError, request: httpx.Request) -> Exception:
        rid = self._request_id(request, None)
        where = self.scrub(f"{request.method} {request.url.copy_with(query=None)}")
        detail = self.scrub(str(exc) or type(exc).__name__)
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            error: ProcessorAPIError = (
                APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
            )(f"{where}: could not connect ({detail})", processor=self.processor, request_id=rid)
            error.maybe_applied = False
            return _NotSentError(error)
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"{where}: no answer within {self.timeout:g} s",
                processor=self.processor,
                request_id=rid,
            )
        return APIConnectionError(
            f"{where}: connection failed ({detail})", processor=self.processor, request_id=rid
        )

    def _unreadable(self, exc: httpx.HTTPError, request: httpx.Request) -> ProcessorAPIError:
        where = self.scrub(f"{request.method} {request.url.copy_with(query=None)}")
        return APIResponseValidationError(
            f"{where}: the answer could not be read ({type(exc).__name__})",
            processor=self.processor,
            request_id=self._request_id(request, None),
        )

    def _check(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        rid = self._request_id(request, response)
        mapped = self.map_error(response, rid)
        if mapped is not None:
            raise mapped
        if response.is_success:
            return response
        status = response.status_code
        kind = status_error_class(status)
        # Scrub before cutting, so that a secret or card number cut in half never shows.
        body = self.scrub(response.text[:4000])[:300] if response.content else ""
        where = self.scrub(f"{request.method} {request.url.copy_with(query=None)}")
        message = f"{where}: HTTP {status}" + (f": {body}" if body else "")
        if kind is RateLimitError:
            raise RateLimitError(
                message,
                processor=self.processor,
                request_id=rid,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        error = kind(message, processor=self.processor, status_code=status, request_id=rid)
        error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise error

    def _log(self, request: httpx.Request, response: httpx.Response | None, started: float) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            status = response.status_code if response is not None else "error"
            logger.debug(
                "%s %s %s %.0f ms",
                request.method,
                self.scrub(str(request.url.copy_with(query=None))),
                status,
                (time.perf_counter() - started) * 1000,
            )

    def parse_json(self, response: httpx.Response) -> Any:
        """The JSON body, or :class:`~payhelp.errors.APIResponseValidationError` when the answer
        is not JSON (an HTML error page, a truncated body)."""
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise self.invalid(response, "the answer is not JSON") from None

    def invalid(self, response: httpx.Response, why: str) -> APIResponseValidationError:
        """The error for an answer that is not what the processor documents."""
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        return APIResponseValidationError(
            f"{self.processor}: {why} (HTTP {response.status_code}, {kind})",
            processor=self.processor,
            request_id=self._request_id(response.request, response),
            status_code=response.status_code,
        )


class _NotSentError(Exception):
    """A transport error raised before the request left: always safe to retry."""

    def __init__(self, error: ProcessorAPIError) -> None:
        super().__init__(str(error))
        self.error = error


class _Attempts:
    """The attempts of one request, for the sync and async clients alike: the first request
    built once, a new one (with a new request id) for each retry, and after a failure how long
    to wait before the next, or the failure raised when it is not retried."""

    def __init__(
        self,
        client: BaseClient,
        http: httpx.Client | httpx.AsyncClient,
        method: str,
        path: str,
        parts: dict[str, Any],
    ) -> None:
        self._client = client
        self._http = http
        self._method = method
        self._path = path
        self._parts = parts
        self.request, self._blind = client._first(http, method, path, parts)
        self._number = 1
        self._paused: float | None = None

    def failed(self, exc: Exception) -> float:
        """Seconds to wait before retrying after ``exc``; raises it (or, for a request that
        never left, the error it stands for) when it is not retried."""
        self._paused = self._client._pause_for(exc)
        wait = self._client._retry_wait(exc, self._number, self._blind)
        if wait is None:
            if isinstance(exc, _NotSentError):
                raise exc.error from None
            raise exc
        return wait

    def next(self) -> None:
        """After the wait: end the pause this attempt met, and build the next request."""
        if self._paused is not None:
            self._client.pause.waited_out(self._paused)
        self._number += 1
        self.request = self._client._build(self._http, self._method, self._path, **self._parts)


class SyncClient(BaseClient):
    """A blocking client. Use as a context manager, or call :meth:`close`.

    :param transport: An httpx transport (a sandbox, ``httpx.MockTransport``) instead of the
        network.
    :param sleep: What waits between retries and for the rate limit (patched in tests).
    """

    def __init__(
        self,
        *,
        base_url: str,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Any,
    ) -> None:
        super().__init__(base_url=base_url, **options)
        self._sleep = sleep
        self._http = _Http(
            base_url=self.base_url, timeout=self.timeout, transport=transport, headers=self.headers
        )
        self._prefix = _url_prefix(self._http)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send one request, with the retries it may safely have; the checked response, or an
        error from :mod:`payhelp.errors`."""
        attempts = _Attempts(
            self,
            self._http,
            method,
            path,
            {
                "params": params,
                "json_body": json,
                "data": data,
                "headers": headers,
                "idempotency_key": idempotency_key,
            },
        )
        while True:
            try:
                return self._once(attempts.request)
            except Exception as exc:  # failed() raises it again when it is not retried
                wait = attempts.failed(exc)
            self._sleep(wait)
            attempts.next()

    def _once(self, request: httpx.Request) -> httpx.Response:
        self.schedule.acquire(
            self.rate,
            self.processor,
            self._sleep,
            margin=self.rate_margin,
            pause=self.pause,
        )
        started = time.perf_counter()
        try:
            response = self._http.send(request)
            response.read()
        except httpx.TransportError as exc:
            self._log(request, None, started)
            raise self._transport_error(exc, request) from None
        except httpx.HTTPError as exc:
            # An answer came but could not be read (a damaged gzip body, say): it may have been
            # acted on, so it is in doubt like any unreadable answer.
            self._log(request, None, started)
            raise self._unreadable(exc, request) from None
        self._log(request, response, started)
        return self._check(request, response)


class AsyncClient(BaseClient):
    """The async twin of :class:`SyncClient`: the same methods, awaitable."""

    def __init__(
        self,
        *,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_connections: int = 100,
        **options: Any,
    ) -> None:
        super().__init__(base_url=base_url, **options)
        self._sleep = sleep
        limits = httpx.Limits(max_connections=max_connections)
        self._http = _AsyncHttp(
            base_url=self.base_url,
            timeout=self.timeout,
            transport=transport,
            headers=self.headers,
            limits=limits,
        )
        self._prefix = _url_prefix(self._http)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send one request, with the retries it may safely have."""
        attempts = _Attempts(
            self,
            self._http,
            method,
            path,
            {
                "params": params,
                "json_body": json,
                "data": data,
                "headers": headers,
                "idempotency_key": idempotency_key,
            },
        )
        while True:
            try:
                return await self._once(attempts.request)
            except Exception as exc:  # failed() raises it again when it is not retried
                wait = attempts.failed(exc)
            await self._sleep(wait)
            attempts.next()

    async def _once(self, request: httpx.Request) -> httpx.Response:
        await self.schedule.acquire_async(
            self.rate,
            self.processor,
            self._sleep,
            margin=self.rate_margin,
            pause=self.pause,
        )
        started = time.perf_counter()
        try:
            response = await self._http.send(request)
            await response.aread()
        except httpx.TransportError as exc:
            self._log(request, None, started)
            raise self._transport_error(exc, request) from None
        except httpx.HTTPError as exc:
            # An answer came but could not be read (a damaged gzip body, say): it may have been
            # acted on, so it is in doubt like any unreadable answer.
            self._log(request, None, started)
            raise self._unreadable(exc, request) from None
        self._log(request, response, started)
        return self._check(request, response)


__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "MAX_RETRY_AFTER",
    "AsyncClient",
    "BaseClient",
    "SyncClient",
    "WireRules",
    "backoff",
    "declare_query_credentials",
    "known_secrets",
    "mask_query_credentials",
    "new_request_id",
    "parse_rate",
    "parse_retry_after",
]
