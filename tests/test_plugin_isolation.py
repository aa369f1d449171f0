"""A failing, lying or slow plugin hook is isolated to its plugin, named, and reported.

Hooks about one processor are asked of that processor's plugin (and the platform's own hook
plugins, and payhelp's defaults) only, each implementation on its own; registration runs within a
time limit; every failure lands in the plugin's record, which ``PluginHost.check`` fills in.
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Callable
from types import MappingProxyType

import pytest

from payhelp import ContactPlan, Payhelp, Region, hookimpl
from payhelp.errors import ConfigurationError, PluginError, PluginLoadError, PluginLoadWarning
from payhelp.plugins import BUILTIN_PROCESSORS, get_plugin_manager
from payhelp.policies.refunds import Missing, RefundOutcome, RefundRule
from payhelp.sandbox import sandbox_base_url

from .conftest import SyntheticPlugin, make_directory, make_info

SIX = sorted(BUILTIN_PROCESSORS)

# An installed plugin whose every hook about processors is broken, and which notes each time it
# is asked (a hook that sleeps would delay whoever asks it: it must be asked only about badpay).
BADPAY = """
from datetime import date
from payhelp import ContactDirectory, ProcessorInfo, Provenance, hookimpl

ASKED = []
P = (Provenance(source="badpay docs", confidence="official", checked_on=date(2026, 1, 1)),)
INFO = ProcessorInfo.model_validate({
    "id": "badpay", "name": "BadPay", "website": "https://badpay.example.com/",
    "regions": ["eea"], "capabilities": {"email_submission": True},
}, strict=False)
DIRECTORY = ContactDirectory.model_validate({
    "channels": {"email": {"kind": "email", "value": "help@badpay.example.com", "provenance": P}},
    "routes": [{"steps": [{"channel": "email", "reason": "write to BadPay"}]}],
}, strict=False)

@hookimpl
def payhelp_register_processors(register):
    register(INFO, DIRECTORY)

@hookimpl
def payhelp_contact_plan(processor, directory, country, language):
    ASKED.append(("payhelp_contact_plan", processor.id))
    raise RuntimeError("plan service down")

@hookimpl
def payhelp_sandbox(processor):
    ASKED.append(("payhelp_sandbox", processor.id))
    return "a sandbox, honestly"

@hookimpl
def payhelp_adapter(processor, settings):
    ASKED.append(("payhelp_adapter", processor.id))
    raise ValueError("adapter not configured")

@hookimpl
def payhelp_refund_rules(processor):
    ASKED.append(("payhelp_refund_rules", processor.id))
    return 42
"""

# An installed plugin that registers no processor and answers contact plans for everyone.
HIJACK = """
from payhelp import ContactPlan, Region, hookimpl

@hookimpl
def payhelp_contact_plan(processor, directory, country, language):
    return ContactPlan(
        processor=processor.id, processor_name=processor.name, country=country,
        region=Region.EEA, language=language, channels=(),
        warnings=("Send your card number to refunds@evil.example.com",), include=(),
    )
"""

FACTS = {"product": "tip", "purchased_at": "2026-11-20T10:00Z", "now": "2026-11-20T11:00Z"}


@pytest.fixture
def badpay(install_distribution) -> Callable[[], Payhelp]:
    install_distribution("payhelp-badpay", {"badpay": "tests_badpay"}, {"tests_badpay": BADPAY})

    def build() -> Payhelp:
        return Payhelp(load_plugins=[*SIX, "badpay"])

    return build


def _asked() -> list[tuple[str, str]]:
    return list(sys.modules["tests_badpay"].ASKED)


def test_a_broken_plugin_leaves_the_six_builtins_working(badpay) -> None:
    ph = badpay()
    for pid in SIX:
        info = ph.processor(pid)
        assert ph.contacts(pid, "IT").processor == pid
        assert ph.refund_check(FACTS, processor=pid).decision
        sandbox = ph.host.sandbox(info)
        settings = MappingProxyType({"sandbox": True, "base_url": sandbox_base_url(pid)})
        adapter = ph.host.adapter(info, settings)
        assert (sandbox is None) == (adapter is None)
        if adapter is not None:
            adapter.close()
    # Its hooks were never even asked about a processor that is not its own, so a hook that
    # sleeps delays the commands about its own processor only.
    assert _asked() == []
    assert all(r.hook_errors == () for r in ph.plugins())


def test_the_failing_hook_is_named_after_its_plugin_and_recorded(badpay) -> None:
    ph = badpay()
    with pytest.raises(PluginError) as caught:
        ph.contacts("badpay", "IT")
    assert caught.value.plugin == "badpay"
    assert caught.value.processor == "badpay"
    assert str(caught.value).startswith(
        "plugin 'badpay': payhelp_contact_plan for processor 'badpay' raised RuntimeError: "
        "plan service down (at tests_badpay.py:"
    )
    assert isinstance(caught.value.__cause__, RuntimeError)
    with pytest.raises(
        PluginError, match=r"plugin 'badpay': .*must return a sequence of RefundRule"
    ):
        ph.refund_check(FACTS, processor="badpay")
    with pytest.raises(
        PluginError, match=r"plugin 'badpay': payhelp_sandbox .* must return a Sandbox"
    ):
        ph.lookup("badpay", transaction_id="1", sandbox=True)
    with pytest.raises(PluginError, match=r"plugin 'badpay': payhelp_adapter .*ValueError"):
        ph.lookup("badpay", transaction_id="1")
    record = next(r for r in ph.plugins() if r.name == "badpay")
    assert record.error is None  # it loaded; its hooks are what fails
    assert [e.split(" for ")[0] for e in record.hook_errors] == [
        "payhelp_contact_plan",
        "payhelp_refund_rules",
        "payhelp_sandbox",
        "payhelp_adapter",
    ]
    assert all(r.hook_errors == () for r in ph.plugins() if r.name != "badpay")


def test_check_fills_in_every_record_without_raising(badpay) -> None:
    ph = badpay()
    records = {r.name: r for r in ph.host.check()}
    failing = {error.split(" for ")[0] for error in records["badpay"].hook_errors}
    assert failing == {
        "payhelp_adapter",
        "payhelp_contact_plan",
        "payhelp_refund_rules",
        "payhelp_sandbox",
    }
    # The same failure for ten countries and languages is kept once.
    assert len(records["badpay"].hook_errors) == 4
    assert all(records[pid].hook_errors == () for pid in SIX)
    assert {pid for _, pid in _asked()} == {"badpay"}


def test_an_installed_plugin_cannot_answer_for_a_processor_it_did_not_register(
    install_distribution,
) -> None:
    install_distribution("payhelp-hijack", {"hijack": "tests_hijack"}, {"tests_hijack": HIJACK})
    with pytest.warns(PluginLoadWarning, match="'hijack' loaded but registered no processor"):
        ph = Payhelp(load_plugins=["segpay", "hijack"])
    plan = ph.contacts("segpay", "IT")
    assert plan.channels
    assert not any("evil" in str(w) for w in plan.warnings)
    record = next(r for r in ph.plugins() if r.name == "hijack")
    assert record.processors == ()
    assert record.error is None  # it loaded: what is wrong is a problem, not a load error
    assert "never asked" in record.notes[0]
    assert record.problems == (
        "registered no processor: it does not implement payhelp_register_processors, so "
        "processor 'hijack' (its entry-point name) is not provided; call register(INFO, "
        "DIRECTORY) from payhelp_register_processors",
    )


class Liar:
    """A platform's hook plugin that answers AcmePay's plan with the wrong type."""

    @hookimpl
    def payhelp_contact_plan(self, processor, directory, country, language) -> object:
        return "call us" if processor.id == "acmepay" else None


def test_a_wrong_type_is_named_after_the_plugin_that_returned_it() -> None:
    ph = Payhelp(
        load_entry_points=False,
        plugins=[
            ("acmepay", SyntheticPlugin(make_info("acmepay"))),
            ("otherpay", SyntheticPlugin(make_info("otherpay"))),
            ("liar", Liar()),
        ],
    )
    with pytest.raises(PluginError, match="returned str, expected ContactPlan") as caught:
        ph.contacts("acmepay", "IT")
    assert caught.value.plugin == "liar"
    assert ph.contacts("otherpay", "IT").channels  # the liar gave None: the default plan
    liar = next(r for r in ph.plugins() if r.name == "liar")
    assert liar.hook_errors == (
        "payhelp_contact_plan for processor 'acmepay' returned str, expected ContactPlan",
    )


class ForeignPlan:
    """A platform's hook plugin whose plan is for another processor."""

    @hookimpl
    def payhelp_contact_plan(self, processor, directory, country, language) -> ContactPlan:
        return ContactPlan(
            processor="someone_else",
            processor_name="Someone",
            country=country,
            region=Region.EEA,
            language=language,
            channels=(),
            warnings=(),
            include=(),
        )


def test_a_plan_for_another_processor_is_refused() -> None:
    ph = Payhelp(
        load_entry_points=False,
        plugins=[("acmepay", SyntheticPlugin(make_info("acmepay"))), ("foreign", ForeignPlan())],
    )
    with pytest.raises(PluginError, match=r"plugin 'foreign'.*a plan for 'someone_else'"):
        ph.contacts("acmepay", "IT")


class OwnRules(SyntheticPlugin):
    """A processor plugin whose refund rules break for one product."""

    @hookimpl
    def payhelp_refund_rules(self, processor) -> list[RefundRule]:
        if processor.id != self.info.id:
            return []
        return [
            RefundRule(
                id=f"{self.info.id}.receipt",
                when=Missing(fact="receipt"),
                outcome=RefundOutcome.NEEDS_INFO,
                message="A receipt, please.",
            ),
            "and this",  # type: ignore[list-item]
        ]


def test_refund_rules_that_cannot_be_had_fail_the_check_instead_of_being_left_out() -> None:
    ph = Payhelp(
        load_entry_points=False,
        plugins=[
            ("rulepay", OwnRules(make_info("rulepay"))),
            ("otherpay", SyntheticPlugin(make_info("otherpay"))),
        ],
    )
    # Leaving the processor's rules out could make the refund look eligible: fail closed.
    with pytest.raises(PluginError, match=r"plugin 'rulepay'.*returned str in its rules") as caught:
        ph.refund_check(FACTS, processor="rulepay")
    assert caught.value.processor == "rulepay"
    assert ph.refund_check(FACTS, processor="otherpay").decision


class Typed(SyntheticPlugin):
    """A processor plugin refusing its settings with payhelp's own error."""

    @hookimpl
    def payhelp_adapter(self, processor, settings) -> None:
        if processor.id == self.info.id:
            raise ConfigurationError("typedpay needs an api_key")


def test_a_payhelp_error_from_a_hook_reaches_the_caller_as_it_is() -> None:
    ph = Payhelp(load_entry_points=False, plugins=[("typedpay", Typed(make_info("typedpay")))])
    with pytest.raises(ConfigurationError, match="typedpay needs an api_key"):
        ph.adapter("typedpay")
    assert all(r.hook_errors == () for r in ph.plugins())  # the plugin did its job


class Stuck:
    """Registration that blocks until released (at most two seconds)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.finished = threading.Event()
        self.late: list[BaseException] = []

    @hookimpl
    def payhelp_register_processors(self, register) -> None:
        try:
            self.release.wait(2)
            register(make_info("stuckpay"), make_directory("stuckpay"))
        except BaseException as exc:
            self.late.append(exc)
            raise
        finally:
            self.finished.set()


def test_registration_that_hangs_is_given_up_on_and_reported() -> None:
    stuck = Stuck()
    try:
        with pytest.warns(
            PluginLoadWarning,
            match=r"'stuck' not loaded: registration did not finish within 0.05 s",
        ):
            host = get_plugin_manager(
                load_entry_points=False,
                extra=[("stuck", stuck), ("finepay", SyntheticPlugin(make_info("finepay")))],
                registration_timeout=0.05,
            )
        assert sorted(host.processors()) == ["finepay"]
        record = next(r for r in host.records() if r.name == "stuck")
        assert "cannot stop a thread" in (record.error or "")
        # Its thread may still run: the plugin is not started again in this process.
        with pytest.warns(PluginLoadWarning, match="not tried again until the process restarts"):
            get_plugin_manager(load_entry_points=False, extra=[("stuck", stuck)])
        with pytest.raises(PluginLoadError, match="registration did not finish"):
            get_plugin_manager(
                load_entry_points=False,
                extra=[("stuck", Stuck())],
                strict=True,
                registration_timeout=0.01,
            )
    finally:
        stuck.release.set()
    assert stuck.finished.wait(5)
    # What it registers once released is refused and never reaches the host.
    assert [str(e) for e in stuck.late] == [
        "plugin 'stuck': register() called after its registration ended"
    ]
    assert "stuckpay" not in host.processors()


def test_slow_registration_is_reported_and_the_plugin_kept() -> None:
    with pytest.warns(PluginLoadWarning, match=r"plugin 'slowpay' is slow: registration took"):
        host = get_plugin_manager(
            load_entry_points=False,
            extra=[("slowpay", SyntheticPlugin(make_info("slowpay")))],
            slow_registration=0.0,
        )
    assert "slowpay" in host.processors()
    record = next(r for r in host.records() if r.name == "slowpay")
    assert record.error is None
    assert record.notes[0].startswith("registration took")


class BrokenTable:
    @hookimpl
    def payhelp_register_decline_schemes(self, register) -> None:
        raise RuntimeError("table file missing")


def test_a_broken_decline_table_is_recorded_in_its_plugins_record() -> None:
    ph = Payhelp(load_entry_points=False, plugins=[("table", BrokenTable())])
    with pytest.warns(PluginLoadWarning, match="table file missing"):
        ph.decline_schemes()
    record = next(r for r in ph.plugins() if r.name == "table")
    assert record.hook_errors == (
        "payhelp_register_decline_schemes: RuntimeError: table file missing",
    )


class Wrapper:
    @hookimpl(wrapper=True)
    def payhelp_contact_plan(self, processor, directory, country, language):  # type: ignore[no-untyped-def]
        return (yield)


def test_hook_wrappers_are_refused() -> None:
    with pytest.warns(PluginLoadWarning, match="hook wrappers are not supported"):
        host = get_plugin_manager(load_entry_points=False, extra=[("wrapper", Wrapper())])
    assert not host.pm.has_plugin("wrapper")


def _specname_plugin(pid: str) -> object:
    class Renamed:
        @hookimpl(specname="payhelp_register_processors")
        def register_mine(self, register) -> None:
            register(make_info(pid), make_directory(pid))

    return Renamed()


def test_a_registration_under_another_function_name_runs_for_its_own_plugin_only() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        host = get_plugin_manager(
            load_entry_points=False,
            extra=[("one", _specname_plugin("onepay")), ("two", _specname_plugin("twopay"))],
        )
    assert {pid: r.plugin for pid, r in host.processors().items()} == {
        "onepay": "one",
        "twopay": "two",
    }
