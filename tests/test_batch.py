"""Streaming batch routing: one line out per line in, errors with line numbers, flat memory."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator

import pytest

from payhelp import Payhelp
from payhelp.batch import MAX_LINE
from payhelp.errors import InvalidInputError

from .conftest import SyntheticPlugin, digits, make_info


def ph() -> Payhelp:
    info = make_info("alpha", ids=(digits("alpha id", 9, 9),), words=("ALPHA",))
    return Payhelp(load_entry_points=False, plugins=[("alpha", SyntheticPlugin(info))])


def test_each_line_gets_an_answer_in_order_and_bad_lines_do_not_stop_the_rest() -> None:
    lines = [
        '{"ref": "a", "transaction_id": "123456789", "country": "IT"}',
        "not json at all",
        "",
        '{"ref": "c", "country": "XX"}',
        '{"ref": "d", "card_last4": "4111111111111111"}',
        "[1, 2]",
        '{"ref": "e", "descriptor": "ALPHA*SHOP"}',
    ]
    out = [json.loads(line) for line in ph().route_batch(lines)]
    assert [o["line"] for o in out] == [1, 2, 4, 5, 6, 7]
    assert out[0]["ref"] == "a"
    assert out[0]["processor"] is None  # a bare id shape alone ranks, but does not decide
    assert out[0]["candidates"][0]["processor"] == "alpha"
    assert "error" in out[1]
    assert "country" in out[2]["error"]
    assert "4111111111111111" not in json.dumps(out[3])
    assert "last four digits" in out[3]["error"]
    assert out[4]["error"] == "not a JSON object"
    assert out[5]["processor"] == "alpha"
    assert out[5]["candidates"][0]["reasons"][0] == "statement descriptor contains 'ALPHA'"


def test_accepts_bytes_lines() -> None:
    out = list(ph().route_batch([b'{"descriptor": "ALPHA*SHOP"}\n']))
    assert json.loads(out[0])["processor"] == "alpha"


def test_unknown_explicit_processor_is_a_line_error() -> None:
    out = json.loads(next(ph().route_batch(['{"ref": "x", "processor": "zeta"}'])))
    assert out["ref"] == "x"
    assert "unknown processor 'zeta'" in out["error"]


def test_memory_stays_flat_however_long_the_stream() -> None:
    payhelp = ph()

    def lines(n: int) -> Iterator[str]:
        for i in range(n):
            yield f'{{"ref": "{i}", "transaction_id": "{100000000 + i}", "country": "DE"}}'

    def peak(n: int) -> int:
        tracemalloc.start()
        for _ in payhelp.route_batch(lines(n)):
            pass
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    peak(100)  # warm caches
    small, large = peak(1_000), peak(20_000)
    assert large < small * 1.5 + 64_000


def test_a_byte_order_mark_does_not_cost_the_first_line() -> None:
    out = [
        json.loads(line)
        for line in ph().route_batch(['\ufeff{"descriptor": "ALPHA"}', b'{"descriptor": "ALPHA"}'])
    ]
    assert [o["processor"] for o in out] == ["alpha", "alpha"]
    utf8_bom = list(ph().route_batch([b'\xef\xbb\xbf{"descriptor": "ALPHA"}\r\n']))
    assert json.loads(utf8_bom[0])["processor"] == "alpha"


def test_error_lines_keep_the_callers_ref() -> None:
    out = json.loads(next(ph().route_batch(['{"ref": "b", "country": "US", "card_last4": "12"}'])))
    assert out["ref"] == "b"
    assert "card_last4" in out["error"]


def test_an_overlong_line_is_an_error_not_a_memory_spike() -> None:
    out = json.loads(next(ph().route_batch(['{"descriptor": "' + "A" * MAX_LINE + '"}'])))
    assert "longer than" in out["error"]


def test_error_callback_is_told_each_failed_line() -> None:
    seen: list[tuple[int, str]] = []
    list(
        ph().route_batch(
            ["{", '{"descriptor": "ALPHA"}', "[]"], on_error=lambda n, m: seen.append((n, m))
        )
    )
    assert [n for n, _ in seen] == [1, 3]


# -- one line format, the API's names, the command line's period -------------------------------


def _route(payhelp: Payhelp, **line: object) -> dict[str, object]:
    answer: dict[str, object] = json.loads(next(payhelp.route_batch([json.dumps(line)])))
    return answer


def test_a_route_line_takes_period_as_route_period_does() -> None:
    payhelp = ph()
    alone = _route(payhelp, descriptor="ALPHA*SHOP", period="monthly")
    assert alone["processor"] == "alpha", alone
    flat = _route(payhelp, descriptor="ALPHA*SHOP", product="subscription", period="annual")
    nested = _route(
        payhelp, descriptor="ALPHA*SHOP", product={"kind": "subscription", "period": "annual"}
    )
    assert flat == nested
    assert _route(payhelp, descriptor="ALPHA*SHOP", product="tip")["processor"] == "alpha"


def test_a_route_line_with_a_period_that_cannot_be_is_an_error_line() -> None:
    payhelp = ph()
    tip = _route(payhelp, ref="t", descriptor="ALPHA*SHOP", product="tip", period="monthly")
    assert tip["ref"] == "t"
    assert "a period is only meaningful for a subscription" in str(tip["error"])
    twice = _route(
        payhelp,
        descriptor="ALPHA*SHOP",
        product={"kind": "subscription", "period": "annual"},
        period="monthly",
    )
    assert "period is given twice" in str(twice["error"])
    assert "Value error" not in str(twice["error"])


def test_a_route_line_takes_references_by_kind() -> None:
    info = make_info("alpha", ids=(digits("alpha id", 9, 9),), words=("ALPHA",))
    payhelp = Payhelp(load_entry_points=False, plugins=[("alpha", SyntheticPlugin(info))])
    out = _route(payhelp, references={"member": "123456789"})
    assert "error" not in out, out


def test_every_batch_has_the_same_line_limit() -> None:
    from payhelp import batch_lookup  # noqa: PLC0415 - the module under comparison

    assert batch_lookup.MAX_LINE == MAX_LINE
    long = '{"descriptor": "' + "A" * MAX_LINE + '"}'
    out = json.loads(next(ph().route_batch([long])))
    assert out["error"] == f"line longer than {MAX_LINE} characters"
    with pytest.raises(InvalidInputError, match=f"^line longer than {MAX_LINE} characters$"):
        batch_lookup.parse_line(long)
    # Characters, not bytes: a line of accented text under the limit is read in both.
    accented = json.dumps({"processor": "epoch", "username": "è" * 100})
    assert batch_lookup.parse_line(accented.encode())[2].username == "è" * 100


def test_a_lookup_line_takes_references_as_the_api_does() -> None:
    from payhelp.batch_lookup import parse_line  # noqa: PLC0415

    line = {"processor": "segpay", "references": {"purchase": "80000102"}, "country": "it"}
    processor, _, query = parse_line(json.dumps(line))
    assert processor == "segpay"
    assert {k.value: v for k, v in query.references.items()} == {"purchase": "80000102"}
    assert query.country == "IT"
    # The first release's names still read the same.
    _, _, older = parse_line(json.dumps({"processor": "segpay", "purchase_id": "80000102"}))
    assert older.references == query.references
    both = {"processor": "segpay", "purchase_id": "1", "references": {"purchase": "2"}}
    with pytest.raises(InvalidInputError, match="given twice"):
        parse_line(json.dumps(both))


def test_a_route_line_takes_an_amount_and_a_purchase_time_as_the_help_shows() -> None:
    # The line format of `route --help` and docs/routing.md: strings for the amount and the
    # time, as route() takes them. Batch lines were validated strictly and refused both.
    line = (
        '{"ref": "t-1", "transaction_id": "123456789", "country": "US", "card_last4": "4242",'
        ' "amount": {"amount": "9.99", "currency": "USD"},'
        ' "purchased_at": "2026-01-01T10:00:00+00:00"}'
    )
    (out,) = (json.loads(o) for o in ph().route_batch([line]))
    assert "error" not in out, out
    assert out["ref"] == "t-1"
    assert out["candidates"][0]["processor"] == "alpha"


def _by_model(payhelp: Payhelp, number: int, text: str) -> dict[str, object]:
    """What a line gave before plain lines skipped the model: the model reads every line."""
    from pydantic import ValidationError  # noqa: PLC0415

    from payhelp._base import invalid_input  # noqa: PLC0415
    from payhelp.batch import BatchTransaction, _ref_of  # noqa: PLC0415
    from payhelp.errors import PayhelpError  # noqa: PLC0415

    try:
        item = BatchTransaction.model_validate_json(text, strict=False)
    except ValidationError as exc:
        error = invalid_input(exc)
        return {"line": number, "ref": _ref_of(text), "error": error.message,
                "error_type": type(error).__name__}  # fmt: skip
    try:
        decision = payhelp.router.decide(item)
    except PayhelpError as exc:
        return {
            "line": number,
            "ref": item.ref,
            "error": str(exc),
            "error_type": type(exc).__name__,
        }
    return {"line": number, "ref": item.ref, **decision.model_dump(mode="json")}


def test_every_line_answers_as_the_model_reading_it_would() -> None:
    from .test_route_fields import INVALID, VALID  # noqa: PLC0415

    payhelp = ph()
    extra = [
        '{"ref": "r", "product": "tip", "country": "US"}',
        '{"ref": "r", "period": "monthly"}',
        '{"ref": "r", "product": "subscription", "period": "annual"}',
        '{"ref": "r", "product": {"kind": "tip"}, "period": "monthly"}',
        '{"ref": "r", "product": {"kind": "subscription", "period": "weekly"}, "period": "annual"}',
        '{"ref": 7, "country": "US"}',
        '{"ref": "4111 1111 1111 1111", "country": "US"}',
        '{"ref": "caf\\u00e9 \\"quoted\\" \\\\ back", "country": "US"}',
        '{"ref": "' + "r" * 201 + '", "country": "US"}',
        '{"ref": null, "processor": "nosuchpay"}',
        '{"ref": "x", "processor": "alpha", "processor": "nope"}',
        '{"ref": "x", "amount": {"amount": 9.99, "currency": "USD"}}',
        '{"ref": "x", "amount": {"amount": NaN, "currency": "USD"}}',
        '{"ref": "x", "transaction_id": "\\ud800"}',
        '{"ref": "x", "country": "US"} trailing',
    ]
    texts = list(extra)
    for n, fields in enumerate(VALID + INVALID):
        try:
            texts.append(json.dumps({"ref": f"v{n}", **fields}))
        except TypeError:
            continue  # a Decimal, a datetime, a model: not a JSON value
    assert len(texts) > len(extra) + 60
    got = [json.loads(line) for line in payhelp.route_batch(texts)]
    expected = [_by_model(payhelp, n, text) for n, text in enumerate(texts, start=1)]
    assert got == expected


def test_plain_lines_are_routed_without_building_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from payhelp.batch import BatchTransaction  # noqa: PLC0415

    payhelp = ph()
    before = [json.loads(o) for o in payhelp.route_batch(['{"ref": "a", "country": "XX"}'])]

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("a plain line was read by the model")

    monkeypatch.setattr(BatchTransaction, "model_validate_json", refuse)
    lines = [
        '{"ref": "a", "transaction_id": "123456789", "country": "IT", "product": "tip"}',
        '{"ref": "b", "descriptor": "ALPHA*SHOP", "amount": {"amount": "1", "currency": "EUR"}}',
        '{"processor": "alpha", "period": "monthly", "card_last4": "4242"}',
    ]
    out = [json.loads(o) for o in payhelp.route_batch(lines)]
    assert [o["processor"] for o in out] == [None, "alpha", "alpha"]
    assert "country" in before[0]["error"]
