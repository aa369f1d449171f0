"""Generated reference pages match the code they describe."""

from __future__ import annotations

from pathlib import Path

from payhelp import Payhelp
from payhelp.docs import BUILTIN_PROCESSORS, decline_reference, main, processor_reference
from payhelp.policies.declines import DeclineReason

DOCS = Path(__file__).parent.parent / "docs"


def test_processor_reference_is_current() -> None:
    expected = processor_reference(Payhelp(load_plugins=list(BUILTIN_PROCESSORS)))
    assert (DOCS / "processors.md").read_text(encoding="utf-8") == expected, (
        "docs/processors.md is stale: run python -m payhelp.docs processors > docs/processors.md"
    )


def test_processor_reference_shows_every_channel_with_its_sources() -> None:
    ph = Payhelp(load_plugins=list(BUILTIN_PROCESSORS))
    page = processor_reference(ph)
    for info in ph.processors():
        assert f"## {info.name} (`{info.id}`)" in page
        for key, channel in ph.directory(info.id).channels.items():
            row = next(
                line
                for line in page.splitlines()
                if line.startswith(f"| `{key}` |") and channel.value in line
            )
            assert channel.provenance[0].source in row


def test_decline_reference_is_current() -> None:
    expected = decline_reference(Payhelp(load_plugins=list(BUILTIN_PROCESSORS)))
    assert (DOCS / "declines.md").read_text(encoding="utf-8") == expected, (
        "docs/declines.md is stale: run python -m payhelp.docs declines > docs/declines.md"
    )


def test_decline_reference_shows_every_reason_with_its_advice() -> None:
    page = decline_reference()
    for reason in DeclineReason:
        assert f"### `{reason.value}`" in page
        assert any(line.startswith(f"| `{reason.value}` |") for line in page.splitlines())
    assert "{retry_wait}" not in page
    assert "Top it up and wait 12 hours" in page


def test_decline_reference_shows_every_code_and_source() -> None:
    ph = Payhelp(load_entry_points=False)
    page = decline_reference(ph)
    lines = page.splitlines()
    for scheme in ph.decline_schemes():
        assert f"(`{scheme.id}`)" in page
        assert str(scheme.source.url) in page
        for key, code in scheme.codes.items():
            row = next(line for line in lines if line.startswith(f"| `{key}` | "))
            assert f"`{code.reason.value}`" in row
    for cap in ph.retry_caps:
        assert any(
            line.startswith(f"| {cap.network.value} | {cap.max_retries} |") for line in lines
        )


def test_docs_command_rejects_unknown_pages(capsys) -> None:
    assert main(["nothing"]) == 2
    assert "usage" in capsys.readouterr().err
