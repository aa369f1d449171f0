"""``payhelp lookup``: answers, the text layout, batches and what an error says about retrying."""

from __future__ import annotations

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
