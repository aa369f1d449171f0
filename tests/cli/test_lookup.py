"""``payhelp lookup``: answers, the text layout, batches and what an error says about retrying."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import (
    assert_whole,
    one_line,
    parse,
    run,
    run_json,
)

EPOCH_LOOKUP_FAILING = "100000500"


def test_failed_lookup_says_a_retry_is_safe(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "lookup", EPOCH_LOOKUP_FAILING, "--processor", "epoch", "--member-id", "1",
        "--sandbox",
    )  # fmt: skip
    assert code == 1
    assert one_line(err).endswith(" — a lookup changes nothing at the processor; safe to retry")


@pytest.mark.parametrize("transaction", ["511170302", "511170001", "511170501"])
def test_lookup_table_keeps_ids_amounts_and_dates_whole(
    capsys: pytest.CaptureFixture[str], screen: str, transaction: str
) -> None:
    args = ("lookup", transaction, "--processor", "centrobill", "--sandbox")
    result = run_json(capsys, *args)
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert result["records"]
    for record in result["records"]:
        when = record["created_at"] and parse(record["created_at"]).isoformat()
        amount = record["amount"]
        money = amount and f"{amount['amount']} {amount['currency']}"
        assert_whole(out, [record["transaction_id"], when, money, record["raw_status"]])


# -- a processor without a lookup page: where to write, whole ----------------------------------


@pytest.mark.parametrize(
    ("processor", "country"),
    [("paymentico", "IT"), ("paymentico", None), ("webbilling", "DE"), ("webbilling", None)],
)
def test_a_processor_without_a_lookup_page_says_where_to_write(
    capsys: pytest.CaptureFixture[str], screen: str, processor: str, country: str | None
) -> None:
    where = ("--country", country) if country else ()
    args = ("lookup", "--processor", processor, "--email", "a@example.com", *where)
    result = run_json(capsys, *args)
    channel = result["channel"]
    assert channel is not None
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert f"Where to write: {channel['value']} ({channel['kind']})\n" in out
    assert_whole(out, [channel["value"], channel["reason"]])


def test_the_channel_follows_the_language(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("lookup", "--processor", "webbilling", "--email", "a@example.com")
    english = run_json(capsys, *args, "--language", "en")
    italian = run_json(capsys, *args, "--language", "it")
    assert english["channel"]["value"] == italian["channel"]["value"]
    assert english["message"] != italian["message"]
    code, out, _ = run(capsys, *args, "--language", "it")
    assert code == 0
    assert f"Dove scrivere: {italian['channel']['value']} (email)" in out


def test_a_lookup_page_is_named_without_odd_phrasing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "lookup", "--processor", "wtseticket", "--email", "a@example.com")
    assert code == 0, err
    assert "Look the payment up at https://www.wtseticket.com/\n" in out
    assert "yourself" not in out
    assert "with: -" not in out


def test_lookup_takes_references_as_route_and_dispute_submit_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    by_option = run_json(
        capsys, "lookup", "--processor", "segpay", "--purchase-id", "80000102", "--sandbox"
    )
    by_reference = run_json(
        capsys, "lookup", "--processor", "segpay", "--reference", "purchase=80000102", "--sandbox"
    )
    assert by_option["records"] == by_reference["records"]
    assert by_reference["records"][0]["references"] == {"purchase": "80000102"}


def test_a_bad_reference_names_the_option_it_came_from(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "lookup", "--processor", "segpay", "--purchase-id", "x" * 200, "--sandbox"
    )
    assert code == 2
    assert one_line(err).startswith("payhelp: error: --purchase-id: ")


def test_lookup_batch_lines_in_the_api_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(
        '{"ref": "a", "processor": "segpay", "references": {"purchase": "80000102"}}\n'
        "\n"
        '{"ref": "b", "processor": "segpay", "purchase_id": "80000102"}\n'
    )
    code, out, err = run(capsys, "lookup", "--batch", str(batch), "--sandbox", "--concurrency", "1")
    assert code == 0, err
    rows = sorted((json.loads(line) for line in out.splitlines()), key=lambda r: r["line"])
    assert [(r["line"], r["ref"]) for r in rows] == [(1, "a"), (3, "b")]
    assert rows[0]["records"] == rows[1]["records"]


def test_one_commands_option_names_do_not_leak_into_the_next(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(capsys, "lookup", "--processor", "segpay", "--purchase-id", "x" * 200, "--sandbox")
    code, _, err = run(capsys, "route", "--country", "US", "--reference", f"purchase={'1' * 200}")
    assert code == 2
    assert one_line(err).startswith("payhelp: error: --reference purchase=…: ")
