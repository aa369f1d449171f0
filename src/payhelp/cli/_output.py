"""What every command shares: the state the group leaves, the common options, printing
(tables that never cut a value to copy, JSON), one-line errors and the batch stream."""

from __future__ import annotations

import errno
import importlib
import io
import json
import os
import re
import shlex
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import PurePath
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import click
from pydantic import BaseModel

from payhelp.errors import PYDANTIC_PREFIXES, InvalidInputError, PayhelpError
from payhelp.i18n import LANGUAGES, N_, Language, Msg, parse_language, render
from payhelp.redact import mask_card_numbers, short_echo

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    # The library loads when a command first needs it, so `payhelp --help` does not.
    from payhelp.api import Payhelp
    from payhelp.batch import ErrorCallback

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
EXIT_INTERNAL = 70


class LazyChoice(click.Choice[str]):
    """A choice of an enum's values (or of a tuple of strings), read from its module when first
    needed (parsing, help or an error), so that defining a command does not import the
    library."""

    def __init__(self, module: str, name: str) -> None:
        self._source = (module, name)
        self._choices: tuple[str, ...] | None = None
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:
        if self._choices is None:
            module, name = self._source
            values = getattr(importlib.import_module(module), name)
            self._choices = tuple(v.value if isinstance(v, Enum) else str(v) for v in values)
        return self._choices

    @choices.setter
    def choices(self, value: tuple[str, ...]) -> None:
        self._choices = tuple(value)


class CliState:
    """What the group's options leave for the subcommands; the library is built lazily."""

    def __init__(self, config: str | None) -> None:
        self.config = config
        self._payhelp: Payhelp | None = None

    @property
    def payhelp(self) -> Payhelp:
        if self._payhelp is None:
            from payhelp.api import Payhelp  # noqa: PLC0415 - the library, on first use

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self._payhelp = Payhelp(config=self.config)
            for warning in caught:
                if issubclass(warning.category, ResourceWarning):
                    # The collector closing something the process left open (a socket, a
                    # file) while the library was built says nothing about the configuration:
                    # it goes back to the warnings machinery instead of the user's terminal.
                    warnings.warn_explicit(
                        warning.message,
                        warning.category,
                        warning.filename,
                        warning.lineno,
                        source=warning.source,
                    )
                    continue
                _err(f"warning: {warning.message}")
        return self._payhelp


#: The longest message :func:`_err` prints; what a program echoed back (a 100,000-character
#: path, say) is cut rather than flooding the terminal.
MAX_ERROR_CHARS = 1000
# Line breaks and other control characters (ANSI escapes a processor or a file echoed back)
# never reach the terminal as they are: an error is one line, and cannot rewrite the screen.
_BREAKS = re.compile(r"[\r\n\t\v\f\x1c-\x1e\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _one_line(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    text = _BREAKS.sub(" ", mask_card_numbers(text)).strip()
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _err(message: str, suffix: str = "") -> None:
    # Click's own usage errors repeat what was typed: mask card numbers on every path. The
    # suffix (whether a retry is safe) is kept whole however long the message was.
    click.echo(f"payhelp: {_one_line(message)}{suffix}", file=sys.stderr)


def _json_default(value: Any) -> Any:
    # Records printed with asdict() may hold any field type a dataclass can: print them all.
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {mask_card_numbers(str(value))}"
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, PurePath):
        return str(value)
    return repr(value)


def _print_json(data: Any) -> None:
    out = sys.stdout
    # Plain ASCII escapes on a terminal that cannot show the text (PYTHONIOENCODING=ascii):
    # still valid JSON, and the same document once decoded.
    text = json.dumps(data, indent=2, ensure_ascii=not _shows_unicode(out), default=_json_default)
    click.echo(text, file=out)


def _shows_unicode(stream: IO[str]) -> bool:
    try:
        "—é•…".encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _tolerant_streams() -> None:
    """Make stdout and stderr print what they cannot encode as escapes instead of failing: the
    tables hold dashes, bullets, ellipses and Italian accents, and a terminal set to ASCII
    (``PYTHONIOENCODING=ascii``), Latin-1 or a stray surrogate from the command line must not
    turn a finished answer into a crash. rich's console writes to ``sys.stdout`` as it finds
    it at each print, and picks ASCII table borders by itself when the encoding needs them."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors != "backslashreplace":
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # closed, or a wrapper that cannot change
                continue


def _dump(model: BaseModel) -> Any:
    return model.model_dump(mode="json")


def _language(option: str | None, ph: Payhelp) -> Language:
    if option is not None:
        return parse_language(option)
    if ph.settings.language is not None:
        return ph.settings.language
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(var):
            return parse_language(os.environ[var])
    return ph.language


def _t(text: Msg, language: Language) -> str:
    return render(text, language)


# Table chrome, translated like every other text a person reads.
_INCLUDE = N_("Include in your message:")


def _console() -> Console:
    """rich's console for one print, built then so that it sees the terminal as it is (its width,
    whether it is one). Text is never wrapped by payhelp (``soft_wrap``): a long URL or address
    stays one piece that a terminal may wrap on screen but that copies whole."""
    from rich.console import Console  # noqa: PLC0415 - rich only for a command that prints

    return Console(highlight=False, soft_wrap=True)


def _plain(cell: object) -> str:
    from rich.text import Text  # noqa: PLC0415 - rich only for a command that prints

    return Text.from_markup(cell).plain if isinstance(cell, str) else str(cell)


#: Words up to this long must not be broken for a table to be printed as one (a longer "word"
#: such as a URL in a sentence may be folded, unless it is a value to copy).
_LONGEST_WORD = 20


def _print_table(
    table: Table, *, whole_columns: Iterable[int] = (), whole: Iterable[str] = ()
) -> None:
    """Print ``table`` if every value someone must copy fits in it whole, else the same rows as
    a list.

    ``whole_columns`` are the columns whose every cell is such a value (a contact, a URL, a date,
    an id, a capability), ``whole`` more values in other cells. No column cuts its text with an
    ellipsis; the table is printed only if each of those values, each header and each word of
    the other cells comes out on one line, unbroken (checked on the table as the console's width
    renders it: 80 columns when piped). Otherwise each row becomes a block of ``header: value``
    lines, which a narrow terminal may wrap but never cuts.
    """
    from rich.console import Console  # noqa: PLC0415 - rich only for a command that prints
    from rich.text import Text  # noqa: PLC0415

    columns = list(table.columns)
    keep = set(whole_columns)
    values = [_plain(cell) for index in keep for cell in columns[index].cells]
    values += list(whole)
    values = [line for value in values for line in value.splitlines()]  # a cell of lines
    # Nor may the table squeeze the rest into a letter a line: headers and words stay whole.
    values += [_plain(column.header) for column in columns]
    values += [
        word
        for index, column in enumerate(columns)
        if index not in keep
        for cell in column.cells
        for word in _plain(cell).split()
        if len(word) <= _LONGEST_WORD
    ]
    for index, column in enumerate(columns):
        column.overflow = "fold"
        if index in keep:
            column.no_wrap = True
    console = _console()
    probe = Console(
        file=io.StringIO(),
        width=console.width,
        color_system=None,
        highlight=False,
        legacy_windows=False,
    )
    probe.print(table)
    rendered = probe.file.getvalue()  # type: ignore[attr-defined]  # the StringIO given above
    if all(value in rendered for value in values if value):
        console.print(table)
        return
    if table.title:
        console.print(table.title, style="bold")
    rows = zip(*(column.cells for column in columns), strict=True)
    for index, row in enumerate(rows):
        if index or table.title:
            console.print()
        if table.show_header:
            labelled = [
                (_plain(c.header), _plain(cell)) for c, cell in zip(columns, row, strict=True)
            ]
        else:  # a table of ``label | value`` rows
            labelled = [(_plain(row[0]), " ".join(_plain(cell) for cell in row[1:]))]
        for label, text in labelled:
            # A cell of several lines (one capability a line) keeps them, under one label.
            lead = f"{label}: " if label else ""
            for number, line in enumerate(text.splitlines()):
                console.print(Text((lead if number == 0 else " " * len(lead)) + line))
    if table.caption:
        console.print()
        console.print(table.caption)


_language_option = click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    help="Language of customer-facing text (default: from the locale).",
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


class _Path(click.Path):
    """click's path type, refusing a NUL (which makes ``os.stat`` raise) as bad input."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\x00" in value:
            self.fail("a path cannot hold a NUL character", param, ctx)
        return super().convert(value, param, ctx)


def _batch_lines(handle: IO[bytes], size: int | None, what: str = "routing") -> Iterator[bytes]:
    if size is None or not sys.stderr.isatty():
        yield from handle
        return
    from rich.console import Console  # noqa: PLC0415 - only a batch on a terminal shows one
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
    )

    columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(what, total=size)
        for line in handle:
            progress.advance(task, len(line))
            yield line


def _stream_batch(
    path: str, run: Callable[[Iterator[bytes], ErrorCallback], Iterator[str]], what: str
) -> int:
    """Stream the JSON Lines of ``path`` (``-``: stdin) through ``run`` to stdout, with a
    progress bar on a terminal; each error line is also reported on stderr. The exit code says
    whether any line failed."""
    try:
        handle: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InvalidInputError(f"cannot read batch file {path!r}: {exc.strerror}") from None
    size = None if path == "-" else os.fstat(handle.fileno()).st_size
    bad = 0
    out = sys.stdout

    def report(number: int, message: str) -> None:
        nonlocal bad
        bad += 1
        _err(f"line {number}: {message}")

    try:
        with handle:
            for line in run(_batch_lines(handle, size, what), report):
                out.write(line + "\n")
        out.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return EXIT_BAD_INPUT if bad else 0


@dataclass
class _Sending:
    """What the running command sends, so that an error line can say whether a retry is safe."""

    kind: str  # "submission" or "lookup"
    key: str | None = None  # the idempotency key the caller gave, when there is one
    sandbox: bool = False  # whether it went to the sandbox (whose store `--sandbox` reads)


_sending: ContextVar[_Sending | None] = ContextVar("payhelp_cli_sending", default=None)

_SURROGATE = re.compile("[\ud800-\udfff]")

#: errno values that can only come from writing (the disk is full, the file system read-only).
_WRITE_ERRNOS = frozenset(
    code
    for name in ("ENOSPC", "EDQUOT", "EROFS", "EFBIG", "ETXTBSY")
    if (code := getattr(errno, name, None)) is not None
)


def _retry_advice(exc: PayhelpError) -> str:
    """The end of an error's first line: whether the command may be run again as it is."""
    sending = _sending.get()
    if sending is None or exc.maybe_applied is None:
        return ""
    if isinstance(exc, InvalidInputError):
        return " — nothing was sent"
    if sending.kind == "lookup":
        return " — a lookup changes nothing at the processor; safe to retry"
    if exc.maybe_applied:
        key = getattr(exc, "idempotency_key", None) or sending.key
        return _in_doubt_advice(key, sandbox=sending.sandbox)
    return " — nothing was sent; safe to retry"


def _in_doubt_advice(key: str | None, *, sandbox: bool = False) -> str:
    flag = " --sandbox" if sandbox else ""
    where = (
        f"payhelp dispute show{flag} {shlex.quote(key)}"
        if key
        else f"payhelp dispute list{flag} --status in_doubt"
    )
    return f" — it may have reached the processor: do not retry; check `{where}` first"


def _os_error_line(exc: OSError) -> str:
    """``cannot write PATH: reason`` for a file or folder the environment refuses."""
    reason = exc.strerror or type(exc).__name__
    paths = [os.fsdecode(p) for p in (exc.filename, exc.filename2) if p is not None]
    if not paths:
        return f"error: {reason}"
    verb = "write" if exc.errno in _WRITE_ERRNOS else "access"
    return f"error: cannot {verb} {' or '.join(short_echo(p, 200) for p in paths)}: {reason}"


# What an unexpected exception may say on stderr: no SQL statement or its parameters, no
# quoted values (a customer's message, an address, a reference), no card numbers.
_SQL_DETAIL = re.compile(r"\[SQL:|\[parameters:|\(Background on this error", re.IGNORECASE)
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_.:-]{1,32}")


def _internal_line(exc: BaseException) -> str:
    """One line for a bug: the exception's type, a scrubbed short text and where it was raised
    (the innermost payhelp frame), for a bug report without the traceback."""
    text = str(exc).strip().split("\n", 1)[0]
    cut = _SQL_DETAIL.search(text)
    if cut:
        text = text[: cut.start()]
    text = _QUOTED.sub(
        lambda m: (
            m.group()
            if _PLAIN_WORD.fullmatch(m.group()[1:-1])
            else m.group()[0] + "…" + m.group()[0]
        ),
        text,
    )
    text = _one_line(text, 160)
    where = _where(exc.__traceback__)
    return (
        f"internal error: {type(exc).__name__}{': ' + text if text else ''}{where} "
        "(set PAYHELP_DEBUG=1 for the traceback)"
    )


def _where(tb: TracebackType | None) -> str:
    found = ""
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith("payhelp"):
            found = f" [{module}:{tb.tb_lineno}]"
        tb = tb.tb_next
    return found


def _references(items: tuple[str, ...], option: str = "--reference") -> dict[str, str]:
    """``KIND=VALUE`` options as the API's ``references`` (``{"member": "123"}``)."""
    refs: dict[str, str] = {}
    for item in items:
        kind, sep, value = item.partition("=")
        if not sep or not value.strip() or not kind.strip():
            raise InvalidInputError(
                f"{option} takes KIND=VALUE, e.g. subscription=7012345 (got {short_echo(item, 40)})"
            )
        refs[kind.strip()] = value.strip()
    return refs


_reference_option = click.option(
    "--reference",
    "references",
    multiple=True,
    metavar="KIND=VALUE",
    help="Another reference, as recorded: member, purchase, order or subscription "
    "(e.g. subscription=7012345); repeat for more.",
)


# -- errors in the words of the command line ---------------------------------------------------


def _option_name(param: click.Parameter) -> str:
    if isinstance(param, click.Option) and param.opts:
        return max(param.opts, key=len)  # the long form: --product, not -p
    return (param.human_readable_name or param.name or "a value").upper()


def _what(param: click.Parameter) -> str:
    """The parameter's help, as the end of a sentence: 'what was bought'."""
    text = (getattr(param, "help", None) or "").strip().rstrip(".")
    text = text.split(" (default", 1)[0]
    if text[:2].isupper() or not text:  # ISO 4217..., or none
        return text
    return text[0].lower() + text[1:]


def _choices(param: click.Parameter) -> str:
    kind = param.type
    return ", ".join(map(str, kind.choices)) if isinstance(kind, click.Choice) else ""


def _missing_line(param: click.Parameter, alternative: str = "", what: str = "") -> str:
    """``--product is needed: what was bought; one of token_purchase, ...``"""
    line = f"{_option_name(param)} is needed"
    if what := what or _what(param):
        line += f": {what}"
    if choices := _choices(param):
        line += f"; one of {choices}"
    return line + (f"; {alternative}" if alternative else "")


def _range_words(kind: click.IntRange | click.FloatRange) -> str:
    number = "a whole number" if isinstance(kind, click.IntRange) else "a number"
    low, high = kind.min, kind.max
    if low is not None and high is not None:
        return f"{number} from {low} to {high}"
    if low is not None:
        return f"{number} of {low} or more"
    return f"{number} of {high} or less"


_QUOTED_VALUE = re.compile(r"^'(?P<value>.*?)' is not|^(?P<number>\S+) is not")


def _usage_line(exc: click.UsageError) -> str:
    """click's complaints as one line that says what to give."""
    param = getattr(exc, "param", None)
    if isinstance(exc, click.MissingParameter) and param is not None:
        return _missing_line(param)
    if isinstance(exc, click.BadParameter) and param is not None:
        name, kind = _option_name(param), param.type
        found = _QUOTED_VALUE.match(exc.message)
        got = ""
        if found and found["value"] is not None:
            got = f" (not {short_echo(found['value'], 40)})"
        elif found:
            got = f" (not {short_echo(found['number'], 40)[1:-1]})"
        if isinstance(kind, click.Choice):
            return f"{name} takes one of {_choices(param)}{got}"
        if isinstance(kind, click.IntRange | click.FloatRange):
            return f"{name} takes {_range_words(kind)}{got}"
        return f"{name}: {exc.message.rstrip('.')}"
    return exc.format_message().rstrip(".")


def _require(value: str | None, name: str, alternative: str = "", what: str = "") -> str:
    """``value``, or the one-line 'is needed' error for the running command's parameter
    ``name`` (for a field that only a command's other mode, --batch, makes optional)."""
    if value is not None:
        return value
    command = click.get_current_context().command
    param = next(p for p in command.params if p.name == name)
    raise click.UsageError(_missing_line(param, alternative, what))


#: The option that gives each field of the library's inputs, for errors that name the field.
_FIELD_OPTIONS: dict[str, str] = {
    "processor": "--processor",
    "country": "--country",
    "transaction_id": "--transaction-id",
    "transaction.transaction_id": "--transaction-id",
    "descriptor": "--descriptor",
    "transaction.descriptor": "--descriptor",
    "product": "--product",
    "product.kind": "--product",
    "product.period": "--period",
    "card_last4": "--last4",
    "transaction.card_last4": "--last4",
    "email": "--email",
    "contact_email": "--email",
    "username": "--username",
    "message": "--message",
    "reason": "--reason",
    "amount.amount": "--amount",
    "amount.currency": "--currency",
    "requested.amount": "--requested",
    "requested.currency": "--currency",
    "transaction.amount.amount": "--paid",
    "transaction.amount.currency": "--currency",
    "purchased_at": "--purchased-at",
    "transaction.purchased_at": "--purchased-at",
    "now": "--now",
    "viewed_minutes": "--viewed-minutes",
    "platform_fault": "--platform-fault",
    "motivation": "--motivation",
    "failed_at": "--failed-at",
    **{
        f"{where}references.{kind}": f"--reference {kind}=…"
        for where in ("", "transaction.")
        for kind in ("member", "purchase", "order", "subscription")
    },
}
#: What a command adds or changes (lookup's --member-id for ``references.member``, say).
_field_options: ContextVar[dict[str, str]] = ContextVar("payhelp_cli_fields", default={})  # noqa: B039 - never mutated


def _in_option_words(message: str) -> str:
    """A library error about the input, with each field named by the option that gives it
    (``--last4: …`` rather than ``transaction.card_last4: …``), pydantic's 'Value error, '
    dropped, and a part said twice (the same field checked in two places) said once."""
    options = {**_FIELD_OPTIONS, **_field_options.get()}
    parts: list[str] = []
    for said in message.split("; "):
        field, sep, text = said.partition(": ")
        if sep:
            for prefix in PYDANTIC_PREFIXES:
                text = text.removeprefix(prefix)
            said = f"{options.get(field, field)}: {text}"  # noqa: PLW2901 - the same part, reworded
        if said not in parts:
            parts.append(said)
    return "; ".join(parts)
