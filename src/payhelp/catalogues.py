"""Keeping every package's gettext catalogues complete, with Babel.

``python -m payhelp.catalogues update PACKAGE_DIR DOMAIN`` extracts each text marked ``N_("…")``
under ``PACKAGE_DIR`` and adds what is missing to ``PACKAGE_DIR/locale/{en,it}/LC_MESSAGES/
DOMAIN.po`` (English entries are filled with the source text; Italian ones are left empty for a
translator), drops texts no longer marked, and keeps each file's header. A translator fills the
empty entries by hand or with ``… fill PACKAGE_DIR DOMAIN it table.json``, where ``table.json`` is
one JSON object of ``"msgid": "translation"`` (the English text as the code marks it, placeholders
such as ``{name}`` kept). ``… check PACKAGE_DIR DOMAIN`` exits non-zero listing every text missing
in a language; the test suite runs the same check for the core and every plugin.
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
from payhelp.redact import short_echo

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


def _fresh(old: Catalog | None, language: str, domain: str) -> Catalog:
    """An empty catalogue with ``old``'s header (its comment and every header field, so that a
    plugin's own project, version and translators stay), or a new header naming ``domain``."""
    if old is not None:
        new = Catalog(locale=language, domain=domain, fuzzy=old.fuzzy)
        new.header_comment = old.header_comment
        new.mime_headers = old.mime_headers
        return new
    holder = f"{domain} maintainers"
    return Catalog(
        locale=language,
        domain=domain,
        project=domain,
        version="1",
        copyright_holder=holder,
        msgid_bugs_address=holder,
        language_team=f"{domain} {language}",
        last_translator=holder,
        fuzzy=False,
    )


def update(package_dir: Path, domain: str) -> None:
    """Add every marked text missing from the catalogues and drop texts no longer marked; the
    entries follow the order of the code, and an existing file keeps its header (comment,
    project, version, translators, dates), so an update with nothing new changes no file."""
    marked = extract(package_dir)
    for language in LANGUAGES:
        path = po_path(package_dir, domain, language)
        old = _read(path, language, domain) if path.is_file() else None
        new = _fresh(old, language, domain)
        for msgid in marked:
            entry = old.get(msgid) if old is not None else None
            string = entry.string if entry is not None and entry.string else ""
            if language == "en" and not string:
                string = msgid
            new.add(msgid, string)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, new, width=100, omit_header=False, sort_output=False, no_location=True)


def fill(package_dir: Path, domain: str, language: str, table: dict[str, str]) -> list[str]:
    """Set translations from ``table`` (msgid to text); return the msgids still untranslated.
    Raises ``KeyError`` for a msgid the catalogue does not have (run ``update`` first) and
    ``ValueError`` for a language payhelp does not speak or a table that is not text."""
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r}: payhelp speaks {', '.join(LANGUAGES)}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise ValueError('the table maps each msgid to its translation, both text: {"…": "…"}')
    path = po_path(package_dir, domain, language)
    catalog = _read(path, language, domain)
    missing = [msgid for msgid in table if catalog.get(msgid) is None]
    if missing:
        raise KeyError(
            f"{short_echo(missing[0], 60)} is not in {path}"
            + (f" (nor {len(missing) - 1} more)" if len(missing) > 1 else "")
            + ": run update first, and copy each msgid exactly as the code marks it"
        )
    for msgid, text in table.items():
        entry = catalog[msgid]
        entry.string = text
        entry.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=False, no_location=True)
    return [str(m.id) for m in catalog if m.id and not m.string]


USAGE = (
    "usage: python -m payhelp.catalogues update|check PACKAGE_DIR DOMAIN\n"
    "       python -m payhelp.catalogues fill PACKAGE_DIR DOMAIN LANGUAGE TABLE.json"
)


def _table(path: Path) -> dict[str, str]:
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
    if not isinstance(table, dict):
        raise ValueError(f'{path} must hold one JSON object: {{"msgid": "translation", …}}')
    return table


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m payhelp.catalogues``: bad input is one line on stderr and
    exit status 2."""
    args = sys.argv[1:] if argv is None else argv
    if (
        not args
        or (args[0] in {"update", "check"}) != (len(args) == 3)
        or (args[0] == "fill" and len(args) != 5)
        or args[0] not in {"update", "check", "fill"}
    ):
        print(USAGE, file=sys.stderr)
        return 2
    command, package_dir, domain = args[0], Path(args[1]), args[2]
    if not package_dir.is_dir():
        print(f"error: {package_dir} is not a folder (give the package's folder)", file=sys.stderr)
        return 2
    if command == "fill":
        try:
            left = fill(package_dir, domain, args[3], _table(Path(args[4])))
        except (KeyError, ValueError) as exc:
            print(f"error: {exc.args[0]}", file=sys.stderr)
            return 2
        for msgid in left:
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
