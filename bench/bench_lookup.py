"""Batch lookup against a sandbox on a real socket: payhelp vs a plain httpx.AsyncClient loop.

    .venv/bin/python bench/bench_lookup.py                      # 10,000 ids; about 1 minute
    .venv/bin/python bench/bench_lookup.py --big 1000000        # adds the 1M-id memory run
    .venv/bin/python bench/bench_lookup.py --json bench/results/lookup.json

Starts ``payhelp sandbox serve`` (the real CLI, its own process) with ``--latency-ms 20``, then:

1. **throughput**: ``payhelp lookup --batch FILE --concurrency C`` (the real CLI, its own
   process) over ``--ids`` lookups of the processor's sandbox ids, against a plain loop in this
   process: ``C`` tasks sharing one ``httpx.AsyncClient``, each sending the same request the
   adapter sends (``GET payment/{id}`` with the API key) and parsing the JSON. No rate limit on
   either side. Target: payhelp ≥ 90% of the plain loop's lookups per second.
2. **rate limit**: a second server with ``--rate-limit R/s``, payhelp configured with the same
   limit as its ``rate_limit`` setting; the server counts the requests it had to refuse (429)
   and the most it saw in any one-second window. Target: none refused, the window never above R.
3. **memory**: peak RSS of the CLI for ``--ids`` and for ``--big`` lookups (``ru_maxrss`` from
   ``wait4`` via a small trampoline), both through the in-process sandbox (``--sandbox``): the
   stream's memory does not depend on the socket, and a million lookups over it would take over
   an hour at the socket's rate here. Target: unchanged (within a few MiB).

httpx's connection pool, not the server, limits the socket rate on this machine: a plain asyncio
client reaches about 2,000 lookups per second against the same server at 50 connections; both
httpx clients here reach far less. The comparison is between two httpx clients, as the target
asks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PAYHELP = Path(sys.executable).with_name("payhelp")

TRAMPOLINE = """
import json, os, subprocess, sys, time
with open(os.devnull, "wb") as out, open(sys.argv[1], "wb") as err:
    start = time.perf_counter()
    proc = subprocess.Popen(sys.argv[2:], stdout=out, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "exit": os.waitstatus_to_exitcode(status),
                  "maxrss_kib": usage.ru_maxrss}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sandbox_server(processor: str, latency_ms: float, rate: str | None) -> Iterator[str]:
    port = free_port()
    args = [str(PAYHELP), "sandbox", "serve", "--port", str(port), "--processor", processor]
    args += ["--latency-ms", str(latency_ms)]
    if rate:
        args += ["--rate-limit", rate]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/_stats", timeout=0.2)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def sandbox_ids(processor: str) -> list[str]:
    out = subprocess.run(
        [str(PAYHELP), "sandbox", "cases", "--processor", processor, "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cases = json.loads(out)[processor]
    # Answers that come back at once, as most real lookups do (not the slow or failing ones).
    wanted = [v for k, v in cases.items() if k in {"approved", "refunded", "chargeback"}]
    return wanted or list(cases.values())[:1]


def write_batch(path: Path, processor: str, ids: list[str], count: int) -> None:
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            if sum(1 for _ in handle) == count:
                return
    with path.open("w") as handle:
        for n in range(count):
            ident = ids[n % len(ids)]
            handle.write(json.dumps({"processor": processor, "transaction_id": ident}) + "\n")


def write_config(path: Path, processor: str, base: str, rate: str | None) -> None:
    lines = [
        f"[processors.{processor}.settings]",
        f'base_url = "{base}/{processor}/"',
        'api_key = "bench-key"',
        "max_retries = 0",
    ]
    if rate:
        lines.append(f'rate_limit = "{rate}"')
    path.write_text("\n".join(lines) + "\n")


def run_cli(config: Path | None, batch: Path, concurrency: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".err", delete=False) as err:
        err_path = err.name
    args = [str(PAYHELP)]
    args += ["--config", str(config)] if config else []
    args += ["lookup", "--batch", str(batch), "--concurrency", str(concurrency)]
    args += [] if config else ["--sandbox"]
    out = subprocess.run(
        [sys.executable, "-c", TRAMPOLINE, err_path, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TERM": "dumb"},
    ).stdout
    result: dict[str, Any] = json.loads(out)
    with open(err_path, "rb") as err_file:
        result["stderr_lines"] = sum(1 for _ in err_file)
    os.unlink(err_path)
    return result


async def plain_loop(
    base: str, processor: str, ids: list[str], count: int, concurrency: int
) -> float:
    """Seconds for ``count`` lookups with ``concurrency`` tasks on one AsyncClient."""
    limits = httpx.Limits(max_connections=100)  # as payhelp's AsyncClient
    async with httpx.AsyncClient(
        base_url=f"{base}/{processor}/", limits=limits, headers={"Authorization": "bench-key"}
    ) as client:
        queue: asyncio.Queue[int | None] = asyncio.Queue(concurrency * 2)

        async def produce() -> None:
            for n in range(count):
                await queue.put(n)
            for _ in range(concurrency):
                await queue.put(None)

        async def work() -> None:
            while (n := await queue.get()) is not None:
                response = await client.get(f"payment/{ids[n % len(ids)]}")
                response.json()

        start = time.perf_counter()
        await asyncio.gather(produce(), *(work() for _ in range(concurrency)))
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--processor", default="centrobill")
    parser.add_argument("--ids", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=0, help="also measure memory at this size")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rate", default="500/second", help="rate limit for part 2")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "payhelp-bench"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    ids = sandbox_ids(args.processor)
    small = args.workdir / f"lookup-{args.ids}.jsonl"
    write_batch(small, args.processor, ids, args.ids)
    results: dict[str, Any] = {"ids": args.ids, "concurrency": args.concurrency}

    with sandbox_server(args.processor, args.latency_ms, None) as base:
        config = args.workdir / "bench.toml"
        write_config(config, args.processor, base, None)
        plain = asyncio.run(plain_loop(base, args.processor, ids, args.ids, args.concurrency))
        cli = run_cli(config, small, args.concurrency)
        results["plain_loop"] = {"seconds": plain, "per_second": args.ids / plain}
        results["payhelp_cli"] = {**cli, "per_second": args.ids / cli["seconds"]}
    if args.big:
        big = args.workdir / f"lookup-{args.big}.jsonl"
        write_batch(big, args.processor, ids, args.big)
        results["memory_small"] = {**run_cli(None, small, args.concurrency), "ids": args.ids}
        results["memory_big"] = {**run_cli(None, big, args.concurrency), "ids": args.big}

    with sandbox_server(args.processor, args.latency_ms, args.rate) as base:
        config = args.workdir / "bench-rate.toml"
        write_config(config, args.processor, base, args.rate)
        count = min(args.ids, 3000)
        limited = args.workdir / f"lookup-{count}.jsonl"
        write_batch(limited, args.processor, ids, count)
        run = run_cli(config, limited, args.concurrency)
        stats = httpx.get(f"{base}/_stats").json()
        results["rate_limit"] = {"limit": args.rate, "lookups": count, **run, "server": stats}

    ratio = results["payhelp_cli"]["per_second"] / results["plain_loop"]["per_second"]
    results["throughput_ratio"] = ratio
    print(f"plain httpx loop : {results['plain_loop']['per_second']:8.0f} lookups/s")
    print(
        f"payhelp CLI      : {results['payhelp_cli']['per_second']:8.0f} lookups/s "
        f"({ratio:.0%} of the loop; includes start-up) peak RSS "
        f"{results['payhelp_cli']['maxrss_kib'] / 1024:.1f} MiB"
    )
    if args.big:
        for key in ("memory_small", "memory_big"):
            run = results[key]
            print(
                f"payhelp CLI --sandbox {run['ids']:>9,} ids: peak RSS "
                f"{run['maxrss_kib'] / 1024:.1f} MiB, {run['ids'] / run['seconds']:.0f} lookups/s"
            )
    rate = results["rate_limit"]
    print(
        f"rate limit {rate['limit']}: refused {rate['server']['limited']}, most in a window "
        f"{rate['server']['max_in_window']}, served {rate['server']['served']}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
