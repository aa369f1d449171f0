"""The CLI: JSON shapes, tables, one-line errors with exit code 2, batch mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from payhelp.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_processors_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "processors", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {p["id"] for p in data} == {
        "paymentico",
        "epoch",
        "segpay",
        "centrobill",
        "webbilling",
        "wtseticket",
    }
    for item in data:
        assert {"id", "name", "capabilities"} <= set(item)


def test_processors_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "processors")
    assert code == 0
    assert "Paymentico" in out


def test_plugins_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    data = {p["name"]: p for p in json.loads(out)}
    assert data["epoch"]["version"] == "0.1.0"
    assert data["epoch"]["hooks"] == [
        "payhelp_adapter",
        "payhelp_register_processors",
        "payhelp_sandbox",
    ]
    assert data["epoch"]["error"] is None
    assert "payhelp.builtin" in data


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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("contacts", "--processor", "nope", "--country", "IT"), "unknown processor 'nope'"),
        (("contacts", "--processor", "epoch", "--country", "XX"), "invalid country 'XX'"),
        (("contacts", "--processor", "epoch"), "Missing option '--country'"),
        (
            ("contacts", "--processor", "epoch", "--country", "IT", "--language", "fr"),
            "'fr' is not one of",
        ),
        (("route", "--country", "IT", "--processor", "nope"), "unknown processor 'nope'"),
        (("route", "--descriptor", "X"), "Missing option '--country'"),
        (("route", "--batch", "/nonexistent/file.jsonl"), "cannot read batch file"),
        (("frobnicate",), "No such command 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("payhelp: error: ")
    assert message in lines[0]
    assert "Traceback" not in err


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


def test_bad_config_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[payhelp]\nlanguage = 'xx'\n")
    code, _, err = run(capsys, "--config", str(config), "processors")
    assert code == 2
    assert err.count("\n") == 1
    assert "invalid configuration" in err


def test_console_script_runs_as_a_real_process() -> None:
    env = {**os.environ, "PAYHELP_LANGUAGE": "en"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "payhelp",
            "contacts",
            "--processor",
            "segpay",
            "--country",
            "JP",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["channels"][0]["kind"] == "email"
    bad = subprocess.run(
        [sys.executable, "-m", "payhelp", "contacts", "--processor", "segpay", "--country", "ZZ"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1


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


def test_batch_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text('{"descriptor": "SEGPAY"}\n' * 20000)
    done = subprocess.run(
        f"{sys.executable} -m payhelp route --batch {batch} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(done.stdout)["processor"] == "segpay"
    assert "Traceback" not in done.stderr
    assert done.stderr == ""
