"""The hook specifications: the whole contract between payhelp and a processor plugin.

A plugin is a module (or object) with functions named like these hooks and marked with
:data:`payhelp.hookimpl`. Only the hooks a plugin needs are implemented; pluggy checks the
signatures when the plugin is registered, and a plugin with a misspelled hook is not loaded.
Hook wrappers are not supported.

A processor's API and sandbox are not hooks: they are registered with its metadata, in
``register(info, directory, api=..., sandbox=...)`` (see :class:`RegisterProcessor` and
:class:`~payhelp.adapters.ProcessorApi`), and payhelp looks them up by processor id. The old
fan-out hooks ``payhelp_adapter`` and ``payhelp_sandbox`` are deprecated: kept working for one
release, with a ``DeprecationWarning`` the first time each is answered, and never asked for a
processor registered with an ``api``.

A hook about one processor (``payhelp_contact_plan``, ``payhelp_adapter``, ``payhelp_sandbox``,
``payhelp_refund_rules``) is asked of the plugin that registered that processor, of the plugins
the platform registers in code without a processor of their own, and of payhelp's built-in
defaults; never of another installed plugin. Each implementation is called on its own: one that
raises (anything but a :class:`~payhelp.errors.PayhelpError`, which reaches the caller as it is)
or returns the wrong type fails that call with a :class:`~payhelp.errors.PluginError` naming its
plugin, is recorded for ``payhelp plugins``, and leaves the other processors working.

The ``firstresult`` hooks stop at the first implementation that returns something other than
``None``, so an implementation must still return ``None`` for any processor that is not its own.
Never rely on the order implementations are called in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import pluggy

if TYPE_CHECKING:
    from payhelp.adapters import ApiAdapter, ProcessorApi
    from payhelp.channels import ContactDirectory, ContactPlan
    from payhelp.i18n import Language
    from payhelp.models import ProcessorInfo
    from payhelp.notifications import NotificationEvent, NotificationFactory
    from payhelp.policies.declines import DeclineScheme
    from payhelp.policies.refunds import RefundRule
    from payhelp.sandbox import Sandbox

PROJECT = "payhelp"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class RegisterProcessor(Protocol):
    """The callback handed to :func:`payhelp_register_processors`."""

    def __call__(
        self,
        info: ProcessorInfo,
        directory: ContactDirectory,
        *,
        api: type[ProcessorApi] | None = None,
        sandbox: Callable[[], Sandbox] | None = None,
        notifications: NotificationFactory | None = None,
    ) -> None:
        """Register one processor's metadata and contact directory, and, when it has a public
        merchant API, the :class:`~payhelp.adapters.ProcessorApi` subclass that speaks it and
        the sandbox that imitates it (a :class:`~payhelp.sandbox.Sandbox` class or a function
        building one). The processor's ``api_lookup`` and ``api_submission`` capabilities and
        its ``public_api`` record are derived from ``api``. ``notifications`` reads what the
        processor sends back (postbacks, IPN): a
        :class:`~payhelp.notifications.NotificationFormat` subclass or a function building one
        from the processor's settings; the ``notifications`` capability is derived from it."""


class RegisterDeclineScheme(Protocol):
    """The callback handed to :func:`payhelp_register_decline_schemes`."""

    def __call__(self, scheme: DeclineScheme) -> None:
        """Register one table of raw decline codes."""


@hookspec
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register the processors this plugin knows, with their metadata and contact directory.

    Called once per plugin when the plugin manager is built. Call ``register`` once for each
    processor; a plugin installed through an entry point registers the processor whose id equals
    its entry-point name (one that registers none is loaded with a problem in its record).
    Registration is data only: no network, no slow work. payhelp waits at most two seconds for
    it (the plugin is then reported and not loaded, and what it registers later is ignored) and
    reports a registration slower than half a second. Every field of the models is described in
    docs/fields.md.

    :param register: Callback taking a :class:`~payhelp.models.ProcessorInfo`, a
        :class:`~payhelp.channels.ContactDirectory` and, for a processor with a public API, the
        ``api`` and ``sandbox`` keywords. It raises :class:`~payhelp.errors.PluginError`, saying
        what to fix, when the id is taken, the API is incomplete, or the data still holds a
        placeholder of ``payhelp plugin new`` (a ``TODO``, an address on ``.invalid``).
    :returns: Nothing; results go through ``register``.
    """


@hookspec(firstresult=True)
def payhelp_contact_plan(
    processor: ProcessorInfo,
    directory: ContactDirectory,
    country: str,
    language: Language,
) -> ContactPlan | None:
    """Build the contact plan for a customer of ``processor`` in ``country``.

    Called each time a plan is asked for, with the directory as the platform's configuration has
    left it. payhelp's built-in implementation (``trylast``) builds the plan from the directory's
    routes, so a plugin implements this only when its processor's rules cannot be written as data.
    Return ``None`` for any processor that is not yours.

    Stops at first non-None result.

    :param processor: The processor's metadata.
    :param directory: Its contact directory, after configuration overrides.
    :param country: The customer's ISO 3166-1 alpha-2 country code, already validated.
    :param language: The language every text of the plan must be rendered in.
    :returns: The plan, or ``None`` to leave it to another implementation.
    """


@hookspec(firstresult=True)
def payhelp_adapter(processor: ProcessorInfo, settings: Mapping[str, object]) -> ApiAdapter | None:
    """Deprecated (kept for one release): give the API adapter for ``processor``.

    Register the API with the processor instead, ``register(info, directory, api=MyApi,
    sandbox=MySandbox)`` with a :class:`~payhelp.adapters.ProcessorApi` subclass, and delete
    this hook: payhelp never asks it for a processor registered with an ``api``, and warns
    (``DeprecationWarning``, once per plugin) when a plugin still answers it.

    Called the first time payhelp needs to talk to the processor (the adapter is then reused).
    Return an :class:`~payhelp.adapters.ApiAdapter` built from ``settings`` when they hold the
    processor's credentials, or ask for the sandbox (``sandbox`` is true; ``base_url`` and
    ``transport`` / ``async_transport`` then point at it); return ``None`` when they do not, and
    for any processor that is not yours. Without an adapter payhelp answers lookups from the
    processor's self-service page and submits by email (or prepares the web form). Never invent
    data: an adapter reports only what the processor answered.

    Stops at first non-None result.

    :param processor: The processor's metadata.
    :param settings: The processor's section of the configuration (base URL, credentials, rate
        limit), read-only; credentials may also come from ``PAYHELP_<ID>_<NAME>`` variables,
        which :meth:`~payhelp.adapters.ApiAdapter.from_settings` reads.
    :returns: The adapter, or ``None``.
    """


@hookspec(firstresult=True)
def payhelp_sandbox(processor: ProcessorInfo) -> Sandbox | None:
    """Deprecated (kept for one release): give the sandbox that imitates ``processor``'s API.

    Register the sandbox with the processor and its API instead (``register(info, directory,
    api=MyApi, sandbox=MySandbox)``) and delete this hook: payhelp never asks it for a processor
    registered with an ``api``, and warns (``DeprecationWarning``, once per plugin) when a plugin
    still answers it.

    Called when the sandbox is asked for (``--sandbox``, ``Payhelp(sandbox=True)``,
    ``payhelp sandbox serve``). The sandbox answers deterministic ids for each case (approved,
    declined for each reason, refunded, chargeback, not found, slow, failing) so that
    integrators can test without credentials. Return ``None`` for any processor that is not yours.

    Stops at first non-None result.

    :param processor: The processor's metadata.
    :returns: A :class:`~payhelp.sandbox.Sandbox`, or ``None``.
    """


@hookspec
def payhelp_register_decline_schemes(register: RegisterDeclineScheme) -> None:
    """Register the decline-code tables this plugin knows, so raw codes can be explained.

    Called once per plugin, the first time a decline is explained (not at start-up). A processor
    plugin registers its processor's own codes, where the processor documents them, as a scheme
    whose id is the processor id (or starts with it and ``_``); payhelp's built-in plugin
    registers ``braintree``, ``iso8583`` and ``stripe`` the same way. Each code names one
    normalised :class:`~payhelp.policies.declines.DeclineReason`; the advice itself is payhelp's.
    Build tables with :func:`~payhelp.policies.declines.load_scheme` from a TOML file shipped in
    the plugin, with the source of every table.

    :param register: Callback taking a :class:`~payhelp.policies.declines.DeclineScheme`. It
        raises :class:`~payhelp.errors.PluginError` when the id is taken or not the plugin's own.
    :returns: Nothing; results go through ``register``.
    """


@hookspec
def payhelp_refund_rules(processor: ProcessorInfo) -> Sequence[RefundRule] | None:
    """Add ``processor``'s own refund rules to the platform's policy.

    Called each time a refund request names its processor. The rules are checked after the
    platform's, and like every rule they can only hold a request back (``needs_info``,
    ``needs_review``, ``not_eligible``), never make it eligible. Every implementation is called
    and the rules of all are used: return ``None`` (or nothing) for a processor that is not
    yours.

    :param processor: The processor that took the payment.
    :returns: The processor's rules, or ``None``.
    """


@hookspec
def payhelp_notification_received(event: NotificationEvent, confirmed: Sequence[int]) -> None:
    """Hear of each notification (postback, IPN) payhelp verified, stored and applied.

    Called once per event, after it was stored and applied, never for a repeated delivery or a
    refused one; in the thread that received it, so keep it short (queue the work). An exception
    is reported as a warning and changes nothing: the event stays stored and applied. A platform
    that does not write a plugin passes ``on_event=`` to :class:`~payhelp.api.Payhelp` instead.

    :param event: The normalised event (card numbers masked in its payload).
    :param confirmed: The numbers of the submissions it confirmed (a refund for a request payhelp
        sent), empty when none.
    :returns: Nothing; what the hook answers is ignored.
    """
