"""What the first decline explanation costs a fresh process, and what one Payhelp holds.

    .venv/bin/python bench/bench_first_call.py           # about 30 s on 2 cores
    .venv/bin/python bench/bench_first_call.py --json bench/results/first_call.json

In a fresh process per run (``--repeat`` runs, medians reported), timed inside it with
``time.perf_counter``: ``import payhelp``, then ``payhelp.Payhelp`` (the API's modules, which
``import payhelp`` loads on first access), ``Payhelp()``, the first ``explain_decline`` (an
ISO 8583 ``51``), a second one of another table (Braintree ``2001`` with a processor and a country,
so a channel is offered) and a repeat of the first. The issue's goal: the first explanation under
20 ms (printed with ``Payhelp()`` added too: what a fresh program waits for its first
answer). The anchor is a fresh process doing ``import payhelp`` only, wall time from spawn to
reap, beside the wall time of a process that goes on to the first explanation.

Memory: the resident set (``VmRSS``) of a process holding one ``Payhelp`` after its first calls
(the explanations above, ``contacts("segpay", "IT")`` and a ``route``), beside ``python -c pass``
and ``import payhelp`` alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from workload import ENV, machine, set_bytecode

_RSS = """
def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
"""
_CHILD = (
    _RSS
    + """
import json, sys, time
t0 = time.perf_counter()
import payhelp
ta = time.perf_counter()
Payhelp = payhelp.Payhelp
t1 = time.perf_counter()
ph = Payhelp()
t2 = time.perf_counter()
ph.explain_decline("51", "iso8583")
t3 = time.perf_counter()
ph.explain_decline("2001", "braintree", processor="segpay", country="IT")
t4 = time.perf_counter()
ph.explain_decline("51", "iso8583")
t5 = time.perf_counter()
ph.contacts("segpay", "IT")
ph.route(descriptor="SEGPAY*SITE", country="IT")
ms = lambda a, b: (b - a) * 1000
print(json.dumps({"import": ms(t0, ta), "api": ms(ta, t1), "import_all": ms(t0, t1),
    "construct": ms(t1, t2), "first": ms(t2, t3),
    "other_table": ms(t3, t4), "repeat": ms(t4, t5), "rss_mib": rss_mib()}))
"""
)
_IMPORT_ONLY = "import payhelp"


def _wall(code: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=ENV
    )
    return (time.perf_counter() - start) * 1000, done.stdout


def _rss(code: str) -> float:
    _, out = _wall(_RSS + code + "\nprint(rss_mib())")
    return float(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="fresh processes of each kind")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--no-bytecode", action="store_true", help="compile at every start")
    opts = parser.parse_args()
    cache = set_bytecode(not opts.no_bytecode)

    inner: list[dict[str, float]] = []
    walls: dict[str, list[float]] = {"import payhelp only": [], "up to the first calls": []}
    _wall(_CHILD)  # warm the page cache (and fill the bytecode cache)
    for _ in range(opts.repeat):
        walls["import payhelp only"].append(_wall(_IMPORT_ONLY)[0])
        seconds, out = _wall(_CHILD)
        walls["up to the first calls"].append(seconds)
        inner.append(json.loads(out))
    med = {key: statistics.median(run[key] for run in inner) for key in inner[0]}
    wall_med = {key: statistics.median(v) for key, v in walls.items()}
    rss = {
        "python -c pass": _rss("pass"),
        "import payhelp": _rss("import payhelp"),
        "one Payhelp after its first calls": med["rss_mib"],
    }

    info = machine()
    print("## First calls\n")
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    print(f"\nmedian of {opts.repeat} fresh processes, timed inside each; {cache}\n")
    print("| step | ms |")
    print("|---|---:|")
    for key, label in [
        ("import", "`import payhelp`"),
        ("api", "then `payhelp.Payhelp` (the API's modules, loaded on first access)"),
        ("import_all", "both: what a program pays before it builds a Payhelp"),
        ("construct", "`Payhelp()`"),
        ("first", "first `explain_decline('51', 'iso8583')`"),
        ("other_table", "then `explain_decline('2001', 'braintree', processor=…, country=…)`"),
        ("repeat", "then `explain_decline('51', 'iso8583')` again"),
    ]:
        print(f"| {label} | {med[key]:.1f} |")
    first = med["construct"] + med["first"]
    verdict = "PASS" if med["first"] < 20 else "FAIL"
    print(f"\nfirst explanation: {med['first']:.1f} ms (goal: under 20 ms: {verdict}); ", end="")
    print(f"with `Payhelp()` before it: {first:.1f} ms\n")
    anchor = wall_med["import payhelp only"]
    print("| fresh process, wall time | ms | x anchor |")
    print("|---|---:|---:|")
    for key, value in wall_med.items():
        print(f"| {key} | {value:.0f} | {value / anchor:.2f} |")
    print("\nanchor: a fresh process doing `import payhelp` only\n")
    print("| resident set | MiB |")
    print("|---|---:|")
    for key, value in rss.items():
        print(f"| {key} | {value:.1f} |")
    if opts.json:
        raw: dict[str, Any] = {"machine": info, "inner": inner, "walls": walls, "rss": rss}
        opts.json.write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
