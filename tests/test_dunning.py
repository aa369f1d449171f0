"""Dunning: the source document's schedule, the improvements on it, and the machine's invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payhelp import Payhelp
from payhelp.errors import InvalidInputError
from payhelp.policies.advice import DeclineAdvice, explain
from payhelp.policies.declines import Network, builtin_retry_caps, builtin_schemes
from payhelp.policies.dunning import (
    AttemptResult,
    AttemptTrigger,
    CardUpdated,
    ChargeAttempt,
    ChargeFailed,
    Dunning,
    DunningPolicy,
    DunningState,
    FinalAction,
    FinalStep,
    ManualClock,
    NotificationKind,
    Paid,
    plan,
)

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
SCHEMES = {scheme.id: scheme for scheme in builtin_schemes()}
CAPS = tuple(builtin_retry_caps())
HOUR = timedelta(hours=1)


def advice(code: str, scheme: str = "braintree", network: Network | None = None) -> DeclineAdvice:
    return explain(SCHEMES[scheme], code, "en", network=network, caps=CAPS)


SOFT = advice("2001")  # insufficient funds
HARD = advice("2004")  # expired card
STOLEN = advice("41", "iso8583")


# -- the source document's schedule -------------------------------------------------------------


def test_default_schedule_every_12_hours_for_five_days_then_downgrade_to_free():
    schedule = plan(T0, SOFT, caps=CAPS)
    assert schedule.attempts == tuple(T0 + 12 * HOUR * k for k in range(1, 10))
    assert schedule.downgrade_at == T0 + timedelta(days=5)
    assert schedule.final_action is FinalAction.DOWNGRADE
    assert schedule.plan == "Free"
    first = schedule.notifications[0]
    assert first.at == T0
    assert first.kind is NotificationKind.PAYMENT_FAILED
    assert {c.value for c in first.channels} == {"email", "control_panel"}
    assert "every 12 hours" in first.message
    assert schedule.notifications[-1].kind is NotificationKind.FINAL_ACTION
    assert "Free plan" in schedule.notifications[-1].message
    assert schedule.retries_stop == "the grace period ends before the next attempt"


@pytest.mark.parametrize("decline", [HARD, STOLEN, advice("fraudulent", "stripe")])
def test_a_do_not_retry_decline_is_never_charged_again_but_grace_goes_on(decline):
    schedule = plan(T0, decline, caps=CAPS)
    assert schedule.attempts == ()
    assert not schedule.retry_allowed
    assert schedule.downgrade_at == T0 + timedelta(days=5)
    assert "will not be tried again" in schedule.notifications[0].message
    assert schedule.retries_stop == "the decline forbids charging this card again"


def test_a_decline_asking_for_a_longer_wait_is_respected():
    limit = advice("2002")  # limit exceeded: a day at the earliest
    assert limit.retry_allowed
    schedule = plan(T0, limit, caps=CAPS)
    gaps = {b - a for a, b in zip((T0, *schedule.attempts), schedule.attempts, strict=False)}
    assert gaps == {timedelta(hours=24)}


def test_the_networks_caps_are_never_exceeded_by_an_aggressive_schedule():
    aggressive = DunningPolicy(retry_interval=timedelta(minutes=1), grace=timedelta(days=60))
    processing = advice("3000")  # processing error: retry after an hour
    anywhere = plan(T0, processing, policy=aggressive, caps=CAPS)
    assert len(anywhere.attempts) == min(cap.max_retries for cap in CAPS) * 2
    # Visa's window is 30 days: after 15 reattempts the next waits until the first drops out.
    visa = next(cap for cap in CAPS if cap.network is Network.VISA)
    window = timedelta(days=visa.window_days)
    for moment in anywhere.attempts:
        inside = [t for t in anywhere.attempts if moment - window < t <= moment]
        assert len(inside) <= visa.max_retries
    mastercard = plan(T0, advice("3000", network=Network.MASTERCARD), policy=aggressive, caps=CAPS)
    assert len(mastercard.attempts) > len(anywhere.attempts)


def test_the_platform_caps_attempts_and_chooses_the_final_action():
    policy = DunningPolicy(max_attempts=3, final_action=FinalAction.CANCEL)
    schedule = plan(T0, SOFT, policy=policy, caps=CAPS)
    assert len(schedule.attempts) == 3
    assert schedule.final_action is FinalAction.CANCEL
    assert schedule.plan is None
    assert schedule.retries_stop == "the platform's limit on attempts has been reached"
    kinds = [n.kind for n in schedule.notifications]
    assert kinds.count(NotificationKind.UPDATE_CARD) == 1


def test_no_grace_means_the_final_step_at_once():
    schedule = plan(T0, SOFT, policy=DunningPolicy(grace=timedelta(0)), caps=CAPS)
    assert schedule.attempts == ()
    assert schedule.downgrade_at == T0


def test_a_plan_in_italian():
    schedule = plan(T0, SOFT, caps=CAPS, language="it")
    assert schedule.notifications[0].message.startswith("Il pagamento del tuo abbonamento")


# -- the machine --------------------------------------------------------------------------------


def machine(policy: DunningPolicy | None = None) -> tuple[Dunning, ManualClock]:
    clock = ManualClock(T0)
    return Dunning(policy, caps=CAPS, clock=clock), clock


def test_a_card_update_triggers_an_immediate_attempt_and_payment_recovers():
    dunning, clock = machine()
    dunning.handle(ChargeFailed(decline=HARD))
    assert dunning.state is DunningState.AWAITING_CARD
    clock.advance(30 * HOUR)
    assert dunning.due() == []
    dunning.handle(CardUpdated())
    assert dunning.state is DunningState.RETRYING
    (attempt,) = dunning.due()
    assert isinstance(attempt, ChargeAttempt)
    assert attempt.at == T0 + 30 * HOUR
    assert attempt.trigger is AttemptTrigger.CARD_UPDATED
    notes = dunning.handle(AttemptResult(approved=True))
    assert dunning.state is DunningState.RECOVERED
    assert [n.kind for n in notes] == [NotificationKind.RECOVERED]
    clock.advance(timedelta(days=10))
    assert dunning.due() == []


def test_a_failing_new_card_resumes_the_schedule():
    dunning, clock = machine()
    dunning.handle(ChargeFailed(decline=HARD))
    clock.advance(HOUR)
    dunning.handle(CardUpdated())
    dunning.due()
    dunning.handle(AttemptResult(approved=False, decline=SOFT))
    assert dunning.state is DunningState.RETRYING
    assert dunning.next_attempt_at == T0 + 13 * HOUR


def test_paid_another_way_stops_everything():
    dunning, clock = machine()
    dunning.handle(ChargeFailed(decline=SOFT))
    clock.advance(12 * HOUR)
    dunning.handle(Paid())
    assert dunning.state is DunningState.RECOVERED
    assert dunning.due() == []
    assert dunning.next_wakeup() is None


def test_the_final_step_is_handed_out_once():
    dunning, clock = machine()
    dunning.handle(ChargeFailed(decline=HARD))
    clock.advance(timedelta(days=6))
    (final,) = dunning.due()
    assert isinstance(final, FinalStep)
    assert final.at == T0 + timedelta(days=5)
    assert dunning.state is DunningState.ENDED
    assert dunning.due() == []
    dunning.handle(CardUpdated())  # too late: nothing happens
    assert dunning.due() == []


def test_misuse_is_a_clear_error():
    dunning, clock = machine()
    dunning.handle(ChargeFailed(decline=SOFT))
    with pytest.raises(InvalidInputError, match="no charge attempt is in flight"):
        dunning.handle(AttemptResult(approved=True))
    with pytest.raises(InvalidInputError, match="already runs"):
        dunning.handle(ChargeFailed(decline=SOFT))
    with pytest.raises(InvalidInputError, match="time order"):
        dunning.handle(CardUpdated(at=T0 - HOUR))
    with pytest.raises(InvalidInputError, match="time zone"):
        ManualClock(datetime(2026, 1, 1))
    with pytest.raises(InvalidInputError, match="backwards"):
        clock.set(T0 - HOUR)
    with pytest.raises(ValueError, match="needs its decline"):
        AttemptResult(approved=False)
    with pytest.raises(InvalidInputError, match="is an approval"):
        plan(T0, advice("1000"), caps=CAPS)
    with pytest.raises(InvalidInputError, match="between the years"):
        plan(datetime(9999, 12, 30, tzinfo=UTC), SOFT, caps=CAPS)


def test_a_late_answer_after_payment_changes_nothing():
    dunning, clock = machine()
    dunning.handle(ChargeFailed(decline=SOFT))
    clock.advance(12 * HOUR)
    assert len(dunning.due()) == 1
    dunning.handle(Paid())
    notes = dunning.handle(AttemptResult(approved=False, decline=STOLEN))
    assert notes == []
    assert dunning.state is DunningState.RECOVERED
    clock.advance(timedelta(days=6))
    assert dunning.due() == []


def test_a_card_update_while_an_attempt_is_in_flight_is_not_lost():
    dunning, clock = machine()
    dunning.handle(ChargeFailed(decline=SOFT))
    clock.advance(12 * HOUR)
    dunning.due()
    clock.advance(HOUR)
    dunning.handle(CardUpdated())
    clock.advance(HOUR)
    dunning.handle(AttemptResult(approved=False, decline=STOLEN))  # the old card's answer
    assert dunning.state is DunningState.RETRYING
    (attempt,) = dunning.due()
    assert attempt.trigger is AttemptTrigger.CARD_UPDATED


def test_corrected_details_of_the_same_card_keep_counting_against_the_caps():
    policy = DunningPolicy(grace=timedelta(days=30))
    dunning, clock = machine(policy)
    dunning.handle(ChargeFailed(decline=advice("3000")))
    for _ in range(100):
        dunning.handle(CardUpdated(new_card=False))
        for step in dunning.due():
            if isinstance(step, ChargeAttempt):
                dunning.handle(AttemptResult(approved=False, decline=advice("3000")))
        clock.advance(timedelta(minutes=1))
    visa = min(cap.max_retries for cap in CAPS)
    assert len(dunning.attempts) <= visa + 1


def test_zoned_times_count_real_hours_across_a_dst_change():
    rome = ZoneInfo("Europe/Rome")
    failed = datetime(2026, 10, 24, 12, 0, tzinfo=rome)  # Sunday 25 October: clocks go back
    schedule = plan(failed, SOFT, caps=CAPS)
    gaps = {b - a for a, b in pairwise((failed, *schedule.attempts))}
    assert gaps == {12 * HOUR}
    assert schedule.downgrade_at - failed == timedelta(days=5)


def test_an_event_stamped_a_little_ahead_of_the_clock_is_fine():
    dunning, _clock = machine()
    dunning.handle(ChargeFailed(decline=SOFT, at=T0 + HOUR))
    assert dunning.due() == []


def test_the_api_builds_the_machine_with_the_platforms_schedule():
    ph = Payhelp(load_entry_points=False, policies={"dunning": {"grace": "P2D"}})
    clock = ManualClock(T0)
    dunning = ph.dunning(clock=clock, language="it")
    dunning.handle(ChargeFailed(decline=ph.explain_decline("2001", "braintree")))
    assert dunning.ends_at == T0 + timedelta(days=2)
    assert dunning.notifications[0].message.startswith("Il pagamento")


# -- properties ---------------------------------------------------------------------------------

DECLINES = [
    advice(code, scheme, network)
    for scheme, code in [
        ("braintree", "2000"),
        ("braintree", "2001"),
        ("braintree", "2002"),
        ("braintree", "2004"),
        ("braintree", "2053"),
        ("braintree", "2059"),
        ("braintree", "3000"),
        ("iso8583", "41"),
        ("iso8583", "51"),
        ("stripe", "fraudulent"),
        ("stripe", "authentication_required"),
        ("stripe", "nonsense_code"),
    ]
    for network in (None, Network.VISA, Network.MASTERCARD)
]

steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=40 * 60),  # minutes to move the clock
        st.sampled_from(["tick", "tick", "tick", "card_updated", "paid"]),
        st.sampled_from(DECLINES),
        st.booleans(),  # does a due attempt succeed?
    ),
    max_size=60,
)
policies = st.builds(
    DunningPolicy,
    grace=st.integers(0, 10).map(lambda d: timedelta(days=d)),
    retry_interval=st.integers(1, 48 * 60).map(lambda m: timedelta(minutes=m)),
    max_attempts=st.none() | st.integers(0, 20),
)


@settings(max_examples=300, deadline=None)
@given(policy=policies, first=st.sampled_from(DECLINES), script=steps)
def test_invariants_hold_whatever_happens(policy, first, script):
    clock = ManualClock(T0)
    dunning = Dunning(policy, caps=CAPS, clock=clock)
    dunning.handle(ChargeFailed(decline=first))
    ends = T0 + policy.grace
    last_decline = first
    card_updated_since_decline = False
    finals = 0
    previous_scheduled: datetime | None = T0
    for minutes, action, decline, succeeds in script:
        clock.advance(timedelta(minutes=minutes))
        if action == "card_updated":
            dunning.handle(CardUpdated())
            card_updated_since_decline = True
            continue
        if action == "paid":
            dunning.handle(Paid())
            continue
        for step in dunning.due():
            if isinstance(step, FinalStep):
                finals += 1
                assert step.at == ends
                continue
            # No attempt at or after the downgrade time.
            assert step.at < ends
            if step.trigger is AttemptTrigger.SCHEDULED:
                # No scheduled retry after a do-not-retry decline unless the card changed.
                assert last_decline.retry_allowed or card_updated_since_decline
                if previous_scheduled is not None and not card_updated_since_decline:
                    assert step.at - previous_scheduled >= policy.retry_interval
                previous_scheduled = step.at
            if succeeds:
                dunning.handle(AttemptResult(approved=True))
            else:
                dunning.handle(AttemptResult(approved=False, decline=decline))
                last_decline = decline
                card_updated_since_decline = False
    assert finals <= 1
    if dunning.state is DunningState.RECOVERED:
        assert finals == 0
    scheduled = [a for a in dunning.attempts if a.trigger is AttemptTrigger.SCHEDULED]
    if policy.max_attempts is not None:
        assert len(scheduled) <= policy.max_attempts
    assert all(a.at < ends for a in dunning.attempts)


@settings(max_examples=200, deadline=None)
@given(policy=policies, decline=st.sampled_from(DECLINES))
def test_plans_respect_grace_caps_and_declines(policy, decline):
    schedule = plan(T0, decline, policy=policy, caps=CAPS)
    assert schedule.downgrade_at == T0 + policy.grace
    assert all(T0 < t < schedule.downgrade_at for t in schedule.attempts)
    assert list(schedule.attempts) == sorted(set(schedule.attempts))
    if not decline.retry_allowed:
        assert schedule.attempts == ()
    if policy.max_attempts is not None:
        assert len(schedule.attempts) <= policy.max_attempts
    for cap in schedule.retry_caps:
        window = timedelta(days=cap.window_days)
        for moment in schedule.attempts:
            assert sum(1 for t in schedule.attempts if moment - window < t <= moment) <= (
                cap.max_retries
            )
