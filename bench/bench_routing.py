"""Cost of one routing decision, against a plain pluggy ``firstresult`` call over the same plugins.

    .venv/bin/python bench/bench_routing.py            # about a minute on 2 cores
    .venv/bin/python bench/bench_routing.py --profile  # also cProfile decide()

For 6 plugins (the installed ones) and 100 (the six plus 94 synthetic processors with distinct id
shapes and statement words), over a seeded mix of pre-built ``Transaction`` objects (validation is
not timed), it times:

* ``Router.decide`` as ``Payhelp`` builds it (decisions memoised in an LRU of 16,384), warmed by
  one pass over the mix first, so every timed call is a memo hit (steady state);
* ``Router.decide`` on a new router per pass, its memo empty: the first ``--transactions`` lines
  of a fresh stream (hits and misses as they come);
* ``Router.decide`` with the memo defeated (``cache_size=0``): every call does the full work;
* ``pm.hook.claim(transaction=tx)``: a plain pluggy ``firstresult`` hook in which each plugin
  checks the explicit processor, its id shapes (``IdFormat.matches``) and its words in the
  upper-cased descriptor, and returns its id or ``None``;
* ``Payhelp.route(**fields)``, the public API, on each transaction's fields as JSON-ready values
  (validation included), with the memo warm and on a fresh router per pass (cold);
* ``Router.route(fields)`` on the same fields as ``inputs.route_input`` hands them over, warm and
  cold: what ``Payhelp.route`` costs when it calls the router that way. These four alternate
  pass by pass with pluggy passes, and their ratio is the median of the passes' ratios, so that
  the load of a shared machine changing between two figures does not make the ratio.

Each figure is the median, over ``--repeat`` passes, of one pass's time divided by the number of
transactions in the mix (``time.perf_counter``; the garbage collector stays enabled, as in a real
process, after a ``gc.collect()`` before each pass; ``--gc-off`` disables it while timing, to show
the collector's share). Then the issue's two targets are checked.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pluggy
from workload import BUILTIN_IDS, TransactionMix, machine, payhelp_with, processor_infos

from payhelp import IdKind, Payhelp, ProcessorInfo, Transaction, inputs
from payhelp.router import Router

# -- the pluggy baseline ------------------------------------------------------------------------

BASELINE = "payhelp_bench"
baseline_spec = pluggy.HookspecMarker(BASELINE)
baseline_impl = pluggy.HookimplMarker(BASELINE)


class ClaimSpec:
    """The baseline's one hook."""

    @baseline_spec(firstresult=True)
    def claim(self, transaction: Transaction) -> str | None:
        """Return your processor id if ``transaction`` is yours, else ``None``."""


class ClaimPlugin:
    """One processor's natural check, written the way a plugin author would."""

    def __init__(self, info: ProcessorInfo) -> None:
        self.id = info.id
        self.formats = info.id_formats
        self.keywords = tuple(d.keyword for d in info.descriptors)

    @baseline_impl
    def claim(self, transaction: Transaction) -> str | None:
        """Claim ``transaction`` when it names this processor, has one of its id shapes, or
        carries one of its words on the statement."""
        if transaction.processor == self.id:
            return self.id
        for fmt in self.formats:
            value = (
                transaction.transaction_id
                if fmt.kind is IdKind.TRANSACTION
                else transaction.references.get(fmt.kind)
            )
            if value is not None and fmt.matches(value):
                return self.id
        if transaction.descriptor is not None and self.keywords:
            text = transaction.descriptor.upper()
            if any(word in text for word in self.keywords):
                return self.id
        return None


def baseline_manager(processors: Sequence[ProcessorInfo]) -> pluggy.PluginManager:
    """A plugin manager with one :class:`ClaimPlugin` per processor, registered in order (pluggy
    calls the last registered first)."""
    pm = pluggy.PluginManager(BASELINE)
    pm.add_hookspecs(ClaimSpec)
    for info in processors:
        pm.register(ClaimPlugin(info), name=info.id)
    return pm


# -- timing -------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Per-call microseconds over the passes."""

    median_us: float
    min_us: float
    max_us: float
    passes: int
    calls_per_pass: int


#: Whether the collector runs during the timed passes (``--gc-off`` turns it off, as ``timeit``
#: does by default, to show how much of a figure is the collector's).
COLLECT = True


def _pass_time(func: Callable[[Transaction], object], txs: Sequence[Transaction]) -> float:
    """µs per call over one pass. The garbage collector stays on, as in a real process, but
    starts each pass with nothing to collect."""
    gc.collect()
    if not COLLECT:
        gc.disable()
    try:
        start = time.perf_counter()
        for tx in txs:
            func(tx)
        return (time.perf_counter() - start) / len(txs) * 1e6
    finally:
        gc.enable()


def _timing(per: list[float], calls: int) -> Timing:
    return Timing(statistics.median(per), min(per), max(per), len(per), calls)


def per_call(
    func: Callable[[Transaction], object], txs: Sequence[Transaction], repeat: int
) -> Timing:
    """Time ``func`` over every transaction, ``repeat`` times; µs per call."""
    return _timing([_pass_time(func, txs) for _ in range(repeat)], len(txs))


@dataclass
class Paired:
    """A figure timed pass by pass beside a pluggy pass (the anchor), alternating, so that a
    change in the machine's load between the two touches both: the ratio is the median of the
    passes' ratios."""

    timing: Timing
    anchor: Timing
    ratio: float
    ratio_min: float
    ratio_max: float


def paired(
    one_pass: Callable[[], float],
    anchor: Callable[[Transaction], object],
    txs: Sequence[Transaction],
    repeat: int,
) -> Paired:
    """``repeat`` times: one pass of ``one_pass`` (µs per call), then one pluggy pass."""
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(repeat):
        mine.append(one_pass())
        theirs.append(_pass_time(anchor, txs))
    ratios = [m / t for m, t in zip(mine, theirs, strict=True)]
    return Paired(
        _timing(mine, len(txs)),
        _timing(theirs, len(txs)),
        statistics.median(ratios),
        min(ratios),
        max(ratios),
    )


def per_call_cold(
    infos: Sequence[ProcessorInfo], txs: Sequence[Transaction], repeat: int
) -> Timing:
    """Like :func:`per_call` for ``decide``, but each pass starts with a new router whose memo
    is empty (built outside the timing): the first ``len(txs)`` lines of a fresh stream."""
    return _timing([_pass_time(Router(infos).decide, txs) for _ in range(repeat)], len(txs))


@dataclass
class Case:
    """One plugin count and transaction mix, every way of routing it."""

    plugins: int
    mix: str
    cached: Timing
    cold: Timing
    uncached: Timing
    pluggy: Timing
    api_warm: Paired
    api_cold: Paired
    fields_warm: Paired
    fields_cold: Paired
    distinct_keys: int
    hit_ratio: float
    decided: float
    agreement: float


def run_case(mix_name: str, txs: Sequence[Transaction], ph: Payhelp, repeat: int) -> Case:
    """Time one case. ``ph.router`` is used as built (default LRU), so it should be fresh."""
    router = ph.router
    infos = processor_infos(ph)
    uncached = Router(infos, cache_size=0)
    pm = baseline_manager(infos)
    call = pm.hook.claim

    def claim(tx: Transaction) -> object:
        return call(transaction=tx)

    # One untimed pass: warms the memo (and shows how often a real stream would hit it).
    decisions = [router.decide(tx) for tx in txs]
    info = router._decide_cached.cache_info()
    unbounded = Router(infos, cache_size=len(txs))  # counts distinct keys, evicting none
    for tx in txs:
        unbounded.decide(tx)
    distinct = unbounded._decide_cached.cache_info().currsize
    del unbounded  # its memo must not sit in the heap while the collector runs below
    claims = [claim(tx) for tx in txs]
    decided = [d.processor for d in decisions if d.processor is not None]
    agree = sum(
        d.processor == c for d, c in zip(decisions, claims, strict=True) if d.processor is not None
    )
    # Sanity: the memo changes the cost, not the answer.
    for tx, d in zip(txs[:500], decisions, strict=False):
        if uncached.decide(tx) != d:
            raise AssertionError("cached and uncached routers disagree")
    # The public API as a caller uses it: keyword fields in, validation and decision included.
    fields = [tx.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for tx in txs]
    by_tx = dict(zip(map(id, txs), fields, strict=True))
    route = ph.route

    def route_fields(tx: Transaction) -> object:
        return route(**by_tx[id(tx)])

    def api_cold_pass() -> float:
        ph.__dict__.pop("router", None)  # a fresh router, its memo empty (built untimed)
        _ = ph.router
        return _pass_time(route_fields, txs)

    # the memo was warmed by the pass above
    api_warm = paired(lambda: _pass_time(route_fields, txs), claim, txs, repeat)
    api_cold = paired(api_cold_pass, claim, txs, repeat)
    # Router.route on the fields as Payhelp.route hands them over (inputs.route_input): what
    # Payhelp.route costs once it calls it, and the router's share of the API figure.
    by_route = dict(zip(map(id, txs), fields, strict=True))
    route_input = inputs.route_input

    def router_fields(tx: Transaction) -> object:
        return ph.router.route(route_input(None, by_route[id(tx)]))

    def fields_cold_pass() -> float:
        ph.__dict__.pop("router", None)
        _ = ph.router
        return _pass_time(router_fields, txs)

    fields_cold = paired(fields_cold_pass, claim, txs, repeat)
    # warmed by the last cold pass
    fields_warm = paired(lambda: _pass_time(router_fields, txs), claim, txs, repeat)
    ph.__dict__.pop("router", None)
    return Case(
        plugins=len(infos),
        mix=mix_name,
        cached=per_call(router.decide, txs, repeat),
        cold=per_call_cold(infos, txs, repeat),
        uncached=per_call(uncached.decide, txs, repeat),
        pluggy=per_call(claim, txs, repeat),
        api_warm=api_warm,
        api_cold=api_cold,
        fields_warm=fields_warm,
        fields_cold=fields_cold,
        distinct_keys=distinct,
        hit_ratio=info.hits / (info.hits + info.misses),
        decided=len(decided) / len(txs),
        agreement=agree / max(1, len(decided)),
    )


# -- report -------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(cases: list[Case], args: argparse.Namespace) -> list[str]:
    """The figures and the targets, as Markdown."""
    out = [
        f"transactions per pass: {args.transactions}, passes: {args.repeat}, seed: {args.seed}, "
        f"garbage collector during timing: {'off' if args.gc_off else 'on'}",
        "",
        "| plugins | mix | decide, warm memo (µs) | decide, cold memo (µs) "
        "| decide, no memo (µs) | pluggy claim (µs) "
        "| distinct memo keys | memo hit ratio, 1st pass | decided | pluggy agrees |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    out.extend(
        f"| {c.plugins} | {c.mix} | {c.cached.median_us:.2f} | {c.cold.median_us:.2f} "
        f"| {c.uncached.median_us:.2f} "
        f"| {c.pluggy.median_us:.2f} | {c.distinct_keys} | {c.hit_ratio:.1%} | {c.decided:.1%} "
        f"| {c.agreement:.1%} |"
        for c in cases
    )
    out += ["", "(median per call; min-max over passes in the JSON output)", ""]
    by = {(c.plugins, c.mix): c for c in cases}
    out += [
        "| target | variant | measured | limit | result |",
        "|---|---|---:|---:|---|",
    ]
    for c in cases:
        for label, t in (
            ("warm memo", c.cached),
            ("cold memo", c.cold),
            ("no memo", c.uncached),
        ):
            ratio = t.median_us / c.pluggy.median_us
            out.append(
                f"| decision ≤ ½ pluggy call | {label}, {c.plugins} plugins, {c.mix} mix "
                f"| {ratio:.2f}x | 0.50x | {_verdict(ratio <= 0.5)} |"
            )
        for what, label, pair, limit in (
            ("Payhelp.route(**fields)", "warm memo", c.api_warm, 0.5),
            ("Payhelp.route(**fields)", "cold memo", c.api_cold, 1.0),
            ("Router.route(fields)", "warm memo", c.fields_warm, 0.5),
            ("Router.route(fields)", "cold memo", c.fields_cold, 1.0),
        ):
            out.append(
                f"| {what} ≤ {limit:g}x pluggy call | {label}, {c.plugins} plugins, {c.mix} mix "
                f"({pair.timing.median_us:.2f} µs vs {pair.anchor.median_us:.2f} µs, passes "
                f"alternating; ratio min-max {pair.ratio_min:.2f}-{pair.ratio_max:.2f}) "
                f"| {pair.ratio:.2f}x | {limit:.2f}x | {_verdict(pair.ratio <= limit)} |"
            )
    small = by[(len(BUILTIN_IDS), "built-in")]
    for big in (c for c in cases if c.plugins > len(BUILTIN_IDS)):
        for label, a, b in (
            ("warm memo", small.cached, big.cached),
            ("cold memo", small.cold, big.cold),
            ("no memo", small.uncached, big.uncached),
            ("pluggy (for reference)", small.pluggy, big.pluggy),
        ):
            growth = b.median_us / a.median_us
            verdict = _verdict(growth <= 2.0) if "pluggy" not in label else "-"
            out.append(
                f"| 6 → {big.plugins} plugins ≤ 2x | {label}, {big.mix} mix vs 6 built-in "
                f"| {growth:.2f}x | 2.00x | {verdict} |"
            )
    return out


def profile_decide(ph: Payhelp, txs: Sequence[Transaction], top: int, *, memo: bool) -> None:
    """cProfile ``decide`` over the mix (warm memo, or none) and print the heaviest functions."""
    router = Router(processor_infos(ph)) if memo else Router(processor_infos(ph), cache_size=0)
    for tx in txs:
        router.decide(tx)  # warm the memo (and the interpreter) outside the profile
    profiler = cProfile.Profile()
    profiler.enable()
    for tx in txs:
        router.decide(tx)
    profiler.disable()
    what = "warm memo" if memo else "no memo"
    print(f"\n-- cProfile of decide, {what}, {len(router.processor_ids)} plugins, {len(txs)} calls")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--transactions", type=int, default=10_000, help="mix size (10000)")
    parser.add_argument("--repeat", type=int, default=9, help="timed passes per figure (9)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the mix (2026)")
    parser.add_argument("--plugins", type=int, default=100, help="the large plugin count (100)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--profile", action="store_true", help="also cProfile decide()")
    parser.add_argument(
        "--gc-off", action="store_true", help="disable the garbage collector while timing"
    )
    args = parser.parse_args(argv)
    global COLLECT  # noqa: PLW0603 - one switch for the whole run
    COLLECT = not args.gc_off

    env = machine()
    for key, value in env.items():
        print(f"{key}: {value}")

    cases: list[Case] = []
    small_ph = payhelp_with(len(BUILTIN_IDS))
    small_infos = processor_infos(small_ph)
    builtin_txs = TransactionMix.builtin(small_infos).transactions(args.transactions, args.seed)
    cases.append(run_case("built-in", builtin_txs, small_ph, args.repeat))

    big_ph = payhelp_with(args.plugins)
    big_infos = processor_infos(big_ph)
    cases.append(run_case("built-in", builtin_txs, big_ph, args.repeat))
    spread_txs = TransactionMix.spread(big_infos).transactions(args.transactions, args.seed + 1)
    fresh = payhelp_with(args.plugins)  # a router whose memo has not seen the built-in mix
    cases.append(run_case("spread", spread_txs, fresh, args.repeat))

    print()
    print("\n".join(report(cases, args)))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload: dict[str, Any] = {
            "machine": env,
            "args": {k: str(v) for k, v in vars(args).items()},
            "cases": [asdict(c) for c in cases],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    if args.profile:
        for memo in (False, True):
            profile_decide(small_ph, builtin_txs, 20, memo=memo)
            profile_decide(big_ph, spread_txs, 20, memo=memo)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
