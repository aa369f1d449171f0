"""The shared workload of the routing benchmarks.

* the six built-in processors (loaded through their entry points, as a user gets them) and
  synthetic ones with distinct id shapes and statement words, registered as plugin objects;
* a seeded, deterministic mix of realistic transactions built from the processors' own id shapes
  and descriptor words, as JSON-ready dicts (the batch file) or validated ``Transaction`` objects;
* a description of the machine, for the report.

Nothing here imports ``tests``: the synthetic processors follow the idea of ``tests/conftest.py``
(``make_info``, ``digits``, ``SyntheticPlugin``) but are built for scale.
"""

from __future__ import annotations

import json
import os
import platform
import random
import string
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from payhelp import (
    Capabilities,
    ChannelKind,
    ChannelRoute,
    Confidence,
    ContactChannel,
    ContactDirectory,
    DescriptorHint,
    IdFormat,
    IdKind,
    Payhelp,
    ProcessorInfo,
    ProductKind,
    ProductRule,
    Provenance,
    Region,
    RouteStep,
    SubscriptionPeriod,
    Transaction,
    hookimpl,
)
from payhelp.hookspecs import RegisterProcessor
from payhelp.models import Charset
from payhelp.redact import find_card_number

#: The six processors installed with the workspace.
BUILTIN_IDS = ("centrobill", "epoch", "paymentico", "segpay", "webbilling", "wtseticket")

#: How often each built-in processor is behind a transaction in the mix. Paymentico handles the
#: largest share (its ``share_hint`` says so); the others split the rest.
BUILTIN_WEIGHTS: Mapping[str, float] = {
    "paymentico": 0.40,
    "segpay": 0.15,
    "epoch": 0.15,
    "centrobill": 0.12,
    "wtseticket": 0.10,
    "webbilling": 0.08,
}

_PROV = (
    Provenance(
        source="benchmark fixture", confidence=Confidence.SINGLE, checked_on=date(2026, 11, 22)
    ),
)

# -- processors ---------------------------------------------------------------------------------


class SyntheticPlugin:
    """A plugin object that registers one synthetic processor."""

    def __init__(self, info: ProcessorInfo) -> None:
        self.info = info
        self.directory = _directory(info.id)

    @hookimpl
    def payhelp_register_processors(self, register: RegisterProcessor) -> None:
        """Register the processor."""
        register(self.info, self.directory)


def _directory(pid: str) -> ContactDirectory:
    return ContactDirectory(
        channels={
            "email": ContactChannel(
                kind=ChannelKind.EMAIL, value=f"help@{pid}.example.com", provenance=_PROV
            )
        },
        routes=(ChannelRoute(steps=(RouteStep(channel="email", reason="write to support"),)),),
    )


_SYLLABLES = (
    "ka", "lo", "mi", "zu", "re", "ta", "vo", "ne", "xi", "po", "ru", "sa", "de", "fi", "gu",
    "ho", "ja", "ko", "la", "mu", "no", "pe", "qi", "ri", "si", "to", "ve", "wa", "yo", "ze",
)  # fmt: skip
_WORD_ENDINGS = ("PAY", "BILL", "CASH", "CHARGE", "FUND", "NET", "SAFE", "GATE")
_ALL_KINDS = tuple(IdKind)


def _unique_word(rng: random.Random, taken: set[str]) -> str:
    while True:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).upper()
        word += rng.choice(_WORD_ENDINGS)
        if word not in taken:
            taken.add(word)
            return word


def _id_format(
    kind: IdKind, label: str, charset: Charset, lo: int, hi: int, prefix: str = ""
) -> IdFormat:
    return IdFormat(
        kind=kind,
        label=label,
        prefix=prefix,
        charset=charset,
        min_length=lo,
        max_length=hi,
        example=prefix + "1" * lo,
        provenance=_PROV,
    )


def synthetic_processors(
    count: int, *, seed: int = 94, taken_words: Iterable[str] = ()
) -> list[ProcessorInfo]:
    """``count`` processors with distinct id shapes and statement words, in thirds:

    * prefixed ids (two or three letters, then 6-18 digits, hex or alphanumerics);
    * bare runs of digits, 5-24 long, in narrow length ranges;
    * bare hex or alphanumeric runs, 8-34 long.

    Kinds rotate over transaction, member, purchase, order and subscription ids; every fourth
    processor has a second, bare shape of another kind. Each has one or two words of its own,
    a random set of regions, and every tenth is recommended for some product.
    """
    rng = random.Random(seed)
    words: set[str] = set(taken_words)
    shapes: set[tuple[IdKind, str, str, int, int]] = set()
    prefixes: set[str] = set()
    infos: list[ProcessorInfo] = []

    def new_shape(i: int, style: int, kind: IdKind) -> IdFormat:
        while True:
            prefix = ""
            charset: Charset
            if style == 0:
                while not prefix or prefix in prefixes:
                    prefix = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(2, 3)))
                charset = rng.choice(("digits", "alnum", "hex"))
                lo = rng.randint(6, 14)
                hi = lo + rng.randint(0, 4)
            elif style == 1:
                charset = "digits"
                lo = rng.randint(5, 22)
                hi = lo + rng.randint(0, 2)
            else:
                charset = rng.choice(("alnum", "hex"))
                lo = rng.randint(8, 32)
                hi = lo + rng.randint(0, 2)
            key = (kind, prefix, charset, lo, hi)
            if key not in shapes:
                shapes.add(key)
                prefixes.add(prefix)
                label = f"Synth {i:03d} {kind.value} id"
                return _id_format(kind, label, charset, lo, hi, prefix)

    for i in range(count):
        pid = f"synth{i:03d}"
        kind = _ALL_KINDS[i % len(_ALL_KINDS)]
        formats = [new_shape(i, i % 3, kind)]
        if i % 4 == 0:
            formats.append(new_shape(i, 1 + i % 2, _ALL_KINDS[(i + 2) % len(_ALL_KINDS)]))
        keywords = [_unique_word(rng, words) for _ in range(1 + (i % 5 == 0))]
        regions = tuple(r for r in Region if rng.random() < 0.7) or (Region.ROW,)
        recommended: tuple[ProductRule, ...] = ()
        if i % 10 == 0:
            recommended = (
                ProductRule(
                    kind=rng.choice(tuple(ProductKind)),
                    note=f"{pid} specialises in this product",
                ),
            )
        infos.append(
            ProcessorInfo(
                id=pid,
                name=f"Synth {i:03d}",
                website=f"https://{pid}.example.com/",  # type: ignore[arg-type]
                regions=regions,
                recommended_for=recommended,
                id_formats=tuple(formats),
                descriptors=tuple(
                    DescriptorHint(keyword=w, example=f"{w}*SHOP", provenance=_PROV)
                    for w in keywords
                ),
                capabilities=Capabilities(self_service_lookup=True),
            )
        )
    return infos


def payhelp_with(plugins: int) -> Payhelp:
    """A :class:`Payhelp` with the six installed plugins plus ``plugins - 6`` synthetic ones,
    registered through the plugin manager like any in-house plugin."""
    base = Payhelp()
    extra = plugins - len(BUILTIN_IDS)
    if extra <= 0:
        return base
    taken = {d.keyword for p in base.processors() for d in p.descriptors}
    synthetic = synthetic_processors(extra, taken_words=taken)
    ph = Payhelp(plugins=[(info.id, SyntheticPlugin(info)) for info in synthetic])
    if len(ph.processors()) != plugins:
        raise RuntimeError(f"expected {plugins} processors, got {len(ph.processors())}")
    return ph


def processor_infos(ph: Payhelp) -> list[ProcessorInfo]:
    """The processors in registration order (the order ``Payhelp.router`` compiles them in)."""
    return [entry.info for entry in ph.host.processors().values()]


# -- transactions -------------------------------------------------------------------------------

_MERCHANTS = (
    "LIVESODA", "FLRT INC", "CAMSHOP", "MODELHUB", "FANVAULT", "CLIPSTORE", "STARLOUNGE",
    "NIGHTCHAT", "PIXELCLUB", "VIPACCESS", "Technius", "ICFTECHNOL", "LUXSTREAM", "DREAMCAMS",
)  # fmt: skip
_UNKNOWN = ("SQ *", "PP*", "AMZN MKTP ", "GOOGLE *", "APPLE.COM/BILL ", "NETFLIX.COM ")
#: Customers' countries, weighted roughly like an adult-platform audience.
_COUNTRIES = (
    ("US", 30), ("GB", 9), ("DE", 8), ("CA", 5), ("FR", 5), ("IT", 4), ("ES", 4), ("NL", 3),
    ("PL", 2), ("SE", 2), ("AU", 4), ("BR", 4), ("MX", 3), ("JP", 2), ("IN", 3), ("ZA", 1),
    ("CH", 2), ("NO", 1), ("IE", 1), ("AT", 1), ("RO", 1), ("PH", 2), ("AR", 1), ("TR", 1),
)  # fmt: skip
_CURRENCY = {"US": "USD", "GB": "GBP", "CA": "CAD", "AU": "AUD", "CH": "CHF", "JP": "JPY"}
_EURO = {"DE", "FR", "IT", "ES", "NL", "IE", "AT"}
_PRODUCTS = (
    (ProductKind.TOKEN_PURCHASE, 35),
    (ProductKind.SUBSCRIPTION, 35),
    (ProductKind.TIP, 10),
    (ProductKind.PRIVATE_SHOW, 8),
    (ProductKind.STATIC_CONTENT, 7),
    (ProductKind.OTHER, 5),
)
_EPOCH_START = datetime(2026, 1, 1, tzinfo=UTC)


def _phone(rng: random.Random) -> str:
    area = rng.choice(("800", "866", "888", "877"))
    return f"{area}-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"


def _id_value(rng: random.Random, fmt: IdFormat) -> str:
    # Real ids sit near the top of a wide range (an Epoch id is rarely one digit long).
    length = rng.randint(max(fmt.min_length, fmt.max_length - 3), fmt.max_length)
    if fmt.charset == "digits":
        body = rng.choice("123456789") + "".join(rng.choices(string.digits, k=length - 1))
    elif fmt.charset == "hex":
        body = "".join(rng.choices("0123456789abcdef", k=length))
    else:
        body = "".join(rng.choices(string.ascii_uppercase + string.digits, k=length))
    value = fmt.prefix + body
    # payhelp refuses an id that holds a card number (a Luhn-valid run of 13-19 digits), as a
    # platform's real ids never do: draw again rather than build a mix it would refuse.
    return value if find_card_number(value) is None else _id_value(rng, fmt)


def _descriptor(rng: random.Random, keyword: str) -> str:
    word = keyword if rng.random() < 0.8 else keyword.capitalize()
    merchant = rng.choice(_MERCHANTS)
    style = rng.randrange(5)
    if style == 0:
        return f"{word}.COM*{merchant}"
    if style == 1:
        return f"{word}*{merchant}"
    if style == 2:
        return f"{word}.com {_phone(rng)}"
    if style == 3:
        return f"{merchant} VIA {word} {_phone(rng)}"
    return f"{word}.COM*{merchant} {rng.choice(('NL', 'CY', 'US', 'GB', 'MT'))}"


class TransactionMix:
    """A seeded stream of realistic transactions as JSON-ready dicts.

    Per transaction: 4% only a country; 3% an unknown statement line (no processor's word);
    3% the processor named explicitly; otherwise a processor drawn by weight, with an id of one
    of its shapes (65%) and/or its statement word with a merchant suffix (55%, at least one of
    the two when it has any). Then a product (60%), the country (92%), an amount (40%), a
    purchase time (30%), the card's last four digits (25%).
    """

    def __init__(self, processors: Sequence[ProcessorInfo], weights: Mapping[str, float]) -> None:
        by_id = {p.id: p for p in processors}
        self.processors = [by_id[pid] for pid in weights]
        self.weights = list(weights.values())
        self.countries = [c for c, _ in _COUNTRIES]
        self.country_weights = [w for _, w in _COUNTRIES]

    @classmethod
    def builtin(cls, processors: Sequence[ProcessorInfo]) -> TransactionMix:
        """Transactions of the six built-in processors only."""
        return cls(processors, BUILTIN_WEIGHTS)

    @classmethod
    def spread(cls, processors: Sequence[ProcessorInfo]) -> TransactionMix:
        """Half the transactions from the built-in processors (by their weights), half spread
        evenly over every other processor."""
        others = [p.id for p in processors if p.id not in BUILTIN_WEIGHTS]
        weights = {pid: w / 2 for pid, w in BUILTIN_WEIGHTS.items()}
        weights.update({pid: 0.5 / len(others) for pid in others})
        return cls(processors, weights)

    def one(self, rng: random.Random) -> dict[str, Any]:
        """One transaction."""
        tx: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.04:
            return {"country": rng.choices(self.countries, self.country_weights)[0]}
        info = rng.choices(self.processors, self.weights)[0]
        if roll < 0.07:
            tx["descriptor"] = f"{rng.choice(_UNKNOWN)}{rng.choice(_MERCHANTS)} {_phone(rng)}"
        elif roll < 0.10:
            tx["processor"] = info.id
        else:
            self._evidence(rng, info, tx)
        if rng.random() < 0.60:
            kind = rng.choices([k for k, _ in _PRODUCTS], [w for _, w in _PRODUCTS])[0]
            product: dict[str, str] = {"kind": kind.value}
            if kind is ProductKind.SUBSCRIPTION and rng.random() < 0.8:
                product["period"] = rng.choice(tuple(SubscriptionPeriod)).value
            tx["product"] = product
        country: str | None = None
        if rng.random() < 0.92:
            country = rng.choices(self.countries, self.country_weights)[0]
            tx["country"] = country
        if rng.random() < 0.40:
            currency = _CURRENCY.get(country or "US", "EUR" if country in _EURO else "USD")
            tx["amount"] = {"amount": f"{rng.randint(1, 20000) / 100:.2f}", "currency": currency}
        if rng.random() < 0.30:
            when = _EPOCH_START + timedelta(seconds=rng.randint(0, 320 * 86400))
            tx["purchased_at"] = when.isoformat()
        if rng.random() < 0.25:
            tx["card_last4"] = f"{rng.randint(0, 9999):04d}"
        return tx

    def _evidence(self, rng: random.Random, info: ProcessorInfo, tx: dict[str, Any]) -> None:
        formats = info.id_formats
        words = [d.keyword for d in info.descriptors]
        use_id = bool(formats) and rng.random() < 0.65
        use_word = bool(words) and rng.random() < 0.55
        if not use_id and not use_word:
            use_id = bool(formats) and (not words or rng.random() < 0.5)
            use_word = not use_id and bool(words)
        if use_id:
            fmt = rng.choice(formats)
            value = _id_value(rng, fmt)
            if fmt.kind is IdKind.TRANSACTION:
                tx["transaction_id"] = value
            else:
                tx["references"] = {fmt.kind.value: value}
        if use_word:
            tx["descriptor"] = _descriptor(rng, rng.choice(words))

    def dicts(self, count: int, seed: int) -> list[dict[str, Any]]:
        """``count`` transactions from a generator seeded with ``seed``."""
        rng = random.Random(seed)
        return [self.one(rng) for _ in range(count)]

    def transactions(self, count: int, seed: int) -> list[Transaction]:
        """``count`` validated transactions (validated here, so routing costs exclude it)."""
        return [Transaction.model_validate_json(json.dumps(d)) for d in self.dicts(count, seed)]


#: Lines that cannot be routed, in the ways real files go wrong. Each becomes an error line.
MALFORMED = (
    "this is not json",
    '{"transaction_id": "1418464163", "country": "U',
    '{"transaction_id": "139630889", "country": "XX"}',
    '{"descriptor": "EPOCH.COM*LIVESODA", "card_last4": "4111111111111111"}',
    '{"transaction_id": "", "country": "US"}',
    '{"txn": "139630889", "country": "US"}',
    '{"processor": "nosuchpay", "country": "DE"}',
    '{"product": {"kind": "tip", "period": "monthly"}, "country": "FR"}',
    "[1, 2, 3]",
)


def batch_lines(
    processors: Sequence[ProcessorInfo], count: int, seed: int, malformed: float = 0.001
) -> Iterator[str]:
    """The lines of a batch file (without newlines): each valid line carries ``ref``; a
    ``malformed`` fraction of lines is broken in one of the :data:`MALFORMED` ways. With only
    the built-in processors the mix is :meth:`TransactionMix.builtin`, else
    :meth:`TransactionMix.spread`."""
    rng = random.Random(seed)
    if len(processors) > len(BUILTIN_IDS):
        mix = TransactionMix.spread(processors)
    else:
        mix = TransactionMix.builtin(processors)
    for number in range(1, count + 1):
        if rng.random() < malformed:
            yield rng.choice(MALFORMED)
            continue
        yield json.dumps({"ref": f"r{number:07d}", **mix.one(rng)})


def write_batch(
    path: Path, processors: Sequence[ProcessorInfo], count: int, seed: int
) -> tuple[int, int]:
    """Write a batch file; return (lines, malformed lines)."""
    bad = set(MALFORMED)
    broken = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for line in batch_lines(processors, count, seed):
            broken += line in bad
            out.write(line + "\n")
    tmp.replace(path)
    return count, broken


# -- the machine --------------------------------------------------------------------------------


def _commit() -> str:
    """The checked-out commit, and whether the code under measurement has local changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src", "plugins"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with local changes in src/ or plugins/" if dirty else "")


def machine() -> dict[str, str]:
    """CPU model, cores, OS, Python, the versions that matter and the commit measured."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} logical, {usable} usable",
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "versions": ", ".join(
            f"{name} {version(name)}" for name in ("payhelp", "pydantic", "pydantic-core", "pluggy")
        ),
        "commit": _commit(),
    }


#: The children's environment: by default with Python's bytecode cache on, in a directory of
#: its own (``PYTHONPYCACHEPREFIX``) filled by an untimed first run, as an installed package has
#: it; ``--no-bytecode`` measures every module compiled from source at every start instead
#: (``PYTHONDONTWRITEBYTECODE`` and no cache, as in a checkout where writing ``.pyc`` is off).
ENV: dict[str, str] = dict(os.environ)


def set_bytecode(on: bool) -> str:
    """Set :data:`ENV` for a run with the bytecode cache on or off; what the report says."""
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    ENV.pop("PYTHONPYCACHEPREFIX", None)
    if not on:
        ENV["PYTHONDONTWRITEBYTECODE"] = "1"
        return "no bytecode cache: every module compiled at every start"
    ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="payhelp-bench-pycache-")
    return "bytecode cache on (filled by an untimed first run)"
