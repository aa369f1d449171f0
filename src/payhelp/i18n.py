"""Customer-facing text in Italian and English, from gettext catalogues managed with Babel.

Code marks a text with a :class:`Domain`'s ``N_`` (no translation happens at import time) and the
text is rendered for a language when an answer is built. Each package keeps its catalogues as
``locale/<lang>/LC_MESSAGES/<domain>.po`` next to its code; they are read once, on first use, by
a small reader of the plain entries payhelp's catalogues hold (a catalogue with plural forms,
contexts or another encoding is read with Babel, which costs about ten times as much to load).
English ``msgid`` strings are the source text; the English catalogue may refine them.

Extract and update with Babel's own tools::

    pybabel extract -k N_ -o messages.pot src/payhelp
    pybabel update -i messages.pot -d src/payhelp/locale -D payhelp
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Mapping
from importlib import resources
from typing import Literal, get_args

from payhelp._base import Model

#: The languages every customer-facing text exists in.
Language = Literal["en", "it"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "en"


class Msg(Model):
    """A translatable text: a gettext ``msgid`` in a package's catalogue domain."""

    domain: str
    """The catalogue domain (``payhelp`` for the core, ``payhelp_<id>`` for a plugin)."""
    msgid: str
    """The English source text, which is also the lookup key."""

    def render(self, language: Language) -> str:
        """The text in ``language``; the English source when a catalogue lacks it."""
        return translate(self.domain, self.msgid, language)


#: What configuration may give instead of a catalogue message: one string for every language,
#: or one per language.
LocalizedText = str | dict[Language, str]
#: A customer-facing text: a catalogue message marked with a :class:`Domain`'s ``N_`` (what a
#: plugin writes, translated in its ``.po`` files), or a :data:`LocalizedText`.
Text = Msg | LocalizedText


def render(text: Text, language: Language) -> str:
    """Render any :data:`Text` in ``language``."""
    if isinstance(text, Msg):
        return text.render(language)
    if isinstance(text, str):
        return text
    return text.get(language) or text.get(DEFAULT_LANGUAGE) or next(iter(text.values()), "")


class Domain:
    """A package's catalogue domain; its ``N_`` marks texts for extraction and later rendering."""

    def __init__(self, name: str, package: str) -> None:
        self.name = name
        self.package = package
        _PACKAGES[name] = package

    def N_(self, msgid: str) -> Msg:  # noqa: N802 - gettext's conventional marker name
        """Mark ``msgid`` as translatable in this domain."""
        return Msg(domain=self.name, msgid=msgid)


_PACKAGES: dict[str, str] = {}
_CATALOGUES: dict[tuple[str, str], Mapping[str, str]] = {}
_LOCK = threading.Lock()


def catalogue(domain: str, language: str) -> Mapping[str, str]:
    """The ``msgid -> msgstr`` table of one domain in one language (empty if there is none)."""
    key = (domain, language)
    found = _CATALOGUES.get(key)
    if found is not None:
        return found
    with _LOCK:
        package = _PACKAGES.get(domain)
        table: dict[str, str] = {}
        if package is not None:
            path = resources.files(package) / "locale" / language / "LC_MESSAGES" / f"{domain}.po"
            if path.is_file():
                data = path.read_bytes()
                plain = read_plain_po(data)
                table = plain if plain is not None else _read_with_babel(data, language, domain)
        _CATALOGUES[key] = table
        return table


_ESCAPE = re.compile(r'\\([\\trn"])')
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r"}


def _unquote(part: str) -> str:
    # Babel's unescape: the quotes dropped; \\ \" \n \t \r read; any other backslash kept.
    body = part.strip()[1:-1]
    if "\\" not in body:
        return body
    return _ESCAPE.sub(lambda m: _ESCAPED.get(m.group(1), m.group(1)), body)


def read_plain_po(data: bytes) -> dict[str, str] | None:
    """The ``msgid -> msgstr`` table of a ``.po`` file's translated, not fuzzy, entries, as
    Babel's ``read_po`` reads them; ``None`` for a file this reader leaves to Babel: plural
    forms, contexts, obsolete entries, a msgid given twice, an encoding other than UTF-8, or a
    line it does not know."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    entries: list[tuple[str, str, bool]] = []
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    fuzzy = False

    def finish() -> None:
        nonlocal msgid, msgstr, fuzzy
        if msgid is not None:
            entries.append(("".join(msgid), "".join(msgstr or ()), fuzzy))
            msgid = msgstr = None
            fuzzy = False

    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#~"):
                return None
            finish()  # as Babel does: a comment ends the entry before it
            if line.startswith("#,") and "fuzzy" in (f.strip() for f in line[2:].split(",")):
                fuzzy = True
            continue
        if line.startswith('"'):
            target = msgstr if msgstr is not None else msgid
            if target is None:
                return None
            target.append(_unquote(line))
            continue
        keyword, _, arg = line.partition(" ")
        if keyword == "msgid":
            flagged = fuzzy if msgid is None else False
            finish()
            fuzzy = flagged
            msgid = [_unquote(arg)]
        elif keyword == "msgstr" and msgid is not None and msgstr is None:
            msgstr = [_unquote(arg)]
        else:
            return None
    finish()
    header = next((value for key, value, _ in entries if key == ""), "")
    charset = re.search(r"charset=([\w-]+)", header)
    if charset is not None and charset.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        return None
    if len({key for key, _, _ in entries}) != len(entries):
        return None
    return {key: value for key, value, fuzzy in entries if key and value and not fuzzy}


def _read_with_babel(data: bytes, language: str, domain: str) -> dict[str, str]:
    from babel.messages.pofile import read_po  # noqa: PLC0415 - about 100 ms to import

    parsed = read_po(io.BytesIO(data), locale=language, domain=domain)
    return {
        str(message.id): str(message.string)
        for message in parsed
        if message.id and message.string and not message.fuzzy
    }


def translate(domain: str, msgid: str, language: Language) -> str:
    """Look ``msgid`` up in ``domain`` for ``language``; fall back to the English source text."""
    return catalogue(domain, language).get(msgid) or msgid


def registered_domains() -> dict[str, str]:
    """Every catalogue domain created so far, mapped to the package that holds its files."""
    return dict(_PACKAGES)


def language_tag(value: str) -> Language | None:
    """The supported language of a tag like ``it``, ``it_IT.UTF-8`` or ``en-GB``; ``None`` when
    payhelp does not speak it."""
    head = value.strip().replace("-", "_").split("_", 1)[0].split(".", 1)[0].lower()
    return next((language for language in LANGUAGES if head == language), None)


def parse_language(value: str | None) -> Language:
    """The supported language of a locale tag, English for anything else (``C``, ``fr_FR``)."""
    return (language_tag(value) if value else None) or DEFAULT_LANGUAGE


#: The core's own catalogue domain.
CORE = Domain("payhelp", "payhelp")
N_ = CORE.N_
