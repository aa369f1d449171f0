"""What payhelp tells a plugin's author about the plugin's data, in the author's own terms.

A validation error raised while a plugin's module builds its :class:`~payhelp.ProcessorInfo` or
:class:`~payhelp.ContactDirectory` is pydantic's: it names the model (``ContactChannel``) but not
which of the plugin's channels it was, since a channel is built before it is put in the
directory. :func:`describe_plugin_error` reads the plugin's source where the model was built and
names the value as it is written (``DIRECTORY.channels.phone.value``, the same paths the
conformance suite prints), with the file and line, one line per problem, each saying what to give.

:func:`placeholders` finds what ``payhelp plugin new`` leaves to be filled in (a ``TODO``, an
address on the reserved ``.invalid`` domain); registration refuses a processor that still holds
one, so that no customer is ever sent to an address that does not exist.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from payhelp.redact import mask_card_numbers, short_echo

#: Where every field of the models a plugin builds is described.
FIELDS_REFERENCE = "docs/fields.md"
#: The most problems listed for one error; the rest are counted.
MAX_PROBLEMS = 20
_PAYHELP_DIR = Path(__file__).resolve().parent
_INVALID_HOST = re.compile(r"[A-Za-z0-9-]\.invalid(?![A-Za-z0-9-])")

#: What to give, by pydantic error type, where pydantic's own words do not say it.
_WHAT_TO_GIVE = {
    "missing": "required: give it",
    "extra_forbidden": f"is not a field of this model: check the spelling ({FIELDS_REFERENCE})",
    "date_type": "give a datetime.date, e.g. date(2025, 1, 31)",
    "url_type": "give an https URL as a string, e.g. 'https://example.com/help'",
    "url_parsing": "give a whole URL, e.g. 'https://example.com/help'",
}


def is_placeholder(value: str) -> bool:
    """Whether ``value`` is a scaffold placeholder: it holds ``TODO`` or an address on the
    reserved ``.invalid`` domain."""
    return "TODO" in value or _INVALID_HOST.search(value) is not None


def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def placeholders(models: Mapping[str, BaseModel]) -> list[str]:
    """Every placeholder left in ``models`` (label → model, e.g. ``{"INFO": info}``), as
    ``INFO.website = 'https://acmepay.invalid/'``."""
    found: list[str] = []
    for label, model in models.items():
        for path, value in _strings(model.model_dump(mode="json"), label):
            if is_placeholder(value):
                found.append(f"{path} = {short_echo(mask_card_numbers(value), 80)}")
    return found


# -- validation errors, named where they are written ------------------------------------------


def _authored_frame(exc: BaseException) -> traceback.FrameSummary | None:
    """The innermost frame outside pydantic and payhelp: where the plugin built the model."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        where = Path(frame.filename)
        if frame.filename.startswith("<") or "pydantic" in where.parts:
            continue
        try:
            if where.resolve().is_relative_to(_PAYHELP_DIR):
                continue
        except OSError:
            continue
        return frame
    return None


def _calls(node: ast.AST, path: str) -> Iterator[tuple[ast.Call, str]]:
    """Each call in a module-level value, with the path of what it builds
    (``DIRECTORY.channels.phone``)."""
    if isinstance(node, ast.Call):
        yield node, path
        for keyword in node.keywords:
            if keyword.arg is not None:
                yield from _calls(keyword.value, f"{path}.{keyword.arg}")
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            name = (
                key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else "…"
            )
            yield from _calls(value, f"{path}.{name}")
    elif isinstance(node, ast.Tuple | ast.List):
        for index, item in enumerate(node.elts):
            yield from _calls(item, f"{path}[{index}]")


@functools.lru_cache(maxsize=32)
def _paths(filename: str) -> dict[tuple[int, int], str]:
    """The module-level calls of a file by position (line, column), with what each builds."""
    try:
        tree = ast.parse(Path(filename).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[tuple[int, int], str] = {}
    for statement in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign):
            targets, value = [statement.target], statement.value
        if value is None or len(targets) != 1 or not isinstance(targets[0], ast.Name):
            continue
        for call, path in _calls(value, targets[0].id):
            found.setdefault((call.lineno, call.col_offset), path)
    return found


def _where_built(exc: BaseException) -> tuple[str | None, str]:
    """The path of the value whose construction raised (``None`` when it is not a module-level
    value) and ``file:line``."""
    frame = _authored_frame(exc)
    if frame is None or frame.lineno is None:
        return None, ""
    at = f"{Path(frame.filename).name}:{frame.lineno}"
    column = getattr(frame, "colno", None)
    if column is None:
        return None, at
    return _paths(frame.filename).get((frame.lineno, column)), at


def _loc(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = part if len(part) <= 40 else short_echo(part, 20)
            text += f".{shown}"
    return text


def _problem(error: ErrorDetails) -> str:
    message = str(error["msg"])
    if message.startswith(("Value error, ", "Assertion failed, ")):
        message = message.split(", ", 1)[1]
    hint = _WHAT_TO_GIVE.get(error["type"])
    if hint is not None:
        message = hint if error["type"] in {"missing", "extra_forbidden"} else f"{message}: {hint}"
    return message


def validation_problems(exc: ValidationError, root: str | None = None) -> list[str]:
    """One line per problem of ``exc``: the value as the plugin writes it, where, and what to
    give. ``root`` names the model built (found from the source when not given)."""
    path, at = _where_built(exc)
    base = root or path or exc.title
    where = f" ({at})" if at else ""
    lines: list[str] = []
    seen: set[str] = set()
    for error in exc.errors(include_input=False, include_url=False):
        line = f"{base}{_loc(tuple(error['loc']))}{where}: {_problem(error)}"
        if line not in seen:  # one mistake, one line
            seen.add(line)
            lines.append(mask_card_numbers(line))
    if len(lines) > MAX_PROBLEMS:
        lines = [*lines[:MAX_PROBLEMS], f"… and {len(lines) - MAX_PROBLEMS} more"]
    return lines


def describe_plugin_error(exc: BaseException) -> str:
    """What to tell a plugin's author about ``exc``, raised while its module was imported or
    its processors registered: for a validation error, a first line naming the model and one
    indented line per problem; otherwise the exception's class and message, with the plugin's
    file and line."""
    if isinstance(exc, ValidationError):
        problems = validation_problems(exc)
        count = len(exc.errors())
        heading = (
            f"{exc.title} is not valid ({count} problem{'' if count == 1 else 's'}; every field "
            f"is described in payhelp's {FIELDS_REFERENCE})"
        )
        return heading + "".join(f"\n  - {line}" for line in problems)
    text = str(exc)
    if len(text) > 300:
        text = text[:297] + "..."
    _, at = _where_built(exc)
    where = f" (at {at})" if at else ""
    described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return mask_card_numbers(described + where)


__all__ = [
    "FIELDS_REFERENCE",
    "describe_plugin_error",
    "is_placeholder",
    "placeholders",
    "validation_problems",
]


def on_first_use(module: str, name: str) -> Callable[..., Any]:
    """What a plugin registers as ``sandbox=`` or ``notifications=`` to keep a module out of
    every command that only loads the plugins: a function that imports ``module`` when first
    called and calls its ``name`` (a class) with the arguments it was given.
    ``on_first_use("payhelp_acmepay.sandbox", "AcmepaySandbox")``."""

    def build(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"{module}.{name}, imported when first called."
    return build
