"""The cost of the customer policies: refund checks, decline advice and dunning plans.

    .venv/bin/python bench/bench_policies.py            # about 30 s on 2 cores
    .venv/bin/python bench/bench_policies.py --json bench/results/policies.json

Per call, in this process, with a ``Payhelp`` built once (its decline tables loaded before
timing): ``refund_check`` on prepared facts and on a dict of strings (validation included),
``explain_decline`` for a code of each public table and for an unknown code, a dunning plan for
the default schedule (a soft decline: 9 attempts) and for a do-not-retry decline, and a full
five-day run of the state machine driven by a manual clock. Then the one-off costs: loading the
three tables, and each CLI command end to end (interpreter start-up included).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from payhelp import Payhelp
from payhelp.policies.declines import builtin_schemes
from payhelp.policies.dunning import AttemptResult, ChargeFailed, FinalStep, ManualClock
from payhelp.policies.refunds import RefundFacts

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
#: A batch of declines as a platform would send them: codes of every table, advice codes, an
#: unknown code.
BATCH = [
    json.dumps(line)
    for line in [
        {"code": "51", "scheme": "iso8583", "advice_code": "24", "ref": "a"},
        {"code": "2001", "scheme": "braintree", "ref": "b"},
        {"code": "lost_card", "scheme": "stripe", "ref": "c"},
        {"code": "05", "scheme": "iso8583", "visa_category": 2, "ref": "d"},
        {"code": "Q9", "scheme": "iso8583", "ref": "e"},
    ]
    * 200
]


def per_call_us(fn: Callable[[], object], *, repeat: int = 5, seconds: float = 0.4) -> float:
    """Median over ``repeat`` rounds of the mean time per call, in microseconds."""
    fn()
    calls = 1
    while True:  # size a round to about ``seconds``
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - start > seconds / 4:
            break
        calls *= 2
    calls = max(1, int(calls * seconds / max(time.perf_counter() - start, 1e-9)))
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        rounds.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(rounds)


def five_day_run(ph: Payhelp) -> int:
    clock = ManualClock(T0)
    dunning = ph.dunning(clock=clock)
    decline = ph.explain_decline("2001", "braintree")
    dunning.handle(ChargeFailed(decline=decline))
    steps = 0
    while True:
        wakeup = dunning.next_wakeup()
        if wakeup is None:
            return steps
        clock.set(wakeup)
        for action in dunning.due():
            steps += 1
            if isinstance(action, FinalStep):
                return steps
            dunning.handle(AttemptResult(approved=False, decline=decline))


def cli_seconds(args: list[str], repeat: int = 5) -> float:
    exe = Path(sys.executable).with_name("payhelp")
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([str(exe), *args], check=True, capture_output=True)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI timings")
    args = parser.parse_args(argv)

    ph = Payhelp()
    ph.decline_schemes()
    facts = RefundFacts.model_validate(
        {
            "product": "private_show",
            "purchased_at": T0,
            "now": T0 + timedelta(hours=3),
            "viewed_minutes": 3,
            "receipt": True,
            "model_consulted": True,
            "motivation": "The show stopped after a minute.",
        },
        strict=False,
    )
    strings = {
        "product": "private_show",
        "purchased_at": "2026-11-01T10:00:00Z",
        "now": "2026-11-01T13:00:00Z",
        "viewed_minutes": 3,
        "receipt": True,
    }
    start = time.perf_counter()
    builtin_schemes()
    load_ms = (time.perf_counter() - start) * 1000

    library: dict[str, float] = {
        "refund_check (RefundFacts)": per_call_us(lambda: ph.refund_check(facts)),
        "refund_check (dict of strings)": per_call_us(lambda: ph.refund_check(strings)),
        "explain_decline braintree 2001": per_call_us(
            lambda: ph.explain_decline("2001", "braintree")
        ),
        "explain_decline iso8583 5": per_call_us(lambda: ph.explain_decline("5", "iso8583")),
        "explain_decline stripe lost_card": per_call_us(
            lambda: ph.explain_decline("lost_card", "stripe")
        ),
        "explain_decline unknown code": per_call_us(lambda: ph.explain_decline("X9", "stripe")),
        "dunning_plan soft decline (9 attempts)": per_call_us(
            lambda: ph.dunning_plan(T0, "2001", "braintree")
        ),
        "dunning_plan expired card (no attempt)": per_call_us(
            lambda: ph.dunning_plan(T0, "2004", "braintree")
        ),
        "state machine, five days by manual clock": per_call_us(lambda: five_day_run(ph)),
        "explain_decline iso8583 51 + advice code 24": per_call_us(
            lambda: ph.explain_decline("51", "iso8583", advice_code="24")
        ),
        "explain_decline iso8583 05 + Visa category 1": per_call_us(
            lambda: ph.explain_decline("05", "iso8583", visa_category=1)
        ),
        "dunning_plan 51 + advice code 02 (1 attempt)": per_call_us(
            lambda: ph.dunning_plan(T0, "51", "iso8583", advice_code="02")
        ),
        "explain_batch, per line (1,000 lines)": per_call_us(
            lambda: sum(1 for _ in ph.explain_batch(BATCH)), repeat=3, seconds=1.0
        )
        / len(BATCH),
    }
    # The anchor every figure is paired with, measured in the same run: one explanation of a
    # known code with nothing else given (what the table, the reason and the texts cost).
    anchor = library["explain_decline braintree 2001"]
    results: dict[str, Any] = {
        "library_us": library,
        "load_tables_ms": load_ms,
        "anchor_us": anchor,
    }
    print("| call | µs per call | ratio to explain_decline braintree 2001 |\n|---|---:|---:|")
    for name, value in library.items():
        print(f"| {name} | {value:.1f} | {value / anchor:.2f} |")
    print(f"\nLoading the three public tables: {load_ms:.1f} ms")

    if not args.no_cli:
        cli = {
            "payhelp decline explain 2001 --scheme braintree --json": cli_seconds(
                ["decline", "explain", "2001", "--scheme", "braintree", "--json"]
            ),
            "payhelp refund check … --json": cli_seconds(
                [
                    "refund",
                    "check",
                    "--product",
                    "tip",
                    "--purchased-at",
                    "2026-11-01T10:00Z",
                    "--now",
                    "2026-11-01T12:00Z",
                    "--json",
                ]
            ),
            "payhelp dunning plan … --json": cli_seconds(
                [
                    "dunning",
                    "plan",
                    "--failed-at",
                    "2026-11-01T10:00Z",
                    "--decline",
                    "2001",
                    "--scheme",
                    "braintree",
                    "--json",
                ]
            ),
            "payhelp processors --json (for comparison)": cli_seconds(["processors", "--json"]),
        }
        results["cli_seconds"] = cli
        print("\n| command | wall, s (median of 5) |\n|---|---:|")
        for name, value in cli.items():
            print(f"| `{name}` | {value:.2f} |")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
