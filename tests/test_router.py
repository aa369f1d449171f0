"""The router: evidence order, ambiguity, compiled indexes, limits."""

from __future__ import annotations

import pytest

from payhelp import (
    IdFormat,
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

from .conftest import ANNUAL, PROV, SyntheticPlugin, digits, make_info

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


def test_statement_word_beats_a_bare_id_shape(ph: Payhelp) -> None:
    # 9 digits fit both alpha and beta; the statement names beta.
    decision = ph.route(transaction_id="123456789", descriptor="BETA*SITE 800-555")
    assert decision.processor == "beta"
    assert [c.processor for c in decision.candidates[:2]] == ["beta", "alpha"]


def test_shared_id_shape_is_ambiguous_and_says_so(ph: Payhelp) -> None:
    decision = ph.route(transaction_id="123456789", product={"kind": "tip"}, descriptor="X")
    assert decision.processor is None
    assert decision.ambiguous is True
    assert {c.processor for c in decision.candidates[:2]} == {"alpha", "beta"}
    assert decision.candidates[0].score == decision.candidates[1].score


def test_two_bare_shapes_plus_a_word_are_a_tie_only_the_word_breaks(ph: Payhelp) -> None:
    decision = ph.route(transaction_id="123456789", descriptor="ALPHABILL")
    assert decision.processor == "alpha"


def test_a_bare_id_shape_alone_ranks_but_does_not_decide(ph: Payhelp) -> None:
    decision = ph.route(transaction_id="1234567")  # 7 digits: only beta's shape fits
    assert decision.processor is None
    assert decision.candidates[0].processor == "beta"
    assert "too weak" in decision.note
    # The same shape with a product rule of beta's is enough.
    annual = ph.route(
        transaction_id="1234567", product={"kind": "subscription", "period": "annual"}
    )
    assert annual.processor == "beta"


def test_a_prefixed_format_decides_alone(ph: Payhelp) -> None:
    decision = ph.route(transaction_id="gx-12345678")  # prefix, any case
    assert decision.processor == "gamma"
    assert decision.candidates[0].reasons[0] == "transaction id has the shape of the gamma order"


def test_evidence_order_follows_the_weights() -> None:
    w = Weights()
    assert w.explicit > w.specific_id > w.descriptor > w.generic_id > w.recommended_product
    assert w.explicit > w.specific_id + w.descriptor + w.recommended_product + w.serves_region
    assert w.generic_id < w.threshold <= w.descriptor  # a bare shape alone never decides


def test_a_prefixed_format_beats_a_statement_word(ph: Payhelp) -> None:
    decision = ph.route(transaction_id="GX-12345678", descriptor="BETA*SHOP")
    assert decision.processor == "gamma"


def test_the_more_specific_shape_of_a_processor_counts() -> None:
    zeta = make_info(
        "zeta",
        ids=(
            IdFormat.model_validate(
                {
                    "label": "zeta bare id",
                    "charset": "alnum",
                    "min_length": 5,
                    "max_length": 12,
                    "example": "ABCDE",
                    "provenance": PROV,
                },
                strict=False,
            ),
            digits("zeta TX id", 8, 8, prefix="TX"),
        ),
    )
    omega = make_info(
        "omega",
        ids=(
            IdFormat.model_validate(
                {
                    "label": "omega id",
                    "charset": "alnum",
                    "min_length": 10,
                    "max_length": 10,
                    "example": "ABCDEFGHIJ",
                    "provenance": PROV,
                },
                strict=False,
            ),
        ),
    )
    decision = payhelp_with(zeta, omega).route(transaction_id="TX12345678")
    assert decision.processor == "zeta"
    assert decision.candidates[0].reasons[0] == "transaction id has the shape of the zeta TX id"
    assert decision.candidates[0].score == 60


def test_id_shape_and_word_beat_product_and_region(ph: Payhelp) -> None:
    decision = ph.route(
        transaction_id="123456789",
        descriptor="ALPHABILL",
        product={"kind": "subscription", "period": "annual"},
        country="IT",
    )
    assert decision.processor == "alpha"


def test_product_rule_alone_ranks_but_does_not_decide(ph: Payhelp) -> None:
    decision = ph.route(product={"kind": "subscription", "period": "annual"}, country="US")
    assert decision.processor is None
    assert decision.candidates[0].processor == "beta"
    assert decision.candidates[0].reasons[0] == "recommended for this product: annual plans"


def test_region_only_is_ambiguous_but_ranked(ph: Payhelp) -> None:
    decision = ph.route(country="IT")
    assert decision.processor is None
    assert "no evidence" in decision.note
    assert decision.candidates[0].processor == "gamma"  # serves EEA and has the prior


def test_a_single_digit_never_decides() -> None:
    ph = Payhelp()
    decision = ph.route(transaction_id="1")
    assert decision.processor is None
    assert decision.candidates[0].processor == "epoch"


def test_processor_outside_its_regions_is_marked_down(ph: Payhelp) -> None:
    decision = ph.route(transaction_id="gx-12345678", country="US")
    gamma = next(c for c in decision.candidates if c.processor == "gamma")
    assert "does not take payments in the US region" in gamma.reasons
    assert gamma.score == Weights().specific_id + Weights().outside_region + 4
    assert decision.processor == "gamma"  # region marks down; it does not veto a format match


def test_references_of_other_kinds_are_matched_by_kind() -> None:
    member = make_info("mem", ids=(digits("mem member id", 5, 5, kind=IdKind.MEMBER),))
    ph = payhelp_with(member, ALPHA)
    assert ph.route(references={"member": "12345"}).candidates[0].processor == "mem"
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
    ph = payhelp_with(ALPHA, BETA, GAMMA)
    router = ph.router  # compiled here, from the registrations made at load time
    calls: list[str] = []
    undo = ph.host.pm.add_hookcall_monitoring(
        lambda name, impls, kwargs: calls.append(name), lambda *a: None
    )
    try:
        for i in range(50):
            ph.route(transaction_id=f"{100000000 + i}", descriptor="BETA", country="IT")
    finally:
        undo()
    assert calls == []
    assert ph.router is router  # compiled once
    ph.contacts("alpha", "IT")  # contact plans, by contrast, are a hook call
    assert ph.host.pm.hook.payhelp_contact_plan.get_hookimpls()


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
    assert annual.processor is None
    assert annual.candidates[0].processor == "centrobill"
    # A bare run of digits fits several processors' ids: the router must not pick one silently.
    numeric = ph.route(transaction_id="139630889", country="US")
    assert numeric.processor is None
    assert numeric.ambiguous
