"""Attachments are read from regular files only, never more than the limit, and never wait.

``--attach /dev/zero`` once read until the machine ran out of memory, and a named pipe without a
writer hung the command. :meth:`Attachment.from_path` now opens without blocking, looks at what
it opened, refuses anything but a regular file, and reads at most the limit and one byte.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from payhelp.cases import MAX_ATTACHMENT_BYTES, Attachment
from payhelp.errors import CardNumberError, InvalidInputError

CARD = "4111111111111111"
posix_only = pytest.mark.skipif(os.name != "posix", reason="devices and pipes are POSIX")

# Run in a child with its address space capped, so that a regression fails with MemoryError
# instead of taking the machine's memory.
_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from payhelp.cases import Attachment
from payhelp.errors import InvalidInputError
try:
    Attachment.from_path(sys.argv[1])
except InvalidInputError as exc:
    print("refused:", exc)
else:
    print("read")
"""


@posix_only
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_an_endless_device_is_refused_without_reading_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, "/dev/zero"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == (
        "refused: attachment 'zero' is not a regular file (a device, a pipe or a socket may never "
        "end); attach a saved file"
    )


@posix_only
def test_a_named_pipe_without_a_writer_is_refused_at_once(tmp_path: Path) -> None:
    pipe = tmp_path / "receipt.pdf"
    os.mkfifo(pipe)
    outcome: list[BaseException | Attachment] = []

    def attach() -> None:
        try:
            outcome.append(Attachment.from_path(pipe))
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=attach, daemon=True)
    reader.start()
    reader.join(timeout=30)
    if reader.is_alive():
        # The reader is stuck opening the pipe: opening the other end sets it free.
        os.close(os.open(pipe, os.O_WRONLY))
        reader.join()
        pytest.fail("Attachment.from_path waited for a writer on a named pipe")
    (result,) = outcome
    assert isinstance(result, InvalidInputError)
    assert "is not a regular file" in str(result)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="is a folder"):
        Attachment.from_path(tmp_path)


@posix_only
def test_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "receipt.pdf"
    link.symlink_to("/dev/null")
    with pytest.raises(InvalidInputError, match="not a regular file"):
        Attachment.from_path(link)


def test_a_file_over_the_limit_is_refused_by_its_size(tmp_path: Path) -> None:
    big = tmp_path / "scan.png"
    with big.open("wb") as handle:
        handle.truncate(MAX_ATTACHMENT_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(InvalidInputError, match=f"is {MAX_ATTACHMENT_BYTES + 1} bytes"):
        Attachment.from_path(big)


def test_a_file_at_the_limit_is_read_whole(tmp_path: Path) -> None:
    exact = tmp_path / "scan.png"
    with exact.open("wb") as handle:
        handle.truncate(MAX_ATTACHMENT_BYTES)
    attachment = Attachment.from_path(exact)
    assert len(attachment.data) == MAX_ATTACHMENT_BYTES
    assert attachment.content_type == "image/png"


def test_a_small_receipt_is_read(tmp_path: Path) -> None:
    receipt = tmp_path / "receipt.pdf"
    receipt.write_bytes(b"%PDF-1.4 receipt")
    attachment = Attachment.from_path(str(receipt))
    assert (attachment.filename, attachment.content_type) == ("receipt.pdf", "application/pdf")
    assert attachment.data == b"%PDF-1.4 receipt"


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"cannot read attachment 'gone.pdf': No such"):
        Attachment.from_path(tmp_path / "gone.pdf")


@pytest.mark.parametrize("path", [None, 7, b"/tmp/x", ["a"], "bad\x00path", "\ud800.pdf"])
def test_a_path_that_is_no_path_is_bad_input(path: object) -> None:
    with pytest.raises(InvalidInputError):
        Attachment.from_path(path)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", [f"{CARD}.pdf", "receipt 4111 1111 1111 1111.pdf", "r-4111%201111%201111%201111.pdf"]
)
def test_a_card_number_in_the_file_name_is_refused_and_not_echoed(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(CardNumberError) as info:
        Attachment.from_path(path)
    assert str(info.value).startswith("attachment: filename: holds a full card number")
    assert "1111 1111" not in str(info.value)
    assert CARD not in str(info.value).replace(" ", "").replace("%20", "")


@posix_only
def test_a_card_number_in_an_unreadable_file_name_is_masked(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        Attachment.from_path(tmp_path / f"{CARD}.pdf")
    assert CARD not in str(info.value)
    assert "[card …1111]" in str(info.value)
