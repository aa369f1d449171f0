"""``payhelp sandbox serve`` and ``sandbox cases``."""

from __future__ import annotations

import socket

import pytest

from .conftest import (
    one_line,
    run,
)


def test_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, _, err = run(capsys, "sandbox", "serve", "--port", port)
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}: " in one_line(err)
