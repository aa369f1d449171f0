"""The sandboxes' runners: an httpx transport answering in-process, and the same sandboxes on a
real socket (HTTP/1.1 with keep-alive, h11 over asyncio). Importable from :mod:`payhelp.sandbox`
as before; kept apart so that registering a sandbox loads neither httpx nor h11."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Mapping

import h11
import httpx

from payhelp.sandbox import DELAY_HEADER, Behaviour, Sandbox


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


__all__ = ["SandboxServer", "SandboxTransport"]
