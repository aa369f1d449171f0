"""The HTTP service under uvicorn on a loopback socket: every endpoint, API keys (rotated
without a restart), problem details, limits, the access log, and notifications applied once."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from payhelp import Payhelp
from payhelp.service import ApiKeys, add_key, create_app, revoke_key
from payhelp.service.app import ACCESS_LOG
from payhelp.service.keys import digest

from .service_support import payhelp_serve, service_app, serving
from .test_notifications import REFUND, SECRET, AcmePlugin

CARD = "4111111111111111"


def make_ph(tmp_path: Path, **kwargs: Any) -> Payhelp:
    return Payhelp(
        load_plugins=["segpay", "centrobill", "epoch", "webbilling"],
        plugins=[("acme", AcmePlugin())],
        store_url=f"sqlite:///{tmp_path / 'svc.db'}",
        outbox=tmp_path / "outbox",
        processors={"acme": {"settings": {"webhook_secret": SECRET}}},
        **kwargs,
    )


class Service:
    def __init__(self, url: str, key: str, keys: Path) -> None:
        self.url = url
        self.key = key
        self.keys = keys
        self.client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is not None:
            kwargs["json"] = body
        return self.client.post(path, **kwargs)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    app, key, keys = service_app(make_ph(tmp_path), tmp_path)
    with serving(app) as url:
        svc = Service(url, key, keys)
        yield svc
        svc.client.close()


def problem_of(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["error"] == error
    assert body["type"] == f"urn:payhelp:problem:{error}"
    return body


def acme(payload: dict[str, Any], secret: str = SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-acme-signature": signature}, body


# -- health, keys, problems ---------------------------------------------------------------------


def test_health_and_readiness_need_no_key(service: Service) -> None:
    assert httpx.get(f"{service.url}/health").json()["status"] == "ok"
    ready = httpx.get(f"{service.url}/ready").json()
    assert ready == {"status": "ready", "processors": 5}


def test_the_api_needs_a_current_key_and_keys_rotate_without_a_restart(
    service: Service,
) -> None:
    path = "/v1/processors"
    problem_of(httpx.get(service.url + path), 401, "AuthenticationError")
    wrong = {"Authorization": "Bearer phk_not-a-key"}
    problem_of(httpx.get(service.url + path, headers=wrong), 401, "AuthenticationError")
    assert httpx.get(service.url + path, headers={"X-API-Key": service.key}).status_code == 200
    second = add_key(service.keys, "second")
    time.sleep(0.01)  # a new modification time
    assert httpx.get(service.url + path, headers={"X-API-Key": second}).status_code == 200
    assert revoke_key(service.keys, "platform")
    problem_of(service.get(path), 401, "AuthenticationError")
    assert httpx.get(service.url + path, headers={"X-API-Key": second}).status_code == 200


def test_a_service_without_keys_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="needs API keys"):
        create_app(make_ph(tmp_path))


def test_errors_are_problem_details_with_payhelp_s_error_names(service: Service) -> None:
    problem_of(service.post("/v1/route", content=b"{not json"), 422, "InvalidInputError")
    problem_of(service.post("/v1/route", content=b"[1]"), 422, "InvalidInputError")
    unknown = service.get("/v1/contacts", params={"processor": "nope", "country": "IT"})
    assert "nope" in problem_of(unknown, 404, "UnknownProcessorError")["detail"]
    problem_of(
        service.get("/v1/contacts", params={"processor": "segpay"}), 422, "InvalidInputError"
    )
    problem_of(service.get("/v1/nothing"), 404, "NotFound")
    problem_of(service.client.delete("/v1/route"), 405, "MethodNotAllowed")
    card = service.post("/v1/route", {"transaction_id": CARD})
    body = problem_of(card, 422, "CardNumberError")
    assert CARD not in card.text
    assert body["maybe_applied"] is False


def test_a_body_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    app, key, _ = service_app(make_ph(tmp_path), tmp_path, max_body=2048)
    with serving(app) as url:
        headers = {"Authorization": f"Bearer {key}"}
        big = httpx.post(f"{url}/v1/route", headers=headers, content=b" " * 4096)
        problem_of(big, 413, "BodyTooLarge")

        def chunks() -> Iterator[bytes]:
            for _ in range(8):
                yield b" " * 1024

        streamed = httpx.post(f"{url}/v1/route", headers=headers, content=chunks())
        problem_of(streamed, 413, "BodyTooLarge")
        fine = httpx.post(f"{url}/v1/route", headers=headers, json={"descriptor": "SEGPAY*X"})
        assert fine.status_code == 200


def test_a_request_that_takes_too_long_gets_504(tmp_path: Path) -> None:
    app, key, _ = service_app(make_ph(tmp_path), tmp_path, timeout=0.5)
    with serving(app) as url:
        slow = httpx.post(
            f"{url}/v1/lookups",
            headers={"Authorization": f"Bearer {key}"},
            json={"processor": "centrobill", "sandbox": True, "transaction_id": "511170002"},
            timeout=30,
        )
        problem_of(slow, 504, "Timeout")


# -- every endpoint ------------------------------------------------------------------------------


def test_processors_plugins_and_contacts(service: Service) -> None:
    ids = {p["id"] for p in service.get("/v1/processors").json()}
    assert ids == {"segpay", "centrobill", "epoch", "webbilling", "acme"}
    plugins = {p["name"]: p for p in service.get("/v1/plugins").json()}
    assert plugins["segpay"]["processors"] == ["segpay"]
    plan = service.get("/v1/contacts", params={"processor": "segpay", "country": "IT"}).json()
    assert plan["channels"][0]["value"] == "help@segpay.com"
    italian = service.get(
        "/v1/contacts", params={"processor": "segpay", "country": "IT", "language": "it"}
    ).json()
    assert italian["language"] == "it"


def test_route_and_route_batch(service: Service) -> None:
    decision = service.post("/v1/route", {"descriptor": "SEGPAY*SITE", "country": "IT"}).json()
    assert decision["processor"] == "segpay"
    lines = b'{"ref": "a", "descriptor": "SEGPAY*X"}\n\n{"ref": "b", "country": 5}\nnot json\n'
    answer = service.post(
        "/v1/route/batch", content=lines, headers={"content-type": "application/x-ndjson"}
    )
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    out = [json.loads(line) for line in answer.text.splitlines()]
    assert [o["line"] for o in out] == [1, 3, 4]
    assert out[0]["processor"] == "segpay"
    assert out[0]["ref"] == "a"
    assert "error" in out[1]
    assert "error" in out[2]


def test_policies(service: Service) -> None:
    refund = service.post(
        "/v1/refunds/check",
        {
            "product": "token_purchase",
            "purchased_at": "2026-12-01T10:00:00Z",
            "now": "2026-12-01T11:00:00Z",
            "language": "it",
        },
    )
    assert refund.status_code == 200, refund.text
    assert refund.json()["decision"]
    advice = service.post("/v1/declines/explain", {"code": "51", "scheme": "iso8583"}).json()
    assert advice["reason"] == "insufficient_funds"
    plan = service.post(
        "/v1/dunning/plan",
        {"failed_at": "2026-12-01T10:00:00Z", "code": "51", "scheme": "iso8583"},
    )
    assert plan.status_code == 200, plan.text
    assert plan.json()["attempts"]
    odd = service.post("/v1/declines/explain", {"code": "51", "scheme": "iso8583", "x": 1})
    problem_of(odd, 422, "InvalidInputError")


def test_lookup_through_the_sandbox(service: Service) -> None:
    found = service.post(
        "/v1/lookups",
        {"processor": "centrobill", "sandbox": True, "transaction_id": "511170001"},
    )
    assert found.status_code == 200, found.text
    assert found.json()["records"]
    missing = service.post(
        "/v1/lookups",
        {"processor": "centrobill", "sandbox": True, "transaction_id": "511179404"},
    )
    assert missing.status_code in (200, 404, 502), missing.text


def test_dispute_submit_is_idempotent_and_listed(service: Service) -> None:
    request = {
        "processor": "webbilling",
        "transaction": {"transaction_id": "TX-1"},
        "reason": "duplicate_charge",
        "message": f"Charged twice, card {CARD}.",
        "contact_email": "customer@example.org",
        "attachments": [
            {
                "filename": "receipt.pdf",
                "content_type": "application/pdf",
                "data": base64.b64encode(b"%PDF-1.4").decode(),
            }
        ],
    }
    headers = {"Idempotency-Key": "order-77"}
    first = service.post("/v1/disputes", request, headers=headers)
    assert first.status_code == 201, first.text
    again = service.post("/v1/disputes", request, headers=headers)
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    other = service.post("/v1/disputes", {**request, "reason": "not_recognised"}, headers=headers)
    problem_of(other, 409, "IdempotencyConflictError")
    listed = service.get("/v1/disputes").json()
    assert [d["idempotency_key"] for d in listed] == ["order-77"]
    shown = service.get("/v1/disputes/order-77").json()
    assert shown["status"] == "prepared"
    assert CARD not in json.dumps(shown)
    problem_of(service.get("/v1/disputes/none-such"), 422, "InvalidInputError")


def test_notifications_confirm_a_submission_and_repeat_harmlessly(service: Service) -> None:
    request = {
        "processor": "acme",
        "transaction": {"transaction_id": "TX-1001"},
        "reason": "duplicate_charge",
        "message": "Charged twice.",
        "contact_email": "customer@example.org",
    }
    receipt = service.post("/v1/disputes", request).json()
    headers, body = acme(REFUND)
    url = f"{service.url}/v1/notifications/acme"
    first = httpx.post(url, headers=headers, content=body)  # no API key: the signature counts
    assert (first.status_code, first.text) == (200, "OK")
    assert httpx.post(url, headers=headers, content=body).status_code == 200
    forged_headers, _ = acme(REFUND, secret="guess")
    assert httpx.post(url, headers=forged_headers, content=body).status_code == 403
    shown = service.get(f"/v1/disputes/{receipt['idempotency_key']}").json()
    assert shown["status"] == "confirmed"
    assert shown["confirmation"]["event"]["event_id"] == "evt_1"
    events = service.get("/v1/events").json()
    assert sorted(e["status"] for e in events) == ["applied", "refused"]
    assert service.get("/v1/events", params={"status": "refused"}).json()[0]["reason"] == (
        "signature"
    )
    chargeback_headers, chargeback = acme({"id": "cb1", "type": "chargeback", "sale": "TX-7"})
    assert httpx.post(url, headers=chargeback_headers, content=chargeback).status_code == 200
    (listed,) = service.get("/v1/chargebacks").json()
    assert listed["event"]["related_transaction_id"] == "TX-7"
    problem_of(
        httpx.post(f"{service.url}/v1/notifications/nope", content=b"{}"),
        404,
        ("UnknownProcessorError"),
    )
    problem_of(
        httpx.post(f"{service.url}/v1/notifications/webbilling", content=b"{}"),
        422,
        "CapabilityError",
    )


def test_a_thousand_identical_deliveries_are_applied_exactly_once(
    tmp_path: Path,
) -> None:
    seen: list[str] = []
    ph = make_ph(tmp_path, on_event=lambda event, confirmed: seen.append(event.event_id))
    app, _, _ = service_app(ph, tmp_path)
    headers, body = acme({**REFUND, "id": "evt_once"})

    async def flood(url: str) -> list[int]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            gate = asyncio.Semaphore(50)

            async def one() -> int:
                async with gate:
                    response = await client.post(url, headers=headers, content=body)
                    return response.status_code

            return await asyncio.gather(*(one() for _ in range(1000)))

    with serving(app) as url:
        codes = asyncio.run(flood(f"{url}/v1/notifications/acme"))
    assert codes == [200] * 1000
    assert seen == ["evt_once"]
    applied = ph.events(status="applied")
    assert [e.event.event_id for e in applied if e.event] == ["evt_once"]


def test_the_access_log_holds_no_query_string_card_or_secret(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    headers, body = acme(REFUND)
    httpx.post(
        f"{service.url}/v1/notifications/acme?token=s3cret-token&pan={CARD}",
        headers=headers,
        content=body,
    )
    service.get("/v1/contacts", params={"processor": "segpay", "country": "IT"})
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOG.name]
    assert any("/v1/notifications/{processor}" in line for line in lines), lines
    assert any("GET /v1/contacts 200" in line and "key=platform" in line for line in lines)
    text = "\n".join(lines)
    for secret in ("s3cret-token", CARD, service.key, "segpay&"):
        assert secret not in text


def test_openapi_lists_every_endpoint_from_the_models(service: Service) -> None:
    document = httpx.get(f"{service.url}/openapi.json").json()
    paths = set(document["paths"])
    for path in (
        "/health",
        "/ready",
        "/v1/processors",
        "/v1/plugins",
        "/v1/contacts",
        "/v1/route",
        "/v1/route/batch",
        "/v1/refunds/check",
        "/v1/declines/explain",
        "/v1/dunning/plan",
        "/v1/lookups",
        "/v1/disputes",
        "/v1/disputes/{id_or_key}",
        "/v1/events",
        "/v1/chargebacks",
        "/v1/notifications/{processor}",
    ):
        assert path in paths
    schemas = document["components"]["schemas"]
    assert {"RouteDecision", "ContactPlan", "Problem", "TransactionIn"} <= set(schemas)
    route = document["paths"]["/v1/route"]["post"]
    assert route["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TransactionIn"
    }
    assert "422" in route["responses"]
    assert "401" in route["responses"]


def test_payhelp_serve_runs_the_service_on_a_socket(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    key = add_key(keys, "ops")
    printed: list[str] = []
    env = {**_env(), "PAYHELP_STORE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    with payhelp_serve("--api-keys", str(keys), env=env, output=printed) as url:
        answer = httpx.post(
            f"{url}/v1/route",
            headers={"Authorization": f"Bearer {key}"},
            json={"descriptor": "EPOCH*SITE"},
        )
        assert answer.json()["processor"] == "epoch"
        httpx.get(f"{url}/v1/contacts?processor=segpay&country=IT", headers={"X-API-Key": key})
    (out,) = printed
    assert "POST /v1/route 200" in out
    assert "country=IT" not in out  # payhelp's access log, not uvicorn's, which has the query


def test_payhelp_serve_without_keys_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "payhelp", "serve", "--port", "1"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "needs API keys" in done.stderr


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PAYHELP_")}


def _cli(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "payhelp", *args],
        env={**_env(), "PAYHELP_STORE_URL": f"sqlite:///{store}", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_sandbox_refund_is_confirmed_by_the_sandbox_s_own_notification(tmp_path: Path) -> None:
    # The whole loop as an integrator meets it: a refund through the sandbox's API (over the
    # service), the IPN the sandbox sends for that credit (payhelp sandbox notify, over HTTP to
    # the service's receiver), and the submission confirmed in `payhelp dispute show`.
    store = tmp_path / "e2e.db"
    ph = Payhelp(load_plugins=["centrobill"], sandbox=True, store_url=f"sqlite:///{store}")
    app, key, _ = service_app(ph, tmp_path)
    with serving(app) as url:
        headers = {"Authorization": f"Bearer {key}"}
        sent = httpx.post(
            f"{url}/v1/disputes",
            headers=headers,
            json={
                "processor": "centrobill",
                "transaction": {"transaction_id": "511170001"},
                "reason": "duplicate_charge",
                "message": "Charged twice.",
                "contact_email": "customer@example.org",
            },
        )
        assert sent.status_code == 201, sent.text
        receipt = sent.json()
        assert (receipt["channel"], receipt["status"]) == ("api", "sent")
        receiver = f"{url}/v1/notifications/centrobill"
        notify = _cli(
            "sandbox",
            "notify",
            "--processor",
            "centrobill",
            "--kind",
            "refund",
            "--transaction-id",
            receipt["reference"],
            "--url",
            receiver,
            store=store,
        )
        assert notify.stdout.strip() == "HTTP 200: OK", notify.stderr
        chargeback = _cli(
            "sandbox",
            "notify",
            "--processor",
            "centrobill",
            "--kind",
            "chargeback",
            "--transaction-id",
            "511170401",
            "--url",
            receiver,
            store=store,
        )
        assert chargeback.returncode == 0, chargeback.stderr
    shown = _cli("dispute", "show", receipt["idempotency_key"], "--sandbox", store=store)
    record = json.loads(shown.stdout)
    assert record["status"] == "confirmed"
    assert record["confirmation"]["event"]["kind"] == "refund"
    assert record["confirmation"]["event"]["transaction_id"] == receipt["reference"]
    listed = _cli("dispute", "list", "--sandbox", store=store)
    assert "confirmed" in listed.stdout
    assert "Chargebacks reported by the processors" in listed.stdout
    assert "511170401" in listed.stdout


def test_a_rotated_key_file_is_read_again_even_with_the_same_size_and_time(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.txt"
    old, new = "phk_" + "a" * 43, "phk_" + "b" * 43
    path.write_text(f"ops sha256:{digest(old)}\n")
    keys = ApiKeys(path)
    assert keys.name_of(old) == "ops"
    stat = path.stat()
    path.write_text(f"ops sha256:{digest(new)}\n")  # the same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the time copied back (cp -p)
    assert keys.name_of(new) == "ops"
    assert keys.name_of(old) is None


def test_reconcile_over_http(service: Service) -> None:
    request = {
        "processor": "centrobill",
        "transaction": {"transaction_id": "511170301", "country": "IT"},
        "reason": "duplicate_charge",
        "message": "Charged twice.",
        "contact_email": "customer@example.org",
        "channel": "email",
        "sandbox": True,
    }
    assert service.post("/v1/disputes", request).status_code == 201
    found = service.post("/v1/disputes/reconcile", params={"sandbox": "true", "due_days": 0})
    assert found.status_code == 200, found.text
    (item,) = found.json()
    assert (item["state"], item["checked_with"]) == ("confirmed", "api")
    bad = service.post("/v1/disputes/reconcile", params={"due_days": -1})
    problem_of(bad, 422, "InvalidInputError")
