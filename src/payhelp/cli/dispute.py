"""``dispute submit``, ``list``, ``show`` and ``events``: refund and dispute requests sent exactly
once, and what the processors' notifications said of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from payhelp.cli._output import (
    EXIT_FAILURE,
    CliState,
    LazyChoice,
    _console,
    _dump,
    _err,
    _in_doubt_advice,
    _json_option,
    _language,
    _language_option,
    _Path,
    _print_json,
    _print_table,
    _reference_option,
    _references,
    _Sending,
    _sending,
)

if TYPE_CHECKING:
    from payhelp.cases import SubmissionReceipt
    from payhelp.store import EventRecord


@click.group()
def dispute() -> None:
    """Submit refund and dispute requests exactly once, and see what was submitted and what the
    processors reported."""


_store_sandbox_option = click.option(
    "--sandbox",
    is_flag=True,
    help="Read the sandbox's own store, where `dispute submit --sandbox` records submissions.",
)


@dispute.command("submit")
@click.option("--processor", required=True, help="Processor id.")
@click.option("--transaction-id", help="The processor's transaction id.")
@_reference_option
@click.option(
    "--reason",
    required=True,
    type=LazyChoice("payhelp.cases", "DisputeReason"),
    help="Why the customer wants the money back.",
)
@click.option("--message", required=True, help="The customer's own words.")
@click.option("--email", "contact_email", required=True, help="Where the processor answers.")
@click.option("--last4", help="Last four digits of the card.")
@click.option("--amount", help="For a partial refund, the amount asked back (with --currency).")
@click.option("--currency", help="ISO 4217 currency of the amounts.")
@click.option("--paid", help="The amount of the payment (with --currency).")
@click.option("--purchased-at", help="When the payment was made (ISO 8601, with zone).")
@click.option("--descriptor", help="The line on the card statement.")
@click.option(
    "--attach",
    "attachments",
    multiple=True,
    # Checked to exist and not be a folder here; read (with its size limit, and refusing
    # devices and pipes) only by Attachment.from_path, never opened by the CLI first.
    type=_Path(exists=True, dir_okay=False),
    help="A file to attach (a receipt, a screenshot); repeat for more.",
)
@click.option(
    "--channel",
    type=click.Choice(["auto", "api", "email", "web_form"]),
    default="auto",
    show_default=True,
    help="How to send it.",
)
@click.option("--idempotency-key", help="Your own key (default: derived from the request).")
@click.option(
    "--sandbox",
    is_flag=True,
    help=(
        "Talk to the processor's sandbox, not its API: nothing reaches the processor or a mail "
        "server (email becomes .eml files in a separate sandbox outbox), and the submission is "
        "recorded in a separate sandbox store, never mixed with real ones."
    ),
)
@_language_option
@_json_option
@click.pass_obj
def dispute_submit(
    state: CliState,
    processor: str,
    transaction_id: str | None,
    references: tuple[str, ...],
    reason: str,
    message: str,
    contact_email: str,
    last4: str | None,
    amount: str | None,
    currency: str | None,
    paid: str | None,
    purchased_at: str | None,
    descriptor: str | None,
    attachments: tuple[str, ...],
    channel: str,
    idempotency_key: str | None,
    sandbox: bool,
    language: str | None,
    as_json: bool,
) -> None:
    """File a refund or dispute request; a repeat returns the first receipt.

    Exits with 1 when the answer is in doubt (an earlier attempt may have reached the processor):
    nothing is sent again; check `payhelp dispute show KEY`."""
    from payhelp.cases import Attachment, SubmissionStatus  # noqa: PLC0415 - see LazyChoice
    from payhelp.inputs import parse_moment  # noqa: PLC0415

    _sending.set(_Sending("submission", idempotency_key, sandbox))
    ph = state.payhelp
    refs = _references(references)
    if (amount or paid) and not currency:
        raise click.UsageError("--amount and --paid need --currency.")
    transaction: dict[str, Any] = {
        "transaction_id": transaction_id,
        "references": refs,
        "descriptor": descriptor,
        "card_last4": last4,
        "amount": {"amount": paid, "currency": currency} if paid else None,
        "purchased_at": parse_moment(purchased_at, "--purchased-at") if purchased_at else None,
    }
    request: dict[str, Any] = {
        "transaction": {k: v for k, v in transaction.items() if v},
        "reason": reason,
        "message": message,
        "contact_email": contact_email,
        "card_last4": last4,
        "amount": {"amount": amount, "currency": currency} if amount else None,
        "attachments": tuple(Attachment.from_path(path) for path in attachments),
    }
    try:
        receipt = ph.submit_dispute(
            processor,
            {k: v for k, v in request.items() if v is not None},
            idempotency_key=idempotency_key,
            channel=channel,  # type: ignore[arg-type]  # a click.Choice of the Channel values
            sandbox=sandbox or None,
            language=_language(language, ph),
        )
    finally:
        ph.close()
    in_doubt = receipt.status is SubmissionStatus.IN_DOUBT
    if as_json:
        _print_json(_dump(receipt))
    else:
        _print_receipt(receipt)
    if in_doubt:
        # Printed in full above; the exit code and this line tell a script not to go on.
        key = receipt.idempotency_key
        _err(f"error: submission {key} is in doubt", _in_doubt_advice(key, sandbox=sandbox))
        raise SystemExit(EXIT_FAILURE)


def _print_receipt(receipt: SubmissionReceipt) -> None:
    table = Table(show_header=False, title=f"{receipt.processor}: {receipt.status.value}")
    table.add_row("channel", receipt.channel.value)
    table.add_row("reference", escape(receipt.reference or "-"))
    table.add_row("idempotency key", escape(receipt.idempotency_key))
    table.add_row("submitted at", receipt.submitted_at.isoformat())
    if receipt.location:
        table.add_row("location", escape(receipt.location))
    for field, value in receipt.answers.items():
        table.add_row(f"form: {field}", escape(value))
    copy = [receipt.reference or "", receipt.idempotency_key, receipt.location or ""]
    _print_table(table, whole=[*copy, receipt.submitted_at.isoformat()])
    if receipt.detail:
        _console().print(escape(receipt.detail))


@dispute.command("list")
@click.option("--processor", help="Only this processor's submissions.")
@click.option(
    "--status",
    # The store's own list, so that a status it gains is offered without editing this one.
    type=LazyChoice("payhelp.store_statuses", "STATUSES"),
    help="Only this status.",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@_store_sandbox_option
@_json_option
@click.pass_obj
def dispute_list(
    state: CliState,
    processor: str | None,
    status: str | None,
    limit: int,
    sandbox: bool,
    as_json: bool,
) -> None:
    """The submissions recorded, newest first."""
    records = state.payhelp.disputes(
        processor=processor, status=status, limit=limit, sandbox=sandbox or None
    )
    if as_json:
        _print_json([_dump(record) for record in records])
        return
    table = Table("id", "processor", "reason", "status", "channel", "created", title="Submissions")
    for record in records:
        channel = record.receipt.channel.value if record.receipt else "-"
        status_text = record.status if isinstance(record.status, str) else record.status.value
        table.add_row(
            str(record.id),
            escape(record.processor),
            escape(record.reason),
            escape(status_text),
            channel,
            record.created_at.isoformat(timespec="seconds"),
        )
    _print_table(table, whole_columns=(0, 1, 4, 5))
    chargebacks = state.payhelp.chargebacks(
        processor=processor, limit=limit, sandbox=sandbox or None
    )
    if chargebacks and status is None:
        _console().print()
        _print_events(chargebacks, "Chargebacks reported by the processors")


def _print_events(records: list[EventRecord], title: str) -> None:
    table = Table("id", "processor", "kind", "transaction", "amount", "received", title=title)
    for record in records:
        event = record.event
        kind = event.kind.value if event else f"refused: {record.reason}"
        named = (event.transaction_id or event.related_transaction_id) if event else None
        amount = str(event.amount) if event and event.amount else "-"
        table.add_row(
            str(record.id),
            escape(record.processor),
            escape(kind),
            escape(named or "-"),
            escape(amount),
            record.received_at.isoformat(timespec="seconds"),
        )
    _print_table(table, whole_columns=(0, 1, 3, 4, 5))


@dispute.command("events")
@click.option("--processor", help="Only this processor's notifications.")
@click.option(
    "--kind",
    type=LazyChoice("payhelp.notifications", "EVENT_KINDS"),
    help="Only this kind of event.",
)
@click.option(
    "--status",
    type=click.Choice(["applied", "refused"]),
    help="Only the applied, or only the refused.",
)
@click.option("--transaction-id", help="Only those naming this transaction.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@_store_sandbox_option
@_json_option
@click.pass_obj
def dispute_events(
    state: CliState,
    processor: str | None,
    kind: str | None,
    status: str | None,
    transaction_id: str | None,
    limit: int,
    sandbox: bool,
    as_json: bool,
) -> None:
    """The notifications the processors sent (postbacks, IPN), newest first, refused ones
    included with why."""
    records = state.payhelp.events(
        processor=processor,
        kind=kind,
        status=status,
        transaction_id=transaction_id,
        limit=limit,
        sandbox=sandbox or None,
    )
    if as_json:
        _print_json([_dump(record) for record in records])
        return
    _print_events(records, "Notifications")


@dispute.command("reconcile")
@click.option("--processor", help="Only this processor's submissions.")
@click.option(
    "--due-days",
    type=click.FloatRange(0, 3650),
    default=7.0,
    show_default=True,
    help="Days a processor is given before a request counts as overdue.",
)
@click.option(
    "--country",
    help="The customer's country, for the channel to chase (default: the transaction's).",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@click.option(
    "--celery",
    is_flag=True,
    help="Fan the work out over payhelp's Celery workers, in chunks (broker_url and redis_url "
    "set; `celery -A payhelp.workers worker` running).",
)
@_store_sandbox_option
@_language_option
@_json_option
@click.pass_obj
def dispute_reconcile(
    state: CliState,
    processor: str | None,
    due_days: float,
    country: str | None,
    limit: int,
    celery: bool,
    sandbox: bool,
    language: str | None,
    as_json: bool,
) -> None:
    """For each request sent and not yet confirmed: ask the processor's API where there is one
    (and confirm what it reports refunded), otherwise list what is overdue and whom to chase."""
    ph = state.payhelp
    options: dict[str, Any] = {
        "processor": processor,
        "due_days": due_days,
        "country": country,
        "limit": limit,
        "sandbox": sandbox or None,
        "language": _language(language, ph),
    }
    if celery:
        from payhelp.workers import own_app, register  # noqa: PLC0415 - the celery extra

        tasks = register(own_app(ph.settings), payhelp=lambda: ph)
        items = sorted(tasks.reconcile(**options), key=lambda item: -item.submission_id)
    else:
        items = ph.reconcile(**options)
    if as_json:
        _print_json([_dump(item) for item in items])
        return
    table = Table("id", "processor", "state", "days", "asked", "chase", title="Reconciliation")
    for item in items:
        chase = f"{item.chase.kind.value}: {item.chase.value}" if item.chase else "-"
        table.add_row(
            str(item.submission_id),
            escape(item.processor),
            item.state,
            f"{item.age_days:g}",
            item.checked_with,
            escape(chase),
        )
    _print_table(table, whole_columns=(0, 1, 2, 5))


@dispute.command("show")
@click.argument("id_or_key")
@_store_sandbox_option
@_json_option
@click.pass_obj
def dispute_show(state: CliState, id_or_key: str, sandbox: bool, as_json: bool) -> None:
    """One submission, with its receipt or error (always JSON)."""
    del as_json  # a record is nested data: JSON for people and programs alike
    record = state.payhelp.dispute(id_or_key, sandbox=sandbox or None)
    shown = _dump(record)
    if record.confirmed_by is not None:
        # The evidence: the processor's own notification, as stored (card numbers masked).
        shown["confirmation"] = _dump(
            state.payhelp.event(record.confirmed_by, sandbox=sandbox or None)
        )
    _print_json(shown)
