"""Deciding which processor handled a transaction.

Evidence, strongest first: the processor named explicitly; an id in one of a processor's
published formats (a literal prefix makes it a format; a bare run of digits is only a weak hint);
a word on the card statement; then what the product suggests. Regions mark down processors that
do not work where the customer is, and a processor's prior share breaks ties, but neither counts
as evidence: they never make a decision on their own.

Every plugin's rules are compiled once into indexes, so a decision looks up only the processors
that the evidence points at instead of asking every plugin in turn; the cost hardly grows with the
number of plugins. The router never guesses silently: when the evidence is weak, or the best two
candidates are too close, the decision is ``ambiguous`` and names no processor, while still
ranking the candidates with their reasons.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import ValidationError

from payhelp import route_fields
from payhelp._base import invalid_input, normalize_text
from payhelp.errors import InvalidInputError, UnknownProcessorError
from payhelp.geo import Region, region_of
from payhelp.models import (
    CHARSET_PATTERNS,
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
    """How much each kind of evidence counts, and what it takes to decide."""

    explicit: int = 1000
    specific_id: int = 60
    descriptor: int = 50
    generic_id: int = 25
    recommended_product: int = 15
    serves_region: int = 5
    outside_region: int = -20
    #: The smallest lead over the runner-up that makes a decision.
    margin: int = 10
    #: The evidence (named processor, id, statement word, product) a decision needs at least;
    #: above one bare id shape, so a run of digits alone never decides.
    threshold: int = 30


_TOKENS = re.compile(r"[A-Z0-9]+")
#: At most this many evidence-bearing candidates are kept for reuse.
_EVIDENCE_CACHE = 65_536
#: At most this many statement lines' words are kept for reuse (then all are forgotten).
_DESCRIPTOR_CACHE = 1024
_ProductKey = tuple[ProductKind, SubscriptionPeriod | None] | None
#: A processor in a ranking: (-score, id, candidate, strength), where strength counts only what
#: may decide (named processor, ids, statement words, the product rule), not region or prior. The
#: score is negated so that a plain sort ranks best first, ties by id (ids are unique in a
#: ranking, so the candidates themselves are never compared).
_Entry = tuple[int, str, RouteCandidate, int]
#: One piece of evidence: (processor id, points, reason).
_Evidence = tuple[str, int, str]
#: An indexed id shape: (processor id, character-set pattern, points, reason).
_Shape = tuple[str, re.Pattern[str], int, str]


@dataclass(frozen=True)
class _Table:
    """The precomputed ranking for one (region, product)."""

    ranked: list[_Entry]
    by_id: dict[str, _Entry]
    empty: RouteDecision


_M = TypeVar("_M", RouteCandidate, RouteDecision)
_set = object.__setattr__


def _assemble(model: type[_M], **values: object) -> _M:
    """A candidate or decision from parts the router has checked already (processor ids of
    validated ``ProcessorInfo``, its own reasons and scores), without validating them again:
    what ``model_construct`` does, at a third of its cost. Equal to the validated object."""
    made = model.__new__(model)
    _set(made, "__dict__", values)
    _set(made, "__pydantic_fields_set__", set(values))
    _set(made, "__pydantic_extra__", None)
    _set(made, "__pydantic_private__", None)
    return made


def _product_keys() -> list[_ProductKey]:
    keys: list[_ProductKey] = [None]
    keys.extend((kind, None) for kind in ProductKind)
    keys.extend((ProductKind.SUBSCRIPTION, period) for period in SubscriptionPeriod)
    return keys


class Router:
    """A compiled set of routing rules. Build it once per set of processors; it is immutable and
    safe to share between threads.

    Decisions are memoised on (region, product, evidence) in an LRU of ``cache_size`` entries
    (about 1.5 KB each, so some 24 MB when the default 16,384 are full; 0 turns it off). The
    evidence is drawn from a finite set (named processors, id shapes, statement words), and
    :meth:`_decide` reads nothing but that key, so equal keys always deserve equal answers.
    :meth:`route` also remembers the decision for up to ``cache_size`` sets of fields as they
    were given (a few hundred bytes each, sharing the decisions), oldest dropped first, so a
    call repeating earlier fields is answered before any of them is checked again.
    """

    def __init__(
        self,
        processors: Iterable[ProcessorInfo],
        *,
        weights: Weights | None = None,
        max_candidates: int = 6,
        cache_size: int = 16_384,
    ) -> None:
        if weights is not None and not isinstance(weights, Weights):
            raise InvalidInputError("weights is a payhelp.router.Weights")
        for name, number, least in (
            ("max_candidates", max_candidates, 1),
            ("cache_size", cache_size, 0),
        ):
            if isinstance(number, bool) or not isinstance(number, int) or number < least:
                raise InvalidInputError(f"{name} is a whole number, {least} or more")
        self._weights = weights or Weights()
        self._limit = max_candidates
        self._processors = {p.id: p for p in processors}
        self._aliases = {alias: p.id for p in self._processors.values() for alias in p.aliases}
        self._shapes: dict[tuple[IdKind, str, int], list[_Shape]] = defaultdict(list)
        self._words: dict[str, list[_Evidence]] = defaultdict(list)
        prefix_lengths: set[int] = set()
        for info in self._processors.values():
            for fmt in info.id_formats:
                prefix_lengths.add(len(fmt.prefix))
                self._index_shape(info.id, fmt)
            for hint in info.descriptors:
                if all(pid != info.id for pid, _, _ in self._words[hint.keyword]):
                    reason = f"statement descriptor contains {hint.keyword!r}"
                    self._words[hint.keyword].append((info.id, self._weights.descriptor, reason))
        # Longest prefixes first: a prefixed format outranks a bare shape of the same processor.
        self._prefix_lengths = tuple(sorted(prefix_lengths, reverse=True))
        self._base = {
            (region, product): self._rank_base(region, product)
            for region in (*Region, None)
            for product in _product_keys()
        }
        # Candidates carrying evidence, by (region, product, processor, reasons): a processor's
        # evidence comes from a small set, so a few objects serve every decision needing them.
        self._evidence_candidates: dict[
            tuple[Region | None, _ProductKey, str, tuple[str, ...]], RouteCandidate
        ] = {}
        self._decide_cached = lru_cache(maxsize=cache_size)(self._decide)
        # Decisions by the fields route() was given (route_fields.memo_key), oldest dropped
        # first: a repeated call is one lookup, before any field is checked again.
        self._by_fields: dict[tuple[object, ...], RouteDecision] = {}
        self._fields_limit = cache_size
        # The words found in recent statement lines: the same few hundred lines recur (a
        # processor's word, a merchant), their phone numbers aside.
        self._descriptor_words: dict[str, tuple[_Evidence, ...]] = {}

    @property
    def weights(self) -> Weights:
        """The weights the rules were compiled with."""
        return self._weights

    @property
    def max_candidates(self) -> int:
        """How many candidates a decision lists at most."""
        return self._limit

    @property
    def processor_ids(self) -> Sequence[str]:
        """Ids of the processors this router knows."""
        return tuple(self._processors)

    # -- compilation -----------------------------------------------------------------------

    def _index_shape(self, processor: str, fmt: IdFormat) -> None:
        points = self._weights.specific_id if fmt.specific else self._weights.generic_id
        reason = f"{fmt.kind.value} id has the shape of the {fmt.label}"
        shape = (processor, CHARSET_PATTERNS[fmt.charset], points, reason)
        for length in range(fmt.min_length, fmt.max_length + 1):
            self._shapes[(fmt.kind, fmt.prefix.upper(), len(fmt.prefix) + length)].append(shape)

    def _rank_base(self, region: Region | None, product: _ProductKey) -> _Table:
        w = self._weights
        ranked: list[_Entry] = []
        for info in self._processors.values():
            score = strength = 0
            reasons: list[str] = []
            if product is not None:
                for rule in info.recommended_for:
                    if rule.kind is product[0] and rule.period in (None, product[1]):
                        score += w.recommended_product
                        strength += w.recommended_product
                        reasons.append(f"recommended for this product: {rule.note}")
                        break
            if region is not None:
                name = region.value.upper()
                if region in info.regions:
                    score += w.serves_region
                    reasons.append(f"takes payments in the {name} region")
                else:
                    score += w.outside_region
                    reasons.append(f"does not take payments in the {name} region")
            if info.share_hint:
                score += info.share_hint
                reasons.append(f"prior: handles a large share of transactions (+{info.share_hint})")
            candidate = RouteCandidate(processor=info.id, score=score, reasons=tuple(reasons))
            ranked.append((-score, info.id, candidate, strength))
        ranked.sort()
        by_id = {entry[1]: entry for entry in ranked}
        top = ranked[: self._limit]
        # With no evidence at all the answer depends on region and product only: build it now.
        empty = self._conclude(tuple(e[2] for e in top), top[0][3] if top else 0, False)
        return _Table(ranked, by_id, empty)

    # -- decisions ---------------------------------------------------------------------------

    def _signature(self, tx: Transaction) -> tuple[_Evidence, ...]:
        """The evidence in ``tx``, as ``(processor, points, reason)`` items."""
        # Evidence is compared as it reads: full-width letters and digits are the ASCII ones,
        # and invisible characters (a zero-width space inside "EPOCH") do not split a word.
        # Validated transactions are folded already; this keeps hand-built ones honest.
        refs = tx.references
        return self._evidence(
            tx.processor,
            None if tx.transaction_id is None else normalize_text(tx.transaction_id),
            # a fixed order: equal evidence, equal key
            tuple((kind, normalize_text(refs[kind])) for kind in sorted(refs)) if refs else (),
            None if tx.descriptor is None else normalize_text(tx.descriptor),
        )

    def _evidence(
        self,
        processor: str | None,
        transaction_id: str | None,
        references: tuple[tuple[IdKind, str], ...],
        descriptor: str | None,
    ) -> tuple[_Evidence, ...]:
        """The evidence in folded fields (references sorted by kind)."""
        found: list[_Evidence] = []
        if processor is not None:
            named = self._aliases.get(processor, processor)
            if named not in self._processors:
                raise UnknownProcessorError(processor, list(self._processors))
            found.append((named, self._weights.explicit, "named explicitly"))
        if transaction_id is not None:
            self._match_ids(IdKind.TRANSACTION, transaction_id, found)
        for kind, value in references:
            self._match_ids(kind, value, found)
        if descriptor is not None:
            words = self._descriptor_words.get(descriptor)
            if words is None:
                words = self._words_in(descriptor)
                if len(self._descriptor_words) >= _DESCRIPTOR_CACHE:
                    self._descriptor_words.clear()
                self._descriptor_words[descriptor] = words
            found.extend(words)
        return tuple(found)

    def _words_in(self, descriptor: str) -> tuple[_Evidence, ...]:
        """The statement words of ``descriptor``, each processor once."""
        found: list[_Evidence] = []
        seen: set[str] = set()
        for word in _TOKENS.findall(descriptor.upper()):
            for item in self._words.get(word, ()):
                if item[0] not in seen:
                    seen.add(item[0])
                    found.append(item)
        return tuple(found)

    def _match_ids(self, kind: IdKind, value: str, found: list[_Evidence]) -> None:
        size = len(value)
        counted: set[str] = set()
        for plen in self._prefix_lengths:
            bucket = self._shapes.get((kind, value[:plen].upper(), size))
            if not bucket:
                continue
            body = value[plen:]
            for processor, charset, points, reason in bucket:
                # One id counts once per processor: its most specific fitting shape.
                if processor in counted or charset.fullmatch(body) is None:
                    continue
                counted.add(processor)
                found.append((processor, points, reason))

    def decide(self, tx: Transaction) -> RouteDecision:
        """Rank the processors for ``tx`` and pick one when the evidence is clear."""
        region = region_of(tx.country) if tx.country is not None else None
        product: _ProductKey = None
        if tx.product is not None:
            product = (tx.product.kind, tx.product.period)
        signature = self._signature(tx)
        if not signature:
            return self._base[(region, product)].empty
        return self._decide_cached(region, product, signature)

    def route(self, transaction: Transaction | Mapping[str, Any]) -> RouteDecision:
        """Decide for a :class:`Transaction`, or for the fields :meth:`Payhelp.route
        <payhelp.api.Payhelp.route>` takes (a mapping): those are validated as a
        ``Transaction`` would validate them, with the same errors
        (:class:`~payhelp.errors.InvalidInputError`,
        :class:`~payhelp.errors.CardNumberError`), but without building one where
        :mod:`payhelp.route_fields` can check them exactly, and a call repeating earlier fields
        is answered from a memo before anything is checked again."""
        if type(transaction) is not dict and isinstance(transaction, Transaction):
            return self.decide(transaction)
        decision = self.decide_fields(transaction)
        if decision is not None:
            return decision
        try:
            tx = Transaction.model_validate(transaction, strict=False)
        except ValidationError as exc:
            raise invalid_input(exc) from None
        return self.decide(tx)

    def decide_fields(
        self, fields: Mapping[str, Any], *, remember: bool = True
    ) -> RouteDecision | None:
        """The decision for ``fields`` (the names of :class:`Transaction`) when they can be
        checked without the model, else ``None``: then only validating the model can tell
        whether they are valid (it may refuse them). Raises
        :class:`~payhelp.errors.UnknownProcessorError` as :meth:`decide` does. Without
        ``remember`` the fields are neither looked up in nor added to the memo of fields (a
        stream of distinct transactions would only fill it)."""
        by_fields = self._by_fields
        key = route_fields.memo_key(fields) if remember else None
        if key is not None:
            found = by_fields.get(key)
            if found is not None:
                return found
        checked = route_fields.check(fields)
        if checked is None:
            return None
        processor, transaction_id, references, descriptor, product, country = checked
        region = region_of(country) if country is not None else None
        signature = self._evidence(processor, transaction_id, references, descriptor)
        if signature:
            decision = self._decide_cached(region, product, signature)
        else:
            decision = self._base[(region, product)].empty
        if key is not None and self._fields_limit:
            if len(by_fields) >= self._fields_limit:
                # Another thread may be dropping the same oldest entry, or adding one.
                with suppress(KeyError, RuntimeError, StopIteration):
                    del by_fields[next(iter(by_fields))]
            by_fields[key] = decision
        return decision

    def _decide(
        self, region: Region | None, product: _ProductKey, signature: tuple[_Evidence, ...]
    ) -> RouteDecision:
        table = self._base[(region, product)]
        evidence: dict[str, tuple[int, tuple[str, ...]]] = {}
        for processor, points, reason in signature:
            so_far, why = evidence.get(processor, (0, ()))
            evidence[processor] = (so_far + points, (*why, reason))
        # Only the best few of the precomputed ranking can end up in the answer, plus whichever
        # processors the evidence names: the work does not grow with the number of plugins, and
        # candidates without evidence are the ones built when the rules were compiled.
        pool = [e for e in table.ranked[: self._limit + len(evidence)] if e[1] not in evidence]
        cache = self._evidence_candidates
        for pid, (points, why) in evidence.items():
            rank, _, base, strength = table.by_id[pid]
            key = (region, product, pid, why)
            candidate = cache.get(key)
            if candidate is None:
                candidate = _assemble(
                    RouteCandidate,
                    processor=pid,
                    score=points - rank,
                    reasons=(*why, *base.reasons),
                )
                if len(cache) < _EVIDENCE_CACHE:
                    cache[key] = candidate
            pool.append((rank - points, pid, candidate, strength + points))
        pool.sort()
        del pool[self._limit :]
        return self._conclude(tuple(e[2] for e in pool), pool[0][3], True)

    def _conclude(
        self, candidates: tuple[RouteCandidate, ...], strength: int, had_evidence: bool
    ) -> RouteDecision:
        w = self._weights
        if not candidates:
            return _assemble(
                RouteDecision,
                processor=None,
                ambiguous=True,
                candidates=(),
                note="no processors are loaded",
            )
        top = candidates[0]
        if strength < w.threshold:
            note = (
                "ambiguous: the evidence is too weak to decide (a bare id shape or a product alone "
                "is not enough; give the statement descriptor or the processor)"
                if had_evidence or strength
                else "ambiguous: no evidence (give the transaction id, the statement descriptor "
                "or the processor)"
            )
            return _assemble(
                RouteDecision, processor=None, ambiguous=True, candidates=candidates, note=note
            )
        if len(candidates) > 1 and top.score - candidates[1].score < w.margin:
            tied = [c.processor for c in candidates if top.score - c.score < w.margin]
            return _assemble(
                RouteDecision,
                processor=None,
                ambiguous=True,
                candidates=candidates,
                note=f"ambiguous: {', '.join(tied)} fit the evidence equally well",
            )
        return _assemble(
            RouteDecision,
            processor=top.processor,
            ambiguous=False,
            candidates=candidates,
            note=f"{top.processor}: {top.reasons[0]}",
        )
