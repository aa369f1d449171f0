"""Shared fixtures: synthetic processors and on-the-fly installed distributions."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from payhelp import (
    Audience,
    Capabilities,
    ChannelKind,
    ChannelRoute,
    Confidence,
    ContactChannel,
    ContactDirectory,
    DescriptorHint,
    IdFormat,
    IdKind,
    ProcessorInfo,
    ProductKind,
    ProductRule,
    Provenance,
    Region,
    RouteStep,
    SubscriptionPeriod,
)

# Tests that run functions of theirs in spawned processes (multiprocessing pickles a function by
# its module, ``tests.<file>``) need the project's root on the path in those processes too, and
# spawn gives them the parent's path: with the `pytest` script (not `python -m pytest`) the root
# is not on it by itself.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


PROV = (
    Provenance(source="test fixture", confidence=Confidence.SINGLE, checked_on=date(2026, 1, 1)),
)


def make_info(
    pid: str,
    *,
    regions: tuple[Region, ...] = tuple(Region),
    ids: tuple[IdFormat, ...] = (),
    words: tuple[str, ...] = (),
    recommended: tuple[ProductRule, ...] = (),
    share: int = 0,
) -> ProcessorInfo:
    return ProcessorInfo(
        id=pid,
        name=pid.title(),
        website=f"https://{pid}.example.com/",  # type: ignore[arg-type]
        regions=regions,
        id_formats=ids,
        descriptors=tuple(
            DescriptorHint(keyword=w, example=f"{w}*SHOP", provenance=PROV) for w in words
        ),
        recommended_for=recommended,
        share_hint=share,
        capabilities=Capabilities(self_service_lookup=True),
    )


def digits(
    label: str, lo: int, hi: int, kind: IdKind = IdKind.TRANSACTION, prefix: str = ""
) -> IdFormat:
    return IdFormat(
        kind=kind,
        label=label,
        prefix=prefix,
        charset="digits",
        min_length=lo,
        max_length=hi,
        example=prefix + "1" * lo,
        provenance=PROV,
    )


def make_directory(pid: str) -> ContactDirectory:
    return ContactDirectory(
        channels={
            "email": ContactChannel(
                kind=ChannelKind.EMAIL, value=f"help@{pid}.example.com", provenance=PROV
            ),
            "page": ContactChannel(
                kind=ChannelKind.LOOKUP_PAGE,
                value=f"https://{pid}.example.com/find",
                fields=("order number", "email"),
                provenance=PROV,
            ),
            "phone_us": ContactChannel(
                kind=ChannelKind.PHONE,
                value="+18005550123",
                toll_free_in=("US",),
                serves=Audience(countries=("US",)),
                provenance=PROV,
            ),
        },
        routes=(
            ChannelRoute(
                audience=Audience(regions=(Region.US,)),
                steps=(
                    RouteStep(channel="phone_us", reason="call"),
                    RouteStep(channel="email", reason="write"),
                ),
            ),
            ChannelRoute(
                steps=(
                    RouteStep(channel="page", reason="look it up"),
                    RouteStep(channel="email", reason="write"),
                )
            ),
        ),
        include=("your order number",),
    )


class SyntheticPlugin:
    """A plugin object registering one synthetic processor."""

    def __init__(self, info: ProcessorInfo, directory: ContactDirectory | None = None) -> None:
        self.info = info
        self.directory = directory or make_directory(info.id)

    def payhelp_register_processors(self, register: Callable[..., None]) -> None:
        register(self.info, self.directory)


# pluggy recognises hook implementations by the marker; apply it to the class method.
from payhelp import hookimpl  # noqa: E402

SyntheticPlugin.payhelp_register_processors = hookimpl(SyntheticPlugin.payhelp_register_processors)  # type: ignore[method-assign]

ANNUAL = ProductRule(
    kind=ProductKind.SUBSCRIPTION, period=SubscriptionPeriod.ANNUAL, note="annual plans"
)


@pytest.fixture
def install_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Path]]:
    """Make a distribution visible to importlib.metadata: a dist-info with entry points plus its
    modules, on a fresh sys.path entry (what pip leaves in site-packages, minus the copying)."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    created: list[str] = []

    def install(
        dist: str, entry_points: dict[str, str], modules: dict[str, str], version: str = "1.0"
    ) -> Path:
        info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[payhelp]\n{lines}\n")
        for module, source in modules.items():
            path = root / f"{module}.py"
            path.write_text(textwrap.dedent(source))
            created.append(module)
        return root

    yield install
    for module in created:
        sys.modules.pop(module, None)


def dispute_fields(transaction: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A complete refund request about ``transaction``; ``tx.NAME=`` changes a field of the
    transaction, any other keyword a field of the request."""
    body: dict[str, Any] = {
        "transaction": dict(transaction),
        "reason": "duplicate_charge",
        "message": "Charged twice.",
        "contact_email": "customer@example.org",
    }
    for key, value in changes.items():
        if key.startswith("tx."):
            body["transaction"][key[3:]] = value
        else:
            body[key] = value
    return body
