"""The CLI at its edges: bad input, a hostile environment and a terminal that cannot show the
text all end in one line on stderr and exit 1 or 2, never a traceback, never exit 70 for the
user's mistake, and never SQL or a customer's words on stderr. After a submission or a lookup the
error line says whether a retry is safe.

Most tests call ``main(argv)`` in-process; the few that need a real interpreter's stdout (its
encoding) start one subprocess each.
"""

from __future__ import annotations

import builtins
import enum
import errno
import json
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from payhelp import cli
from payhelp.api import Payhelp
from payhelp.cases import Attachment, SubmissionStatus
from payhelp.cli import main
from payhelp.errors import InvalidInputError, PayhelpError
from payhelp.store import PENDING

BIG = "a" * 100_000
CARD = "4111111111111111"  # a Luhn-valid test card number
CUSTOMER_WORDS = "Non ho mai comprato questo, ridatemi i soldi"
# Epoch's sandbox (`payhelp sandbox cases --processor epoch`): a refund the processor fails on
# with a 500, and one for a payment it does not know (a 404: surely not applied).
EPOCH_CREDIT_FAILING = "200000500"
EPOCH_CREDIT_NOT_FOUND = "200009404"
EPOCH_LOOKUP_FAILING = "100000500"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(autouse=True)
def data_home_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """English, no configuration from the caller's shell, and a data folder of the test's own
    (the store, the outbox and their sandbox twins all live under it)."""
    for var in (
        "PAYHELP_LANGUAGE",
        "PAYHELP_CONFIG",
        "PAYHELP_DEBUG",
        "PAYHELP_STORE_URL",
        "PAYHELP_OUTBOX",
        "LC_ALL",
        "LC_MESSAGES",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C")
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def one_line(err: str) -> str:
    """The single line on stderr (asserting there is exactly one, and no traceback)."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("payhelp: "), lines[0]
    return lines[0]


def submit(*extra: str, transaction: str = "200000001") -> list[str]:
    return [
        "dispute",
        "submit",
        "--processor",
        "epoch",
        "--transaction-id",
        transaction,
        "--reason",
        "not_recognised",
        "--message",
        CUSTOMER_WORDS,
        "--email",
        "customer@example.com",
        *extra,
    ]


# -- dispute list --status -------------------------------------------------------------------------


def test_dispute_list_refuses_an_unknown_status(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "dispute", "list", "--status", "bogus")
    assert code == 2
    assert out == ""
    line = one_line(err)
    assert "'bogus' is not one of" in line
    for status in ("sent", "prepared", "in_doubt", "failed", "pending"):
        assert repr(status) in line


@pytest.mark.parametrize("status", [*(s.value for s in SubmissionStatus), PENDING])
def test_dispute_list_takes_every_status_the_store_knows(
    capsys: pytest.CaptureFixture[str], status: str
) -> None:
    code, out, err = run(capsys, "dispute", "list", "--status", status, "--json")
    assert code == 0, err
    assert json.loads(out) == []


# -- the environment -------------------------------------------------------------------------------


def _data_home_is_a_file(tmp_path: Path) -> str:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return str(path)


def _data_home_under_a_file(tmp_path: Path) -> str:
    return str(Path(_data_home_is_a_file(tmp_path)) / "below")


def _data_home_in_proc(tmp_path: Path) -> str:
    return "/proc"


@pytest.mark.parametrize(
    "data_home", [_data_home_is_a_file, _data_home_under_a_file, _data_home_in_proc]
)
@pytest.mark.parametrize(
    "args",
    [
        ("dispute", "list"),
        ("dispute", "show", "1"),
        tuple(submit("--channel", "email")),
    ],
    ids=["list", "show", "submit"],
)
def test_unusable_data_folder_is_one_line_and_exit_1(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    data_home: Any,
    args: tuple[str, ...],
) -> None:
    home = data_home(tmp_path)
    if home == "/proc" and not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    monkeypatch.setenv("XDG_DATA_HOME", home)
    code, out, err = run(capsys, *args)
    assert code == 1, err
    assert out == ""
    line = one_line(err)
    assert line.startswith("payhelp: error: ")
    assert home in line  # the path the user has to fix
    assert "internal error" not in line
    assert CUSTOMER_WORDS not in err


@pytest.mark.skipif(AS_ROOT, reason="root writes through chmod 0500")
def test_read_only_data_folder_is_one_line_and_exit_1(
    data_home_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_home_dir.mkdir()
    data_home_dir.chmod(0o500)
    try:
        code, _, err = run(capsys, *submit("--channel", "email"))
    finally:
        data_home_dir.chmod(0o700)
    assert code == 1, err
    assert str(data_home_dir) in one_line(err)
    assert CUSTOMER_WORDS not in err


def test_store_that_is_a_folder_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    monkeypatch.setenv("PAYHELP_STORE_URL", f"sqlite:///{folder}")
    code, _, err = run(capsys, "dispute", "list")
    assert code == 1, err
    assert str(folder) in one_line(err)


def test_outbox_that_is_a_file_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = Path(_data_home_is_a_file(tmp_path))
    monkeypatch.setenv("PAYHELP_OUTBOX", str(outbox))
    code, _, err = run(capsys, *submit("--channel", "email"))
    assert code == 1, err
    line = one_line(err)
    assert str(outbox) in line
    assert line.endswith("nothing was sent; safe to retry")
    assert CUSTOMER_WORDS not in err


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            PermissionError(errno.EACCES, "Permission denied", "/srv/payhelp/x"),
            "payhelp: error: cannot access '/srv/payhelp/x': Permission denied",
        ),
        (
            NotADirectoryError(errno.ENOTDIR, "Not a directory", "/srv/file/payhelp"),
            "payhelp: error: cannot access '/srv/file/payhelp': Not a directory",
        ),
        (
            IsADirectoryError(errno.EISDIR, "Is a directory", "/srv/payhelp"),
            "payhelp: error: cannot access '/srv/payhelp': Is a directory",
        ),
        (
            OSError(errno.ENOSPC, "No space left on device", "/srv/payhelp/outbox/k.eml"),
            "payhelp: error: cannot write '/srv/payhelp/outbox/k.eml': No space left on device",
        ),
        (OSError(errno.EIO, "Input/output error"), "payhelp: error: Input/output error"),
    ],
)
def test_any_os_error_reaching_main_is_exit_1_naming_the_path(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: OSError,
    expected: str,
) -> None:
    def refuse(self: Payhelp, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(Payhelp, "disputes", refuse)
    code, _, err = run(capsys, "dispute", "list")
    assert code == 1
    assert one_line(err) == expected


def test_plugin_new_into_an_impossible_folder_is_not_a_bug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    code, _, err = run(capsys, "plugin", "new", "okname", "--output", "/proc/no-such-folder")
    assert code == 1
    assert "/proc/no-such-folder" in one_line(err)


# -- what a bug may say ------------------------------------------------------------------------------


def test_unexpected_sql_error_shows_neither_sql_nor_the_customer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(self: Payhelp, *args: Any, **kwargs: Any) -> Any:
        raise OperationalError(
            "INSERT INTO payhelp_submissions (idempotency_key, request) VALUES (?, ?)",
            ("ph_1", json.dumps({"message": CUSTOMER_WORDS, "card": CARD})),
            sqlite3.OperationalError("disk I/O error"),
        )

    monkeypatch.setattr(Payhelp, "submit_dispute", broken)
    code, _, err = run(capsys, *submit("--channel", "email"))
    assert code == 70
    line = one_line(err)
    assert line.startswith("payhelp: internal error: OperationalError: ")
    assert "disk I/O error" in line
    assert "PAYHELP_DEBUG" in line
    for secret in ("INSERT", "payhelp_submissions", "SQL", "parameters", CUSTOMER_WORDS, CARD):
        assert secret not in err


@pytest.mark.parametrize(
    "error",
    [
        ValueError(f"could not store {CUSTOMER_WORDS!r} for {CARD}"),
        KeyError(CUSTOMER_WORDS),
        RuntimeError(f'message "{CUSTOMER_WORDS}"\nsecond line {CARD}'),
    ],
)
def test_unexpected_error_text_is_scrubbed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: Exception
) -> None:
    def broken(self: Payhelp, *args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(Payhelp, "disputes", broken)
    code, _, err = run(capsys, "dispute", "list")
    assert code == 70
    line = one_line(err)
    assert type(error).__name__ in line
    assert CUSTOMER_WORDS not in err
    assert CARD not in err
    assert "[payhelp." in line  # where it happened, for the bug report


def test_debug_still_shows_the_real_exception(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(self: Payhelp, **kwargs: Any) -> Any:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(Payhelp, "disputes", broken)
    monkeypatch.setenv("PAYHELP_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["dispute", "list"])


def test_error_text_is_one_line_without_terminal_controls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(self: Payhelp, **kwargs: Any) -> Any:
        raise PayhelpError("the processor said:\r\nline two\x1b[2J\x1b[31m red\u2028three")

    monkeypatch.setattr(Payhelp, "disputes", broken)
    code, _, err = run(capsys, "dispute", "list")
    assert code == 1
    line = one_line(err)
    assert "\x1b" not in err
    assert "line two\\x1b[2J" in line
    assert "three" in line


def test_a_huge_echo_is_cut_to_one_readable_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--config", "/nonexistent/" + BIG, "processors")
    assert code == 2
    line = one_line(err)
    assert len(line) <= cli.MAX_ERROR_CHARS + len("payhelp: ")
    assert line.endswith("…")


def test_argument_the_locale_could_not_decode_is_bad_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # What Python makes of the byte 0xff on a UTF-8 command line.
    code, out, err = run(capsys, "decline", "explain", "\udcff", "--scheme", "stripe")
    assert code == 2
    assert out == ""
    assert "argument 3 is not valid" in one_line(err)


# -- whether a retry is safe -------------------------------------------------------------------------


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


def test_failed_lookup_says_a_retry_is_safe(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "lookup", EPOCH_LOOKUP_FAILING, "--processor", "epoch", "--member-id", "1",
        "--sandbox",
    )  # fmt: skip
    assert code == 1
    assert one_line(err).endswith(" — a lookup changes nothing at the processor; safe to retry")


def test_error_outside_a_submission_or_lookup_has_no_retry_advice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "contacts", "--processor", "nope", "--country", "IT")
    assert code == 2
    line = one_line(err)
    assert "retry" not in line
    assert "nothing was sent" not in line


# -- help, attachments, the plugins listing ----------------------------------------------------------


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
    assert "'--attach'" in line
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


class Kind(enum.Enum):
    BUILTIN = "builtin"


@dataclass(frozen=True)
class OddRecord:
    name: str
    hooks: tuple[str, ...] = ("payhelp_adapter",)
    conflicts: tuple[tuple[str, str], ...] = (("epoch", "payhelp-epoch-fork"),)
    error: str | None = None
    kind: Kind = Kind.BUILTIN
    where: Path = Path("/site-packages/x")
    seen: frozenset[str] = frozenset({"b", "a"})
    hook_errors: dict[str, Exception] = field(
        default_factory=lambda: {"payhelp_adapter": RuntimeError(f"bad card {CARD}")}
    )


def test_plugins_listing_prints_any_record_fields(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(Payhelp, "plugins", lambda self, check=False: [OddRecord("odd")])
    code, out, err = run(capsys, "plugins")
    assert code == 0, err
    [record] = json.loads(out)
    assert record["conflicts"] == [["epoch", "payhelp-epoch-fork"]]
    assert record["error"] is None
    assert record["kind"] == "builtin"
    assert record["where"] == "/site-packages/x"
    assert record["seen"] == ["a", "b"]
    assert record["hook_errors"]["payhelp_adapter"].startswith("RuntimeError: bad card")
    assert CARD not in out


# -- every option, fed nonsense ----------------------------------------------------------------------

SUBMIT = submit("--sandbox")
BAD_INPUT: list[tuple[str, ...]] = [
    ("route", "--transaction-id", BIG, "--country", "US"),
    ("route", "--descriptor", BIG, "--country", "US"),
    ("route", "--country", BIG),
    ("route", "--country", ""),
    ("route", "--processor", "", "--country", "US"),
    ("route", "--country", "ÎT"),
    ("route", "--product", "bogus", "--country", "US"),
    ("route", "--batch", ""),
    ("lookup", "--processor", "epoch", "--member-id", BIG, "--email", "a@example.com", "--sandbox"),
    ("lookup", "--processor", "epoch", "--last4", "-123", "--sandbox"),
    ("lookup", "--processor", "", "--sandbox"),
    ("lookup", "--processor", "segpay", "--email", f"{BIG}@example.com", "--sandbox"),
    ("lookup", "--batch", "-", "--concurrency", "0"),
    ("lookup", "--batch", "-", "--concurrency", "100000"),
    ("lookup", "--batch", "/nonexistent.jsonl"),
    (*SUBMIT[:5], BIG, *SUBMIT[6:]),
    (*SUBMIT, "--amount", "-5", "--currency", "USD"),
    (*SUBMIT, "--amount", "1e400", "--currency", "USD"),
    (*SUBMIT, "--amount", "5"),
    (*SUBMIT, "--paid", "abc", "--currency", "EUR"),
    (*SUBMIT, "--amount", "5", "--currency", "€€€"),
    (*SUBMIT, "--purchased-at", "yesterday"),
    (*SUBMIT, "--purchased-at", "2026-13-45T99:00:00Z"),
    (*SUBMIT, "--purchased-at", "2026-01-01"),
    (*SUBMIT, "--idempotency-key", BIG),
    (*SUBMIT, "--reference", "="),
    (*SUBMIT, "--reference", f"member={BIG}"),
    (*SUBMIT, "--last4", "12"),
    (*SUBMIT, "--channel", "fax"),
    ("dispute", "list", "--limit", "-1"),
    ("dispute", "list", "--limit", "0"),
    ("dispute", "list", "--processor", BIG),
    ("dispute", "show", BIG),
    ("dispute", "show", ""),
    ("refund", "check", "--product", "private_show", "--purchased-at", "not a time"),
    ("refund", "check", "--product", "private_show", "--purchased-at", "0001-01-01T00:00Z"),
    ("refund", "check", "--product", "private_show", "--purchased-at", BIG),
    (
        "refund",
        "check",
        "--product",
        "private_show",
        "--purchased-at",
        "2026-01-01T00:00Z",
        "--viewed-minutes",
        "-5",
    ),
    (
        "refund",
        "check",
        "--product",
        "private_show",
        "--purchased-at",
        "2026-01-01T00:00Z",
        "--viewed-minutes",
        "nan",
    ),
    (
        "refund",
        "check",
        "--product",
        "private_show",
        "--purchased-at",
        "2026-01-01T00:00Z",
        "--now",
        "9999-12-31T23:59:59Z",
    ),
    ("decline", "explain", BIG, "--scheme", "stripe"),
    ("decline", "explain", "", "--scheme", "stripe"),
    ("decline", "explain", "05", "--scheme", ""),
    ("decline", "explain", "05", "--scheme", "iso8583", "--network", "bogus"),
    ("decline", "explain", "05", "--scheme", "iso8583", "--processor", "epoch", "--country", "ZZ"),
    ("dunning", "plan", "--failed-at", "x", "--decline", "05", "--scheme", "iso8583"),
    ("dunning", "plan", "--failed-at", "9999-12-31T23:00:00Z", "--decline", "05", "--scheme", "x"),
    ("dunning", "plan", "--failed-at", "2026-01-01T00:00Z", "--decline", BIG, "--scheme", "stripe"),
    ("contacts", "--processor", BIG, "--country", "IT"),
    ("contacts", "--processor", "epoch", "--country", "日本"),
    ("sandbox", "cases", "--processor", ""),
    ("sandbox", "serve", "--latency-ms", "-5"),
    ("sandbox", "serve", "--error-rate", "2"),
    ("sandbox", "serve", "--port", "-1"),
    ("sandbox", "serve", "--port", "70000"),
    ("sandbox", "serve", "--rate-limit", "fast"),
    ("sandbox", "serve", "--rate-limit", "0/s"),
    ("sandbox", "serve", "--seed", "x"),
    ("sandbox", "serve", "--processor", "nope"),
    ("plugin", "new", ""),
    ("plugin", "new", "Bad Name"),
    ("--config", "/nonexistent.toml", "processors"),
]
# Found by this table and owned elsewhere: the lookup query does not bound its fields, so a
# 100,000-character id reaches httpx (InvalidURL, exit 70) or is silently ignored (exit 0).
UNBOUNDED_LOOKUP: list[tuple[str, ...]] = [
    ("lookup", BIG, "--processor", "segpay", "--sandbox"),
    ("lookup", BIG, "--processor", "epoch"),
]


def _label(args: tuple[str, ...]) -> str:
    return " ".join(a if len(a) <= 24 else f"<{len(a)} chars>" for a in args) or "-"


@pytest.mark.parametrize(
    "args",
    [
        *BAD_INPUT,
        *UNBOUNDED_LOOKUP,
    ],
    ids=_label,
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2, err
    assert out == ""
    line = one_line(err)
    assert line.startswith("payhelp: error: "), line
    assert len(line) < 1200
    assert CARD not in err


def test_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, _, err = run(capsys, "sandbox", "serve", "--port", port)
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}: " in one_line(err)


# -- a terminal that cannot show the text (real processes) -------------------------------------------

DRIVER = textwrap.dedent(
    """
    import json, sys
    from payhelp.cli import main

    codes = []
    for argv in json.loads(sys.argv[1]):
        try:
            main(argv)
        except SystemExit as exc:
            codes.append(exc.code or 0)
        sys.stdout.write("\\n=====\\n")
        sys.stdout.flush()
    sys.stderr.write("CODES " + json.dumps(codes) + "\\n")
    """
)
ITALIAN_WORDS = "Non l'ho mai comprato — perché? Città, più…"
ENCODING_COMMANDS: list[list[str]] = [
    ["processors"],
    ["contacts", "--processor", "paymentico", "--country", "IT", "--language", "it"],
    ["contacts", "--processor", "paymentico", "--country", "IT", "--language", "it", "--json"],
    ["decline", "explain", "05", "--scheme", "iso8583", "--language", "it"],
    [
        "refund", "check", "--product", "private_show", "--purchased-at", "2026-11-20T10:00:00Z",
        "--now", "2026-11-20T12:00:00Z", "--language", "it", "--motivation", ITALIAN_WORDS,
    ],
    [
        "dispute", "submit", "--processor", "epoch", "--transaction-id", "200000001", "--reason",
        "not_recognised", "--message", ITALIAN_WORDS, "--email", "cliente@example.com",
        "--channel", "email", "--language", "it",
    ],
    ["dispute", "list"],
    ["dispute", "show", "1"],
    ["dunning", "plan", "--failed-at", "2026-11-01T10:00:00Z", "--decline", "51", "--scheme",
     "iso8583", "--language", "it"],
]  # fmt: skip


def test_output_never_crashes_on_an_ascii_terminal(data_home_dir: Path) -> None:
    encoding = "ascii"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PAYHELP_", "LC_"))},
        "PYTHONIOENCODING": encoding,
        "LANG": "C",
        "LC_ALL": "C",
        "XDG_DATA_HOME": str(data_home_dir),
    }
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(ENCODING_COMMANDS)],
        capture_output=True,
        env=env,
        check=False,
        timeout=120,
    )
    stderr = done.stderr.decode(encoding)
    assert done.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "CODES " + json.dumps([0] * len(ENCODING_COMMANDS)) in stderr, stderr
    outputs = done.stdout.decode(encoding).split("\n=====\n")  # strict: nothing but ASCII
    assert json.loads(outputs[2])["language"] == "it"  # escaped, yet still valid JSON
    shown = json.loads(outputs[7])
    assert shown["request"]["message"] == ITALIAN_WORDS


def test_real_process_with_an_unusable_data_folder(tmp_path: Path) -> None:
    home = _data_home_is_a_file(tmp_path)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PAYHELP_")},
        "XDG_DATA_HOME": home,
        "PYTHONIOENCODING": "ascii",
    }
    done = subprocess.run(
        [sys.executable, "-m", "payhelp", "dispute", "list"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert home in one_line(done.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ("dispute", "submit", "--processor", "webbilling", "--transaction-id", "WB-1",
         "--reason", "other", "--message", "m", "--email", "c@example.org", "--attach", "a\x00b"),
        ("plugin", "new", "nulpay", "--output", "x\x00y"),
        ("--config", "c\x00.toml", "processors"),
    ],
)  # fmt: skip
def test_a_nul_in_a_path_is_bad_input(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, _out, err = run(capsys, *args)
    assert code == 2, err
    assert "NUL" in err


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
