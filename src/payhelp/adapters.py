"""Processor APIs: what a plugin declares, and the core's driver that does the talking.

A plugin with a public API subclasses :class:`ProcessorApi` and registers it, with its sandbox,
in the same call as its metadata (``register(info, directory, api=MyApi, sandbox=MySandbox)``).
The class declares the API (base URL, :class:`HeaderAuth` or :class:`QueryAuth`, lookup rules,
which requests have side effects, how answers map into the error tree) and writes each
operation once, as a generator of :class:`Call` (:data:`Operation`). :class:`ApiDriver` is the
core's adapter for it: built by processor id when the platform configured credentials (or asked
for the sandbox), it drives the operations over the core's :class:`~payhelp.http.SyncClient`
and :class:`~payhelp.http.AsyncClient`; without credentials payhelp answers from the
processor's self-service page, or submits by email.

:class:`ApiAdapter` is the interface the rest of payhelp calls (``lookup``, ``alookup``,
``submit``, ``asubmit``, ``close``). Subclassing it in a plugin, with client classes of one's
own, and returning it from the deprecated :func:`~payhelp.hookspecs.payhelp_adapter` hook
still works for one release.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import os
import sys
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from string import Formatter
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias, TypeVar, cast

from payhelp.cases import (
    DisputeRequest,
    LookupQuery,
    LookupResult,
    LookupRule,
    SubmissionReceipt,
    check_lookup,
)
from payhelp.credentials import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    declare_query_credentials,
    known_secrets,
    mask_query_credentials,
)
from payhelp.errors import (
    APIResponseValidationError,
    APIStatusError,
    ConfigurationError,
    InvalidInputError,
)
from payhelp.ratelimit import DEFAULT_MARGIN, Pause, Schedule, check_margin
from payhelp.redact import scrub, short_echo
from payhelp.sandbox import SANDBOX_HOST
from payhelp.wire import request_id as wire_request_id

if TYPE_CHECKING:
    import asyncio

    # The declarations a plugin imports load no HTTP client: httpx and the core's clients
    # load when an adapter first sends (so `payhelp contacts` never loads them).
    import httpx

    from payhelp.http import AsyncClient, SyncClient

#: Whether an adapter follows the processor's own documentation or third-party integrations.
Basis = Literal["official", "third_party"]


#: The value an adapter sends to its sandbox for each credential the platform did not configure:
#: the sandboxes take any value but their documented refused one.
SANDBOX_CREDENTIAL = "payhelp-sandbox"


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP request an adapter wants sent."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    data: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AdapterSettings:
    """What an adapter is built from: the processor's section of the configuration, the
    environment, and (for tests and the sandbox) a transport."""

    base_url: str
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    rate_limit: str | float | None = None
    #: The share of ``rate_limit`` requests are paced at (0.9 unless the platform says).
    rate_limit_margin: float = DEFAULT_MARGIN
    #: Where the rate limit's schedule is kept: this process (``None``) or one shared by every
    #: worker (:class:`payhelp.shared.RedisSchedule`, from ``redis_url``; set by payhelp).
    rate_schedule: Schedule | None = None
    transport: httpx.BaseTransport | None = None
    async_transport: httpx.AsyncBaseTransport | None = None
    sandbox: bool = False
    #: What waits between retries and for the rate limit (tests record waits instead).
    sleep: Callable[[float], None] | None = None
    async_sleep: Callable[[float], Awaitable[None]] | None = None


def read_settings(
    processor: str,
    settings: Mapping[str, object],
    *,
    default_base_url: str,
    credential_names: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> AdapterSettings | None:
    """Build :class:`AdapterSettings` from a processor's settings mapping and the environment
    (``PAYHELP_<ID>_<NAME>`` for each credential, ``PAYHELP_<ID>_BASE_URL``); ``None`` when no
    credential is configured and the sandbox was not asked for."""
    env = os.environ if environ is None else environ
    if not isinstance(settings, Mapping) or not isinstance(env, Mapping):
        raise ConfigurationError(f"{processor}: settings and environ are mappings")
    prefix = f"PAYHELP_{processor.upper()}_"
    credentials: dict[str, str] = {}
    for name in credential_names:
        value = settings.get(name) or env.get(prefix + name.upper())
        if value is not None and value != "":
            credentials[name] = str(value)
    sandbox = bool(settings.get("sandbox"))
    if not sandbox and not credentials:
        return None
    if not sandbox:
        missing = [name for name in credential_names if name not in credentials]
        if missing:
            raise InvalidInputError(
                f"{processor}: credentials incomplete, missing {', '.join(missing)} (set them in "
                f"[processors.{processor}.settings] or as {prefix}<NAME>)"
            )
    base_url = check_base_url(
        processor,
        settings.get("base_url") or env.get(prefix + "BASE_URL") or default_base_url,
        sandbox=sandbox,
    )
    transport = settings.get("transport")
    async_transport = settings.get("async_transport")
    sleep, async_sleep = settings.get("sleep"), settings.get("async_sleep")
    timeout = _number(settings.get("timeout"), DEFAULT_TIMEOUT, processor, "timeout")
    if not 0 < timeout <= _MAX_TIMEOUT:
        raise ConfigurationError(
            f"{processor}: setting timeout is a number of seconds above 0 and at most "
            f"{_MAX_TIMEOUT:g}"
        )
    retries = _number(settings.get("max_retries"), DEFAULT_MAX_RETRIES, processor, "max_retries")
    if retries != int(retries) or not 0 <= retries <= _MAX_RETRIES:
        raise ConfigurationError(
            f"{processor}: setting max_retries is a whole number from 0 to {_MAX_RETRIES}"
        )
    margin = settings.get("rate_limit_margin")
    try:
        rate_margin = check_margin(margin)
    except InvalidInputError:
        raise ConfigurationError(
            f"{processor}: setting rate_limit_margin is the share of rate_limit payhelp aims "
            "at: a number above 0 and at most 1, e.g. 0.9"
        ) from None
    return AdapterSettings(
        base_url=base_url,
        credentials=credentials,
        timeout=timeout,
        max_retries=int(retries),
        rate_limit=settings.get("rate_limit"),  # type: ignore[arg-type]  # checked by the client
        rate_limit_margin=rate_margin,
        rate_schedule=_schedule(processor, settings.get("rate_schedule")),
        transport=_sync_transport(transport),
        async_transport=_async_transport(async_transport),
        sandbox=sandbox,
        sleep=sleep if callable(sleep) else None,
        async_sleep=async_sleep if callable(async_sleep) else None,
    )


def _schedule(processor: str, value: object) -> Schedule | None:
    """The shared schedule payhelp put in the settings (``rate_schedule``), checked."""
    if value is None:
        return None
    if not all(callable(getattr(value, name, None)) for name in _SCHEDULE_METHODS):
        raise ConfigurationError(
            f"{processor}: setting rate_schedule is a payhelp.ratelimit.Schedule (payhelp sets "
            "it from redis_url)"
        )
    return value  # type: ignore[return-value]  # it has every method of the protocol


_SCHEDULE_METHODS = ("acquire", "acquire_async", "share_pause")


#: Longest timeout a setting may ask for, in seconds, and most retries.
_MAX_TIMEOUT = 600.0
_MAX_RETRIES = 10


def check_base_url(processor: str, value: object, *, sandbox: bool = False) -> str:
    """``value`` when it is a base URL payhelp may send a processor's credentials and its
    customers' data to: ``https`` to any host, or plain ``http`` only to this machine
    (``localhost``, ``127.0.0.1``, ``::1``: a sandbox served locally, a test server) or, for
    the in-process sandbox, to its reserved host. Never with a user name or password in it.
    :class:`~payhelp.errors.ConfigurationError` otherwise, without echoing the URL."""
    problem = f"{processor}: base_url must be an https URL (http only to this machine)"
    if not isinstance(value, str) or not value.isprintable() or len(value) > 2048:
        raise ConfigurationError(problem)
    import httpx  # noqa: PLC0415 - the client library, once an adapter is configured

    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise ConfigurationError(problem) from None
    if url.userinfo:
        raise ConfigurationError(
            f"{processor}: base_url must not carry a user name or password; set credentials in "
            f"[processors.{processor}.settings] or the environment"
        )
    host = url.host
    if not host:
        raise ConfigurationError(problem)
    if url.scheme == "https":
        return value
    if url.scheme == "http" and (_loopback(host) or (sandbox and host == SANDBOX_HOST)):
        return value
    raise ConfigurationError(f"{problem}, not {short_echo(url.scheme or 'no scheme', 16)}")


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _number(value: object, default: float, processor: str, name: str) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigurationError(f"{processor}: setting {name} must be a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ConfigurationError(f"{processor}: setting {name} must be a number") from None
    if not math.isfinite(number):
        raise ConfigurationError(f"{processor}: setting {name} must be a finite number")
    return number


class ApiAdapter:
    """What payhelp calls to look up and submit through a processor's API, sync and async.

    :class:`ApiDriver` is the implementation for a registered :class:`ProcessorApi`. A plugin
    subclassing this class directly (setting the class attributes, implementing the four
    translation methods, returned from the deprecated ``payhelp_adapter`` hook) is the old
    contract, kept working for one release."""

    #: The processor id.
    processor: ClassVar[str]
    #: ``official`` when written from the processor's documentation or SDK, ``third_party``
    #: when from integrations that quote it.
    basis: ClassVar[Basis]
    #: The production base URL (overridable by ``base_url`` in the settings).
    default_base_url: ClassVar[str]
    #: The settings names of the credentials, e.g. ``("api_key",)``.
    credential_names: ClassVar[tuple[str, ...]]
    #: The field combinations the processor's lookup accepts.
    lookup_rules: ClassVar[tuple[LookupRule, ...]]
    #: The client classes (with the processor's authentication and error mapping); ``None``
    #: is the core's :class:`~payhelp.http.SyncClient` / :class:`~payhelp.http.AsyncClient`.
    sync_client_class: ClassVar[type[SyncClient] | None] = None
    async_client_class: ClassVar[type[AsyncClient] | None] = None
    #: Whether the adapter can submit refunds or disputes through the API.
    can_submit: ClassVar[bool] = True

    def __init__(self, settings: AdapterSettings) -> None:
        if settings.sandbox and _is_sandbox(settings.transport):
            # Integrators test the sandbox without credentials of their own: each missing one is
            # a placeholder there, and a configured one is kept. Only when the requests go to the
            # in-process sandbox: a "sandbox" setting alone never sends a placeholder anywhere.
            missing = dict.fromkeys(self.credential_names, SANDBOX_CREDENTIAL)
            settings = replace(settings, credentials={**missing, **settings.credentials})
        self.settings = settings
        self._sync: SyncClient | None = None
        self._async: AsyncClient | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        #: A 429's pause, shared by the adapter's blocking and async clients.
        self._pause = Pause()

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, object], environ: Mapping[str, str] | None = None
    ) -> ApiAdapter | None:
        """The adapter for these settings, or ``None`` when no credentials are configured and
        the sandbox was not asked for."""
        read = read_settings(
            cls.processor,
            settings,
            default_base_url=cls.default_base_url,
            credential_names=cls.credential_names,
            environ=environ,
        )
        return cls(read) if read is not None else None

    @property
    def source(self) -> str:
        """``sandbox`` or ``api``: what :attr:`LookupResult.source` says."""
        return "sandbox" if self.settings.sandbox else "api"

    # -- what a plugin writes ----------------------------------------------------------------

    def lookup_request(self, query: LookupQuery) -> RequestSpec:
        """The request that looks ``query`` up."""
        raise NotImplementedError

    def parse_lookup(
        self, query: LookupQuery, response: httpx.Response, client: SyncClient | AsyncClient
    ) -> LookupResult:
        """The core answer for the processor's ``response``."""
        raise NotImplementedError

    def submit_request(self, request: DisputeRequest, idempotency_key: str) -> RequestSpec:
        """The request that files ``request`` with the processor."""
        raise NotImplementedError

    def parse_submit(
        self,
        request: DisputeRequest,
        idempotency_key: str,
        response: httpx.Response,
        client: SyncClient | AsyncClient,
    ) -> SubmissionReceipt:
        """The receipt for the processor's ``response``."""
        raise NotImplementedError

    # -- what payhelp calls --------------------------------------------------------------------

    def _options(self) -> dict[str, Any]:
        s = self.settings
        return {
            "base_url": s.base_url,
            "credentials": s.credentials,
            "timeout": s.timeout,
            "max_retries": s.max_retries,
            "rate_limit": s.rate_limit,
            "rate_limit_margin": s.rate_limit_margin,
            "pause": self._pause,
            "schedule": s.rate_schedule,
        }

    @property
    def sync_client(self) -> SyncClient:
        """The adapter's blocking client (created on first use, reused after)."""
        if self._sync is None:
            extra: dict[str, Any] = {}
            if self.settings.sleep is not None:
                extra["sleep"] = self.settings.sleep
            client_class = self.sync_client_class
            if client_class is None:
                from payhelp.http import SyncClient  # noqa: PLC0415 - on first use

                client_class = SyncClient
            self._sync = client_class(transport=self.settings.transport, **self._options(), **extra)
        return self._sync

    @property
    def async_client(self) -> AsyncClient:
        """The adapter's async client for the running event loop (created on first use there,
        reused after). An httpx async client belongs to the loop it first ran on, so a
        ``Payhelp`` used from a second loop (``asyncio.run`` twice) gets a new client there
        instead of one whose connections died with the first loop."""
        loop = _running_loop()
        if self._async is not None and self._async_loop is not loop:
            stale, self._async = self._async, None
            if loop is not None and (self._async_loop is None or not self._async_loop.is_closed()):
                # The old loop still runs: let it close its own connections when it can.
                _close_later(stale, self._async_loop)
        if self._async is None:
            extra: dict[str, Any] = {}
            if self.settings.async_sleep is not None:
                extra["sleep"] = self.settings.async_sleep
            async_class = self.async_client_class
            if async_class is None:
                from payhelp.http import AsyncClient  # noqa: PLC0415 - on first use

                async_class = AsyncClient
            self._async = async_class(
                transport=self.settings.async_transport, **self._options(), **extra
            )
            self._async_loop = loop
        return self._async

    def close(self) -> None:
        """Close the blocking client."""
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close both clients (the async one only on the loop it belongs to; one left on a
        closed loop has nothing open to close)."""
        self.close()
        if self._async is not None:
            stale, self._async = self._async, None
            if self._async_loop is _running_loop():
                await stale.aclose()

    def lookup(self, query: LookupQuery) -> LookupResult:
        """Look ``query`` up through the API."""
        check_lookup(self.processor, self.lookup_rules, query)
        spec = self.lookup_request(query)
        client = self.sync_client
        return self.parse_lookup(query, _send(client, spec), client)

    async def alookup(self, query: LookupQuery) -> LookupResult:
        """Look ``query`` up through the API, without blocking."""
        check_lookup(self.processor, self.lookup_rules, query)
        spec = self.lookup_request(query)
        client = self.async_client
        return self.parse_lookup(query, await _asend(client, spec), client)

    def submit(self, request: DisputeRequest, idempotency_key: str) -> SubmissionReceipt:
        """File ``request`` through the API, exactly once."""
        spec = self.submit_request(request, idempotency_key)
        client = self.sync_client
        return self.parse_submit(request, idempotency_key, _send(client, spec), client)

    async def asubmit(self, request: DisputeRequest, idempotency_key: str) -> SubmissionReceipt:
        """File ``request`` through the API, exactly once, without blocking."""
        spec = self.submit_request(request, idempotency_key)
        client = self.async_client
        return self.parse_submit(request, idempotency_key, await _asend(client, spec), client)


# -- the declarative contract ----------------------------------------------------------------

#: One request of an operation: what :class:`ProcessorApi` operations yield.
Call = RequestSpec

T = TypeVar("T")

#: An operation written once for sync and async callers: a generator that yields each
#: :class:`Call` it needs sent, receives the checked :class:`httpx.Response` for it, and returns
#: its result. The core drives it over its blocking or its async client (as httpx drives its
#: authentication flows), so a plugin writes no client class and no ``async def``.
Operation: TypeAlias = Generator[Call, "httpx.Response", T]


@dataclass(frozen=True)
class HeaderAuth:
    """Credentials sent in headers: header name → template over credential names
    (``{"Authorization": "{api_key}"}``, ``{"Authorization": "Bearer {token}"}``)."""

    headers: Mapping[str, str]

    @cached_property
    def credential_names(self) -> tuple[str, ...]:
        """The credentials the templates name, in order (read once)."""
        names: dict[str, None] = {}
        for template in self.headers.values():
            for _, name, _, _ in Formatter().parse(template):
                if name:
                    names[name] = None
        return tuple(names)

    def apply(self, request: httpx.Request, credential: Callable[[str], str]) -> httpx.Request:
        """``request`` with the headers set."""
        values = {name: credential(name) for name in self.credential_names}
        for header, template in self.headers.items():
            request.headers[header] = template.format(**values)
        return request


@dataclass(frozen=True)
class QueryAuth:
    """Credentials sent as query parameters: parameter name → credential name
    (``{"auth_user": "auth_user", "auth_pass": "auth_pass"}``). Their values are masked **by
    name** in every URL payhelp logs or raises. ``spellings`` renames parameters on some paths:
    path prefix → {declared name: name used there} (SegPay spells ``UserID`` ``Userid`` on its
    ``ADM.asmx`` tasks)."""

    params: Mapping[str, str]
    spellings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def credential_names(self) -> tuple[str, ...]:
        """The credentials sent, in order."""
        return tuple(dict.fromkeys(self.params.values()))

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Every query name a credential travels under."""
        names = dict.fromkeys(self.params)
        for renames in self.spellings.values():
            names.update(dict.fromkeys(renames.values()))
        return tuple(names)

    def apply(self, request: httpx.Request, credential: Callable[[str], str]) -> httpx.Request:
        """``request`` with the credentials after its own query parameters (as the processors'
        integrations send them); a credential always wins over a parameter of the same name."""
        path = request.url.path.lower()
        renames: Mapping[str, str] = {}
        for prefix, names in self.spellings.items():
            if prefix.lower() in path:
                renames = names
                break
        values = {
            renames.get(param, param): credential(name) for param, name in self.params.items()
        }
        request.url = request.url.copy_with(params=request.url.params.merge(values))
        return request


Auth = HeaderAuth | QueryAuth

#: Methods that change nothing at the processor unless its API says otherwise.
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ProcessorApi:
    """What a processor plugin writes for its merchant API, registered with its metadata
    (``register(info, directory, api=MyApi, sandbox=MySandbox)``). The core does all the talking:
    it builds the requests, authenticates them, retries what may be retried, limits the rate,
    maps transport failures and masks secrets; the plugin declares its API and writes its
    operations once, as generators of :class:`Call` (see :data:`Operation`).

    Class attributes declare the API; the processor's capabilities (``api_lookup``,
    ``api_submission``) and its ``public_api`` record are derived from them.
    """

    #: The processor id.
    processor: ClassVar[str]
    #: ``official`` when written from the processor's documentation or SDK, ``third_party``
    #: when from integrations that quote it.
    basis: ClassVar[Basis]
    #: The production base URL (``base_url`` in the settings overrides it).
    base_url: ClassVar[str]
    #: Where the wire format was learned (a URL, or a repository and path).
    reference: ClassVar[str]
    #: How credentials go on a request.
    auth: ClassVar[Auth]
    #: The field combinations the processor's lookup accepts.
    lookup_rules: ClassVar[tuple[LookupRule, ...]]
    #: Whether refunds or disputes can be filed through the API.
    can_submit: ClassVar[bool] = True
    #: The header that carries an idempotency key, when the processor honours one.
    idempotency_header: ClassVar[str | None] = None

    def __init__(self, *, sandbox: bool = False) -> None:
        #: Whether this instance talks to the sandbox (``LookupResult.source`` says so).
        self.sandbox = sandbox

    @classmethod
    def credential_names(cls) -> tuple[str, ...]:
        """The settings names of the credentials, from :attr:`auth`."""
        return cls.auth.credential_names

    @property
    def source(self) -> Literal["api", "sandbox"]:
        """What :attr:`LookupResult.source` says for answers of this instance."""
        return "sandbox" if self.sandbox else "api"

    # -- the declarations the core asks for ----------------------------------------------------

    def authenticate(
        self, request: httpx.Request, credential: Callable[[str], str]
    ) -> httpx.Request:
        """Put the credentials on ``request`` (by :attr:`auth`)."""
        return self.auth.apply(request, credential)

    def has_side_effects(self, request: httpx.Request) -> bool:
        """Whether sending ``request`` changes something at the processor (a refund, a
        cancellation). Such a request is never sent twice after it may have arrived, unless the
        processor honours :attr:`idempotency_header`. The default judges by the method
        (``GET``, ``HEAD`` and ``OPTIONS`` have none); an API whose tasks are ``GET`` requests
        says which ones here."""
        return request.method.upper() not in _READ_METHODS

    def error_for(self, response: httpx.Response, request_id: str | None) -> APIStatusError | None:
        """The error a response means (a refusal the processor reports with status 200, an
        error body), or ``None`` to let the HTTP status decide. Called for every answer."""
        return None

    # -- the operations ----------------------------------------------------------------------

    def lookup(self, query: LookupQuery) -> Operation[LookupResult]:
        """Look ``query`` up (already checked against :attr:`lookup_rules`)."""
        raise NotImplementedError

    def submit(self, request: DisputeRequest, idempotency_key: str) -> Operation[SubmissionReceipt]:
        """File ``request`` with the processor."""
        raise NotImplementedError

    # -- helpers for operations ---------------------------------------------------------------

    def invalid(self, response: httpx.Response, why: str) -> APIResponseValidationError:
        """The error for an answer that is not what the processor documents."""
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        return APIResponseValidationError(
            f"{self.processor}: {why} (HTTP {response.status_code}, {kind})",
            processor=self.processor,
            request_id=wire_request_id(response),
            status_code=response.status_code,
        )

    def scrub(self, text: str) -> str:
        """``text`` without credentials or card numbers, for messages and logs."""
        return scrub(mask_query_credentials(text), known_secrets())


def drive(operation: Operation[T], send: Callable[[Call], httpx.Response]) -> T:
    """Run ``operation`` to its result, sending each call it yields with ``send``."""
    try:
        call = next(operation)
        while True:
            call = operation.send(send(call))
    except StopIteration as done:
        return cast("T", done.value)
    finally:
        operation.close()


async def adrive(operation: Operation[T], send: Callable[[Call], Awaitable[httpx.Response]]) -> T:
    """:func:`drive` for async callers: the same operation, each call awaited."""
    try:
        call = next(operation)
        while True:
            call = operation.send(await send(call))
    except StopIteration as done:
        return cast("T", done.value)
    finally:
        operation.close()


class ApiDriver(ApiAdapter):
    """The core's adapter for a registered :class:`ProcessorApi`: its clients are the core's own,
    configured by the API's declarations, and its operations are driven for sync and async
    callers alike."""

    def __init__(self, api: ProcessorApi, settings: AdapterSettings) -> None:
        self.api = api
        self.processor = api.processor  # type: ignore[misc]  # per instance, from the API
        self.basis = api.basis  # type: ignore[misc]
        self.credential_names = api.credential_names()  # type: ignore[misc]
        self.lookup_rules = api.lookup_rules  # type: ignore[misc]
        self.can_submit = api.can_submit  # type: ignore[misc]
        if isinstance(api.auth, QueryAuth):
            declare_query_credentials(api.auth.parameter_names)
        super().__init__(settings)

    @classmethod
    def build(
        cls,
        api_class: type[ProcessorApi],
        settings: Mapping[str, object],
        environ: Mapping[str, str] | None = None,
    ) -> ApiDriver | None:
        """The driver for ``api_class`` under these settings; ``None`` when no credentials are
        configured and the sandbox was not asked for."""
        read = read_settings(
            api_class.processor,
            settings,
            default_base_url=api_class.base_url,
            credential_names=api_class.credential_names(),
            environ=environ,
        )
        if read is None:
            return None
        return cls(api_class(sandbox=read.sandbox), read)

    def _options(self) -> dict[str, Any]:
        return {**super()._options(), "rules": self.api}

    def run(self, operation: Operation[T]) -> T:
        """Drive one of the API's operations over the blocking client (an extra one, such as
        SegPay's membership cancellation)."""
        client = self.sync_client
        return drive(operation, lambda call: _send(client, call))

    async def arun(self, operation: Operation[T]) -> T:
        """Drive one of the API's operations over the async client."""
        client = self.async_client
        return await adrive(operation, lambda call: _asend(client, call))

    def lookup(self, query: LookupQuery) -> LookupResult:
        check_lookup(self.processor, self.lookup_rules, query)
        return self.run(self.api.lookup(query))

    async def alookup(self, query: LookupQuery) -> LookupResult:
        check_lookup(self.processor, self.lookup_rules, query)
        return await self.arun(self.api.lookup(query))

    def submit(self, request: DisputeRequest, idempotency_key: str) -> SubmissionReceipt:
        return self.run(self.api.submit(request, idempotency_key))

    async def asubmit(self, request: DisputeRequest, idempotency_key: str) -> SubmissionReceipt:
        return await self.arun(self.api.submit(request, idempotency_key))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    # No loop runs where asyncio was never imported: a sync-only process never loads it.
    loaded = sys.modules.get("asyncio")
    if loaded is None:
        return None
    try:
        return cast("asyncio.AbstractEventLoop", loaded.get_running_loop())
    except RuntimeError:
        return None


def _close_later(client: AsyncClient, loop: asyncio.AbstractEventLoop | None) -> None:
    if loop is None:
        return
    import asyncio  # noqa: PLC0415 - loaded already: a loop was running

    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to close
        asyncio.run_coroutine_threadsafe(client.aclose(), loop)


# httpx is not imported to tell a transport: if it is not loaded, nothing can be one of its.
def _sync_transport(value: object) -> httpx.BaseTransport | None:
    httpx = sys.modules.get("httpx")
    return value if httpx is not None and isinstance(value, httpx.BaseTransport) else None


def _async_transport(value: object) -> httpx.AsyncBaseTransport | None:
    httpx = sys.modules.get("httpx")
    return value if httpx is not None and isinstance(value, httpx.AsyncBaseTransport) else None


def _is_sandbox(transport: object) -> bool:
    sandbox = sys.modules.get("payhelp.sandbox_transport")
    return sandbox is not None and isinstance(transport, sandbox.SandboxTransport)


def _send(client: SyncClient, spec: RequestSpec) -> httpx.Response:
    return client.request(
        spec.method,
        spec.path,
        params=spec.params,
        json=spec.json,
        data=spec.data,
        headers=spec.headers,
        idempotency_key=spec.idempotency_key,
    )


async def _asend(client: AsyncClient, spec: RequestSpec) -> httpx.Response:
    return await client.request(
        spec.method,
        spec.path,
        params=spec.params,
        json=spec.json,
        data=spec.data,
        headers=spec.headers,
        idempotency_key=spec.idempotency_key,
    )


__all__ = [
    "SANDBOX_CREDENTIAL",
    "AdapterSettings",
    "ApiAdapter",
    "ApiDriver",
    "Auth",
    "Basis",
    "Call",
    "HeaderAuth",
    "Operation",
    "ProcessorApi",
    "QueryAuth",
    "RequestSpec",
    "adrive",
    "check_base_url",
    "drive",
    "read_settings",
]
