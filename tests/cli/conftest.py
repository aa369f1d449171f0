"""What the CLI tests share. Each ``test_X.py`` here tests ``payhelp/cli/X.py`` (``test_main.py``
the group and ``main()`` in ``__init__.py``, ``test_output.py`` the shared ``_output.py``); every
test runs in English, with no configuration from the caller's shell and a data folder of its own."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from payhelp.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


CARD = "4111111111111111"  # a Luhn-valid test card number


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


BIG = "a" * 100_000


CUSTOMER_WORDS = "Non ho mai comprato questo, ridatemi i soldi"


AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(autouse=True)
def data_home_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """English, 80 columns, no configuration from the caller's shell, and a data folder of the
    test's own (the store, the outbox and their sandbox twins all live under it)."""
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
    # The width a pipe gets (and a common terminal): what a table must fit in.
    monkeypatch.setenv("COLUMNS", "80")
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data


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


BOUGHT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

FAILED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def data_home_is_a_file(tmp_path: Path) -> str:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return str(path)


def data_home_under_a_file(tmp_path: Path) -> str:
    return str(Path(data_home_is_a_file(tmp_path)) / "below")


def data_home_in_proc(tmp_path: Path) -> str:
    return "/proc"


@pytest.fixture(params=["piped", "terminal"])
def screen(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Output piped (80 columns, no terminal) or to an 80-column terminal (colours on)."""
    if request.param == "terminal":
        monkeypatch.setenv("FORCE_COLOR", "1")
    else:
        monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return str(request.param)


def assert_whole(out: str, values: Iterable[str]) -> None:
    """Each value is in ``out`` as one unbroken piece that copies whole: never cut by an
    ellipsis, never folded over two lines."""
    values = [value for value in values if value]
    assert values
    for value in values:
        assert value in out, f"{value!r} is not whole in:\n{out}"
