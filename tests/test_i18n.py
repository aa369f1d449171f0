"""Catalogues: every marked text exists in both languages; language tags parse."""

from __future__ import annotations

from pathlib import Path

import pytest

import payhelp
from payhelp.catalogues import check
from payhelp.i18n import Msg, parse_language, render


def test_core_catalogues_are_complete() -> None:
    assert check(Path(payhelp.__file__).parent, "payhelp") == []


def test_a_missing_translation_is_reported(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "m.py").write_text('from x import N_\nA = N_("Hello there")\n')
    gaps = check(package, "pkg")
    assert {(g.language, g.msgid) for g in gaps} == {("en", "Hello there"), ("it", "Hello there")}


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("it", "it"),
        ("it_IT.UTF-8", "it"),
        ("en-GB", "en"),
        ("fr_FR", "en"),
        ("", "en"),
        (None, "en"),
        ("C", "en"),
    ],
)
def test_parse_language(tag: str | None, language: str) -> None:
    assert parse_language(tag) == language


def test_render_falls_back_to_english_source() -> None:
    assert render(Msg(domain="payhelp", msgid="never translated"), "it") == "never translated"
    assert render({"en": "hi", "it": "ciao"}, "it") == "ciao"
    assert render({"en": "hi"}, "it") == "hi"
    assert render("plain", "it") == "plain"
