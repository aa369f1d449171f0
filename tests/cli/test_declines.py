"""``payhelp decline explain``, ``decline schemes`` and ``dunning plan``, single and in batches: their
JSON parsed, their tables read, and bad input turned into one line on stderr with exit code 2."""

from __future__ import annotations

import io
import json
import tomllib
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from payhelp.policies import dunning as dunning_module
from payhelp.policies.advice import REASONS
from payhelp.policies.declines import DeclineReason

from .conftest import (
    CARD,
    FAILED,
    assert_one_line_error,
    assert_whole,
    iso,
    italian,
    parse,
    run,
    run_json,
)


def one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_explain_with_an_advice_code(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys, "decline", "explain", "51", "--scheme", "iso8583", "--advice-code", "27"
    )
    assert data["advice_code"] == "27"
    assert data["advice_label"] == "Retry after 4 days"
    assert data["network"] == "mastercard"
    assert data["retry_allowed"] is True
    assert data["retry_after"] == "P4D"
    stop = run_json(
        capsys, "decline", "explain", "51", "--scheme", "iso8583", "--advice-code", "03"
    )
    assert stop["retry_allowed"] is False


def test_the_text_answer_shows_the_advice_code_and_category(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys, "decline", "explain", "05", "--scheme", "iso8583", "--advice-code", "21"
    )
    assert (code, err) == (0, "")
    assert "21: Stop recurring payment" in out
    code, out, _ = run(
        capsys, "decline", "explain", "51", "--scheme", "iso8583", "--visa-category", "1"
    )
    assert code == 0
    assert "Visa category" in out
    assert "never approve" in " ".join(out.split())


def test_a_stated_visa_category_reaches_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys, "decline", "explain", "05", "--scheme", "iso8583", "--visa-category", "1"
    )
    assert (data["visa_category"], data["network"], data["retry_allowed"]) == (1, "visa", False)


@pytest.mark.parametrize(
    "flags",
    [
        ("--advice-code", "3x"),
        ("--advice-code", "03", "--network", "visa"),
        ("--visa-category", "2", "--network", "mastercard"),
        ("--visa-category", "2", "--advice-code", "02"),
    ],
)
def test_wrong_network_advice_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], flags: tuple[str, ...]
) -> None:
    one_line_error(*run(capsys, "decline", "explain", "05", "--scheme", "iso8583", *flags))


def test_a_visa_category_outside_1_to_4_is_refused_by_the_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _out, err = run(
        capsys, "decline", "explain", "05", "--scheme", "iso8583", "--visa-category", "5"
    )
    assert code == 2
    assert "Traceback" not in err


def test_dunning_plan_honours_the_advice_codes_wait(capsys: pytest.CaptureFixture[str]) -> None:
    failed = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    args = ("dunning", "plan", "--failed-at", failed.isoformat(), "--decline", "51")
    plain = run_json(capsys, *args, "--scheme", "iso8583")
    assert len(plain["attempts"]) == 9
    later = run_json(capsys, *args, "--scheme", "iso8583", "--advice-code", "02")
    attempts = [datetime.fromisoformat(a) for a in later["attempts"]]
    assert attempts == [failed + timedelta(hours=72)]
    stopped = run_json(capsys, *args, "--scheme", "iso8583", "--advice-code", "21")
    assert stopped["attempts"] == []
    assert stopped["stop_reason"] == "decline"


def test_dunning_plan_holds_an_unknown_code_back(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        "dunning",
        "plan",
        "--failed-at",
        "2026-12-01T09:00:00Z",
        "--decline",
        "Q9",
        "--scheme",
        "iso8583",
    )
    assert data["attempts"] == []
    assert data["retry_allowed"] is False


def _lines(*records: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def test_explain_batch_from_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "declines.jsonl"
    path.write_text(
        _lines(
            {"code": "05", "scheme": "iso8583", "advice_code": "21", "ref": "sub-1"},
            {"code": "51", "scheme": "iso8583", "advice_code": 27, "ref": "sub-2"},
            "",
            {"code": "05", "scheme": "iso8583", "visa_category": 1, "ref": "sub-3"},
            {"code": "05", "scheme": "nowhere", "ref": "sub-4"},
            "not json",
            {"code": CARD, "scheme": "iso8583", "ref": "sub-6"},
            {"code": "05", "scheme": "iso8583", "ref": CARD},
            {"code": "05", "scheme": "iso8583", "colour": "red"},
        )
    )
    code, out, err = run(capsys, "decline", "explain", "--batch", str(path))
    assert code == 2  # some lines failed
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["line"] for a in answers] == [1, 2, 4, 5, 6, 7, 8, 9]
    assert [a["ref"] for a in answers[:4]] == ["sub-1", "sub-2", "sub-3", "sub-4"]
    assert [a.get("retry_allowed") for a in answers[:3]] == [False, True, False]
    assert answers[1]["retry_after"] == "P4D"
    assert answers[3]["error_type"] == "InvalidInputError"
    assert answers[4]["error"] == "not a JSON object"
    assert answers[5]["error_type"] == "CardNumberError"
    assert answers[6]["ref"] is None  # a card number is never echoed back
    assert answers[7]["error_type"] == "InvalidInputError"
    assert CARD not in out + err
    assert err.count("\n") == 5
    assert "line 5:" in err


def test_dunning_batch_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _lines(
        {
            "failed_at": "2026-12-01T09:00:00Z",
            "code": "51",
            "scheme": "iso8583",
            "advice_code": "02",
            "ref": "a",
        },
        {"failed_at": "yesterday", "code": "51", "scheme": "iso8583", "ref": "b"},
        {"code": "51", "scheme": "iso8583", "ref": "c"},
    )
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(body.encode())))
    code, out, err = run(capsys, "dunning", "plan", "--batch", "-")
    assert code == 2
    first, second, third = (json.loads(line) for line in out.splitlines())
    assert first["ref"] == "a"
    assert first["attempts"] == ["2026-12-04T09:00:00Z"]
    assert second["error_type"] == "InvalidInputError"
    assert third["error_type"] == "InvalidInputError"
    assert "failed_at" in third["error"]
    assert err.count("\n") == 2


def test_a_clean_batch_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text(_lines({"code": "2001", "scheme": "braintree"}))
    code, out, err = run(capsys, "decline", "explain", "--batch", str(path))
    assert (code, err) == (0, "")
    assert json.loads(out)["reason"] == "insufficient_funds"


@pytest.mark.parametrize(
    "args",
    [
        ("decline", "explain", "--batch", "x.jsonl", "05"),
        ("decline", "explain", "--batch", "x.jsonl", "--scheme", "iso8583"),
        ("dunning", "plan", "--batch", "x.jsonl", "--decline", "05"),
        ("decline", "explain", "05"),
        ("dunning", "plan", "--decline", "05", "--scheme", "iso8583"),
    ],
)
def test_batch_and_fields_do_not_mix_and_fields_are_needed(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert "Traceback" not in err


def test_a_missing_batch_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    one_line_error(*run(capsys, "decline", "explain", "--batch", str(tmp_path / "missing.jsonl")))


ALL_REASONS = {reason.value for reason in DeclineReason}


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
        pytest.param(("2001",), "--scheme is needed: code table: braintree,", id="no-scheme"),
        pytest.param(("2001", "--scheme", "braintree", "--network", "jcb"), "--network", id="net"),
        pytest.param(("   ", "--scheme", "stripe"), "a decline code is needed", id="blank"),
        pytest.param(
            ("2001", "--scheme", "braintree", "--language", "de"),
            "--language takes one of en, it (not 'de')",
            id="lang",
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
        ("yesterday", "--failed-at: not an ISO 8601 time"),
        ("2026-11-01T10:00:00", "needs a time zone"),
        ("2026-02-30T10:00:00Z", "--failed-at: not an ISO 8601 time"),
        ("", "--failed-at: not an ISO 8601 time"),
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
        (("--scheme", "braintree"), "--decline is needed: the raw decline code; or give --batch"),
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


def test_decline_schemes_table_keeps_each_source_whole(
    capsys: pytest.CaptureFixture[str], screen: str
) -> None:
    schemes = run_json(capsys, "decline", "schemes")
    code, out, err = run(capsys, "decline", "schemes")
    assert code == 0, err
    sources = [s["source"]["url"] or s["source"]["source"] for s in schemes]
    assert_whole(out, [*sources, *(s["id"] for s in schemes)])


def test_dunning_table_keeps_each_date_whole(
    capsys: pytest.CaptureFixture[str], screen: str
) -> None:
    args = ("--failed-at", iso(FAILED), "--decline", "51", "--scheme", "iso8583")
    plan = run_json(capsys, "dunning", "plan", *args)
    code, out, err = run(capsys, "dunning", "plan", *args)
    assert code == 0, err
    moments = [*plan["attempts"], *(n["at"] for n in plan["notifications"])]
    assert_whole(out, [parse(moment).isoformat() for moment in moments])


def test_decline_answer_keeps_the_channel_to_use_whole(
    capsys: pytest.CaptureFixture[str], screen: str
) -> None:
    args = ("explain", "3000", "--scheme", "braintree", "--processor", "segpay", "--country", "IT")
    advice = run_json(capsys, "decline", *args)
    code, out, err = run(capsys, "decline", *args)
    assert code == 0, err
    assert_whole(out, [advice["contact"]["channel"]["value"]])
