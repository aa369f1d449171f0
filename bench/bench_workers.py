"""Batch lookup over Celery workers (payhelp.workers), and what the shared rate limit costs.

    PAYHELP_TEST_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/bench_workers.py
    bash -c 'source .ci/servers.sh && .venv/bin/python bench/bench_workers.py'   # starts one

1. **Scaling.** ``--lookups`` lines go through :meth:`payhelp.workers.PayhelpTasks.lookup` (the
   public API ``payhelp lookup --batch --celery`` uses) to 1, 2 and 4 workers of payhelp's own
   app (``celery -A payhelp.workers worker --pool solo``, configured only by the environment, as
   a deployment is), against CentroBill's sandbox served on a socket by ``payhelp sandbox serve
   --latency-ms 20`` in a process of its own, no rate limit. Lookups per second from the first
   line sent to the last answer, median of ``--rounds``; the anchor is one worker, same run. The
   workers are started and answering before the clock starts.
   For reference, the same lines through ``payhelp lookup --batch FILE --concurrency 16`` in one
   process and no Celery (its start-up included), in the same run.
2. **The shared rate limit's cost.** ``Payhelp.lookup`` through an in-memory transport with a
   rate limit high enough never to wait: with ``redis_url`` (one Lua script call to Redis a
   request) against without (this process's schedule), in alternating blocks, same run;
   microseconds a lookup and the ratio. And the schedules alone, the public
   ``RedisSchedule.acquire`` against ``payhelp.ratelimit.LOCAL.acquire``: what a request pays
   for its slot.

This machine's cores bound the scaling: the workers, the sandbox, Redis and the caller share them
(the report prints how many).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from workload import machine

APPROVED = "511170001"


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(path: Path, text: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {text!r} in {path}")


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _scaling(opts: argparse.Namespace, env: dict[str, str], folder: Path) -> dict[int, list[float]]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        import payhelp.workers as workers  # noqa: PLC0415 - its app reads the environment above

        tasks = workers.tasks
        tasks.payhelp()  # the caller's Payhelp, built while the environment is the workers'
    finally:
        os.environ.clear()
        os.environ.update(saved)
    lines = [
        json.dumps({"processor": "centrobill", "transaction_id": APPROVED})
        for _ in range(opts.lookups)
    ]
    rates: dict[int, list[float]] = {n: [] for n in opts.workers}
    for count in opts.workers:
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        started = []
        for n in range(count):
            log = folder / f"worker-{count}-{n}.log"
            started.append(
                _start(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "payhelp.workers",
                        "worker",
                        "--pool",
                        "solo",
                        "--queues",
                        queue,
                        "--hostname",
                        f"b{count}-{n}@%h",
                        "--without-mingle",
                        "--without-gossip",
                        "--loglevel",
                        "INFO",
                    ],
                    env,
                    log,
                )
            )
        try:
            for n in range(count):
                _wait_for(folder / f"worker-{count}-{n}.log", "ready.")
            # Warm: every worker has built its Payhelp and connections before the clock starts.
            list(tasks.lookup(lines[: 50 * count], chunk_size=50, queue=queue, timeout=60))
            for _ in range(opts.rounds):
                start = time.perf_counter()
                got = sum(
                    1
                    for _ in tasks.lookup(
                        lines, chunk_size=opts.chunk, concurrency=16, queue=queue, timeout=60
                    )
                )
                elapsed = time.perf_counter() - start
                assert got == opts.lookups
                rates[count].append(got / elapsed)
        finally:
            _stop(started)
    return rates


def _one_process(opts: argparse.Namespace, env: dict[str, str], folder: Path) -> list[float]:
    """``payhelp lookup --batch`` in one process (no Celery), lookups a second, each round."""
    batch = folder / "batch.jsonl"
    line = json.dumps({"processor": "centrobill", "transaction_id": APPROVED})
    batch.write_text((line + "\n") * opts.lookups)
    plain = {k: v for k, v in env.items() if k not in ("PAYHELP_REDIS_URL", "PAYHELP_BROKER_URL")}
    rates = []
    for _ in range(opts.rounds):
        start = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "payhelp",
                "lookup",
                "--batch",
                str(batch),
                "--concurrency",
                "16",
            ],
            env=plain,
            capture_output=True,
            check=True,
        )
        elapsed = time.perf_counter() - start
        assert done.stdout.count(b"\n") == opts.lookups
        rates.append(opts.lookups / elapsed)
    return rates


def _shared_cost(redis_url: str, lookups: int, rounds: int) -> dict[str, list[float]]:
    from payhelp.api import Payhelp  # noqa: PLC0415
    from payhelp.sandbox import Behaviour  # noqa: PLC0415
    from payhelp.sandbox_transport import SandboxTransport  # noqa: PLC0415

    probe = Payhelp(load_plugins=["centrobill"])
    box = probe.host.sandbox(probe.processor("centrobill"))
    assert box is not None

    def make(**extra: str) -> Payhelp:
        settings = {
            "api_key": "bench-key",
            "base_url": "http://127.0.0.1/centrobill/",
            "rate_limit": "1000000/second",  # never waits: what is timed is taking the slot
            "transport": SandboxTransport(box, Behaviour()),  # in memory, no socket
        }
        return Payhelp(
            load_plugins=["centrobill"], processors={"centrobill": {"settings": settings}}, **extra
        )

    local = make()
    shared = make(redis_url=redis_url, redis_prefix=f"bench-{uuid.uuid4().hex[:8]}:")
    costs: dict[str, list[float]] = {"this process's schedule": [], "Redis (redis_url)": []}
    for ph in (local, shared):  # warm: adapters, scripts loaded
        for _ in range(200):
            ph.lookup("centrobill", {"transaction_id": APPROVED})
    block = 250
    for _ in range(rounds * (lookups // block)):
        for name, ph in (("this process's schedule", local), ("Redis (redis_url)", shared)):
            start = time.perf_counter()
            for _ in range(block):
                ph.lookup("centrobill", {"transaction_id": APPROVED})
            costs[name].append((time.perf_counter() - start) / block * 1e6)
    # The schedules alone: what one request pays for its slot.
    from payhelp.ratelimit import LOCAL, parse_rate  # noqa: PLC0415

    rate = parse_rate("1000000/second")
    redis_schedule = shared.shared.schedule if shared.shared is not None else None
    assert redis_schedule is not None
    slots: dict[str, list[float]] = {"LOCAL.acquire": [], "RedisSchedule.acquire": []}
    for _ in range(rounds * 4):
        for name, schedule in (("LOCAL.acquire", LOCAL), ("RedisSchedule.acquire", redis_schedule)):
            start = time.perf_counter()
            for _ in range(block):
                schedule.acquire(rate, "centrobill", time.sleep)
            slots[name].append((time.perf_counter() - start) / block * 1e6)
    costs |= slots
    local.close()
    shared.close()
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default=os.environ.get("PAYHELP_TEST_REDIS_URL"))
    parser.add_argument("--lookups", type=int, default=6000)
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    opts = parser.parse_args()
    if not opts.redis_url:
        raise SystemExit("needs a Redis: --redis-url or PAYHELP_TEST_REDIS_URL")
    folder = Path(tempfile.mkdtemp(prefix="payhelp-bench-workers-"))
    port = _free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("PAYHELP_")}
    sandbox = _start(
        [
            sys.executable,
            "-m",
            "payhelp",
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--latency-ms",
            "20",
            "--processor",
            "centrobill",
        ],
        base,
        folder / "sandbox.log",
    )
    env = {
        **base,
        "PAYHELP_BROKER_URL": opts.redis_url,
        "PAYHELP_REDIS_URL": opts.redis_url,
        "PAYHELP_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:",
        "PAYHELP_LOAD_PLUGINS": "centrobill",
        "PAYHELP_CENTROBILL_API_KEY": "bench-key",
        "PAYHELP_CENTROBILL_BASE_URL": f"http://127.0.0.1:{port}/centrobill/",
        "PAYHELP_STORE_URL": f"sqlite:///{folder / 'store.db'}",
    }
    try:
        _wait_for(folder / "sandbox.log", "serving")
        rates = _scaling(opts, env, folder)
        single = _one_process(opts, env, folder)
    finally:
        _stop([sandbox])
    costs = _shared_cost(opts.redis_url, 2000, opts.rounds)
    info = machine()
    print("## Batch lookup over Celery workers\n")
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    print(
        f"\n{opts.lookups} lookups in chunks of {opts.chunk}, 16 in flight a worker, sandbox at "
        f"20 ms; median of {opts.rounds} rounds; anchor: one worker, same run\n"
    )
    print("| workers | lookups/s | x anchor | rounds |")
    print("|---:|---:|---:|---|")
    medians = {n: statistics.median(v) for n, v in rates.items()}
    anchor = medians[opts.workers[0]]
    for n, rate in medians.items():
        spread = ", ".join(f"{r:.0f}" for r in rates[n])
        print(f"| {n} | {rate:.0f} | {rate / anchor:.2f} | {spread} |")
    one = statistics.median(single)
    spread = ", ".join(f"{r:.0f}" for r in single)
    print(
        f"| reference: `lookup --batch`, one process, no Celery | {one:.0f} | {one / anchor:.2f} "
        f"| {spread} |"
    )
    print("\n## The shared rate limit's cost per request\n")
    print(
        "Payhelp.lookup, in-memory transport, a limit never reached; anchor: this process's "
        "schedule, same run\n"
    )
    print("| schedule | µs a lookup | x anchor | rounds |")
    print("|---|---:|---:|---|")
    cost_medians = {k: statistics.median(v) for k, v in costs.items()}
    for name in ("this process's schedule", "Redis (redis_url)"):
        value = cost_medians[name]
        ratio = value / cost_medians["this process's schedule"]
        print(f"| {name} | {value:.0f} | {ratio:.2f} | {len(costs[name])} blocks |")
    print("\n| the schedule alone | µs a slot | x anchor |")
    print("|---|---:|---:|")
    for name in ("LOCAL.acquire", "RedisSchedule.acquire"):
        value = cost_medians[name]
        print(f"| {name} | {value:.1f} | {value / cost_medians['LOCAL.acquire']:.1f} |")
    if opts.json:
        opts.json.write_text(
            json.dumps(
                {"machine": info, "rates": rates, "single": single, "costs": costs}, indent=2
            )
        )


if __name__ == "__main__":
    main()
