"""``lookup``: find a payment through the processor's API, or say where to look it up."""

from __future__ import annotations

import os
import sys
from typing import IO, Any

import click
from rich.markup import escape
from rich.table import Table

from payhelp.api import Payhelp
from payhelp.cli._output import (
    EXIT_BAD_INPUT,
    CliState,
    _batch_lines,
    _console,
    _dump,
    _err,
    _json_option,
    _language,
    _print_json,
    _print_table,
    _require,
    _Sending,
    _sending,
    _t,
)
from payhelp.errors import InvalidInputError
from payhelp.i18n import N_

_STATUS = N_("status")
_SOURCE = N_("source")
_LOOK_HERE = N_("Look the payment up at {url}")
_HAVE_READY = N_("Have ready: {fields}")


def _lookup_batch(ph: Payhelp, path: str, concurrency: int, sandbox: bool) -> int:
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
                on_error=report,
            ):
                out.write(line + "\n")
        finally:
            await ph.aclose()
        out.flush()

    try:
        with handle:
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
@click.option("--email", help="Email used at purchase.")
@click.option("--username", help="Username on the site.")
@click.option("--last4", help="Last four digits of the card (never the whole number).")
@click.option(
    "--sandbox",
    is_flag=True,
    help=(
        "Ask the processor's sandbox, not its API: nothing reaches the processor; the answers "
        "are the sandbox's deterministic cases (`payhelp sandbox cases`)."
    ),
)
@click.option("--batch", type=str, help="JSON Lines of lookups ('-' for stdin).")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    help="Lookups in flight at once (--batch).",
)
@_json_option
@click.pass_obj
def lookup(
    state: CliState,
    transaction_id: str | None,
    processor: str | None,
    member_id: str | None,
    purchase_id: str | None,
    subscription_id: str | None,
    email: str | None,
    username: str | None,
    last4: str | None,
    sandbox: bool,
    batch: str | None,
    concurrency: int,
    as_json: bool,
) -> None:
    """Find a payment through the processor's API, or where to look it up."""
    ph = state.payhelp
    if batch is not None:
        given = [transaction_id, processor, member_id, purchase_id, subscription_id]
        if any(v is not None for v in [*given, email, username, last4]):
            raise click.UsageError("--batch takes every lookup from the file; give no other fields")
        raise SystemExit(_lookup_batch(ph, batch, concurrency, sandbox))
    processor = _require(processor, "processor", "or give --batch FILE")
    _sending.set(_Sending("lookup"))
    references = {
        kind: value
        for kind, value in (
            ("member", member_id),
            ("purchase", purchase_id),
            ("subscription", subscription_id),
        )
        if value is not None
    }
    fields: dict[str, Any] = {
        "transaction_id": transaction_id,
        "email": email,
        "username": username,
        "card_last4": last4,
        "references": references,
    }
    try:
        result = ph.lookup(
            processor, sandbox=sandbox or None, **{k: v for k, v in fields.items() if v}
        )
    finally:
        ph.close()
    if as_json:
        _print_json(_dump(result))
        return
    lang = _language(None, ph)
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
