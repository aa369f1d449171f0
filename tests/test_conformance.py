"""payhelp.testing: the fixtures every plugin's tests get, and a conformance suite that tells a
broken plugin what to fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from payhelp.testing import RecordedAnswer, RecordedSandbox
from payhelp.testing.checks import card_number_in

pytest_plugins = ("pytester",)

SAMPLES = Path(__file__).parent / "samples"
PAN = "4242424242424242"

BROKEN_TEST = """
from payhelp.testing import ProcessorPluginConformance


class TestBrokenPay(ProcessorPluginConformance):
    processor_id = "brokenpay"
    plugin = "brokenpay_plugin"
    installed = False
"""


@pytest.fixture(params=[(), ("-o", "log_level=WARNING"), ("-o", "log_level=DEBUG")])
def broken_run(pytester: pytest.Pytester, request: pytest.FixtureRequest) -> pytest.RunResult:
    """The suite on the broken plugin, with pytest's log capture as projects set it: default,
    quieter than the plugin's log line, and showing everything."""
    shutil.copy(SAMPLES / "brokenpay_plugin.py", pytester.path / "brokenpay_plugin.py")
    pytester.makepyfile(test_brokenpay=BROKEN_TEST)
    pytester.syspathinsert()
    return pytester.runpytest("-p", "no:cacheprovider", "-rf", *request.param)


def test_the_broken_plugin_fails_with_what_to_fix(broken_run: pytest.RunResult) -> None:
    out = broken_run.stdout.str()
    outcomes = broken_run.parseoutcomes()
    assert outcomes.get("failed", 0) >= 5, out
    for expected in [
        # wrong channel data
        "+1 number, so it cannot be free to call from IT (+39); fix toll_free_in",
        "channel 'chat' is in the directory but no route offers it",
        # a hook that raises, with where it raised
        "JP/en: the contact plan raised KeyError: 'JP' (at brokenpay_plugin.py:",
        "in payhelp_contact_plan)",
        # a hook answering for a processor that is not its own
        "payhelp_sandbox answered _Answering for processor 'conformance_foreign'",
        # texts left in English
        "'Call BrokenPay.' is not translated into 'it' (DIRECTORY.routes[0].steps[0].reason): "
        "a plain string reads the same in every language; mark it with your Domain's N_",
        # dishonest capabilities
        "capabilities.api_lookup is True, but should be False",
        "the plugin has a sandbox but payhelp_adapter gives no adapter",
        # a card number in a log
        "log record brokenpay:INFO",
        "holds a full card number: log the last four at most",
    ]:
        assert expected in out, f"{expected!r} not in:\n{out}"
    # Neither the suite's report nor pytest's captured logs repeat the number it found.
    assert PAN not in out
    assert "4242 4242" not in out


def test_the_broken_plugin_passes_what_it_does_right(broken_run: pytest.RunResult) -> None:
    out = broken_run.stdout.str()
    for passing in ("test_registers_cleanly", "test_submissions_by_email_or_form_are_idempotent"):
        assert f"FAILED test_brokenpay.py::TestBrokenPay::{passing}" not in out


def test_a_plugin_that_does_not_import_is_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        brokenimport="raise RuntimeError('missing dependency')",
        test_it=BROKEN_TEST.replace('"brokenpay_plugin"', '"brokenimport"'),
    )
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert "the plugin module cannot be imported: RuntimeError: missing dependency" in (
        result.stdout.str()
    )
    assert result.ret != 0


# -- the current contract, and the old one ------------------------------------------------------

NOVAPAY_TEST = """
from payhelp import PaymentStatus
from payhelp.errors import APIResponseValidationError, InternalServerError, NotFoundError
from payhelp.testing import ProcessorPluginConformance


class TestNovaPay(ProcessorPluginConformance):
    processor_id = "novapay"
    plugin = "{plugin}"
    installed = False
    expected_lookups = {{
        "approved": PaymentStatus.APPROVED,
        "declined_insufficient_funds": PaymentStatus.DECLINED,
        "refunded": PaymentStatus.REFUNDED,
        "partially_refunded": PaymentStatus.PARTIALLY_REFUNDED,
        "chargeback": PaymentStatus.CHARGEBACK,
        "not_found": NotFoundError,
        "failing": InternalServerError,
        "malformed": APIResponseValidationError,
    }}
"""

#: NovaPay's API with the mistakes the current contract rules out, and the old hooks left in.
NOVAPAY_MISTAKES = """
import asyncio

from payhelp import PaymentStatus, hookimpl, wire
from novapay import plugin as base
from novapay.api import NovapayApi


class BadApi(NovapayApi):
    def lookup(self, query):
        result = yield from super().lookup(query)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return result
        return result.model_copy(update={"status": PaymentStatus.UNKNOWN})

    def submit(self, request, idempotency_key):
        return wire.api_receipt(self, idempotency_key, reference=None, detail="sent")

    async def cancel(self, ident):
        return None

    def _may_retry_blindly(self, method, idempotency_key):
        return True


@hookimpl
def payhelp_register_processors(register):
    register(base.INFO, base.DIRECTORY, api=BadApi, sandbox=base.NovapaySandbox)


@hookimpl
def payhelp_adapter(processor, settings):
    return None


@hookimpl
def payhelp_sandbox(processor):
    return None
"""


def _novapay(pytester: pytest.Pytester, plugin: str) -> pytest.RunResult:
    shutil.copytree(SAMPLES / "novapay", pytester.path / "novapay")
    pytester.makepyfile(test_novapay=NOVAPAY_TEST.format(plugin=plugin))
    pytester.syspathinsert()
    return pytester.runpytest("-p", "no:cacheprovider", "-v", "-rfs")


def test_a_plugin_on_the_current_contract_passes_the_suite_sync_and_async(
    pytester: pytest.Pytester,
) -> None:
    result = _novapay(pytester, "novapay.plugin")
    out = result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, out
    assert outcomes.get("skipped", 0) == 1, out  # only: not installed under an entry point
    for check in (
        "test_capabilities_match_what_the_plugin_does",
        "test_lookups_map_every_case_into_the_core",
        "test_async_lookups_give_the_sync_answers",
        "test_api_submissions_are_idempotent",
        "test_async_submissions_match_the_sync_ones",
        "test_no_deprecated_hook_beside_a_registered_api",
        "test_refund_rules_are_a_sequence_of_rules",
        "test_texts_exist_in_every_language",
        "test_firstresult_hooks_return_nothing_for_foreign_processors",
        "test_nothing_leaks_a_card_number_or_a_secret",
    ):
        assert f"test_novapay.py::TestNovaPay::{check} PASSED" in out, out


def test_the_suite_names_what_the_current_contract_rules_out(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(novapay_mistakes=NOVAPAY_MISTAKES)
    out = _novapay(pytester, "novapay_mistakes").stdout.str()
    for expected in [
        # the old hooks beside a registered API, with where they are
        "payhelp_adapter is deprecated and never asked for a processor registered with "
        "api=BadApi: delete it (at novapay_mistakes.py:",
        "payhelp_sandbox is deprecated and never asked",
        # operations that the core cannot drive, async code, a private override
        "BadApi.submit is not a generator",
        "BadApi.cancel is async def",
        "BadApi._may_retry_blindly overrides a private name of the core",
        "declare it with has_side_effects(request) instead",
        # an answer that differs when asked through the async API
        "approved: AsyncPayhelp.lookup gives status unknown",
    ]:
        assert expected in out, f"{expected!r} not in:\n{out}"
    # The deprecated hooks of a plugin on the current contract are reported, not asked.
    assert "payhelp_adapter answered" not in out
    assert "FAILED test_novapay.py::TestNovaPay::test_lookups_map_every_case_into_the_core" not in (
        out
    )


OLDPAY_TEST = """
from payhelp import PaymentStatus
from payhelp.errors import InternalServerError, NotFoundError
from payhelp.testing import ProcessorPluginConformance


class TestOldPay(ProcessorPluginConformance):
    processor_id = "oldpay"
    plugin = "oldpay_plugin"
    installed = False
    languages = ("en",)  # the sample is about the API contract; it ships no catalogue
    expected_lookups = {
        "approved": PaymentStatus.APPROVED,
        "declined_insufficient_funds": PaymentStatus.DECLINED,
        "refunded": PaymentStatus.REFUNDED,
        "chargeback": PaymentStatus.CHARGEBACK,
        "not_found": NotFoundError,
        "failing": InternalServerError,
    }
"""


def test_a_plugin_on_the_old_contract_still_passes_the_suite(pytester: pytest.Pytester) -> None:
    shutil.copy(SAMPLES / "oldpay_plugin.py", pytester.path / "oldpay_plugin.py")
    pytester.makepyfile(test_oldpay=OLDPAY_TEST)
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "-rs")
    out = result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, out
    assert "test_async_lookups_give_the_sync_answers PASSED" in out
    assert "test_async_submissions_match_the_sync_ones PASSED" in out
    # Told what to change, without failing for one release.
    assert "the plugin is on the old contract (payhelp_adapter, payhelp_sandbox" in out


def test_a_plugin_on_the_old_contract_works_and_warns_once_per_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio  # noqa: PLC0415
    import warnings  # noqa: PLC0415

    from payhelp import AsyncPayhelp, Payhelp, PaymentStatus  # noqa: PLC0415

    monkeypatch.syspath_prepend(str(SAMPLES))
    import oldpay_plugin  # noqa: PLC0415

    refund = {
        "transaction": {"transaction_id": oldpay_plugin.CASES["approved"]},
        "reason": "duplicate_charge",
        "message": "Charged twice.",
        "contact_email": "a@example.com",
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ph = Payhelp(load_entry_points=False, plugins=[("oldpay", oldpay_plugin)], sandbox=True)
        aph = AsyncPayhelp(load_entry_points=False, plugins=[("oldpay", oldpay_plugin)])
        for case, status in [("approved", "approved"), ("refunded", "refunded")]:
            ident = oldpay_plugin.CASES[case]
            assert ph.lookup("oldpay", transaction_id=ident).status is PaymentStatus(status)
            awaited = asyncio.run(aph.lookup("oldpay", transaction_id=ident, sandbox=True))
            assert awaited.status is PaymentStatus(status)
        receipt = ph.submit_dispute("oldpay", channel="api", **refund)
        assert (receipt.channel.value, receipt.reference) == ("api", "re-op-1")
        ph.close()
        asyncio.run(aph.aclose())
    deprecations = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    # One warning per hook and Payhelp: the sync and the async one each hold a plugin manager.
    for hook in ("payhelp_adapter", "payhelp_sandbox"):
        said = [message for message in deprecations if f"{hook} is deprecated" in message]
        assert len(said) == 2, deprecations
        assert all("register(info, directory, api=..., sandbox=...)" in m for m in said)
    assert len(deprecations) == 4, deprecations


# -- the fixtures --------------------------------------------------------------------------------


def test_payhelp_host_holds_only_the_plugins_given(payhelp_host) -> None:
    host = payhelp_host("payhelp_epoch.plugin", name="epoch")
    assert sorted(host.processors()) == ["epoch"]
    assert {r.name for r in host.records()} == {"payhelp.builtin", "epoch"}


def test_payhelp_with_registers_for_one_test(payhelp_with, tmp_path: Path) -> None:
    ph = payhelp_with("payhelp_webbilling.plugin", "webbilling")
    assert [p.id for p in ph.processors()] == ["webbilling"]
    receipt = ph.submit_dispute(
        "webbilling",
        transaction={"transaction_id": "T-1"},
        reason="duplicate_charge",
        message="Charged twice.",
        contact_email="a@example.com",
    )
    assert receipt.location is not None
    assert Path(receipt.location).is_relative_to(tmp_path)  # the test's own outbox


def test_payhelp_sandbox_transport_answers_in_process(payhelp_sandbox_transport) -> None:
    transport = payhelp_sandbox_transport("payhelp_centrobill.plugin", "centrobill")
    with httpx.Client(transport=transport, base_url="http://sandbox/centrobill/") as client:
        ident = transport.sandbox.cases()["approved"]
        answer = client.get(f"payment/{ident}", headers={"Authorization": "k"})
    assert answer.status_code == 200


def test_payhelp_sandbox_transport_fails_without_a_sandbox(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_it(payhelp_sandbox_transport):
            payhelp_sandbox_transport("payhelp_webbilling.plugin", "webbilling")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        ["*webbilling: the plugin has no sandbox: register one with its API*"]
    )


# -- recorded answers as a sandbox -----------------------------------------------------------


def test_recorded_sandbox_replays_and_names_what_is_missing(tmp_path: Path) -> None:
    body = tmp_path / "payment.json"
    body.write_text('{"status": "ok"}')
    box = RecordedSandbox(
        "acme",
        {
            "GET /payment/1": RecordedAnswer(
                body=body, headers={"Content-Type": "application/json"}
            ),
            "GET /search?id=2": RecordedAnswer(status=404, body="no"),
        },
        cases={"approved": "1", "not_found": "2"},
    )
    assert box.handle(httpx.Request("GET", "http://x/payment/1")).json() == {"status": "ok"}
    assert box.handle(httpx.Request("GET", "http://x/search?id=2")).status_code == 404
    missing = box.handle(httpx.Request("POST", "http://x/refund"))
    assert missing.status_code == 404
    assert "nothing recorded for POST /refund" in missing.text
    assert box.cases() == {"approved": "1", "not_found": "2"}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("card 4111 1111 1111 1111 used", True),
        ("card 4111-1111-1111-1111", True),
        ("ref 378282246310005", True),
        ("order 1234567890123456", False),  # 16 digits, not Luhn-valid
        ("last four 1111", False),
        ("member 2147483647", False),
    ],
)
def test_card_numbers_are_found_by_shape_and_luhn(text: str, found: bool) -> None:
    assert card_number_in(text) is found


OBJECT_PLUGIN = '''
from datetime import date

from payhelp import (
    Capabilities, ChannelKind, ChannelRoute, Confidence, ContactChannel, ContactDirectory,
    ProcessorInfo, Provenance, Region, RouteStep, hookimpl,
)
from payhelp.testing import ProcessorPluginConformance

SRC = (Provenance(source="help page", confidence=Confidence.OFFICIAL, checked_on=date(2026, 1, 1)),)


class Plugin:
    """Hooks as methods, one under another name (specname), one taking fewer arguments."""

    @hookimpl
    def payhelp_register_processors(self, register):
        register(
            ProcessorInfo(id="objpay", name="ObjPay", website="https://o.example.com/",
                          regions=(Region.US,), capabilities=Capabilities(email_submission=True)),
            ContactDirectory(
                channels={
                    "email": ContactChannel(kind=ChannelKind.EMAIL, value="help@o.example.com",
                                            provenance=SRC),
                    "free": ContactChannel(kind=ChannelKind.PHONE, value="+80012345678",
                                           toll_free_in=("IT", "DE"), provenance=SRC),
                },
                routes=(ChannelRoute(steps=(RouteStep(channel="email", reason="Write to us."),
                                            RouteStep(channel="free", reason="Call us."))),),
            ),
        )

    @hookimpl(specname="payhelp_sandbox")
    def any_sandbox(self, processor):
        return SANDBOX

    @hookimpl
    def payhelp_contact_plan(self, processor):
        return None

    @hookimpl
    def payhelp_refund_rules(self, processor):
        return ()


class _Box:
    processor = "objpay"

    def handle(self, request):
        raise AssertionError

    def cases(self):
        return {}


SANDBOX = _Box()


class TestObjPay(ProcessorPluginConformance):
    processor_id = "objpay"
    plugin = Plugin()
    installed = False
    languages = ("en",)
'''


def test_hooks_are_found_as_pluggy_registers_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_objpay=OBJECT_PLUGIN)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rf")
    out = result.stdout.str()
    # A hook under another name that answers every processor is still caught ...
    assert "payhelp_sandbox answered _Box for processor 'conformance_foreign'" in out
    # ... a hook taking fewer arguments is called with those, an empty rule list is no answer,
    assert "unexpected keyword argument" not in out
    assert "payhelp_refund_rules answered" not in out
    # ... and an international freephone number may be free from many countries.
    assert "+800 number" not in out
    assert "FAILED test_objpay.py::TestObjPay::test_metadata_is_complete_and_valid" not in out


def test_the_sandbox_placeholder_never_leaves_for_a_real_api() -> None:
    from payhelp import Payhelp  # noqa: PLC0415

    with Payhelp(
        load_plugins=["epoch"], processors={"epoch": {"settings": {"sandbox": True}}}
    ) as ph:
        adapter = ph.adapter("epoch", sandbox=False)
        assert adapter is None or "payhelp-sandbox" not in adapter.settings.credentials.values()


def test_the_harness_and_the_checks_import_without_pytest() -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (
        "import sys; sys.modules['pytest'] = None\n"
        "from payhelp.testing import RecordedSandbox\n"
        "assert 'payhelp.testing.conformance' not in sys.modules\n"
        "from payhelp.testing.checks import check_toll_free_numbers\n"
        "from payhelp.testing.harness import build_harness\n"
        "assert 'payhelp.testing.conformance' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# -- what slipped past the suite before (issue 12) ----------------------------------------------

SLOPPYPAY_TEST = """
from payhelp.testing import ProcessorPluginConformance


class TestSloppyPay(ProcessorPluginConformance):
    processor_id = "sloppypay"
    plugin = "sloppypay.plugin"
    installed = False
"""

#: The checks SloppyPay's three mistakes fail; it passes every other.
SLOPPYPAY_FAILS = {
    "test_toll_free_numbers_are_toll_free",
    "test_refund_rules_are_a_sequence_of_rules",
    "test_texts_exist_in_every_language",
}


def test_what_slipped_past_the_suite_is_caught_and_nothing_else(
    pytester: pytest.Pytester,
) -> None:
    shutil.copytree(SAMPLES / "sloppypay", pytester.path / "sloppypay")
    pytester.makepyfile(test_sloppypay=SLOPPYPAY_TEST)
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "no:cacheprovider", "-rf")
    out = result.stdout.str()
    failed = {
        line.split("::")[-1].split(" ")[0]
        for line in out.splitlines()
        if line.startswith("FAILED test_sloppypay.py::")
    }
    assert failed == SLOPPYPAY_FAILS, out
    for expected in [
        # a geographic number marked toll-free
        "channel 'phone': +390612345678 is marked free to call from IT, but it is a fixed-line "
        "number of IT, outside IT's toll-free ranges",
        # one rule where a sequence of them is read, with where the hook is written
        "payhelp_refund_rules (at plugin.py:",
        "it returned one RefundRule ('sloppypay.older_than_90_days'), not a sequence of them",
        # self-service page fields left in English, each as it went wrong
        "'Order number' is not translated into 'it' (DIRECTORY.channels.find_payment.fields[0]): "
        "locale/it/LC_MESSAGES/sloppypay.po has no entry for it",
        "'Purchase date' reads the same in 'it' as in English "
        "(DIRECTORY.channels.find_payment.fields[1])",
        "'Email address' is not translated into 'it' (DIRECTORY.channels.find_payment.fields[2])"
        ": a plain string reads the same in every language",
    ]:
        assert expected in out, f"{expected!r} not in:\n{out}"


@pytest.mark.parametrize(
    "plugin",
    [
        "payhelp_centrobill.plugin",
        "payhelp_epoch.plugin",
        "payhelp_paymentico.plugin",
        "payhelp_segpay.plugin",
        "payhelp_webbilling.plugin",
        "payhelp_wtseticket.plugin",
    ],
)
def test_a_single_check_runs_on_a_plugins_data(plugin: str) -> None:
    import importlib  # noqa: PLC0415

    from payhelp.testing.checks import check_toll_free_numbers  # noqa: PLC0415

    check_toll_free_numbers(importlib.import_module(plugin).DIRECTORY)


def test_a_single_check_says_what_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from payhelp.testing.checks import (  # noqa: PLC0415
        ConformanceError,
        check_toll_free_numbers,
        refund_rules_problems,
    )

    monkeypatch.syspath_prepend(str(SAMPLES))
    from sloppypay import plugin  # noqa: PLC0415

    with pytest.raises(AssertionError) as caught:
        check_toll_free_numbers(plugin.DIRECTORY)
    assert isinstance(caught.value, ConformanceError)
    assert caught.value.problems[0].startswith("channel 'phone': +390612345678 is marked free")
    assert refund_rules_problems((plugin.RULE,)) == []
    assert refund_rules_problems(None) == []
    assert refund_rules_problems({"id": "x"}) == [
        "it returned dict: return a tuple of RefundRule (RefundRule(id=..., when=..., "
        "outcome=..., message=...)), or None"
    ]
    assert refund_rules_problems(["x"])[0].startswith("item 0 of its rules is str")


@pytest.mark.parametrize(
    ("english", "italian", "untranslated"),
    [
        ("Order number", "Order number", True),
        ("Order number", "Numero d'ordine", False),
        ("Email", "Email", False),  # Italian says it so
        ("Username or PIN", "Username or PIN", True),  # "or" is English
        ("NovaPay ID", "NovaPay ID", False),  # a name and an acronym
        ("SloppyPay", "SloppyPay", False),
    ],
)
def test_a_text_reads_untranslated_only_when_it_has_english_words(
    english: str, italian: str, untranslated: bool
) -> None:
    from payhelp.testing.checks import reads_untranslated  # noqa: PLC0415

    assert reads_untranslated(english, italian) is untranslated


# -- one mistake, one failure -------------------------------------------------------------------

NOT_LOADING = {
    "raises": ("raise RuntimeError('missing dependency')", "RuntimeError: missing dependency"),
    "registers_nothing": (
        "from payhelp import hookimpl\n\n\n"
        "@hookimpl\n"
        "def payhelp_register_processors(register):\n"
        "    pass\n",
        "its payhelp_register_processors called register() for no processor",
    ),
    "invalid": (
        "from datetime import date\n"
        "from payhelp import ChannelKind, Confidence, ContactChannel, Provenance\n\n"
        "SOURCE = (Provenance(source='help page', confidence=Confidence.OFFICIAL,\n"
        "                     checked_on=date(2026, 1, 1)),)\n"
        "PHONE = ContactChannel(kind=ChannelKind.PHONE, value='+1 555', provenance=SOURCE)\n",
        "'+1 555'",
    ),
}


@pytest.mark.parametrize("mistake", sorted(NOT_LOADING))
def test_a_plugin_that_does_not_load_is_one_failure_said_once(
    mistake: str, pytester: pytest.Pytester
) -> None:
    source, said = NOT_LOADING[mistake]
    pytester.makepyfile(
        brokenload=source,
        test_it=BROKEN_TEST.replace('"brokenpay_plugin"', '"brokenload"'),
    )
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    out = result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1, out
    assert "passed" not in outcomes, out
    assert "_ TestBrokenPay.test_registers_cleanly _" in out, out
    assert out.count(said) == 1, out  # in the one failure, not in every skip
    skipped = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert skipped, out
    for line in skipped:
        assert "test_registers_cleanly says why" in line or "installed = False" in line, line
