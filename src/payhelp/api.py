"""The embedding API: one object a platform builds from configuration and calls.

>>> from payhelp import Payhelp
>>> ph = Payhelp()                                   # or Payhelp.from_config("payhelp.toml")
>>> plan = ph.contacts("segpay", "IT", language="it")
>>> plan.channels[0].kind
<ChannelKind.EMAIL: 'email'>

This module is the facade: each method checks its arguments (:mod:`payhelp.inputs`) and hands
the work to the module that owns it. What the configuration resolves to is
:mod:`payhelp.resolve`; how a lookup reaches a processor, or says where to look or write, is
:mod:`payhelp.lookups`; submissions are :mod:`payhelp.submissions`; routing
:mod:`payhelp.router`; the policies :mod:`payhelp.policies`. Every method has an ``async`` twin
of the same name and parameters on :class:`~payhelp.aio.AsyncPayhelp` (also importable from
here).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from payhelp import inputs
from payhelp.cases import (
    DisputeRequest,
    LookupQuery,
    LookupResult,
    SubmissionReceipt,
)
from payhelp.channels import ContactDirectory, ContactPlan
from payhelp.config import Settings
from payhelp.errors import (
    CardNumberError,
    InvalidInputError,
    PayhelpError,
    UnknownProcessorError,
)
from payhelp.geo import normalize_country
from payhelp.i18n import Language
from payhelp.inputs import parse_moment
from payhelp.models import ProcessorInfo, RouteDecision, Transaction
from payhelp.plugins import PluginHost, PluginRecord
from payhelp.policies.advice import DeclineAdvice, explain
from payhelp.policies.declines import (
    AdviceTable,
    DeclineScheme,
    Network,
    RetryCap,
    builtin_advice_codes,
    builtin_retry_caps,
)
from payhelp.policies.dunning import Clock, Dunning, DunningPlan, system_clock
from payhelp.policies.dunning import plan as dunning_plan
from payhelp.policies.refunds import (
    RefundDecision,
    RefundFacts,
    RefundPolicy,
    RefundRule,
)
from payhelp.redact import mask_card_numbers, short_echo
from payhelp.resolve import resolve
from payhelp.router import Router, Weights
from payhelp.store_statuses import OPEN, STATUSES

if TYPE_CHECKING:
    # The network, the sandboxes and the store load on first use: a command that needs none of
    # them (contacts, route, a decline explanation) does not pay for httpx or SQLAlchemy.
    from payhelp.adapters import ApiAdapter
    from payhelp.aio import AsyncPayhelp
    from payhelp.batch import DeclineLine, DunningLine, ErrorCallback
    from payhelp.channels import PlannedChannel
    from payhelp.lookups import Lookups
    from payhelp.notifications import ReceiveOutcome
    from payhelp.receiving import EventCallback, Receiver
    from payhelp.reconcile import Reconciled
    from payhelp.sandbox import Behaviour
    from payhelp.shared import SharedState
    from payhelp.store import EventRecord, SubmissionRecord, SubmissionStore
    from payhelp.submissions import Channel, Submitter


class Payhelp:
    """payhelp for one platform: its plugins, configuration and compiled routing rules.

    Build it once and share it; it is safe to use from several threads.

    :param settings: Ready :class:`Settings`; when omitted they are read from ``config`` (or
        ``$PAYHELP_CONFIG``), the environment and ``overrides``.
    :param config: Path of a TOML configuration file.
    :param plugins: Extra ``(name, plugin)`` pairs to register besides installed ones.
    :param load_entry_points: Whether installed plugins are loaded.
    :param weights: Routing weights, when the defaults do not suit.
    :param route_cache_size: How many routing decisions are memoised (about 1.5 KB each).
    :param sandbox: Send lookups and submissions to the processors' sandboxes, not their APIs.
    :param sandbox_behaviour: Latency, error rate and rate limit of those sandboxes.
    :param on_event: A function called with each notification :meth:`receive` applies (the
        event and the submissions it confirmed), once per event; or several of them.
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
        callbacks = inputs.callbacks(on_event, "on_event")
        resolved = resolve(
            settings,
            config=config,
            plugins=plugins,
            load_entry_points=load_entry_points,
            overrides=overrides,
        )
        self._resolved = resolved
        #: The settings in force.
        self.settings: Settings = resolved.settings
        #: The loaded plugins.
        self.host: PluginHost = resolved.host
        self._directories = resolved.directories
        #: The default refund policy with the platform's changes.
        self.refund_policy: RefundPolicy = resolved.refund_policy
        self._weights = weights
        self._route_cache_size = route_cache_size
        #: Whether lookups and submissions go to the processors' sandboxes by default.
        self.sandbox = sandbox
        #: Latency, error rate and rate limit of the in-process sandboxes.
        self.sandbox_behaviour = sandbox_behaviour or _default_behaviour()
        self._stores_lock = threading.Lock()
        self._store: SubmissionStore | None = None
        self._sandbox_store: SubmissionStore | None = None
        self._lookups_built: Lookups | None = None
        self._submitter_built: Submitter | None = None
        self._receiver_built: Receiver | None = None
        self._event_callbacks = callbacks
        self._shared_lock = threading.Lock()
        self._shared: SharedState | None = None

    @property
    def _lookups(self) -> Lookups:
        """The lookup wiring, built on the first lookup or adapter asked for."""
        with self._stores_lock:
            if self._lookups_built is None:
                from payhelp.lookups import Lookups  # noqa: PLC0415 - loads the HTTP layer

                self._lookups_built = Lookups(
                    self.host,
                    self._directories,
                    self._adapter_settings,
                    lambda: self.sandbox_behaviour,
                    lambda pid, country, language: (
                        self.contacts(pid, country, language=language).channels
                    ),
                )
            return self._lookups_built

    def _adapter_settings(self, processor: str) -> dict[str, object]:
        """A processor's settings for its adapter: with ``redis_url``, the schedule every
        worker shares (the in-process sandboxes keep their own: the lookups replace it)."""
        settings = self._resolved.processor_settings(processor)
        shared = self.shared
        if shared is not None:
            settings.setdefault("rate_schedule", shared.schedule)
        return settings

    @property
    def shared(self) -> SharedState | None:
        """The Redis every worker shares (``redis_url``), or ``None``: each process keeps its
        own rate limit schedules and answers repeated notifications from its store alone."""
        url = self.settings.redis_url
        if url is None:
            return None
        with self._shared_lock:
            if self._shared is None:
                from payhelp.shared import connect  # noqa: PLC0415 - the redis extra

                self._shared = connect(url, prefix=self.settings.redis_prefix)
            return self._shared

    @property
    def _receiver(self) -> Receiver:
        """The notification wiring, built on the first delivery."""
        with self._stores_lock:
            if self._receiver_built is None:
                from payhelp.receiving import Receiver  # noqa: PLC0415 - loads the formats' needs

                self._receiver_built = Receiver(
                    self.host,
                    self._resolved.processor_settings,
                    self._event_callbacks,
                    shared=lambda: self.shared,
                )
            return self._receiver_built

    @property
    def _submitter(self) -> Submitter:
        """The submission wiring, built on the first submission."""
        with self._stores_lock:
            if self._submitter_built is None:
                from payhelp.submissions import Submitter  # noqa: PLC0415 - loads the store

                self._submitter_built = Submitter(
                    self.settings, self._directories, lambda: self.store, lambda: self.sandbox_store
                )
            return self._submitter_built

    @classmethod
    def from_config(cls, path: str | os.PathLike[str], **overrides: Any) -> Payhelp:
        """Build from a TOML file; keyword arguments win over the file and the environment."""
        return cls(config=path, **overrides)

    @property
    def language(self) -> Language:
        """The language used when a call names none."""
        return self._resolved.language

    @cached_property
    def router(self) -> Router:
        """The compiled routing rules (built on first use)."""
        return Router(
            (r.info for r in self.host.processors().values()),
            weights=self._weights,
            cache_size=self._route_cache_size,
        )

    # -- processors and plugins --------------------------------------------------------------

    def processors(self) -> list[ProcessorInfo]:
        """Every registered processor, by id."""
        registered = self.host.processors()
        return [registered[pid].info for pid in sorted(registered)]

    def processor(self, processor_id: str) -> ProcessorInfo:
        """One processor's metadata, by id or alias (``wts`` is ``wtseticket``);
        :class:`UnknownProcessorError` if none has that id."""
        if not isinstance(processor_id, str):
            raise InvalidInputError("a processor id is a string, e.g. 'epoch'")
        registered = self.host.processors()
        wanted = processor_id.strip().lower()
        entry = registered.get(wanted)
        if entry is None:
            entry = next((e for e in registered.values() if wanted in e.info.aliases), None)
        if entry is None:
            raise UnknownProcessorError(processor_id, list(registered))
        return entry.info

    def directory(self, processor_id: str) -> ContactDirectory:
        """A processor's contact directory after the platform's overrides."""
        return self._directories[self.processor(processor_id).id]

    def plugins(self, *, check: bool = False) -> list[PluginRecord]:
        """Every plugin tried, with its version, hooks, processors and any load error. With
        ``check`` every plugin's hooks are first asked about its processors once (nothing is
        sent), so that a hook that raises or answers wrongly is listed in ``hook_errors``."""
        return self.host.check(self._directories) if check else self.host.records()

    # -- answers ----------------------------------------------------------------------------------

    def contacts(
        self, processor: str, country: str, *, language: Language | None = None
    ) -> ContactPlan:
        """Whom a customer of ``processor`` in ``country`` should contact, in order, and why."""
        info = self.processor(processor)
        if not isinstance(country, str):
            raise InvalidInputError("a country is an ISO 3166-1 alpha-2 code such as 'IT'")
        code = normalize_country(country)
        return self.host.contact_plan(
            info, self._directories[info.id], code, self._language_or_default(language)
        )

    def route(
        self, transaction: Transaction | Mapping[str, Any] | None = None, **fields: Any
    ) -> RouteDecision:
        """Decide which processor handled a transaction (a :class:`Transaction`, a mapping, or
        keyword fields such as ``transaction_id=``, ``descriptor=``, ``country=``)."""
        if transaction is None:  # keyword fields: this call's own dict, which nobody else holds
            return self.router.route(fields)
        return self.router.route(inputs.route_input(transaction, fields))

    def route_batch(
        self, lines: Iterable[str | bytes], *, on_error: ErrorCallback | None = None
    ) -> Iterator[str]:
        """Route JSON Lines: one JSON line out per line in, errors included, in input order.
        ``on_error(line_number, message)`` is called for each line that could not be routed.
        Memory stays flat however long the input."""
        from payhelp.batch import route_lines  # noqa: PLC0415 - the batch models, when used

        return route_lines(self.router, lines, on_error=on_error)

    def lookup(
        self,
        processor: str,
        query: LookupQuery | None = None,
        *,
        sandbox: bool | None = None,
        language: Language | None = None,
        **fields: Any,
    ) -> LookupResult:
        """Find a payment: through the processor's API when its plugin has an adapter and the
        platform configured credentials (or ``sandbox``), else from its contact directory: the
        self-service page with the fields it asks for or, for a processor without one, the
        channel to write to (``channel``, named in ``message``; give the customer's ``country``
        to choose it from their contact plan). Nothing is invented. API failures raise the
        error tree of :mod:`payhelp.errors`. ``language`` is that of the answer's texts."""
        info = self.processor(processor)
        q = inputs.lookup_query(query, fields)
        return self._lookups.lookup(
            info,
            q,
            sandbox=self._use_sandbox(sandbox),
            language=self._language_or_default(language),
        )

    async def alookup(
        self,
        processor: str,
        query: LookupQuery | None = None,
        *,
        sandbox: bool | None = None,
        language: Language | None = None,
        **fields: Any,
    ) -> LookupResult:
        """:meth:`lookup` without blocking (the adapter's async client), for code that holds a
        :class:`Payhelp` in an event loop; :class:`AsyncPayhelp` is the async surface."""
        info = self.processor(processor)
        q = inputs.lookup_query(query, fields)
        return await self._lookups.alookup(
            info,
            q,
            sandbox=self._use_sandbox(sandbox),
            language=self._language_or_default(language),
        )

    def adapter(self, processor: str, *, sandbox: bool | None = None) -> ApiAdapter | None:
        """The processor's API adapter, built once from its settings (or against its sandbox);
        ``None`` when its plugin has none or no credentials are configured."""
        info = self.processor(processor)
        return self._lookups.adapter(info, sandbox=self._use_sandbox(sandbox))

    # -- submissions --------------------------------------------------------------------------

    @property
    def store(self) -> SubmissionStore:
        """The submission store (opened on first use)."""
        with self._stores_lock:
            if self._store is None:
                from payhelp.store import SubmissionStore  # noqa: PLC0415 - loads SQLAlchemy

                self._store = SubmissionStore(self.settings.store_url)
            return self._store

    @property
    def sandbox_store(self) -> SubmissionStore:
        """The sandbox's own submission store (opened on first use): beside the real one, never
        sharing its rows or keys (see :func:`payhelp.store.sandbox_url`)."""
        with self._stores_lock:
            if self._sandbox_store is None:
                from payhelp.store import SubmissionStore, sandbox_url  # noqa: PLC0415

                self._sandbox_store = SubmissionStore(sandbox_url(self.settings.store_url))
            return self._sandbox_store

    def _use_sandbox(self, sandbox: object) -> bool:
        """Whether a call goes to the sandbox: its own ``sandbox`` argument, else the object's."""
        flag = inputs.sandbox_flag(sandbox)
        return self.sandbox if flag is None else flag

    def _store_for(self, sandbox: bool | None) -> SubmissionStore:
        return self.sandbox_store if self._use_sandbox(sandbox) else self.store

    def _dispute(
        self, processor: str, request: DisputeRequest | Mapping[str, Any] | None, fields: Any
    ) -> tuple[ProcessorInfo, DisputeRequest]:
        info = self.processor(processor)
        return info, inputs.dispute_request(request, fields)

    def submit_dispute(
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
        """File a refund or dispute request with ``processor`` exactly once: through its API
        when configured, else by email (SMTP, or an ``.eml`` file), else as web-form answers.
        The same request (or ``idempotency_key``) always returns the first receipt and never
        reaches the processor twice; a request that may have reached it is reported
        ``in_doubt`` instead of being sent again."""
        info, checked = self._dispute(processor, request, fields)
        use_sandbox = self._use_sandbox(sandbox)
        adapter = self.adapter(info.id, sandbox=use_sandbox) if channel in ("auto", "api") else None
        return self._submitter.submit(
            info,
            checked,
            adapter,
            key=idempotency_key,
            channel=channel,
            language=self._language_or_default(language),
            sandbox=use_sandbox,
        )

    async def asubmit_dispute(
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
        """:meth:`submit_dispute` without blocking."""
        info, checked = self._dispute(processor, request, fields)
        use_sandbox = self._use_sandbox(sandbox)
        adapter = self.adapter(info.id, sandbox=use_sandbox) if channel in ("auto", "api") else None
        return await self._submitter.asubmit(
            info,
            checked,
            adapter,
            key=idempotency_key,
            channel=channel,
            language=self._language_or_default(language),
            sandbox=use_sandbox,
        )

    def disputes(
        self,
        *,
        processor: str | None = None,
        status: str | None = None,
        limit: int = 50,
        sandbox: bool | None = None,
    ) -> list[SubmissionRecord]:
        """The submissions recorded, newest first (the sandbox's with ``sandbox``). A claim
        left by a process that died is found under ``in_doubt``."""
        pid = self.processor(processor).id if processor is not None else None
        if status is not None and status not in STATUSES:
            raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}")
        _check_limit(limit)
        return self._store_for(sandbox).list(processor=pid, status=status, limit=limit)

    def dispute(self, id_or_key: int | str, *, sandbox: bool | None = None) -> SubmissionRecord:
        """One recorded submission by number or idempotency key."""
        if isinstance(id_or_key, bool) or not isinstance(id_or_key, int | str):
            raise InvalidInputError("a submission is named by its number or idempotency key")
        if isinstance(id_or_key, str) and (
            not 1 <= len(id_or_key) <= 100
            or not id_or_key.isprintable()
            or not inputs.encodable(id_or_key)
        ):
            raise InvalidInputError("a submission is named by its number or idempotency key")
        found = self._store_for(sandbox).get(id_or_key)
        if found is None:
            raise InvalidInputError(f"no submission {short_echo(str(id_or_key))} in the store")
        return found

    # -- notifications -----------------------------------------------------------------------

    def receive(
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
        """Take one notification (postback, IPN) as it arrived over HTTP: check it with the
        processor's own checks, store it once and apply it. A verified event is ``applied``
        the first time (a refund confirms the submission for its transaction, a chargeback is
        recorded against its payment) and ``duplicate`` on any repeat, which changes nothing; an
        unverified one is ``refused``, recorded with why, and never applied. The outcome says
        what to answer the processor (``reply_status``, ``reply_body``). ``sandbox`` uses the
        sandbox's store and test mode, where the sandboxes' own notifications verify."""
        from payhelp.notifications import Delivery  # noqa: PLC0415 - only where notifications come

        pid = self.processor(processor).id
        delivery = Delivery.of(
            pid, method, headers=headers, query=query, body=body, remote_addr=remote_addr
        )
        use_sandbox = self._use_sandbox(sandbox)
        return self._receiver.receive(delivery, self._store_for(use_sandbox), sandbox=use_sandbox)

    def on_event(self, callback: EventCallback) -> EventCallback:
        """Call ``callback(event, confirmed)`` for each notification applied from now on (also
        usable as a decorator); the same as passing it as ``on_event=``."""
        self._receiver.subscribe(callback)
        return callback

    def events(
        self,
        *,
        processor: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        transaction_id: str | None = None,
        limit: int = 50,
        sandbox: bool | None = None,
    ) -> list[EventRecord]:
        """The notifications received, newest first: of one processor, one kind (``refund``,
        ``chargeback``...), one status (``applied``, ``refused``), or naming one transaction."""
        from payhelp.notifications import EventKind  # noqa: PLC0415 - as in receive()

        pid = self.processor(processor).id if processor is not None else None
        if kind is not None and (
            not isinstance(kind, str) or kind not in {k.value for k in EventKind}
        ):
            raise InvalidInputError(f"kind must be one of {', '.join(k.value for k in EventKind)}")
        if status is not None and (
            not isinstance(status, str) or status not in ("applied", "refused")
        ):
            raise InvalidInputError("status must be applied or refused")
        if transaction_id is not None and not (
            isinstance(transaction_id, str)
            and 1 <= len(transaction_id) <= 128
            and transaction_id.isprintable()
            and inputs.encodable(transaction_id)
        ):
            raise InvalidInputError("transaction_id is the processor's id, 1 to 128 characters")
        _check_limit(limit)
        return self._store_for(sandbox).events(
            processor=pid, kind=kind, status=status, transaction_id=transaction_id, limit=limit
        )

    def chargebacks(
        self, *, processor: str | None = None, limit: int = 50, sandbox: bool | None = None
    ) -> list[EventRecord]:
        """The chargebacks (and their reversals) the processors reported, newest first."""
        from payhelp.notifications import CHARGEBACK_KINDS  # noqa: PLC0415 - as in receive()

        pid = self.processor(processor).id if processor is not None else None
        _check_limit(limit)
        return self._store_for(sandbox).events(
            processor=pid,
            kind=[k.value for k in CHARGEBACK_KINDS],
            status="applied",
            limit=limit,
        )

    def event(self, number: int, *, sandbox: bool | None = None) -> EventRecord:
        """One stored notification by its number."""
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise InvalidInputError("a notification is named by its number")
        found = self._store_for(sandbox).event(number)
        if found is None:
            raise InvalidInputError(f"no notification {number} in the store")
        return found

    def reconcile(
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
        """For each request sent and not yet confirmed (newest first, up to ``limit``): ask the
        processor's API where payhelp can (credentials configured, or ``sandbox``) and confirm
        the ones it reports refunded; report the others ``waiting`` or, after ``due_days``,
        ``overdue``, with the channel to chase them through (for the transaction's country, else
        ``country``). ``ids`` (the store's numbers) reconciles only those submissions, as each
        of payhelp's Celery tasks does with its chunk."""
        from payhelp.reconcile import reconcile  # noqa: PLC0415 - loads the lookups' wiring

        pid = self.processor(processor).id if processor is not None else None
        _check_limit(limit)
        if (
            isinstance(due_days, bool)
            or not isinstance(due_days, int | float)
            or not 0 <= due_days <= 3650
        ):
            raise InvalidInputError("due_days is a number of days from 0 to 3650")
        fallback = normalize_country(country) if country is not None else None
        lang = self._language_or_default(language)
        use_sandbox = self._use_sandbox(sandbox)
        store = self._store_for(use_sandbox)

        def can_look_up(pid: str) -> bool:
            try:
                return self.adapter(pid, sandbox=use_sandbox) is not None
            except PayhelpError:  # no sandbox, or a plugin that cannot build one
                return False

        def chase(pid: str, record: SubmissionRecord) -> PlannedChannel | None:
            transaction = record.request.get("transaction")
            given = transaction.get("country") if isinstance(transaction, dict) else None
            where = given if isinstance(given, str) else fallback
            if where is None:
                return None
            plan = self.contacts(pid, where, language=lang)
            return plan.channels[0] if plan.channels else None

        if ids is None:
            records = store.list(processor=pid, status=OPEN, limit=limit)
        else:
            numbers = inputs.submission_numbers(ids)
            found = (store.get(number) for number in numbers)
            records = sorted(
                (r for r in found if r is not None and (pid is None or r.processor == pid)),
                key=lambda r: r.id,
                reverse=True,
            )
        return reconcile(
            store,
            records,
            can_look_up=can_look_up,
            look_up=lambda pid, query: self.lookup(pid, query, sandbox=use_sandbox, language=lang),
            chase=chase,
            due=timedelta(days=float(due_days)),
        )

    def close(self) -> None:
        """Close every adapter's connections and the stores (a context manager does it for
        you)."""
        with self._stores_lock:
            lookups = self._lookups_built
        if lookups is not None:
            lookups.close()
        with self._stores_lock:
            stores = [self._store, self._sandbox_store]
            self._store = self._sandbox_store = None
        for store in stores:
            if store is not None:
                store.close()
        with self._shared_lock:
            shared, self._shared = self._shared, None
        if shared is not None:
            shared.close()

    async def aclose(self) -> None:
        """Close every adapter's connections, async clients included, and the stores."""
        with self._stores_lock:
            lookups = self._lookups_built
        if lookups is not None:
            await lookups.aclose()
        self.close()

    def __enter__(self) -> Payhelp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- policies ---------------------------------------------------------------------------

    def _language_or_default(self, language: Language | None) -> Language:
        return self._resolved.language_or_default(language)

    def refund_check(
        self,
        facts: RefundFacts | Mapping[str, Any] | None = None,
        *,
        language: Language | None = None,
        **fields: Any,
    ) -> RefundDecision:
        """Judge a refund request under the platform's policy (and the rules of its processor's
        plugin, when ``processor`` is given). ``now`` is a fact like the others, so the answer is
        reproducible. Every :class:`RefundFacts` field is accepted, among them ``platform_fault``
        (the reference of a recorded platform fault), ``amount`` and ``requested`` (a request for
        part of the amount: the answer's ``eligible_amount`` says what can be refunded)."""
        checked = inputs.refund_facts(facts, fields)
        extra: tuple[RefundRule, ...] = ()
        if checked.processor is not None:
            extra = self.host.refund_rules(self.processor(checked.processor))
        return self.refund_policy.decide(
            checked, self._language_or_default(language), extra_rules=extra
        )

    def decline_schemes(self) -> list[DeclineScheme]:
        """Every decline-code table the plugins registered, by id."""
        schemes = self.host.decline_schemes()
        return [schemes[key] for key in sorted(schemes)]

    def decline_scheme(self, scheme_id: str) -> DeclineScheme:
        """One decline-code table; :class:`InvalidInputError` naming the known ones otherwise."""
        schemes = self.host.decline_schemes()
        if not isinstance(scheme_id, str):
            raise InvalidInputError("a decline scheme is named by a string, e.g. 'braintree'")
        found = schemes.get(scheme_id.strip().lower())
        if found is None:
            raise InvalidInputError(
                f"unknown decline scheme {short_echo(scheme_id)} "
                f"(known: {', '.join(sorted(schemes)) or 'none'})"
            )
        return found

    @cached_property
    def retry_caps(self) -> tuple[RetryCap, ...]:
        """The card networks' retry caps payhelp enforces."""
        return tuple(builtin_retry_caps())

    @cached_property
    def advice_codes(self) -> AdviceTable:
        """Mastercard's merchant advice codes, with their source."""
        return builtin_advice_codes()

    def explain_decline(
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
        """Explain a raw decline ``code`` of ``scheme``: reason, hard or soft, whether to retry,
        who fixes it, and what customer and merchant should do. An unknown code is answered with
        reason ``unknown``, the raw code kept, and no automatic retry unless the platform's
        ``[policies.declines.unknown]`` allows a few. ``advice_code`` is the Mastercard merchant
        advice code the processor passed on with the decline (``03``, ``24``...), and
        ``visa_category`` Visa's reattempt category (1-4) when the processor gives it: each
        implies its network, and their waits and stops apply. With ``country`` and a processor
        (``processor``, or a scheme that is a processor id) the processor's first channel is
        offered."""
        if not isinstance(code, str):
            raise InvalidInputError("a decline code is a string, e.g. '2001' or '05'")
        if len(code) > 1000 or not code.isprintable() or not inputs.encodable(code):
            raise InvalidInputError(
                "a decline code is one line of printable text, e.g. '2001' or '05'"
            )
        if mask_card_numbers(code) != code:
            raise CardNumberError("the decline code holds a card number; give the code alone")
        table = self.decline_scheme(scheme)
        lang = self._language_or_default(language)
        card_network = inputs.network(network)
        channel = None
        processor_id = processor or (table.id if table.id in self.host.processors() else None)
        if processor_id is not None and country is not None:
            plan = self.contacts(processor_id, country, language=lang)
            channel = plan.channels[0] if plan.channels else None
        return explain(
            table,
            code,
            lang,
            network=card_network,
            caps=self.retry_caps,
            processor_channel=channel,
            advice_code=inputs.advice_code(advice_code),
            advice_codes=self.advice_codes,
            visa_category=inputs.visa_category(visa_category),
            unknown=self.settings.policies.declines.unknown,
        )

    def dunning_plan(
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
        """The whole dunning schedule after a failed renewal, if the decline never clears and the
        card is never updated: attempts, downgrade time and notifications. ``advice_code`` and
        ``visa_category`` are as for :meth:`explain_decline`; their waits and stops shape the
        schedule."""
        lang = self._language_or_default(language)
        advice = self.explain_decline(
            code,
            scheme,
            network=network,
            advice_code=advice_code,
            visa_category=visa_category,
            language=lang,
        )
        return dunning_plan(
            parse_moment(failed_at, "failed_at"),
            advice,
            policy=self.settings.policies.dunning,
            caps=self.retry_caps,
            language=lang,
        )

    def explain_batch(
        self,
        lines: Iterable[str | bytes],
        *,
        language: Language | None = None,
        on_error: ErrorCallback | None = None,
    ) -> Iterator[str]:
        """Explain JSON Lines of declines (``code``, ``scheme`` and optionally ``network``,
        ``advice_code``, ``visa_category``, ``ref``): one JSON line out per line in, in order,
        each a :class:`DeclineAdvice` or an error line. ``on_error(line_number, message)`` is
        called for each line that could not be explained."""
        from payhelp.batch import DeclineLine, answer_lines, check_lines  # noqa: PLC0415

        check_lines(lines, "explain_batch", on_error)
        lang = self._language_or_default(language)

        def one(item: DeclineLine) -> DeclineAdvice:
            return self.explain_decline(
                item.code,
                item.scheme,
                network=item.network,
                advice_code=item.advice_code,
                visa_category=item.visa_category,
                language=lang,
            )

        return answer_lines(lines, DeclineLine, one, on_error)

    def dunning_batch(
        self,
        lines: Iterable[str | bytes],
        *,
        language: Language | None = None,
        on_error: ErrorCallback | None = None,
    ) -> Iterator[str]:
        """Plan JSON Lines of failed renewals (the fields of :meth:`explain_batch` and
        ``failed_at``): one :class:`DunningPlan` or error line out per line in, in order."""
        from payhelp.batch import DunningLine, answer_lines, check_lines  # noqa: PLC0415

        check_lines(lines, "dunning_batch", on_error)
        lang = self._language_or_default(language)

        def one(item: DunningLine) -> DunningPlan:
            return self.dunning_plan(
                item.failed_at,
                item.code,
                item.scheme,
                network=item.network,
                advice_code=item.advice_code,
                visa_category=item.visa_category,
                language=lang,
            )

        return answer_lines(lines, DunningLine, one, on_error)

    def dunning(self, *, clock: Clock = system_clock, language: Language | None = None) -> Dunning:
        """A dunning state machine with the platform's schedule and the networks' caps."""
        if not callable(clock):
            raise InvalidInputError("clock is a function that returns the current time")
        return Dunning(
            self.settings.policies.dunning,
            caps=self.retry_caps,
            clock=clock,
            language=self._language_or_default(language),
        )


def _default_behaviour() -> Behaviour:
    from payhelp.sandbox import Behaviour  # noqa: PLC0415 - the sandboxes load httpx and h11

    return Behaviour()


def __getattr__(name: str) -> object:
    # AsyncPayhelp is importable from here as it always was, without loading it with Payhelp.
    if name == "AsyncPayhelp":
        from payhelp.aio import AsyncPayhelp  # noqa: PLC0415

        return AsyncPayhelp
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AsyncPayhelp", "Payhelp", "parse_moment"]


def _check_limit(limit: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidInputError("limit is a whole number from 1 to 10000")
