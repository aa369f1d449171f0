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

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from payhelp.ratelimit import parse_rate

if TYPE_CHECKING:
    import httpx

    from payhelp.sandbox_transport import SandboxServer, SandboxTransport

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
                    return reply(
                        429,
                        headers={"Retry-After": str(wait)},
                        json={"error": "rate limit exceeded"},
                    )
                self._window.append(now)
                self.max_in_window = max(self.max_in_window, len(self._window))
            if self.error_rate and self._random.random() < self.error_rate:
                return reply(
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


def reply(
    status: int,
    *,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    text: str | None = None,
    json: object = None,
) -> httpx.Response:
    """An answer a sandbox gives: an ``httpx.Response`` built as httpx builds one (``text`` or
    ``json`` set the body and its content type). httpx loads with the first answer, not when a
    plugin imports this kit."""
    import httpx  # noqa: PLC0415 - the sandboxes' answers, once one is asked

    return httpx.Response(status, headers=headers, content=content, text=text, json=json)


def failing_page(title: str = "500 Internal Server Error", status: int = 500) -> httpx.Response:
    """The HTML error page a processor's web server answers when it fails."""
    page = (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1></body></html>"
    )
    return reply(status, text=page, headers={"Content-Type": "text/html; charset=utf-8"})


def truncated(body: bytes, content_type: str, keep: float = 0.5) -> httpx.Response:
    """A 200 answer cut short (``keep`` of ``body``): a connection dropped mid-answer."""
    cut = body[: max(1, int(len(body) * keep))]
    return reply(200, content=cut, headers={"Content-Type": content_type})


def slow(response: httpx.Response, seconds: float) -> httpx.Response:
    """``response``, delivered after ``seconds`` (the runner honours the delay without blocking
    other requests)."""
    response.headers[DELAY_HEADER] = f"{seconds:g}"
    return response


def __getattr__(name: str) -> object:
    # The runners (httpx's transport, the h11 server) load on first use: a plugin that imports
    # this kit when it registers its sandbox loads neither.
    if name in _RUNNERS:
        from payhelp import sandbox_transport  # noqa: PLC0415

        return getattr(sandbox_transport, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_RUNNERS = frozenset({"SandboxServer", "SandboxTransport"})


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
    "reply",
    "sandbox_base_url",
    "slow",
    "truncated",
]
