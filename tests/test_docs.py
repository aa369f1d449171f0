"""Generated reference pages match the code they describe."""

from __future__ import annotations

from pathlib import Path

from payhelp import Payhelp
from payhelp.docs import BUILTIN_PROCESSORS, main, processor_reference

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


def test_docs_command_rejects_unknown_pages(capsys) -> None:
    assert main(["nothing"]) == 2
    assert "usage" in capsys.readouterr().err
