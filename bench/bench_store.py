"""Claims per second of the submission store: SQLite (the default) against PostgreSQL, from one
process and from several at once.

    .venv/bin/python bench/bench_store.py --postgres-url postgresql+psycopg://...
    bash -c 'source .ci/servers.sh && .venv/bin/python bench/bench_store.py'   # starts one

What is timed is the public store API a submission goes through before and after it is sent:
``SubmissionStore.claim`` of a new idempotency key, then ``finish`` with its receipt (short
transactions, as ``Payhelp.submit_dispute`` makes them), ``--claims`` times a process, every
process starting at the same moment once it has imported payhelp and opened the store. Each
backend is measured from 1 process and from ``--processes`` at once (each its own connection
pool, distinct keys), median of ``--rounds``; the SQLite file and the PostgreSQL database start
empty each round. The anchor is the same loop on SQLite from one process, in the same run: each
figure is printed with its ratio to it. Without a PostgreSQL URL (``--postgres-url`` or
``PAYHELP_TEST_POSTGRES_URL``) only SQLite is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workload import machine

_WORKER = """
import sys, time, uuid
from datetime import UTC, datetime
from payhelp.cases import SubmissionReceipt
from payhelp.store import SubmissionStore
url, count, tag, start_at = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
store = SubmissionStore(url)
request = {"transaction": {"transaction_id": "T"}, "reason": "duplicate_charge"}
keys = [f"{tag}-{i}" for i in range(count)]
time.sleep(max(0.0, start_at - time.time()))  # every process starts together, imports done
for key in keys:
    store.claim(key, "webbilling", "duplicate_charge", request)
    store.finish(key, SubmissionReceipt(
        processor="webbilling", idempotency_key=key, channel="email", reference=None,
        submitted_at=datetime.now(UTC), status="prepared"))
print(time.time())
store.close()
"""


def _empty(url: str) -> None:
    from sqlalchemy import create_engine, text  # noqa: PLC0415

    from payhelp.migrations import VERSION_TABLE  # noqa: PLC0415
    from payhelp.store import metadata  # noqa: PLC0415

    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = create_engine(url)
    metadata.drop_all(engine)
    with engine.begin() as conn:  # and the record of the schema's revision
        conn.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
    engine.dispose()


def _rate(url: str, processes: int, claims: int) -> float:
    """Claims (with their finish) per second, all processes together."""
    _empty(url)
    subprocess.run(  # the tables, before the clock starts
        [sys.executable, "-c", _WORKER, url, "1", "setup", "0"], check=True, capture_output=True
    )
    start_at = time.time() + 2.0  # after every process has imported payhelp and opened the store
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, url, str(claims), f"p{n}", str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    ends = []
    for worker in workers:
        out, _ = worker.communicate(timeout=600)
        if worker.returncode:
            raise SystemExit("a worker failed")
        ends.append(float(out.strip()))
    return processes * claims / (max(ends) - start_at)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=500, help="claims a process, a round")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres-url", default=os.environ.get("PAYHELP_TEST_POSTGRES_URL"))
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    opts = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="payhelp-bench-store-"))
    backends = {"SQLite (file, WAL)": f"sqlite:///{folder / 'store.db'}"}
    if opts.postgres_url:
        backends["PostgreSQL"] = opts.postgres_url
    cases = [(name, n) for name in backends for n in (1, opts.processes)]
    rates: dict[str, list[float]] = {f"{name}, {n} process(es)": [] for name, n in cases}
    for _ in range(opts.rounds):
        for name, n in cases:
            rates[f"{name}, {n} process(es)"].append(_rate(backends[name], n, opts.claims))
    medians = {case: statistics.median(values) for case, values in rates.items()}
    anchor = medians["SQLite (file, WAL), 1 process(es)"]
    info = machine()
    print("## Store claims\n")
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    print(
        f"\nclaim + finish of {opts.claims} new keys a process, median of {opts.rounds} rounds; "
        "anchor: SQLite from one process, same run\n"
    )
    print("| store | claims/s | x anchor | rounds |")
    print("|---|---:|---:|---|")
    for case, rate in medians.items():
        spread = ", ".join(f"{r:.0f}" for r in rates[case])
        print(f"| {case} | {rate:.0f} | {rate / anchor:.2f} | {spread} |")
    if opts.json:
        opts.json.write_text(json.dumps({"machine": info, "rates": rates}, indent=2))


if __name__ == "__main__":
    main()
