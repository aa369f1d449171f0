"""The catalogue tool a plugin author runs: update keeps the plugin's header and changes nothing
when nothing is new; fill takes the documented JSON table; bad input is one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from payhelp import catalogues
from payhelp.scaffold import new_plugin

DOCS = Path(__file__).parent.parent / "docs"


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return new_plugin("acmepay", tmp_path, name="Acme Pay", api=False) / "src" / "payhelp_acmepay"


def po(package: Path, language: str) -> Path:
    return catalogues.po_path(package, "payhelp_acmepay", language)


def header(text: str) -> str:
    return text.split("\n\n", 1)[0]


def header_lines(text: str) -> set[str]:
    """The header's lines, without the one naming the Babel version that wrote the file."""
    return {line for line in header(text).splitlines() if "Generated-By" not in line}


def test_update_keeps_the_plugin_header_and_changes_nothing_when_nothing_is_new(
    package: Path,
) -> None:
    italian = po(package, "it")
    italian.write_text(
        italian.read_text().replace(
            "Last-Translator: payhelp-acmepay maintainers", "Last-Translator: Maria Rossi"
        )
    )
    before = {language: po(package, language).read_text() for language in ("en", "it")}
    catalogues.update(package, "payhelp_acmepay")
    for language in ("en", "it"):
        after = po(package, language).read_text()
        assert header_lines(after) == header_lines(before[language])
        assert "payhelp maintainers" not in after  # never payhelp's own header
    assert '"Last-Translator: Maria Rossi\\n"' in po(package, "it").read_text()
    settled = {language: po(package, language).read_text() for language in ("en", "it")}
    catalogues.update(package, "payhelp_acmepay")
    assert {language: po(package, language).read_text() for language in ("en", "it")} == settled


def test_a_new_text_is_added_with_the_header_kept(package: Path) -> None:
    data = package / "data.py"
    data.write_text(
        data.read_text().replace(
            'N_("The date and amount of the charge"),',
            'N_("The date and amount of the charge"),\n        N_("Your Acmepay order number"),',
        )
    )
    before = po(package, "it").read_text()
    catalogues.update(package, "payhelp_acmepay")
    italian = po(package, "it").read_text()
    assert header_lines(italian) == header_lines(before)
    assert 'msgid "Your Acmepay order number"\nmsgstr ""' in italian
    assert [gap.msgid for gap in catalogues.check(package, "payhelp_acmepay")] == [
        "Your Acmepay order number"
    ]


def test_the_guides_translation_example_runs_as_written(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example in docs/plugins.md: mark a text, update, fill from a JSON table, check."""
    guide = (DOCS / "plugins.md").read_text(encoding="utf-8")
    table_text = re.search(r"```json\n(.*?)```", guide, re.DOTALL)
    assert table_text is not None, "docs/plugins.md shows the fill table as a ```json block"
    table = json.loads(table_text.group(1))
    data = package / "data.py"
    data.write_text(
        data.read_text().replace(
            'N_("The date and amount of the charge"),',
            'N_("The date and amount of the charge"),\n'
            + "".join(f"        N_({json.dumps(msgid)}),\n" for msgid in table),
        )
    )
    monkeypatch.chdir(package.parent.parent)
    path = tmp_path / "it.json"
    path.write_text(table_text.group(1), encoding="utf-8")
    for command in re.findall(r"^python -m payhelp\.catalogues (.+)$", guide, re.MULTILINE):
        words = command.replace("it.json", str(path)).split()
        assert catalogues.main(words) == 0, command
    assert catalogues.check(package, "payhelp_acmepay") == []


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('{"Nobody marked this": "Nessuno"}', "'Nobody marked this' is not in"),
        ('["a", "b"]', "must hold one JSON object"),
        ("{not json", "is not JSON"),
        ('{"The date and amount of the charge": 3}', "both text"),
    ],
)
def test_fill_refuses_bad_input_in_one_line(
    package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, says: str
) -> None:
    path = tmp_path / "table.json"
    path.write_text(table, encoding="utf-8")
    assert catalogues.main(["fill", str(package), "payhelp_acmepay", "it", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert says in err


def test_fill_refuses_a_language_payhelp_does_not_speak(package: Path, tmp_path: Path) -> None:
    path = tmp_path / "table.json"
    path.write_text("{}", encoding="utf-8")
    assert catalogues.main(["fill", str(package), "payhelp_acmepay", "fr", str(path)]) == 2
    assert catalogues.main(["update", str(tmp_path / "nowhere"), "payhelp_acmepay"]) == 2
