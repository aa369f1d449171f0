"""Sandboxes: processors' APIs imitated in their documented wire formats, in-process or on a socket.

A plugin with an API registers a :class:`Sandbox` with it: a function from an ``httpx.Request`` to
an ``httpx.Response`` that speaks exactly the processor's format, with deterministic ids for each
case (approved, declined for each reason, refunded, chargeback, not found, slow, failing) listed
by :meth:`Sandbox.cases`. payhelp runs it two ways with the same behaviour on top (latency, a
random error rate, a rate limit answered with 429 and ``Retry-After``):

- in-process, through :class:`SandboxTransport` (``--sandbox`` in the CLI, the test fixture);
- on a real socket, through :class:`SandboxServer` (``payhelp sandbox serve``), each processor
  under ``/<processor id>/``, so integrators can point their configuration's ``base_url`` at it;
  ``GET /_stats`` tells what it served, how many requests its rate limit refused and the most
  that arrived in any sliding window of the rate's length.

The rate limit counts as a processor does: a request is refused (429, with ``Retry-After`` in
whole seconds until a slot frees) when as many were admitted in the sliding window of the rate's
length before it (the last second for ``"100/second"``), wherever that window starts.

A sandbox asks for a delay with the ``X-Sandbox-Delay`` response header (seconds), which the
runner honours without blocking other requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

import h11
import httpx

from payhelp.ratelimit import parse_rate

DELAY_HEADER = "X-Sandbox-Delay"
SANDBOX_HOST = "sandbox.payhelp.test"


@runtime_checkable
class Sandbox(Protocol):
    """One processor's imitation API."""

    processor: str

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` (whose path is relative to the API's base URL)."""
        ...

    def cases(self) -> Mapping[str, str]:
        """The deterministic ids, by case name (``approved``, ``declined_insufficient_funds``,
        ``refunded``, ``chargeback``, ``not_found``, ``slow``, ``failing``…)."""
        ...


def sandbox_base_url(processor: str) -> str:
    """The base URL an adapter uses against an in-process sandbox."""
    return f"http://{SANDBOX_HOST}/{processor}/"


class Behaviour:
    """What a sandbox runner adds to every answer: latency, random failures and a rate limit."""

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        error_rate: float = 0.0,
        rate_limit: str | float | None = None,
        seed: int = 0,
        observe: Callable[[httpx.Request], None] | None = None,
    ) -> None:
        if latency_ms < 0 or not 0.0 <= error_rate <= 1.0:
            raise ValueError("latency_ms >= 0 and 0 <= error_rate <= 1")
        self.latency = latency_ms / 1000
        self.error_rate = error_rate
        rate = parse_rate(rate_limit)
        self.rate = (rate.amount, rate.get_expiry()) if rate is not None else None
        #: Called with every request a sandbox receives (its body read), in-process or on the
        #: socket, before it is answered: what an adapter really sent, for tests and the
        #: conformance suite.
        self.observe = observe
        self._random = random.Random(seed)  # noqa: S311 - a repeatable test failure, not crypto
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._arrivals: deque[float] = deque()
        #: Requests received (refused or not), refused by the rate limit (429), the most
        #: admitted in any sliding window of the rate's length, and the most that *arrived* in
        #: one (refused ones too): what a processor counting arrivals would have seen.
        self.served = 0
        self.limited = 0
        self.max_in_window = 0
        self.max_arrivals_in_window = 0

    def gate(self) -> httpx.Response | None:
        """A 429 or an injected failure for the next request, or ``None`` to let it through."""
        with self._lock:
            self.served += 1
            if self.rate is not None:
                amount, period = self.rate
                now = time.monotonic()
                # Sliding windows: every arrival and every admitted request of the last period.
                arrivals = self._arrivals
                arrivals.append(now)
                while arrivals[0] <= now - period:
                    arrivals.popleft()
                self.max_arrivals_in_window = max(self.max_arrivals_in_window, len(arrivals))
                while self._window and self._window[0] <= now - period:
                    self._window.popleft()
                if len(self._window) >= amount:
                    self.limited += 1
                    wait = max(1, math.ceil(self._window[0] + period - now))
                    return httpx.Response(
                        429,
                        headers={"Retry-After": str(wait)},
                        json={"error": "rate limit exceeded"},
                    )
                self._window.append(now)
                self.max_in_window = max(self.max_in_window, len(self._window))
            if self.error_rate and self._random.random() < self.error_rate:
                return httpx.Response(
                    503,
                    content=b"<html><body>Service Unavailable</body></html>",
                    headers={"Content-Type": "text/html; charset=utf-8"},
                )
        return None


# -- the sandbox kit: what every imitation answers the same way ----------------------------

#: One ISO 8583 response code per normalised decline reason a card processor can express (an
#: address mismatch has none), for sandboxes whose processor passes the issuer's code on. The
#: labels are the core table's (``payhelp.policies.codes/iso8583.toml``), so a sandbox's decline
#: explains to the reason its case is named after.
ISO8583_DECLINES: tuple[tuple[str, str], ...] = (
    ("card_declined", "05"),
    ("insufficient_funds", "51"),
    ("expired_card", "54"),
    ("lost_or_stolen_card", "43"),
    ("incorrect_card_details", "14"),
    ("limit_exceeded", "61"),
    ("suspected_fraud", "59"),
    ("authentication_required", "1A"),
    ("processing_error", "96"),
    ("not_permitted", "57"),
    ("duplicate_transaction", "94"),
    ("merchant_configuration", "58"),
)


def iso8583_declines() -> tuple[tuple[str, str, str], ...]:
    """``(reason, code, label)`` for each of :data:`ISO8583_DECLINES`, labelled as the core's
    ISO 8583 table names the code."""
    from payhelp.policies.declines import builtin_scheme  # noqa: PLC0415 - only sandboxes need it

    table = builtin_scheme("iso8583")  # that table alone, not Braintree's and Stripe's too
    return tuple((reason, code, table.codes[code].label) for reason, code in ISO8583_DECLINES)


def failing_page(title: str = "500 Internal Server Error", status: int = 500) -> httpx.Response:
    """The HTML error page a processor's web server answers when it fails."""
    page = (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1></body></html>"
    )
    return httpx.Response(status, text=page, headers={"Content-Type": "text/html; charset=utf-8"})


def truncated(body: bytes, content_type: str, keep: float = 0.5) -> httpx.Response:
    """A 200 answer cut short (``keep`` of ``body``): a connection dropped mid-answer."""
    cut = body[: max(1, int(len(body) * keep))]
    return httpx.Response(200, content=cut, headers={"Content-Type": content_type})


def slow(response: httpx.Response, seconds: float) -> httpx.Response:
    """``response``, delivered after ``seconds`` (the runner honours the delay without blocking
    other requests)."""
    response.headers[DELAY_HEADER] = f"{seconds:g}"
    return response


def _safely(sandbox: Sandbox, request: httpx.Request) -> httpx.Response:
    """The sandbox's answer; a crash in it answers 500, as a real server would."""
    try:
        return sandbox.handle(request)
    except Exception as exc:  # the sandbox's bug must not drop the connection
        return httpx.Response(500, text=f"sandbox error: {type(exc).__name__}")


def _delay(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get(DELAY_HEADER, "0")))
    except ValueError:
        return 0.0


def _relative(request: httpx.Request, prefix: str) -> httpx.Request:
    """``request`` with ``prefix`` taken off its path."""
    path = request.url.path
    if path.startswith(prefix):
        path = "/" + path[len(prefix) :].lstrip("/")
    url = request.url.copy_with(path=path)
    return httpx.Request(request.method, url, headers=request.headers, content=request.content)


class SandboxTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport (sync and async) that answers from a :class:`Sandbox` in-process."""

    def __init__(self, sandbox: Sandbox, behaviour: Behaviour | None = None) -> None:
        self.sandbox = sandbox
        self.behaviour = behaviour or Behaviour()
        self.prefix = f"/{sandbox.processor}/"

    def _answer(self, request: httpx.Request) -> tuple[httpx.Response, float]:
        request.read()
        if self.behaviour.observe is not None:
            self.behaviour.observe(request)
        early = self.behaviour.gate()
        response = early or _safely(self.sandbox, _relative(request, self.prefix))
        wait = self.behaviour.latency + _delay(response)
        if DELAY_HEADER in response.headers:
            headers = [
                (k, v) for k, v in response.headers.items() if k.lower() != "x-sandbox-delay"
            ]
            response = httpx.Response(
                response.status_code, headers=headers, content=response.content
            )
        return response, wait

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response, wait = self._answer(request)
        if wait:
            time.sleep(wait)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        response, wait = self._answer(request)
        if wait:
            await asyncio.sleep(wait)
        return response


class SandboxServer:
    """The sandboxes on a real socket: HTTP/1.1 with keep-alive (h11 over asyncio)."""

    def __init__(
        self, sandboxes: Mapping[str, Sandbox], behaviour: Behaviour | None = None
    ) -> None:
        self.sandboxes = dict(sandboxes)
        self.behaviour = behaviour or Behaviour()
        self.server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (useful with ``port=0``)."""
        self.server = await asyncio.start_server(self._connection, host, port, backlog=1024)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and close the open connections."""
        if self.server is not None:
            self.server.close()
            for writer in list(self._writers):
                writer.close()
            await self.server.wait_closed()

    def _stats(self) -> httpx.Response:
        """What the server saw: requests served, refused by the rate limit, the most admitted
        in one sliding window and the most that arrived in one. Not counted itself."""
        b = self.behaviour
        return httpx.Response(
            200,
            json={
                "served": b.served,
                "limited": b.limited,
                "max_in_window": b.max_in_window,
                "max_arrivals_in_window": b.max_arrivals_in_window,
            },
        )

    def _route(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.split("/", 2)
        sandbox = self.sandboxes.get(parts[1]) if len(parts) > 1 else None
        if sandbox is None:
            names = ", ".join(sorted(self.sandboxes))
            return httpx.Response(404, json={"error": f"no sandbox here; try /{{{names}}}/…"})
        return _safely(sandbox, _relative(request, f"/{parts[1]}/"))

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        self._writers.add(writer)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                request = await self._read_request(conn, reader)
                if request is None:
                    break
                if request.url.path == "/_stats":
                    response, wait = self._stats(), 0.0
                else:
                    if self.behaviour.observe is not None:
                        self.behaviour.observe(request)
                    early = self.behaviour.gate()
                    response = early or self._route(request)
                    wait = self.behaviour.latency + _delay(response)
                if wait:
                    await asyncio.sleep(wait)
                body = response.content
                headers = [
                    (k.encode(), v.encode())
                    for k, v in response.headers.items()
                    if k.lower()
                    not in {"content-length", "transfer-encoding", DELAY_HEADER.lower()}
                ]
                headers.append((b"content-length", str(len(body)).encode()))
                # One write per response: a head and a body sent apart meet Nagle's algorithm
                # and the client's delayed ACK, which costs milliseconds per request.
                out = conn.send(h11.Response(status_code=response.status_code, headers=headers))
                chunks = [out or b""]
                if request.method != "HEAD":
                    chunks.append(conn.send(h11.Data(data=body)) or b"")
                chunks.append(conn.send(h11.EndOfMessage()) or b"")
                writer.write(b"".join(chunks))
                await writer.drain()
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    break
                conn.start_next_cycle()
        except (h11.RemoteProtocolError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()
                await writer.wait_closed()

    async def _read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader
    ) -> httpx.Request | None:
        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                if not data and conn.their_state is h11.IDLE:
                    return None
                continue
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body.extend(event.data)
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                host = next((v for k, v in head.headers if k == b"host"), b"localhost").decode()
                return httpx.Request(
                    head.method.decode(),
                    f"http://{host}{head.target.decode()}",
                    headers=[(k.decode(), v.decode()) for k, v in head.headers],
                    content=bytes(body),
                )
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None


__all__ = [
    "DELAY_HEADER",
    "ISO8583_DECLINES",
    "SANDBOX_HOST",
    "Behaviour",
    "Sandbox",
    "SandboxServer",
    "SandboxTransport",
    "failing_page",
    "iso8583_declines",
    "sandbox_base_url",
    "slow",
    "truncated",
]
