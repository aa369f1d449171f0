"""Refund eligibility: the source document's policy, the rule engine, and its properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from payhelp import Payhelp
from payhelp.errors import InvalidInputError
from payhelp.models import ProductKind
from payhelp.policies.refunds import (
    DEFAULT_POLICY,
    SEVERITY,
    Always,
    ElapsedOver,
    Flagged,
    Missing,
    RefundFacts,
    RefundOutcome,
    RefundPolicy,
    RefundRule,
    ViewedOver,
)

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
E, NE, NI, NR = (
    RefundOutcome.ELIGIBLE,
    RefundOutcome.NOT_ELIGIBLE,
    RefundOutcome.NEEDS_INFO,
    RefundOutcome.NEEDS_REVIEW,
)


def facts(product: str = "token_purchase", hours: float = 1, **extra: Any) -> RefundFacts:
    data = {"product": product, "purchased_at": T0, "now": T0 + timedelta(hours=hours)}
    return RefundFacts.model_validate(data | extra, strict=False)


def decide(product: str = "token_purchase", hours: float = 1, **extra: Any):
    return DEFAULT_POLICY.decide(facts(product, hours, **extra), "en")


def fired(decision) -> list[str]:
    return [reason.rule for reason in decision.reasons]


# -- the source document's policy ---------------------------------------------------------------


def test_a_recent_on_site_purchase_with_a_receipt_is_eligible_for_the_full_amount():
    decision = decide(receipt=True, amount={"amount": "19.99", "currency": "EUR"})
    assert decision.decision is E
    assert decision.reasons == ()
    assert decision.refund is not None
    assert str(decision.refund) == "19.99 EUR"
    assert decision.deadline == T0 + timedelta(hours=48)
    assert decision.checked_at == T0 + timedelta(hours=1)


def test_the_window_is_48_hours_from_the_completed_purchase():
    assert decide(hours=48, receipt=True).decision is E
    late = DEFAULT_POLICY.decide(
        facts(receipt=True).model_copy(update={"now": T0 + timedelta(hours=48, microseconds=1)}),
        "en",
    )
    assert late.decision is NE
    assert fired(late) == ["refund_window"]
    assert "48 hours" in late.reasons[0].message


def test_receipts_are_required():
    decision = decide()
    assert decision.decision is NI
    assert fired(decision) == ["receipt_required"]


def test_only_products_bought_on_the_site():
    assert fired(decide(receipt=True, off_site=True)) == ["bought_on_site"]
    assert decide(receipt=True, off_site=True).decision is NE


def test_the_full_amount_only():
    partial = decide(
        receipt=True,
        amount={"amount": "20", "currency": "EUR"},
        requested={"amount": "5", "currency": "EUR"},
    )
    # Asking for less is never refused: support reviews it, and the whole amount is what the
    # policy allows.
    assert partial.decision is NR
    assert fired(partial) == ["full_amount_only"]
    assert partial.refund is None
    assert partial.eligible_amount is not None
    assert partial.eligible_amount.amount == 20
    late = decide(
        receipt=True,
        amount={"amount": "20", "currency": "EUR"},
        requested={"amount": "5", "currency": "EUR"},
        hours=49,
    )
    assert late.decision is NE
    assert late.eligible_amount is None
    whole = decide(
        receipt=True,
        amount={"amount": "20", "currency": "EUR"},
        requested={"amount": "20", "currency": "EUR"},
    )
    assert whole.decision is E


def test_tips_need_the_model_consulted():
    assert decide("tip", receipt=True).decision is NR
    assert fired(decide("tip", receipt=True)) == ["model_consulted"]
    # The talk with the model is a precondition, not a grant: its view goes to review.
    consulted = decide("tip", receipt=True, model_consulted=True)
    assert consulted.decision is NR
    assert fired(consulted) == ["model_view_reviewed"]
    assert "model's view" in consulted.reasons[0].message


def test_private_shows_need_few_minutes_a_motivation_and_the_model():
    ok = decide(
        "private_show",
        receipt=True,
        model_consulted=True,
        viewed_minutes=4.5,
        motivation="The stream froze after a minute and never came back.",
    )
    assert ok.decision is NR
    assert fired(ok) == ["model_view_reviewed"]
    watched = decide(
        "private_show",
        receipt=True,
        model_consulted=True,
        viewed_minutes=5.01,
        motivation="The stream froze after a minute and never came back.",
    )
    assert watched.decision is NE
    assert fired(watched) == ["private_show_viewed", "model_view_reviewed"]
    assert "5 minutes" in watched.reasons[0].message
    terse = decide(
        "private_show", receipt=True, model_consulted=True, viewed_minutes=1, motivation="bad"
    )
    assert terse.decision is NI
    assert fired(terse) == ["private_show_motivation", "model_view_reviewed"]


def test_unknown_viewing_time_is_asked_for():
    decision = decide(
        "private_show", receipt=True, model_consulted=True, motivation="It was not what was shown."
    )
    assert decision.decision is NI
    assert fired(decision) == ["private_show_viewed", "model_view_reviewed"]
    assert decision.reasons[0].message == "Say how many minutes of the show you watched."


def test_a_recorded_platform_fault_sends_static_content_to_review():
    decision = decide("static_content", receipt=True, platform_fault="INC-2041")
    assert decision.decision is NR
    assert fired(decision) == ["static_content_fault"]
    assert "fault of the site is on record" in decision.reasons[0].message
    assert decide("tip", receipt=True, platform_fault="INC-2041").decision is NR  # not a grant
    with pytest.raises(ValidationError):
        decide("static_content", receipt=True, platform_fault="4111111111111111")
    with pytest.raises(ValidationError):
        decide("static_content", receipt=True, platform_fault="")


def test_static_content_is_usually_refused():
    decision = decide("static_content", receipt=True)
    assert decision.decision is NE
    assert fired(decision) == ["static_content"]


def test_reasons_are_listed_worst_first_and_all_of_them():
    decision = decide("private_show", hours=50, viewed_minutes=9)
    assert decision.decision is NE
    outcomes = [reason.outcome for reason in decision.reasons]
    assert outcomes == sorted(outcomes, key=lambda o: -SEVERITY[o])
    assert set(fired(decision)) == {
        "refund_window",
        "private_show_viewed",
        "receipt_required",
        "private_show_motivation",
        "model_consulted",
    }


def test_answers_come_in_italian():
    decision = DEFAULT_POLICY.decide(facts(hours=60), "it")
    assert decision.language == "it"
    assert decision.reasons[0].message.startswith("I rimborsi sono possibili solo entro 48 ore")
    assert decision.summary == (
        "Questo acquisto non può essere rimborsato secondo le regole di rimborso."
    )


def test_the_motivation_is_never_repeated():
    secret = "my card 4111 1111 1111 1111 was charged twice"
    checked = facts("private_show", receipt=True, motivation=secret)
    assert "4111" not in repr(checked)
    decision = DEFAULT_POLICY.decide(checked, "en")
    assert "4111" not in decision.model_dump_json()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"now": T0 - timedelta(seconds=1)}, "before purchased_at"),
        ({"purchased_at": datetime(2026, 11, 20, 10)}, "timezone"),
        ({"requested": {"amount": "30", "currency": "EUR"}}, "more than was paid"),
        ({"requested": {"amount": "5", "currency": "USD"}}, "different currencies"),
        ({"viewed_minutes": -1}, "greater than or equal"),
        ({"product": "car"}, "product"),
    ],
)
def test_impossible_facts_are_refused(change: dict[str, Any], message: str):
    data: dict[str, Any] = {
        "product": "token_purchase",
        "purchased_at": T0,
        "now": T0 + timedelta(hours=1),
        "amount": {"amount": "20", "currency": "EUR"},
    }
    with pytest.raises(ValidationError, match=message):
        RefundFacts.model_validate(data | change, strict=False)


def test_the_api_turns_bad_facts_into_one_clear_error():
    ph = Payhelp(load_entry_points=False)
    with pytest.raises(InvalidInputError, match="now is before purchased_at"):
        ph.refund_check(product="tip", purchased_at=T0, now=T0 - timedelta(hours=1))
    with pytest.raises(InvalidInputError, match="language"):
        ph.refund_check(product="tip", purchased_at=T0, now=T0, language="fr")  # type: ignore[arg-type]


# -- rules as data --------------------------------------------------------------------------------


def test_a_rule_cannot_make_a_request_eligible():
    with pytest.raises(ValidationError, match="hold a request back"):
        RefundRule(id="free_money", when=Always(), outcome=E, message="yes")


def test_rule_ids_are_unique():
    rule = RefundRule(id="one", when=Always(), outcome=NR, message="x")
    with pytest.raises(ValidationError, match="two rules have the id"):
        RefundPolicy(rules=(rule, rule))


def test_amending_replaces_by_id_disables_and_appends():
    longer = RefundRule(
        id="refund_window",
        when=ElapsedOver(hours=72),
        outcome=NE,
        message={"en": "72 hours.", "it": "72 ore."},
    )
    extra = RefundRule(
        id="vip_review",
        products=(ProductKind.SUBSCRIPTION,),
        when=Always(),
        outcome=NR,
        message="x",
    )
    policy = DEFAULT_POLICY.amended(add=(longer, extra), disable=("static_content",), name="ours")
    ids = [rule.id for rule in policy.rules]
    assert ids[0] == "refund_window"  # replaced in place
    assert ids[-1] == "vip_review"
    assert "static_content" not in ids
    assert policy.name == "ours"
    at_60h = policy.decide(facts(hours=60, receipt=True), "it")
    assert at_60h.decision is E
    assert at_60h.deadline == T0 + timedelta(hours=72)
    assert policy.decide(facts(hours=80, receipt=True), "it").reasons[0].message == "72 ore."
    assert policy.decide(facts("static_content", receipt=True), "en").decision is E
    with pytest.raises(ValueError, match="unknown rules: nope"):
        DEFAULT_POLICY.amended(disable=("nope",))
    assert DEFAULT_POLICY.amended(replace=True).rules == ()


# -- properties ---------------------------------------------------------------------------------

products = st.sampled_from(list(ProductKind))
hours = st.floats(min_value=0, max_value=24 * 30, allow_nan=False)
minutes = st.none() | st.floats(min_value=0, max_value=600, allow_nan=False)
motivations = st.none() | st.text(max_size=40)


@st.composite
def request_facts(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "product": draw(products),
        "viewed_minutes": draw(minutes),
        "receipt": draw(st.booleans()),
        "model_consulted": draw(st.booleans()),
        "motivation": draw(motivations),
        "off_site": draw(st.booleans()),
    }


conditions = st.one_of(
    st.builds(ElapsedOver, hours=st.floats(min_value=0.01, max_value=2000, allow_nan=False)),
    st.builds(ViewedOver, minutes=st.floats(min_value=0, max_value=120, allow_nan=False)),
    st.builds(
        Missing,
        fact=st.sampled_from(["receipt", "motivation", "model_consulted"]),
        min_length=st.integers(1, 30),
    ),
    st.builds(Flagged, fact=st.sampled_from(["off_site", "partial_amount"])),
    st.just(Always()),
)


@st.composite
def policies(draw: st.DrawFn) -> RefundPolicy:
    count = draw(st.integers(0, 8))
    rules = tuple(
        RefundRule(
            id=f"rule_{index}",
            when=draw(conditions),
            outcome=draw(st.sampled_from([NE, NI, NR])),
            products=tuple(draw(st.sets(products, max_size=3))),
            message="m",
        )
        for index in range(count)
    )
    return RefundPolicy(rules=rules)


def _judge(policy: RefundPolicy, data: dict[str, Any], elapsed: float) -> RefundOutcome:
    checked = RefundFacts.model_validate(
        data | {"purchased_at": T0, "now": T0 + timedelta(hours=elapsed)}, strict=False
    )
    return policy.decide(checked, "en").decision


@settings(max_examples=300, deadline=None)
@given(policy=st.just(DEFAULT_POLICY) | policies(), data=request_facts(), first=hours, later=hours)
def test_decisions_never_improve_as_time_passes(policy, data, first, later):
    sooner, later = sorted((first, later))
    assert SEVERITY[_judge(policy, data, sooner)] <= SEVERITY[_judge(policy, data, later)]


@settings(max_examples=200, deadline=None)
@given(policy=st.just(DEFAULT_POLICY) | policies(), data=request_facts(), a=minutes, b=minutes)
def test_decisions_never_improve_with_more_minutes_watched(policy, data, a, b):
    if a is None or b is None:
        return
    low, high = sorted((a, b))
    assert (
        SEVERITY[_judge(policy, data | {"viewed_minutes": low}, 1)]
        <= SEVERITY[_judge(policy, data | {"viewed_minutes": high}, 1)]
    )


@settings(max_examples=200, deadline=None)
@given(policy=st.just(DEFAULT_POLICY) | policies(), data=request_facts(), elapsed=hours)
def test_the_decision_is_the_worst_rule_that_fired(policy, data, elapsed):
    checked = RefundFacts.model_validate(
        data | {"purchased_at": T0, "now": T0 + timedelta(hours=elapsed)}, strict=False
    )
    decision = policy.decide(checked, "en")
    if not decision.reasons:
        assert decision.decision is E
    else:
        assert decision.decision is max((r.outcome for r in decision.reasons), key=SEVERITY.get)
        assert decision.decision is not E
    known = {rule.id for rule in policy.rules}
    assert {reason.rule for reason in decision.reasons} <= known
    assert all("{" not in reason.message for reason in decision.reasons)


def test_zoned_times_count_real_hours_across_a_dst_change():
    rome = ZoneInfo("Europe/Rome")
    late = DEFAULT_POLICY.decide(
        RefundFacts(
            product=ProductKind.TOKEN_PURCHASE,
            purchased_at=datetime(2026, 10, 24, 12, 0, tzinfo=rome),
            now=datetime(2026, 10, 26, 11, 30, tzinfo=rome),  # 48.5 real hours later
            receipt=True,
        ),
        "en",
    )
    assert late.decision is NE


@pytest.mark.parametrize("message", ["{0}", "a { b", "{hours:>5}", "{weather}"])
def test_rule_messages_may_use_only_the_known_placeholders(message):
    with pytest.raises(ValidationError, match="message"):
        RefundRule(id="bad", when=Always(), outcome=NR, message=message)
    RefundRule(id="ok", when=Always(), outcome=NR, message="within {hours}h, {{braces}}")


def test_the_deadline_does_not_depend_on_rule_order():
    late_first = DEFAULT_POLICY.amended(
        add=(
            RefundRule(
                id="early_message",
                when=Always(),
                outcome=NR,
                message="until {deadline}",
            ),
        ),
        replace=False,
    )
    rules = (late_first.rules[-1], *late_first.rules[:-1])
    policy = RefundPolicy(rules=rules)
    decision = policy.decide(facts(receipt=True), "en")
    assert decision.reasons[0].message == "until 2026-11-22T10:00+00:00"
