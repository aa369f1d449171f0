"""Batch lookup against a sandbox on a real socket: payhelp vs a plain httpx.AsyncClient loop.

    .venv/bin/python bench/bench_lookup.py                      # about 2 minutes on 2 cores
    .venv/bin/python bench/bench_lookup.py --big 1000000        # adds the 1M-id memory run
    .venv/bin/python bench/bench_lookup.py --json bench/results/lookup.json

Starts ``payhelp sandbox serve`` (the real CLI, its own process) with ``--latency-ms 20``, then:

1. **throughput**, at each ``--concurrency`` (default 8, 16, 32, 64), each client in a fresh
   process of its own, in the same run against the same server:

   - the **anchor**, a plain loop: ``C`` tasks sharing one ``httpx.AsyncClient``, each sending
     the request the adapter sends (``GET payment/{id}`` with the API key) and parsing the JSON;
   - **payhelp lookup**: the public API, ``AsyncPayhelp.lookup(processor, transaction_id=...)``
     from ``C`` tasks of the same shape, built from a configuration file;
   - **payhelp batch**: ``payhelp.batch_lookup.lookup_lines`` at concurrency ``C``, what
     ``payhelp lookup --batch`` runs, over the same JSON Lines (without the CLI's start-up);

   each after a warm-up of its own, timed over ``--ids`` lookups, with the process's CPU time
   (user + system, ``getrusage``) over the same span. Printed: lookups per second and CPU per
   lookup of each, and payhelp's ratio to the anchor. Also one run of the real CLI,
   ``payhelp lookup --batch FILE --concurrency 16`` in its own process, start-up included.
   No rate limit on either side. Target: payhelp ≥ 95% of the anchor at every concurrency.
2. **rate limit**: a sandbox server in this process (``SandboxServer``) with ``--rate-limit R``,
   recording the arrival time of every request, and ``payhelp lookup --batch`` (the real CLI)
   configured with the same ``rate_limit``, at concurrency 16 and 50, ``--rate-ids`` lookups
   each. Printed: the requests the server refused (429) and the most arrivals it saw in any
   sliding second, counted from the recorded times. Target: none refused, never above ``R``.
3. **memory** (with ``--big``): peak RSS of the CLI for ``--ids`` and for ``--big`` lookups
   (``ru_maxrss`` from ``wait4`` via a small trampoline), both through the in-process sandbox
   (``--sandbox``). Target: unchanged (within a few MiB).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
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
                  "maxrss_kib": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(base: str) -> None:
    for _ in range(400):
        try:
            httpx.get(f"{base}/_stats", timeout=0.2)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"the sandbox at {base} did not start")


@contextmanager
def sandbox_server(processor: str, latency_ms: float) -> Iterator[str]:
    """``payhelp sandbox serve`` in its own process."""
    port = free_port()
    args = [str(PAYHELP), "sandbox", "serve", "--port", str(port), "--processor", processor]
    args += ["--latency-ms", str(latency_ms)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def recording_server(processor: str, latency_ms: float, rate: str) -> Iterator[tuple[str, Any]]:
    """A ``SandboxServer`` in a thread of this process that records every arrival's time."""
    from payhelp.api import Payhelp  # noqa: PLC0415
    from payhelp.sandbox import Behaviour, SandboxServer  # noqa: PLC0415

    ph = Payhelp()
    box = ph.host.sandbox(ph.processor(processor))
    arrivals: list[float] = []
    behaviour = Behaviour(
        latency_ms=latency_ms,
        rate_limit=rate,
        observe=lambda _request: arrivals.append(time.monotonic()),
    )
    server = SandboxServer({processor: box}, behaviour)  # type: ignore[dict-item]
    loop = asyncio.new_event_loop()
    started = threading.Event()
    port: list[int] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        port.append(loop.run_until_complete(server.start("127.0.0.1", 0)))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield f"http://127.0.0.1:{port[0]}", (behaviour, arrivals)
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def max_per_sliding_second(stamps: list[float]) -> int:
    """The most of ``stamps`` in any half-open interval of one second."""
    stamps = sorted(stamps)
    return max((bisect.bisect_left(stamps, t + 1.0) - i for i, t in enumerate(stamps)), default=0)


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


# -- the clients, each run in a process of its own (``--worker``) ---------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _tasks(count: int, concurrency: int, one: Any) -> None:
    """``count`` calls of ``one(n)`` from ``concurrency`` tasks pulling from a bounded queue."""
    queue: asyncio.Queue[int | None] = asyncio.Queue(concurrency * 2)

    async def produce() -> None:
        for n in range(count):
            await queue.put(n)
        for _ in range(concurrency):
            await queue.put(None)

    async def work() -> None:
        while (n := await queue.get()) is not None:
            await one(n)

    await asyncio.gather(produce(), *(work() for _ in range(concurrency)))


async def _plain(args: argparse.Namespace, ids: list[str]) -> tuple[float, float]:
    limits = httpx.Limits(max_connections=100)  # as payhelp's AsyncClient
    async with httpx.AsyncClient(
        base_url=f"{args.base}/{args.processor}/",
        limits=limits,
        headers={"Authorization": "bench-key"},
    ) as client:

        async def one(n: int) -> None:
            response = await client.get(f"payment/{ids[n % len(ids)]}")
            response.json()

        await _tasks(args.warmup, args.concurrency, one)
        start, cpu = time.perf_counter(), _cpu()
        await _tasks(args.ids, args.concurrency, one)
        return time.perf_counter() - start, _cpu() - cpu


async def _payhelp(args: argparse.Namespace, ids: list[str]) -> tuple[float, float]:
    from payhelp import AsyncPayhelp  # noqa: PLC0415

    async with AsyncPayhelp(config=args.config) as ph:

        async def one(n: int) -> None:
            await ph.lookup(args.processor, transaction_id=ids[n % len(ids)])

        await _tasks(args.warmup, args.concurrency, one)
        start, cpu = time.perf_counter(), _cpu()
        await _tasks(args.ids, args.concurrency, one)
        return time.perf_counter() - start, _cpu() - cpu


async def _batch(args: argparse.Namespace, ids: list[str]) -> tuple[float, float]:
    from payhelp.api import Payhelp  # noqa: PLC0415
    from payhelp.batch_lookup import lookup_lines  # noqa: PLC0415

    def lines(count: int) -> Iterator[str]:
        for n in range(count):
            yield json.dumps({"processor": args.processor, "transaction_id": ids[n % len(ids)]})

    ph = Payhelp(config=args.config)
    try:
        async for _ in lookup_lines(ph, lines(args.warmup), concurrency=args.concurrency):
            pass
        start, cpu = time.perf_counter(), _cpu()
        async for line in lookup_lines(ph, lines(args.ids), concurrency=args.concurrency):
            if '"error"' in line:
                raise RuntimeError(f"a lookup failed: {line}")
        return time.perf_counter() - start, _cpu() - cpu
    finally:
        await ph.aclose()


WORKERS = {"plain": _plain, "payhelp": _payhelp, "batch": _batch}


def worker(args: argparse.Namespace) -> int:
    ids = args.id_list.split(",")
    seconds, cpu = asyncio.run(WORKERS[args.worker](args, ids))
    print(json.dumps({"seconds": seconds, "cpu": cpu, "ids": args.ids}))
    return 0


def run_worker(
    kind: str, base: str, config: Path, ids: list[str], args: argparse.Namespace, concurrency: int
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", kind, "--base", base, "--config", str(config)]
    command += ["--processor", args.processor, "--ids", str(args.ids)]
    command += ["--warmup", str(args.warmup), "--concurrency", str(concurrency)]
    command += ["--id-list", ",".join(ids)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out)
    result["per_second"] = result["ids"] / result["seconds"]
    result["cpu_per_lookup_us"] = result["cpu"] / result["ids"] * 1e6
    return result


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--processor", default="centrobill")
    parser.add_argument("--ids", type=int, default=3000, help="timed lookups per run")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--rounds", type=int, default=2, help="runs of each; the best is kept")
    parser.add_argument("--big", type=int, default=0, help="also measure memory at this size")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rate", default="100/second", help="rate limit for part 2")
    parser.add_argument("--rate-ids", type=int, default=1500, help="lookups per rate-limit run")
    parser.add_argument("--rate-concurrency", type=int, nargs="+", default=[16, 50])
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-rate", action="store_true")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "payhelp-bench"
    )
    parser.add_argument("--json", type=Path)
    # One client in its own process (what the runs above start).
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--id-list", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.concurrency = args.concurrency[0]
        return worker(args)

    args.workdir.mkdir(parents=True, exist_ok=True)
    ids = sandbox_ids(args.processor)
    results: dict[str, Any] = {"commit": _commit(), "ids": args.ids, "runs": {}}

    if not args.skip_throughput:
        with sandbox_server(args.processor, args.latency_ms) as base:
            config = args.workdir / "bench.toml"
            write_config(config, args.processor, base, None)
            print(f"throughput, {args.ids:,} lookups a run, server latency {args.latency_ms:g} ms")
            print("| concurrency | plain httpx loop | payhelp lookup | ratio | batch | ratio |")
            print("|---:|---:|---:|---:|---:|---:|")
            for concurrency in args.concurrency:
                best: dict[str, dict[str, Any]] = {}
                for _ in range(args.rounds):
                    for kind in ("plain", "payhelp", "batch"):
                        run = run_worker(kind, base, config, ids, args, concurrency)
                        if kind not in best or run["per_second"] > best[kind]["per_second"]:
                            best[kind] = run
                results["runs"][str(concurrency)] = best
                plain = best["plain"]

                def cell(run: dict[str, Any]) -> str:
                    return f"{run['per_second']:.0f}/s, {run['cpu_per_lookup_us']:.0f} µs CPU"

                def ratio(run: dict[str, Any], plain: dict[str, Any] = plain) -> str:
                    speed = run["per_second"] / plain["per_second"]
                    cpu = run["cpu_per_lookup_us"] / plain["cpu_per_lookup_us"]
                    return f"{speed:.0%} (CPU {cpu:.2f}x)"

                print(
                    f"| {concurrency} | {cell(plain)} | {cell(best['payhelp'])} | "
                    f"{ratio(best['payhelp'])} | {cell(best['batch'])} | {ratio(best['batch'])} |",
                    flush=True,
                )
            small = args.workdir / f"lookup-{args.ids}.jsonl"
            write_batch(small, args.processor, ids, args.ids)
            cli = run_cli(config, small, 16)
            cli["per_second"] = args.ids / cli["seconds"]
            results["payhelp_cli_16"] = cli
            print(
                f"payhelp lookup --batch, concurrency 16, its own process: "
                f"{cli['per_second']:.0f} lookups/s start-up included, "
                f"{cli['cpu'] / args.ids * 1e6:.0f} µs CPU a lookup, "
                f"peak RSS {cli['maxrss_kib'] / 1024:.1f} MiB"
            )

    if args.big:
        small = args.workdir / f"lookup-{args.ids}.jsonl"
        write_batch(small, args.processor, ids, args.ids)
        big = args.workdir / f"lookup-{args.big}.jsonl"
        write_batch(big, args.processor, ids, args.big)
        results["memory_small"] = {**run_cli(None, small, 16), "ids": args.ids}
        results["memory_big"] = {**run_cli(None, big, 16), "ids": args.big}
        for key in ("memory_small", "memory_big"):
            run = results[key]
            print(
                f"payhelp CLI --sandbox {run['ids']:>9,} ids: peak RSS "
                f"{run['maxrss_kib'] / 1024:.1f} MiB, {run['ids'] / run['seconds']:.0f} lookups/s"
            )

    if not args.skip_rate:
        count = args.rate_ids
        limited = args.workdir / f"lookup-{count}.jsonl"
        write_batch(limited, args.processor, ids, count)
        results["rate_limit"] = []
        print(f"rate limit {args.rate} at client and server, {count:,} lookups per run")
        print("| concurrency | refused (429) | most in a sliding second | arrivals | lookups/s |")
        print("|---:|---:|---:|---:|---:|")
        for concurrency in args.rate_concurrency:
            with recording_server(args.processor, args.latency_ms, args.rate) as (base, seen):
                behaviour, arrivals = seen
                config = args.workdir / "bench-rate.toml"
                write_config(config, args.processor, base, args.rate)
                run = run_cli(config, limited, concurrency)
                row = {
                    "concurrency": concurrency,
                    "refused": behaviour.limited,
                    "max_arrivals_per_sliding_second": max_per_sliding_second(arrivals),
                    "arrivals": len(arrivals),
                    "cli": run,
                }
                results["rate_limit"].append(row)
                print(
                    f"| {concurrency} | {row['refused']} | "
                    f"{row['max_arrivals_per_sliding_second']} | {row['arrivals']} | "
                    f"{count / run['seconds']:.0f} |",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
