"""Lookup wiring: how a lookup reaches a processor, or says where the customer can look.

For each processor :class:`Lookups` builds its adapter once, from the platform's settings for
it: the core's driver over the API registered with the processor (or, for a plugin of the old
contract, what ``payhelp_adapter`` gives), pointed at the in-process sandbox when the call asks
for it. A processor with no adapter, or no credentials configured, is answered from its contact
directory, never invented: its lookup page or support form and the fields it asks for, or, when
it has neither, the channel to write to (the first of the customer's contact plan when the
query gives their country, else of the processor's default route) named in the message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType

import phonenumbers

from payhelp.adapters import ApiAdapter
from payhelp.cases import LookupQuery, LookupResult, PaymentStatus, SelfService
from payhelp.channels import ChannelKind, ContactDirectory, PlannedChannel
from payhelp.errors import CapabilityError
from payhelp.i18n import N_, Language, render
from payhelp.models import ProcessorInfo
from payhelp.plugins import PluginHost
from payhelp.sandbox import Behaviour, SandboxTransport, sandbox_base_url

_LOOKUP_PAGE = N_("Look the purchase up on {name}'s page with the details it asks for.")
_WEB_FORM = N_("Describe the problem in {name}'s support form; it asks for the details it needs.")
_WRITE = N_("{name} offers no lookup page; write to {address} with the details of the payment.")
_CALL = N_("{name} offers no lookup page; call {address} with the details of the payment at hand.")
_CHAT = N_(
    "{name} offers no lookup page; open its chat at {address} with the details of the payment."
)
_ASK = N_(
    "{name} offers no lookup page; ask its support at {address} with the details of the payment."
)
_NOWHERE = N_(
    "{name} offers no lookup page and lists no channel for this customer; the platform's own "
    "support can forward the request."
)
_BY_KIND = {ChannelKind.EMAIL: _WRITE, ChannelKind.PHONE: _CALL, ChannelKind.LIVE_CHAT: _CHAT}


class Lookups:
    """Finds payments for one :class:`~payhelp.api.Payhelp`, and holds its adapters.

    :param host: The loaded plugins.
    :param directories: Contact directories after the platform's overrides, by processor id.
    :param processor_settings: A processor id's settings for its plugin (a fresh dict).
    :param behaviour: The sandboxes' behaviour now (read at each adapter built against one).
    :param contact_plan: The customer's contact plan (``Payhelp.contacts``, so plugins that
        shape plans are heard).
    """

    def __init__(
        self,
        host: PluginHost,
        directories: Mapping[str, ContactDirectory],
        processor_settings: Callable[[str], dict[str, object]],
        behaviour: Callable[[], Behaviour],
        contact_plan: Callable[[str, str, Language], tuple[PlannedChannel, ...]],
    ) -> None:
        self._host = host
        self._directories = directories
        self._processor_settings = processor_settings
        self._behaviour = behaviour
        self._contact_plan = contact_plan
        self._adapters: dict[tuple[str, bool], ApiAdapter | None] = {}
        self._lock = threading.Lock()

    def adapter(self, info: ProcessorInfo, *, sandbox: bool) -> ApiAdapter | None:
        """The processor's adapter, built once from its settings (or against its sandbox);
        ``None`` when it has none or no credentials are configured. :class:`CapabilityError`
        when the sandbox is asked of a processor that has none."""
        key = (info.id, sandbox)
        with self._lock:
            if key in self._adapters:
                return self._adapters[key]
            settings = self._processor_settings(info.id)
            if sandbox:
                box = self._host.sandbox(info)
                if box is None:
                    raise CapabilityError(
                        f"{info.name} has no sandbox: payhelp knows no API of it to imitate",
                        processor=info.id,
                    )
                transport = SandboxTransport(box, self._behaviour())
                # An in-process sandbox is this process's alone: its schedule is too.
                settings.pop("rate_schedule", None)
                settings |= {
                    "sandbox": True,
                    "base_url": sandbox_base_url(info.id),
                    "transport": transport,
                    "async_transport": transport,
                }
            # Plugins read their settings; they must not change the platform's configuration.
            adapter = self._host.adapter(info, MappingProxyType(settings))
            self._adapters[key] = adapter
            return adapter

    def lookup(
        self, info: ProcessorInfo, query: LookupQuery, *, sandbox: bool, language: Language
    ) -> LookupResult:
        """Through the processor's adapter when it has one, else from its directory."""
        adapter = self.adapter(info, sandbox=sandbox)
        if adapter is None:
            return self.self_service(info, query, language)
        return adapter.lookup(query)

    async def alookup(
        self, info: ProcessorInfo, query: LookupQuery, *, sandbox: bool, language: Language
    ) -> LookupResult:
        """:meth:`lookup` over the adapter's async client."""
        adapter = self.adapter(info, sandbox=sandbox)
        if adapter is None:
            return self.self_service(info, query, language)
        return await adapter.alookup(query)

    def self_service(
        self, info: ProcessorInfo, query: LookupQuery, language: Language
    ) -> LookupResult:
        """Where the customer can find the payment without the processor's API: its lookup
        page or support form; failing both, the channel to write to, in the message too."""
        directory = self._directories[info.id]
        by_kind = {c.kind: c for c in reversed(directory.channels.values())}
        page = by_kind.get(ChannelKind.LOOKUP_PAGE) or by_kind.get(ChannelKind.WEB_FORM)
        if page is None:
            if query.country is not None:
                planned = self._contact_plan(info.id, query.country, language)
                channel = planned[0] if planned else None
            else:
                channel = default_channel(directory, language)
            text = _NOWHERE if channel is None else _BY_KIND.get(channel.kind, _ASK)
            address = channel.value if channel is not None else ""
            return LookupResult(
                processor=info.id,
                status=PaymentStatus.UNKNOWN,
                source="self_service",
                channel=channel,
                message=render(text, language).format(name=info.name, address=address),
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

    def close(self) -> None:
        """Close every adapter's connections; the next lookup builds them again."""
        for adapter in self._take():
            adapter.close()

    async def aclose(self) -> None:
        """Close every adapter's connections, async clients included."""
        for adapter in self._take():
            await adapter.aclose()

    def _take(self) -> list[ApiAdapter]:
        with self._lock:
            adapters = [a for a in self._adapters.values() if a is not None]
            self._adapters.clear()
        return adapters


def default_channel(directory: ContactDirectory, language: Language) -> PlannedChannel | None:
    """The first channel of the processor's route for everyone (the one a customer of an
    unknown country is given), or ``None`` when no route or channel serves everyone. A phone is
    written in international form, since nobody knows where it is dialled from."""
    route = next((r for r in directory.routes if r.audience.everyone), None)
    if route is None:
        return None
    for step in route.steps:
        channel = directory.channels[step.channel]
        if not channel.serves.everyone:
            continue
        is_phone = channel.kind is ChannelKind.PHONE
        value = channel.value
        if is_phone:
            number = phonenumbers.parse(channel.value, None)
            value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return PlannedChannel(
            key=step.channel,
            kind=channel.kind,
            value=value,
            e164=channel.value if is_phone else None,
            toll_free=False,
            charges_may_apply=channel.charges_may_apply or is_phone,
            reason=render(step.reason, language),
            languages=tuple(channel.languages),
            hours=channel.hours,
            fields=tuple(render(field, language) for field in channel.fields),
            provenance=channel.provenance,
        )
    return None
