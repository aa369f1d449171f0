"""``payhelp lookup``: answers, the text layout, batches and what an error says about retrying."""

from __future__ import annotations

import pytest

from .conftest import (
    one_line,
    run,
)

EPOCH_LOOKUP_FAILING = "100000500"


def test_failed_lookup_says_a_retry_is_safe(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "lookup", EPOCH_LOOKUP_FAILING, "--processor", "epoch", "--member-id", "1",
        "--sandbox",
    )  # fmt: skip
    assert code == 1
    assert one_line(err).endswith(" — a lookup changes nothing at the processor; safe to retry")
