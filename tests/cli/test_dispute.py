"""``payhelp dispute submit``, ``list`` and ``show``: exactly once, and whether a retry is safe."""

from __future__ import annotations

import builtins
import json
import os
from pathlib import Path
from typing import Any

import pytest

from payhelp.api import Payhelp
from payhelp.cases import Attachment, SubmissionStatus
from payhelp.errors import InvalidInputError, PayhelpError
from payhelp.store import PENDING

from .conftest import (
    BIG,
    assert_whole,
    one_line,
    parse,
    run,
    submit,
)

# Epoch's sandbox (`payhelp sandbox cases --processor epoch`): a refund the processor fails on
# with a 500, and one for a payment it does not know (a 404: surely not applied).
EPOCH_CREDIT_FAILING = "200000500"


EPOCH_CREDIT_NOT_FOUND = "200009404"


def test_dispute_list_refuses_an_unknown_status(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "dispute", "list", "--status", "bogus")
    assert code == 2
    assert out == ""
    line = one_line(err)
    assert "--status takes one of" in line
    assert line.endswith("(not 'bogus')")
    for status in ("sent", "prepared", "in_doubt", "failed", "pending"):
        assert f" {status}," in line or f" {status} (" in line


@pytest.mark.parametrize("status", [*(s.value for s in SubmissionStatus), PENDING])
def test_dispute_list_takes_every_status_the_store_knows(
    capsys: pytest.CaptureFixture[str], status: str
) -> None:
    code, out, err = run(capsys, "dispute", "list", "--status", status, "--json")
    assert code == 0, err
    assert json.loads(out) == []


def test_submission_that_may_have_reached_the_processor_says_do_not_retry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = submit("--sandbox", "--channel", "api", transaction=EPOCH_CREDIT_FAILING)
    code, out, err = run(capsys, *args)
    assert code == 1
    assert out == ""
    line = one_line(err)
    advice = " — it may have reached the processor: do not retry; check `payhelp dispute show "
    assert f"{advice}--sandbox ph_" in line
    assert line.endswith("` first")
    key = line.rsplit("--sandbox ", 1)[1].split("`", 1)[0]
    # The command the line names finds the record, in the sandbox's store only.
    code, out, err = run(capsys, "dispute", "show", "--sandbox", key)
    assert code == 0, err
    assert json.loads(out)["status"] == "in_doubt"
    code, _, err = run(capsys, "dispute", "show", key)
    assert code == 2
    assert "no submission" in one_line(err)
    # The same request again sends nothing, prints the in-doubt receipt and still fails.
    code, out, err = run(capsys, *args, "--json")
    assert code == 1
    receipt = json.loads(out)
    assert receipt["status"] == "in_doubt"
    assert receipt["idempotency_key"] == key
    assert one_line(err) == (
        f"payhelp: error: submission {key} is in doubt{advice}--sandbox {key}` first"
    )


def test_submission_the_processor_refused_says_safe_to_retry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = submit("--sandbox", "--channel", "api", transaction=EPOCH_CREDIT_NOT_FOUND)
    code, _, err = run(capsys, *args)
    assert code == 1
    assert one_line(err).endswith(" — nothing was sent; safe to retry")


def test_bad_submission_input_says_nothing_was_sent(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *submit("--sandbox", transaction=BIG))
    assert code == 2
    line = one_line(err)
    assert line.endswith(" — nothing was sent")
    assert BIG[:200] not in line


def test_in_doubt_without_a_key_on_the_error_uses_the_callers_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def doubtful(self: Payhelp, *args: Any, **kwargs: Any) -> Any:
        error = PayhelpError("the connection broke after sending")
        error.maybe_applied = True
        raise error

    monkeypatch.setattr(Payhelp, "submit_dispute", doubtful)
    code, _, err = run(capsys, *submit("--idempotency-key", "order-77"))
    assert code == 1
    assert one_line(err).endswith("check `payhelp dispute show order-77` first")
    code, _, err = run(capsys, *submit())
    assert one_line(err).endswith("check `payhelp dispute list --status in_doubt` first")
    code, _, err = run(capsys, *submit("--idempotency-key", "order 77"))
    assert one_line(err).endswith("check `payhelp dispute show 'order 77'` first")


def test_error_outside_a_submission_or_lookup_has_no_retry_advice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "contacts", "--processor", "nope", "--country", "IT")
    assert code == 2
    line = one_line(err)
    assert "retry" not in line
    assert "nothing was sent" not in line


@pytest.mark.parametrize(
    ("command", "fragments"),
    [
        (("lookup",), ("nothing reaches the processor",)),
        (
            ("dispute", "submit"),
            ("nothing reaches the processor or a mail server", "separate sandbox store"),
        ),
    ],
)
def test_sandbox_help_says_it_is_isolated(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    flat = " ".join(out.split())
    for fragment in fragments:
        assert fragment in flat


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda tmp: tmp / "missing.pdf", "does not exist"),
        (lambda tmp: tmp, "is a directory"),
    ],
)
def test_attachment_that_is_not_a_file_is_refused_as_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, fragment: str
) -> None:
    code, _, err = run(capsys, *submit("--attach", str(make(tmp_path))))
    assert code == 2
    line = one_line(err)
    assert "--attach: File " in line
    assert fragment in line


def test_attachment_is_read_by_the_library_not_opened_by_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it would block: the CLI must only look at it
    opened: list[str] = []
    real_open = builtins.open

    def watching_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(os.fsdecode(file) if isinstance(file, str | bytes | os.PathLike) else "")
        return real_open(file, *args, **kwargs)

    read: list[str] = []

    def from_path(path: Any) -> Any:
        read.append(os.fsdecode(path))
        raise InvalidInputError("attachment 'pipe' is not a regular file")

    monkeypatch.setattr(builtins, "open", watching_open)
    monkeypatch.setattr(Attachment, "from_path", staticmethod(from_path))
    code, _, err = run(capsys, *submit("--attach", str(fifo)))
    assert code == 2
    assert read == [str(fifo)]
    assert str(fifo) not in opened
    assert "not a regular file" in one_line(err)


@pytest.mark.parametrize(
    "extra",
    [
        ("--processor", "paymentico", "--sandbox"),
        ("--processor", "epoch", "--channel", "web_form"),
    ],
)
def test_a_capability_that_does_not_exist_is_bad_input_and_nothing_was_sent(
    capsys: pytest.CaptureFixture[str], extra: tuple[str, ...]
) -> None:
    code, _out, err = run(
        capsys, "dispute", "submit", *extra, "--transaction-id", "X-1", "--reason", "other",
        "--message", "m", "--email", "c@example.org",
    )  # fmt: skip
    assert code == 2, err
    assert one_line(err).endswith("nothing was sent")


def test_receipt_keeps_the_key_reference_and_time_whole(
    capsys: pytest.CaptureFixture[str], screen: str
) -> None:
    code, out, err = run(capsys, *submit("--sandbox", "--channel", "api"))
    assert code == 0, err
    code, listed, err = run(capsys, "dispute", "list", "--sandbox", "--json")
    assert code == 0, err
    [record] = json.loads(listed)
    receipt = record["receipt"]
    moment = parse(receipt["submitted_at"]).isoformat()
    assert_whole(out, [receipt["idempotency_key"], receipt["reference"], moment])
    code, table, err = run(capsys, "dispute", "list", "--sandbox")
    assert code == 0, err
    created = parse(record["created_at"]).isoformat(timespec="seconds")
    assert_whole(table, [str(record["id"]), record["processor"], created])


def test_a_bad_reference_is_named_by_its_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *submit("--sandbox", "--reference", f"member={'1' * 200}"))
    assert code == 2
    assert one_line(err).startswith("payhelp: error: --reference member=…: ")
