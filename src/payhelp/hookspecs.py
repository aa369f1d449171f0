"""The hook specifications: the whole contract between payhelp and a processor plugin.

A plugin is a module (or object) with functions named like these hooks and marked with
:data:`payhelp.hookimpl`. Only the hooks a plugin needs are implemented; pluggy checks the
signatures when the plugin is registered and :meth:`PluginManager.check_pending` fails loudly on a
misspelled hook.

Implementations are called last-registered-first; never rely on that order. The ``firstresult``
hooks stop at the first implementation that returns something other than ``None``, so an
implementation must return ``None`` for any processor that is not its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import pluggy

if TYPE_CHECKING:
    from payhelp.cases import DisputeRequest, LookupQuery, LookupResult, SubmissionReceipt
    from payhelp.channels import ContactDirectory, ContactPlan
    from payhelp.i18n import Language
    from payhelp.models import ProcessorInfo
    from payhelp.policies.declines import DeclineScheme
    from payhelp.policies.refunds import RefundRule

PROJECT = "payhelp"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class RegisterProcessor(Protocol):
    """The callback handed to :func:`payhelp_register_processors`."""

    def __call__(self, info: ProcessorInfo, directory: ContactDirectory) -> None:
        """Register one processor's metadata and contact directory."""


class RegisterDeclineScheme(Protocol):
    """The callback handed to :func:`payhelp_register_decline_schemes`."""

    def __call__(self, scheme: DeclineScheme) -> None:
        """Register one table of raw decline codes."""


@hookspec
def payhelp_register_processors(register: RegisterProcessor) -> None:
    """Register the processors this plugin knows, with their metadata and contact directory.

    Called once per plugin when the plugin manager is built. Call ``register`` once for each
    processor; a plugin installed through an entry point registers the processor whose id equals
    its entry-point name. Registration is data only: no network, no slow work.

    :param register: Callback taking a :class:`~payhelp.models.ProcessorInfo` and a
        :class:`~payhelp.channels.ContactDirectory`. It raises
        :class:`~payhelp.errors.PluginError` when the id is taken or the data is invalid.
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
def payhelp_lookup_payment(
    processor: ProcessorInfo,
    query: LookupQuery,
    settings: Mapping[str, object],
) -> LookupResult | None:
    """Find a payment at ``processor`` from what the customer or agent has in hand.

    Called for every lookup. An implementation with an API adapter asks the processor when its
    credentials are configured in ``settings``. When every implementation returns ``None``,
    payhelp itself answers with the processor's self-service lookup page (or web form) and the
    fields it asks for. Never invent data. Return ``None`` for any processor that is not yours.

    Stops at first non-None result.

    :param processor: The processor's metadata.
    :param query: What is known about the payment.
    :param settings: The processor's section of the configuration (base URL, credentials).
    :returns: The result, or ``None`` to leave it to another implementation.
    """


@hookspec(firstresult=True)
def payhelp_submit_dispute(
    processor: ProcessorInfo,
    request: DisputeRequest,
    idempotency_key: str,
    settings: Mapping[str, object],
) -> SubmissionReceipt | None:
    """Submit a refund or dispute request to ``processor``, exactly once.

    Called after payhelp has validated the request and recorded it under ``idempotency_key``. An
    implementation sends it through the processor's API, by email, or prepares the web form, and
    passes ``idempotency_key`` on wherever the processor accepts one. Return ``None`` for any
    processor that is not yours.

    Stops at first non-None result.

    :param processor: The processor's metadata.
    :param request: The validated request.
    :param idempotency_key: The key under which this request is recorded; the same request always
        carries the same key.
    :param settings: The processor's section of the configuration (base URL, credentials, SMTP).
    :returns: The receipt, or ``None`` to leave it to another implementation.
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
