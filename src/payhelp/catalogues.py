"""Keeping every package's gettext catalogues complete, with Babel.

``python -m payhelp.catalogues update SRC_DIR DOMAIN`` extracts each text marked ``N_("…")``
under ``SRC_DIR/<package>`` and adds what is missing to ``locale/{en,it}/LC_MESSAGES/DOMAIN.po``
(English entries are filled with the source text; Italian ones are left empty for a translator,
who fills them by hand or with ``… fill SRC_DIR DOMAIN it table.json``, a JSON object of
``msgid: translation``).
``… check SRC_DIR DOMAIN`` exits non-zero listing every text missing in a language; the test suite
runs the same check for the core and every plugin.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from payhelp.i18n import LANGUAGES

KEYWORDS = {"N_": None}


@dataclass(frozen=True)
class Gap:
    """A marked text that a catalogue lacks."""

    language: str
    msgid: str
    where: str


def extract(package_dir: Path) -> dict[str, str]:
    """Every text marked with ``N_`` under ``package_dir``, mapped to its first location."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(package_dir), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        if isinstance(message, str):
            found.setdefault(message, f"{filename}:{lineno}")
    return found


def po_path(package_dir: Path, domain: str, language: str) -> Path:
    """Where a domain's catalogue for ``language`` lives."""
    return package_dir / "locale" / language / "LC_MESSAGES" / f"{domain}.po"


def _read(path: Path, language: str, domain: str) -> Catalog:
    if not path.is_file():
        return Catalog(locale=language, domain=domain)
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=domain)


def check(package_dir: Path, domain: str) -> list[Gap]:
    """Texts marked in code but missing (or empty, or fuzzy) in a language's catalogue."""
    marked = extract(package_dir)
    gaps: list[Gap] = []
    for language in LANGUAGES:
        catalog = _read(po_path(package_dir, domain, language), language, domain)
        for msgid, where in marked.items():
            entry = catalog.get(msgid)
            if entry is None or not entry.string or entry.fuzzy:
                gaps.append(Gap(language, msgid, where))
    return gaps


def update(package_dir: Path, domain: str) -> None:
    """Add every marked text missing from the catalogues; drop texts no longer marked."""
    marked = extract(package_dir)
    for language in LANGUAGES:
        path = po_path(package_dir, domain, language)
        old = _read(path, language, domain)
        new = Catalog(
            locale=language,
            domain=domain,
            project="payhelp",
            version="1",
            copyright_holder="payhelp maintainers",
            msgid_bugs_address="payhelp maintainers",
            language_team=f"payhelp {language}",
            last_translator="payhelp maintainers",
            # Keep dates stable so that an update with nothing new changes no file.
            creation_date=old.creation_date if path.is_file() else None,
            revision_date=old.revision_date if path.is_file() else None,
            fuzzy=False,
        )
        for msgid in marked:
            entry = old.get(msgid)
            string = entry.string if entry is not None and entry.string else ""
            if language == "en" and not string:
                string = msgid
            new.add(msgid, string)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, new, width=100, omit_header=False, sort_output=False, no_location=True)


def fill(package_dir: Path, domain: str, language: str, table: dict[str, str]) -> list[str]:
    """Set translations from ``table`` (msgid to text); return the msgids still untranslated.
    Raises ``KeyError`` for a msgid the catalogue does not have (run ``update`` first)."""
    path = po_path(package_dir, domain, language)
    catalog = _read(path, language, domain)
    for msgid, text in table.items():
        entry = catalog.get(msgid)
        if entry is None:
            raise KeyError(f"{msgid!r} is not in {path}; run update first")
        entry.string = text
        entry.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=False, no_location=True)
    return [str(m.id) for m in catalog if m.id and not m.string]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m payhelp.catalogues``."""
    args = sys.argv[1:] if argv is None else argv
    usage = (
        "usage: python -m payhelp.catalogues update|check PACKAGE_DIR DOMAIN\n"
        "       python -m payhelp.catalogues fill PACKAGE_DIR DOMAIN LANGUAGE TABLE.json"
    )
    if (
        not args
        or (args[0] in {"update", "check"}) != (len(args) == 3)
        or (args[0] == "fill" and len(args) != 5)
        or args[0] not in {"update", "check", "fill"}
    ):
        print(usage, file=sys.stderr)
        return 2
    command, package_dir, domain = args[0], Path(args[1]), args[2]
    if command == "fill":
        table = json.loads(Path(args[4]).read_text(encoding="utf-8"))
        for msgid in fill(package_dir, domain, args[3], table):
            print(f"still untranslated: {msgid!r}", file=sys.stderr)
        return 0
    if command == "update":
        update(package_dir, domain)
        return 0
    gaps = check(package_dir, domain)
    for gap in gaps:
        print(f"{gap.where}: missing in {gap.language}: {gap.msgid!r}", file=sys.stderr)
    return 1 if gaps else 0


if __name__ == "__main__":
    raise SystemExit(main())
