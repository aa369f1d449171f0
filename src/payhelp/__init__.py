"""payhelp: sort out customers' billing problems across payment processors.

The embedding API is :class:`Payhelp` (:mod:`payhelp.api`) and its async twin
:class:`AsyncPayhelp` (:mod:`payhelp.aio`), with the same methods and parameters; plugin authors
need the registration call, :data:`hookimpl` and the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from payhelp import _lazy

if TYPE_CHECKING:
    from payhelp.aio import AsyncPayhelp
    from payhelp.api import Payhelp
    from payhelp.cases import (
        DisputeReason,
        DisputeRequest,
        LookupQuery,
        LookupResult,
        PaymentStatus,
        SelfService,
        SubmissionReceipt,
    )
    from payhelp.channels import (
        Audience,
        ChannelKind,
        ChannelRoute,
        ContactChannel,
        ContactDirectory,
        ContactPlan,
        PlannedChannel,
        RouteStep,
    )
    from payhelp.config import ProcessorOverrides, Settings
    from payhelp.errors import (
        CapabilityError,
        ConfigurationError,
        InvalidInputError,
        PayhelpError,
        PluginError,
        PluginLoadError,
        PluginLoadWarning,
        UnknownProcessorError,
    )
    from payhelp.geo import Region
    from payhelp.hookspecs import hookimpl, hookspec
    from payhelp.i18n import Domain, Msg
    from payhelp.models import (
        Capabilities,
        Confidence,
        DescriptorHint,
        IdFormat,
        IdKind,
        Money,
        ProcessorInfo,
        Product,
        ProductKind,
        ProductRule,
        Provenance,
        PublicApi,
        RouteCandidate,
        RouteDecision,
        SubscriptionPeriod,
        Transaction,
    )

#: Where each public name lives: imported on first access (PEP 562), so that `import payhelp`
#: (every plugin does it for hookimpl) loads neither the HTTP layer nor the store nor every model.
_LAZY: dict[str, str] = {
    "AsyncPayhelp": "payhelp.aio",
    "Audience": "payhelp.channels",
    "Capabilities": "payhelp.models",
    "CapabilityError": "payhelp.errors",
    "ChannelKind": "payhelp.channels",
    "ChannelRoute": "payhelp.channels",
    "Confidence": "payhelp.models",
    "ConfigurationError": "payhelp.errors",
    "ContactChannel": "payhelp.channels",
    "ContactDirectory": "payhelp.channels",
    "ContactPlan": "payhelp.channels",
    "DescriptorHint": "payhelp.models",
    "DisputeReason": "payhelp.cases",
    "DisputeRequest": "payhelp.cases",
    "Domain": "payhelp.i18n",
    "IdFormat": "payhelp.models",
    "IdKind": "payhelp.models",
    "InvalidInputError": "payhelp.errors",
    "LookupQuery": "payhelp.cases",
    "LookupResult": "payhelp.cases",
    "Money": "payhelp.models",
    "Msg": "payhelp.i18n",
    "Payhelp": "payhelp.api",
    "PayhelpError": "payhelp.errors",
    "PaymentStatus": "payhelp.cases",
    "PlannedChannel": "payhelp.channels",
    "PluginError": "payhelp.errors",
    "PluginLoadError": "payhelp.errors",
    "PluginLoadWarning": "payhelp.errors",
    "ProcessorInfo": "payhelp.models",
    "ProcessorOverrides": "payhelp.config",
    "Product": "payhelp.models",
    "ProductKind": "payhelp.models",
    "ProductRule": "payhelp.models",
    "Provenance": "payhelp.models",
    "PublicApi": "payhelp.models",
    "Region": "payhelp.geo",
    "RouteCandidate": "payhelp.models",
    "RouteDecision": "payhelp.models",
    "RouteStep": "payhelp.channels",
    "SelfService": "payhelp.cases",
    "Settings": "payhelp.config",
    "SubmissionReceipt": "payhelp.cases",
    "SubscriptionPeriod": "payhelp.models",
    "Transaction": "payhelp.models",
    "UnknownProcessorError": "payhelp.errors",
    "hookimpl": "payhelp.hookspecs",
    "hookspec": "payhelp.hookspecs",
}


__getattr__, __dir__ = _lazy.exports(__name__, _LAZY, globals())


__all__ = [
    "AsyncPayhelp",
    "Audience",
    "Capabilities",
    "CapabilityError",
    "ChannelKind",
    "ChannelRoute",
    "Confidence",
    "ConfigurationError",
    "ContactChannel",
    "ContactDirectory",
    "ContactPlan",
    "DescriptorHint",
    "DisputeReason",
    "DisputeRequest",
    "Domain",
    "IdFormat",
    "IdKind",
    "InvalidInputError",
    "LookupQuery",
    "LookupResult",
    "Money",
    "Msg",
    "Payhelp",
    "PayhelpError",
    "PaymentStatus",
    "PlannedChannel",
    "PluginError",
    "PluginLoadError",
    "PluginLoadWarning",
    "ProcessorInfo",
    "ProcessorOverrides",
    "Product",
    "ProductKind",
    "ProductRule",
    "Provenance",
    "PublicApi",
    "Region",
    "RouteCandidate",
    "RouteDecision",
    "RouteStep",
    "SelfService",
    "Settings",
    "SubmissionReceipt",
    "SubscriptionPeriod",
    "Transaction",
    "UnknownProcessorError",
    "hookimpl",
    "hookspec",
]
