"""The hook contract: every hook documented in full, and each with its own test below."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import httpx
import pytest

from payhelp import (
    ContactPlan,
    LookupResult,
    Payhelp,
    PaymentStatus,
    Region,
    hookimpl,
    hookspecs,
)
from payhelp.adapters import SANDBOX_CREDENTIAL, ApiAdapter, RequestSpec
from payhelp.cases import LookupQuery, LookupRule
from payhelp.docs import hook_reference
from payhelp.errors import (
    CapabilityError,
    InvalidInputError,
    NotFoundError,
    PluginError,
    PluginLoadError,
    PluginLoadWarning,
)
from payhelp.http import AsyncClient, SyncClient
from payhelp.models import ProductKind
from payhelp.policies.declines import DeclineScheme, parse_scheme
from payhelp.policies.refunds import Missing, RefundOutcome, RefundRule

from .conftest import SyntheticPlugin, make_info
from .test_notifications import Listener, deliver, make

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("payhelp_"))
DOCS = Path(__file__).parent.parent / "docs" / "hooks.md"


def test_there_are_seven_hooks() -> None:
    assert HOOKS == [
        "payhelp_adapter",
        "payhelp_contact_plan",
        "payhelp_notification_received",
        "payhelp_refund_rules",
        "payhelp_register_decline_schemes",
        "payhelp_register_processors",
        "payhelp_sandbox",
    ]


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented_with_every_parameter(name: str) -> None:
    spec = getattr(hookspecs, name)
    doc = inspect.getdoc(spec) or ""
    summary, _, rest = doc.partition("\n\n")
    assert summary, "a summary first"
    assert "\n" not in summary, "the summary is one line"
    for param in inspect.signature(spec).parameters:
        assert f":param {param}:" in doc, f"{name} does not document {param}"
    assert ":returns:" in doc
    firstresult = spec.payhelp_spec["firstresult"]
    assert ("Stops at first non-None result." in doc) == firstresult
    if firstresult:
        assert "None" in rest
        assert "not yours" in rest, "says what to return when the call is not for you"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_its_own_test(name: str) -> None:
    assert f"test_hook_{name}" in dir(sys.modules[__name__])


def test_hook_reference_in_the_docs_is_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == hook_reference(), (
        "docs/hooks.md is stale: run python -m payhelp.docs hooks > docs/hooks.md"
    )


@pytest.mark.parametrize("name", HOOKS)
def test_hook_reference_shows_the_exact_signature(name: str) -> None:
    spec = getattr(hookspecs, name)
    assert f"def {name}{inspect.signature(spec)}" in DOCS.read_text(encoding="utf-8")


def test_hook_payhelp_notification_received(tmp_path: Path) -> None:
    # Heard once per applied event, never for a repeat or a refusal; tests/test_notifications.py
    # has the whole loop.
    listener = Listener()
    ph = make(tmp_path, extra_plugins=[("listener", listener)])
    deliver(ph, {"id": "evt_h", "type": "sale", "transaction": "TX-h"})
    deliver(ph, {"id": "evt_h", "type": "sale", "transaction": "TX-h"})
    deliver(ph, {"id": "evt_h", "type": "sale"}, secret="forged")
    assert listener.heard == [("evt_h", ())]


def test_hook_payhelp_register_processors() -> None:
    plugin = SyntheticPlugin(make_info("regpay"))
    ph = Payhelp(load_entry_points=False, plugins=[("regpay", plugin)])
    assert ph.processor("regpay") == plugin.info
    assert ph.directory("regpay") == plugin.directory
    record = next(r for r in ph.plugins() if r.name == "regpay")
    assert record.processors == ("regpay",)


class PlanOverride:
    """Implements the contact-plan hook for its own processor only."""

    @hookimpl
    def payhelp_contact_plan(self, processor, directory, country, language) -> ContactPlan | None:
        if processor.id != "custompay":
            return None
        return ContactPlan(
            processor=processor.id,
            processor_name=processor.name,
            country=country,
            region=Region.EEA,
            language=language,
            channels=(),
            warnings=(f"custom plan for {country} in {language}",),
            include=(),
        )


def test_hook_payhelp_contact_plan() -> None:
    ph = Payhelp(
        load_entry_points=False,
        plugins=[
            ("custompay", SyntheticPlugin(make_info("custompay"))),
            ("otherpay", SyntheticPlugin(make_info("otherpay"))),
            ("override", PlanOverride()),
        ],
    )
    assert ph.contacts("custompay", "it", language="it").warnings == ("custom plan for IT in it",)
    # Returning None for a foreign processor leaves it to the built-in, data-driven plan.
    default = ph.contacts("otherpay", "IT")
    assert [c.key for c in default.channels] == ["page", "email"]


class DemoSandbox:
    """A tiny JSON API: GET payments/<id> answers a status, 404 for unknown ids."""

    processor = "apipay"

    def cases(self) -> dict[str, str]:
        return {"refunded": "R1", "not_found": "NOPE"}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") is None:
            return httpx.Response(401, json={"error": "no key"})
        payment_id = request.url.path.rsplit("/", 1)[-1]
        if payment_id == "R1":
            return httpx.Response(200, json={"id": "R1", "status": "refunded"})
        return httpx.Response(404, json={"error": "not found"})


class DemoClient(SyncClient):
    processor = "apipay"

    def authenticate(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = self.credential("api_key")
        return request


class DemoAsyncClient(AsyncClient):
    processor = "apipay"

    def authenticate(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = self.credential("api_key")
        return request


class DemoAdapter(ApiAdapter):
    processor = "apipay"
    basis = "official"
    default_base_url = "https://api.apipay.example/"
    credential_names = ("api_key",)
    lookup_rules = (LookupRule(fields=("transaction_id",)),)
    sync_client_class = DemoClient
    async_client_class = DemoAsyncClient
    can_submit = False

    def lookup_request(self, query: LookupQuery) -> RequestSpec:
        return RequestSpec("GET", f"payments/{query.transaction_id}")

    def parse_lookup(self, query, response, client) -> LookupResult:
        body = client.parse_json(response)
        return LookupResult(
            processor="apipay", status=PaymentStatus(body["status"]), source=self.source
        )


class AdapterPlugin:
    @hookimpl
    def payhelp_adapter(self, processor, settings) -> ApiAdapter | None:
        if processor.id != "apipay":
            return None
        return DemoAdapter.from_settings(settings, environ={})

    @hookimpl
    def payhelp_sandbox(self, processor) -> DemoSandbox | None:
        return DemoSandbox() if processor.id == "apipay" else None


def _apipay(**kwargs: object) -> Payhelp:
    return Payhelp(
        load_entry_points=False,
        plugins=[
            ("apipay", SyntheticPlugin(make_info("apipay"))),
            ("nopay", SyntheticPlugin(make_info("nopay"))),
            ("adapter", AdapterPlugin()),
        ],
        **kwargs,  # type: ignore[arg-type]
    )


def test_hook_payhelp_adapter() -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, json={"id": "9", "status": "chargeback"})
    )
    ph = _apipay(
        processors={"apipay": {"settings": {"api_key": "k-secret", "transport": transport}}}
    )
    assert ph.lookup("apipay", transaction_id="9").status is PaymentStatus.CHARGEBACK
    assert ph.adapter("apipay") is ph.adapter("apipay")  # built once, reused
    with pytest.raises(InvalidInputError, match="finds a payment by its transaction id"):
        ph.lookup("apipay", email="a@b.example")
    # Without credentials the plugin gives no adapter: the self-service answer.
    plain = _apipay()
    fallback = plain.lookup("apipay", transaction_id="9")
    assert fallback.source == "self_service"
    assert fallback.status is PaymentStatus.UNKNOWN
    # A foreign processor: None from the plugin, self-service from payhelp.
    other = ph.lookup("nopay", email="a@b.example")
    assert other.self_service is not None
    assert str(other.self_service.url) == "https://nopay.example.com/find"
    assert other.self_service.fields == ("order number", "email")


def test_hook_payhelp_sandbox() -> None:
    ph = _apipay(processors={"apipay": {"settings": {"api_key": "any"}}})
    answer = ph.lookup("apipay", transaction_id="R1", sandbox=True)
    assert answer.status is PaymentStatus.REFUNDED
    assert answer.source == "sandbox"
    with pytest.raises(NotFoundError) as caught:
        ph.lookup("apipay", transaction_id="NOPE", sandbox=True)
    assert caught.value.processor == "apipay"
    assert caught.value.request_id.startswith("payhelp-")
    # The sandbox needs no credentials of the platform's: each missing one is a placeholder.
    bare = _apipay(sandbox=True)
    assert bare.lookup("apipay", transaction_id="R1").status is PaymentStatus.REFUNDED
    adapter = bare.adapter("apipay")
    assert adapter is not None
    assert adapter.settings.credentials == {"api_key": SANDBOX_CREDENTIAL}
    # ... and never outside the sandbox.
    assert _apipay().adapter("apipay", sandbox=False) is None
    with pytest.raises(CapabilityError, match="no sandbox"):
        ph.lookup("nopay", transaction_id="1", sandbox=True)


def _scheme(scheme_id: str, codes: dict[str, dict[str, str]]) -> DeclineScheme:
    return parse_scheme(
        {
            "id": scheme_id,
            "name": scheme_id.title(),
            "source": {"source": "test", "confidence": "single", "checked_on": "2026-11-22"},
            "normalise": {"extract": r"^[YN](?P<code>.+)$", "case": "upper"},
            "codes": codes,
        },
        scheme_id,
    )


class DeclineTable:
    @hookimpl
    def payhelp_register_decline_schemes(self, register) -> None:
        register(
            _scheme("codepay", {"FUNDS": {"label": "No funds", "reason": "insufficient_funds"}})
        )


class BrokenDeclineTable:
    @hookimpl
    def payhelp_register_decline_schemes(self, register) -> None:
        raise RuntimeError("table file missing")


def test_hook_payhelp_register_decline_schemes() -> None:
    ph = Payhelp(
        load_entry_points=False,
        plugins=[("codepay", SyntheticPlugin(make_info("codepay"))), ("table", DeclineTable())],
    )
    assert {s.id for s in ph.decline_schemes()} == {"braintree", "iso8583", "stripe", "codepay"}
    advice = ph.explain_decline("Nfunds", "codepay")
    assert advice.known
    assert advice.normalized_code == "FUNDS"
    assert advice.reason.value == "insufficient_funds"
    # A plugin whose table breaks is reported; the other tables keep working.
    broken = Payhelp(load_entry_points=False, plugins=[("broken", BrokenDeclineTable())])
    with pytest.warns(PluginLoadWarning, match="table file missing"):
        schemes = broken.decline_schemes()
    assert {s.id for s in schemes} == {"braintree", "iso8583", "stripe"}


def test_decline_scheme_ids_cannot_be_taken_twice() -> None:
    ph = Payhelp(
        load_entry_points=False,
        plugins=[("one", DeclineTable()), ("two", DeclineTable())],
        strict_plugins=True,
    )
    with pytest.raises(PluginLoadError, match="already registered by 'one'"):
        ph.decline_schemes()


class RefundRules:
    @hookimpl
    def payhelp_refund_rules(self, processor) -> list[RefundRule] | None:
        if processor.id != "rulepay":
            return None
        return [
            RefundRule(
                id="rulepay.tokens_spent",
                products=(ProductKind.TOKEN_PURCHASE,),
                when=Missing(fact="receipt"),
                outcome=RefundOutcome.NEEDS_REVIEW,
                message="Rulepay checks spent tokens first.",
            )
        ]


def test_hook_payhelp_refund_rules() -> None:
    ph = Payhelp(
        load_entry_points=False,
        plugins=[
            ("rulepay", SyntheticPlugin(make_info("rulepay"))),
            ("otherpay", SyntheticPlugin(make_info("otherpay"))),
            ("rules", RefundRules()),
        ],
    )
    facts = {
        "product": "token_purchase",
        "purchased_at": "2026-11-20T10:00:00Z",
        "now": "2026-11-20T12:00:00Z",
    }
    with_rules = ph.refund_check(facts, processor="rulepay")
    assert [r.rule for r in with_rules.reasons] == ["receipt_required", "rulepay.tokens_spent"]
    assert with_rules.reasons[-1].message == "Rulepay checks spent tokens first."
    # None for a foreign processor: only the platform's rules apply.
    other = ph.refund_check(facts, processor="otherpay")
    assert [r.rule for r in other.reasons] == ["receipt_required"]
    assert [r.rule for r in ph.refund_check(facts).reasons] == ["receipt_required"]


class BadRefundRules:
    @hookimpl
    def payhelp_refund_rules(self, processor) -> object:
        return "not rules"


def test_refund_rules_of_the_wrong_type_are_a_plugin_error() -> None:
    ph = Payhelp(
        load_entry_points=False,
        plugins=[("rulepay", SyntheticPlugin(make_info("rulepay"))), ("bad", BadRefundRules())],
    )
    facts = {"product": "tip", "purchased_at": "2026-11-20T10:00Z", "now": "2026-11-20T11:00Z"}
    with pytest.raises(PluginError, match="sequence of RefundRule"):
        ph.refund_check(facts, processor="rulepay")
