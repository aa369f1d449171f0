"""The async surface: :class:`AsyncPayhelp`, every method of :class:`~payhelp.api.Payhelp`
awaitable, with the same parameters (``tests/test_api_surface.py`` holds them equal).

Lookups and submissions await their I/O on the adapters' async clients; the submission store
and the plugin check run in a worker thread; routing, contact plans and policy answers are pure
computation and run inline. Batch methods are async iterators that let other tasks run every
thousand lines.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from payhelp.cases import DisputeRequest, LookupQuery, LookupResult, SubmissionReceipt
from payhelp.channels import ContactDirectory, ContactPlan
from payhelp.config import Settings
from payhelp.i18n import Language
from payhelp.models import ProcessorInfo, RouteDecision, Transaction
from payhelp.plugins import PluginHost, PluginRecord
from payhelp.policies.advice import DeclineAdvice
from payhelp.policies.declines import AdviceTable, DeclineScheme, Network, RetryCap
from payhelp.policies.dunning import Clock, Dunning, DunningPlan, system_clock
from payhelp.policies.refunds import RefundDecision, RefundFacts, RefundPolicy
from payhelp.router import Router, Weights

if TYPE_CHECKING:
    # Annotations only: the HTTP layer, the sandboxes and the store load where they are used.
    from payhelp.adapters import ApiAdapter
    from payhelp.api import Payhelp
    from payhelp.batch import ErrorCallback
    from payhelp.notifications import ReceiveOutcome
    from payhelp.receiving import EventCallback
    from payhelp.reconcile import Reconciled
    from payhelp.sandbox import Behaviour
    from payhelp.shared import SharedState
    from payhelp.store import EventRecord, SubmissionRecord
    from payhelp.submissions import Channel


async def _paced(stream: Iterator[str]) -> AsyncIterator[str]:
    """``stream``'s lines, letting other tasks run every thousand lines of a long stream."""
    for count, line in enumerate(stream, start=1):
        yield line
        if count % 1000 == 0:
            await asyncio.sleep(0)


class AsyncPayhelp:
    """The async twin of :class:`~payhelp.api.Payhelp`: the same constructor, properties and
    methods, awaitable (``close`` is :meth:`aclose`, ``with`` is ``async with``). The
    :class:`~payhelp.api.Payhelp` it runs on is :attr:`sync`.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        config: str | os.PathLike[str] | None = None,
        plugins: Iterable[tuple[str, object]] = (),
        load_entry_points: bool = True,
        weights: Weights | None = None,
        route_cache_size: int = 16_384,
        sandbox: bool = False,
        sandbox_behaviour: Behaviour | None = None,
        on_event: EventCallback | Iterable[EventCallback] | None = None,
        **overrides: Any,
    ) -> None:
        from payhelp.api import Payhelp  # noqa: PLC0415 - api re-exports this module's class

        #: The blocking object every call runs on.
        self.sync: Payhelp = Payhelp(
            settings,
            config=config,
            plugins=plugins,
            load_entry_points=load_entry_points,
            weights=weights,
            route_cache_size=route_cache_size,
            sandbox=sandbox,
            sandbox_behaviour=sandbox_behaviour,
            on_event=on_event,
            **overrides,
        )

    @classmethod
    def from_config(cls, path: str | os.PathLike[str], **overrides: Any) -> AsyncPayhelp:
        """Build from a TOML file; keyword arguments win over the file and the environment."""
        return cls(config=path, **overrides)

    # -- what the configuration resolved to -------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The settings in force."""
        return self.sync.settings

    @property
    def host(self) -> PluginHost:
        """The loaded plugins."""
        return self.sync.host

    @property
    def refund_policy(self) -> RefundPolicy:
        """The refund policy with the platform's changes."""
        return self.sync.refund_policy

    @property
    def sandbox(self) -> bool:
        """Whether lookups and submissions go to the processors' sandboxes by default."""
        return self.sync.sandbox

    @property
    def sandbox_behaviour(self) -> Behaviour:
        """Latency, error rate and rate limit of the in-process sandboxes."""
        return self.sync.sandbox_behaviour

    @property
    def language(self) -> Language:
        """The language used when a call names none."""
        return self.sync.language

    @property
    def shared(self) -> SharedState | None:
        """The Redis every worker shares (``redis_url``), or ``None``."""
        return self.sync.shared

    @property
    def router(self) -> Router:
        """The compiled routing rules (built on first use)."""
        return self.sync.router

    @property
    def retry_caps(self) -> tuple[RetryCap, ...]:
        """The card networks' retry caps payhelp enforces."""
        return self.sync.retry_caps

    @property
    def advice_codes(self) -> AdviceTable:
        """Mastercard's merchant advice codes, with their source."""
        return self.sync.advice_codes

    # -- processors and plugins -------------------------------------------------------------

    async def processors(self) -> list[ProcessorInfo]:
        """Every registered processor, by id."""
        return self.sync.processors()

    async def processor(self, processor_id: str) -> ProcessorInfo:
        """One processor's metadata, by id or alias (see :meth:`Payhelp.processor`)."""
        return self.sync.processor(processor_id)

    async def directory(self, processor_id: str) -> ContactDirectory:
        """A processor's contact directory after the platform's overrides."""
        return self.sync.directory(processor_id)

    async def plugins(self, *, check: bool = False) -> list[PluginRecord]:
        """Every plugin tried (see :meth:`Payhelp.plugins`); a check runs in a thread."""
        return await asyncio.to_thread(self.sync.plugins, check=check)

    # -- answers ----------------------------------------------------------------------------

    async def contacts(
        self, processor: str, country: str, *, language: Language | None = None
    ) -> ContactPlan:
        """Whom a customer of ``processor`` in ``country`` should contact."""
        return self.sync.contacts(processor, country, language=language)

    async def route(
        self, transaction: Transaction | Mapping[str, Any] | None = None, **fields: Any
    ) -> RouteDecision:
        """Decide which processor handled a transaction."""
        return self.sync.route(transaction, **fields)

    async def route_batch(
        self, lines: Iterable[str | bytes], *, on_error: ErrorCallback | None = None
    ) -> AsyncIterator[str]:
        """Route JSON Lines, yielding one JSON line per input line."""
        async for line in _paced(self.sync.route_batch(lines, on_error=on_error)):
            yield line

    async def lookup(
        self,
        processor: str,
        query: LookupQuery | None = None,
        *,
        sandbox: bool | None = None,
        language: Language | None = None,
        **fields: Any,
    ) -> LookupResult:
        """Find a payment, or say where the customer can look it up or write (see
        :meth:`Payhelp.lookup`)."""
        return await self.sync.alookup(
            processor, query, sandbox=sandbox, language=language, **fields
        )

    async def adapter(self, processor: str, *, sandbox: bool | None = None) -> ApiAdapter | None:
        """The processor's API adapter, or ``None``."""
        return self.sync.adapter(processor, sandbox=sandbox)

    # -- submissions ------------------------------------------------------------------------

    async def submit_dispute(
        self,
        processor: str,
        request: DisputeRequest | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        channel: Channel = "auto",
        sandbox: bool | None = None,
        language: Language | None = None,
        **fields: Any,
    ) -> SubmissionReceipt:
        """File a refund or dispute request exactly once (see :meth:`Payhelp.submit_dispute`)."""
        return await self.sync.asubmit_dispute(
            processor,
            request,
            idempotency_key=idempotency_key,
            channel=channel,
            sandbox=sandbox,
            language=language,
            **fields,
        )

    async def disputes(
        self,
        *,
        processor: str | None = None,
        status: str | None = None,
        limit: int = 50,
        sandbox: bool | None = None,
    ) -> list[SubmissionRecord]:
        """The submissions recorded, newest first (read in a thread)."""
        return await asyncio.to_thread(
            self.sync.disputes, processor=processor, status=status, limit=limit, sandbox=sandbox
        )

    async def dispute(
        self, id_or_key: int | str, *, sandbox: bool | None = None
    ) -> SubmissionRecord:
        """One recorded submission (read in a thread)."""
        return await asyncio.to_thread(self.sync.dispute, id_or_key, sandbox=sandbox)

    # -- notifications -----------------------------------------------------------------------

    async def receive(
        self,
        processor: str,
        method: str = "POST",
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        query: Mapping[str, str] | Iterable[tuple[str, str]] | str | None = None,
        body: bytes | str | None = None,
        remote_addr: str | None = None,
        sandbox: bool | None = None,
    ) -> ReceiveOutcome:
        """Take one notification (see :meth:`Payhelp.receive`); checked and stored in a
        thread."""
        return await asyncio.to_thread(
            self.sync.receive,
            processor,
            method,
            headers=headers,
            query=query,
            body=body,
            remote_addr=remote_addr,
            sandbox=sandbox,
        )

    def on_event(self, callback: EventCallback) -> EventCallback:
        """Call ``callback(event, confirmed)`` for each notification applied from now on (in
        the thread that stored it)."""
        return self.sync.on_event(callback)

    async def events(
        self,
        *,
        processor: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        transaction_id: str | None = None,
        limit: int = 50,
        sandbox: bool | None = None,
    ) -> list[EventRecord]:
        """The notifications received, newest first (read in a thread)."""
        return await asyncio.to_thread(
            self.sync.events,
            processor=processor,
            kind=kind,
            status=status,
            transaction_id=transaction_id,
            limit=limit,
            sandbox=sandbox,
        )

    async def chargebacks(
        self, *, processor: str | None = None, limit: int = 50, sandbox: bool | None = None
    ) -> list[EventRecord]:
        """The chargebacks the processors reported, newest first (read in a thread)."""
        return await asyncio.to_thread(
            self.sync.chargebacks, processor=processor, limit=limit, sandbox=sandbox
        )

    async def event(self, number: int, *, sandbox: bool | None = None) -> EventRecord:
        """One stored notification (read in a thread)."""
        return await asyncio.to_thread(self.sync.event, number, sandbox=sandbox)

    async def reconcile(
        self,
        *,
        processor: str | None = None,
        due_days: float = 7.0,
        country: str | None = None,
        limit: int = 200,
        sandbox: bool | None = None,
        language: Language | None = None,
        ids: Iterable[int] | None = None,
    ) -> list[Reconciled]:
        """Where each request sent and not yet confirmed stands (see :meth:`Payhelp.reconcile`;
        run in a thread)."""
        return await asyncio.to_thread(
            self.sync.reconcile,
            processor=processor,
            due_days=due_days,
            country=country,
            limit=limit,
            sandbox=sandbox,
            language=language,
            ids=ids,
        )

    async def aclose(self) -> None:
        """Close every adapter's connections and the stores."""
        await self.sync.aclose()

    async def __aenter__(self) -> AsyncPayhelp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- policies ---------------------------------------------------------------------------

    async def refund_check(
        self,
        facts: RefundFacts | Mapping[str, Any] | None = None,
        *,
        language: Language | None = None,
        **fields: Any,
    ) -> RefundDecision:
        """Judge a refund request under the platform's policy (the same facts as
        :meth:`Payhelp.refund_check`)."""
        return self.sync.refund_check(facts, language=language, **fields)

    async def decline_schemes(self) -> list[DeclineScheme]:
        """Every decline-code table the plugins registered, by id."""
        return self.sync.decline_schemes()

    async def decline_scheme(self, scheme_id: str) -> DeclineScheme:
        """One decline-code table."""
        return self.sync.decline_scheme(scheme_id)

    async def explain_decline(
        self,
        code: str,
        scheme: str,
        *,
        network: Network | str | None = None,
        advice_code: str | int | None = None,
        visa_category: int | str | None = None,
        processor: str | None = None,
        country: str | None = None,
        language: Language | None = None,
    ) -> DeclineAdvice:
        """Explain a raw decline code (see :meth:`Payhelp.explain_decline`)."""
        return self.sync.explain_decline(
            code,
            scheme,
            network=network,
            advice_code=advice_code,
            visa_category=visa_category,
            processor=processor,
            country=country,
            language=language,
        )

    async def dunning_plan(
        self,
        failed_at: datetime | str,
        code: str,
        scheme: str,
        *,
        network: Network | str | None = None,
        advice_code: str | int | None = None,
        visa_category: int | str | None = None,
        language: Language | None = None,
    ) -> DunningPlan:
        """The whole dunning schedule after a failed renewal (see :meth:`Payhelp.dunning_plan`)."""
        return self.sync.dunning_plan(
            failed_at,
            code,
            scheme,
            network=network,
            advice_code=advice_code,
            visa_category=visa_category,
            language=language,
        )

    async def explain_batch(
        self,
        lines: Iterable[str | bytes],
        *,
        language: Language | None = None,
        on_error: ErrorCallback | None = None,
    ) -> AsyncIterator[str]:
        """Explain JSON Lines of declines (see :meth:`Payhelp.explain_batch`)."""
        async for line in _paced(
            self.sync.explain_batch(lines, language=language, on_error=on_error)
        ):
            yield line

    async def dunning_batch(
        self,
        lines: Iterable[str | bytes],
        *,
        language: Language | None = None,
        on_error: ErrorCallback | None = None,
    ) -> AsyncIterator[str]:
        """Plan JSON Lines of failed renewals (see :meth:`Payhelp.dunning_batch`)."""
        async for line in _paced(
            self.sync.dunning_batch(lines, language=language, on_error=on_error)
        ):
            yield line

    async def dunning(
        self, *, clock: Clock = system_clock, language: Language | None = None
    ) -> Dunning:
        """A dunning state machine with the platform's schedule and the networks' caps."""
        return self.sync.dunning(clock=clock, language=language)


__all__ = ["AsyncPayhelp"]
