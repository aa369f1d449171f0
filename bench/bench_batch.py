"""Batch routing throughput and memory: ``Payhelp.route_batch`` and ``payhelp route --batch``.

    .venv/bin/python bench/bench_batch.py                # 1,000,000 lines; a few minutes on 2 cores
    .venv/bin/python bench/bench_batch.py --lines 200000 --small 20000   # a quick look

It writes (once; later runs reuse them) two seeded JSON Lines files of transactions of the six
built-in processors -- ``--small`` lines and ``--lines`` lines, the first a prefix of the second
-- about 0.1% of whose lines are malformed (see ``workload.MALFORMED``). Then, each in a fresh
process so that peak memory is its own:

* the library path: ``Payhelp().route_batch(file)`` over the open file, every output line
  consumed; lines per second, and peak RSS (``VmHWM``) after setup, at checkpoints along the
  stream, and at the end -- for both file sizes, to show memory stays flat;
* the real CLI: ``payhelp route --batch FILE > /dev/null`` (stderr to a file), wall time end to
  end including interpreter start-up, exit status (2 is expected: there are malformed lines) and
  peak RSS (``ru_maxrss`` from ``wait4``, via a small trampoline process); and the CLI's fixed
  cost on a one-line file, for comparison.

Then, in this process over the small file held in memory, the cost per line of each stage of
``route_lines``: JSON validation, the decision, serialising the decision, and the rest.

``--tracemalloc`` adds the Python heap's traced peak to the library runs (several times slower).
``--profile`` cProfiles the library path over the small file in this process.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from workload import BUILTIN_IDS, machine, payhelp_with, processor_infos, write_batch

from payhelp.batch import BatchTransaction, route_lines

CHECKPOINTS = (10_000, 100_000, 250_000, 500_000, 750_000, 1_000_000, 2_000_000, 5_000_000)


def _maxrss_mib() -> float:
    """This process's peak RSS. On Linux, ``VmHWM`` of /proc/self/status: ``ru_maxrss`` is not
    used because Linux carries the parent's peak over ``fork`` + ``exec`` into the child's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # noqa: PLC0415 - POSIX only

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


#: Runs ``argv[2:]`` with stdout to /dev/null and stderr to ``argv[1]``, and prints its wall time,
#: exit status and peak RSS. It is a small process of its own, so the measured command's
#: ``ru_maxrss`` inherits at most this trampoline's few MiB, not the benchmark's own peak.
TRAMPOLINE = """
import json, os, subprocess, sys, time
with open(os.devnull, "wb") as out, open(sys.argv[1], "wb") as err:
    start = time.perf_counter()
    proc = subprocess.Popen(sys.argv[2:], stdout=out, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
print(json.dumps({"seconds": seconds, "exit": code, "maxrss_kib": usage.ru_maxrss}))
"""


# -- the child: one library run -----------------------------------------------------------------


def child(path: Path, trace: bool, plugins: int) -> dict[str, Any]:
    """Route ``path`` through the library in this process and describe the run."""
    import tracemalloc  # noqa: PLC0415

    started = time.perf_counter()
    ph = payhelp_with(plugins)
    router = ph.router  # compiled here, not on the first line
    setup_s = time.perf_counter() - started
    rss_setup = _maxrss_mib()
    if trace:
        tracemalloc.start()
    errors = 0

    def on_error(number: int, message: str) -> None:
        nonlocal errors
        errors += 1

    lines = 0
    out_chars = 0
    rss_at: dict[int, float] = {}
    traced_at: dict[int, float] = {}
    marks = set(CHECKPOINTS)
    start = time.perf_counter()
    with path.open("rb") as handle:
        for line in ph.route_batch(handle, on_error=on_error):
            lines += 1
            out_chars += len(line)
            if lines in marks:
                rss_at[lines] = _maxrss_mib()
                if trace:
                    traced_at[lines] = tracemalloc.get_traced_memory()[0] / 2**20
    seconds = time.perf_counter() - start
    memo = router._decide_cached.cache_info()
    result: dict[str, Any] = {
        "lines": lines,
        "errors": errors,
        "seconds": seconds,
        "lines_per_s": lines / seconds,
        "setup_s": setup_s,
        "out_chars": out_chars,
        "rss_setup_mib": rss_setup,
        "rss_at_mib": rss_at,
        "rss_end_mib": _maxrss_mib(),
        "memo": {"hits": memo.hits, "misses": memo.misses, "size": memo.currsize},
    }
    if trace:
        current, peak = tracemalloc.get_traced_memory()
        result |= {"traced_at_mib": traced_at, "traced_peak_mib": peak / 2**20}
        result["traced_end_mib"] = current / 2**20
    return result


# -- the parent ---------------------------------------------------------------------------------


@dataclass
class BatchFile:
    """A generated batch file and what is in it."""

    path: Path
    lines: int
    malformed: int
    seed: int
    generated_s: float | None = None


def ensure_file(data_dir: Path, lines: int, seed: int, plugins: int) -> BatchFile:
    """The batch file of ``lines`` lines for ``seed``, generated unless already there."""
    name = f"batch-{lines}-seed{seed}" + (f"-{plugins}plugins" if plugins != 6 else "")
    path = data_dir / f"{name}.jsonl"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("lines") == lines and meta.get("seed") == seed:
            return BatchFile(path, lines, meta["malformed"], seed)
    start = time.perf_counter()
    _, malformed = write_batch(path, processor_infos(payhelp_with(plugins)), lines, seed)
    took = time.perf_counter() - start
    meta_path.write_text(json.dumps({"lines": lines, "seed": seed, "malformed": malformed}))
    return BatchFile(path, lines, malformed, seed, took)


@dataclass
class CliRun:
    """One ``payhelp route --batch`` run."""

    lines: int
    seconds: float
    lines_per_s: float
    exit_code: int
    stderr_lines: int
    maxrss_mib: float


def run_cli(payhelp: Path, batch: BatchFile) -> CliRun:
    """``payhelp route --batch FILE > /dev/null`` (stderr kept in a temporary file), run through
    :data:`TRAMPOLINE`; wall time from spawning the CLI to reaping it."""
    with tempfile.NamedTemporaryFile("r", suffix=".stderr") as err:
        argv = [str(payhelp), "route", "--batch", str(batch.path)]
        done = subprocess.run(
            [sys.executable, "-c", TRAMPOLINE, err.name, *argv],
            check=True,
            capture_output=True,
            text=True,
        )
        stderr_lines = sum(1 for _ in err)
    run = json.loads(done.stdout)
    return CliRun(
        batch.lines,
        run["seconds"],
        batch.lines / run["seconds"],
        run["exit"],
        stderr_lines,
        run["maxrss_kib"] / 1024,
    )


@dataclass
class LibraryRun:
    """One library run in a child process."""

    lines: int
    malformed: int
    result: dict[str, Any]
    maxrss_mib: float
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def run_library(batch: BatchFile, trace: bool, plugins: int) -> LibraryRun:
    """Route ``batch`` through the library in a fresh Python process."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(batch.path)]
    argv += ["--plugins", str(plugins)]
    if trace:
        argv.append("--tracemalloc")
    start = time.perf_counter()
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    result = json.loads(done.stdout)
    if result["errors"] != batch.malformed:
        raise RuntimeError(f"{result['errors']} error lines, expected {batch.malformed}")
    return LibraryRun(batch.lines, batch.malformed, result, result["rss_end_mib"], wall)


def stages(batch: BatchFile, plugins: int) -> dict[str, float]:
    """µs per line of each stage of ``route_lines``, timed apart over the file held in memory:
    validation, the decision (memo warm by then), serialising the decision, and the whole.
    The timed loops keep nothing, so that the collector costs what it costs in a stream."""
    ph = payhelp_with(plugins)
    router = ph.router
    lines = batch.path.read_bytes().splitlines()
    validate = BatchTransaction.model_validate_json
    start = time.perf_counter()
    for raw in lines:  # nothing kept: a growing heap would bill the collector to this stage
        try:  # noqa: SIM105 - contextlib.suppress would add its own cost to the timing
            validate(raw)
        except ValidationError:
            pass
    validate_s = time.perf_counter() - start
    items: list[BatchTransaction] = []
    for raw in lines:
        try:  # noqa: SIM105
            items.append(validate(raw))
        except ValidationError:
            pass
    items = [item for item in items if item.processor in (None, *router.processor_ids)]
    decisions = [router.decide(item) for item in items]  # warm the memo as the stream would
    start = time.perf_counter()
    for item in items:
        router.decide(item)
    decide = time.perf_counter() - start
    start = time.perf_counter()
    for decision in decisions:
        decision.model_dump_json()
    dump = time.perf_counter() - start
    start = time.perf_counter()
    for _ in route_lines(router, lines):
        pass
    whole = time.perf_counter() - start
    n = len(lines)
    return {
        "validate_us": validate_s / n * 1e6,
        "decide_us": decide / len(items) * 1e6,
        "dump_us": dump / len(decisions) * 1e6,
        "whole_us": whole / n * 1e6,
    }


def profile_library(batch: BatchFile, top: int, plugins: int) -> None:
    """cProfile the library path over ``batch`` in this process."""
    ph = payhelp_with(plugins)
    ph.router  # noqa: B018 - compile outside the profile
    profiler = cProfile.Profile()
    with batch.path.open("rb") as handle:
        profiler.enable()
        for _ in ph.route_batch(handle):
            pass
        profiler.disable()
    print(f"\n-- cProfile of route_batch over {batch.lines} lines, by tottime")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    """Generate the files if needed, run every measurement, print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=1_000_000, help="large file (1000000)")
    parser.add_argument("--small", type=int, default=100_000, help="small file (100000)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the files (2026)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "payhelp-bench",
        help="where the generated files live (a temporary directory)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="library runs of the large file (3; median)"
    )
    parser.add_argument("--skip-cli", action="store_true", help="do not time the CLI")
    parser.add_argument("--tracemalloc", action="store_true", help="trace the Python heap too")
    parser.add_argument("--profile", action="store_true", help="cProfile the small file")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--plugins",
        type=int,
        default=6,
        help="6 (the installed plugins) or more: the rest synthetic, the mix spread over all; "
        "the CLI is then skipped (it loads installed plugins only)",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child is not None:
        print(json.dumps(child(args.child, args.tracemalloc, args.plugins)))
        return 0

    env = machine()
    for key, value in env.items():
        print(f"{key}: {value}")
    print(f"plugins: {args.plugins}")
    files = [
        ensure_file(args.data_dir, n, args.seed, args.plugins) for n in (args.small, args.lines)
    ]
    for f in files:
        made = f"generated in {f.generated_s:.1f} s" if f.generated_s is not None else "reused"
        size = f.path.stat().st_size / 2**20
        print(f"file: {f.path} ({f.lines} lines, {f.malformed} malformed, {size:.0f} MiB, {made})")

    small, large = files
    library = [run_library(small, args.tracemalloc, args.plugins)]
    library += [run_library(large, args.tracemalloc, args.plugins) for _ in range(args.repeat)]
    print("\n## Library: Payhelp().route_batch(file)\n")
    print(
        "| lines | seconds | lines/s | error lines | memo misses | memo entries | memo hit ratio "
        "| RSS after setup (MiB) | peak RSS (MiB) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in library:
        r = run.result
        memo = r["memo"]
        hit = memo["hits"] / max(1, memo["hits"] + memo["misses"])
        print(
            f"| {run.lines:,} | {r['seconds']:.1f} | {r['lines_per_s']:,.0f} | {r['errors']} "
            f"| {memo['misses']:,} | {memo['size']:,} | {hit:.2%} | {r['rss_setup_mib']:.1f} "
            f"| {run.maxrss_mib:.1f} |"
        )
    rates = [run.result["lines_per_s"] for run in library[1:]]
    rate = statistics.median(rates)
    print(f"\nmedian over {len(rates)} run(s) of {large.lines:,} lines: {rate:,.0f} lines/s")
    print("\npeak RSS along the stream (MiB):")
    for run in library:
        marks = ", ".join(f"{int(k):,}: {v:.1f}" for k, v in run.result["rss_at_mib"].items())
        print(f"- {run.lines:,}-line file: setup {run.result['rss_setup_mib']:.1f}; {marks}")
        if "traced_peak_mib" in run.result:
            traced = ", ".join(
                f"{int(k):,}: {v:.2f}" for k, v in run.result["traced_at_mib"].items()
            )
            print(f"  traced heap now: {traced}; traced peak {run.result['traced_peak_mib']:.2f}")

    split = stages(small, args.plugins)
    print(f"\nstages, µs per line, {small.lines:,}-line file in memory, in this process:")
    print("\n| validate JSON | decide (warm memo) | decision to JSON | rest | whole route_lines |")
    print("|---:|---:|---:|---:|---:|")
    rest = split["whole_us"] - split["validate_us"] - split["decide_us"] - split["dump_us"]
    print(
        f"| {split['validate_us']:.1f} | {split['decide_us']:.1f} | {split['dump_us']:.1f} "
        f"| {rest:.1f} | {split['whole_us']:.1f} |"
    )

    cli: list[CliRun] = []
    if not args.skip_cli and args.plugins == len(BUILTIN_IDS):
        payhelp = Path(sys.executable).parent / "payhelp"
        one = args.data_dir / "one-line.jsonl"
        one.write_text('{"transaction_id": "139630889", "country": "US"}\n')
        startup = [run_cli(payhelp, BatchFile(one, 1, 0, 0)) for _ in range(3)]
        cli = [run_cli(payhelp, small), run_cli(payhelp, large)]
        fixed = statistics.median(s.seconds for s in startup)
        print("\n## CLI: payhelp route --batch FILE > /dev/null\n")
        print(
            "| lines | wall seconds | lines/s | lines/s after start-up | exit | stderr lines "
            "| peak RSS (MiB) |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for c in [startup[0], *cli]:
            net = f"{c.lines / (c.seconds - fixed):,.0f}" if c.lines > 1 else "-"
            print(
                f"| {c.lines:,} | {c.seconds:.2f} | {c.lines_per_s:,.0f} | {net} | {c.exit_code} "
                f"| {c.stderr_lines} | {c.maxrss_mib:.1f} |"
            )
        print(f"\nCLI fixed cost (one-line file, median of 3): {fixed:.2f} s")

    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload: dict[str, Any] = {
            "machine": env,
            "args": {k: str(v) for k, v in vars(args).items()},
        }
        payload["files"] = [asdict(f) | {"path": str(f.path)} for f in files]
        payload["library"] = [asdict(run) for run in library]
        payload["cli"] = [asdict(c) for c in cli]
        payload["stages"] = split
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    if args.profile:
        profile_library(small, 25, args.plugins)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
