"""Generated reference pages match the code they describe."""

from __future__ import annotations

from pathlib import Path

import payhelp
from payhelp import Payhelp
from payhelp._base import field_docs
from payhelp.docs import (
    BUILTIN_PROCESSORS,
    decline_reference,
    field_reference,
    main,
    processor_reference,
)
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


def test_field_reference_is_current() -> None:
    assert (DOCS / "fields.md").read_text(encoding="utf-8") == field_reference(), (
        "docs/fields.md is stale: run python -m payhelp.docs fields > docs/fields.md"
    )


def test_field_reference_names_every_field_a_plugin_writes() -> None:
    page = field_reference()
    lines = page.splitlines()
    for model in (
        payhelp.ProcessorInfo,
        payhelp.Capabilities,
        payhelp.ProductRule,
        payhelp.IdFormat,
        payhelp.DescriptorHint,
        payhelp.Provenance,
        payhelp.ContactDirectory,
        payhelp.ContactChannel,
        payhelp.Audience,
        payhelp.ChannelRoute,
        payhelp.RouteStep,
    ):
        start = lines.index(f"## `{model.__name__}`")
        section = lines[start : lines.index("", start + 8)]
        for name, field in model.model_fields.items():
            row = next(line for line in section if line.startswith(f"| `{name}` |"))
            assert ("**required**" in row) == field.is_required(), row
            assert field_docs(model)[name].split()[0] in row
    assert "| `min_length` | `int` | **required** | ≥ 1; ≤ 64 |" in page
    assert "`Region.EEA` | `'eea'`" in page
    for parameter in ("info: ProcessorInfo", "directory: ContactDirectory", "*, api:", "sandbox:"):
        assert parameter in page
    # What is checked beyond the types, from the validators' docstrings.
    assert "- `value`: The value is an address of the channel's kind" in page


def test_the_guide_links_the_field_reference() -> None:
    guide = (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert "[fields.md](fields.md)" in guide
    assert "(`US`, `CA`, `EEA`, `UK`, `ROW`)" not in guide  # capitals the models once refused


def test_processor_reference_lists_aliases() -> None:
    ph = Payhelp(load_plugins=list(BUILTIN_PROCESSORS))
    page = processor_reference(ph)
    for info in ph.processors():
        section = page.split(f"## {info.name} (`{info.id}`)")[1].split("\n## ")[0]
        for alias in info.aliases:
            assert f"- Also called: `{alias}`" in section
    assert any(info.aliases for info in ph.processors())


def test_docs_command_rejects_unknown_pages(capsys) -> None:
    assert main(["nothing"]) == 2
    assert "usage" in capsys.readouterr().err
