"""Network advice: Mastercard merchant advice codes, stated Visa categories and unknown codes.

The rows below are the public tables as their sources print them (Braintree's merchant advice
code reference for the labels; Solidgate for the 72-hour wait of 02; Moneris for 40 and 41); the
tests check that payhelp's table says the same and that every code's stop or wait reaches both
the explanation and the dunning schedule.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from payhelp import AsyncPayhelp, Payhelp
from payhelp.config import Settings
from payhelp.errors import ConfigurationError, InvalidInputError
from payhelp.policies.advice import UnknownCodePolicy
from payhelp.policies.declines import AdviceAction, Network, builtin_advice_codes

FAILED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

# (code, Braintree's merchant_advice_code_text, may the card be charged again, least wait)
BRAINTREE_MAC_ROWS = [
    ("01", "New account information available", False, None),
    ("02", "Cannot approve at this time, try again later", True, timedelta(hours=72)),
    ("03", "Do not try again", False, None),
    ("21", "Stop recurring payment", False, None),
    ("24", "Retry after 1 hour", True, timedelta(hours=1)),
    ("25", "Retry after 24 hours", True, timedelta(hours=24)),
    ("26", "Retry after 2 days", True, timedelta(days=2)),
    ("27", "Retry after 4 days", True, timedelta(days=4)),
    ("28", "Retry after 6 days", True, timedelta(days=6)),
    ("29", "Retry after 8 days", True, timedelta(days=8)),
    ("30", "Retry after 10 days", True, timedelta(days=10)),
    ("40", "Consumer non-reloadable prepaid card", False, None),
    ("41", "Consumer single-use virtual card number", False, None),
]
TABLE = builtin_advice_codes()


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return Payhelp(load_entry_points=False)


def test_the_table_carries_its_source_and_the_published_labels():
    assert TABLE.network is Network.MASTERCARD
    assert TABLE.source.url is not None
    assert "braintree" in str(TABLE.source.url)
    for code, label, _, _ in BRAINTREE_MAC_ROWS:
        assert TABLE.codes[code].label == label
    # Braintree and Antom print 04 as "Token not supported"; the table keeps Mastercard's name
    # and the note says so.
    assert "Token not supported" in (TABLE.codes["04"].note or "")


@pytest.mark.parametrize(("code", "label", "retry", "wait"), BRAINTREE_MAC_ROWS)
def test_each_advice_code_decides_a_retryable_decline(ph: Payhelp, code, label, retry, wait):
    # 51 insufficient funds would be retried after 12 hours on its own.
    advice = ph.explain_decline("51", "iso8583", advice_code=code)
    assert advice.advice_code == code
    assert advice.advice_label == label
    assert advice.network is Network.MASTERCARD
    assert advice.retry_allowed is retry
    if retry:
        assert advice.retry_after == max(wait, timedelta(hours=12))
        assert code in advice.retry_note
    else:
        assert advice.retry_after is None
        assert advice.retry_caps == ()


@pytest.mark.parametrize(("code", "label", "retry", "wait"), BRAINTREE_MAC_ROWS)
def test_each_advice_code_shapes_the_dunning_plan(ph: Payhelp, code, label, retry, wait):
    plan = ph.dunning_plan(FAILED, "51", "iso8583", advice_code=code)
    if not retry:
        assert plan.attempts == ()
        assert plan.stop_reason == "decline"
        return
    gap = max(wait, timedelta(hours=12))
    moments = [FAILED, *plan.attempts]
    assert all(b - a >= gap for a, b in itertools.pairwise(moments))
    if gap < timedelta(days=5):
        assert plan.attempts, "a wait shorter than the grace period leaves room for a retry"
        assert plan.attempts[0] == FAILED + gap
    else:
        assert plan.attempts == ()  # 6, 8, 10 days: past the 5-day grace period


def test_a_stop_from_the_advice_code_beats_a_table_that_would_retry(ph: Payhelp):
    # 05 do not honor is retried on its own; 03 forbids it and the note says Mastercard fines it.
    assert ph.explain_decline("05", "iso8583").retry_allowed
    advice = ph.explain_decline("05", "iso8583", advice_code="03")
    assert not advice.retry_allowed
    assert "Mastercard" in advice.retry_note


def test_a_wait_never_lifts_a_ban(ph: Payhelp):
    # 41 lost card, with "retry after 1 hour": still never.
    advice = ph.explain_decline("41", "iso8583", advice_code="24")
    assert not advice.retry_allowed


def test_stop_recurring_and_new_details_tell_the_customer_what_really_happened(ph: Payhelp):
    stopped = ph.explain_decline("05", "iso8583", advice_code="21")
    assert "stop these payments" in stopped.customer_message
    assert "bank refused the payment without giving a reason" not in stopped.customer_message
    updated = ph.explain_decline("54", "iso8583", advice_code="01")
    assert "new details" in updated.customer_message
    integration = ph.explain_decline("05", "iso8583", advice_code="04")
    assert integration.fixer == "merchant"
    assert "not with your card" in integration.customer_message
    italian = ph.explain_decline("05", "iso8583", advice_code="21", language="it")
    assert italian.customer_message != stopped.customer_message


def test_every_advice_code_text_exists_in_both_languages(ph: Payhelp):
    for code in TABLE.codes:
        english = ph.explain_decline("51", "iso8583", advice_code=code, language="en")
        italian = ph.explain_decline("51", "iso8583", advice_code=code, language="it")
        assert english.retry_note != italian.retry_note, code
        assert "{" not in italian.retry_note + italian.customer_message


def test_an_advice_code_not_in_the_table_is_kept_and_changes_nothing(ph: Payhelp):
    plain = ph.explain_decline("51", "iso8583", network="mastercard")
    odd = ph.explain_decline("51", "iso8583", advice_code="77")
    assert odd.advice_code == "77"
    assert odd.advice_label is None
    assert (odd.retry_allowed, odd.retry_after) == (plain.retry_allowed, plain.retry_after)


@pytest.mark.parametrize("given", [3, "3", " 03 "])
def test_advice_codes_are_read_as_two_digits(ph: Payhelp, given):
    assert ph.explain_decline("05", "iso8583", advice_code=given).advice_code == "03"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"advice_code": "3x"}, "two digits"),
        ({"advice_code": "123"}, "two digits"),
        ({"advice_code": 100}, "two digits"),
        ({"advice_code": True}, "two digits"),
        ({"advice_code": "03", "network": "visa"}, "Mastercard"),
        ({"visa_category": 5}, "1, 2, 3 or 4"),
        ({"visa_category": "two"}, "1, 2, 3 or 4"),
        ({"visa_category": True}, "1, 2, 3 or 4"),
        ({"visa_category": 2, "network": "mastercard"}, "Visa category"),
        ({"visa_category": 2, "advice_code": "02"}, "not both"),
    ],
)
def test_contradictory_or_malformed_network_advice_is_bad_input(ph: Payhelp, kwargs, words):
    with pytest.raises(InvalidInputError, match=words):
        ph.explain_decline("05", "iso8583", **kwargs)


def test_a_stated_visa_category_wins_over_the_table(ph: Payhelp):
    # 05 carries no category in the table and is retried; the processor says category 1.
    assert ph.explain_decline("05", "iso8583").visa_category is None
    never = ph.explain_decline("05", "iso8583", visa_category=1)
    assert (never.retry_allowed, never.network, never.visa_category) == (False, "visa", 1)
    fix_first = ph.explain_decline("05", "iso8583", visa_category="3")
    assert not fix_first.retry_allowed
    assert "category 3" in fix_first.retry_note
    generic = ph.explain_decline("05", "iso8583", visa_category=4)
    assert generic.retry_allowed
    assert [cap.network for cap in generic.retry_caps] == ["visa"]


# -- codes payhelp does not know ------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "code"),
    [
        ("stripe", "recurring_not_supported_by_bank_someday"),
        ("iso8583", "Q9"),
        ("braintree", "4321"),
    ],
)
def test_an_unknown_code_is_held_back_by_default(ph: Payhelp, scheme, code):
    advice = ph.explain_decline(code, scheme)
    assert not advice.known
    assert not advice.retry_allowed
    assert advice.retry_after is None
    assert "does not know this code" in advice.retry_note
    assert "another payment method" in advice.merchant_message
    plan = ph.dunning_plan(FAILED, code, scheme)
    assert plan.attempts == ()
    assert plan.notifications[0].kind == "payment_failed"
    assert "will not be tried again" in plan.notifications[0].message


def test_the_network_saying_when_lets_an_unknown_code_be_retried_after_a_wait(ph: Payhelp):
    later = ph.explain_decline("Q9", "iso8583", advice_code="02")
    assert later.retry_allowed
    assert later.retry_after == timedelta(hours=72)
    assert later.retry_limit is None
    visa_two = ph.explain_decline("Q9", "iso8583", visa_category=2)
    assert visa_two.retry_allowed
    assert visa_two.retry_after == UnknownCodePolicy().retry_after
    assert not ph.explain_decline("Q9", "iso8583", advice_code="03").retry_allowed
    assert not ph.explain_decline("Q9", "iso8583", visa_category=3).retry_allowed


def test_a_platform_may_allow_a_bounded_number_of_spaced_reattempts():
    settings = Settings.model_validate(
        {
            "policies": {
                "declines": {"unknown": {"retry": True, "retry_after": "PT8H", "max_retries": 2}}
            }
        },
        strict=False,
    )
    ph = Payhelp(settings, load_entry_points=False)
    advice = ph.explain_decline("Q9", "iso8583")
    assert advice.retry_allowed
    assert advice.retry_limit == 2
    assert advice.retry_after == timedelta(hours=8)
    assert "at most 2" in advice.retry_note
    plan = ph.dunning_plan(FAILED, "Q9", "iso8583")
    # The dunning interval (12 hours) is longer than the allowance's wait, so it spaces them.
    assert plan.attempts == (FAILED + timedelta(hours=12), FAILED + timedelta(hours=24))
    assert plan.stop_reason == "decline_limit"
    assert plan.retries_stop is not None
    # A known code is not limited by the allowance.
    assert ph.explain_decline("51", "iso8583").retry_limit is None


def test_the_allowance_reads_from_payhelp_toml(tmp_path):
    path = tmp_path / "payhelp.toml"
    path.write_text(
        '[policies.declines.unknown]\nretry = true\nretry_after = "P2D"\nmax_retries = 3\n'
    )
    unknown = Settings.load(path).policies.declines.unknown
    assert (unknown.retry, unknown.retry_after, unknown.max_retries) == (
        True,
        timedelta(days=2),
        3,
    )


@pytest.mark.parametrize(
    "body",
    [
        "retry_after = 3600",  # a bare number would be read as seconds
        'retry_after = "PT5M"',  # shorter than an hour
        "max_retries = 0",
        "max_retries = 16",  # more than Visa's cap
        "retries = 2",  # a misspelt key
    ],
)
def test_a_wrong_allowance_is_a_configuration_error(tmp_path, body):
    path = tmp_path / "payhelp.toml"
    path.write_text(f"[policies.declines.unknown]\nretry = true\n{body}\n")
    with pytest.raises(ConfigurationError):
        Payhelp(Settings.load(path), load_entry_points=False)


def test_every_retry_later_code_has_a_wait_and_no_other_does():
    for code, entry in TABLE.codes.items():
        assert (entry.retry_after is not None) == (entry.action is AdviceAction.RETRY_LATER), code


# -- batches and the async surface ------------------------------------------------------------


def test_explain_batch_answers_line_by_line(ph: Payhelp):
    errors: list[tuple[int, str]] = []
    lines = [
        '{"code": "05", "scheme": "iso8583", "advice_code": "03", "ref": "x"}',
        b'{"code": "Q9", "scheme": "iso8583", "visa_category": 2}',
        '{"code": "05", "scheme": "iso8583", "advice_code": "03", "visa_category": 2}',
    ]
    out = [
        json.loads(line)
        for line in ph.explain_batch(
            lines, language="it", on_error=lambda n, m: errors.append((n, m))
        )
    ]
    assert out[0]["ref"] == "x"
    assert out[0]["retry_allowed"] is False
    assert out[0]["language"] == "it"
    assert out[1]["retry_allowed"] is True
    assert out[2]["error_type"] == "InvalidInputError"
    assert [n for n, _ in errors] == [3]


@pytest.mark.parametrize("lines", ["one string", {"code": "05"}, 5])
def test_a_batch_that_is_not_lines_is_refused_at_once(ph: Payhelp, lines):
    with pytest.raises(InvalidInputError, match="iterable of JSON lines"):
        ph.explain_batch(lines)
    with pytest.raises(InvalidInputError, match="iterable of JSON lines"):
        ph.dunning_batch(lines)


def test_the_async_surface_takes_the_same_advice():
    async def run() -> None:
        aph = AsyncPayhelp(load_entry_points=False)
        advice = await aph.explain_decline("51", "iso8583", advice_code="26")
        assert advice.retry_after == timedelta(days=2)
        schedule = await aph.dunning_plan(FAILED, "51", "iso8583", visa_category=1)
        assert schedule.attempts == ()
        lines = [
            line
            async for line in aph.dunning_batch(
                ['{"code": "51", "scheme": "iso8583", "failed_at": "2026-12-01T09:00:00Z"}']
            )
        ]
        assert json.loads(lines[0])["attempts"][0] == "2026-12-01T21:00:00Z"
        explained = [
            line async for line in aph.explain_batch(['{"code": "Q9", "scheme": "stripe"}'])
        ]
        assert json.loads(explained[0])["known"] is False

    asyncio.run(run())
