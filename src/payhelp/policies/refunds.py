"""Refund eligibility: a policy of rules written as data, and the engine that applies it.

A rule names the products it covers, one condition, and the outcome when the condition holds. The
engine checks every rule against the facts of a request; the answer is the worst outcome among the
rules that fired (``not_eligible`` > ``needs_info`` > ``needs_review`` > ``eligible``), with each
fired rule and its message for the customer. No rule can make an answer *better*, and the only
time-dependent condition is "more than N hours have passed", so an answer never improves as time
goes by: later is never more eligible than sooner.

The current time is a fact like the others (``now``), so the same request always gets the same
answer.

A refund is always of the whole amount paid. A request for part of it is answered, not refused:
the default sends it to review and the answer's ``eligible_amount`` says what can be refunded
(the whole amount) when no other rule holds the request back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from string import Formatter
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, model_validator

from payhelp._base import Identifier, Lax, Model
from payhelp.i18n import N_, Language, Msg, Text, render
from payhelp.models import Money, ProcessorId, ProductKind


class RefundOutcome(StrEnum):
    """What the customer is told about a refund request."""

    ELIGIBLE = "eligible"
    """The request meets the policy: the full amount can be refunded."""
    NEEDS_REVIEW = "needs_review"
    """A person (support, or the model for tips and shows) must decide."""
    NEEDS_INFO = "needs_info"
    """Something is missing (receipt, motivation, minutes watched); ask for it and check again."""
    NOT_ELIGIBLE = "not_eligible"
    """The policy rules the refund out."""


#: Outcomes from best to worst for the customer; a decision is the worst outcome that fired.
SEVERITY: dict[RefundOutcome, int] = {
    RefundOutcome.ELIGIBLE: 0,
    RefundOutcome.NEEDS_REVIEW: 1,
    RefundOutcome.NEEDS_INFO: 2,
    RefundOutcome.NOT_ELIGIBLE: 3,
}


class ElapsedOver(Model):
    """Holds when more than ``hours`` have passed since the purchase was completed."""

    kind: Literal["elapsed_over"] = "elapsed_over"
    hours: float = Field(gt=0, le=24 * 366)
    """The refund window, in hours."""


class ViewedOver(Model):
    """Holds when the customer watched more than ``minutes`` of the show; unknown minutes make
    the rule ask for them (``needs_info``)."""

    kind: Literal["viewed_over"] = "viewed_over"
    minutes: float = Field(ge=0, le=24 * 60)
    """The most a customer may watch and still be refunded."""


class Missing(Model):
    """Holds when the customer has not given ``fact`` (or gave a motivation shorter than
    ``min_length`` characters)."""

    kind: Literal["missing"] = "missing"
    fact: Literal["receipt", "motivation", "model_consulted", "platform_fault"]
    """The fact that must be present."""
    min_length: int = Field(default=1, ge=1, le=2000)
    """For ``motivation``: the fewest characters that count as an explanation."""


class Flagged(Model):
    """Holds when the request has this property: bought off-site, asks for part of the amount,
    the model was consulted, or a platform fault is on record."""

    kind: Literal["flag"] = "flag"
    fact: Literal["off_site", "partial_amount", "model_consulted", "platform_fault"]
    """The property that rules the request in for this rule."""


class Always(Model):
    """Always holds, for products the policy treats one way whatever the facts."""

    kind: Literal["always"] = "always"


Condition = Annotated[
    ElapsedOver | ViewedOver | Missing | Flagged | Always, Field(discriminator="kind")
]

_RULE_ID = r"^[a-z][a-z0-9_.-]{1,63}$"


class RefundRule(Model):
    """One rule of a refund policy."""

    id: Annotated[str, Field(pattern=_RULE_ID)]
    """A stable id, shown with every answer (``refund_window``)."""
    when: Condition
    """The condition under which the rule fires."""
    outcome: Lax[RefundOutcome]
    """What the rule makes of the request when it fires (never ``eligible``)."""
    message: Text
    """What the customer is told when the rule fires. ``{hours}``, ``{minutes}`` and
    ``{deadline}`` are filled in."""
    products: tuple[Lax[ProductKind], ...] = ()
    """The products the rule covers; every product when empty."""
    source: str | None = None
    """Where the rule comes from (``platform policy``, a processor's terms)."""

    @model_validator(mode="after")
    def _restrictive(self) -> RefundRule:
        if self.outcome is RefundOutcome.ELIGIBLE:
            raise ValueError("a rule can only hold a request back; 'eligible' is what remains")
        texts = self.message.values() if isinstance(self.message, dict) else [self.message]
        plain = [t.msgid if isinstance(t, Msg) else t for t in texts]
        if not plain or any(not text.strip() for text in plain):
            raise ValueError(f"rule {self.id!r} needs a message for the customer")
        for text in plain:
            _check_template(self.id, text)
        return self

    def covers(self, product: ProductKind) -> bool:
        """Whether the rule applies to ``product``."""
        return not self.products or product in self.products


PLACEHOLDERS = frozenset({"hours", "minutes", "deadline"})


def _check_template(rule_id: str, text: str) -> None:
    """Refuse a message a customer would see broken: bad braces, unknown placeholders."""
    try:
        fields = [name for _, name, spec, conv in Formatter().parse(text) if name is not None]
        specs = [(spec, conv) for _, name, spec, conv in Formatter().parse(text) if name]
    except ValueError as exc:
        raise ValueError(f"rule {rule_id!r}: message is not a valid template ({exc})") from None
    unknown = sorted({name for name in fields if name not in PLACEHOLDERS})
    if unknown or any(spec or conv for spec, conv in specs):
        raise ValueError(
            f"rule {rule_id!r}: a message may use only {{hours}}, {{minutes}} and {{deadline}} "
            "(write {{ and }} for literal braces)"
        )


def _utc(value: datetime) -> datetime:
    """Compare and add in UTC: arithmetic on zoned times would follow the wall clock (DST)."""
    if not 1970 <= value.year <= 2200:
        raise ValueError("times must fall between the years 1970 and 2200")
    return value.astimezone(UTC)


_Motivation = Annotated[str, Field(max_length=4000)]


class RefundFacts(Model):
    """What is known about one refund request."""

    product: Lax[ProductKind]
    """What was bought."""
    purchased_at: Annotated[AwareDatetime, AfterValidator(_utc)]
    """When the purchase was completed (with its time zone; kept in UTC)."""
    now: Annotated[AwareDatetime, AfterValidator(_utc)]
    """The moment the request is judged at; passed in so answers are reproducible."""
    viewed_minutes: float | None = Field(default=None, ge=0, le=24 * 60)
    """For a show: how many minutes the customer watched."""
    receipt: bool = False
    """The customer attached a receipt of the completed purchase."""
    model_consulted: bool = False
    """The matter has been discussed with the model (tips, private shows)."""
    motivation: _Motivation | None = Field(default=None, repr=False)
    """The customer's explanation of what went wrong (not repeated in answers)."""
    off_site: bool = False
    """The product was bought somewhere other than the platform's own site."""
    platform_fault: Identifier | None = None
    """The reference of a platform fault on record that touched this purchase: the id of the
    incident or outage ticket (``INC-2041``), one line of 1 to 128 characters, never a card
    number. A reference rather than a yes/no, so that the reviewer can look the fault up and a
    request cannot claim one that nobody recorded. Static content is then reviewed instead of
    refused."""
    amount: Money | None = None
    """What was paid, when known."""
    requested: Money | None = None
    """What the customer asks back, when it is not simply everything; needs ``amount``, since a
    request for part of the amount is told apart from one for all of it only against it."""
    processor: ProcessorId | None = None
    """The processor that took the payment, when known; its plugin may add rules."""

    @model_validator(mode="after")
    def _consistent(self) -> RefundFacts:
        if self.now < self.purchased_at:
            raise ValueError("now is before purchased_at; check both times and their time zones")
        if self.requested is not None:
            if self.amount is None:
                raise ValueError("requested needs amount, what was paid, to be judged against")
            if self.requested.amount <= 0:
                raise ValueError("requested must be more than zero; leave it out to ask for all")
            if self.requested.currency != self.amount.currency:
                raise ValueError("requested and amount are in different currencies")
            if self.requested.amount > self.amount.amount:
                raise ValueError("requested is more than was paid")
        return self

    @property
    def elapsed(self) -> timedelta:
        """Time from the purchase to ``now``."""
        return self.now - self.purchased_at

    @property
    def partial(self) -> bool:
        """Whether the customer asks for less than the whole amount."""
        return (
            self.requested is not None
            and self.amount is not None
            and self.requested.amount < self.amount.amount
        )


class FiredRule(Model):
    """A rule that held for the request."""

    rule: str
    """The rule's id."""
    outcome: Lax[RefundOutcome]
    """What it made of the request."""
    message: str
    """What the customer is told, in the answer's language."""


class RefundDecision(Model):
    """The answer to a refund request."""

    decision: Lax[RefundOutcome]
    """The worst outcome among the rules that fired; ``eligible`` when none did."""
    reasons: tuple[FiredRule, ...]
    """Every rule that fired, worst first, in policy order within an outcome."""
    summary: str
    """One sentence for the customer, in the answer's language."""
    deadline: AwareDatetime | None
    """The last moment a request for this product can be eligible, when a time rule covers it."""
    refund: Money | None
    """What would be refunded, when eligible and the amount is known: the full amount, or what
    was asked under a policy that lets a request for part of it through (the default never
    does: see ``eligible_amount``)."""
    eligible_amount: Money | None = None
    """What the policy allows refunding, when the amount is known: always the full amount paid
    (refunds are of the whole amount, no adjustments), set when nothing but the policy's answer
    to a request for part of the amount holds the request back, so a customer who asked for
    less is told what can be refunded instead of being refused. ``None`` when another rule holds
    the request back, or a rule on partial requests rules it out."""
    requested: Money | None = None
    """What the customer asked back, as given (``None``: everything)."""
    checked_at: AwareDatetime
    """The ``now`` the request was judged at."""
    policy: str
    """The policy's name."""
    language: Language
    """The language of every text in the answer."""


_SUMMARY: dict[RefundOutcome, Text] = {
    RefundOutcome.ELIGIBLE: N_(
        "The purchase can be refunded in full; send the request with your receipt."
    ),
    RefundOutcome.NEEDS_REVIEW: N_(
        "A person must look at this request before a refund can be promised."
    ),
    RefundOutcome.NEEDS_INFO: N_("Some information is missing; add it and ask again."),
    RefundOutcome.NOT_ELIGIBLE: N_("This purchase cannot be refunded under the policy."),
}
_VIEWED_UNKNOWN = N_("Say how many minutes of the show you watched.")


class _Values(dict[str, str]):
    """Template values; a placeholder without a value is left as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class RefundPolicy(Model):
    """A named, ordered set of refund rules."""

    name: str = "platform default"
    """Shown in every answer."""
    rules: tuple[RefundRule, ...]
    """The rules, in the order their messages are shown."""

    @model_validator(mode="after")
    def _unique_ids(self) -> RefundPolicy:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"two rules have the id {rule.id!r}")
            seen.add(rule.id)
        return self

    def amended(
        self,
        *,
        add: tuple[RefundRule, ...] = (),
        disable: tuple[str, ...] = (),
        replace: bool = False,
        name: str | None = None,
    ) -> RefundPolicy:
        """A copy with ``disable`` removed and ``add`` applied: a rule whose id exists replaces
        it in place, a new id is appended. ``replace`` starts from no rules at all."""
        unknown = set(disable) - {rule.id for rule in self.rules}
        if unknown and not replace:
            raise ValueError(f"cannot disable unknown rules: {', '.join(sorted(unknown))}")
        if replace and disable:
            raise ValueError("disable has no effect when replace is true; drop one of them")
        ids = [rule.id for rule in add]
        twice = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
        if twice:
            raise ValueError(f"two added rules have the id {', '.join(map(repr, twice))}")
        base = [] if replace else [rule for rule in self.rules if rule.id not in disable]
        by_id = {rule.id: rule for rule in add}
        rules = [by_id.pop(rule.id, rule) for rule in base]
        rules.extend(rule for rule in add if rule.id in by_id)
        return RefundPolicy(name=name or self.name, rules=tuple(rules))

    def decide(
        self,
        facts: RefundFacts,
        language: Language,
        *,
        extra_rules: tuple[RefundRule, ...] = (),
    ) -> RefundDecision:
        """Judge ``facts``; ``extra_rules`` (a processor's) are checked after the policy's."""
        fired: list[FiredRule] = []
        rules = [rule for rule in (*self.rules, *extra_rules) if rule.covers(facts.product)]
        ends = [
            facts.purchased_at + timedelta(hours=rule.when.hours)
            for rule in rules
            if isinstance(rule.when, ElapsedOver)
        ]
        deadline = min(ends) if ends else None
        for rule in rules:
            found = _check(rule, facts)
            if found is None:
                continue
            outcome, message = found
            values = _Values(_template_values(rule, deadline))
            fired.append(
                FiredRule(
                    rule=rule.id,
                    outcome=outcome,
                    message=render(message, language).format_map(values),
                )
            )
        fired.sort(key=lambda f: -SEVERITY[f.outcome])  # stable: policy order within an outcome
        decision = fired[0].outcome if fired else RefundOutcome.ELIGIBLE
        refund = None
        if decision is RefundOutcome.ELIGIBLE:
            refund = facts.requested or facts.amount
        partial_ids = _partial_rules(rules)
        others = [
            f for f in fired if f.rule not in partial_ids or f.outcome is RefundOutcome.NOT_ELIGIBLE
        ]
        eligible_amount = None if others else facts.amount
        return RefundDecision(
            decision=decision,
            reasons=tuple(fired),
            summary=render(_SUMMARY[decision], language),
            deadline=deadline,
            refund=refund,
            eligible_amount=eligible_amount,
            requested=facts.requested,
            checked_at=facts.now,
            policy=self.name,
            language=language,
        )


def _check(rule: RefundRule, facts: RefundFacts) -> tuple[RefundOutcome, Text] | None:
    """The rule's outcome and message when it holds for ``facts``, else ``None``. A viewing rule
    that cannot be checked because the minutes are unknown asks for them."""
    when = rule.when
    holds: bool
    if isinstance(when, ElapsedOver):
        holds = facts.elapsed > timedelta(hours=when.hours)
    elif isinstance(when, ViewedOver):
        if facts.viewed_minutes is None:
            return RefundOutcome.NEEDS_INFO, _VIEWED_UNKNOWN
        holds = facts.viewed_minutes > when.minutes
    elif isinstance(when, Missing):
        if when.fact == "motivation":
            holds = len((facts.motivation or "").strip()) < when.min_length
        else:
            holds = not getattr(facts, when.fact)
    elif isinstance(when, Flagged):
        flagged = facts.partial if when.fact == "partial_amount" else getattr(facts, when.fact)
        holds = bool(flagged)
    else:
        holds = True
    return (rule.outcome, rule.message) if holds else None


def _partial_rules(rules: list[RefundRule]) -> set[str]:
    """Ids of the rules about asking for part of the amount."""
    return {r.id for r in rules if isinstance(r.when, Flagged) and r.when.fact == "partial_amount"}


def _template_values(rule: RefundRule, deadline: datetime | None) -> dict[str, str]:
    values: dict[str, str] = {}
    when = rule.when
    if isinstance(when, ElapsedOver):
        values["hours"] = _number(when.hours)
    if isinstance(when, ViewedOver):
        values["minutes"] = _number(when.minutes)
    if deadline is not None:
        values["deadline"] = deadline.isoformat(timespec="minutes")
    return values


def _number(value: float) -> str:
    return format(Decimal(str(value)).normalize(), "f")


_SEED = "platform policy (payhelp source document)"

#: The platform policy of payhelp's source document.
DEFAULT_RULES: tuple[RefundRule, ...] = (
    RefundRule(
        id="refund_window",
        when=ElapsedOver(hours=48),
        outcome=RefundOutcome.NOT_ELIGIBLE,
        message=N_(
            "Refunds are possible only within {hours} hours of the completed purchase, and that "
            "time has passed."
        ),
        source=_SEED,
    ),
    RefundRule(
        id="bought_on_site",
        when=Flagged(fact="off_site"),
        outcome=RefundOutcome.NOT_ELIGIBLE,
        message=N_(
            "Only products bought on the site itself can be refunded here; ask the shop you paid."
        ),
        source=_SEED,
    ),
    RefundRule(
        id="full_amount_only",
        when=Flagged(fact="partial_amount"),
        outcome=RefundOutcome.NEEDS_REVIEW,
        message=N_(
            "Refunds are always of the whole amount paid, never of a part. Support will look at "
            "your request; if the other rules allow it, the whole purchase can be refunded."
        ),
        source=_SEED,
    ),
    RefundRule(
        id="static_content",
        products=(ProductKind.STATIC_CONTENT,),
        when=Missing(fact="platform_fault"),
        outcome=RefundOutcome.NOT_ELIGIBLE,
        message=N_(
            "Videos and photos are usually not refunded: how they were used cannot be checked, "
            "nor can a fault of the site be shown."
        ),
        source=_SEED,
    ),
    RefundRule(
        id="static_content_fault",
        products=(ProductKind.STATIC_CONTENT,),
        when=Flagged(fact="platform_fault"),
        outcome=RefundOutcome.NEEDS_REVIEW,
        message=N_(
            "A fault of the site is on record for this purchase; support will look at the "
            "request before a refund of the videos or photos can be promised."
        ),
        source=_SEED,
    ),
    RefundRule(
        id="private_show_viewed",
        products=(ProductKind.PRIVATE_SHOW,),
        when=ViewedOver(minutes=5),
        outcome=RefundOutcome.NOT_ELIGIBLE,
        message=N_(
            "A private show watched for more than {minutes} minutes is not refunded in full; "
            "next time, leave a show you do not like straight away."
        ),
        source=_SEED,
    ),
    RefundRule(
        id="receipt_required",
        when=Missing(fact="receipt"),
        outcome=RefundOutcome.NEEDS_INFO,
        message=N_(
            "Attach a receipt that proves the purchase (the confirmation email or the line on "
            "your statement)."
        ),
        source=_SEED,
    ),
    RefundRule(
        id="private_show_motivation",
        products=(ProductKind.PRIVATE_SHOW,),
        when=Missing(fact="motivation", min_length=15),
        outcome=RefundOutcome.NEEDS_INFO,
        message=N_("Explain in a few sentences what was wrong with the show."),
        source=_SEED,
    ),
    RefundRule(
        id="model_consulted",
        products=(ProductKind.TIP, ProductKind.PRIVATE_SHOW),
        when=Missing(fact="model_consulted"),
        outcome=RefundOutcome.NEEDS_REVIEW,
        message=N_(
            "Tips and private shows are refunded only after the matter has been discussed with "
            "the model; support will ask them."
        ),
        source=_SEED,
    ),
    RefundRule(
        id="model_view_reviewed",
        products=(ProductKind.TIP, ProductKind.PRIVATE_SHOW),
        when=Flagged(fact="model_consulted"),
        outcome=RefundOutcome.NEEDS_REVIEW,
        message=N_(
            "The matter has been discussed with the model: the model's view goes to support, "
            "who decide on the refund."
        ),
        source=_SEED,
    ),
)

DEFAULT_POLICY = RefundPolicy(rules=DEFAULT_RULES)


__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_RULES",
    "SEVERITY",
    "Always",
    "Condition",
    "ElapsedOver",
    "FiredRule",
    "Flagged",
    "Missing",
    "RefundDecision",
    "RefundFacts",
    "RefundOutcome",
    "RefundPolicy",
    "RefundRule",
    "ViewedOver",
]
