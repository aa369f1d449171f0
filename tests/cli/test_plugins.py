"""``payhelp processors``, ``payhelp plugins`` and ``payhelp plugin new``."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from payhelp.api import Payhelp
from payhelp.plugins import PluginRecord

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
    code, out, _ = run(capsys, "plugins", "--json")
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
    version: str | None = "1.0"
    source: str = "object"
    processors: tuple[str, ...] = ("odd",)
    problems: tuple[str, ...] = ()
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
    code, out, err = run(capsys, "plugins", "--json")
    assert code == 1, err  # its hook failed: something to fix
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


def test_plugins_table_for_people(capsys: pytest.CaptureFixture[str], screen: str) -> None:
    records = run_json(capsys, "plugins")
    code, out, err = run(capsys, "plugins")
    assert code == 0, err
    assert not out.lstrip().startswith(("[", "{"))
    assert "Plugins" in out
    for record in records:
        assert_whole(out, [record["name"], record["version"], *record["processors"]])
    assert out.count("loaded") == len(records)


NOTHING = """
import payhelp


@payhelp.hookimpl
def payhelp_register_processors(register):
    pass  # forgot to call register(INFO, DIRECTORY)
"""
NO_HOOKS = "VERSION = '1.0'\n"


@pytest.mark.parametrize("module", [NOTHING, NO_HOOKS], ids=["empty-hook", "no-hooks"])
def test_a_plugin_that_registered_nothing_is_flagged(
    capsys: pytest.CaptureFixture[str],
    install_distribution: Callable[..., Path],
    module: str,
) -> None:
    install_distribution(
        "payhelp-emptypay", {"emptypay": "tests_emptypay"}, {"tests_emptypay": module}
    )
    code, out, err = run(capsys, "plugins")
    assert code == 1, err
    block = " ".join(out.split("emptypay", 1)[1].split())
    assert "registered no" in block
    assert "register(INFO, DIRECTORY)" in block
    code, out, _ = run(capsys, "plugins", "--json")
    assert code == 1
    [empty] = [r for r in json.loads(out) if r["name"] == "emptypay"]
    assert empty["error"] is None
    assert empty["processors"] == []
    assert empty["problems"]


def test_the_cli_names_an_empty_plugin_when_the_record_states_no_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = PluginRecord("emptypay", "1.0", "entry point", hooks=("payhelp_register_processors",))
    schemes = PluginRecord(
        "codes", "1.0", "entry point", hooks=("payhelp_register_decline_schemes",)
    )
    monkeypatch.setattr(Payhelp, "plugins", lambda self, check=False: [empty, schemes])
    code, out, err = run(capsys, "plugins")
    assert code == 1, err
    assert "│ emptypay │ 1.0     │ -          │ problem: registered nothing (no" in out
    assert "│ codes    │ 1.0     │ -          │ loaded" in out


def test_a_plugin_that_failed_to_load_shows_its_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = PluginRecord("brokenpay", "2.0", "entry point", error="failed to import x: boom")
    monkeypatch.setattr(Payhelp, "plugins", lambda self, check=False: [broken])
    code, out, err = run(capsys, "plugins")
    assert code == 1, err
    assert "error: failed to import x: boom" in out


@pytest.mark.parametrize(("flags", "has_api"), [((), True), (("--no-api",), False)])
def test_plugin_new_with_or_without_an_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], has_api: bool
) -> None:
    code, out, err = run(capsys, "plugin", "new", "acmepay", "--output", str(tmp_path), *flags)
    assert code == 0, err
    package = tmp_path / "payhelp-acmepay" / "src" / "payhelp_acmepay"
    assert (package / "api.py").exists() is has_api
    assert (package / "sandbox.py").exists() is has_api
    assert (package / "data.py").exists()
    flat = " ".join(out.split())
    assert "payhelp registers the processor only once none is left" in flat
