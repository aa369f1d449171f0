"""``decline explain``, ``decline schemes`` and ``dunning plan``: what a decline means and
what follows a failed renewal."""

from __future__ import annotations

from datetime import datetime

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
    _require,
    _stream_batch,
    _t,
)
from payhelp.i18n import N_

_REASON = N_("reason")
_SEVERITY = N_("hard or soft")
_RETRY = N_("retry")
_ADVICE_CODE = N_("network advice code")
_ADVICE_UNKNOWN = N_("not in payhelp's table")
_VISA_CATEGORY = N_("Visa category")
_FIXER = N_("who can fix it")
_CUSTOMER = N_("customer")
_MERCHANT = N_("merchant")
_CONTACT_WHO = N_("whom to contact")
_YES = N_("yes")
_NO = N_("no")
_ATTEMPTS = N_("charge attempts")
_DOWNGRADE = N_("Final step ({action}) at {when}")
_RETRIES_STOP = N_("Retries stop: {why}")
_WHEN = N_("when")
_WHAT = N_("what")
_CHARGE = N_("charge attempt {number}")


@click.group()
def decline() -> None:
    """Explain raw decline codes."""


_SCHEME_HELP = (
    "Code table: braintree, iso8583, stripe or a processor id (`payhelp decline schemes`)."
)
_network_option = click.option(
    "--network",
    type=LazyChoice("payhelp.policies.declines", "Network"),
    help="The card's network, when known (its retry rules apply; otherwise all do).",
)


_advice_code_option = click.option(
    "--advice-code",
    help="The Mastercard merchant advice code sent with the decline (01, 03, 21, 24-30...).",
)
_visa_category_option = click.option(
    "--visa-category",
    type=click.Choice(["1", "2", "3", "4"]),
    help="Visa's reattempt category, when the processor gives it.",
)


def _no_fields_with_batch(batch: str | None, **given: object) -> None:
    if batch is not None and any(v is not None for v in given.values()):
        raise click.UsageError("--batch takes every decline from the file; give no other fields")


@decline.command("explain")
@click.argument("code", required=False)
@click.option("--scheme", help=_SCHEME_HELP)
@_network_option
@_advice_code_option
@_visa_category_option
@click.option("--processor", help="Offer this processor's channel (with --country).")
@click.option("--country", help="Customer's country, ISO 3166-1 alpha-2, for the channel offered.")
@click.option(
    "--batch",
    metavar="FILE",
    help="JSON Lines of declines ('-' for stdin), one line out per line in (below).",
)
@_language_option
@_json_option
@click.pass_obj
def decline_explain(
    state: CliState,
    code: str | None,
    scheme: str | None,
    network: str | None,
    advice_code: str | None,
    visa_category: str | None,
    processor: str | None,
    country: str | None,
    batch: str | None,
    language: str | None,
    as_json: bool,
) -> None:
    """What a decline code means, whether to retry, and what to do.

    \b
    --batch FILE: one JSON object a line, in the names explain_decline() takes:
      {"ref": "d-1", "code": "05", "scheme": "iso8583", "network": "mastercard",
       "advice_code": "24", "visa_category": 2}
    code and scheme are needed, the rest optional.
    Out: one line per line in, in order, with "line" and "ref", then the
    answer or "error" and "error_type". Blank lines give no output but are
    counted: "line" is always the input's line number. At most 16384
    characters a line."""
    ph = state.payhelp
    lang = _language(language, ph)
    if batch is not None:
        _no_fields_with_batch(
            batch,
            code=code,
            scheme=scheme,
            network=network,
            advice_code=advice_code,
            visa_category=visa_category,
            processor=processor,
            country=country,
        )
        raise SystemExit(
            _stream_batch(
                batch,
                lambda lines, report: ph.explain_batch(lines, language=lang, on_error=report),
                "explaining",
            )
        )
    what = "the decline code, e.g. 05 or insufficient_funds"
    code = _require(code, "code", "or give --batch FILE", what)
    scheme = _require(scheme, "scheme", "or give --batch FILE")
    advice = ph.explain_decline(
        code,
        scheme,
        network=network,
        advice_code=advice_code,
        visa_category=visa_category,
        processor=processor,
        country=country,
        language=lang,
    )
    if as_json:
        _print_json(_dump(advice))
        return
    yes_no = _t(_YES, lang) if advice.retry_allowed else _t(_NO, lang)
    title = escape(f"{advice.scheme} {advice.code}: {advice.label}")
    table = Table(show_header=False, title=title)
    table.add_row(_t(_REASON, lang), advice.reason.value)
    table.add_row(_t(_SEVERITY, lang), advice.severity.value if advice.severity else "-")
    if advice.advice_code is not None:
        label = advice.advice_label or _t(_ADVICE_UNKNOWN, lang)
        table.add_row(_t(_ADVICE_CODE, lang), escape(f"{advice.advice_code}: {label}"))
    if advice.visa_category is not None:
        table.add_row(_t(_VISA_CATEGORY, lang), str(advice.visa_category))
    table.add_row(_t(_RETRY, lang), f"{yes_no} — {escape(advice.retry_note)}")
    table.add_row(_t(_FIXER, lang), advice.fixer.value)
    table.add_row(_t(_CUSTOMER, lang), escape(advice.customer_message))
    table.add_row(_t(_MERCHANT, lang), escape(advice.merchant_message))
    contact = advice.contact.how
    if advice.contact.channel is not None:
        contact += f" {advice.contact.channel.kind.value}: {advice.contact.channel.value}"
    table.add_row(_t(_CONTACT_WHO, lang), escape(contact))
    channel = advice.contact.channel
    _print_table(table, whole=[channel.value] if channel is not None else [])
    _console().print(_t(_INCLUDE, lang))
    for item in advice.include:
        _console().print(f"  • {escape(item)}")


@decline.command("schemes")
@_json_option
@click.pass_obj
def decline_schemes(state: CliState, as_json: bool) -> None:
    """The decline-code tables loaded, with their sources."""
    schemes = state.payhelp.decline_schemes()
    if as_json:
        _print_json(
            [
                {
                    "id": s.id,
                    "name": s.name,
                    "codes": len(s.codes),
                    "ranges": [[r.low, r.high] for r in s.ranges],
                    "source": _dump(s.source),
                }
                for s in schemes
            ]
        )
        return
    table = Table("id", "name", "codes", "source", title="Decline schemes")
    for s in schemes:
        where = str(s.source.url) if s.source.url else s.source.source
        table.add_row(s.id, escape(s.name), str(len(s.codes)), escape(where))
    _print_table(table, whole_columns=(0, 3))


@click.group()
def dunning() -> None:
    """The schedule after a failed subscription payment."""


@dunning.command("plan")
@click.option("--failed-at", help="When the renewal failed (ISO 8601, with zone).")
@click.option("--decline", "code", help="The raw decline code.")
@click.option("--scheme", help=_SCHEME_HELP)
@_network_option
@_advice_code_option
@_visa_category_option
@click.option(
    "--batch",
    metavar="FILE",
    help="JSON Lines of failed renewals ('-' for stdin), one line out per line in (below).",
)
@_language_option
@_json_option
@click.pass_obj
def dunning_plan(
    state: CliState,
    failed_at: str | None,
    code: str | None,
    scheme: str | None,
    network: str | None,
    advice_code: str | None,
    visa_category: str | None,
    batch: str | None,
    language: str | None,
    as_json: bool,
) -> None:
    """Every charge attempt, notification and the final step, if the decline never clears.

    \b
    --batch FILE: one JSON object a line, in the names dunning_plan() takes:
      {"ref": "r-1", "failed_at": "2026-11-01T10:00:00Z", "code": "51",
       "scheme": "iso8583", "network": "visa", "advice_code": null,
       "visa_category": null}
    failed_at, code and scheme are needed, the rest optional.
    Out: one line per line in, in order, with "line" and "ref", then the
    plan or "error" and "error_type". Blank lines give no output but are
    counted: "line" is always the input's line number. At most 16384
    characters a line."""
    ph = state.payhelp
    lang = _language(language, ph)
    if batch is not None:
        _no_fields_with_batch(
            batch,
            failed_at=failed_at,
            code=code,
            scheme=scheme,
            network=network,
            advice_code=advice_code,
            visa_category=visa_category,
        )
        raise SystemExit(
            _stream_batch(
                batch,
                lambda lines, report: ph.dunning_batch(lines, language=lang, on_error=report),
                "planning",
            )
        )
    failed_at = _require(failed_at, "failed_at", "or give --batch FILE")
    code = _require(code, "code", "or give --batch FILE")
    scheme = _require(scheme, "scheme", "or give --batch FILE")
    plan = ph.dunning_plan(
        failed_at,
        code,
        scheme,
        network=network,
        advice_code=advice_code,
        visa_category=visa_category,
        language=lang,
    )
    if as_json:
        _print_json(_dump(plan))
        return
    table = Table(_t(_WHEN, lang), _t(_WHAT, lang), title=f"{plan.reason} — {_t(_ATTEMPTS, lang)}")
    events: list[tuple[datetime, str]] = [
        (moment, _t(_CHARGE, lang).format(number=number))
        for number, moment in enumerate(plan.attempts, start=1)
    ]
    events += [(n.at, f"{n.kind.value}: {n.message}") for n in plan.notifications]
    for moment, what in sorted(events, key=lambda item: item[0]):
        table.add_row(moment.isoformat(), escape(what))
    _print_table(table, whole_columns=(0,))
    if plan.retries_stop:
        _console().print(escape(_t(_RETRIES_STOP, lang).format(why=plan.retries_stop)))
    _console().print(
        _t(_DOWNGRADE, lang).format(
            action=plan.final_action.value, when=plan.downgrade_at.isoformat()
        )
    )
