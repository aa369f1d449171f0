"""``payhelp processors``, ``payhelp plugins`` and ``payhelp plugin new``."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from payhelp.api import Payhelp

from .conftest import (
    CARD,
    assert_whole,
    run,
    run_json,
)


def test_processors_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "processors", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {p["id"] for p in data} == {
        "paymentico",
        "epoch",
        "segpay",
        "centrobill",
        "webbilling",
        "wtseticket",
    }
    for item in data:
        assert {"id", "name", "capabilities"} <= set(item)


def test_processors_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "processors")
    assert code == 0
    assert "Paymentico" in out


def test_plugins_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    data = {p["name"]: p for p in json.loads(out)}
    assert data["epoch"]["version"] == "0.1.0"
    assert "payhelp_register_processors" in data["epoch"]["hooks"]
    assert data["epoch"]["error"] is None
    assert "payhelp.builtin" in data


class Kind(enum.Enum):
    BUILTIN = "builtin"


@dataclass(frozen=True)
class OddRecord:
    name: str
    hooks: tuple[str, ...] = ("payhelp_adapter",)
    conflicts: tuple[tuple[str, str], ...] = (("epoch", "payhelp-epoch-fork"),)
    error: str | None = None
    kind: Kind = Kind.BUILTIN
    where: Path = Path("/site-packages/x")
    seen: frozenset[str] = frozenset({"b", "a"})
    hook_errors: dict[str, Exception] = field(
        default_factory=lambda: {"payhelp_adapter": RuntimeError(f"bad card {CARD}")}
    )


def test_plugins_listing_prints_any_record_fields(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(Payhelp, "plugins", lambda self, check=False: [OddRecord("odd")])
    code, out, err = run(capsys, "plugins")
    assert code == 0, err
    [record] = json.loads(out)
    assert record["conflicts"] == [["epoch", "payhelp-epoch-fork"]]
    assert record["error"] is None
    assert record["kind"] == "builtin"
    assert record["where"] == "/site-packages/x"
    assert record["seen"] == ["a", "b"]
    assert record["hook_errors"]["payhelp_adapter"].startswith("RuntimeError: bad card")
    assert CARD not in out


def test_processors_table_keeps_every_capability_region_and_url_whole(
    capsys: pytest.CaptureFixture[str], screen: str
) -> None:
    infos = run_json(capsys, "processors")
    code, out, err = run(capsys, "processors")
    assert code == 0, err
    for info in infos:
        capabilities = [name for name, on in info["capabilities"].items() if on]
        api = info["public_api"]
        assert_whole(out, [info["id"], info["name"], *capabilities, *info["regions"]])
        if api:
            assert_whole(out, [api["base_url"], api["basis"]])
    assert "…" not in out
