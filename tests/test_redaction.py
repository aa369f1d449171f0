"""Card numbers and secrets never come back out: errors, JSON error lines, reprs, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from payhelp import InvalidInputError, Payhelp, Settings, UnknownProcessorError
from payhelp.cli import main
from payhelp.redact import luhn_valid, mask_card_numbers, short_echo

CARD = "4111111111111111"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"card {CARD} here", "card [card …1111] here"),
        ("4111 1111 1111 1111", "[card …1111]"),
        ("4111-1111-1111-1111", "[card …1111]"),
        ("5555555555554444/x", "[card …4444]/x"),
        ("4111111111111112", "4111111111111112"),  # fails Luhn: an id, not a card
        ("transaction 139630889", "transaction 139630889"),  # too short to be a card
        ("", ""),
    ],
)
def test_mask_card_numbers(text: str, expected: str) -> None:
    assert mask_card_numbers(text) == expected


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


def test_short_echo_cuts_and_masks() -> None:
    assert short_echo(CARD) == "'[card …1111]'"
    assert len(short_echo("x" * 500, 40)) <= 42


def test_country_error_does_not_echo_a_card() -> None:
    with pytest.raises(InvalidInputError) as info:
        Payhelp(load_plugins=["epoch"]).contacts("epoch", CARD)
    assert CARD not in str(info.value)


def test_unknown_processor_error_does_not_echo_a_card() -> None:
    with pytest.raises(UnknownProcessorError) as info:
        Payhelp(load_plugins=["epoch"]).contacts(CARD, "US")
    assert CARD not in str(info.value)
    assert "…1111" in str(info.value)


def test_batch_error_lines_do_not_echo_card_numbers_in_keys_or_refs() -> None:
    ph = Payhelp(load_plugins=["epoch"])
    lines = [
        f'{{"{CARD}": 1}}',
        f'{{"references": {{"{CARD}": "x"}}}}',
        f'{{"ref": "{CARD}", "card_last4": "{CARD}"}}',
    ]
    out = "\n".join(ph.route_batch(lines))
    assert CARD not in out
    assert [json.loads(line)["line"] for line in out.splitlines()] == [1, 2, 3]


def test_processor_settings_are_never_in_reprs_or_dumps(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[processors.epoch.settings]\napi_key = "SECRETKEY123"\n')
    settings = Settings.load(config)
    assert "SECRETKEY123" not in repr(settings)
    assert "SECRETKEY123" not in settings.model_dump_json()
    assert settings.processors["epoch"].settings == {"api_key": "SECRETKEY123"}


def test_cli_never_prints_a_card_number(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["contacts", "--processor", "epoch", "--country", CARD],
        ["contacts", "--processor", CARD, "--country", "US"],
        ["route", "--country", "US", "--card-last4", CARD],
    ):
        with pytest.raises(SystemExit):
            main(args)
        out, err = capsys.readouterr()
        assert CARD not in out + err
