"""The policies customers meet every day: refund eligibility, decline advice and dunning.

Each policy is data a platform can change from configuration (see ``docs/policies.md``):

- :mod:`payhelp.policies.refunds` — refund rules and the engine that applies them;
- :mod:`payhelp.policies.declines` — decline-code tables (Braintree, ISO 8583, Stripe, a
  processor's own) and the normalised reasons;
- :mod:`payhelp.policies.advice` — what each reason means for customer and merchant, and whether
  the card may be charged again;
- :mod:`payhelp.policies.dunning` — the schedule after a failed subscription payment, as a state
  machine.
"""

from __future__ import annotations

from payhelp.policies.advice import ContactAdvice, DeclineAdvice, explain
from payhelp.policies.declines import (
    DeclineCode,
    DeclineReason,
    DeclineScheme,
    Fixer,
    Network,
    RetryCap,
    Severity,
    load_scheme,
)
from payhelp.policies.dunning import (
    AttemptResult,
    CardUpdated,
    ChargeAttempt,
    ChargeFailed,
    Dunning,
    DunningPlan,
    DunningPolicy,
    DunningState,
    FinalAction,
    FinalStep,
    ManualClock,
    Notification,
    Paid,
)
from payhelp.policies.refunds import (
    DEFAULT_POLICY,
    RefundDecision,
    RefundFacts,
    RefundOutcome,
    RefundPolicy,
    RefundRule,
)

__all__ = [
    "DEFAULT_POLICY",
    "AttemptResult",
    "CardUpdated",
    "ChargeAttempt",
    "ChargeFailed",
    "ContactAdvice",
    "DeclineAdvice",
    "DeclineCode",
    "DeclineReason",
    "DeclineScheme",
    "Dunning",
    "DunningPlan",
    "DunningPolicy",
    "DunningState",
    "FinalAction",
    "FinalStep",
    "Fixer",
    "ManualClock",
    "Network",
    "Notification",
    "Paid",
    "RefundDecision",
    "RefundFacts",
    "RefundOutcome",
    "RefundPolicy",
    "RefundRule",
    "RetryCap",
    "Severity",
    "explain",
    "load_scheme",
]
