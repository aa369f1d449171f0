"""Full card numbers: one detector for every spelling, refused in every field not meant for one,
masked in everything written or raised.

The detector (:func:`payhelp.redact.find_card_number`) and the mask share one scan; the input
types of :mod:`payhelp._base` refuse with it; batch lines and their ``ref`` use it; and no id
with a card number reaches a processor's API.
"""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from payhelp import AsyncPayhelp, Payhelp
from payhelp import redact as redact_module
from payhelp._base import CARD_NUMBER_ERROR, invalid_input, normalize_text, refuse_card_number
from payhelp.batch import BatchTransaction, route_lines
from payhelp.batch_lookup import lookup_lines, parse_line
from payhelp.cases import DisputeRequest, LookupQuery, LookupResult, PaymentRecord, PaymentStatus
from payhelp.errors import CardNumberError, InvalidInputError
from payhelp.models import IdKind, Transaction
from payhelp.redact import INVISIBLE, find_card_number, mask_card_numbers, short_echo
from payhelp.router import Router
from payhelp.sandbox import Behaviour
from payhelp.submissions import summary

from .conftest import dispute_fields


def luhn_complete(body: str) -> str:
    """``body`` with the check digit that makes it Luhn-valid."""
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


CARDS = {
    "visa16": "4111111111111111",
    "mastercard": "5555555555554444",
    "amex15": "378282246310005",
    "visa13": "4222222222222",
    "nineteen": luhn_complete("622126000000000012"),
}
CARD = CARDS["visa16"]


def groups(digits: str, size: int = 4) -> list[str]:
    return [digits[i : i + size] for i in range(0, len(digits), size)]


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


SPELLINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda d: d,
    "spaces": lambda d: " ".join(groups(d)),
    "dashes": lambda d: "-".join(groups(d)),
    "dots": lambda d: ".".join(groups(d)),
    "plus": lambda d: "+".join(groups(d)),
    "underscores": lambda d: "_".join(groups(d)),
    "slashes": lambda d: "/".join(groups(d)),
    "amex_groups": lambda d: f"{d[:4]} {d[4:10]} {d[10:]}",
    "spaced_dash": lambda d: " - ".join(groups(d)),
    "percent_space": lambda d: "%20".join(groups(d)),
    "percent_dash": lambda d: "%2D".join(groups(d)),
    "percent_plus": lambda d: "%2b".join(groups(d)),
    "percent_slash": lambda d: "%2F".join(groups(d)),
    "percent_twice": lambda d: "%2520".join(groups(d)),
    "percent_nbsp": lambda d: "%C2%A0".join(groups(d)),
    "json_nbsp": lambda d: "\\u00a0".join(groups(d)),
    "nbsp": lambda d: "\u00a0".join(groups(d)),
    "thin_space": lambda d: "\u2009".join(groups(d)),
    "ideographic_space": lambda d: "\u3000".join(groups(d)),
    "en_dash": lambda d: "\u2013".join(groups(d)),
    "fullwidth": fullwidth,
    "fullwidth_spaced": lambda d: fullwidth(" ".join(groups(d))),
    "arabic_indic": lambda d: "".join(chr(0x0660 + int(c)) for c in d),
    "devanagari": lambda d: "".join(chr(0x0966 + int(c)) for c in d),
    "zero_width_each": "\u200b".join,
    "zero_width_joiner": lambda d: "\u200d".join(groups(d, 2)),
    "soft_hyphen": lambda d: "\u00ad".join(groups(d)),
    "word_joiner": lambda d: "\u2060".join(groups(d)),
    "bom": lambda d: "\ufeff".join(groups(d)),
    "superscripts": lambda d: d[:-4] + "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(c)] for c in d[-4:]),
    "line_break": lambda d: "\n".join(groups(d)),
}
_SEPARATORS = re.compile(
    r"%(?:25)?(?:20|2[bBdDfF]|2[eE]|5[fF]|[Cc]2%[Aa]0)|\\u00a0|[\s+\-._/\u2013]|[" + INVISIBLE + "]"
)


def leaks(text: str, digits: str) -> bool:
    """Whether ``digits`` stand in ``text`` in any spelling."""
    flat = unicodedata.normalize("NFKC", text)
    flat = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in flat)
    return digits in _SEPARATORS.sub("", flat)


# -- the detector ------------------------------------------------------------------------------


@pytest.mark.parametrize("card", CARDS)
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_is_found_and_masked(card: str, spelling: str) -> None:
    digits = CARDS[card]
    if spelling == "amex_groups" and len(digits) != 15:
        pytest.skip("the 4-6-5 grouping is Amex's")
    text = f"my card {SPELLINGS[spelling](digits)} was charged"
    assert leaks(text, digits)  # the spelling is what the sweep looks for
    assert find_card_number(text) == digits[-4:]
    masked = mask_card_numbers(text)
    assert not leaks(masked, digits), masked
    assert masked.startswith("my card [card …")
    assert masked.endswith(f"{digits[-4:]}] was charged")


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # fails Luhn: an id
        "transaction 139630889",  # a SegPay transaction id
        "123456789015",  # twelve digits, Luhn-valid: shorter than any card
        "41111111111111111111",  # twenty digits in one run: an identifier, not a card
        "2026-11-20T10:00:00Z",
        "+1-310-664-5810 and 1-800-893-8871",
        "19.99 EUR on 2026-11-20",
        "550e8400-e29b-41d4-a716-446655440000",
        "ph_" + "ab12" * 10,
        "%20%20%20%20%20%20%20%20",
        "",
    ],
)
def test_what_is_not_a_card_is_left_alone(text: str) -> None:
    assert find_card_number(text) is None
    assert mask_card_numbers(text) == text


def test_a_card_followed_by_another_number_is_still_found() -> None:
    assert mask_card_numbers(f"card {' '.join(groups(CARD))} 2026") == "card [card …1111] 2026"
    assert mask_card_numbers(f"ref 1234 {CARD}") == "ref 1234 [card …1111]"


def test_several_cards_are_each_masked() -> None:
    text = f"{CARD}, {CARDS['mastercard']} and {'%20'.join(groups(CARDS['amex15']))}"
    assert mask_card_numbers(text) == "[card …1111], [card …4444] and [card …0005]"


def test_the_digits_inside_a_percent_escape_are_not_the_card() -> None:
    # %20 before the number: its "20" must not be read as the first two digits.
    assert mask_card_numbers(f"q=%20{CARD}%20") == "q=%20[card …1111]%20"


def test_text_without_enough_digits_never_reaches_the_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    class Untouchable:
        def finditer(self, text: str) -> object:
            raise AssertionError("scanned")

    monkeypatch.setattr(redact_module, "_RUN", Untouchable())
    text = "no card here, only 12 digits: 1234 5678 90" * 1
    assert mask_card_numbers(text) == text
    assert find_card_number("x" * 100_000) is None
    with pytest.raises(AssertionError, match="scanned"):
        find_card_number("é" + CARD)  # non-ASCII text is always scanned


def test_short_echo_masks_every_spelling() -> None:
    assert short_echo("%20".join(groups(CARD))) == "'[card …1111]'"


def test_the_invisible_characters_are_every_format_character() -> None:
    invisible = re.compile(f"[{INVISIBLE}]")
    missing = [
        f"U+{code:04X}"
        for code in range(0x110000)
        if unicodedata.category(chr(code)) == "Cf" and not invisible.match(chr(code))
    ]
    assert missing == []


def test_every_character_nfkc_turns_into_a_digit_is_read_as_one() -> None:
    run = re.compile(redact_module._DIGIT)
    missing = [
        f"U+{code:04X}"
        for code in range(0x110000)
        if len(folded := unicodedata.normalize("NFKC", chr(code))) == 1
        and folded.isascii()
        and folded.isdigit()
        and not run.fullmatch(chr(code))
    ]
    assert missing == []


def test_normalize_text_folds_what_reads_the_same() -> None:
    assert normalize_text("ＳＥＧＰＡＹ\u200b＊１") == "SEGPAY*1"  # noqa: RUF001
    assert normalize_text("plain ascii") == "plain ascii"


def test_refuse_card_number_names_the_field_never_the_number() -> None:
    assert refuse_card_number("order-2026-11", "idempotency key") == "order-2026-11"
    with pytest.raises(CardNumberError) as info:
        refuse_card_number("key-" + "+".join(groups(CARD)), "idempotency key")
    assert str(info.value).startswith("idempotency key holds a full card number")
    assert not leaks(str(info.value), CARD)


# -- refused in every field not meant for one ------------------------------------------------------


def _tx(**fields: Any) -> dict[str, Any]:
    return fields


def _dispute(**changes: Any) -> dict[str, Any]:
    return dispute_fields({"transaction_id": "700000002"}, **changes)


#: (model, where the number goes, the field the error names). ``{c}`` is the card number.
FIELDS: list[tuple[type[Any], Callable[[str], dict[str, Any]], str]] = [
    (Transaction, lambda c: {"transaction_id": c}, "transaction_id"),
    (Transaction, lambda c: {"transaction_id": f"TX-{c}"}, "transaction_id"),
    (Transaction, lambda c: {"references": {"member": c}}, "references.member"),
    (Transaction, lambda c: {"descriptor": f"SEGPAY*{c}"}, "descriptor"),
    (Transaction, lambda c: {"card_last4": c}, "card_last4"),
    (LookupQuery, lambda c: {"transaction_id": c}, "transaction_id"),
    (LookupQuery, lambda c: {"references": {"subscription": c}}, "references.subscription"),
    (LookupQuery, lambda c: {"username": c}, "username"),
    (LookupQuery, lambda c: {"card_last4": c}, "card_last4"),
    (DisputeRequest, lambda c: _dispute(**{"tx.transaction_id": c}), "transaction.transaction_id"),
    (DisputeRequest, lambda c: _dispute(**{"tx.descriptor": c}), "transaction.descriptor"),
    (DisputeRequest, lambda c: _dispute(card_last4=c), "card_last4"),
    (
        DisputeRequest,
        lambda c: _dispute(
            attachments=[{"filename": f"receipt {c}.pdf", "content_type": "a/b", "data": b""}]
        ),
        "attachments.0.filename",
    ),
    (BatchTransaction, lambda c: {"ref": c}, "ref"),
]
#: Spellings an email address can hold (no spaces, which the address itself refuses).
EMAIL_SPELLINGS = ["plain", "dashes", "dots", "underscores", "percent_space", "fullwidth"]


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize(
    ("model", "build", "field"), FIELDS, ids=lambda v: getattr(v, "__name__", v)
)
def test_a_card_number_in_an_identifier_field_is_refused(
    model: type[Any], build: Callable[[str], dict[str, Any]], field: str, spelling: str
) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate(build(SPELLINGS[spelling](CARD)), strict=False)
    error = invalid_input(info.value)
    types = {e["type"] for e in info.value.errors()}
    if spelling in ("slashes", "json_nbsp") and field.endswith("filename"):
        # A slash or a backslash in a file name is refused first for that, all the same.
        assert isinstance(error, InvalidInputError)
    else:
        assert CARD_NUMBER_ERROR in types
        assert isinstance(error, CardNumberError)
    assert str(error).startswith(field), str(error)
    assert not leaks(str(error), CARD)
    assert not leaks(str(info.value), CARD)


@pytest.mark.parametrize("spelling", EMAIL_SPELLINGS)
@pytest.mark.parametrize(
    ("model", "build", "field"),
    [
        (LookupQuery, lambda c: {"email": f"{c}@example.org"}, "email"),
        (DisputeRequest, lambda c: _dispute(contact_email=f"{c}@example.org"), "contact_email"),
    ],
    ids=["lookup.email", "dispute.contact_email"],
)
def test_a_card_number_in_an_email_address_is_refused(
    model: type[Any], build: Callable[[str], dict[str, Any]], field: str, spelling: str
) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate(build(SPELLINGS[spelling](CARD)), strict=False)
    error = invalid_input(info.value)
    assert isinstance(error, CardNumberError)
    assert str(error).startswith(field)
    assert not leaks(str(error), CARD)


def test_identifiers_that_look_like_numbers_but_are_not_cards_are_accepted() -> None:
    tx = Transaction.model_validate(
        {
            "transaction_id": "4111111111111112",
            "references": {"member": "2147483647", "purchase": "41111111111111111111"},
            "descriptor": "WTSeTicket.com 800-975-5616",
        },
        strict=False,
    )
    assert tx.transaction_id == "4111111111111112"


@pytest.mark.parametrize("spelling", ["plain", "spaces", "percent_space", "zero_width_each"])
def test_the_customers_message_is_masked_where_it_is_kept_not_refused(spelling: str) -> None:
    # A customer may paste a card number while explaining; refusing would lose the request.
    request = DisputeRequest.model_validate(
        _dispute(message=f"they charged {SPELLINGS[spelling](CARD)} twice"), strict=False
    )
    kept = json.dumps(summary(request), ensure_ascii=False)
    assert not leaks(kept, CARD)
    assert "[card …1111]" in kept


def test_what_a_processor_answers_is_masked_when_the_answer_is_built() -> None:
    spaced = "%20".join(groups(CARD))
    record = PaymentRecord(
        status=PaymentStatus.APPROVED,
        transaction_id=f"T{CARD}",
        raw_status=f"ok for {spaced}",
        descriptor=f"SHOP*{CARD}",
        references={IdKind.MEMBER: CARD},
        decline_code=CARD,
    )
    result = LookupResult(
        processor="segpay",
        status=PaymentStatus.APPROVED,
        source="api",
        records=(record,),
        message=f"card {fullwidth(CARD)}",
    )
    assert not leaks(result.model_dump_json(), CARD)
    assert record.descriptor == "SHOP*[card …1111]"


# -- batches ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def router() -> Router:
    return Payhelp(load_plugins=["segpay", "epoch"]).router


@pytest.mark.parametrize("spelling", ["plain", "spaces", "plus", "percent_space", "fullwidth"])
@pytest.mark.parametrize("field", ["ref", "transaction_id", "descriptor"])
def test_a_batch_line_with_a_card_number_is_an_error_line_without_it(
    router: Router, field: str, spelling: str
) -> None:
    card = SPELLINGS[spelling](CARD)
    line = json.dumps({"ref": "mine-1", "country": "US", field: card}, ensure_ascii=False)
    errors: list[tuple[int, str]] = []
    (out,) = route_lines(router, [line], on_error=lambda n, m: errors.append((n, m)))
    record = json.loads(out)
    assert record["error_type"] == "CardNumberError"
    assert record["error"].startswith(field)
    assert record["ref"] == (None if field == "ref" else "mine-1")
    assert not leaks(out, CARD)
    assert errors
    assert not leaks(errors[0][1], CARD)


def test_a_card_number_in_an_unreadable_line_is_not_echoed(router: Router) -> None:
    lines = ['{"ref": "' + "%20".join(groups(CARD)) + '", oops', json.dumps({CARD: 1})]
    out = "\n".join(route_lines(router, lines))
    assert not leaks(out, CARD)
    assert [json.loads(line)["ref"] for line in out.splitlines()] == [None, None]


def test_a_sane_ref_is_still_echoed(router: Router) -> None:
    (out,) = route_lines(router, [json.dumps({"ref": "order 77", "descriptor": "SEGPAY*X"})])
    assert json.loads(out)["ref"] == "order 77"


@pytest.mark.parametrize("ref", [CARD, int(CARD), "%20".join(groups(CARD))])
def test_a_lookup_batch_ref_with_a_card_number_is_refused(ref: object) -> None:
    with pytest.raises(CardNumberError) as info:
        parse_line(json.dumps({"processor": "epoch", "ref": ref, "member_id": "12"}))
    assert not leaks(str(info.value), CARD)


@pytest.mark.parametrize("field", ["member_id", "transaction_id", "username", "purchase_id"])
def test_a_lookup_batch_id_with_a_card_number_is_refused(field: str) -> None:
    with pytest.raises(CardNumberError) as info:
        parse_line(json.dumps({"processor": "segpay", field: "+".join(groups(CARD))}))
    assert str(info.value).startswith(("references.", field))


@pytest.mark.parametrize("ref", [{"a": 1}, ["x"], "x" * 201, "tab\there", True])
def test_a_lookup_batch_ref_must_be_a_label(ref: object) -> None:
    with pytest.raises(InvalidInputError, match="ref is your own label"):
        parse_line(json.dumps({"processor": "epoch", "ref": ref, "member_id": "12"}))


def test_a_lookup_batch_keeps_a_sane_ref() -> None:
    for ref in ("row 7", 7, None):
        assert parse_line(json.dumps({"processor": "epoch", "ref": ref}))[1] == ref


# -- nothing with a card number reaches a processor ------------------------------------------------


@pytest.fixture
def observed(tmp_path: Path) -> tuple[Payhelp, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    ph = Payhelp(
        load_plugins=["segpay", "epoch", "centrobill"],
        store_url=f"sqlite:///{tmp_path / 'store.db'}",
        outbox=tmp_path / "outbox",
        sandbox_behaviour=Behaviour(observe=seen.append),
    )
    return ph, seen


@pytest.mark.parametrize("processor", ["segpay", "epoch", "centrobill"])
@pytest.mark.parametrize(
    "fields",
    [
        lambda c: {"transaction_id": c},
        lambda c: {"references": {"member": c}},
        lambda c: {"references": {"purchase": c}, "email": "a@example.org"},
        lambda c: {"username": c, "email": "a@example.org"},
    ],
    ids=["transaction_id", "member", "purchase", "username"],
)
@pytest.mark.parametrize("spelling", ["plain", "plus", "percent_space", "fullwidth"])
def test_no_lookup_with_a_card_number_in_an_id_is_sent(
    observed: tuple[Payhelp, list[httpx.Request]],
    processor: str,
    fields: Callable[[str], dict[str, Any]],
    spelling: str,
) -> None:
    ph, seen = observed
    with pytest.raises(InvalidInputError) as info:
        ph.lookup(processor, sandbox=True, **fields(SPELLINGS[spelling](CARD)))
    assert seen == []
    assert not leaks(str(info.value), CARD)


@pytest.mark.parametrize("processor", ["segpay", "epoch", "centrobill"])
def test_no_refund_with_a_card_number_in_an_id_is_sent_or_stored(
    observed: tuple[Payhelp, list[httpx.Request]], processor: str
) -> None:
    ph, seen = observed
    for changes in (
        {"tx.transaction_id": "%20".join(groups(CARD))},
        {"tx.transaction_id": "1", "tx.references": {"member": "+".join(groups(CARD))}},
        {"tx.transaction_id": "1", "tx.descriptor": f"X*{CARD}"},
    ):
        with pytest.raises(InvalidInputError):
            ph.submit_dispute(processor, _dispute(**changes), sandbox=True)
    assert seen == []
    assert ph.disputes(sandbox=True) == []


def test_the_api_raises_card_number_error_for_a_card_in_an_id(
    observed: tuple[Payhelp, list[httpx.Request]],
) -> None:
    # A card number in any field of the embedding API is a CardNumberError, as the docs promise.
    ph, _ = observed
    with pytest.raises(CardNumberError):
        ph.route(transaction_id=CARD)


def test_a_lookup_batch_error_line_echoes_a_sane_ref() -> None:
    # Output comes in completion order: a line refused for its fields still names its ref.
    lines = [
        json.dumps(
            {"ref": "t4", "processor": "segpay", "transaction_id": f"{CARD[:4]}%20{CARD[4:]}"}
        ),
        json.dumps({"ref": "t15", "processor": "segpay", "transaction_id": "1", "extra": "x"}),
        json.dumps({"ref": "t16", "processor": "segpay", "transaction_id": ["not", "text"]}),
    ]

    async def run() -> list[dict[str, object]]:
        ph = AsyncPayhelp(load_plugins=["segpay"])
        try:
            return [json.loads(o) async for o in lookup_lines(ph.sync, lines, sandbox=True)]
        finally:
            await ph.aclose()

    out = asyncio.run(run())
    assert sorted(str(o.get("ref")) for o in out) == ["t15", "t16", "t4"]
    assert all("error" in o for o in out)
