"""``payhelp refund check``: decisions, their rules and amounts, languages, and bad input as one
line on stderr with exit code 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .conftest import (
    BOUGHT,
    CARD,
    assert_one_line_error,
    iso,
    italian,
    parse,
    run,
    run_json,
)


def refund(
    capsys: pytest.CaptureFixture[str], product: str, hours: float, *flags: str
) -> dict[str, Any]:
    now = BOUGHT + timedelta(hours=hours)
    args = ("refund", "check", "--product", product, "--purchased-at", iso(BOUGHT))
    result: dict[str, Any] = run_json(capsys, *args, "--now", iso(now), *flags)
    return result


MOTIVATION = ("--motivation", "The video froze after a minute and never came back.")


def test_refund_json_has_decision_and_reasons_with_rule_outcome_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = refund(capsys, "private_show", 72, "--viewed-minutes", "30", "--off-site")
    assert data["decision"] == "not_eligible"
    assert data["reasons"]
    for reason in data["reasons"]:
        assert set(reason) >= {"rule", "outcome", "message"}
        assert isinstance(reason["rule"], str)
        assert reason["rule"]
        assert reason["outcome"] in {"not_eligible", "needs_info", "needs_review"}
        assert isinstance(reason["message"], str)
        assert reason["message"]
        assert "{" not in reason["message"]  # every placeholder filled in
    assert data["language"] == "en"
    assert data["checked_at"].startswith("2026-11-23T10:00")


@pytest.mark.parametrize(
    ("product", "hours", "flags", "decision", "rules"),
    [
        pytest.param("token_purchase", 1, ("--receipt",), "eligible", [], id="tokens-1h"),
        pytest.param("token_purchase", 47.9, ("--receipt",), "eligible", [], id="tokens-47.9h"),
        pytest.param("token_purchase", 48, ("--receipt",), "eligible", [], id="tokens-exactly-48h"),
        pytest.param(
            "token_purchase",
            48.02,
            ("--receipt",),
            "not_eligible",
            ["refund_window"],
            id="tokens-after-48h",
        ),
        pytest.param(
            "subscription",
            500,
            ("--receipt",),
            "not_eligible",
            ["refund_window"],
            id="subscription-after-48h",
        ),
        pytest.param(
            "static_content",
            1,
            ("--receipt",),
            "not_eligible",
            ["static_content"],
            id="static-content",
        ),
        pytest.param(
            "token_purchase",
            1,
            ("--receipt", "--off-site"),
            "not_eligible",
            ["bought_on_site"],
            id="off-site",
        ),
        pytest.param(
            "private_show",
            1,
            ("--receipt", "--model-consulted", "--viewed-minutes", "6", *MOTIVATION),
            "not_eligible",
            ["private_show_viewed", "model_view_reviewed"],
            id="show-viewed-6-minutes",
        ),
        pytest.param(
            "private_show",
            1,
            ("--receipt", "--model-consulted", "--viewed-minutes", "5", *MOTIVATION),
            "needs_review",
            ["model_view_reviewed"],
            id="show-viewed-5-minutes",
        ),
        pytest.param("token_purchase", 1, (), "needs_info", ["receipt_required"], id="no-receipt"),
        pytest.param(
            "private_show",
            1,
            ("--receipt", "--model-consulted", "--viewed-minutes", "2", "--motivation", "bad"),
            "needs_info",
            ["private_show_motivation", "model_view_reviewed"],
            id="show-motivation-too-short",
        ),
        pytest.param(
            "private_show",
            1,
            ("--receipt", "--model-consulted", *MOTIVATION),
            "needs_info",
            ["private_show_viewed", "model_view_reviewed"],
            id="show-minutes-unknown",
        ),
        pytest.param(
            "tip", 1, ("--receipt",), "needs_review", ["model_consulted"], id="tip-no-model"
        ),
        pytest.param(
            "tip",
            1,
            ("--receipt", "--model-consulted"),
            "needs_review",
            ["model_view_reviewed"],
            id="tip-model-consulted",
        ),
        pytest.param(
            "static_content",
            1,
            ("--receipt", "--platform-fault", "INC-2041"),
            "needs_review",
            ["static_content_fault"],
            id="static-with-recorded-fault",
        ),
    ],
)
def test_refund_decisions(
    capsys: pytest.CaptureFixture[str],
    product: str,
    hours: float,
    flags: tuple[str, ...],
    decision: str,
    rules: list[str],
) -> None:
    data = refund(capsys, product, hours, *flags)
    assert data["decision"] == decision
    assert [reason["rule"] for reason in data["reasons"]] == rules
    # The worst fired rule decides; the model's view only ever adds a review.
    assert all(r["outcome"] == decision for r in data["reasons"][:1])
    for reason in data["reasons"][1:]:
        assert reason["outcome"] in {decision, "needs_review"}


def test_refund_rule_messages_fill_in_their_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    window = refund(capsys, "token_purchase", 49, "--receipt")["reasons"][0]["message"]
    assert "48 hours" in window
    viewed = refund(
        capsys, "private_show", 1, "--receipt", "--model-consulted", "--viewed-minutes", "9"
    )
    messages = {r["rule"]: r["message"] for r in viewed["reasons"]}
    assert "5 minutes" in messages["private_show_viewed"]


def test_refund_every_fired_rule_is_listed_worst_first(capsys: pytest.CaptureFixture[str]) -> None:
    data = refund(capsys, "private_show", 100, "--viewed-minutes", "20", "--off-site")
    assert data["decision"] == "not_eligible"
    rules = [r["rule"] for r in data["reasons"]]
    assert set(rules) == {
        "refund_window",
        "bought_on_site",
        "private_show_viewed",
        "receipt_required",
        "private_show_motivation",
        "model_consulted",
    }
    severity = {"not_eligible": 3, "needs_info": 2, "needs_review": 1}
    ranks = [severity[r["outcome"]] for r in data["reasons"]]
    assert ranks == sorted(ranks, reverse=True)


def test_refund_language_option_gives_italian_messages(capsys: pytest.CaptureFixture[str]) -> None:
    english = refund(capsys, "token_purchase", 1)
    data = refund(capsys, "token_purchase", 1, "--language", "it")
    assert data["language"] == "it"
    assert data["decision"] == "needs_info"
    message = data["reasons"][0]["message"]
    assert message == italian(english["reasons"][0]["message"])
    assert message == (
        "Allega una ricevuta che provi l'acquisto (l'email di conferma o la riga dell'estratto "
        "conto)."
    )
    assert data["summary"] == italian(english["summary"])
    window = refund(capsys, "token_purchase", 50, "--receipt", "--language", "it")
    assert "48 ore" in window["reasons"][0]["message"]


@pytest.mark.parametrize(
    ("env", "language"),
    [
        ({"LANG": "it_IT.UTF-8"}, "it"),
        ({"LC_ALL": "it_IT.UTF-8", "LANG": "en_US.UTF-8"}, "it"),
        ({"LC_MESSAGES": "it_IT", "LANG": "en_GB.UTF-8"}, "it"),
        ({"LC_ALL": "C", "LANG": "it_IT.UTF-8"}, "en"),  # LC_ALL wins, as POSIX says
        ({"LANG": "fr_FR.UTF-8"}, "en"),  # a language payhelp does not speak
        ({"LANG": "en_US.UTF-8"}, "en"),
    ],
)
def test_refund_language_from_the_locale(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    language: str,
) -> None:
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    data = refund(capsys, "token_purchase", 1)
    assert data["language"] == language
    receipt = "Allega una ricevuta" if language == "it" else "Attach a receipt"
    assert data["reasons"][0]["message"].startswith(receipt)


def test_refund_language_option_wins_over_the_locale(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LC_ALL", "it_IT.UTF-8")
    assert refund(capsys, "token_purchase", 1, "--language", "en")["language"] == "en"


def test_refund_now_defaults_to_the_current_time(capsys: pytest.CaptureFixture[str]) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    bought = before - timedelta(hours=1)
    data = run_json(
        capsys, "refund", "check", "--product", "token_purchase", "--purchased-at", iso(bought)
    )
    after = datetime.now(UTC)
    assert before <= parse(data["checked_at"]) <= after
    assert data["decision"] == "needs_info"  # within the window, but no receipt
    assert [r["rule"] for r in data["reasons"]] == ["receipt_required"]


def test_refund_motivation_is_not_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "refund",
        "check",
        "--product",
        "private_show",
        "--purchased-at",
        iso(BOUGHT),
        "--now",
        iso(BOUGHT + timedelta(hours=1)),
        "--motivation",
        f"I paid with {CARD} and the show never started",
        "--json",
    )
    assert code == 0, err
    assert CARD not in out + err
    assert "never started" not in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(
            ("--purchased-at", "2026-11-20T10:00:00", "--now", "2026-11-21T10:00:00Z"),
            "--purchased-at needs a time zone",
            id="naive-purchased-at",
        ),
        pytest.param(
            ("--purchased-at", "2026-11-20T10:00:00Z", "--now", "2026-11-21T10:00:00"),
            "--now needs a time zone",
            id="naive-now",
        ),
        pytest.param(
            ("--purchased-at", "yesterday at ten", "--now", "2026-11-21T10:00:00Z"),
            "--purchased-at: not an ISO 8601 time",
            id="malformed-purchased-at",
        ),
        pytest.param(
            ("--purchased-at", "2026-11-20T10:00:00Z", "--now", "2026-13-40T99:00:00Z"),
            "--now: not an ISO 8601 time",
            id="malformed-now",
        ),
        pytest.param(
            ("--purchased-at", "2026-11-22T10:00:00Z", "--now", "2026-11-21T10:00:00Z"),
            "now is before purchased_at",
            id="now-before-purchase",
        ),
        pytest.param(
            ("--purchased-at", "2026-11-21T10:00:00Z", "--now", "2026-11-21T10:30:00+01:00"),
            "now is before purchased_at",
            id="now-before-purchase-across-zones",
        ),
        pytest.param(
            ("--purchased-at", "2026-11-20T10:00:00Z", "--viewed-minutes", "-1"),
            "--viewed-minutes",
            id="negative-minutes",
        ),
        pytest.param(
            ("--purchased-at", "2026-11-20T10:00:00Z", "--viewed-minutes", "99999"),
            "--viewed-minutes: ",
            id="absurd-minutes",
        ),
        pytest.param(
            ("--purchased-at", "2026-11-20T10:00:00Z", "--processor", "nope"),
            "unknown processor 'nope'",
            id="unknown-processor",
        ),
        pytest.param(
            ("--purchased-at", "2026-11-20T10:00:00Z", "--language", "fr"),
            "--language takes one of en, it (not 'fr')",
            id="unknown-language",
        ),
    ],
)
def test_refund_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], fragment: str
) -> None:
    code, out, err = run(capsys, "refund", "check", "--product", "tip", *args)
    assert_one_line_error(code, out, err, fragment)


@pytest.mark.parametrize("product", ["tokens", "video", ""])
def test_refund_unknown_product_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], product: str
) -> None:
    code, out, err = run(
        capsys, "refund", "check", "--product", product, "--purchased-at", iso(BOUGHT)
    )
    line = assert_one_line_error(code, out, err, "--product")
    assert "token_purchase" in line  # the choices are named


def test_refund_missing_purchase_time_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "refund", "check", "--product", "tip")
    assert_one_line_error(code, out, err, "--purchased-at")


def test_refund_table_names_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "refund",
        "check",
        "--product",
        "private_show",
        "--purchased-at",
        iso(BOUGHT),
        "--now",
        iso(BOUGHT + timedelta(hours=100)),
        "--viewed-minutes",
        "20",
        "--off-site",
    )
    assert code == 0, err
    assert "Refund decision: not_eligible" in out
    for rule in (
        "refund_window",
        "bought_on_site",
        "private_show_viewed",
        "receipt_required",
        "private_show_motivation",
        "model_consulted",
    ):
        assert rule in out
    assert "This purchase cannot be refunded under the policy." in out


def test_refund_table_for_an_eligible_request(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "refund",
        "check",
        "--product",
        "token_purchase",
        "--purchased-at",
        iso(BOUGHT),
        "--now",
        iso(BOUGHT + timedelta(hours=2)),
        "--receipt",
        "--language",
        "it",
    )
    assert code == 0, err
    assert italian("Refund decision: {decision}").format(decision="eligible") in out
    assert "2026-11-22T10:00:00+00:00" in out  # the last moment for an eligible request


def refund_text(capsys: pytest.CaptureFixture[str], product: str, *flags: str) -> str:
    now = iso(BOUGHT + timedelta(hours=1))
    code, out, err = run(
        capsys,
        "refund",
        "check",
        "--product",
        product,
        "--purchased-at",
        iso(BOUGHT),
        "--now",
        now,
        *flags,
    )
    assert code == 0, err
    assert err == ""
    return out


PARTIAL = ("--amount", "20.00", "--requested", "5", "--currency", "EUR")


WHOLE_AMOUNT = (
    "Refunds are always of the whole amount paid, never of a part. Support will look at your "
    "request; if the other rules allow it, the whole purchase can be refunded."
)


def test_refund_partial_request_is_reviewed_and_told_the_whole_amount(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = refund(capsys, "token_purchase", 1, "--receipt", *PARTIAL)
    assert data["decision"] == "needs_review"
    assert data["reasons"] == [
        {"rule": "full_amount_only", "outcome": "needs_review", "message": WHOLE_AMOUNT}
    ]
    assert data["refund"] is None
    assert data["eligible_amount"] == {"amount": "20.00", "currency": "EUR"}
    assert data["requested"] == {"amount": "5", "currency": "EUR"}
    out = refund_text(capsys, "token_purchase", "--receipt", *PARTIAL)
    assert "Refund decision: needs_review" in out
    assert "Can be refunded: 20.00 EUR, the whole amount paid (asked for: 5 EUR)" in out
    assert "Refund: " not in out
    italian_out = refund_text(capsys, "token_purchase", "--receipt", *PARTIAL, "--language", "it")
    flowed = " ".join(italian_out.split())  # the console wraps long lines at its width
    line = "Can be refunded: {amount}, the whole amount paid (asked for: {requested})"
    expected = italian(line).format(amount="20.00 EUR", requested="5 EUR")
    assert expected == (
        "Si può rimborsare: 20.00 EUR, l'intero importo pagato (la richiesta era di 5 EUR)"
    )
    assert expected in flowed


def test_refund_whole_amount_is_refunded_and_shown(capsys: pytest.CaptureFixture[str]) -> None:
    whole = ("--amount", "20.00", "--requested", "20.00", "--currency", "EUR")
    data = refund(capsys, "token_purchase", 1, "--receipt", *whole)
    assert (data["decision"], data["reasons"]) == ("eligible", [])
    assert data["refund"] == data["eligible_amount"] == {"amount": "20.00", "currency": "EUR"}
    out = refund_text(
        capsys, "token_purchase", "--receipt", "--amount", "20.00", "--currency", "EUR"
    )
    assert "Refund: 20.00 EUR" in out
    assert "Can be refunded" not in out


def test_refund_partial_request_out_of_time_states_no_amount(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = refund(capsys, "token_purchase", 49, "--receipt", *PARTIAL)
    assert data["decision"] == "not_eligible"
    assert [r["rule"] for r in data["reasons"]] == ["refund_window", "full_amount_only"]
    assert data["eligible_amount"] is None
    assert data["refund"] is None


def test_refund_platform_fault_sends_static_content_to_review(
    capsys: pytest.CaptureFixture[str],
) -> None:
    refused = refund(capsys, "static_content", 1, "--receipt")
    assert refused["decision"] == "not_eligible"
    assert [r["rule"] for r in refused["reasons"]] == ["static_content"]
    data = refund(capsys, "static_content", 1, "--receipt", "--platform-fault", "INC-2041")
    assert data["decision"] == "needs_review"
    assert data["reasons"] == [
        {
            "rule": "static_content_fault",
            "outcome": "needs_review",
            "message": (
                "A fault of the site is on record for this purchase; support will look at the "
                "request before a refund of the videos or photos can be promised."
            ),
        }
    ]
    in_italian = refund(
        capsys, "static_content", 1, "--receipt", "--platform-fault", "INC-2041", "--language", "it"
    )
    assert in_italian["reasons"][0]["message"] == italian(data["reasons"][0]["message"])
    assert in_italian["reasons"][0]["message"].startswith(
        "Per questo acquisto risulta un malfunzionamento del sito"
    )
    out = refund_text(capsys, "static_content", "--receipt", "--platform-fault", "INC-2041")
    assert "static_content_fault" in out
    assert "Refund decision: needs_review" in out


def test_refund_consulted_model_makes_a_tip_reviewable_not_eligible(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = refund(
        capsys, "tip", 1, "--receipt", "--model-consulted", "--amount", "9.99", "--currency", "EUR"
    )
    assert data["decision"] == "needs_review"
    assert data["refund"] is None
    assert data["reasons"] == [
        {
            "rule": "model_view_reviewed",
            "outcome": "needs_review",
            "message": (
                "The matter has been discussed with the model: the model's view goes to support, "
                "who decide on the refund."
            ),
        }
    ]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(("--amount", "20"), "--amount and --requested need --currency", id="no-cur"),
        pytest.param(
            ("--requested", "5", "--currency", "EUR"), "--requested needs --amount", id="no-paid"
        ),
        pytest.param(("--currency", "EUR"), "--currency goes with --amount", id="cur-alone"),
        pytest.param(("--amount", "abc", "--currency", "EUR"), "--amount: ", id="not-a-number"),
        pytest.param(("--amount", "-1", "--currency", "EUR"), "--amount: ", id="negative"),
        pytest.param(("--amount", "20", "--currency", "EURO"), "--currency: ", id="bad-currency"),
        pytest.param(
            ("--amount", "20", "--requested", "30", "--currency", "EUR"),
            "more than was paid",
            id="more",
        ),
        pytest.param(
            ("--amount", "20", "--requested", "0", "--currency", "EUR"), "more than zero", id="zero"
        ),
        pytest.param(("--platform-fault", ""), "--platform-fault: ", id="empty-fault"),
        pytest.param(("--platform-fault", "INC-1\nINC-2"), "one line", id="two-line-fault"),
    ],
)
def test_refund_bad_money_or_fault_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], fragment: str
) -> None:
    now = iso(BOUGHT + timedelta(hours=1))
    code, out, err = run(
        capsys,
        "refund",
        "check",
        "--product",
        "static_content",
        "--purchased-at",
        iso(BOUGHT),
        "--now",
        now,
        "--receipt",
        *args,
    )
    assert_one_line_error(code, out, err, fragment)


def test_refund_card_number_as_platform_fault_is_refused_unechoed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys,
        "refund",
        "check",
        "--product",
        "static_content",
        "--purchased-at",
        iso(BOUGHT),
        "--receipt",
        "--platform-fault",
        CARD,
        "--json",
    )
    line = assert_one_line_error(code, out, err, "--platform-fault: ")
    assert "card number" in line
    assert CARD not in err
    assert CARD[-4:] not in err
