"""``payhelp plugin new``: a complete processor plugin package, ready to install and test.

The package is made from the templates beside this module: ``NAME`` in a path and ``{{key}}``
in a file are replaced by the processor's id, display name and class-name stem; lines between
``{{#api}}`` and ``{{/api}}`` are kept only for a processor with a public API, lines between
``{{^api}}`` and ``{{/api}}`` only for one without. Placeholders a plugin author must fill in are
marked ``TODO`` (or use the reserved ``.invalid`` domain): payhelp refuses to register the
processor, and the generated conformance test fails, listing each, until they are.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from payhelp.errors import InvalidInputError
from payhelp.redact import find_card_number, short_echo

_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_SUFFIX = ".tmpl"
#: The files only a processor with a public API gets.
API_FILES = ("src/payhelp_NAME/api.py", "src/payhelp_NAME/sandbox.py")
_SECTION = re.compile(
    r"^[ \t]*\{\{([#^])(\w+)\}\}\n(.*?)^[ \t]*\{\{/\2\}\}\n", re.MULTILINE | re.DOTALL
)


def _walk(node: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        path = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name != "__pycache__":
                found += _walk(child, f"{path}/")
        elif child.name.endswith(_SUFFIX):
            found.append((path[: -len(_SUFFIX)], child))
    return found


def values_for(processor_id: str, name: str | None = None) -> dict[str, str]:
    """What the templates' ``{{key}}`` placeholders become."""
    if not isinstance(processor_id, str) or not _ID.fullmatch(processor_id):
        shown = (
            short_echo(processor_id)
            if isinstance(processor_id, str)
            else f"of type {type(processor_id).__name__}"
        )
        raise InvalidInputError(
            f"plugin name {shown} must be a processor id: 2 to 40 lower-case "
            "letters, digits or underscores, starting with a letter"
        )
    if name is not None and not isinstance(name, str):
        raise InvalidInputError("the display name is text")
    display = (name or processor_id.replace("_", " ").title()).strip()
    if not display or not display.isprintable() or '"' in display or "\\" in display:
        raise InvalidInputError("the display name must be one line of text without quotes")
    if len(display) > 100 or find_card_number(display) is not None:
        raise InvalidInputError(
            "the display name is the processor's name: at most 100 characters, no card number"
        )
    today = datetime.now(UTC).date()
    version = importlib.metadata.version("payhelp")
    return {
        "id": processor_id,
        "name": display,
        "Class": "".join(part.title() for part in processor_id.split("_")),
        "payhelp_version": version,
        "year": str(today.year),
        "month": str(today.month),
        "day": str(today.day),
        "date": today.isoformat(),
    }


def render(text: str, values: dict[str, str], flags: Mapping[str, bool] | None = None) -> str:
    """``text`` with every ``{{key}}`` replaced and every ``{{#flag}}`` / ``{{^flag}}`` section
    kept or dropped by ``flags``; an unknown key or flag is a bug in a template."""
    known = dict(flags or {})

    def section(match: re.Match[str]) -> str:
        on = known[match.group(2)]
        return match.group(3) if on == (match.group(1) == "#") else ""

    def one(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return re.sub(r"\{\{(\w+)\}\}", one, _SECTION.sub(section, text))


def new_plugin(
    processor_id: str,
    output: str | os.PathLike[str],
    *,
    name: str | None = None,
    api: bool = True,
) -> Path:
    """Write the package ``payhelp-<id>`` under ``output`` and return its directory.

    With ``api=False`` (``payhelp plugin new --no-api``), for a processor with no public
    merchant API, the package has no ``api.py`` or ``sandbox.py``: customers are sent to the
    processor's channels and refunds go by email or web form.

    ``output`` is created when it is missing but its parent folder exists; a missing parent is
    refused rather than a whole tree of folders made from a mistyped path. A package directory
    that exists and is not empty is refused, so nothing of the author's is overwritten.
    """
    values = values_for(processor_id, name)
    given: object = output
    if isinstance(given, bytes) or not isinstance(given, str | os.PathLike):
        raise InvalidInputError("the output folder is a path")
    output = Path(output)
    shown = short_echo(str(output), 200)
    if "\x00" in str(output):
        raise InvalidInputError(f"output {shown} is not a valid path")
    if output.exists() and not output.is_dir():
        raise InvalidInputError(f"output {shown} is not a folder")
    parent = output.absolute().parent
    if not output.exists() and not parent.is_dir():
        raise InvalidInputError(
            f"output {shown}: its parent folder {short_echo(str(parent), 200)} does not exist; "
            "create it first (payhelp makes at most the output folder itself)"
        )
    target = output / f"payhelp-{processor_id}"
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInputError(f"{target} already exists and is not empty")
    template = files("payhelp.scaffold").joinpath("template")
    output.mkdir(exist_ok=True)
    flags = {"api": api}
    for relative, source in _walk(template):
        if not api and relative in API_FILES:
            continue
        path = target / relative.replace("NAME", processor_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = render(source.read_text(encoding="utf-8"), values, flags)
        path.write_text(text, encoding="utf-8")
    return target


__all__ = ["API_FILES", "new_plugin", "render", "values_for"]
