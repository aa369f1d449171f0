"""``payhelp plugin new``: the generated package installs into a fresh virtual environment beside
payhelp, is discovered, and its conformance tests run and say what is left to fill in."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from payhelp.cli import cli
from payhelp.errors import InvalidInputError, PluginLoadError
from payhelp.plugins import get_plugin_manager
from payhelp.scaffold import new_plugin, render, values_for

ROOT = Path(__file__).resolve().parent.parent


def uv(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "uv", *args], cwd=cwd, check=True, capture_output=True, text=True
    )
    return done.stdout


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PAYHELP_", "VIRTUAL_ENV"))}


# -- generation ---------------------------------------------------------------------------------


def test_generates_a_complete_package(tmp_path: Path) -> None:
    target = new_plugin("acme_pay", tmp_path, name="Acme Pay")
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "pyproject.toml",
        "src/payhelp_acme_pay/__init__.py",
        "src/payhelp_acme_pay/api.py",
        "src/payhelp_acme_pay/data.py",
        "src/payhelp_acme_pay/i18n.py",
        "src/payhelp_acme_pay/locale/en/LC_MESSAGES/payhelp_acme_pay.po",
        "src/payhelp_acme_pay/locale/it/LC_MESSAGES/payhelp_acme_pay.po",
        "src/payhelp_acme_pay/plugin.py",
        "src/payhelp_acme_pay/py.typed",
        "src/payhelp_acme_pay/sandbox.py",
        "tests/test_acme_pay_conformance.py",
    ]
    pyproject = (target / "pyproject.toml").read_text()
    assert 'acme_pay = "payhelp_acme_pay.plugin"' in pyproject
    assert "[project.entry-points.payhelp]" in pyproject
    for path in target.rglob("*"):
        if path.is_file():
            assert "{{" not in path.read_text(), path  # every placeholder key was known
    assert (
        "class TestAcmePayConformance(ProcessorPluginConformance)"
        in (target / "tests/test_acme_pay_conformance.py").read_text()
    )
    italian = target / "src/payhelp_acme_pay/locale/it/LC_MESSAGES/payhelp_acme_pay.po"
    assert 'msgstr "Acme Pay risponde via email' in italian.read_text()


def test_without_an_api_there_is_no_api_or_sandbox_to_delete(tmp_path: Path) -> None:
    target = new_plugin("acmepay", tmp_path, api=False)
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*.py"))
    assert files == [
        "src/payhelp_acmepay/__init__.py",
        "src/payhelp_acmepay/data.py",
        "src/payhelp_acmepay/i18n.py",
        "src/payhelp_acmepay/plugin.py",
        "tests/test_acmepay_conformance.py",
    ]
    for path in target.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "{{" not in text, path  # every section was closed
            assert "api.py" not in text, path
            assert "sandbox.py" not in text, path
            if path.suffix == ".py":
                compile(text, str(path), "exec")
    assert "has no public merchant API" in (target / "src/payhelp_acmepay/plugin.py").read_text()
    assert "expected_lookups" not in (target / "tests/test_acmepay_conformance.py").read_text()
    with_api = new_plugin("zetapay", tmp_path)
    written = (with_api / "src/payhelp_zetapay/plugin.py").read_text()
    assert "api=ZetapayApi," in written
    assert 'sandbox=on_first_use("payhelp_zetapay.sandbox", "ZetapaySandbox")' in written


def _fill_in(data: Path) -> None:
    """Replace every placeholder the scaffold writes in ``data.py`` by a plausible fact."""
    text = data.read_text()
    text = text.replace("https://acmepay.invalid/", "https://acmepay.example.com/")
    text = text.replace("support@acmepay.invalid", "support@acmepay.example.com")
    text = text.replace("TODO: the page or document this fact comes from", "Acme help centre")
    text = re.sub(r"    notes=\(\n.*?\n    \),\n", "", text, flags=re.DOTALL)
    data.write_text(text)


@pytest.mark.parametrize("api", [True, False])
def test_registration_lists_the_placeholders_until_they_are_filled_in(
    api: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = new_plugin("acmepay", tmp_path, api=api)
    monkeypatch.syspath_prepend(str(target / "src"))
    modules = ("payhelp_acmepay", "payhelp_acmepay.data", "payhelp_acmepay.plugin")
    try:
        plugin = importlib.import_module("payhelp_acmepay.plugin")
        with pytest.raises(PluginLoadError) as caught:
            get_plugin_manager(load_entry_points=False, extra=[("acmepay", plugin)], strict=True)
        assert str(caught.value).splitlines()[1:] == [
            "  - INFO.website = 'https://acmepay.invalid/'",
            "  - INFO.notes[0] = 'TODO: check the regions above at a source; then replace this "
            "note with what you…'",
            "  - DIRECTORY.channels.email.value = 'support@acmepay.invalid'",
            "  - DIRECTORY.channels.email.provenance[0].source = 'TODO: the page or document "
            "this fact comes from'",
        ]
        _fill_in(target / "src/payhelp_acmepay/data.py")
        for name in modules:
            sys.modules.pop(name, None)
        plugin = importlib.import_module("payhelp_acmepay.plugin")
        host = get_plugin_manager(load_entry_points=False, extra=[("acmepay", plugin)], strict=True)
        assert host.processors()["acmepay"].info.website.host == "acmepay.example.com"
    finally:
        for name in modules:
            sys.modules.pop(name, None)


def test_generated_code_compiles_and_the_adapter_fails_loudly(tmp_path: Path) -> None:
    target = new_plugin("zetapay", tmp_path)
    for path in (target / "src").rglob("*.py"):
        compile(path.read_text(), str(path), "exec")
    api = (target / "src/payhelp_zetapay/api.py").read_text()
    assert api.count("raise NotImplementedError") == 2  # lookup and submit


@pytest.mark.parametrize("name", ["Acme", "1pay", "a", "acme-pay", "x" * 41, "acme pay"])
def test_a_name_that_is_no_processor_id_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="must be a processor id"):
        new_plugin(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_package_is_never_overwritten(tmp_path: Path) -> None:
    target = new_plugin("acmepay", tmp_path)
    data = target / "src/payhelp_acmepay/data.py"
    data.write_text("# my work")
    with pytest.raises(InvalidInputError, match="already exists and is not empty"):
        new_plugin("acmepay", tmp_path)
    assert data.read_text() == "# my work"


def test_render_refuses_an_unknown_key() -> None:
    with pytest.raises(KeyError):
        render("{{nope}}", values_for("acmepay"))
    assert values_for("acme_pay")["Class"] == "AcmePay"
    with pytest.raises(InvalidInputError, match="one line of text"):
        values_for("acmepay", 'Acme "Pay"')


def test_cli_creates_the_package_and_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["plugin", "new", "acmepay", "--output", str(tmp_path)])
    assert made.exit_code == 0, made.output
    assert f"created {tmp_path / 'payhelp-acmepay'}" in made.output
    again = subprocess.run(
        [sys.executable, "-m", "payhelp", "plugin", "new", "acmepay", "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1
    assert "already exists" in again.stderr
    assert "Traceback" not in again.stderr


# -- installed in a fresh virtual environment ------------------------------------------------------


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A new virtual environment with payhelp (from this checkout, its dependencies at the
    locked versions), pytest, and a plugin just generated by the real command."""
    work = tmp_path_factory.mktemp("scaffold")
    subprocess.run(
        [sys.executable, "-m", "payhelp", "plugin", "new", "acmepay", "--output", str(work)],
        check=True,
        capture_output=True,
    )
    package = work / "payhelp-acmepay"
    constraints = work / "constraints.txt"
    uv(
        "export", "--frozen", "--no-hashes", "--no-emit-workspace", "--no-emit-project",
        "--quiet", "-o", str(constraints), cwd=ROOT,
    )  # fmt: skip
    venv = work / "venv"
    uv("venv", "--quiet", str(venv))
    python = venv / "bin" / "python"
    uv(
        "pip", "install", "--quiet", "--python", str(python), "-c", str(constraints),
        str(ROOT), f"{package}[test]",
    )  # fmt: skip
    return venv, package


def run(venv: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_env(),
        check=False,
    )


PLACEHOLDERS = (
    "INFO.website = 'https://acmepay.invalid/'",
    "INFO.notes[0] = 'TODO: check the regions",
    "DIRECTORY.channels.email.value = 'support@acmepay.invalid'",
    "DIRECTORY.channels.email.provenance[0].source = 'TODO: the page",
)


@pytest.mark.slow
def test_as_generated_it_is_found_and_its_placeholders_listed(fresh: tuple[Path, Path]) -> None:
    venv, _ = fresh
    done = run(venv, "payhelp", "processors", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []  # never offered to a customer with placeholders
    listed = run(venv, "payhelp", "plugins", "--json")
    (record,) = [r for r in json.loads(listed.stdout) if r["name"] == "acmepay"]
    assert record["error"].startswith("failed to register: processor 'acmepay' still holds")
    for placeholder in PLACEHOLDERS:
        assert f"  - {placeholder}" in record["error"]


@pytest.mark.slow
def test_the_field_reference_comes_with_the_installed_payhelp(fresh: tuple[Path, Path]) -> None:
    venv, _ = fresh
    done = run(venv, "python", "-m", "payhelp.docs", "fields")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "docs" / "fields.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_its_conformance_tests_run_and_name_the_placeholders(fresh: tuple[Path, Path]) -> None:
    venv, package = fresh
    done = run(venv, "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package)
    out = done.stdout
    assert done.returncode == 1, out
    # One failure says what to fill in, once; every other check is skipped, pointing at it.
    summary = re.search(r"(\d+) failed, \d+ passed, (\d+) skipped", out)
    assert summary is not None, out
    assert summary.group(1) == "1"
    assert int(summary.group(2)) >= 10
    assert (
        "FAILED tests/test_acmepay_conformance.py::TestAcmepayConformance::test_registers_cleanly"
        in out
    )
    # Counted in the failure report: the short summary repeats the whole message where pytest
    # knows it runs on CI (the CI variable set), and only its first line elsewhere.
    report = out.partition("short test summary info")[0]
    for placeholder in PLACEHOLDERS:
        assert report.count(placeholder) == 1, placeholder


@pytest.mark.slow
def test_filled_in_it_passes(fresh: tuple[Path, Path]) -> None:
    venv, package = fresh
    _fill_in(package / "src" / "payhelp_acmepay" / "data.py")
    # Installed as a wheel, not editable: install the change.
    uv("pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "--no-deps",
       "--reinstall-package", "payhelp-acmepay", str(package))  # fmt: skip
    done = run(venv, "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package)
    assert done.returncode == 0, done.stdout
    listed = run(venv, "payhelp", "processors", "--json")
    assert [p["id"] for p in json.loads(listed.stdout)] == ["acmepay"]  # nothing else installed
    plan = run(venv, "payhelp", "contacts", "--processor", "acmepay", "--country", "IT", "--json")
    assert json.loads(plan.stdout)["channels"][0]["kind"] == "email"
    italian = run(
        venv, "payhelp", "contacts", "--processor", "acmepay", "--country", "IT",
        "--language", "it", "--json",
    )  # fmt: skip
    assert "risponde via email" in json.loads(italian.stdout)["channels"][0]["reason"]
