"""Configuring the customer policies: `[policies.refund]` and `[policies.dunning]` from a TOML
file, the environment and keyword arguments, and the errors a wrong configuration gives."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import payhelp.config
from payhelp import AsyncPayhelp, ConfigurationError, Payhelp, Settings
from payhelp.config import PolicySettings, RefundPolicySettings
from payhelp.policies.dunning import (
    AttemptResult,
    ChargeFailed,
    DunningPolicy,
    FinalAction,
    FinalStep,
    ManualClock,
)
from payhelp.policies.refunds import DEFAULT_RULES, ElapsedOver, RefundOutcome, RefundRule

BOUGHT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
FAILED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
DEFAULT_IDS = [rule.id for rule in DEFAULT_RULES]

WINDOW_72 = """
[policies.refund]
[[policies.refund.rules]]
id = "refund_window"
when = {kind = "elapsed_over", hours = 72}
outcome = "not_eligible"
message = {en = "Only within {hours} hours.", it = "Solo entro {hours} ore."}
"""


@pytest.fixture(autouse=True)
def _neutral_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("PAYHELP_LANGUAGE", "PAYHELP_CONFIG", "PAYHELP_LOAD_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("PAYHELP_DISABLE_PLUGINS", raising=False)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "payhelp.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def check(ph: Payhelp, hours: float, product: str = "token_purchase", **facts: Any) -> Any:
    facts.setdefault("receipt", True)
    return ph.refund_check(
        product=product,
        purchased_at=BOUGHT,
        now=BOUGHT + timedelta(hours=hours),
        **facts,
    )


def rule(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "new_rule",
        "when": {"kind": "always"},
        "outcome": "needs_review",
        "message": "A person looks at it.",
    }
    return base | fields


# -- refund rules ------------------------------------------------------------------------------


def test_default_policy_without_configuration() -> None:
    ph = Payhelp()
    assert [r.id for r in ph.refund_policy.rules] == DEFAULT_IDS
    assert ph.refund_policy.name == "platform default"
    assert check(ph, 60).decision is RefundOutcome.NOT_ELIGIBLE
    assert ph.settings.policies.dunning == DunningPolicy()


def test_file_replaces_the_refund_window_by_id(tmp_path: Path) -> None:
    ph = Payhelp(config=write(tmp_path, WINDOW_72))
    assert [r.id for r in ph.refund_policy.rules] == DEFAULT_IDS  # replaced in place
    window = ph.refund_policy.rules[0]
    assert isinstance(window.when, ElapsedOver)
    assert window.when.hours == 72
    assert check(Payhelp(), 60).decision is RefundOutcome.NOT_ELIGIBLE
    assert check(ph, 60).decision is RefundOutcome.ELIGIBLE
    assert check(ph, 72).decision is RefundOutcome.ELIGIBLE
    late = check(ph, 73)
    assert late.decision is RefundOutcome.NOT_ELIGIBLE
    assert [(r.rule, r.message) for r in late.reasons] == [
        ("refund_window", "Only within 72 hours.")
    ]
    assert late.deadline == BOUGHT + timedelta(hours=72)
    italian = ph.refund_check(
        product="token_purchase",
        purchased_at=BOUGHT,
        now=BOUGHT + timedelta(hours=73),
        receipt=True,
        language="it",
    )
    assert italian.reasons[0].message == "Solo entro 72 ore."


def test_from_config_and_settings_load_agree(tmp_path: Path) -> None:
    path = write(tmp_path, WINDOW_72)
    assert Payhelp.from_config(path).refund_policy == Payhelp(config=path).refund_policy
    assert Payhelp(Settings.load(path)).refund_policy == Payhelp(config=path).refund_policy


def test_keyword_arguments_replace_a_rule_by_id() -> None:
    window = rule(
        id="refund_window",
        when={"kind": "elapsed_over", "hours": 72},
        outcome="not_eligible",
        message={"en": "Within 72 hours.", "it": "Entro 72 ore."},
    )
    policies = {"refund": {"rules": [window]}}
    for ph in (Payhelp(policies=policies), Payhelp(Settings.load(policies=policies))):
        assert check(ph, 60).decision is RefundOutcome.ELIGIBLE
        assert check(ph, 73).reasons[0].message == "Within 72 hours."


def test_settings_built_from_models() -> None:
    window = RefundRule(
        id="refund_window",
        when=ElapsedOver(hours=72),
        outcome=RefundOutcome.NOT_ELIGIBLE,
        message="Within 72 hours.",
    )
    settings = Settings(
        policies=PolicySettings(
            refund=RefundPolicySettings(rules=(window,), disable=("static_content",)),
            dunning=DunningPolicy(grace=timedelta(days=7)),
        )
    )
    ph = Payhelp(settings)
    assert check(ph, 60).decision is RefundOutcome.ELIGIBLE
    assert check(ph, 1, "static_content").decision is RefundOutcome.ELIGIBLE
    assert ph.dunning_plan(FAILED, "2001", "braintree").downgrade_at == FAILED + timedelta(days=7)


def test_keyword_arguments_win_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[policies.dunning]\ngrace = "P7D"\n')
    assert Payhelp(config=path).settings.policies.dunning.grace == timedelta(days=7)
    ph = Payhelp.from_config(path, policies={"dunning": {"grace": "P3D"}})
    assert ph.settings.policies.dunning.grace == timedelta(days=3)


def test_configuration_file_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYHELP_CONFIG", str(write(tmp_path, WINDOW_72)))
    assert check(Payhelp(), 60).decision is RefundOutcome.ELIGIBLE


def test_disable_a_rule(tmp_path: Path) -> None:
    path = write(tmp_path, '[policies.refund]\ndisable = ["static_content", "receipt_required"]\n')
    ph = Payhelp(config=path)
    ids = [r.id for r in ph.refund_policy.rules]
    assert "static_content" not in ids
    assert "receipt_required" not in ids
    assert ids == [i for i in DEFAULT_IDS if i not in {"static_content", "receipt_required"}]
    assert check(ph, 1, "static_content", receipt=False).decision is RefundOutcome.ELIGIBLE
    assert check(Payhelp(), 1, "static_content").decision is RefundOutcome.NOT_ELIGIBLE
    assert check(ph, 49).decision is RefundOutcome.NOT_ELIGIBLE  # the others still apply


def test_add_a_rule_with_messages_in_both_languages(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[policies.refund.rules]]
        id = "subscription_reason"
        products = ["subscription"]
        when = {kind = "missing", fact = "motivation", min_length = 10}
        outcome = "needs_info"
        message = {en = "Tell us why you cancel.", it = "Dicci perché disdici."}
        source = "our billing team"
        """,
    )
    ph = Payhelp(config=path)
    assert [r.id for r in ph.refund_policy.rules] == [*DEFAULT_IDS, "subscription_reason"]
    asked = check(ph, 1, "subscription")
    assert asked.decision is RefundOutcome.NEEDS_INFO
    assert [(r.rule, r.message) for r in asked.reasons] == [
        ("subscription_reason", "Tell us why you cancel.")
    ]
    italian = ph.refund_check(
        product="subscription",
        purchased_at=BOUGHT,
        now=BOUGHT + timedelta(hours=1),
        receipt=True,
        language="it",
    )
    assert italian.reasons[0].message == "Dicci perché disdici."
    told = check(ph, 1, "subscription", motivation="I never used it at all.")
    assert told.decision is RefundOutcome.ELIGIBLE
    assert check(ph, 1, "token_purchase").decision is RefundOutcome.ELIGIBLE  # not covered


def test_add_a_rule_for_one_product_and_partial_amounts() -> None:
    ph = Payhelp(
        policies={
            "refund": {
                "rules": [
                    rule(id="big_tips", products=["tip"], outcome="not_eligible"),
                ]
            }
        }
    )
    decision = check(ph, 1, "tip", model_consulted=True)
    assert decision.decision is RefundOutcome.NOT_ELIGIBLE
    assert [r.rule for r in decision.reasons] == ["big_tips", "model_view_reviewed"]
    partial = check(
        Payhelp(),
        1,
        amount={"amount": "10.00", "currency": "EUR"},
        requested={"amount": "5.00", "currency": "EUR"},
    )
    assert [r.rule for r in partial.reasons] == ["full_amount_only"]


def test_replace_starts_from_no_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [policies.refund]
        replace = true
        name = "Acme policy"
        [[policies.refund.rules]]
        id = "acme_window"
        when = {kind = "elapsed_over", hours = 24}
        outcome = "not_eligible"
        message = "Only within {hours} hours (until {deadline})."
        """,
    )
    ph = Payhelp(config=path)
    assert [r.id for r in ph.refund_policy.rules] == ["acme_window"]
    assert ph.refund_policy.name == "Acme policy"
    assert check(ph, 1, "static_content", receipt=False, off_site=True).decision is (
        RefundOutcome.ELIGIBLE
    )
    late = check(ph, 25)
    assert late.policy == "Acme policy"
    assert late.reasons[0].message == "Only within 24 hours (until 2026-11-21T10:00+00:00)."


def test_replace_with_no_rules_makes_everything_eligible() -> None:
    ph = Payhelp(policies={"refund": {"replace": True}})
    assert ph.refund_policy.rules == ()
    decision = check(ph, 24 * 300, "private_show", receipt=False, off_site=True, viewed_minutes=60)
    assert decision.decision is RefundOutcome.ELIGIBLE
    assert decision.reasons == ()


def test_unknown_rule_in_disable_is_a_configuration_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[policies.refund]\ndisable = ["static_content", "no_such_rule"]\n')
    with pytest.raises(ConfigurationError, match="no_such_rule") as info:
        Payhelp(config=path)
    assert "cannot disable unknown rules" in str(info.value)
    assert "static_content" not in str(info.value).split(":")[-1]
    with pytest.raises(ConfigurationError, match="no_such_rule"):
        Payhelp(policies={"refund": {"disable": ["no_such_rule"]}})


def test_a_rule_cannot_make_a_request_eligible(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[policies.refund.rules]]
        id = "always_ok"
        when = {kind = "always"}
        outcome = "eligible"
        message = "Fine."
        """,
    )
    with pytest.raises(ConfigurationError) as info:
        Payhelp(config=path)
    message = str(info.value)
    assert str(path) in message
    assert "policies.refund.rules.0" in message
    assert "eligible" in message
    with pytest.raises(ConfigurationError, match="hold a request back"):
        Settings.load(policies={"refund": {"rules": [rule(outcome="eligible")]}})


def test_bad_condition_kind_is_a_clear_configuration_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[policies.refund.rules]]
        id = "rainy_days"
        when = {kind = "weather", sky = "rain"}
        outcome = "needs_review"
        message = "It rains."
        """,
    )
    with pytest.raises(ConfigurationError) as info:
        Payhelp(config=path)
    message = str(info.value)
    assert message.startswith("invalid configuration in ")
    assert "policies.refund.rules.0.when" in message
    assert "'weather'" in message
    for kind in ("elapsed_over", "viewed_over", "missing", "flag", "always"):
        assert kind in message
    assert "\n" not in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ({"when": {"hours": 3}}, "kind"),
        ({"when": {"kind": "elapsed_over"}}, "hours"),
        ({"when": {"kind": "elapsed_over", "hours": -1}}, "hours"),
        ({"when": {"kind": "missing", "fact": "passport"}}, "fact"),
        ({"when": {"kind": "flag", "fact": "rainy"}}, "fact"),
        ({"outcome": "maybe"}, "outcome"),
        ({"id": "Refund Window"}, "id"),
        ({"products": ["tokens"]}, "products"),
        ({"message": {"en": "hi", "fr": "salut"}}, "message"),
        ({"outcom": "needs_review"}, "outcom"),
    ],
)
def test_bad_rules_are_configuration_errors(bad: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid configuration") as info:
        Payhelp(policies={"refund": {"rules": [rule(**bad)]}})
    assert fragment in str(info.value)


def test_two_new_rules_with_one_id_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="two added rules have the id 'twin'"):
        Payhelp(policies={"refund": {"rules": [rule(id="twin"), rule(id="twin")]}})


def test_two_replacements_of_one_rule_are_refused() -> None:
    twice = [
        rule(
            id="refund_window", when={"kind": "elapsed_over", "hours": 72}, outcome="not_eligible"
        ),
        rule(
            id="refund_window", when={"kind": "elapsed_over", "hours": 24}, outcome="not_eligible"
        ),
    ]
    with pytest.raises(ConfigurationError, match="refund_window"):
        Payhelp(policies={"refund": {"rules": twice}})


@pytest.mark.parametrize("message", ["", {}])
def test_a_rule_without_any_message_is_refused(message: Any) -> None:
    with pytest.raises(ConfigurationError, match="message"):
        Payhelp(policies={"refund": {"rules": [rule(message=message)]}})


def test_a_message_in_one_language_serves_both() -> None:
    ph = Payhelp(policies={"refund": {"rules": [rule(message={"en": "Only English."})]}})
    italian = ph.refund_check(
        product="tip", purchased_at=BOUGHT, now=BOUGHT, receipt=True, language="it"
    )
    assert [r.message for r in italian.reasons if r.rule == "new_rule"] == ["Only English."]


def test_async_twin_applies_the_same_policy() -> None:
    policies = {"refund": {"disable": ["refund_window"]}}
    sync = Payhelp(policies=policies)
    asyn = AsyncPayhelp(policies=policies)
    facts = {
        "product": "token_purchase",
        "purchased_at": BOUGHT,
        "now": BOUGHT + timedelta(days=30),
        "receipt": True,
    }

    async def run() -> Any:
        return await asyn.refund_check(facts)

    assert asyncio.run(run()) == sync.refund_check(facts)
    assert sync.refund_check(facts).decision is RefundOutcome.ELIGIBLE


def test_configured_rules_can_test_a_recorded_platform_fault(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [policies.refund]
        name = "faults only"

        # Same id as the default: replaces it where it stands.
        [[policies.refund.rules]]
        id = "static_content"
        products = ["static_content"]
        when = {kind = "missing", fact = "platform_fault"}
        outcome = "needs_review"
        message = {en = "We look at every video refund.", it = "Esaminiamo ogni rimborso di video."}

        [[policies.refund.rules]]
        id = "subscription_fault_only"
        products = ["subscription"]
        when = {kind = "missing", fact = "platform_fault"}
        outcome = "not_eligible"
        message = "Subscriptions are refunded only after an outage on record."

        [[policies.refund.rules]]
        id = "outage_desk"
        products = ["subscription"]
        when = {kind = "flag", fact = "platform_fault"}
        outcome = "needs_review"
        message = "The outage desk checks the incident."
        """,
    )
    ph = Payhelp(config=path)
    ids = [r.id for r in ph.refund_policy.rules]
    assert ids == [*DEFAULT_IDS, "subscription_fault_only", "outage_desk"]
    videos = check(ph, 1, "static_content")
    assert videos.decision is RefundOutcome.NEEDS_REVIEW
    assert [(r.rule, r.message) for r in videos.reasons] == [
        ("static_content", "We look at every video refund.")
    ]
    with_fault = check(ph, 1, "static_content", platform_fault="INC-7")
    assert [r.rule for r in with_fault.reasons] == ["static_content_fault"]
    refused = check(ph, 1, "subscription")
    assert refused.decision is RefundOutcome.NOT_ELIGIBLE
    assert [r.rule for r in refused.reasons] == ["subscription_fault_only"]
    reviewed = check(ph, 1, "subscription", platform_fault="INC-7")
    assert reviewed.decision is RefundOutcome.NEEDS_REVIEW
    assert [(r.rule, r.message) for r in reviewed.reasons] == [
        ("outage_desk", "The outage desk checks the incident.")
    ]
    assert reviewed.policy == "faults only"
    assert check(ph, 1, "token_purchase", platform_fault="INC-7").decision is (
        RefundOutcome.ELIGIBLE
    )


def test_configured_rules_can_test_a_consulted_model_and_partial_requests() -> None:
    ph = Payhelp(
        policies={
            "refund": {
                "rules": [
                    rule(
                        id="model_view_reviewed",
                        products=["tip"],
                        when={"kind": "flag", "fact": "model_consulted"},
                        outcome="needs_info",
                        message="Add the model's reply to your request.",
                    ),
                    rule(
                        id="full_amount_only",
                        when={"kind": "flag", "fact": "partial_amount"},
                        outcome="not_eligible",
                        message="Whole amounts only.",
                    ),
                ]
            }
        }
    )
    tip = check(ph, 1, "tip", model_consulted=True)
    assert tip.decision is RefundOutcome.NEEDS_INFO
    assert [(r.rule, r.message) for r in tip.reasons] == [
        ("model_view_reviewed", "Add the model's reply to your request.")
    ]
    show = check(
        ph,
        1,
        "private_show",
        model_consulted=True,
        viewed_minutes=1,
        motivation="The show never started at all.",
    )
    assert show.decision is RefundOutcome.ELIGIBLE  # the replaced rule covers tips only
    partial = check(
        ph,
        1,
        amount={"amount": "10.00", "currency": "EUR"},
        requested={"amount": "5.00", "currency": "EUR"},
    )
    assert partial.decision is RefundOutcome.NOT_ELIGIBLE
    assert partial.eligible_amount is None  # this platform refuses partial requests


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ({"kind": "flag", "fact": "platform_faults"}, "'platform_fault'"),
        ({"kind": "missing", "fact": "incident"}, "'platform_fault'"),
    ],
)
def test_a_misspelt_new_fact_names_the_facts(when: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid configuration") as info:
        Payhelp(policies={"refund": {"rules": [rule(when=when)]}})
    assert fragment in str(info.value)
    assert "'model_consulted'" in str(info.value)


def test_async_twin_takes_the_new_facts() -> None:
    facts = {
        "product": "static_content",
        "purchased_at": BOUGHT,
        "now": BOUGHT + timedelta(hours=1),
        "receipt": True,
        "platform_fault": "INC-2041",
        "amount": {"amount": "12.00", "currency": "EUR"},
        "requested": {"amount": "6.00", "currency": "EUR"},
    }

    async def run() -> Any:
        return await AsyncPayhelp().refund_check(facts)

    answer = asyncio.run(run())
    assert answer == Payhelp().refund_check(**facts)
    assert answer.decision is RefundOutcome.NEEDS_REVIEW
    assert [r.rule for r in answer.reasons] == ["full_amount_only", "static_content_fault"]
    assert answer.eligible_amount is None  # the fault still has to be reviewed
    assert str(answer.requested) == "6.00 EUR"


# -- dunning -----------------------------------------------------------------------------------

DUNNING = """
[policies.dunning]
grace = "P7D"
retry_interval = "PT8H"
max_attempts = 6
final_action = "cancel"
"""


def test_dunning_settings_from_a_file(tmp_path: Path) -> None:
    ph = Payhelp(config=write(tmp_path, DUNNING))
    policy = ph.settings.policies.dunning
    assert policy.grace == timedelta(days=7)
    assert policy.retry_interval == timedelta(hours=8)
    assert policy.max_attempts == 6
    assert policy.final_action is FinalAction.CANCEL
    # A processing error asks for only an hour's wait, so the 8-hour interval rules.
    plan = ph.dunning_plan(FAILED, "3000", "braintree")
    assert list(plan.attempts) == [FAILED + timedelta(hours=8 * k) for k in range(1, 7)]
    assert plan.downgrade_at == FAILED + timedelta(days=7)
    assert plan.final_action is FinalAction.CANCEL
    assert plan.plan is None
    assert plan.retries_stop is not None
    assert "limit on attempts" in plan.retries_stop
    kinds = [n.kind.value for n in plan.notifications]
    assert kinds == ["payment_failed", "update_card", "final_action"]
    assert plan.notifications[1].at == plan.attempts[-1]
    assert "cancelled" in plan.notifications[-1].message


def test_dunning_interval_never_undercuts_the_wait_a_decline_asks_for(tmp_path: Path) -> None:
    # Insufficient funds asks for 12 hours: a shorter platform interval does not shorten it.
    ph = Payhelp(config=write(tmp_path, DUNNING))
    plan = ph.dunning_plan(FAILED, "2001", "braintree")
    assert list(plan.attempts) == [FAILED + timedelta(hours=12 * k) for k in range(1, 7)]
    assert "12" in plan.notifications[0].message


def test_dunning_from_keyword_arguments() -> None:
    ph = Payhelp(
        policies={
            "dunning": {
                "grace": "P2D",
                "retry_interval": "P1D",
                "downgrade_plan": "Basic",
                "notify": ["email"],
            }
        }
    )
    plan = ph.dunning_plan("2026-11-01T10:00:00Z", "2001", "braintree")
    assert list(plan.attempts) == [FAILED + timedelta(days=1)]
    assert plan.downgrade_at == FAILED + timedelta(days=2)
    assert plan.plan == "Basic"
    assert "Basic" in plan.notifications[-1].message
    assert all(n.channels == ("email",) for n in plan.notifications)


def test_dunning_machine_uses_the_configured_policy(tmp_path: Path) -> None:
    ph = Payhelp(config=write(tmp_path, DUNNING))
    clock = ManualClock(FAILED)
    machine = ph.dunning(clock=clock)
    decline = ph.explain_decline("3000", "braintree")
    machine.handle(ChargeFailed(decline=decline))
    final = None
    attempts = 0
    while final is None:
        wakeup = machine.next_wakeup()
        assert wakeup is not None
        clock.set(wakeup)
        for action in machine.due():
            if isinstance(action, FinalStep):
                final = action
            else:
                attempts += 1
                machine.handle(AttemptResult(approved=False, decline=decline))
    assert attempts == 6
    assert final.at == FAILED + timedelta(days=7)
    assert final.final_action is FinalAction.CANCEL
    assert final.plan is None


@pytest.mark.parametrize(
    ("dunning", "fragment"),
    [
        ({"notify": []}, "notify needs at least one channel"),
        ({"notify": ["sms"]}, "notify"),
        ({"grace": "P400D"}, "grace"),
        ({"grace": "-P1D"}, "grace"),
        ({"grace": "five days"}, "grace"),
        ({"retry_interval": "PT0S"}, "retry_interval"),
        ({"retry_interval": "P60D"}, "retry_interval"),
        ({"max_attempts": -1}, "max_attempts"),
        ({"final_action": "delete_account"}, "final_action"),
        ({"downgrade_plan": ""}, "downgrade_plan"),
        ({"grace_days": 7}, "grace_days"),
    ],
)
def test_bad_dunning_settings_are_configuration_errors(
    dunning: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ConfigurationError, match="invalid configuration") as info:
        Settings.load(policies={"dunning": dunning})
    assert fragment in str(info.value)


def test_empty_notify_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[policies.dunning]\nnotify = []\n")
    with pytest.raises(ConfigurationError, match="notify needs at least one channel") as info:
        Payhelp(config=path)
    assert str(path) in str(info.value)


# -- the [policies] table ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[policies.chargebacks]\nwindow = 3\n", "policies.chargebacks"),
        ("[policies.refunds]\ndisable = []\n", "policies.refunds"),
        ("[policies.refund]\nrule = []\n", "policies.refund.rule"),
        ("policies = 3\n", "[policies] must be a table"),
        ("[policy.refund]\ndisable = []\n", "unknown tables: policy"),
    ],
)
def test_unknown_or_misshapen_policy_tables_are_rejected(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as info:
        Settings.load(path)
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_invalid_toml_is_a_configuration_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[policies.dunning]\ngrace = "P7D\n')
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        Settings.load(path)


# -- the documented example ----------------------------------------------------------------------


def documented_example() -> str:
    doc = payhelp.config.__doc__
    assert doc is not None
    body = doc.split("Example ``payhelp.toml``::", 1)[1].split("Environment variables", 1)[0]
    return textwrap.dedent(body).strip() + "\n"


def test_the_module_docstring_example_parses_and_works(tmp_path: Path) -> None:
    text = documented_example()
    assert "[policies.refund]" in text
    assert "[policies.dunning]" in text
    ph = Payhelp.from_config(write(tmp_path, text))
    assert ph.language == "it"
    assert "wtseticket" not in {p.id for p in ph.processors()}
    assert ph.contacts("paymentico", "US").channels[-1].value == "billing-help@example.com"
    # Refunds: static content switched off, the window moved to 72 hours with its own text.
    ids = [r.id for r in ph.refund_policy.rules]
    assert "static_content" not in ids
    assert ids[0] == "refund_window"
    assert check(ph, 1, "static_content").decision is RefundOutcome.ELIGIBLE
    assert check(ph, 60).decision is RefundOutcome.ELIGIBLE
    late = check(ph, 73)
    assert late.language == "it"
    assert [(r.rule, r.message) for r in late.reasons] == [
        ("refund_window", "Rimborsi solo entro 72 ore.")
    ]
    english = ph.refund_check(
        product="token_purchase",
        purchased_at=BOUGHT,
        now=BOUGHT + timedelta(hours=73),
        receipt=True,
        language="en",
    )
    assert english.reasons[0].message == "Refunds within 72 hours only."
    # Dunning: seven days of grace, at most six attempts, then cancel.
    plan = ph.dunning_plan(FAILED, "3000", "braintree")
    assert plan.downgrade_at == FAILED + timedelta(days=7)
    assert list(plan.attempts) == [FAILED + timedelta(hours=8 * k) for k in range(1, 7)]
    assert plan.final_action is FinalAction.CANCEL
    assert plan.plan is None
    assert plan.notifications[0].message.startswith("Il pagamento")
