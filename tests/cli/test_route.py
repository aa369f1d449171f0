"""``payhelp contacts`` and ``payhelp route``: JSON shapes, tables and the route batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from payhelp.batch import MAX_LINE

from .conftest import (
    assert_one_line_error,
    assert_whole,
    run,
    run_json,
)


def test_contacts_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "contacts", "--processor", "paymentico", "--country", "us", "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["processor"] == "paymentico"
    assert plan["country"] == "US"
    assert [c["kind"] for c in plan["channels"]] == ["email", "onsite_support", "phone"]
    for channel in plan["channels"]:
        assert {"kind", "value", "toll_free", "charges_may_apply", "reason"} <= set(channel)
    assert plan["channels"][2]["toll_free"] is True
    assert isinstance(plan["warnings"], list)
    assert plan["include"]


def test_contacts_language_from_locale(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYHELP_LANGUAGE", raising=False)
    monkeypatch.setenv("LANG", "it_IT.UTF-8")
    _, out, _ = run(capsys, "contacts", "--processor", "paymentico", "--country", "IT", "--json")
    assert json.loads(out)["language"] == "it"
    _, out, _ = run(
        capsys,
        "contacts",
        "--processor",
        "paymentico",
        "--country",
        "IT",
        "--language",
        "en",
        "--json",
    )
    assert json.loads(out)["language"] == "en"


def test_contacts_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "contacts", "--processor", "webbilling", "--country", "DE")
    assert code == 0
    assert "usersupport@webbilling.com" in out


def test_route_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "route", "--descriptor", "EPOCH.COM*LIVESODA", "--country", "US", "--json"
    )
    assert code == 0
    decision = json.loads(out)
    assert decision["processor"] == "epoch"
    assert decision["candidates"][0] == {
        "processor": "epoch",
        "score": decision["candidates"][0]["score"],
        "reasons": decision["candidates"][0]["reasons"],
    }


def test_route_ambiguous_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "route", "--country", "IT", "--json")
    assert code == 0
    decision = json.loads(out)
    assert decision["processor"] is None
    assert decision["ambiguous"] is True
    assert decision["candidates"]


def test_route_period_implies_subscription(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "route", "--country", "US", "--period", "annual", "--json")
    decision = json.loads(out)
    assert decision["processor"] is None  # a product rule alone is a hint, not a decision
    assert decision["candidates"][0]["processor"] == "centrobill"
    assert decision["candidates"][0]["reasons"][0].startswith("recommended for this product")


def test_route_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(
        '{"ref": "1", "descriptor": "SEGPAY.COM*X", "country": "IT"}\n'
        "{broken\n"
        '{"ref": "3", "descriptor": "centrohelp.com"}\n'
    )
    code, out, err = run(capsys, "route", "--batch", str(batch))
    assert code == 2  # a malformed line makes the run fail, after the whole file is done
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3]
    assert rows[0]["processor"] == "segpay"
    assert rows[2]["processor"] == "centrobill"
    assert err.strip().splitlines() == [err.strip()]
    assert err.startswith("payhelp: line 2: ")


def test_route_batch_rejects_extra_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "route", "--batch", "-", "--country", "IT")
    assert code == 2
    assert "give no other fields" in err


def test_text_from_configuration_is_not_read_as_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[processors.webbilling]\nextra_warnings = ["Ask for [/b] help [ref]"]\n')
    code, out, err = run(
        capsys, "--config", str(config), "contacts", "--processor", "webbilling", "--country", "DE"
    )
    assert code == 0, err
    assert "Ask for [/b] help [ref]" in out


# -- values an agent copies are never cut ------------------------------------------------------

PROCESSORS = ("paymentico", "epoch", "segpay", "centrobill", "webbilling", "wtseticket")


@pytest.mark.parametrize("processor", PROCESSORS)
@pytest.mark.parametrize("country", ["US", "IT", "JP", "GB"])
def test_every_contact_value_is_printed_whole(
    capsys: pytest.CaptureFixture[str], screen: str, processor: str, country: str
) -> None:
    plan = run_json(capsys, "contacts", "--processor", processor, "--country", country)
    code, out, err = run(capsys, "contacts", "--processor", processor, "--country", country)
    assert code == 0, err
    assert_whole(out, [channel["value"] for channel in plan["channels"]])
    assert_whole(out, [channel["kind"] for channel in plan["channels"]])
    assert "…" not in out


def test_a_long_contact_value_is_never_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], screen: str
) -> None:
    address = "refunds-and-billing-questions." + "x" * 40 + "@support.example.com"
    config = tmp_path / "c.toml"
    config.write_text(
        f'[processors.webbilling.channels.email]\nvalue = "{address}"\n'
        'provenance = [{source = "our billing team", confidence = "platform", '
        "checked_on = 2026-11-01}]\n"
    )
    code, out, err = run(
        capsys, "--config", str(config), "contacts", "--processor", "webbilling", "--country", "DE"
    )
    assert code == 0, err
    assert_whole(out, [address])
    assert f"contact: {address}" in out  # too long for the table: the rows became a list


# -- --reference, and the batch line in the API's names --------------------------------------


def test_route_takes_an_id_recorded_as_another_kind(capsys: pytest.CaptureFixture[str]) -> None:
    decision = run_json(capsys, "route", "--country", "US", "--reference", "purchase=83476992")
    top = decision["candidates"][0]
    assert top["processor"] == "segpay"
    assert "purchase id has the shape of the SegPay purchase id" in top["reasons"]
    as_transaction = run_json(capsys, "route", "--country", "US", "--transaction-id", "83476992")
    assert as_transaction["candidates"] != decision["candidates"]


@pytest.mark.parametrize("given", ["purchase", "=83476992", "purchase="])
def test_a_reference_without_kind_or_value_is_one_line(
    capsys: pytest.CaptureFixture[str], given: str
) -> None:
    code, out, err = run(capsys, "route", "--country", "US", "--reference", given)
    line = assert_one_line_error(code, out, err)
    assert line.startswith("payhelp: error: --reference takes KIND=VALUE, e.g. subscription="), line


def test_route_batch_lines_read_as_the_command_line_and_the_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(
        '{"ref": "p", "descriptor": "SEGPAY*X", "country": "US", "period": "monthly"}\n'
        "\n"
        '{"ref": "r", "country": "US", "references": {"purchase": "83476992"}}\n'
        '{"ref": "k", "descriptor": "SEGPAY*X", "product": {"kind": "subscription", '
        '"period": "monthly"}, "country": "US"}\n'
    )
    code, out, err = run(capsys, "route", "--batch", str(batch))
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["line"], r["ref"]) for r in rows] == [(1, "p"), (3, "r"), (4, "k")]
    assert rows[0]["processor"] == "segpay"
    assert rows[0]["candidates"] == rows[2]["candidates"]  # period beside product, or inside
    assert rows[1]["candidates"][0]["processor"] == "segpay"
    single = run_json(
        capsys, "route", "--descriptor", "SEGPAY*X", "--country", "US", "--period", "monthly"
    )
    assert single["candidates"] == rows[0]["candidates"]


@pytest.mark.parametrize(
    "command",
    [("route",), ("lookup",), ("decline", "explain"), ("dunning", "plan")],
)
def test_each_batch_line_format_is_in_the_help(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "--batch FILE: one JSON object a line" in flat
    assert '"ref":' in flat
    assert "Blank lines give no output but are counted" in flat
    assert f"At most {MAX_LINE} characters a line" in flat
    for line in out.splitlines():
        assert len(line) <= 80, line
