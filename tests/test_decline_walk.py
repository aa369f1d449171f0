"""Every row of every decline table, with every advice code and network, through the dunning plan.

The expected verdict is worked out here from the tables' own data (their network bans, Visa
categories, the source's retry word and wait, the advice codes' actions and waits), not from
payhelp's verdict: a schedule that retries a code its network or its advice code forbids, that
undercuts a wait, or that holds back a code every rule allows, fails this walk.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from payhelp.policies.advice import REASONS, explain
from payhelp.policies.declines import (
    AdviceAction,
    AdviceCode,
    DeclineCode,
    DeclineReason,
    DeclineScheme,
    Network,
    Severity,
    builtin_advice_codes,
    builtin_retry_caps,
    builtin_schemes,
)
from payhelp.policies.dunning import DunningPolicy, plan

R = DeclineReason
FAILED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = DunningPolicy()
CAPS = tuple(builtin_retry_caps())
ADVICE = builtin_advice_codes()
NEVER_REASONS = {
    R.LOST_OR_STOLEN_CARD,
    R.SUSPECTED_FRAUD,
    R.AVS_MISMATCH,
    R.INCORRECT_CARD_DETAILS,
    R.AUTHENTICATION_REQUIRED,
}
ADVICE_STOPS = {
    AdviceAction.NEVER,
    AdviceAction.STOP_RECURRING,
    AdviceAction.NOT_FOR_RECURRING,
    AdviceAction.UPDATE_DETAILS,
    AdviceAction.FIX_INTEGRATION,
}
UNKNOWN_CODES = {"braintree": "4999", "iso8583": "Q9", "stripe": "not_a_stripe_code"}

Case = tuple[Network | None, str | None, int | None]


def _cases() -> Iterator[Case]:
    for network in (None, *Network):
        yield network, None, None
    for key in ADVICE.codes:
        yield None, key, None
    for category in (1, 2, 3, 4):
        yield None, None, category


def _expected(
    entry: DeclineCode | None, network: Network | None, mac: AdviceCode | None, category: int | None
) -> tuple[bool, timedelta]:
    """Whether the card may be charged again, and the least gap between attempts, from data."""
    if mac is not None:
        network = Network.MASTERCARD
    if category is not None:
        network = Network.VISA
    visa_category = category if category is not None else (entry.visa_category if entry else None)
    banned = set(entry.no_retry) if entry is not None else set()
    if visa_category == 1:
        banned.add(Network.VISA)
    waits = [POLICY.retry_interval]
    if mac is not None and mac.retry_after is not None:
        waits.append(mac.retry_after)
    stop = (
        (network in banned if network is not None else bool(banned))
        or (mac is not None and mac.action in ADVICE_STOPS)
        or (visa_category == 3 and network in (None, Network.VISA))
    )
    if entry is None:
        network_says_later = mac is not None or visa_category == 2
        waits.append(timedelta(days=1))  # the unknown-code policy's default wait
        return (not stop and network_says_later), max(waits)
    reason_advice = REASONS[entry.reason]
    if reason_advice.retry_after is not None:
        waits.append(reason_advice.retry_after)
    if entry.retry_after is not None:
        waits.append(entry.retry_after)
    severity = entry.severity or reason_advice.severity
    allowed = (
        not stop
        and entry.reason not in NEVER_REASONS
        and entry.retry is not False
        and (severity is not Severity.HARD or entry.retry is True)
        and (reason_advice.retry or entry.retry is True)
    )
    return allowed, max(waits)


def _walk(scheme: DeclineScheme, key: str, entry: DeclineCode | None) -> list[str]:
    problems = []
    for network, mac_key, category in _cases():
        mac = ADVICE.codes[mac_key] if mac_key is not None else None
        advice = explain(
            scheme,
            key,
            "en",
            network=network,
            caps=CAPS,
            advice_code=mac_key,
            advice_codes=ADVICE,
            visa_category=category,  # type: ignore[arg-type]
        )
        if advice.reason is R.APPROVED:
            continue
        schedule = plan(FAILED, advice, policy=POLICY, caps=CAPS)
        allowed, gap = _expected(entry, network, mac, category)
        where = f"{scheme.id} {key} network={network} advice={mac_key} visa={category}"
        moments = [FAILED, *schedule.attempts]
        if not allowed and schedule.attempts:
            problems.append(f"{where}: retried, but its rules forbid it")
        if any(b - a < gap for a, b in itertools.pairwise(moments)):
            problems.append(f"{where}: attempts closer than {gap}")
        if allowed and gap < POLICY.grace and not schedule.attempts:
            problems.append(f"{where}: never retried, though every rule allows it")
        if len(schedule.attempts) > min(cap.max_retries for cap in CAPS):
            problems.append(f"{where}: more attempts than a network's cap")
    return problems


def test_every_row_and_every_advice_code_through_the_dunning_plan():
    problems = []
    walked = 0
    for scheme in builtin_schemes():
        rows: list[tuple[str, DeclineCode | None]] = list(scheme.codes.items())
        rows += [(str(r.low), r) for r in scheme.ranges if str(r.low) not in scheme.codes]
        rows.append((UNKNOWN_CODES[scheme.id], None))
        for key, entry in rows:
            assert entry is None or scheme.find(key) is entry
            problems += _walk(scheme, key, entry)
            walked += 1
    assert walked > 250
    assert problems == []
