"""A third-party plugin built as a wheel and installed like any package is discovered, listed,
and routed to by the real ``payhelp`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PYPROJECT = """
[project]
name = "payhelp-zetapay"
version = "2.3.0"
requires-python = ">=3.11"
dependencies = []

[project.entry-points.payhelp]
zetapay = "payhelp_zetapay.plugin"

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/payhelp_zetapay"]
"""

PLUGIN = '''
"""ZetaPay: a processor payhelp does not ship."""
from datetime import date

from payhelp import (
    Capabilities, ChannelKind, ChannelRoute, Confidence, ContactChannel, ContactDirectory,
    DescriptorHint, IdFormat, ProcessorInfo, Provenance, Region, RouteStep, hookimpl,
)

SOURCE = (Provenance(source="ZetaPay merchant guide", confidence=Confidence.OFFICIAL,
                     checked_on=date(2026, 11, 1)),)
INFO = ProcessorInfo(
    id="zetapay", name="ZetaPay", website="https://zetapay.example.com/",
    regions=(Region.EEA,),
    id_formats=(IdFormat(label="ZetaPay payment id", prefix="ZP", charset="alnum",
                         min_length=10, max_length=10, example="ZP4K7Q2M9X1B", provenance=SOURCE),),
    descriptors=(DescriptorHint(keyword="ZETAPAY", example="ZETAPAY*SHOP", provenance=SOURCE),),
    capabilities=Capabilities(self_service_lookup=True),
)
DIRECTORY = ContactDirectory(
    channels={"form": ContactChannel(kind=ChannelKind.WEB_FORM, value="https://zetapay.example.com/help",
                                     provenance=SOURCE)},
    routes=(ChannelRoute(steps=(RouteStep(channel="form", reason="ZetaPay answers its form within a day."),)),),
)


@hookimpl
def payhelp_register_processors(register):
    register(INFO, DIRECTORY)
'''


def uv(*args: str, cwd: Path | None = None) -> None:
    subprocess.run([sys.executable, "-m", "uv", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("zetapay")
    (project / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    package = project / "src" / "payhelp_zetapay"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(PLUGIN)
    uv("build", "--wheel", "--out-dir", str(project / "dist"), cwd=project)
    (wheel,) = (project / "dist").glob("payhelp_zetapay-2.3.0-*.whl")
    target = tmp_path_factory.mktemp("site-packages")
    uv("pip", "install", "--no-deps", "--target", str(target), str(wheel))
    return target


def payhelp(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "PAYHELP_LANGUAGE": "en"}
    return subprocess.run(
        [sys.executable, "-m", "payhelp", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_installed_plugin_is_listed(site: Path) -> None:
    done = payhelp(site, "processors", "--json")
    assert done.returncode == 0, done.stderr
    ids = {p["id"] for p in json.loads(done.stdout)}
    assert "zetapay" in ids
    assert "epoch" in ids  # the built-in ones are still there
    plugins = {p["name"]: p for p in json.loads(payhelp(site, "plugins", "--json").stdout)}
    assert plugins["zetapay"]["version"] == "2.3.0"
    assert plugins["zetapay"]["source"] == "entry point"
    assert plugins["zetapay"]["error"] is None


def test_installed_plugin_is_routed_to(site: Path) -> None:
    by_id = json.loads(
        payhelp(
            site, "route", "--transaction-id", "zp4k7q2m9x1b", "--country", "DE", "--json"
        ).stdout
    )
    assert by_id["processor"] == "zetapay"
    by_word = json.loads(
        payhelp(
            site, "route", "--descriptor", "ZETAPAY*SHOP 123", "--country", "IT", "--json"
        ).stdout
    )
    assert by_word["processor"] == "zetapay"


def test_installed_plugin_answers_contacts(site: Path) -> None:
    plan = json.loads(
        payhelp(site, "contacts", "--processor", "zetapay", "--country", "FR", "--json").stdout
    )
    assert plan["channels"][0]["value"] == "https://zetapay.example.com/help"


def test_disabling_it_by_environment(site: Path) -> None:
    env_done = subprocess.run(
        [sys.executable, "-m", "payhelp", "processors", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(site), "PAYHELP_DISABLE_PLUGINS": "zetapay"},
        check=False,
    )
    assert "zetapay" not in {p["id"] for p in json.loads(env_done.stdout)}
