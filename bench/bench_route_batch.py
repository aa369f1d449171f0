"""``payhelp route --batch FILE`` against its floor: reading the file, parsing each JSON line and
writing one JSON line per input line, as plain Python does it, in the same run.

    .venv/bin/python bench/bench_route_batch.py                  # 200,000 lines, about a minute
    .venv/bin/python bench/bench_route_batch.py --lines 50000 --repeat 5

It writes (once; later runs reuse it) the seeded JSON Lines file of ``bench_batch.py`` (the six
built-in processors' transactions, about 0.1% of lines malformed), then runs, interleaved,
``--repeat`` times each, every one a process of its own with stdout to /dev/null:

* the CLI: ``payhelp route --batch FILE``, wall time from spawning it to reaping it;
* the floor: ``python FLOOR FILE``, where FLOOR reads the file line by line, ``json.loads`` each
  line (a line that is not JSON becomes a line saying so) and writes ``json.dumps`` of the object
  with its line number: the least any JSON Lines tool does, interpreter start included;
* the CLI's fixed cost: ``payhelp route --batch`` on a one-line file (start-up, plugin loading,
  compiling the router), to tell the batch path's own share from the start's.

It prints the medians and the ratio CLI / floor (the issue's target: at most 2), and the same
with the CLI's fixed cost taken off, with the spread (min-max) over the runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_batch import TRAMPOLINE, BatchFile, ensure_file
from workload import machine

#: The floor: read, parse, write one JSON line per input line.
FLOOR = """
import json, sys
out = sys.stdout
with open(sys.argv[1], encoding="utf-8") as lines:
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            data = json.loads(line)
        except ValueError:
            data = {"error": "not JSON"}
        if not isinstance(data, dict):
            data = {"error": "not an object"}
        out.write(json.dumps({"line": number, **data}) + "\\n")
"""


def timed(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and exit status of ``argv`` run through the trampoline (stdout to
    /dev/null, stderr to a temporary file)."""
    with tempfile.NamedTemporaryFile("r", suffix=".stderr") as err:
        done = subprocess.run(
            [sys.executable, "-c", TRAMPOLINE, err.name, *argv],
            check=True,
            capture_output=True,
            text=True,
        )
    run = json.loads(done.stdout)
    return float(run["seconds"]), int(run["exit"])


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and the floor, interleaved, and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=200_000, help="lines in the file (200000)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the file (2026)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (3; median)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "payhelp-bench",
        help="where the generated file lives (a temporary directory)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    env = machine()
    for key, value in env.items():
        print(f"{key}: {value}")
    batch = ensure_file(args.data_dir, args.lines, args.seed, 6)
    print(f"file: {batch.path} ({batch.lines:,} lines, {batch.malformed} malformed)")
    one = BatchFile(args.data_dir / "one-line.jsonl", 1, 0, 0)
    one.path.write_text('{"transaction_id": "139630889", "country": "US"}\n')
    floor_script = args.data_dir / "route_batch_floor.py"
    floor_script.write_text(FLOOR)
    payhelp = str(Path(sys.executable).parent / "payhelp")

    cli: list[float] = []
    floor: list[float] = []
    start: list[float] = []
    for _ in range(args.repeat):
        seconds, code = timed([payhelp, "route", "--batch", str(batch.path)])
        if code not in (0, 2):
            raise RuntimeError(f"payhelp route --batch exited {code}")
        cli.append(seconds)
        floor.append(timed([sys.executable, str(floor_script), str(batch.path)])[0])
        start.append(timed([payhelp, "route", "--batch", str(one.path)])[0])

    ratios = [c / f for c, f in zip(cli, floor, strict=True)]
    net = [(c - s) / f for c, s, f in zip(cli, start, floor, strict=True)]
    median_ratio = statistics.median(ratios)
    print(f"\nruns: {args.repeat} of each, interleaved; median (min-max)\n")
    print("| what | wall time | lines/s |")
    print("|---|---:|---:|")
    for label, values in (
        ("`payhelp route --batch FILE`", cli),
        ("floor: read, json.loads, json.dumps, write", floor),
        ("`payhelp route --batch` of one line (fixed cost)", start),
    ):
        lines = batch.lines if "one line" not in label else 1
        print(f"| {label} | {_spread(values)} | {lines / statistics.median(values):,.0f} |")
    verdict = "PASS" if median_ratio <= 2.0 else "FAIL"
    print(
        f"\nroute --batch / floor: {median_ratio:.2f}x "
        f"({min(ratios):.2f}-{max(ratios):.2f}; target ≤ 2.00x: {verdict})"
    )
    print(
        f"route --batch less its fixed cost / floor: {statistics.median(net):.2f}x "
        f"({min(net):.2f}-{max(net):.2f})"
    )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "machine": env,
            "lines": batch.lines,
            "cli_s": cli,
            "floor_s": floor,
            "fixed_s": start,
            "ratio": ratios,
            "ratio_less_fixed": net,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
