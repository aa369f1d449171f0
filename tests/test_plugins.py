"""Plugin loading: entry points, isolation of broken plugins, strict mode, selection."""

from __future__ import annotations

import warnings

import pytest

from payhelp import Payhelp, PluginLoadError, PluginLoadWarning
from payhelp.plugins import get_plugin_manager

from .conftest import SyntheticPlugin, make_info

GOOD = """
from payhelp import hookimpl
from tests_support_acme import INFO, DIRECTORY

@hookimpl
def payhelp_register_processors(register):
    register(INFO, DIRECTORY)
"""

SUPPORT = """
from datetime import date
from payhelp import *
P = (Provenance(source="acme docs", confidence="official", checked_on=date(2026, 1, 1)),)
INFO = ProcessorInfo.model_validate({
    "id": "acmepay", "name": "AcmePay", "website": "https://acmepay.example.com/",
    "regions": ["eea"], "descriptors": [{"keyword": "ACMEPAY", "example": "ACMEPAY*SHOP", "provenance": P}],
    "capabilities": {"self_service_lookup": True},
}, strict=False)
DIRECTORY = ContactDirectory.model_validate({
    "channels": {"email": {"kind": "email", "value": "help@acmepay.example.com", "provenance": P}},
    "routes": [{"steps": [{"channel": "email", "reason": "write to AcmePay"}]}],
}, strict=False)
"""


def test_entry_point_plugin_is_discovered_listed_and_routed_to(install_distribution) -> None:
    install_distribution(
        "payhelp-acmepay",
        {"acmepay": "tests_acme_plugin"},
        {"tests_acme_plugin": GOOD, "tests_support_acme": SUPPORT},
    )
    ph = Payhelp(load_plugins=["acmepay"])
    assert [p.id for p in ph.processors()] == ["acmepay"]
    record = next(r for r in ph.plugins() if r.name == "acmepay")
    assert record.version == "1.0"
    assert record.hooks == ("payhelp_register_processors",)
    assert record.error is None
    assert ph.route(descriptor="ACMEPAY*SHOP", country="DE").processor == "acmepay"


def test_plugin_raising_on_import_is_isolated_and_reported(install_distribution) -> None:
    install_distribution(
        "payhelp-broken",
        {"broken": "tests_broken_plugin", "acmepay": "tests_acme_plugin"},
        {
            "tests_broken_plugin": "raise RuntimeError('database unreachable at import')",
            "tests_acme_plugin": GOOD,
            "tests_support_acme": SUPPORT,
        },
    )
    with pytest.warns(PluginLoadWarning, match=r"'broken' not loaded.*database unreachable"):
        ph = Payhelp(load_plugins=["broken", "acmepay"])
    broken = next(r for r in ph.plugins() if r.name == "broken")
    assert broken.error is not None
    assert "RuntimeError: database unreachable at import" in broken.error
    assert [p.id for p in ph.processors()] == ["acmepay"]  # the others keep working


def test_strict_mode_raises_naming_the_plugin(install_distribution) -> None:
    install_distribution(
        "payhelp-broken", {"broken": "tests_broken_plugin2"}, {"tests_broken_plugin2": "1/0"}
    )
    with pytest.raises(PluginLoadError, match=r"plugin 'broken'.*ZeroDivisionError"):
        Payhelp(load_plugins=["broken"], strict_plugins=True)


def test_plugin_failing_in_register_is_unregistered(install_distribution) -> None:
    source = """
from payhelp import hookimpl

@hookimpl
def payhelp_register_processors(register):
    raise KeyError("half-written data")
"""
    install_distribution("payhelp-halfway", {"halfway": "tests_halfway"}, {"tests_halfway": source})
    with pytest.warns(PluginLoadWarning, match="failed to register: KeyError"):
        ph = Payhelp(load_plugins=["halfway"])
    assert ph.processors() == []
    assert not ph.host.pm.is_registered(ph.host.pm.get_plugin("halfway"))


def test_entry_point_name_must_equal_processor_id(install_distribution) -> None:
    install_distribution(
        "payhelp-misnamed",
        {"misnamed": "tests_acme_plugin"},
        {"tests_acme_plugin": GOOD, "tests_support_acme": SUPPORT},
    )
    with pytest.warns(PluginLoadWarning, match="entry-point name must equal the id"):
        ph = Payhelp(load_plugins=["misnamed"])
    assert ph.processors() == []


def test_misspelled_hook_is_reported(install_distribution) -> None:
    source = """
from payhelp import hookimpl

@hookimpl
def payhelp_register_processor(register):
    pass
"""
    install_distribution("payhelp-typo", {"typo": "tests_typo"}, {"tests_typo": source})
    with pytest.warns(PluginLoadWarning, match="unknown hooks: payhelp_register_processor"):
        Payhelp(load_plugins=["typo"])


def test_duplicate_processor_id_keeps_the_first() -> None:
    first = SyntheticPlugin(make_info("dup"))
    second = SyntheticPlugin(make_info("dup"))
    with pytest.warns(PluginLoadWarning, match="already registered by 'one'"):
        host = get_plugin_manager(load_entry_points=False, extra=[("one", first), ("two", second)])
    assert host.processors()["dup"].plugin == "one"


def test_disable_and_load_lists_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYHELP_DISABLE_PLUGINS", "epoch, segpay")
    ph = Payhelp()
    ids = {p.id for p in ph.processors()}
    assert "epoch" not in ids
    assert "segpay" not in ids
    assert "paymentico" in ids
    monkeypatch.delenv("PAYHELP_DISABLE_PLUGINS")
    monkeypatch.setenv("PAYHELP_LOAD_PLUGINS", "paymentico")
    assert [p.id for p in Payhelp().processors()] == ["paymentico"]


def test_requested_plugin_that_is_not_installed_is_reported() -> None:
    with pytest.warns(PluginLoadWarning, match="'nosuch' not loaded: requested in load_plugins"):
        Payhelp(load_plugins=["nosuch"])


def test_the_six_builtin_processors_load_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ph = Payhelp()
    assert {p.id for p in ph.processors()} == {
        "paymentico",
        "epoch",
        "segpay",
        "centrobill",
        "webbilling",
        "wtseticket",
    }
    assert all(r.error is None for r in ph.plugins())


def test_each_factory_call_builds_an_independent_manager() -> None:
    a = get_plugin_manager(
        load_entry_points=False, extra=[("x", SyntheticPlugin(make_info("xpay")))]
    )
    b = get_plugin_manager(load_entry_points=False)
    assert "xpay" in a.processors()
    assert "xpay" not in b.processors()


def test_a_plugin_taking_a_used_name_does_not_overwrite_the_record() -> None:
    with pytest.warns(PluginLoadWarning, match="'epoch' not loaded: the name is taken"):
        ph = Payhelp(
            load_plugins=["epoch"], plugins=[("epoch", SyntheticPlugin(make_info("other")))]
        )
    record = next(r for r in ph.plugins() if r.name == "epoch")
    assert record.error is None
    assert record.processors == ("epoch",)


def test_overrides_for_a_plugin_that_failed_to_load_do_not_take_payhelp_down(
    install_distribution, tmp_path
) -> None:
    install_distribution("payhelp-broken", {"broken": "tests_broken3"}, {"tests_broken3": "1/0"})
    config = tmp_path / "c.toml"
    config.write_text('[processors.broken]\nremove_channels = ["email"]\n')
    with pytest.warns(PluginLoadWarning, match="'broken' not loaded"):
        ph = Payhelp(config=config, load_plugins=["broken", "epoch"])
    assert [p.id for p in ph.processors()] == ["epoch"]
