"""The router: evidence order, ambiguity, compiled indexes, limits."""

from __future__ import annotations

import pytest

from payhelp import (
    IdKind,
    Payhelp,
    ProcessorInfo,
    Product,
    ProductKind,
    Region,
    SubscriptionPeriod,
    UnknownProcessorError,
)
from payhelp.router import Weights

from .conftest import ANNUAL, SyntheticPlugin, digits, make_info

ALPHA = make_info("alpha", ids=(digits("alpha transaction id", 9, 9),), words=("ALPHABILL",))
BETA = make_info(
    "beta", ids=(digits("beta transaction id", 6, 10),), words=("BETA",), recommended=(ANNUAL,)
)
GAMMA = make_info(
    "gamma",
    ids=(digits("gamma order", 8, 8, prefix="GX-"),),
    regions=(Region.EEA, Region.UK),
    share=4,
)


def payhelp_with(*infos: ProcessorInfo) -> Payhelp:
    return Payhelp(load_entry_points=False, plugins=[(i.id, SyntheticPlugin(i)) for i in infos])


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return payhelp_with(ALPHA, BETA, GAMMA)


def test_explicit_processor_beats_every_other_evidence(ph: Payhelp) -> None:
    decision = ph.route(processor="gamma", transaction_id="123456789", descriptor="ALPHABILL*X")
    assert decision.processor == "gamma"
    assert decision.candidates[0].reasons[0] == "named explicitly"


def test_unknown_explicit_processor_is_an_input_error(ph: Payhelp) -> None:
    with pytest.raises(UnknownProcessorError, match="unknown processor 'nope'"):
        ph.route(processor="nope")


def test_descriptor_beats_id_shape(ph: Payhelp) -> None:
    # 9 digits fit both alpha and beta; the statement names beta.
    decision = ph.route(transaction_id="123456789", descriptor="BETA*SITE 800-555")
    assert decision.processor == "beta"
    assert [c.processor for c in decision.candidates[:2]] == ["beta", "alpha"]


def test_shared_id_shape_is_ambiguous_and_says_so(ph: Payhelp) -> None:
    decision = ph.route(transaction_id="123456789", country="US")
    assert decision.processor is None
    assert decision.ambiguous is True
    assert "alpha, beta" in decision.note
    assert {c.processor for c in decision.candidates[:2]} == {"alpha", "beta"}


def test_distinct_id_shape_decides(ph: Payhelp) -> None:
    assert ph.route(transaction_id="1234567").processor == "beta"  # 7 digits: beta only
    decision = ph.route(transaction_id="gx-12345678")  # prefix, any case
    assert decision.processor == "gamma"
    assert "gamma order" in decision.candidates[0].reasons[0]


def test_prefixed_shape_outweighs_a_bare_one() -> None:
    w = Weights()
    assert w.specific_id > w.generic_id
    assert w.descriptor > w.specific_id
    assert w.explicit > w.descriptor + w.specific_id + w.recommended_product + w.serves_region


def test_id_shape_beats_product_and_region(ph: Payhelp) -> None:
    # Annual subscription favours beta, EEA favours gamma, but the 9-digit+alpha word wins.
    decision = ph.route(
        transaction_id="123456789",
        descriptor="ALPHABILL",
        product={"kind": "subscription", "period": "annual"},
        country="IT",
    )
    assert decision.processor == "alpha"


def test_product_rule_decides_when_it_is_all_there_is(ph: Payhelp) -> None:
    decision = ph.route(product={"kind": "subscription", "period": "annual"}, country="US")
    assert decision.processor == "beta"
    assert any("annual plans" in r for r in decision.candidates[0].reasons)
    monthly = ph.route(product={"kind": "subscription", "period": "monthly"}, country="US")
    assert monthly.processor is None


def test_region_only_is_ambiguous_but_ranked(ph: Payhelp) -> None:
    decision = ph.route(country="IT")
    assert decision.processor is None
    assert "no strong evidence" in decision.note
    assert decision.candidates[0].processor == "gamma"  # serves EEA and has the prior


def test_processor_outside_its_regions_is_marked_down(ph: Payhelp) -> None:
    decision = ph.route(transaction_id="gx-12345678", country="US")
    gamma = next(c for c in decision.candidates if c.processor == "gamma")
    assert "does not take payments in the US region" in gamma.reasons
    assert gamma.score == Weights().specific_id + Weights().outside_region + 4


def test_references_of_other_kinds_are_matched_by_kind() -> None:
    member = make_info("mem", ids=(digits("mem member id", 5, 5, kind=IdKind.MEMBER),))
    ph = payhelp_with(member, ALPHA)
    assert ph.route(references={"member": "12345"}).processor == "mem"
    # The same digits as a transaction id fit nothing.
    assert ph.route(transaction_id="12345").candidates[0].score == 0


def test_candidates_are_capped_and_best_first() -> None:
    infos = [make_info(f"p{i:03d}", words=(f"WORD{i:03d}",)) for i in range(100)]
    ph = payhelp_with(*infos)
    decision = ph.route(descriptor="WORD077*SHOP", country="DE")
    assert decision.processor == "p077"
    assert len(decision.candidates) == 6
    scores = [c.score for c in decision.candidates]
    assert scores == sorted(scores, reverse=True)


def test_empty_router_is_ambiguous() -> None:
    decision = Payhelp(load_entry_points=False).route(country="IT")
    assert decision.processor is None
    assert decision.candidates == ()


def test_routing_asks_no_plugin_per_decision() -> None:
    calls = {"n": 0}

    class Counting(SyntheticPlugin):
        pass

    plugin = Counting(ALPHA)
    ph = Payhelp(load_entry_points=False, plugins=[("alpha", plugin)])
    original = ph.host.pm.hook.payhelp_register_processors

    def counting(**kwargs: object) -> object:
        calls["n"] += 1
        return original(**kwargs)

    ph.host.pm.hook.payhelp_register_processors = counting  # type: ignore[method-assign]
    router = ph.router
    for _ in range(10):
        ph.route(transaction_id="123456789")
    assert calls["n"] == 0
    assert ph.router is router  # compiled once


def test_with_the_six_builtin_processors() -> None:
    ph = Payhelp()
    assert ph.route(descriptor="EPOCH.COM*LIVESODA", country="US").processor == "epoch"
    assert ph.route(descriptor="SEGPAY.COM*FLRT Inc", country="IT").processor == "segpay"
    assert ph.route(descriptor="centrohelp.com", country="IT").processor == "centrobill"
    assert (
        ph.route(descriptor="WTSeTicket.com 800-975-5616", country="US").processor == "wtseticket"
    )
    annual = ph.route(
        product=Product(kind=ProductKind.SUBSCRIPTION, period=SubscriptionPeriod.ANNUAL),
        country="US",
    )
    assert annual.processor == "centrobill"
    # A bare run of digits fits several processors' ids: the router must not pick one silently.
    numeric = ph.route(transaction_id="139630889", country="US")
    assert numeric.processor is None
    assert numeric.ambiguous
