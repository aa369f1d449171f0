"""The HTTP service on one worker: requests per second for contacts and route against a bare
endpoint of the same framework and server, and notifications ingested per second.

    .venv/bin/python bench/bench_service.py                 # about 1 minute on 2 cores
    .venv/bin/python bench/bench_service.py --json bench/results/service.json

Two servers in processes of their own, each one uvicorn worker on loopback, access log off:

- the **floor**: a FastAPI application with one ``GET /bare`` answering a small JSON object,
  under the same uvicorn, the least a FastAPI endpoint costs on this machine;
- **payhelp serve** with an API key file, the six built-in plugins and a SQLite store in a
  temporary folder.

One client process (``httpx.AsyncClient``, ``--concurrency`` requests in flight) times, in
interleaved rounds, ``--requests`` calls of each: the floor; ``GET /v1/contacts?processor=segpay&
country=IT``; ``POST /v1/route`` of a statement line; and ``POST /v1/notifications/centrobill``
of distinct signed IPNs (each verified, stored and applied: a write to the store). Printed: the
median requests per second of each and its ratio to the floor measured in the same run. The
client shares the machine with the servers, so the figures are a lower bound for both sides
alike.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from workload import machine

API_KEY = "bench-centrobill-key"
FLOOR_APP = """
import sys, uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
app = FastAPI()
@app.get("/bare")
async def bare():
    return JSONResponse({"status": "ok", "processors": 6})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning")
"""


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _server(argv: list[str], url: str, env: dict[str, str]) -> Iterator[None]:
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{argv[:4]} did not start")
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ipn(number: int) -> tuple[dict[str, str], bytes]:
    transaction = str(600_000_000 + number)
    body = json.dumps(
        {
            "payment": {
                "code": 0,
                "mode": "sale",
                "status": "success",
                "amount": 9.99,
                "currency": "USD",
                "transactionId": transaction,
                "orderId": f"o{number}",
            },
            "consumer": {"id": "c1"},
            "metadata": {},
        }
    ).encode()
    signature = hashlib.sha256((API_KEY + transaction + "success").encode()).hexdigest()
    return {"Content-Type": "application/json", "X-Signature": signature}, body


async def _rate(
    make: Callable[[httpx.AsyncClient, int], Any], requests: int, concurrency: int
) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        for i in range(min(50, requests)):  # warm the connections
            (await make(client, -1 - i)).raise_for_status()
        counter = iter(range(requests))

        async def worker() -> None:
            for number in counter:
                answer = await make(client, number)
                if answer.status_code != 200:
                    raise SystemExit(f"HTTP {answer.status_code}: {answer.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed calls of each, a round")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    opts = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="payhelp-bench-service-"))
    keys = work / "keys.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYHELP_")}
    env |= {"XDG_DATA_HOME": str(work / "data"), "PAYHELP_CENTROBILL_API_KEY": API_KEY}
    key = subprocess.run(
        [sys.executable, "-m", "payhelp", "api-key", "new", "--file", str(keys), "--name", "b"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    floor_port, payhelp_port = _port(), _port()
    floor = f"http://127.0.0.1:{floor_port}"
    served = f"http://127.0.0.1:{payhelp_port}"
    auth = {"Authorization": f"Bearer {key}"}
    targets: dict[str, Callable[[httpx.AsyncClient, int], Any]] = {
        "floor: GET /bare (FastAPI, same uvicorn)": lambda c, n: c.get(f"{floor}/bare"),
        "GET /v1/contacts (segpay, IT)": lambda c, n: c.get(
            f"{served}/v1/contacts",
            params={"processor": "segpay", "country": "IT"},
            headers=auth,
        ),
        "POST /v1/route (a statement line)": lambda c, n: c.post(
            f"{served}/v1/route",
            json={"descriptor": "SEGPAY*SITE", "country": "IT"},
            headers=auth,
        ),
        "POST /v1/notifications/centrobill (distinct IPNs, stored)": lambda c, n: c.post(
            f"{served}/v1/notifications/centrobill",
            headers=_ipn(n + 10_000_000 * round_number[0])[0],
            content=_ipn(n + 10_000_000 * round_number[0])[1],
        ),
    }
    round_number = [0]
    rates: dict[str, list[float]] = {name: [] for name in targets}
    payhelp_argv = [
        sys.executable,
        "-m",
        "payhelp",
        "serve",
        "--port",
        str(payhelp_port),
        "--api-keys",
        str(keys),
    ]
    with (
        _server([sys.executable, "-c", FLOOR_APP, str(floor_port)], f"{floor}/bare", env),
        _server(payhelp_argv, f"{served}/health", env),
    ):
        for number in range(opts.rounds):
            round_number[0] = number + 1
            for name, make in targets.items():
                rates[name].append(asyncio.run(_rate(make, opts.requests, opts.concurrency)))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    floor_rate = medians[next(iter(targets))]

    info = machine()
    print("## The service on one worker\n")
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    print(
        f"\n{opts.requests} requests a round, {opts.concurrency} in flight, median of "
        f"{opts.rounds} interleaved rounds; one uvicorn worker each, loopback\n"
    )
    print("| what | requests/s | x floor | rounds |")
    print("|---|---:|---:|---|")
    for name, rate in medians.items():
        spread = ", ".join(f"{r:.0f}" for r in rates[name])
        print(f"| {name} | {rate:.0f} | {rate / floor_rate:.2f} | {spread} |")
    if opts.json:
        opts.json.write_text(
            json.dumps({"machine": info, "rates": rates, "medians": medians}, indent=2)
        )


if __name__ == "__main__":
    main()
