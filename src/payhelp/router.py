"""Deciding which processor handled a transaction.

Evidence, strongest first: the processor named explicitly; the shape of a reference number; a
word on the card statement; then what the product and the customer's region suggest. Every
plugin's rules are compiled once into indexes, so a decision looks up only the processors that the
evidence points at instead of asking every plugin in turn; the cost hardly grows with the number
of plugins.

The router never guesses silently: when the best two candidates are too close, or nothing strong
enough points anywhere, the decision is ``ambiguous`` and names no processor, while still ranking
the candidates with their reasons.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from payhelp.errors import UnknownProcessorError
from payhelp.geo import Region, region_of
from payhelp.models import (
    IdFormat,
    IdKind,
    ProcessorInfo,
    ProductKind,
    RouteCandidate,
    RouteDecision,
    SubscriptionPeriod,
    Transaction,
)


@dataclass(frozen=True)
class Weights:
    """How much each kind of evidence counts. The defaults keep the evidence order strict:
    an explicit processor beats everything; a statement word beats an id shape; an id with a
    prefix beats a bare run of digits; product and region only break ties."""

    explicit: int = 1000
    descriptor: int = 60
    specific_id: int = 50
    generic_id: int = 25
    recommended_product: int = 15
    serves_region: int = 5
    outside_region: int = -20
    #: The smallest lead over the runner-up that makes a decision.
    margin: int = 10
    #: The smallest score that makes a decision at all.
    threshold: int = 20


_TOKENS = re.compile(r"[A-Z0-9]+")
_CHARSETS = {
    "digits": re.compile(r"[0-9]+"),
    "hex": re.compile(r"[0-9A-Fa-f]+"),
    "alnum": re.compile(r"[0-9A-Za-z]+"),
}
_ProductKey = tuple[ProductKind, SubscriptionPeriod | None] | None
_Entry = tuple[int, str, tuple[str, ...]]  # (score, processor id, reasons)
_Evidence = tuple[str, int, str]  # (processor id, points, reason)


def _product_keys() -> list[_ProductKey]:
    keys: list[_ProductKey] = [None]
    keys.extend((kind, None) for kind in ProductKind)
    keys.extend((ProductKind.SUBSCRIPTION, period) for period in SubscriptionPeriod)
    return keys


class Router:
    """A compiled set of routing rules. Build it once per set of processors; it is immutable and
    safe to share between threads.

    Decisions are memoised on (region, product, evidence) in an LRU of ``cache_size`` entries;
    the evidence is drawn from a finite set, so the cache holds answers, not transactions.
    """

    def __init__(
        self,
        processors: Iterable[ProcessorInfo],
        *,
        weights: Weights | None = None,
        max_candidates: int = 6,
        cache_size: int = 4096,
    ) -> None:
        self.weights = weights or Weights()
        self.max_candidates = max_candidates
        self._processors = {p.id: p for p in processors}
        self._ids: dict[tuple[IdKind, str, int], list[tuple[str, re.Pattern[str], bool, str]]] = (
            defaultdict(list)
        )
        prefix_lengths: set[int] = set()
        self._words: dict[str, list[str]] = defaultdict(list)
        for info in self._processors.values():
            for fmt in info.id_formats:
                prefix_lengths.add(len(fmt.prefix))
                self._index_id(info.id, fmt)
            for hint in info.descriptors:
                if info.id not in self._words[hint.keyword]:
                    self._words[hint.keyword].append(info.id)
        self._prefix_lengths = tuple(sorted(prefix_lengths))
        self._decide_cached = lru_cache(maxsize=cache_size)(self._decide)
        self._base: dict[
            tuple[Region | None, _ProductKey], tuple[list[_Entry], dict[str, _Entry]]
        ] = {
            (region, product): self._rank_base(region, product)
            for region in (*Region, None)
            for product in _product_keys()
        }

    # -- compilation -----------------------------------------------------------------------

    def _index_id(self, processor: str, fmt: IdFormat) -> None:
        entry = (processor, _CHARSETS[fmt.charset], fmt.specific, fmt.label)
        for length in range(fmt.min_length, fmt.max_length + 1):
            self._ids[(fmt.kind, fmt.prefix.upper(), len(fmt.prefix) + length)].append(entry)

    def _rank_base(
        self, region: Region | None, product: _ProductKey
    ) -> tuple[list[_Entry], dict[str, _Entry]]:
        w = self.weights
        ranked: list[_Entry] = []
        for info in self._processors.values():
            score = 0
            reasons: list[str] = []
            if region is not None:
                if region in info.regions:
                    score += w.serves_region
                    reasons.append(f"takes payments in the {region.value.upper()} region")
                else:
                    score += w.outside_region
                    reasons.append(f"does not take payments in the {region.value.upper()} region")
            if product is not None:
                for rule in info.recommended_for:
                    if rule.kind is product[0] and rule.period in (None, product[1]):
                        score += w.recommended_product
                        reasons.append(f"recommended for this product: {rule.note}")
                        break
            if info.share_hint:
                score += info.share_hint
                reasons.append(f"prior: handles a large share of transactions (+{info.share_hint})")
            ranked.append((score, info.id, tuple(reasons)))
        ranked.sort(key=lambda e: (-e[0], e[1]))
        return ranked, {entry[1]: entry for entry in ranked}

    # -- decisions ---------------------------------------------------------------------------

    @property
    def processor_ids(self) -> Sequence[str]:
        """Ids of the processors this router knows."""
        return tuple(self._processors)

    def _signature(self, tx: Transaction) -> tuple[_Evidence, ...]:
        """The evidence in ``tx`` as ``(processor, points, reason)`` items, in a fixed order.

        It is drawn from a finite set (named processors, id-shape labels, statement words), so
        decisions can be memoised on it: the same evidence always gives the same answer.
        """
        found: list[_Evidence] = []
        if tx.processor is not None:
            if tx.processor not in self._processors:
                raise UnknownProcessorError(tx.processor, list(self._processors))
            found.append((tx.processor, self.weights.explicit, "named explicitly"))
        if tx.transaction_id is not None:
            self._match_ids(IdKind.TRANSACTION, tx.transaction_id, found)
        for kind, value in tx.references.items():
            self._match_ids(kind, value, found)
        if tx.descriptor is not None:
            seen: set[str] = set()
            for word in _TOKENS.findall(tx.descriptor.upper()):
                for processor in self._words.get(word, ()):
                    if processor not in seen:
                        seen.add(processor)
                        reason = f"statement descriptor contains {word!r}"
                        found.append((processor, self.weights.descriptor, reason))
        return tuple(found)

    def _match_ids(self, kind: IdKind, value: str, found: list[_Evidence]) -> None:
        size = len(value)
        counted: set[str] = set()
        for plen in self._prefix_lengths:
            bucket = self._ids.get((kind, value[:plen].upper(), size))
            if not bucket:
                continue
            body = value[plen:]
            for processor, charset, specific, label in bucket:
                # One id counts once per processor, however many of its shapes fit.
                if processor in counted or charset.fullmatch(body) is None:
                    continue
                counted.add(processor)
                points = self.weights.specific_id if specific else self.weights.generic_id
                found.append((processor, points, f"{kind.value} id has the shape of a {label}"))

    def decide(self, tx: Transaction) -> RouteDecision:
        """Rank the processors for ``tx`` and pick one when the evidence is clear."""
        region = region_of(tx.country) if tx.country is not None else None
        product: _ProductKey = None
        if tx.product is not None:
            product = (tx.product.kind, tx.product.period)
        return self._decide_cached(region, product, self._signature(tx))

    def _decide(
        self, region: Region | None, product: _ProductKey, signature: tuple[_Evidence, ...]
    ) -> RouteDecision:
        ranked_base, base_by_id = self._base[(region, product)]
        evidence: dict[str, tuple[int, list[str]]] = {}
        for processor, points, reason in signature:
            so_far, why_so_far = evidence.get(processor, (0, []))
            evidence[processor] = (so_far + points, [*why_so_far, reason])
        limit = self.max_candidates
        # Only the best few of the precomputed ranking can end up in the answer, plus whichever
        # processors the evidence names: the work does not grow with the number of plugins.
        pool: dict[str, tuple[int, tuple[str, ...]]] = {
            pid: (score, reasons) for score, pid, reasons in ranked_base[: limit + len(evidence)]
        }
        for pid, (points, why) in evidence.items():
            score, _, reasons = base_by_id[pid]
            pool[pid] = (score + points, (*why, *reasons))
        ranked = sorted(pool.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
        candidates = tuple(
            RouteCandidate(processor=pid, score=score, reasons=reasons)
            for pid, (score, reasons) in ranked
        )
        return self._conclude(candidates, bool(evidence))

    def _conclude(
        self, candidates: tuple[RouteCandidate, ...], had_evidence: bool
    ) -> RouteDecision:
        w = self.weights
        if not candidates:
            return RouteDecision(
                processor=None, ambiguous=True, candidates=(), note="no processors are loaded"
            )
        top = candidates[0]
        runner_up = candidates[1].score if len(candidates) > 1 else None
        if top.score < w.threshold:
            note = (
                "ambiguous: no strong evidence (give the transaction id, the statement descriptor "
                "or the processor)"
                if not had_evidence
                else "ambiguous: the evidence is too weak to decide"
            )
            return RouteDecision(processor=None, ambiguous=True, candidates=candidates, note=note)
        if runner_up is not None and top.score - runner_up < w.margin:
            tied = [c.processor for c in candidates if top.score - c.score < w.margin]
            return RouteDecision(
                processor=None,
                ambiguous=True,
                candidates=candidates,
                note=f"ambiguous: {', '.join(tied)} fit the evidence equally well",
            )
        return RouteDecision(
            processor=top.processor,
            ambiguous=False,
            candidates=candidates,
            note=f"{top.processor}: {top.reasons[0]}" if top.reasons else top.processor,
        )
