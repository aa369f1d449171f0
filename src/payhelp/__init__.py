"""payhelp: sort out customers' billing problems across payment processors.

The embedding API is :class:`Payhelp` (:mod:`payhelp.api`) and its async twin
:class:`AsyncPayhelp` (:mod:`payhelp.aio`), with the same methods and parameters; plugin authors
need the registration call, :data:`hookimpl` and the models.
"""

from __future__ import annotations

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
