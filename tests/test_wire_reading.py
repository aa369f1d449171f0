"""The wire kit reads a body once: the error mapping's reading (``try_json``/``try_xml``) and the
operation's (``read_json``/``read_xml``) of the same answer share one parse, and nothing else
is ever served from it."""

from __future__ import annotations

import httpx
import pytest

from payhelp import wire
from payhelp.adapters import ProcessorApi
from payhelp.errors import APIResponseValidationError


class Api(ProcessorApi):
    processor = "wirepay"


def answer(body: bytes, content_type: str = "application/json") -> httpx.Response:
    request = httpx.Request("GET", "https://api.wirepay.example/x")
    return httpx.Response(
        200, content=body, headers={"Content-Type": content_type}, request=request
    )


def test_the_operation_reuses_the_error_mappings_json() -> None:
    response = answer(b'{"payment": {"id": "1"}, "code": 0}')
    mapped = wire.try_json(response.content)
    read = wire.read_json(Api(), response)
    assert read == {"payment": {"id": "1"}, "code": 0}
    assert read is mapped


def test_another_body_is_parsed_anew_even_when_equal() -> None:
    first = answer(b'{"a": 1}')
    second = answer(b'{"a": 1}'[:])
    wire.try_json(first.content)
    other = answer(bytes(bytearray(b'{"a": 2}')))
    assert wire.read_json(Api(), other) == {"a": 2}
    assert wire.read_json(Api(), second) == {"a": 1}


@pytest.mark.parametrize(
    ("body", "why"),
    [(b"", "not JSON"), (b"<html>", "not JSON"), (b"[1, 2]", "not a JSON object")],
)
def test_what_is_not_a_json_object_is_still_refused(body: bytes, why: str) -> None:
    response = answer(body)
    assert wire.try_json(response.content) is None
    with pytest.raises(APIResponseValidationError, match=why):
        wire.read_json(Api(), response)


def test_the_operation_reuses_the_error_mappings_xml() -> None:
    response = answer(b"<Response><Status>ok</Status></Response>", "text/xml")
    mapped = wire.try_xml(response.content)
    read = wire.read_xml(Api(), response)
    assert read is mapped
    assert read.findtext("Status") == "ok"


def test_xml_the_error_mapping_refused_is_refused_by_the_operation_too() -> None:
    for body, why in [
        (b"", "empty"),
        (b"<html><body>down</body></html>", "HTML page"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DTD or an entity"),
        (b"<Response><open>", "not well-formed"),
    ]:
        response = answer(body, "text/xml")
        assert wire.try_xml(response.content) is None
        with pytest.raises(APIResponseValidationError, match=why):
            wire.read_xml(Api(), response)
