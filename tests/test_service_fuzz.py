"""The OpenAPI document fuzzed by schemathesis against the service under uvicorn on a socket:
for every operation, generated requests (valid and not) never get a server error, and every
answer is one the document lists, with the media type and the schema it gives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from payhelp import Payhelp

from .service_support import service_app, serving
from .test_notifications import SECRET, AcmePlugin


@schemathesis.serializer("application/x-ndjson")
def _json_lines(ctx: object, value: object) -> bytes:
    """A batch's body: text as it is (any other value as one JSON line)."""
    return (
        value.encode("utf-8", "replace") if isinstance(value, str) else json.dumps(value).encode()
    )


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    ph = Payhelp(
        load_plugins=["segpay", "centrobill", "epoch", "webbilling"],
        plugins=[("acme", AcmePlugin())],
        store_url=f"sqlite:///{tmp / 'fuzz.db'}",
        outbox=tmp / "outbox",
        sandbox=True,  # lookups and submissions go to the in-process sandboxes, never out
        processors={"acme": {"settings": {"webhook_secret": SECRET}}},
    )
    app, key, _ = service_app(ph, tmp, timeout=10)
    with serving(app) as url:
        yield url, key


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_and_no_undocumented_answer(
    service: tuple[str, str], mode: GenerationMode
) -> None:
    url, key = service
    api = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 17  # every endpoint is fuzzed, the receivers' two methods too
    fuzzed = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Case) -> None:
            case.call_and_validate(
                base_url=url, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS, timeout=30
            )

        try:
            fuzz()
        except Unsatisfiable:
            # Nothing to get wrong: an operation with no parameter or body (GET /health) has
            # no negative input.
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        fuzzed += 1
    assert fuzzed >= (17 if mode is GenerationMode.POSITIVE else 12)
