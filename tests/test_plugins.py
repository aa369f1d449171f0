"""Plugin loading: entry points, isolation of broken plugins, strict mode, selection."""

from __future__ import annotations

import importlib.metadata
import sys
import warnings
from collections.abc import Iterator

import pytest
from payhelp_segpay.data import DIRECTORY as SEGPAY_DIRECTORY

from payhelp import Payhelp, PluginLoadError, PluginLoadWarning
from payhelp.errors import ConfigurationError, PluginConflictError
from payhelp.plugins import ENTRY_POINT_GROUP, get_plugin_manager

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


# -- who provides a processor id ------------------------------------------------------------------

# A third-party package claiming SegPay's id, with its own address for customers' letters.
EVIL_SEGPAY = """
from datetime import date
from payhelp import ContactDirectory, Provenance, hookimpl
from payhelp_segpay.data import INFO

P = (Provenance(source="trust me", confidence="official", checked_on=date(2026, 1, 1)),)
DIRECTORY = ContactDirectory.model_validate({
    "channels": {"email": {"kind": "email", "value": "refunds@evil.example.com", "provenance": P}},
    "routes": [{"steps": [{"channel": "email", "reason": "write to us"}]}],
}, strict=False)

@hookimpl
def payhelp_register_processors(register):
    register(INFO, DIRECTORY)
"""


def _emails(host, pid: str) -> set[str]:
    directory = host.processors()[pid].directory
    return {c.value for c in directory.channels.values() if c.kind == "email"}


def _installed(group_filter=None) -> list[importlib.metadata.EntryPoint]:
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return [ep for ep in found if group_filter is None or group_filter(ep)]


def test_a_third_party_segpay_never_replaces_the_builtin(install_distribution) -> None:
    install_distribution(
        "evil-segpay", {"segpay": "tests_evil_segpay"}, {"tests_evil_segpay": EVIL_SEGPAY}
    )
    with pytest.warns(
        PluginLoadWarning,
        match=r"'segpay' from 'evil-segpay' not loaded: processor id 'segpay' is claimed by "
        r"'payhelp-segpay' \(built-in\) and 'evil-segpay'; the built-in one is kept",
    ):
        ph = Payhelp(load_plugins=["segpay"])
    assert ph.directory("segpay") == SEGPAY_DIRECTORY
    assert "refunds@evil.example.com" not in {c.value for c in ph.contacts("segpay", "IT").channels}
    assert "tests_evil_segpay" not in sys.modules  # its code never ran
    records = [r for r in ph.plugins() if r.name == "segpay"]
    assert [(r.distribution, r.error is None) for r in records] == [
        ("evil-segpay", False),
        ("payhelp-segpay", True),
    ]
    assert "payhelp-segpay" in (records[0].error or "")
    assert 'plugin_distributions segpay = "evil-segpay"' in (records[0].error or "")
    assert [f.plugin for f in ph.host.failures()] == ["segpay"]


@pytest.mark.parametrize("order", ["as listed", "reversed"])
def test_the_order_entry_points_come_in_does_not_matter(install_distribution, order) -> None:
    install_distribution(
        "evil-segpay", {"segpay": "tests_evil_segpay"}, {"tests_evil_segpay": EVIL_SEGPAY}
    )
    found = _installed(lambda ep: ep.name == "segpay")
    assert len(found) == 2
    if order == "reversed":
        found.reverse()
    host = get_plugin_manager(load_entry_points=False)
    with pytest.warns(PluginLoadWarning, match="the built-in one is kept"):
        host.load_entry_points(entry_points=found)
    assert host.processors()["segpay"].plugin == "segpay"
    assert _emails(host, "segpay") == {
        c.value for c in SEGPAY_DIRECTORY.channels.values() if c.kind == "email"
    }
    loaded = [r for r in host.records() if r.name == "segpay" and r.error is None]
    assert [r.distribution for r in loaded] == ["payhelp-segpay"]


def test_strict_mode_raises_a_conflict_error(install_distribution) -> None:
    install_distribution(
        "evil-segpay", {"segpay": "tests_evil_segpay"}, {"tests_evil_segpay": EVIL_SEGPAY}
    )
    with pytest.raises(
        PluginConflictError, match=r"'payhelp-segpay' \(built-in\) and 'evil-segpay'"
    ):
        get_plugin_manager(only=["segpay"], strict=True)


@pytest.mark.parametrize("order", ["as listed", "reversed"])
def test_two_third_party_claims_leave_the_id_to_neither(install_distribution, order) -> None:
    install_distribution(
        "alpha-acme", {"acmepay": "tests_acme_plugin"},
        {"tests_acme_plugin": GOOD, "tests_support_acme": SUPPORT},
    )  # fmt: skip
    install_distribution("beta-acme", {"acmepay": "tests_acme_plugin"}, {})
    found = _installed(lambda ep: ep.name == "acmepay")
    if order == "reversed":
        found.reverse()
    host = get_plugin_manager(load_entry_points=False)
    with pytest.warns(PluginLoadWarning, match="none of them is loaded") as caught:
        host.load_entry_points(entry_points=found)
    assert len(caught) == 2  # one for each distribution
    assert "acmepay" not in host.processors()
    records = [r for r in host.records() if r.name == "acmepay"]
    assert [r.distribution for r in records] == ["alpha-acme", "beta-acme"]
    for record in records:
        assert "'alpha-acme', 'beta-acme'" in (record.error or "")
    strict = get_plugin_manager(load_entry_points=False, strict=True)
    with pytest.raises(PluginConflictError, match="claimed by 'alpha-acme', 'beta-acme'"):
        strict.load_entry_points(entry_points=found)


def test_the_configuration_names_the_distribution_to_trust(install_distribution) -> None:
    install_distribution(
        "evil-segpay", {"segpay": "tests_evil_segpay"}, {"tests_evil_segpay": EVIL_SEGPAY}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the platform asked for it: nothing to warn about
        host = get_plugin_manager(only=["segpay"], distributions={"segpay": "Evil_Segpay"})
    assert _emails(host, "segpay") == {"refunds@evil.example.com"}
    builtin = next(r for r in host.records() if r.distribution == "payhelp-segpay")
    assert builtin.error is None
    assert builtin.processors == ()
    assert builtin.notes == (
        "not loaded: the configuration (plugin_distributions) gives processor id 'segpay' to "
        "'evil-segpay'",
    )
    assert host.failures() == []


def test_a_configured_distribution_that_is_not_installed_loads_nothing_for_the_id() -> None:
    with pytest.warns(PluginLoadWarning, match="gives processor id 'segpay' to 'nosuch-segpay'"):
        host = get_plugin_manager(
            only=["segpay", "epoch"], distributions={"segpay": "nosuch-segpay"}
        )
    assert sorted(host.processors()) == ["epoch"]
    assert [f.plugin for f in host.failures()] == ["segpay"]


def test_a_builtin_id_is_reserved_even_when_the_builtin_is_not_installed(
    install_distribution,
) -> None:
    install_distribution(
        "evil-segpay", {"segpay": "tests_evil_segpay"}, {"tests_evil_segpay": EVIL_SEGPAY}
    )
    alone = _installed(lambda ep: ep.name == "segpay" and ep.dist.name == "evil-segpay")
    host = get_plugin_manager(load_entry_points=False)
    with pytest.warns(PluginLoadWarning, match="belongs to payhelp's built-in 'payhelp-segpay'"):
        host.load_entry_points(entry_points=alone)
    assert "segpay" not in host.processors()
    assert "tests_evil_segpay" not in sys.modules


def test_records_name_the_distribution_and_the_time_spent() -> None:
    host = get_plugin_manager(only=["epoch"])
    epoch = next(r for r in host.records() if r.name == "epoch")
    assert epoch.distribution == "payhelp-epoch"
    assert epoch.seconds is not None
    assert epoch.seconds >= 0
    assert next(r for r in host.records() if r.name == "payhelp.builtin").distribution == "payhelp"


@pytest.mark.parametrize("how", ["environment", "settings"])
def test_the_platform_names_a_distribution_in_its_configuration(
    monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    settings: dict[str, object] = {"load_plugins": ["segpay", "epoch"]}
    if how == "environment":
        monkeypatch.setenv("PAYHELP_PLUGIN_DISTRIBUTIONS", "segpay=nosuch-segpay")
    else:
        settings["plugin_distributions"] = {"segpay": "nosuch-segpay"}
    with pytest.warns(PluginLoadWarning, match="gives processor id 'segpay' to 'nosuch-segpay'"):
        ph = Payhelp(**settings)
    assert [p.id for p in ph.processors()] == ["epoch"]
    monkeypatch.setenv("PAYHELP_PLUGIN_DISTRIBUTIONS", "segpay")
    with pytest.raises(ConfigurationError, match="processor=distribution"):
        Payhelp()


def _texts(value: object, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _texts(item, str(name))
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item, key)
    elif isinstance(value, str):
        yield key, value


def test_no_builtin_text_speaks_the_projects_own_words() -> None:
    """What a support agent reads (notes, reasons, route hints, sources) never says 'the seed';
    only the confidence level keeps its enum value ``seed``."""
    host = get_plugin_manager()
    found = []
    for processor_id, record in host.processors().items():
        for model in (record.info, record.directory):
            for key, text in _texts(model.model_dump(mode="json")):
                if key != "confidence" and "seed" in text.lower():
                    found.append(f"{processor_id}.{key}: {text}")
    assert found == []
