"""``refund check``: whether a purchase can be refunded under the platform's policy."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.markup import escape
from rich.table import Table

from payhelp.cli._output import (
    CliState,
    LazyChoice,
    _console,
    _dump,
    _json_option,
    _language,
    _language_option,
    _print_json,
    _print_table,
    _t,
)
from payhelp.i18n import N_

_OUTCOME = N_("outcome")
_RULE = N_("rule")
_MESSAGE = N_("message")
_DECISION = N_("Refund decision: {decision}")
_DEADLINE = N_("A request is eligible until {deadline}")
_REFUND_AMOUNT = N_("Refund: {amount}")
_ELIGIBLE_AMOUNT = N_("Can be refunded: {amount}, the whole amount paid (asked for: {requested})")


@click.group()
def refund() -> None:
    """Refund eligibility under the platform's policy."""


@refund.command("check")
@click.option(
    "--product",
    required=True,
    type=LazyChoice("payhelp.models", "ProductKind"),
    help="What was bought.",
)
@click.option(
    "--purchased-at", required=True, help="When the purchase completed (ISO 8601, with zone)."
)
@click.option("--now", "now", help="When to judge the request (ISO 8601, with zone; default: now).")
@click.option("--viewed-minutes", type=click.FloatRange(min=0), help="Minutes of a show watched.")
@click.option("--receipt", is_flag=True, help="A receipt of the purchase is attached.")
@click.option("--model-consulted", is_flag=True, help="The matter was discussed with the model.")
@click.option("--motivation", help="The customer's explanation of what went wrong.")
@click.option("--off-site", is_flag=True, help="The product was bought outside the site.")
@click.option(
    "--platform-fault",
    metavar="REF",
    help="Reference of a platform fault on record for the purchase (an incident ticket).",
)
@click.option("--amount", help="What was paid (with --currency).")
@click.option(
    "--requested", help="What the customer asks back, when less than everything (with --amount)."
)
@click.option("--currency", help="ISO 4217 currency of the amounts.")
@click.option("--processor", help="The processor that took the payment (adds its rules).")
@_language_option
@_json_option
@click.pass_obj
def refund_check(
    state: CliState,
    product: str,
    purchased_at: str,
    now: str | None,
    viewed_minutes: float | None,
    receipt: bool,
    model_consulted: bool,
    motivation: str | None,
    off_site: bool,
    platform_fault: str | None,
    amount: str | None,
    requested: str | None,
    currency: str | None,
    processor: str | None,
    language: str | None,
    as_json: bool,
) -> None:
    """Whether a purchase can be refunded, with every rule that decided it."""
    from payhelp.inputs import parse_moment  # noqa: PLC0415 - see LazyChoice

    ph = state.payhelp
    lang = _language(language, ph)
    # Money as dispute submit takes it: the amounts alone, their currency once.
    if (amount or requested) and not currency:
        raise click.UsageError("--amount and --requested need --currency.")
    if requested and not amount:
        raise click.UsageError("--requested needs --amount, what was paid.")
    if currency and not amount:
        raise click.UsageError("--currency goes with --amount.")
    decision = ph.refund_check(
        {
            "product": product,
            "purchased_at": parse_moment(purchased_at, "--purchased-at"),
            "now": parse_moment(now, "--now") if now else datetime.now(UTC),
            "viewed_minutes": viewed_minutes,
            "receipt": receipt,
            "model_consulted": model_consulted,
            "motivation": motivation,
            "off_site": off_site,
            "platform_fault": platform_fault,
            "amount": {"amount": amount, "currency": currency} if amount else None,
            "requested": {"amount": requested, "currency": currency} if requested else None,
            "processor": processor,
        },
        language=lang,
    )
    if as_json:
        _print_json(_dump(decision))
        return
    title = _t(_DECISION, lang).format(decision=decision.decision.value)
    table = Table(_t(_RULE, lang), _t(_OUTCOME, lang), _t(_MESSAGE, lang), title=title)
    for fired in decision.reasons:
        table.add_row(fired.rule, fired.outcome.value, escape(fired.message))
    if decision.reasons:
        _print_table(table, whole_columns=(0,))
    else:
        _console().print(f"[bold]{escape(title)}[/bold]")
    _console().print(escape(decision.summary))
    if decision.refund is not None:
        _console().print(_t(_REFUND_AMOUNT, lang).format(amount=decision.refund))
    elif decision.eligible_amount is not None and decision.requested is not None:
        line = _t(_ELIGIBLE_AMOUNT, lang)
        _console().print(line.format(amount=decision.eligible_amount, requested=decision.requested))
    if decision.deadline is not None:
        _console().print(_t(_DEADLINE, lang).format(deadline=decision.deadline.isoformat()))
