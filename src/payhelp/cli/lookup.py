"""``lookup``: find a payment through the processor's API, or say where to look it up."""

from __future__ import annotations

import json
import os
import sys
from typing import IO, TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from payhelp.cli._output import (
    EXIT_BAD_INPUT,
    CliState,
    _batch_lines,
    _console,
    _dump,
    _err,
    _field_options,
    _json_option,
    _language,
    _language_option,
    _print_json,
    _print_table,
    _reference_option,
    _references,
    _require,
    _Sending,
    _sending,
    _t,
)
from payhelp.errors import InvalidInputError
from payhelp.i18n import N_, Language

if TYPE_CHECKING:
    from payhelp.api import Payhelp

_STATUS = N_("status")
_SOURCE = N_("source")
_LOOK_HERE = N_("Look the payment up at {url}")
_HAVE_READY = N_("Have ready: {fields}")


_WRITE_TO = N_("Where to write: {value} ({kind})")


def _lookup_batch(
    ph: Payhelp,
    path: str,
    concurrency: int,
    sandbox: bool,
    language: Language | None,
    *,
    celery: bool = False,
) -> int:
    import asyncio  # noqa: PLC0415 - only the batch path needs an event loop

    from payhelp.batch_lookup import lookup_lines  # noqa: PLC0415

    try:
        handle: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InvalidInputError(f"cannot read batch file {path!r}: {exc.strerror}") from None
    size = None if path == "-" else os.fstat(handle.fileno()).st_size
    bad = 0

    def report(number: int, message: str) -> None:
        nonlocal bad
        bad += 1
        _err(f"line {number}: {message}")

    async def run() -> None:
        out = sys.stdout
        try:
            async for line in lookup_lines(
                ph,
                _batch_lines(handle, size, "looking up"),
                concurrency=concurrency,
                sandbox=sandbox or None,
                language=language,
                on_error=report,
            ):
                out.write(line + "\n")
        finally:
            await ph.aclose()
        out.flush()

    def on_workers() -> None:
        # The same lines, answered by payhelp's Celery workers (see payhelp.workers).
        from payhelp.workers import own_app, register  # noqa: PLC0415 - the celery extra

        tasks = register(own_app(ph.settings), payhelp=lambda: ph)
        out = sys.stdout
        for line in tasks.lookup(
            _batch_lines(handle, size, "looking up"),
            concurrency=concurrency,
            sandbox=sandbox or None,
            language=language,
        ):
            if '"error"' in line:
                answer = json.loads(line)
                if "error" in answer:
                    report(answer["line"], answer["error"])
            out.write(line + "\n")
        out.flush()

    try:
        with handle:
            if celery:
                on_workers()
            else:
                asyncio.run(run())
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return EXIT_BAD_INPUT if bad else 0


@click.command()
@click.argument("transaction_id", required=False)
@click.option("--processor", help="Processor id (see `payhelp processors`).")
@click.option("--member-id", help="Member or consumer id.")
@click.option("--purchase-id", help="Purchase (subscription) id.")
@click.option("--subscription-id", help="Subscription id.")
@_reference_option
@click.option("--email", help="Email used at purchase.")
@click.option("--username", help="Username on the site.")
@click.option("--last4", help="Last four digits of the card (never the whole number).")
@click.option(
    "--country",
    help="Customer's country, ISO 3166-1 alpha-2: picks the channel to write to when the "
    "processor has no lookup page.",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help=(
        "Ask the processor's sandbox, not its API: nothing reaches the processor; the answers "
        "are the sandbox's deterministic cases (`payhelp sandbox cases`)."
    ),
)
@click.option(
    "--batch",
    type=str,
    metavar="FILE",
    help="JSON Lines of lookups ('-' for stdin), one line out per line in (below).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    help="Lookups in flight at once (--batch).",
)
@click.option(
    "--celery",
    is_flag=True,
    help="Fan --batch out over payhelp's Celery workers (broker_url and redis_url set; "
    "`celery -A payhelp.workers worker` running).",
)
@_language_option
@_json_option
@click.pass_obj
def lookup(
    state: CliState,
    transaction_id: str | None,
    processor: str | None,
    member_id: str | None,
    purchase_id: str | None,
    subscription_id: str | None,
    references: tuple[str, ...],
    email: str | None,
    username: str | None,
    last4: str | None,
    country: str | None,
    sandbox: bool,
    batch: str | None,
    concurrency: int,
    celery: bool,
    language: str | None,
    as_json: bool,
) -> None:
    """Find a payment through the processor's API, or where to look it up.

    \b
    --batch FILE: one JSON object a line, in the names lookup() takes:
      {"ref": "t-1", "processor": "segpay",
       "references": {"purchase": "80000102"}, "country": "IT"}
    also transaction_id, email, username, card_last4, purchased_on
    (2026-11-20) and amount ({"amount": "9.99", "currency": "USD"}).
    Out: one line per line in, as lookups finish (not in input order),
    with "line" and "ref", then the answer or "error" and "error_type".
    Blank lines give no output but are counted: "line" is always the
    input's line number. At most 16384 characters a line."""
    ph = state.payhelp
    lang = _language(language, ph)
    if batch is not None:
        given = [transaction_id, processor, member_id, purchase_id, subscription_id, country]
        if any(v is not None for v in [*given, email, username, last4]) or references:
            raise click.UsageError("--batch takes every lookup from the file; give no other fields")
        raise SystemExit(_lookup_batch(ph, batch, concurrency, sandbox, lang, celery=celery))
    if celery:
        raise click.UsageError("--celery fans a --batch FILE out over workers; give --batch")
    processor = _require(processor, "processor", "or give --batch FILE")
    _sending.set(_Sending("lookup"))
    by_option = {"member": member_id, "purchase": purchase_id, "subscription": subscription_id}
    refs = {kind: value for kind, value in by_option.items() if value is not None}
    # An error about a reference names the option it came from.
    _field_options.set(
        {f"references.{kind}": f"--{kind}-id" for kind in refs}
        | {f"references.{kind}": f"--reference {kind}=…" for kind in _references(references)}
    )
    refs |= _references(references)
    fields: dict[str, Any] = {
        "transaction_id": transaction_id,
        "email": email,
        "username": username,
        "card_last4": last4,
        "country": country,
        "references": refs,
    }
    try:
        result = ph.lookup(
            processor,
            sandbox=sandbox or None,
            language=lang,
            **{k: v for k, v in fields.items() if v},
        )
    finally:
        ph.close()
    if as_json:
        _print_json(_dump(result))
        return
    _console().print(
        f"[bold]{escape(result.processor)}[/bold] {_t(_STATUS, lang)}: {result.status.value} "
        f"({_t(_SOURCE, lang)}: {result.source})"
    )
    table = Table("transaction", "kind", "status", "amount", "date", "card", "decline")
    for record in result.records:
        table.add_row(
            escape(record.transaction_id or "-"),
            record.kind.value,
            escape(record.raw_status or record.status.value),
            str(record.amount) if record.amount else "-",
            record.created_at.isoformat() if record.created_at else "-",
            f"…{record.card_last4}" if record.card_last4 else "-",
            escape(record.decline_code or "-"),
        )
    if result.records:
        _print_table(table, whole_columns=(0, 3, 4, 5, 6))
    if result.self_service is not None:
        look = result.self_service
        _console().print(escape(_t(_LOOK_HERE, lang).format(url=look.url)))
        if look.fields:
            _console().print(escape(_t(_HAVE_READY, lang).format(fields=", ".join(look.fields))))
        _console().print(escape(look.instructions))
    if result.message:
        _console().print(escape(result.message))
    if result.channel is not None:
        # The channel to write to, whole and on a line of its own, so that it copies cleanly.
        channel = result.channel
        where = _t(_WRITE_TO, lang).format(value=channel.value, kind=channel.kind.value)
        _console().print(escape(where))
        if channel.reason:
            _console().print(escape(channel.reason))
