"""payhelp.testing: the fixtures every plugin's tests get, and a conformance suite that tells a
broken plugin what to fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from payhelp.testing import RecordedAnswer, RecordedSandbox
from payhelp.testing.conformance import _card_number_in

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


@pytest.fixture
def broken_run(pytester: pytest.Pytester) -> pytest.RunResult:
    shutil.copy(SAMPLES / "brokenpay_plugin.py", pytester.path / "brokenpay_plugin.py")
    pytester.makepyfile(test_brokenpay=BROKEN_TEST)
    pytester.syspathinsert()
    # Without pytest's own log capture, whose report would show the plugin's leaked log line.
    return pytester.runpytest("-p", "no:logging", "-p", "no:cacheprovider", "-rf")


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
        "'Call BrokenPay.' is not translated into 'it' (the plan for US, among others)",
        # dishonest capabilities
        "capabilities.api_lookup is True, but should be False",
        "the plugin has a sandbox but payhelp_adapter gives no adapter",
        # a card number in a log
        "log record brokenpay:INFO",
        "holds a full card number: log the last four at most",
    ]:
        assert expected in out, f"{expected!r} not in:\n{out}"
    assert PAN not in out  # the suite's report never repeats the number it found


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
    result.stdout.fnmatch_lines(["*webbilling: the plugin's payhelp_sandbox gives no sandbox*"])


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
    assert _card_number_in(text) is found
