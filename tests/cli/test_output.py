"""What every command shares: error lines (one line, no terminal controls, no SQL or customer
words from a bug, the path the environment refused), output on an ASCII terminal and into a
closed pipe."""

from __future__ import annotations

import ast
import errno
import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import click
import pytest
from rich.table import Table
from sqlalchemy.exc import OperationalError

from payhelp import cli
from payhelp.api import Payhelp
from payhelp.cli._output import _print_table
from payhelp.errors import PayhelpError

from .conftest import (
    AS_ROOT,
    BIG,
    CARD,
    CUSTOMER_WORDS,
    assert_whole,
    data_home_in_proc,
    data_home_is_a_file,
    data_home_under_a_file,
    one_line,
    run,
    submit,
)


def test_batch_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text('{"descriptor": "SEGPAY"}\n' * 20000)
    done = subprocess.run(
        f"{sys.executable} -m payhelp route --batch {batch} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(done.stdout)["processor"] == "segpay"
    assert "Traceback" not in done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize(
    "data_home", [data_home_is_a_file, data_home_under_a_file, data_home_in_proc]
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
    outbox = Path(data_home_is_a_file(tmp_path))
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


# -- tables never cut what must be copied ----------------------------------------------------

LONG_URL = "https://help.example.com/" + "billing/" * 7 + "refunds?ref=ABC-123"


def _table(*rows: tuple[str, str]) -> Table:
    table = Table("what", "where", title="Places")
    for row in rows:
        table.add_row(*row)
    return table


def test_a_table_that_holds_every_value_whole_is_printed_as_a_table(
    capsys: pytest.CaptureFixture[str], screen: str
) -> None:
    _print_table(
        _table(("email", "help@example.com"), ("page", "https://example.com/")), whole_columns=(1,)
    )
    out = capsys.readouterr().out
    assert "│ page  │ https://example.com/ │" in out
    assert_whole(out, ["help@example.com", "https://example.com/"])


def test_a_value_too_long_for_the_table_turns_the_rows_into_a_list(
    capsys: pytest.CaptureFixture[str], screen: str
) -> None:
    assert len(LONG_URL) > 80
    _print_table(_table(("email", "help@example.com"), ("page", LONG_URL)), whole_columns=(1,))
    out = capsys.readouterr().out
    assert "…" not in out
    assert f"where: {LONG_URL}\n" in out
    assert "what: email\nwhere: help@example.com\n" in out


def test_a_table_squeezing_other_columns_to_a_letter_is_a_list_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = Table("transaction", "status", "date", "note")
    table.add_row("511170302", "credit/success (APPROVED)", "2026-11-20T10:00:00+00:00", "x" * 30)
    _print_table(table, whole_columns=(0, 2, 3))
    out = capsys.readouterr().out
    assert "status: credit/success (APPROVED)\n" in out


def test_a_label_value_table_becomes_label_value_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = Table(show_header=False, title="Receipt")
    table.add_row("idempotency key", "ph_" + "k" * 90)
    table.add_row("lines", "one\ntwo")
    _print_table(table, whole=["ph_" + "k" * 90])
    out = capsys.readouterr().out
    assert out.startswith("Receipt\n\n")
    assert f"idempotency key: ph_{'k' * 90}\n" in out
    assert "lines: one\n       two\n" in out


# -- texts for customers and agents read as written for them -----------------------------------

INTERNAL = re.compile(r"\b(seed|moment|hooks?|yourself|never more|adapter)\b", re.IGNORECASE)


def _cli_texts() -> list[str]:
    """Every translatable text of the CLI (``N_("...")``) and every help text of an option."""
    texts: list[str] = []
    for path in Path(cli.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            if isinstance(node.func, ast.Name) and node.func.id == "N_":
                texts.append(ast.literal_eval(node.args[0]))
    return texts


def test_no_cli_text_uses_internal_words() -> None:
    texts = _cli_texts()
    assert len(texts) > 30
    assert [text for text in texts if INTERNAL.search(text)] == []


def test_no_option_help_for_customer_work_uses_internal_words() -> None:
    # The developers' commands (`plugins`, `plugin new`, `sandbox serve --seed`) may speak of
    # hooks and random seeds; the ones for support work may not.
    for name in cli.COMMANDS:
        if name in {"plugins", "plugin", "sandbox"}:
            continue
        command = cli.cli.get_command(click.Context(cli.cli), name)
        assert command is not None, name
        commands = [command, *getattr(command, "commands", {}).values()]
        for each in commands:
            for param in each.params:
                text = getattr(param, "help", None) or ""
                assert not INTERNAL.search(text), (name, param.name, text)


def test_a_cell_of_several_values_is_checked_line_by_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = Table("plugin", "processors", title="Plugins")
    table.add_row("twopay", "alpha\nbeta")
    _print_table(table, whole_columns=(0, 1))
    out = capsys.readouterr().out
    assert "│ twopay │ alpha      │" in out  # still a table: each line of the cell fits


def test_the_collector_closing_a_leftover_socket_is_not_a_configuration_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An embedding process (or an earlier test) that left a socket open can have it collected
    while the CLI builds the library; that ResourceWarning is not about the user's settings, so
    it stays out of the command's output, while a warning the library gives is still shown."""
    import payhelp.api  # noqa: PLC0415 - the class the CLI builds, replaced for this test

    built = payhelp.api.Payhelp

    class Warned(built):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            warnings.warn("unclosed <socket.socket fd=16>", ResourceWarning, stacklevel=1)
            warnings.warn("the setting 'x' is not known", UserWarning, stacklevel=1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(payhelp.api, "Payhelp", Warned)
    with warnings.catch_warnings(record=True) as elsewhere:
        warnings.simplefilter("always")
        code, out, err = run(capsys, "contacts", "--processor", "segpay", "--country", "IT")
    assert code == 0, err
    assert err == "payhelp: warning: the setting 'x' is not known\n"
    assert "socket" not in out + err
    assert [str(w.message) for w in elsewhere if w.category is ResourceWarning] == [
        "unclosed <socket.socket fd=16>"
    ]
