"""The ASGI application: every method of the embedding API as JSON over HTTP.

:func:`create_app` builds a FastAPI application around one :class:`~payhelp.aio.AsyncPayhelp`.
Mount it in a platform's own ASGI app, or run it alone with ``payhelp serve``. Bodies are read
as JSON and validated by payhelp itself, exactly as the Python API validates keyword fields, so
a caller over HTTP meets the same rules and the same typed errors, as problem details
(:mod:`payhelp.service.problems`). The OpenAPI document (``GET /openapi.json``) is generated from
the same pydantic models.

The platform's own callers present an API key (``Authorization: Bearer <key>`` or ``X-API-Key``;
see :mod:`payhelp.service.keys`). The notification receivers (``/v1/notifications/{processor}``)
take no key: each is authenticated by its processor's own checks (a signature, the source
address, a token), and a delivery that fails them is recorded and refused.

Every request is bounded: a body over ``max_body`` (``max_batch_body`` for a batch) is refused
with 413 before it is read whole, and a request that has not started answering within
``timeout`` seconds gets 504. The access log (logger ``payhelp.service.access``) holds the
method, the route's template (never the query string, where a postback carries its fields),
the status, the time taken, the client's address and the name of the key, never the key.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import iterate_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from payhelp.aio import AsyncPayhelp
from payhelp.api import Payhelp
from payhelp.cases import DisputeRequest, LookupQuery, LookupResult, SubmissionReceipt
from payhelp.channels import ContactPlan
from payhelp.errors import ConfigurationError, InvalidInputError, PayhelpError
from payhelp.inputs import language as checked_language
from payhelp.models import ProcessorInfo, RouteDecision, Transaction
from payhelp.notifications import ReceiveOutcome
from payhelp.policies.advice import DeclineAdvice
from payhelp.policies.dunning import DunningPlan
from payhelp.policies.refunds import RefundDecision, RefundFacts
from payhelp.reconcile import Reconciled
from payhelp.redact import mask_card_numbers
from payhelp.service.keys import ApiKeys
from payhelp.service.problems import PROBLEM_JSON, Problem, from_error, problem
from payhelp.store import EventRecord, SubmissionRecord

ACCESS_LOG = logging.getLogger("payhelp.service.access")
_LOG = logging.getLogger("payhelp.service")

#: The default bound on a request body.
MAX_BODY = 1024 * 1024
#: The default bound on a batch's body (JSON Lines).
MAX_BATCH_BODY = 32 * 1024 * 1024
#: Seconds a request may take before it starts answering.
TIMEOUT = 30.0
_BATCH_PATHS = frozenset({"/v1/route/batch"})
_OPEN_PATHS = ("/health", "/ready", "/openapi.json", "/v1/notifications/")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Health(BaseModel):
    """The answer of ``/health`` and ``/ready``."""

    status: str
    """``ok`` or ``ready``."""
    processors: int | None = None
    """How many processors the loaded plugins register (``/ready``)."""


class PluginInfo(BaseModel):
    """One plugin as ``payhelp plugins`` shows it."""

    name: str
    version: str | None
    source: str
    hooks: list[str]
    processors: list[str]
    error: str | None
    distribution: str | None
    seconds: float | None
    notes: list[str]
    hook_errors: list[str]
    problems: list[str]


class DeclineQuestion(BaseModel):
    """A raw decline code to explain (``POST /v1/declines/explain``)."""

    code: str = Field(max_length=1000)
    scheme: str = Field(max_length=64)
    network: str | None = None
    advice_code: str | int | None = None
    visa_category: int | str | None = None
    processor: str | None = None
    country: str | None = None
    language: str | None = None


class DunningQuestion(BaseModel):
    """A failed renewal to plan for (``POST /v1/dunning/plan``)."""

    failed_at: str
    code: str = Field(max_length=1000)
    scheme: str = Field(max_length=64)
    network: str | None = None
    advice_code: str | int | None = None
    visa_category: int | str | None = None
    language: str | None = None


class LookupRequest(LookupQuery):
    """A lookup (``POST /v1/lookups``): the processor and the query's fields."""

    processor: str
    sandbox: bool | None = None
    language: str | None = None


class DisputeSubmission(DisputeRequest):
    """A refund or dispute request (``POST /v1/disputes``): the processor, the request's fields
    (an attachment's ``data`` in base64), and how to send it."""

    processor: str
    channel: str = "auto"
    sandbox: bool | None = None
    language: str | None = None


class RefundQuestion(RefundFacts):
    """A refund request to judge (``POST /v1/refunds/check``)."""

    language: str | None = None


class DisputeShown(SubmissionRecord):
    """One submission, with the notification that confirmed it."""

    confirmation: EventRecord | None = None


#: Request bodies documented from these models (payhelp validates them itself).
_BODIES: dict[str, type[BaseModel]] = {
    "route": Transaction,
    "refund": RefundQuestion,
    "decline": DeclineQuestion,
    "dunning": DunningQuestion,
    "lookup": LookupRequest,
    "dispute": DisputeSubmission,
}
_PROBLEM = {"model": Problem, "content": {PROBLEM_JSON: {}}}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, **_PROBLEM}
    for code, text in (
        (401, "No valid API key"),
        (404, "Unknown processor, submission or notification"),
        (405, "Method not allowed"),
        (409, "Idempotency key already used for another request"),
        (413, "Body too large"),
        (422, "Invalid input"),
        (502, "The processor, its plugin or the mail server failed"),
        (503, "Store, configuration or rate limit"),
        (504, "Took too long"),
    )
}


class _RefusalError(Exception):
    """A problem raised by the service itself (no key, a body that is not JSON)."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["detail"])
        self.body = body


def _body_schema(name: str) -> dict[str, Any]:
    model = _BODIES[name]
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}In"}}
            },
        }
    }


def _json(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status, media_type="application/json")


def _dumps(items: list[Any]) -> Response:
    return Response(
        "[" + ",".join(item.model_dump_json() for item in items) + "]",
        media_type="application/json",
    )


async def _object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _RefusalError(
            problem(422, "Invalid input", "the body is not JSON", "InvalidInputError")
        ) from None
    if not isinstance(data, dict):
        raise _RefusalError(
            problem(422, "Invalid input", "the body is a JSON object", "InvalidInputError")
        )
    return data


def _pop_text(data: dict[str, Any], name: str) -> str | None:
    value = data.pop(name, None)
    if value is not None and not isinstance(value, str):
        raise InvalidInputError(f"{name} is text")
    return value


def _pop_flag(data: dict[str, Any], name: str) -> bool | None:
    value = data.pop(name, None)
    if value is not None and not isinstance(value, bool):
        raise InvalidInputError(f"{name} is true or false")
    return value


def _attachments(data: dict[str, Any]) -> None:
    """Decode each attachment's base64 ``data`` in place."""
    items = data.get("attachments")
    if items is None:
        return
    if not isinstance(items, list):
        raise InvalidInputError("attachments is a list")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("data"), str):
            raise InvalidInputError("each attachment has filename, content_type and data (base64)")
        try:
            item["data"] = base64.b64decode(item["data"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInputError("an attachment's data is base64") from None


def create_app(  # noqa: PLR0915 - one place lists every route
    payhelp: AsyncPayhelp | Payhelp | None = None,
    *,
    api_keys: ApiKeys | str | Path | None = None,
    allow_anonymous: bool = False,
    max_body: int = MAX_BODY,
    max_batch_body: int = MAX_BATCH_BODY,
    timeout: float = TIMEOUT,
) -> FastAPI:
    """The service for ``payhelp`` (an :class:`AsyncPayhelp`, or a :class:`Payhelp` to wrap;
    built from the configuration and environment when ``None``). ``api_keys`` is the file of
    key digests (see :mod:`payhelp.service.keys`); without it the service refuses to start unless
    ``allow_anonymous`` says every caller may use it (a service behind the platform's own gate)."""
    if payhelp is None:
        ph = AsyncPayhelp()
    elif isinstance(payhelp, Payhelp):
        ph = AsyncPayhelp.__new__(AsyncPayhelp)
        ph.sync = payhelp
    elif isinstance(payhelp, AsyncPayhelp):
        ph = payhelp
    else:
        raise InvalidInputError("create_app takes a Payhelp or an AsyncPayhelp")
    keys = api_keys if isinstance(api_keys, ApiKeys) or api_keys is None else ApiKeys(api_keys)
    if keys is None and not allow_anonymous:
        raise ConfigurationError(
            "the service needs API keys (make one with payhelp api-key new --file FILE, then "
            "give api_keys=FILE or --api-keys FILE), or allow_anonymous=True behind a gate of "
            "your own"
        )
    for name, value in (("max_body", max_body), ("max_batch_body", max_batch_body)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
            raise InvalidInputError(f"{name} is a number of bytes, 1024 or more")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise InvalidInputError("timeout is a number of seconds above 0")

    app = FastAPI(
        title="payhelp",
        version=_version("payhelp"),
        summary="Billing support across payment processors, over HTTP.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        responses=_ERRORS,
    )
    app.state.payhelp = ph
    bearer = HTTPBearer(auto_error=False, description="An API key: Authorization: Bearer <key>")
    header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key")

    # -- errors as problem details ---------------------------------------------------------

    def _problem_response(body: dict[str, Any]) -> JSONResponse:
        return JSONResponse(body, body["status"], media_type=PROBLEM_JSON)

    @app.exception_handler(PayhelpError)
    async def _payhelp_error(request: Request, exc: PayhelpError) -> JSONResponse:
        return _problem_response(from_error(exc))

    @app.exception_handler(_RefusalError)
    async def _refusal(request: Request, exc: _RefusalError) -> JSONResponse:
        return _problem_response(exc.body)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(
            ".".join(str(part) for part in error.get("loc", ()))
            + f": {error.get('msg', 'invalid')}"
            for error in exc.errors()
        )
        return _problem_response(problem(422, "Invalid input", where, "InvalidInputError"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return _problem_response(problem(exc.status_code, str(exc.detail), str(exc.detail), name))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        _LOG.error("unexpected %s in %s", type(exc).__name__, _route_of(request.scope))
        return _problem_response(
            problem(500, "Internal error", "payhelp failed unexpectedly", "InternalError")
        )

    # -- who is calling ---------------------------------------------------------------------

    async def caller(request: Request) -> str:
        if keys is None:
            return "anonymous"
        credentials = await bearer(request)
        presented = credentials.credentials if credentials else await header(request)
        name = keys.name_of(presented)
        if name is None:
            raise _RefusalError(
                problem(
                    401,
                    "No valid API key",
                    "give a current API key: Authorization: Bearer <key> or X-API-Key",
                    "AuthenticationError",
                )
            )
        request.scope["payhelp.caller"] = name
        return name

    guarded: list[Any] = [Depends(caller)]
    sync = ph.sync

    # -- health -----------------------------------------------------------------------------

    @app.get("/health", response_model=Health, tags=["health"])
    async def health() -> Response:
        """The process answers."""
        return _json(Health(status="ok"))

    @app.get("/ready", response_model=Health, tags=["health"])
    async def ready() -> Response:
        """Plugins loaded and the store reachable: ready for traffic (503 otherwise)."""
        count = len(sync.processors())
        if not count:
            raise _RefusalError(
                problem(503, "Not ready", "no processor plugin is loaded", "ConfigurationError")
            )
        await ph.disputes(limit=1)  # opens the store: a StorageError is a 503
        return _json(Health(status="ready", processors=count))

    # -- processors and plugins -------------------------------------------------------------

    @app.get(
        "/v1/processors",
        response_model=list[ProcessorInfo],
        dependencies=guarded,
        tags=["processors"],
    )
    async def processors() -> Response:
        """The processors the loaded plugins know."""
        return _dumps(sync.processors())

    @app.get(
        "/v1/plugins", response_model=list[PluginInfo], dependencies=guarded, tags=["processors"]
    )
    async def plugins() -> Response:
        """Every plugin tried, with each load error and problem."""
        records = await ph.plugins()
        return _dumps([PluginInfo.model_validate(asdict(record)) for record in records])

    @app.get("/v1/contacts", response_model=ContactPlan, dependencies=guarded, tags=["contacts"])
    async def contacts(
        processor: str = Query(max_length=64),
        country: str = Query(max_length=64),
        language: str | None = Query(None, max_length=16),
    ) -> Response:
        """Whom a customer in ``country`` should contact at ``processor``, in order, and why."""
        return _json(sync.contacts(processor, country, language=checked_language(language)))

    # -- routing ----------------------------------------------------------------------------

    @app.post(
        "/v1/route",
        response_model=RouteDecision,
        dependencies=guarded,
        tags=["routing"],
        openapi_extra=_body_schema("route"),
    )
    async def route(request: Request) -> Response:
        """Decide which processor handled a transaction (the fields of ``Transaction``)."""
        return _json(sync.route(await _object(request)))

    @app.post(
        "/v1/route/batch",
        dependencies=guarded,
        tags=["routing"],
        response_class=StreamingResponse,
        responses={200: {"content": {"application/x-ndjson": {}}, "description": "JSON Lines"}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            }
        },
    )
    async def route_batch(request: Request) -> StreamingResponse:
        """Route JSON Lines (one transaction a line): one JSON line out per line in, errors
        included, in order, streamed as they are decided."""
        lines = (await request.body()).splitlines()

        async def answers() -> AsyncIterator[str]:
            async for line in iterate_in_threadpool(sync.route_batch(lines)):
                yield line + "\n"

        return StreamingResponse(answers(), media_type="application/x-ndjson")

    # -- policies ---------------------------------------------------------------------------

    @app.post(
        "/v1/refunds/check",
        response_model=RefundDecision,
        dependencies=guarded,
        tags=["policies"],
        openapi_extra=_body_schema("refund"),
    )
    async def refund_check(request: Request) -> Response:
        """Judge a refund request under the platform's policy."""
        data = await _object(request)
        language = checked_language(_pop_text(data, "language"))
        return _json(sync.refund_check(data, language=language))

    @app.post(
        "/v1/declines/explain",
        response_model=DeclineAdvice,
        dependencies=guarded,
        tags=["policies"],
        openapi_extra=_body_schema("decline"),
    )
    async def explain_decline(request: Request) -> Response:
        """Explain a raw decline code: reason, hard or soft, whether to retry, who fixes it."""
        data = await _object(request)
        code, scheme = data.pop("code", None), data.pop("scheme", None)
        if not isinstance(code, str) or not isinstance(scheme, str):
            raise InvalidInputError("give code and scheme, as text")
        language = checked_language(_pop_text(data, "language"))
        _only(data, ("network", "advice_code", "visa_category", "processor", "country"))
        return _json(sync.explain_decline(code, scheme, language=language, **data))

    @app.post(
        "/v1/dunning/plan",
        response_model=DunningPlan,
        dependencies=guarded,
        tags=["policies"],
        openapi_extra=_body_schema("dunning"),
    )
    async def dunning_plan(request: Request) -> Response:
        """The whole schedule after a failed subscription payment."""
        data = await _object(request)
        failed_at, code, scheme = (data.pop(k, None) for k in ("failed_at", "code", "scheme"))
        if not all(isinstance(v, str) for v in (failed_at, code, scheme)):
            raise InvalidInputError("give failed_at, code and scheme, as text")
        language = checked_language(_pop_text(data, "language"))
        _only(data, ("network", "advice_code", "visa_category"))
        plan = sync.dunning_plan(str(failed_at), str(code), str(scheme), language=language, **data)
        return _json(plan)

    # -- lookups and disputes ---------------------------------------------------------------

    @app.post(
        "/v1/lookups",
        response_model=LookupResult,
        dependencies=guarded,
        tags=["lookups"],
        openapi_extra=_body_schema("lookup"),
    )
    async def lookup(request: Request) -> Response:
        """Find a payment through the processor's API, or say where to look it up."""
        data = await _object(request)
        processor = _pop_text(data, "processor")
        if processor is None:
            raise InvalidInputError("give the processor")
        sandbox = _pop_flag(data, "sandbox")
        language = checked_language(_pop_text(data, "language"))
        return _json(await ph.lookup(processor, sandbox=sandbox, language=language, **data))

    @app.post(
        "/v1/disputes",
        response_model=SubmissionReceipt,
        status_code=201,
        dependencies=guarded,
        tags=["disputes"],
        openapi_extra=_body_schema("dispute")
        | {
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 100},
                    "description": "Your key for this request (default: derived from it).",
                }
            ]
        },
        responses={200: {"model": SubmissionReceipt, "description": "The first receipt again"}},
    )
    async def submit_dispute(request: Request) -> Response:
        """File a refund or dispute request exactly once. The same request, or the same
        ``Idempotency-Key``, answers the first receipt again (200) and sends nothing."""
        data = await _object(request)
        processor = _pop_text(data, "processor")
        if processor is None:
            raise InvalidInputError("give the processor")
        channel = _pop_text(data, "channel") or "auto"
        sandbox = _pop_flag(data, "sandbox")
        language = checked_language(_pop_text(data, "language"))
        _attachments(data)
        receipt = await ph.submit_dispute(
            processor,
            data,
            idempotency_key=request.headers.get("idempotency-key"),
            channel=channel,  # type: ignore[arg-type]  # checked by payhelp
            sandbox=sandbox,
            language=language,
        )
        return _json(receipt, 200 if receipt.replayed else 201)

    @app.get(
        "/v1/disputes",
        response_model=list[SubmissionRecord],
        dependencies=guarded,
        tags=["disputes"],
    )
    async def disputes(
        processor: str | None = Query(None, max_length=64),
        status: str | None = Query(None, max_length=20),
        limit: int = Query(50, ge=1, le=10_000),
        sandbox: bool | None = None,
    ) -> Response:
        """The submissions recorded, newest first."""
        found = await ph.disputes(processor=processor, status=status, limit=limit, sandbox=sandbox)
        return _dumps(found)

    @app.post(
        "/v1/disputes/reconcile",
        response_model=list[Reconciled],
        dependencies=guarded,
        tags=["disputes"],
    )
    async def reconcile(
        *,
        processor: str | None = Query(None, max_length=64),
        due_days: float = Query(7.0, ge=0, le=3650),
        country: str | None = Query(None, max_length=64),
        limit: int = Query(200, ge=1, le=10_000),
        sandbox: bool | None = None,
        language: str | None = Query(None, max_length=16),
    ) -> Response:
        """For each request sent and not yet confirmed: the processor's API asked where there is
        one (what it reports refunded is confirmed), the rest waiting or overdue with whom to
        chase."""
        found = await ph.reconcile(
            processor=processor,
            due_days=due_days,
            country=country,
            limit=limit,
            sandbox=sandbox,
            language=checked_language(language),
        )
        return _dumps(found)

    @app.get(
        "/v1/disputes/{id_or_key}",
        response_model=DisputeShown,
        dependencies=guarded,
        tags=["disputes"],
    )
    async def dispute(id_or_key: str, sandbox: bool | None = None) -> Response:
        """One submission, by number or idempotency key, with the notification that confirmed
        it."""
        record = await ph.dispute(id_or_key, sandbox=sandbox)
        confirmation = None
        if record.confirmed_by is not None:
            confirmation = await ph.event(record.confirmed_by, sandbox=sandbox)
        shown = DisputeShown.model_construct(**dict(record), confirmation=confirmation)
        return _json(shown)

    @app.get(
        "/v1/events", response_model=list[EventRecord], dependencies=guarded, tags=["disputes"]
    )
    async def events(
        *,
        processor: str | None = Query(None, max_length=64),
        kind: str | None = Query(None, max_length=30),
        status: str | None = Query(None, max_length=20),
        transaction_id: str | None = Query(None, max_length=128),
        limit: int = Query(50, ge=1, le=10_000),
        sandbox: bool | None = None,
    ) -> Response:
        """The notifications received, newest first, refused ones included."""
        found = await ph.events(
            processor=processor,
            kind=kind,
            status=status,
            transaction_id=transaction_id,
            limit=limit,
            sandbox=sandbox,
        )
        return _dumps(found)

    @app.get(
        "/v1/chargebacks",
        response_model=list[EventRecord],
        dependencies=guarded,
        tags=["disputes"],
    )
    async def chargebacks(
        processor: str | None = Query(None, max_length=64),
        limit: int = Query(50, ge=1, le=10_000),
        sandbox: bool | None = None,
    ) -> Response:
        """The chargebacks the processors reported, newest first."""
        return _dumps(await ph.chargebacks(processor=processor, limit=limit, sandbox=sandbox))

    # -- notifications ----------------------------------------------------------------------

    async def notification(processor: str, request: Request) -> Response:
        client = request.client.host if request.client else None
        outcome: ReceiveOutcome = await ph.receive(
            processor,
            request.method,
            headers=list(request.headers.items()),
            query=str(request.url.query),
            body=await request.body(),
            remote_addr=client,
        )
        request.scope["payhelp.outcome"] = outcome.status
        return Response(
            outcome.reply_body, outcome.reply_status, media_type=outcome.reply_content_type
        )

    for method in ("GET", "POST"):
        app.add_api_route(
            "/v1/notifications/{processor}",
            notification,
            methods=[method],
            tags=["notifications"],
            name=f"notification_{method.lower()}",
            summary=f"Receive a processor's notification ({method})",
            description=(
                "A processor's postback or IPN, authenticated by that processor's own checks "
                "(signature, source address, token), not by an API key. Answered as the "
                "processor expects (SegPay: OK); a refused delivery is recorded and gets 403."
            ),
            response_class=Response,
            responses={
                200: {"content": {"text/plain": {}}, "description": "Accepted or repeated"},
                403: {"content": {"text/plain": {}}, "description": "Refused"},
            },
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in _BODIES.values():
            shape = model.model_json_schema(
                ref_template="#/components/schemas/{model}In", mode="validation"
            )
            for name, part in shape.pop("$defs", {}).items():
                schemas.setdefault(f"{name}In", part)
            schemas[f"{model.__name__}In"] = shape
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(_Guard, max_body=max_body, max_batch_body=max_batch_body, timeout=timeout)
    return app


def _only(data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(set(data) - set(allowed))
    if extra:
        raise InvalidInputError(
            f"unknown field {mask_card_numbers(extra[0])[:40]!r} (known: {', '.join(allowed)})"
        )


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version(package)
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "-"


class _Guard:
    """Bounds every request (body size, time to answer) and writes the access log."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_batch_body: int, timeout: float) -> None:
        self.app = app
        self.max_body = max_body
        self.max_batch_body = max_batch_body
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = str(scope.get("path", ""))
        limit = self.max_batch_body if path in _BATCH_PATHS else self.max_body
        state: dict[str, Any] = {"status": None, "logged": False}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Written before the last bytes leave, so that it is there once the caller has
                # its answer.
                state["logged"] = True
                _access(scope, state["status"], time.perf_counter() - started)
            await send(message)

        declared = _content_length(scope)
        try:
            if declared is not None and declared > limit:
                await _send_problem(sending, _too_large(limit))
                return
            counted = {"bytes": 0}

            async def receiving() -> Message:
                message = await receive()
                if message["type"] == "http.request":
                    counted["bytes"] += len(message.get("body", b""))
                    if counted["bytes"] > limit:
                        raise _TooLargeError
                return message

            await self._bounded(scope, receiving, sending, state, limit)
        finally:
            if not state["logged"]:  # the caller went away before the answer was whole
                _access(scope, state["status"], time.perf_counter() - started)

    async def _bounded(
        self, scope: Scope, receive: Receive, send: Send, state: dict[str, Any], limit: int
    ) -> None:
        task = asyncio.ensure_future(self.app(scope, receive, send))
        deadline = time.monotonic() + self.timeout
        while not task.done():
            if state["status"] is not None:  # answering: a stream may take its time
                await asyncio.shield(task)
                break
            left = deadline - time.monotonic()
            if left <= 0:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                await _send_problem(
                    send,
                    problem(
                        504, "Took too long", f"no answer within {self.timeout:g} s", "Timeout"
                    ),
                )
                return
            await asyncio.wait({task}, timeout=min(left, 0.05))
        try:
            task.result()
        except _TooLargeError:
            if state["status"] is None:
                await _send_problem(send, _too_large(limit))


class _TooLargeError(Exception):
    """The body went over its bound while it was being read."""


def _too_large(limit: int) -> dict[str, Any]:
    return problem(413, "Body too large", f"a body here is at most {limit} bytes", "BodyTooLarge")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_problem(send: Send, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": body["status"],
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def _access(scope: Scope, status: int | None, seconds: float) -> None:
    if not ACCESS_LOG.isEnabledFor(logging.INFO):
        return
    client = scope.get("client")
    ACCESS_LOG.info(
        "%s %s %s %.1fms client=%s key=%s%s",
        scope.get("method", "-"),
        _route_of(scope),
        status if status is not None else "-",
        seconds * 1000,
        client[0] if client else "-",
        scope.get("payhelp.caller", "-"),
        f" notification={scope['payhelp.outcome']}" if "payhelp.outcome" in scope else "",
    )


#: The environment ``payhelp serve`` hands each worker (uvicorn starts workers from an import
#: string, so the options travel this way).
ENV_API_KEYS = "PAYHELP_SERVICE_API_KEYS"
ENV_ANONYMOUS = "PAYHELP_SERVICE_ALLOW_ANONYMOUS"
ENV_SANDBOX = "PAYHELP_SERVICE_SANDBOX"
ENV_MAX_BODY = "PAYHELP_SERVICE_MAX_BODY"
ENV_TIMEOUT = "PAYHELP_SERVICE_TIMEOUT"


def from_environment() -> FastAPI:
    """The app as ``payhelp serve`` configures it, from ``PAYHELP_CONFIG`` and the
    ``PAYHELP_SERVICE_*`` variables (uvicorn's ``--factory`` target:
    ``payhelp.service.app:from_environment``)."""
    import os  # noqa: PLC0415

    env = os.environ
    sandbox = env.get(ENV_SANDBOX) == "1"
    return create_app(
        AsyncPayhelp(config=env.get("PAYHELP_CONFIG") or None, sandbox=sandbox),
        api_keys=env.get(ENV_API_KEYS) or None,
        allow_anonymous=env.get(ENV_ANONYMOUS) == "1",
        max_body=int(env.get(ENV_MAX_BODY) or MAX_BODY),
        timeout=float(env.get(ENV_TIMEOUT) or TIMEOUT),
    )


__all__ = ["ACCESS_LOG", "MAX_BATCH_BODY", "MAX_BODY", "TIMEOUT", "create_app", "from_environment"]
