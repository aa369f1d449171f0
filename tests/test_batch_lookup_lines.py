"""A batch lookup's output line is written straight from the answer's JSON: the same bytes as
dumping the answer to Python objects and back, for every sandbox case of every processor with an
API, for the answers of processors without one (in English and Italian), and for every kind of
``ref``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payhelp.api import Payhelp
from payhelp.batch_lookup import answer_line
from payhelp.cases import LookupResult
from payhelp.errors import PayhelpError


def _slow(json_line: Any) -> str:
    return json.dumps(json_line, ensure_ascii=False, separators=(",", ":"))


def _answers() -> list[LookupResult]:
    ph = Payhelp()
    found: list[LookupResult] = []
    for info in ph.processors():
        box = ph.host.sandbox(info)
        if box is None:
            found.extend(
                ph.lookup(info.id, email="a@example.com", country="IT", language=language)  # type: ignore[arg-type]
                for language in ("en", "it")
            )
            continue
        for case, ident in box.cases().items():
            if case in {"slow", "failing", "not_found", "truncated"}:
                continue
            try:
                found.append(ph.lookup(info.id, transaction_id=ident, sandbox=True))
            except PayhelpError:  # a case that answers with an error
                continue
    ph.close()
    return found


ANSWERS = _answers()


def test_there_are_answers_to_compare() -> None:
    assert len(ANSWERS) >= 10
    assert {a.source for a in ANSWERS} >= {"sandbox"}


@pytest.mark.parametrize("ref", [None, 7, -12, "order 42", "ordine è già", 'a "quoted" ref'])
def test_the_line_is_the_answers_json_with_line_and_ref(ref: Any) -> None:
    for number, result in enumerate(ANSWERS, start=1):
        body = {"line": number, **result.model_dump(mode="json", exclude_none=True)}
        if ref is not None:
            body["ref"] = ref
        assert answer_line(number, result.model_dump_json(exclude_none=True), ref) == _slow(body)


def test_an_empty_answer_still_makes_a_line() -> None:
    assert answer_line(3, "{}") == '{"line":3}'
    assert answer_line(3, "{}", "r") == '{"line":3,"ref":"r"}'
