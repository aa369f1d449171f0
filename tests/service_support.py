"""A payhelp service under uvicorn on a loopback socket, for the service's tests and fuzzing."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from payhelp import Payhelp
from payhelp.service import add_key, create_app


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` under uvicorn in a thread, on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def service_app(ph: Payhelp, tmp_path: Path, **options: Any) -> tuple[Any, str, Path]:
    """The app for ``ph`` with one API key; the app, the key and the keys file."""
    keys = tmp_path / "keys.txt"
    key = add_key(keys, "platform")
    return create_app(ph, api_keys=keys, **options), key, keys


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def payhelp_serve(
    *options: str, env: dict[str, str], cwd: Path | None = None, output: list[str] | None = None
) -> Iterator[str]:
    """``payhelp serve`` in a process of its own on a free port, ready; yields its base URL.
    What it printed is appended to ``output`` once it stopped."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "payhelp", "serve", "--port", str(port), *options],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("payhelp serve did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        printed, _ = process.communicate(timeout=30)
        if output is not None:
            output.append(printed)
