"""The policy commands of the CLI: `refund check`, `decline explain`, `decline schemes` and
`dunning plan`, run through the real entry point with their JSON parsed, their tables read, and
bad input turned into one line on stderr with exit code 2."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from payhelp.cli import main
from payhelp.policies import dunning as dunning_module
from payhelp.policies.advice import REASONS
from payhelp.policies.declines import DeclineReason

CARD = "4111111111111111"  # a Luhn-valid test card number
BOUGHT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
FAILED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
ALL_REASONS = {reason.value for reason in DeclineReason}


@pytest.fixture(autouse=True)
def _neutral_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """English unless a test says otherwise; no configuration file from the caller's shell."""
    for var in ("PAYHELP_LANGUAGE", "PAYHELP_CONFIG", "PAYHELP_DEBUG", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def assert_one_line_error(code: int, out: str, err: str, fragment: str = "") -> str:
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert err.endswith("\n")
    assert lines[0].startswith("payhelp: error: "), lines[0]
    assert fragment in lines[0]
    return lines[0]


def iso(moment: datetime) -> str:
    return moment.isoformat()


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


@cache
def italian_catalogue() -> dict[str, str]:
    """The Italian catalogue read straight from the .po file, not through payhelp's i18n."""
    path = resources.files("payhelp") / "locale" / "it" / "LC_MESSAGES" / "payhelp.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale="it", domain="payhelp")
    return {str(m.id): str(m.string) for m in catalogue if m.id and m.string}


def italian(msgid: str) -> str:
    text = italian_catalogue().get(msgid)
    assert text, f"no Italian translation of {msgid!r}"
    return text


# -- refund check ------------------------------------------------------------------------------


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
            "viewed_minutes",
            id="absurd-minutes",
        ),
        pytest.param(
            ("--purchased-at", "2026-11-20T10:00:00Z", "--processor", "nope"),
            "unknown processor 'nope'",
            id="unknown-processor",
        ),
        pytest.param(
            ("--purchased-at", "2026-11-20T10:00:00Z", "--language", "fr"),
            "'fr' is not one of",
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
        pytest.param(("--amount", "abc", "--currency", "EUR"), "amount.amount", id="not-a-number"),
        pytest.param(("--amount", "-1", "--currency", "EUR"), "amount.amount", id="negative"),
        pytest.param(
            ("--amount", "20", "--currency", "EURO"), "amount.currency", id="bad-currency"
        ),
        pytest.param(
            ("--amount", "20", "--requested", "30", "--currency", "EUR"),
            "more than was paid",
            id="more",
        ),
        pytest.param(
            ("--amount", "20", "--requested", "0", "--currency", "EUR"), "more than zero", id="zero"
        ),
        pytest.param(("--platform-fault", ""), "platform_fault", id="empty-fault"),
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
    line = assert_one_line_error(code, out, err, "platform_fault")
    assert "card number" in line
    assert CARD not in err
    assert CARD[-4:] not in err


# -- decline explain ---------------------------------------------------------------------------


def explain(capsys: pytest.CaptureFixture[str], code: str, scheme: str, *flags: str) -> Any:
    return run_json(capsys, "decline", "explain", code, "--scheme", scheme, *flags)


def test_decline_json_has_the_promised_fields(capsys: pytest.CaptureFixture[str]) -> None:
    data = explain(capsys, "2001", "braintree")
    assert set(data) >= {"reason", "retry_allowed", "fixer", "customer_message", "code", "known"}
    assert data["reason"] == "insufficient_funds"
    assert data["retry_allowed"] is True
    assert data["fixer"] in {"customer", "card_issuer", "merchant", "processor"}
    assert isinstance(data["customer_message"], str)
    assert data["customer_message"]
    assert data["known"] is True
    assert data["code"] == "2001"
    assert data["scheme"] == "braintree"
    assert data["language"] == "en"


@pytest.mark.parametrize(
    ("scheme", "code", "normalized", "reason"),
    [
        ("braintree", "2001", "2001", "insufficient_funds"),
        ("braintree", " 2001 Insufficient Funds ", "2001", "insufficient_funds"),
        ("braintree", "2000", "2000", "card_declined"),
        ("braintree", "2004", "2004", "expired_card"),
        ("braintree", "1000", "1000", "approved"),
        ("braintree", "3000", "3000", "processing_error"),
        ("braintree", "2500", "2500", "card_declined"),  # the 2109-2999 range row
        ("iso8583", "05", "05", "card_declined"),
        ("iso8583", "5", "05", "card_declined"),
        ("iso8583", "51", "51", "insufficient_funds"),
        ("iso8583", "41", "41", "lost_or_stolen_card"),
        ("iso8583", "n7", "N7", "incorrect_card_details"),
        ("stripe", "insufficient_funds", "insufficient_funds", "insufficient_funds"),
        ("stripe", "INSUFFICIENT_FUNDS", "insufficient_funds", "insufficient_funds"),
        ("stripe", "lost_card", "lost_card", "lost_or_stolen_card"),
        ("stripe", "generic_decline", "generic_decline", "card_declined"),
    ],
)
def test_decline_each_scheme(
    capsys: pytest.CaptureFixture[str], scheme: str, code: str, normalized: str, reason: str
) -> None:
    data = explain(capsys, code, scheme)
    assert data["scheme"] == scheme
    assert data["known"] is True
    assert data["normalized_code"] == normalized
    assert data["reason"] == reason
    assert data["reason"] in ALL_REASONS
    assert data["code"] == code.strip()


@pytest.mark.parametrize(
    ("scheme", "code"),
    [
        ("braintree", "9999"),
        ("braintree", "4000"),
        ("iso8583", "ZZ"),
        ("stripe", "card_melted"),
        ("stripe", "something went wrong (#42)"),
    ],
)
def test_decline_unknown_code_is_an_answer_not_an_error(
    capsys: pytest.CaptureFixture[str], scheme: str, code: str
) -> None:
    data = explain(capsys, code, scheme)
    assert data["reason"] == "unknown"
    assert data["known"] is False
    assert data["code"] == code
    assert data["severity"] is None
    assert data["customer_message"]


def test_decline_unknown_code_table_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "decline", "explain", "9999", "--scheme", "braintree")
    assert code == 0, err
    assert err == ""
    assert "unknown" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(("2001", "--scheme", "visa"), "unknown decline scheme 'visa'", id="scheme"),
        pytest.param(("2001", "--scheme", "segpay"), "unknown decline scheme", id="processor"),
        pytest.param(("2001",), "Missing option '--scheme'", id="no-scheme"),
        pytest.param(("2001", "--scheme", "braintree", "--network", "jcb"), "--network", id="net"),
        pytest.param(("   ", "--scheme", "stripe"), "a decline code is needed", id="blank"),
        pytest.param(
            ("2001", "--scheme", "braintree", "--language", "de"), "'de' is not one of", id="lang"
        ),
    ],
)
def test_decline_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], fragment: str
) -> None:
    code, out, err = run(capsys, "decline", "explain", *args)
    line = assert_one_line_error(code, out, err, fragment)
    if "unknown decline scheme" in fragment:
        assert "braintree, iso8583, stripe" in line


@pytest.mark.parametrize("scheme", ["braintree", "iso8583", "stripe"])
@pytest.mark.parametrize("pasted", [CARD, "4111 1111 1111 1111", "4111-1111-1111-1111"])
def test_decline_card_number_is_refused_in_json_mode_too(
    capsys: pytest.CaptureFixture[str], scheme: str, pasted: str
) -> None:
    code, out, err = run(capsys, "decline", "explain", pasted, "--scheme", scheme, "--json")
    assert_one_line_error(code, out, err, "holds a card number")
    assert CARD not in out + err
    assert pasted not in out + err


def test_decline_card_number_is_never_printed_in_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A card number is never a decline code: refused, never printed.
    code, out, err = run(capsys, "decline", "explain", CARD, "--scheme", "braintree")
    assert_one_line_error(code, out, err, "holds a card number")
    assert CARD not in out + err


def test_decline_table_code_with_brackets_is_plain_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "decline", "explain", "[/x]", "--scheme", "stripe")
    assert code == 0, err
    assert "[/x]" in out


def test_decline_card_number_in_scheme_is_masked_in_the_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "decline", "explain", "2001", "--scheme", CARD)
    assert_one_line_error(code, out, err, "unknown decline scheme")
    assert CARD not in err
    assert "1111" in err


def test_decline_code_length_limit(capsys: pytest.CaptureFixture[str]) -> None:
    longest = "x" * 64
    assert explain(capsys, longest, "stripe")["code"] == longest
    code, out, err = run(capsys, "decline", "explain", "x" * 65, "--scheme", "stripe")
    line = assert_one_line_error(code, out, err, "at most 64 characters")
    assert "x" * 65 not in line
    code, out, err = run(capsys, "decline", "explain", "7" * 500, "--scheme", "braintree")
    assert_one_line_error(code, out, err, "at most 64 characters")


@pytest.mark.parametrize("code", ["2053", "2009", "2012", "2019", "2022", "2047"])
def test_decline_mastercard_banned_braintree_codes(
    capsys: pytest.CaptureFixture[str], code: str
) -> None:
    # The tables mark exactly these codes no_retry = ["mastercard"]; every one of them is also a
    # hard decline, so no network may retry them: what --network changes is the reason given.
    visa = explain(capsys, code, "braintree", "--network", "visa")
    mastercard = explain(capsys, code, "braintree", "--network", "mastercard")
    unknown = explain(capsys, code, "braintree")
    assert visa["network"] == "visa"
    assert mastercard["network"] == "mastercard"
    assert unknown["network"] is None
    assert visa["retry_allowed"] is False
    assert mastercard["retry_allowed"] is False
    assert unknown["retry_allowed"] is False
    # Mastercard's ban is the reason given only where it applies (or may apply).
    assert "network" in mastercard["retry_note"].lower()
    assert "network" not in visa["retry_note"].lower()
    assert "Mastercard" in unknown["retry_note"]
    assert visa["retry_note"] != mastercard["retry_note"]


def test_decline_braintree_mastercard_bans_match_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = tomllib.loads(
        (resources.files("payhelp.policies") / "codes" / "braintree.toml").read_text("utf-8")
    )
    banned = sorted(k for k, v in table["codes"].items() if "mastercard" in v.get("no_retry", ()))
    assert banned == ["2009", "2012", "2019", "2022", "2047", "2053"]  # as DOMAIN.md lists them
    for code in banned:
        assert (
            explain(capsys, code, "braintree", "--network", "mastercard")["retry_allowed"] is False
        )


def test_decline_visa_category_1_note(capsys: pytest.CaptureFixture[str]) -> None:
    visa = explain(capsys, "07", "iso8583", "--network", "visa")
    mastercard = explain(capsys, "07", "iso8583", "--network", "mastercard")
    assert visa["visa_category"] == 1
    assert visa["retry_allowed"] is False
    assert "Visa category 1" in visa["retry_note"]
    assert mastercard["retry_allowed"] is False
    assert "Visa category 1" not in mastercard["retry_note"]


def test_decline_network_picks_its_retry_cap(capsys: pytest.CaptureFixture[str]) -> None:
    both = explain(capsys, "2001", "braintree")
    visa = explain(capsys, "2001", "braintree", "--network", "visa")
    mastercard = explain(capsys, "2001", "braintree", "--network", "mastercard")
    assert {c["network"] for c in both["retry_caps"]} == {"visa", "mastercard"}
    assert [c["network"] for c in visa["retry_caps"]] == ["visa"]
    assert [c["network"] for c in mastercard["retry_caps"]] == ["mastercard"]
    assert visa["retry_allowed"] is mastercard["retry_allowed"] is True
    assert visa["retry_caps"][0]["max_retries"] < mastercard["retry_caps"][0]["max_retries"]
    hard = explain(capsys, "2004", "braintree", "--network", "visa")
    assert hard["retry_caps"] == []  # no cap to report when there is no retry at all


@pytest.mark.parametrize(
    ("code", "reason"),
    [("9999", "unknown"), ("3000", "processing_error"), ("2016", "duplicate_transaction")],
)
def test_decline_processor_channel_when_the_billing_side_should_be_contacted(
    capsys: pytest.CaptureFixture[str], code: str, reason: str
) -> None:
    contacts = run_json(capsys, "contacts", "--processor", "segpay", "--country", "IT")
    data = explain(capsys, code, "braintree", "--processor", "segpay", "--country", "IT")
    assert data["reason"] == reason
    assert data["contact"]["party"] == "merchant"
    channel = data["contact"]["channel"]
    assert channel is not None
    assert channel["kind"] == contacts["channels"][0]["kind"]
    assert channel["value"] == contacts["channels"][0]["value"]
    without = explain(capsys, code, "braintree")
    assert without["contact"]["channel"] is None
    no_country = explain(capsys, code, "braintree", "--processor", "segpay")
    assert no_country["contact"]["channel"] is None


@pytest.mark.parametrize(
    ("code", "party"),
    [("2001", None), ("2000", "card_issuer"), ("2004", None), ("2053", "card_issuer")],
)
def test_decline_no_processor_channel_when_the_customer_or_bank_acts(
    capsys: pytest.CaptureFixture[str], code: str, party: str | None
) -> None:
    data = explain(capsys, code, "braintree", "--processor", "segpay", "--country", "IT")
    assert data["contact"]["party"] == party
    assert data["contact"]["channel"] is None
    if party == "card_issuer":
        assert data["contact"]["channel_kind"] == "phone"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--processor", "nope", "--country", "IT"), "unknown processor 'nope'"),
        (("--processor", "segpay", "--country", "XX"), "invalid country 'XX'"),
    ],
)
def test_decline_bad_processor_or_country_is_one_line(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], fragment: str
) -> None:
    code, out, err = run(capsys, "decline", "explain", "9999", "--scheme", "braintree", *args)
    assert_one_line_error(code, out, err, fragment)


# The five errors of the subscription-failure source document (its gateway is Braintree; the
# same reasons through Stripe's codes), with what the document advises.
ECWID = [
    pytest.param(
        ("braintree", "2000"),
        ("stripe", "generic_decline"),
        "card_declined",
        True,
        ("Call the bank", "back of your card", "another card", "PayPal"),
        ("Chiama la banca", "retro della carta", "un'altra carta", "PayPal"),
        id="card-declined",
    ),
    pytest.param(
        ("braintree", "2004"),
        ("stripe", "expired_card"),
        "expired_card",
        False,
        ("expired", "card that is still valid"),
        ("scaduta", "carta ancora valida"),
        id="expired",
    ),
    pytest.param(
        ("braintree", "2001"),
        ("stripe", "insufficient_funds"),
        "insufficient_funds",
        True,
        ("Top it up", "wait 12 hours", "tried again by itself", "another card"),
        ("Ricaricala", "attendi 12 ore", "ritentato automaticamente", "un'altra carta"),
        id="insufficient-funds",
    ),
    pytest.param(
        ("braintree", "2053"),
        ("stripe", "pickup_card"),
        "lost_or_stolen_card",
        False,
        ("lost or stolen", "closed", "another card", "call your bank"),
        ("smarrita o rubata", "chiuso", "un'altra carta", "chiama la banca"),
        id="lost-stolen",
    ),
    pytest.param(
        ("braintree", "2108"),
        ("stripe", "restricted_card"),
        "lost_or_stolen_card",
        False,
        ("closed", "another card", "call your bank"),
        ("chiuso", "un'altra carta", "chiama la banca"),
        id="closed-account",
    ),
    pytest.param(
        ("braintree", "2059"),
        ("stripe", "incorrect_address"),
        "avs_mismatch",
        False,
        ("billing", "exactly as they appear on your bank statement"),
        ("fatturazione", "esattamente come compaiono sull'estratto conto"),
        id="avs",
    ),
]


@pytest.mark.parametrize(("braintree", "stripe", "reason", "retry", "english", "italian_"), ECWID)
def test_decline_the_five_source_errors_read_as_the_source_advises(
    capsys: pytest.CaptureFixture[str],
    braintree: tuple[str, str],
    stripe: tuple[str, str],
    reason: str,
    retry: bool,
    english: tuple[str, ...],
    italian_: tuple[str, ...],
) -> None:
    for scheme, code in (braintree, stripe):
        en = explain(capsys, code, scheme, "--language", "en")
        it = explain(capsys, code, scheme, "--language", "it")
        assert en["reason"] == it["reason"] == reason
        assert en["retry_allowed"] is it["retry_allowed"] is retry
        for fragment in english:
            assert fragment in en["customer_message"], (fragment, en["customer_message"])
        for fragment in italian_:
            assert fragment in it["customer_message"], (fragment, it["customer_message"])
        msgid = REASONS[DeclineReason(reason)].customer.msgid
        assert it["customer_message"] == italian(msgid).format(retry_wait="12 ore")
        assert it["language"] == "it"
        assert it["contact"]["how"] == italian(en["contact"]["how"])
        assert it["retry_note"] != en["retry_note"]


def test_decline_insufficient_funds_waits_12_hours(capsys: pytest.CaptureFixture[str]) -> None:
    data = explain(capsys, "2001", "braintree")
    assert data["retry_after"] == "PT12H"
    assert "12 hours" in data["retry_note"]


def test_decline_italian_answer_is_italian_throughout(capsys: pytest.CaptureFixture[str]) -> None:
    en = explain(capsys, "ZZ", "iso8583")
    it = explain(capsys, "ZZ", "iso8583", "--language", "it")
    assert it["label"] != en["label"]
    assert it["merchant_message"] == italian(REASONS[DeclineReason.UNKNOWN].merchant.msgid)
    assert it["include"] == [italian(item) for item in en["include"]]
    assert any("quattro" in item for item in it["include"])  # the last four digits


def test_decline_language_from_the_locale(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "it_IT.UTF-8")
    assert explain(capsys, "2001", "braintree")["language"] == "it"


def test_decline_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "decline", "explain", "2001", "--scheme", "braintree")
    assert code == 0, err
    assert "braintree 2001: Insufficient Funds" in out
    assert "insufficient_funds" in out
    assert "soft" in out
    assert "Include in your message:" in out


# -- decline schemes ---------------------------------------------------------------------------


def table_size(scheme: str) -> int:
    text = (resources.files("payhelp.policies") / "codes" / f"{scheme}.toml").read_text("utf-8")
    return len(tomllib.loads(text)["codes"])


def test_decline_schemes_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "decline", "schemes")
    assert [s["id"] for s in data] == ["braintree", "iso8583", "stripe"]
    for scheme in data:
        assert scheme["codes"] == table_size(scheme["id"])
        assert scheme["codes"] > 20
        assert scheme["name"]
        assert scheme["source"]["url"].startswith("https://")
    braintree = data[0]
    assert braintree["codes"] == 6 + 109 + 1  # 1000-1005, 2000-2108, 3000
    assert braintree["ranges"] == [[2109, 2999]]


def test_decline_schemes_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "decline", "schemes")
    assert code == 0, err
    for scheme in ("braintree", "iso8583", "stripe"):
        assert scheme in out
        assert str(table_size(scheme)) in out


# -- dunning plan ------------------------------------------------------------------------------


def dunning(
    capsys: pytest.CaptureFixture[str], code: str, scheme: str, *flags: str, at: datetime = FAILED
) -> Any:
    return run_json(
        capsys,
        *flags,
        "dunning",
        "plan",
        "--failed-at",
        iso(at),
        "--decline",
        code,
        "--scheme",
        scheme,
    )


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "payhelp.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_dunning_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    data = dunning(capsys, "2001", "braintree")
    assert set(data) >= {"attempts", "downgrade_at", "notifications"}
    for moment in data["attempts"]:
        assert parse(moment).tzinfo is not None
    assert parse(data["downgrade_at"]).tzinfo is not None
    for notification in data["notifications"]:
        assert set(notification) >= {"at", "kind", "channels", "message"}
        assert parse(notification["at"]).tzinfo is not None


def test_dunning_default_schedule_for_a_soft_decline(capsys: pytest.CaptureFixture[str]) -> None:
    data = dunning(capsys, "2001", "braintree")
    attempts = [parse(a) for a in data["attempts"]]
    assert attempts == [FAILED + timedelta(hours=12 * k) for k in range(1, 10)]
    assert parse(data["downgrade_at"]) == FAILED + timedelta(days=5)
    assert data["final_action"] == "downgrade"
    assert data["plan"] == "Free"
    assert data["retry_allowed"] is True
    first = data["notifications"][0]
    assert parse(first["at"]) == FAILED
    assert first["kind"] == "payment_failed"
    assert first["channels"] == ["email", "control_panel"]
    assert "12 hours" in first["message"]
    last = data["notifications"][-1]
    assert last["kind"] == "final_action"
    assert parse(last["at"]) == FAILED + timedelta(days=5)
    assert "Free" in last["message"]


def test_dunning_keeps_the_failure_time_zone_exact(capsys: pytest.CaptureFixture[str]) -> None:
    failed = datetime.fromisoformat("2026-03-27T23:30:00+01:00")
    data = dunning(capsys, "2000", "braintree", at=failed)
    assert parse(data["downgrade_at"]) == failed + timedelta(days=5)
    assert parse(data["notifications"][0]["at"]) == failed
    assert parse(data["attempts"][0]) == failed + timedelta(hours=12)


@pytest.mark.parametrize(
    ("scheme", "code", "flags"),
    [
        ("iso8583", "41", ()),
        ("braintree", "2004", ()),
        ("stripe", "lost_card", ()),
        ("braintree", "2014", ()),
        ("braintree", "2053", ("--network", "mastercard")),
    ],
)
def test_dunning_never_retries_a_do_not_retry_decline(
    capsys: pytest.CaptureFixture[str], scheme: str, code: str, flags: tuple[str, ...]
) -> None:
    data = run_json(
        capsys,
        "dunning",
        "plan",
        "--failed-at",
        iso(FAILED),
        "--decline",
        code,
        "--scheme",
        scheme,
        *flags,
    )
    assert data["attempts"] == []
    assert data["retry_allowed"] is False
    assert data["retries_stop"]
    assert parse(data["downgrade_at"]) == FAILED + timedelta(days=5)  # grace goes on
    first = data["notifications"][0]
    assert parse(first["at"]) == FAILED
    # The subscriber is asked for another card at once (in the failure notice itself).
    assert "will not be tried again" in first["message"]
    assert "keeps working until" in first["message"]
    assert "try the card again" not in " ".join(n["message"] for n in data["notifications"])


@pytest.mark.parametrize(
    ("scheme", "code", "config"),
    [
        ("braintree", "2001", ""),
        ("braintree", "3000", ""),
        ("braintree", "2002", ""),
        ("iso8583", "05", '[policies.dunning]\ngrace = "P7D"\nretry_interval = "PT1H"\n'),
        ("stripe", "processing_error", '[policies.dunning]\ngrace = "PT30H"\n'),
        ("braintree", "3000", '[policies.dunning]\ngrace = "P2D"\nretry_interval = "PT6H"\n'),
        ("braintree", "2001", '[policies.dunning]\ngrace = "P1D"\nretry_interval = "P1D"\n'),
        ("braintree", "2001", '[policies.dunning]\ngrace = "PT0S"\n'),
    ],
)
def test_dunning_every_attempt_is_before_the_downgrade(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scheme: str, code: str, config: str
) -> None:
    flags = ("--config", write_config(tmp_path, config)) if config else ()
    data = dunning(capsys, code, scheme, *flags)
    end = parse(data["downgrade_at"])
    attempts = [parse(a) for a in data["attempts"]]
    assert attempts == sorted(attempts)
    assert all(FAILED < moment < end for moment in attempts)
    assert all(parse(n["at"]) <= end for n in data["notifications"])
    assert len(attempts) <= 15  # the strictest network cap binds when the network is unknown


def test_dunning_config_changes_grace_and_interval(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(tmp_path, '[policies.dunning]\ngrace = "P7D"\nretry_interval = "PT24H"\n')
    data = dunning(capsys, "2001", "braintree", "--config", config)
    assert parse(data["downgrade_at"]) == FAILED + timedelta(days=7)
    assert [parse(a) for a in data["attempts"]] == [FAILED + timedelta(days=k) for k in range(1, 7)]
    assert "24 hours" in data["notifications"][0]["message"]
    assert data["policy"]["grace"] == "P7D"


def test_dunning_config_interval_and_network_caps(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An 8-hour interval over 7 days would make 20 reattempts: more than Visa's cap (15 in 30
    # days), within Mastercard's (35). A processing error asks for only an hour's wait.
    config = write_config(tmp_path, '[policies.dunning]\ngrace = "P7D"\nretry_interval = "PT8H"\n')
    monkeypatch.setenv("PAYHELP_CONFIG", config)  # the --config option's environment variable
    base = ("dunning", "plan", "--failed-at", iso(FAILED), "--decline", "3000")
    unknown = run_json(capsys, *base, "--scheme", "braintree")
    visa = run_json(capsys, *base, "--scheme", "braintree", "--network", "visa")
    mastercard = run_json(capsys, *base, "--scheme", "braintree", "--network", "mastercard")
    assert [parse(a) for a in mastercard["attempts"]] == [
        FAILED + timedelta(hours=8 * k) for k in range(1, 21)
    ]
    assert len(unknown["attempts"]) == 15
    assert visa["attempts"] == unknown["attempts"]
    assert unknown["attempts"] == mastercard["attempts"][:15]
    assert "retry limit" in unknown["retries_stop"]
    kinds = [n["kind"] for n in unknown["notifications"]]
    assert kinds == ["payment_failed", "update_card", "final_action"]
    assert unknown["notifications"][1]["at"] == unknown["attempts"][-1]


def test_dunning_config_max_attempts_and_cancel(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, '[policies.dunning]\nmax_attempts = 3\nfinal_action = "cancel"\n'
    )
    data = dunning(capsys, "2001", "braintree", "--config", config)
    assert [parse(a) for a in data["attempts"]] == [
        FAILED + timedelta(hours=12 * k) for k in range(1, 4)
    ]
    assert data["final_action"] == "cancel"
    assert data["plan"] is None
    assert parse(data["downgrade_at"]) == FAILED + timedelta(days=5)
    assert "limit on attempts" in data["retries_stop"]
    assert data["notifications"][-1]["kind"] == "final_action"
    assert "cancelled" in data["notifications"][-1]["message"]
    assert "Free" not in data["notifications"][-1]["message"]


@pytest.mark.parametrize(
    ("failed_at", "fragment"),
    [
        ("yesterday", "failed_at"),
        ("2026-11-01T10:00:00", "needs a time zone"),
        ("2026-02-30T10:00:00Z", "failed_at"),
        ("", "failed_at"),
    ],
)
def test_dunning_bad_failed_at_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], failed_at: str, fragment: str
) -> None:
    code, out, err = run(
        capsys,
        "dunning",
        "plan",
        "--failed-at",
        failed_at,
        "--decline",
        "2001",
        "--scheme",
        "braintree",
    )
    assert_one_line_error(code, out, err, fragment)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--scheme", "visa", "--decline", "2001"), "unknown decline scheme"),
        (("--scheme", "braintree"), "Missing option '--decline'"),
        (("--scheme", "braintree", "--decline", "x" * 80), "at most 64 characters"),
    ],
)
def test_dunning_other_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], fragment: str
) -> None:
    code, out, err = run(capsys, "dunning", "plan", "--failed-at", iso(FAILED), *args)
    assert_one_line_error(code, out, err, fragment)


def test_dunning_bad_config_file_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(tmp_path, "[policies.dunning]\nnotify = []\n")
    code, out, err = run(
        capsys,
        "--config",
        config,
        "dunning",
        "plan",
        "--failed-at",
        iso(FAILED),
        "--decline",
        "2001",
        "--scheme",
        "braintree",
    )
    assert_one_line_error(code, out, err, "invalid configuration")
    assert "notify" in err


def test_dunning_in_italian(capsys: pytest.CaptureFixture[str]) -> None:
    data = dunning(capsys, "2001", "braintree", at=FAILED)
    it = run_json(
        capsys,
        "dunning",
        "plan",
        "--failed-at",
        iso(FAILED),
        "--decline",
        "2001",
        "--scheme",
        "braintree",
        "--language",
        "it",
    )
    assert it["attempts"] == data["attempts"]
    deadline = (FAILED + timedelta(days=5)).isoformat(timespec="minutes")
    expected = italian(dunning_module._FAILED.msgid).format(deadline=deadline, interval="12 ore")
    assert it["notifications"][0]["message"] == expected
    assert "piano Free" in it["notifications"][-1]["message"]


def test_dunning_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "dunning",
        "plan",
        "--failed-at",
        iso(FAILED),
        "--decline",
        "2001",
        "--scheme",
        "braintree",
    )
    assert code == 0, err
    for number in range(1, 10):
        assert f"charge attempt {number}" in out
    assert "charge attempt 10" not in out
    assert "Final step (downgrade) at 2026-11-06T10:00:00+00:00" in out
    assert "payment_failed" in out
