"""The embedding API: one object a platform builds from configuration and calls.

>>> from payhelp import Payhelp
>>> ph = Payhelp()                                   # or Payhelp.from_config("payhelp.toml")
>>> plan = ph.contacts("segpay", "IT", language="it")
>>> plan.channels[0].kind
<ChannelKind.EMAIL: 'email'>

Every method has an ``async`` twin of the same name on :class:`AsyncPayhelp`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import datetime
from functools import cached_property
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import ValidationError

from payhelp._base import Model, invalid_input
from payhelp.adapters import ApiAdapter
from payhelp.batch import (
    DeclineLine,
    DunningLine,
    ErrorCallback,
    answer_lines,
    check_lines,
    route_lines,
)
from payhelp.cases import (
    DisputeRequest,
    LookupQuery,
    LookupResult,
    PaymentStatus,
    SelfService,
    SubmissionReceipt,
)
from payhelp.channels import ChannelKind, ContactDirectory, ContactPlan
from payhelp.config import Settings
from payhelp.errors import (
    CapabilityError,
    CardNumberError,
    ConfigurationError,
    InvalidInputError,
    UnknownProcessorError,
    describe_validation_error,
)
from payhelp.geo import normalize_country
from payhelp.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, Language, render
from payhelp.models import ProcessorInfo, RouteDecision, Transaction
from payhelp.plugins import PluginHost, PluginRecord, get_plugin_manager
from payhelp.policies.advice import DeclineAdvice, explain
from payhelp.policies.declines import (
    AdviceTable,
    DeclineScheme,
    Network,
    RetryCap,
    VisaCategory,
    builtin_advice_codes,
    builtin_retry_caps,
)
from payhelp.policies.dunning import Clock, Dunning, DunningPlan, system_clock
from payhelp.policies.dunning import plan as dunning_plan
from payhelp.policies.refunds import (
    DEFAULT_POLICY,
    RefundDecision,
    RefundFacts,
    RefundPolicy,
    RefundRule,
)
from payhelp.redact import mask_card_numbers, short_echo
from payhelp.router import Router, Weights
from payhelp.sandbox import Behaviour, SandboxTransport, sandbox_base_url
from payhelp.store import STATUSES, SubmissionRecord, SubmissionStore, sandbox_url
from payhelp.submissions import Channel, Submitter

_M = TypeVar("_M", bound=Model)
_LOOKUP_PAGE = N_("Look the purchase up on {name}'s page with the details it asks for.")
_WEB_FORM = N_("Describe the problem in {name}'s support form; it asks for the details it needs.")
_NO_PAGE = N_("{name} offers no lookup page; write to its support with the details of the payment.")


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
        **overrides: Any,
    ) -> None:
        if settings is not None and (config is not None or overrides):
            raise InvalidInputError(
                "give ready Settings, or a config file and keyword settings, not both"
            )
        self.settings = settings if settings is not None else Settings.load(config, **overrides)
        plugins = _plugin_pairs(plugins)
        self.host: PluginHost = get_plugin_manager(
            load_entry_points=load_entry_points,
            only=self.settings.load_plugins,
            disable=self.settings.disable_plugins,
            strict=self.settings.strict_plugins,
            extra=plugins,
            distributions=self.settings.plugin_distributions or None,
        )
        self._weights = weights
        self._route_cache_size = route_cache_size
        self._directories = self._apply_overrides()
        self.refund_policy = self._refund_policy()
        #: Whether lookups and submissions go to the processors' sandboxes by default.
        self.sandbox = sandbox
        #: Latency, error rate and rate limit of the in-process sandboxes.
        self.sandbox_behaviour = sandbox_behaviour or Behaviour()
        self._adapters: dict[tuple[str, bool], ApiAdapter | None] = {}
        self._adapters_lock = threading.Lock()
        self._store: SubmissionStore | None = None
        self._sandbox_store: SubmissionStore | None = None
        self._submitter = Submitter(
            self.settings, self._directories, lambda: self.store, lambda: self.sandbox_store
        )

    @classmethod
    def from_config(cls, path: str | os.PathLike[str], **overrides: Any) -> Payhelp:
        """Build from a TOML file; keyword arguments win over the file and the environment."""
        return cls(config=path, **overrides)

    def _apply_overrides(self) -> dict[str, ContactDirectory]:
        directories: dict[str, ContactDirectory] = {}
        registered = self.host.processors()
        for pid, entry in registered.items():
            overrides = self.settings.processors.get(pid)
            if overrides is None:
                directories[pid] = entry.directory
                continue
            try:
                directories[pid] = overrides.apply(entry.directory)
            except ValueError as exc:  # pydantic's ValidationError included
                detail = (
                    describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
                )
                raise ConfigurationError(
                    f"invalid overrides for processor {pid!r}: {detail}"
                ) from None
        # Overrides for a plugin that is disabled or failed to load (already reported) wait for
        # it; only a name no plugin could provide, a typo, is an error.
        absent = {record.name for record in self.host.records()}
        absent |= set(self.settings.disable_plugins)
        if self.settings.load_plugins is not None:
            absent |= set(self.host.installed_names()) - set(self.settings.load_plugins)
        unknown = set(self.settings.processors) - set(registered) - absent
        if unknown:
            raise ConfigurationError(
                "configuration names processors no plugin registers: " + ", ".join(sorted(unknown))
            )
        return directories

    def _refund_policy(self) -> RefundPolicy:
        changes = self.settings.policies.refund
        try:
            return DEFAULT_POLICY.amended(
                add=changes.rules,
                disable=changes.disable,
                replace=changes.replace,
                name=changes.name,
            )
        except ValueError as exc:
            detail = (
                describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
            )
            raise ConfigurationError(f"invalid refund policy: {detail}") from None

    @property
    def language(self) -> Language:
        """The language used when a call names none."""
        return self.settings.language or DEFAULT_LANGUAGE

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
        if language is not None and language not in LANGUAGES:
            raise InvalidInputError(f"language must be one of {', '.join(LANGUAGES)}")
        return self.host.contact_plan(
            info, self._directories[info.id], code, language or self.language
        )

    def route(
        self, transaction: Transaction | Mapping[str, Any] | None = None, **fields: Any
    ) -> RouteDecision:
        """Decide which processor handled a transaction (a :class:`Transaction`, a mapping, or
        keyword fields such as ``transaction_id=``, ``descriptor=``, ``country=``)."""
        tx = _transaction(transaction, fields)
        return self.router.decide(tx)

    def route_batch(
        self, lines: Iterable[str | bytes], *, on_error: ErrorCallback | None = None
    ) -> Iterator[str]:
        """Route JSON Lines: one JSON line out per line in, errors included, in input order.
        ``on_error(line_number, message)`` is called for each line that could not be routed.
        Memory stays flat however long the input."""
        return route_lines(self.router, lines, on_error=on_error)

    def lookup(
        self,
        processor: str,
        query: LookupQuery | None = None,
        *,
        sandbox: bool | None = None,
        **fields: Any,
    ) -> LookupResult:
        """Find a payment: through the processor's API when its plugin has an adapter and the
        platform configured credentials (or ``sandbox``), else the processor's self-service page
        with the fields it asks for. Nothing is invented. API failures raise the error tree of
        :mod:`payhelp.errors`."""
        info = self.processor(processor)
        q = _query(query, fields)
        adapter = self.adapter(info.id, sandbox=sandbox)
        if adapter is None:
            return self._self_service(info)
        return adapter.lookup(q)

    async def alookup(
        self,
        processor: str,
        query: LookupQuery | None = None,
        *,
        sandbox: bool | None = None,
        **fields: Any,
    ) -> LookupResult:
        """:meth:`lookup` without blocking (the adapter's async client)."""
        info = self.processor(processor)
        q = _query(query, fields)
        adapter = self.adapter(info.id, sandbox=sandbox)
        if adapter is None:
            return self._self_service(info)
        return await adapter.alookup(q)

    def adapter(self, processor: str, *, sandbox: bool | None = None) -> ApiAdapter | None:
        """The processor's API adapter, built once from its settings (or against its sandbox);
        ``None`` when its plugin has none or no credentials are configured."""
        info = self.processor(processor)
        use_sandbox = self._use_sandbox(sandbox)
        key = (info.id, use_sandbox)
        with self._adapters_lock:
            if key in self._adapters:
                return self._adapters[key]
            overrides = self.settings.processors.get(info.id)
            settings: dict[str, object] = dict(overrides.settings) if overrides is not None else {}
            if use_sandbox:
                box = self.host.sandbox(info)
                if box is None:
                    raise CapabilityError(
                        f"{info.id} has no sandbox: its plugin has no API adapter to test",
                        processor=info.id,
                    )
                transport = SandboxTransport(box, self.sandbox_behaviour)
                settings |= {
                    "sandbox": True,
                    "base_url": sandbox_base_url(info.id),
                    "transport": transport,
                    "async_transport": transport,
                }
            # Plugins read their settings; they must not change the platform's configuration.
            adapter = self.host.adapter(info, MappingProxyType(settings))
            self._adapters[key] = adapter
            return adapter

    # -- submissions --------------------------------------------------------------------------

    @property
    def store(self) -> SubmissionStore:
        """The submission store (opened on first use)."""
        with self._adapters_lock:
            if self._store is None:
                self._store = SubmissionStore(self.settings.store_url)
            return self._store

    @property
    def sandbox_store(self) -> SubmissionStore:
        """The sandbox's own submission store (opened on first use): beside the real one, never
        sharing its rows or keys (see :func:`payhelp.store.sandbox_url`)."""
        with self._adapters_lock:
            if self._sandbox_store is None:
                self._sandbox_store = SubmissionStore(sandbox_url(self.settings.store_url))
            return self._sandbox_store

    def _use_sandbox(self, sandbox: object) -> bool:
        """Whether a call goes to the sandbox: its own ``sandbox`` argument, else the object's."""
        flag = _sandbox_flag(sandbox)
        return self.sandbox if flag is None else flag

    def _store_for(self, sandbox: bool | None) -> SubmissionStore:
        return self.sandbox_store if self._use_sandbox(sandbox) else self.store

    def _dispute(
        self, processor: str, request: DisputeRequest | Mapping[str, Any] | None, fields: Any
    ) -> tuple[ProcessorInfo, DisputeRequest]:
        info = self.processor(processor)
        if isinstance(request, DisputeRequest):
            if fields:
                raise InvalidInputError("give either a DisputeRequest or keyword fields, not both")
            return info, request
        if request is not None and not isinstance(request, Mapping):
            raise InvalidInputError("submit_dispute() takes a DisputeRequest, a mapping or fields")
        return info, _validated(DisputeRequest, dict(request or {}) | dict(fields))

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
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidInputError("limit is a whole number from 1 to 10000")
        return self._store_for(sandbox).list(processor=pid, status=status, limit=limit)

    def dispute(self, id_or_key: int | str, *, sandbox: bool | None = None) -> SubmissionRecord:
        """One recorded submission by number or idempotency key."""
        if isinstance(id_or_key, bool) or not isinstance(id_or_key, int | str):
            raise InvalidInputError("a submission is named by its number or idempotency key")
        if isinstance(id_or_key, str) and (
            not 1 <= len(id_or_key) <= 100
            or not id_or_key.isprintable()
            or not _encodable(id_or_key)
        ):
            raise InvalidInputError("a submission is named by its number or idempotency key")
        found = self._store_for(sandbox).get(id_or_key)
        if found is None:
            raise InvalidInputError(f"no submission {short_echo(str(id_or_key))} in the store")
        return found

    def close(self) -> None:
        """Close every adapter's connections (a context manager does it for you)."""
        with self._adapters_lock:
            adapters = [a for a in self._adapters.values() if a is not None]
            self._adapters.clear()
        for adapter in adapters:
            adapter.close()
        with self._adapters_lock:
            stores = [self._store, self._sandbox_store]
            self._store = self._sandbox_store = None
        for store in stores:
            if store is not None:
                store.close()

    async def aclose(self) -> None:
        """Close every adapter's connections, async clients included."""
        with self._adapters_lock:
            adapters = [a for a in self._adapters.values() if a is not None]
            self._adapters.clear()
        for adapter in adapters:
            await adapter.aclose()
        self.close()

    def __enter__(self) -> Payhelp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- policies ---------------------------------------------------------------------------

    def _language_or_default(self, language: Language | None) -> Language:
        if language is not None and language not in LANGUAGES:
            raise InvalidInputError(f"language must be one of {', '.join(LANGUAGES)}")
        return language or self.language

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
        if isinstance(facts, RefundFacts):
            if fields:
                raise InvalidInputError("give either RefundFacts or keyword fields, not both")
            checked = facts
        else:
            if facts is not None and not isinstance(facts, Mapping):
                raise InvalidInputError("refund_check() takes RefundFacts, a mapping, or fields")
            checked = _validated(RefundFacts, dict(facts or {}) | fields)
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
        if len(code) > 1000 or not code.isprintable() or not _encodable(code):
            raise InvalidInputError(
                "a decline code is one line of printable text, e.g. '2001' or '05'"
            )
        if mask_card_numbers(code) != code:
            raise CardNumberError("the decline code holds a card number; give the code alone")
        table = self.decline_scheme(scheme)
        lang = self._language_or_default(language)
        card_network = _network(network)
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
            advice_code=_advice_code(advice_code),
            advice_codes=self.advice_codes,
            visa_category=_visa_category(visa_category),
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

    def _self_service(self, info: ProcessorInfo) -> LookupResult:
        directory = self._directories[info.id]
        language = self.language
        by_kind = {c.kind: c for c in reversed(directory.channels.values())}
        page = by_kind.get(ChannelKind.LOOKUP_PAGE) or by_kind.get(ChannelKind.WEB_FORM)
        if page is None:
            return LookupResult(
                processor=info.id,
                status=PaymentStatus.UNKNOWN,
                source="self_service",
                message=render(_NO_PAGE, language).format(name=info.name),
            )
        how = _LOOKUP_PAGE if page.kind is ChannelKind.LOOKUP_PAGE else _WEB_FORM
        return LookupResult(
            processor=info.id,
            status=PaymentStatus.UNKNOWN,
            source="self_service",
            self_service=SelfService(
                url=page.value,  # type: ignore[arg-type]  # validated https URL
                fields=tuple(render(f, language) for f in page.fields),
                instructions=render(how, language).format(name=info.name),
            ),
        )


def _encodable(text: str) -> bool:
    """Whether ``text`` is real text (no lone surrogates, which no file or terminal can take)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _validated(model: type[_M], data: Mapping[str, Any]) -> _M:
    """Validate caller-supplied fields leniently (strings for enums and dates are fine) and turn
    a failure into one clear :class:`InvalidInputError`."""
    try:
        return model.model_validate(data, strict=False)
    except ValidationError as exc:
        raise invalid_input(exc) from None


def _plugin_pairs(plugins: object) -> list[tuple[str, object]]:
    """``plugins=`` as ``(name, plugin)`` pairs; :class:`InvalidInputError` for anything else."""
    if isinstance(plugins, str | bytes | Mapping) or not isinstance(plugins, Iterable):
        raise InvalidInputError("plugins is a list of (name, plugin) pairs")
    pairs = list(plugins)
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise InvalidInputError("plugins is a list of (name, plugin) pairs")
    return pairs


def _sandbox_flag(value: object) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise InvalidInputError("sandbox is True, False or None")
    return value


def _query(query: object, fields: Mapping[str, Any]) -> LookupQuery:
    if query is None:
        return _validated(LookupQuery, fields)
    if fields:
        raise InvalidInputError("give either a LookupQuery or keyword fields, not both")
    if isinstance(query, LookupQuery):
        return query
    if isinstance(query, Mapping):
        return _validated(LookupQuery, query)
    raise InvalidInputError("lookup() takes a LookupQuery, a mapping or keyword fields")


def _network(value: Network | str | None) -> Network | None:
    if value is None or isinstance(value, Network):
        return value
    try:
        return Network(str(value).strip().lower())
    except ValueError:
        known = ", ".join(n.value for n in Network)
        raise InvalidInputError(
            f"unknown card network {short_echo(str(value))} (known: {known})"
        ) from None


async def _paced(stream: Iterator[str]) -> AsyncIterator[str]:
    """``stream``'s lines, letting other tasks run every thousand lines of a long stream."""
    for count, line in enumerate(stream, start=1):
        yield line
        if count % 1000 == 0:
            await asyncio.sleep(0)


def _advice_code(value: object) -> str | None:
    """A merchant advice code as given (a number is read as its two digits: ``3`` is ``03``);
    :func:`~payhelp.policies.advice.explain` checks its form."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 99:
        return f"{value:02d}"
    raise InvalidInputError("a merchant advice code is two digits, e.g. '03' or '24'")


_VISA_CATEGORIES: dict[str, VisaCategory] = {"1": 1, "2": 2, "3": 3, "4": 4}


def _visa_category(value: object) -> VisaCategory | None:
    """Visa's reattempt category as given: 1, 2, 3 or 4 (a digit string is read as its number)."""
    if value is None:
        return None
    found = None if isinstance(value, bool) else _VISA_CATEGORIES.get(str(value).strip())
    if found is None:
        raise InvalidInputError(
            f"Visa's reattempt category is 1, 2, 3 or 4; got {short_echo(str(value))}"
        )
    return found


def parse_moment(value: datetime | str, name: str) -> datetime:
    """An aware datetime from a datetime or an ISO 8601 string; naive times are refused with an
    :class:`InvalidInputError` naming ``name`` (a parameter, or a CLI option)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInputError(
                f"{name}: not an ISO 8601 time; write e.g. 2026-11-22T10:00:00Z"
            ) from None
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{name} is a datetime or an ISO 8601 string")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(f"{name} needs a time zone, e.g. 2026-11-22T10:00:00+01:00 or …Z")
    return value


def _transaction(
    transaction: Transaction | Mapping[str, Any] | None, fields: Mapping[str, Any]
) -> Transaction:
    if isinstance(transaction, Transaction):
        if fields:
            raise InvalidInputError("give either a Transaction or keyword fields, not both")
        return transaction
    if transaction is not None and not isinstance(transaction, Mapping):
        raise InvalidInputError("route() takes a Transaction, a mapping, or keyword fields")
    data = dict(transaction or {}) | dict(fields)
    return _validated(Transaction, data)


class AsyncPayhelp:
    """The async twin of :class:`Payhelp`: the same methods, awaitable. Routing and contact plans
    are pure computation and run inline; lookups and submissions will await their I/O."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sync = Payhelp(*args, **kwargs)

    @classmethod
    def from_config(cls, path: str | os.PathLike[str], **overrides: Any) -> AsyncPayhelp:
        """Build from a TOML file; keyword arguments win over the file and the environment."""
        return cls(config=path, **overrides)

    @property
    def settings(self) -> Settings:
        """The settings in force."""
        return self.sync.settings

    async def processors(self) -> list[ProcessorInfo]:
        """Every registered processor, by id."""
        return self.sync.processors()

    async def processor(self, processor_id: str) -> ProcessorInfo:
        """One processor's metadata."""
        return self.sync.processor(processor_id)

    async def directory(self, processor_id: str) -> ContactDirectory:
        """A processor's contact directory after the platform's overrides."""
        return self.sync.directory(processor_id)

    async def plugins(self, *, check: bool = False) -> list[PluginRecord]:
        """Every plugin tried, with its version, hooks, processors and any load error."""
        return await asyncio.to_thread(self.sync.plugins, check=check)

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
        **fields: Any,
    ) -> LookupResult:
        """Find a payment, or say where the customer can look it up."""
        return await self.sync.alookup(processor, query, sandbox=sandbox, **fields)

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
        """File a refund or dispute request exactly once."""
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
        """The submissions recorded, newest first."""
        return await asyncio.to_thread(
            self.sync.disputes, processor=processor, status=status, limit=limit, sandbox=sandbox
        )

    async def dispute(
        self, id_or_key: int | str, *, sandbox: bool | None = None
    ) -> SubmissionRecord:
        """One recorded submission."""
        return await asyncio.to_thread(self.sync.dispute, id_or_key, sandbox=sandbox)

    async def adapter(self, processor: str, *, sandbox: bool | None = None) -> ApiAdapter | None:
        """The processor's API adapter, or ``None``."""
        return self.sync.adapter(processor, sandbox=sandbox)

    async def aclose(self) -> None:
        """Close every adapter's connections."""
        await self.sync.aclose()

    async def __aenter__(self) -> AsyncPayhelp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

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
