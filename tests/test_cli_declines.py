"""`decline explain` and `dunning plan` with network advice (`--advice-code`, `--visa-category`)
and in batches (`--batch FILE`, `-` for stdin), through the real entry point."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from .test_cli_policies import _neutral_environment, run, run_json  # noqa: F401 - autouse fixture

CARD = "4111111111111111"  # a Luhn-valid test card number


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
