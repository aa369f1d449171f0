"""``payhelp sandbox serve`` and ``sandbox cases``."""

from __future__ import annotations

import socket

import pytest

from .conftest import (
    assert_whole,
    one_line,
    run,
    run_json,
)


def test_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, _, err = run(capsys, "sandbox", "serve", "--port", port)
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}: " in one_line(err)


def test_sandbox_cases_table_keeps_every_id_whole(
    capsys: pytest.CaptureFixture[str], screen: str
) -> None:
    cases = run_json(capsys, "sandbox", "cases")
    code, out, err = run(capsys, "sandbox", "cases")
    assert code == 0, err
    assert_whole(out, [value for found in cases.values() for value in found.values()])
    assert_whole(out, [case for found in cases.values() for case in found])
