"""Where a customer goes: ``contacts`` (whom to contact at a processor) and ``route`` (which
processor handled a transaction)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from payhelp.cli._output import (
    _INCLUDE,
    CliState,
    LazyChoice,
    _console,
    _dump,
    _json_option,
    _language,
    _language_option,
    _print_json,
    _print_table,
    _reference_option,
    _references,
    _require,
    _stream_batch,
    _t,
)
from payhelp.i18n import N_

if TYPE_CHECKING:
    from payhelp.api import Payhelp

_NUMBER = N_("#")
_CHANNEL = N_("channel")
_CONTACT = N_("contact")
_COST = N_("cost")
_WHY = N_("why")
_TOLL_FREE = N_("toll-free")
_MAY_COST = N_("may cost")


@click.command()
@click.option("--processor", required=True, help="Processor id (see `payhelp processors`).")
@click.option("--country", required=True, help="Customer's country, ISO 3166-1 alpha-2 (e.g. IT).")
@_language_option
@_json_option
@click.pass_obj
def contacts(
    state: CliState, processor: str, country: str, language: str | None, as_json: bool
) -> None:
    """Whom a customer should contact at a processor, in order, and why."""
    ph = state.payhelp
    plan = ph.contacts(processor, country, language=_language(language, ph))
    if as_json:
        _print_json(_dump(plan))
        return
    lang = plan.language
    headers = (_NUMBER, _CHANNEL, _CONTACT, _COST, _WHY)
    table = Table(*(_t(h, lang) for h in headers), title=f"{plan.processor_name} — {plan.country}")
    for number, channel in enumerate(plan.channels, start=1):
        cost = (
            _t(_TOLL_FREE, lang)
            if channel.toll_free
            else (_t(_MAY_COST, lang) if channel.charges_may_apply else "")
        )
        detail = channel.reason + (f" ({'; '.join(channel.fields)})" if channel.fields else "")
        table.add_row(str(number), channel.kind.value, escape(channel.value), cost, escape(detail))
    _print_table(table, whole_columns=(1, 2))
    for warning in plan.warnings:
        _console().print(f"[bold]![/bold] {escape(warning)}")
    if plan.include:
        _console().print(_t(_INCLUDE, lang))
        for item in plan.include:
            _console().print(f"  • {escape(item)}")


def _route_batch(ph: Payhelp, path: str) -> int:
    return _stream_batch(
        path, lambda lines, report: ph.route_batch(lines, on_error=report), "routing"
    )


@click.command()
@click.option("--processor", help="The processor, when it is already known.")
@click.option("--transaction-id", help="The processor's transaction reference.")
@_reference_option
@click.option("--descriptor", help="The line on the card statement.")
@click.option(
    "--product", type=LazyChoice("payhelp.models", "ProductKind"), help="What was bought."
)
@click.option(
    "--period",
    type=LazyChoice("payhelp.models", "SubscriptionPeriod"),
    help="Subscription period (alone, it means a subscription).",
)
@click.option("--country", help="Customer's country, ISO 3166-1 alpha-2.")
@click.option(
    "--batch",
    type=str,
    metavar="FILE",
    help="JSON Lines of transactions ('-' for stdin), one line out per line in (below).",
)
@_json_option
@click.pass_obj
def route(
    state: CliState,
    processor: str | None,
    transaction_id: str | None,
    references: tuple[str, ...],
    descriptor: str | None,
    product: str | None,
    period: str | None,
    country: str | None,
    batch: str | None,
    as_json: bool,
) -> None:
    """Decide which processor handled a transaction.

    An id recorded as something other than a transaction id goes in --reference KIND=VALUE
    (member, purchase, order or subscription), as for `dispute submit`.

    \b
    --batch FILE: one JSON object a line, in the names route() takes:
      {"ref": "t-1", "country": "US", "descriptor": "SEGPAY*EXAMPLE",
       "references": {"subscription": "7012345"},
       "product": "subscription", "period": "monthly"}
    also processor, transaction_id, amount ({"amount": "9.99", "currency":
    "USD"}), purchased_at, card_last4; "product" may be {"kind", "period"}.
    Out: one line per line in, with "line" and "ref", then the decision
    or "error" and "error_type". Blank lines give no output but are
    counted: "line" is always the input's line number. At most 16384
    characters a line."""
    ph = state.payhelp
    if batch is not None:
        given = [processor, transaction_id, descriptor, product, period, country]
        if any(value is not None for value in given) or references:
            raise click.UsageError(
                "--batch takes every transaction from the file; give no other fields"
            )
        raise SystemExit(_route_batch(ph, batch))
    country = _require(country, "country", "or give --batch FILE")
    if period is not None and product is None:
        from payhelp.models import ProductKind  # noqa: PLC0415 - loaded with the library

        product = ProductKind.SUBSCRIPTION.value
    fields: dict[str, Any] = {
        "processor": processor,
        "transaction_id": transaction_id,
        "references": _references(references) or None,
        "descriptor": descriptor,
        "country": country,
        "product": {"kind": product, "period": period} if product else None,
    }
    decision = ph.route({k: v for k, v in fields.items() if v is not None})
    if as_json:
        _print_json(_dump(decision))
        return
    verdict = decision.processor or "undecided"
    note = escape(decision.note) if decision.note else None
    table = Table("processor", "score", "reasons", title=f"Route: {verdict}", caption=note)
    for candidate in decision.candidates:
        reasons = escape("; ".join(candidate.reasons))
        table.add_row(candidate.processor, str(candidate.score), reasons)
    _print_table(table, whole_columns=(0,))
