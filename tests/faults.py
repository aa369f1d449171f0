"""A refund API on a real socket that injects faults, and a test processor whose adapter uses it.

The server counts what it *applied* (a refund per transaction, never deduplicated: a processor
that honoured no idempotency key) apart from what it *received*, so a test can hold payhelp's
store to the truth: a ``sent`` row was applied once, a ``failed`` row never, an ``in_doubt`` row
at most once, and no transaction twice.

Faults, chosen per request by a seeded schedule:

- before applying: ``429`` (with ``Retry-After``), ``503``, ``reset_before`` (the connection reset
  before anything is read);
- after applying: ``timeout_after`` (no answer within the client's timeout), ``reset_after``,
  ``408_after``, ``500_after``, ``truncated_after`` (a body shorter than its length),
  ``gzip_after`` (a body that claims gzip and is not), ``html_after`` (200 with an HTML page),
  ``hang_after`` (the answer held until the test lets go; for killing the client mid-flight);
- ``ok``: applied and answered.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from payhelp import DisputeRequest, hookimpl
from payhelp.adapters import ApiAdapter, RequestSpec
from payhelp.cases import LookupRule, SubmissionChannel, SubmissionReceipt

BEFORE = ("429", "503", "reset_before")
AFTER = (
    "timeout_after",
    "reset_after",
    "408_after",
    "500_after",
    "truncated_after",
    "gzip_after",
    "html_after",
)
ALL_FAULTS = (*BEFORE, *AFTER)


class FaultServer:
    """``POST /refunds`` with ``{"transaction": ..., "reference": ...}``; faults from
    ``schedule(transaction, attempt)`` (``ok`` when it returns ``None``)."""

    def __init__(
        self,
        schedule: Callable[[str, int], str | None] | None = None,
        *,
        timeout_hold: float = 1.0,
    ) -> None:
        self.schedule = schedule or (lambda _tx, _n: None)
        self.timeout_hold = timeout_hold
        self.lock = threading.Lock()
        self.applied: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.release = threading.Event()
        self.holding = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._answer(200, b'{"ok": true}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                if len(raw) < length or not body.get("transaction"):
                    # The client went away before its request was whole: nothing to apply.
                    self._answer(400, b'{"error": "incomplete request"}')
                    return
                tx = str(body["transaction"])
                with server.lock:
                    server.received[tx] += 1
                    attempt = server.received[tx]
                fault = server.schedule(tx, attempt) or "ok"
                with server.lock:
                    server.faults[fault] += 1
                if fault == "429":
                    self._answer(429, b'{"error": "slow down"}', {"Retry-After": "0"})
                    return
                if fault == "503":
                    self._answer(503, b"<html>unavailable</html>", {"Content-Type": "text/html"})
                    return
                if fault == "reset_before":
                    self._reset()
                    return
                with server.lock:
                    server.applied[tx] += 1
                    number = sum(server.applied.values())
                ok = json.dumps({"refund_id": f"RF-{number}"}).encode()
                if fault == "ok":
                    self._answer(200, ok)
                elif fault == "timeout_after":
                    time.sleep(server.timeout_hold)
                    self._reset()
                elif fault == "hang_after":
                    server.holding.set()
                    server.release.wait(20)
                    self._reset()
                elif fault == "reset_after":
                    self._reset()
                elif fault == "408_after":
                    self._answer(408, b'{"error": "request timeout"}', {"Connection": "close"})
                elif fault == "500_after":
                    self._answer(500, b'{"error": "internal"}')
                elif fault == "truncated_after":
                    self._raw_head(200, {"Content-Length": str(len(ok) + 50)})
                    self.wfile.write(ok[:5])
                    self.wfile.flush()
                    self._reset()
                elif fault == "gzip_after":
                    self._answer(200, b"this is not gzip at all", {"Content-Encoding": "gzip"})
                elif fault == "html_after":
                    self._answer(200, b"<html>oops</html>", {"Content-Type": "text/html"})
                else:  # pragma: no cover - a typo in a schedule
                    raise AssertionError(fault)

            def _raw_head(self, status: int, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()

            def _answer(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                head = {"Content-Type": "application/json", **(headers or {})}
                head["Content-Length"] = str(len(body))
                self._raw_head(status, head)
                self.wfile.write(body)
                self.wfile.flush()
                if head.get("Connection") == "close":
                    self.close_connection = True

            def _reset(self) -> None:
                # SO_LINGER 0: close with a TCP reset, as a crashed peer or a proxy does.
                with contextlib.suppress(OSError):
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.close()

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that went away mid-answer is what these tests make happen

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def seeded(
    seed: int, faults: tuple[str, ...] = ALL_FAULTS, ok_share: float = 0.3
) -> Callable[[str, int], str | None]:
    """A schedule: each request draws a fault (or ``ok``) from a seeded generator."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def schedule(_tx: str, _attempt: int) -> str | None:
        with lock:
            return None if rng.random() < ok_share else rng.choice(faults)

    return schedule


# -- the test processor ---------------------------------------------------------------------------


class FaultyPayAdapter(ApiAdapter):
    """faultypay's refund API: one POST per request, no idempotency header (so payhelp may never
    repeat a POST that could have arrived)."""

    processor = "faultypay"
    basis = "official"
    default_base_url = "https://api.faultypay.example/"
    credential_names = ("api_key",)
    lookup_rules = (LookupRule(fields=("transaction_id",)),)

    def submit_request(self, request: DisputeRequest, idempotency_key: str) -> RequestSpec:
        return RequestSpec(
            "POST",
            "refunds",
            json={"transaction": request.transaction.transaction_id, "reference": idempotency_key},
        )

    def parse_submit(self, request, idempotency_key, response, client) -> SubmissionReceipt:  # type: ignore[no-untyped-def]
        body = client.parse_json(response)
        if not isinstance(body, dict) or "refund_id" not in body:
            raise client.invalid(response, "no refund id")
        return SubmissionReceipt(
            processor="faultypay",
            idempotency_key=idempotency_key,
            channel=SubmissionChannel.API,
            reference=str(body["refund_id"]),
            submitted_at=datetime.now(UTC),
        )


class FaultyPayPlugin:
    @hookimpl
    def payhelp_adapter(self, processor: Any, settings: Any) -> ApiAdapter | None:
        if processor.id != "faultypay":
            return None
        return FaultyPayAdapter.from_settings(settings, environ={})


def faultypay_settings(base_url: str, **changes: Any) -> dict[str, Any]:
    return {
        "api_key": "fp-key-1234",
        "base_url": base_url,
        "timeout": 0.5,
        "max_retries": 2,
    } | changes


def refund_fields(transaction: str, **changes: Any) -> dict[str, Any]:
    return {
        "transaction": {"transaction_id": transaction, "descriptor": "FAULTYPAY*SHOP"},
        "reason": "duplicate_charge",
        "message": "Charged twice.",
        "contact_email": "customer@example.org",
    } | changes


@contextlib.contextmanager
def running(server: FaultServer) -> Iterator[FaultServer]:
    with server:
        yield server
