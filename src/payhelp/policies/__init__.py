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

from typing import TYPE_CHECKING

from payhelp import _lazy

if TYPE_CHECKING:
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

#: Where each public name lives, imported on first access: the settings of a command that never
#: applies a policy (``contacts``, ``route``) load none of the engines or their tables.
_HOMES: dict[str, str] = {
    "ContactAdvice": "payhelp.policies.advice",
    "DeclineAdvice": "payhelp.policies.advice",
    "explain": "payhelp.policies.advice",
    "DeclineCode": "payhelp.policies.declines",
    "DeclineReason": "payhelp.policies.declines",
    "DeclineScheme": "payhelp.policies.declines",
    "Fixer": "payhelp.policies.declines",
    "Network": "payhelp.policies.declines",
    "RetryCap": "payhelp.policies.declines",
    "Severity": "payhelp.policies.declines",
    "load_scheme": "payhelp.policies.declines",
    "AttemptResult": "payhelp.policies.dunning",
    "CardUpdated": "payhelp.policies.dunning",
    "ChargeAttempt": "payhelp.policies.dunning",
    "ChargeFailed": "payhelp.policies.dunning",
    "Dunning": "payhelp.policies.dunning",
    "DunningPlan": "payhelp.policies.dunning",
    "DunningPolicy": "payhelp.policies.dunning",
    "DunningState": "payhelp.policies.dunning",
    "FinalAction": "payhelp.policies.dunning",
    "FinalStep": "payhelp.policies.dunning",
    "ManualClock": "payhelp.policies.dunning",
    "Notification": "payhelp.policies.dunning",
    "Paid": "payhelp.policies.dunning",
    "DEFAULT_POLICY": "payhelp.policies.refunds",
    "RefundDecision": "payhelp.policies.refunds",
    "RefundFacts": "payhelp.policies.refunds",
    "RefundOutcome": "payhelp.policies.refunds",
    "RefundPolicy": "payhelp.policies.refunds",
    "RefundRule": "payhelp.policies.refunds",
}

__getattr__, __dir__ = _lazy.exports(__name__, _HOMES, globals())

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
