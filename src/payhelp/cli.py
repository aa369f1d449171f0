"""The ``payhelp`` command: parse, call the embedding API, print.

People get tables; ``--json`` gives programs one JSON document. Every library error becomes one
line on stderr and a non-zero exit code (2 for bad input), never a traceback.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shlex
import sys
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path, PurePath
from types import TracebackType
from typing import IO, Any, NoReturn

import click
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from payhelp.api import Payhelp, parse_moment
from payhelp.batch import ErrorCallback
from payhelp.cases import Attachment, DisputeReason, SubmissionReceipt, SubmissionStatus
from payhelp.errors import InvalidInputError, PayhelpError
from payhelp.i18n import LANGUAGES, N_, Language, Msg, parse_language, render
from payhelp.models import ProductKind, SubscriptionPeriod
from payhelp.policies.declines import Network
from payhelp.redact import mask_card_numbers, short_echo
from payhelp.sandbox import Sandbox
from payhelp.store import STATUSES

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
EXIT_INTERNAL = 70


class CliState:
    """What the group's options leave for the subcommands; the library is built lazily."""

    def __init__(self, config: str | None) -> None:
        self.config = config
        self._payhelp: Payhelp | None = None

    @property
    def payhelp(self) -> Payhelp:
        if self._payhelp is None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self._payhelp = Payhelp(config=self.config)
            for warning in caught:
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
_NUMBER = N_("#")
_CHANNEL = N_("channel")
_CONTACT = N_("contact")
_COST = N_("cost")
_WHY = N_("why")
_TOLL_FREE = N_("toll-free")
_MAY_COST = N_("may cost")
_INCLUDE = N_("Include in your message:")

_console = Console(highlight=False, soft_wrap=False)
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=_Path(dir_okay=False),
    envvar="PAYHELP_CONFIG",
    help="TOML configuration file.",
)
@click.version_option(package_name="payhelp")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Sort out customers' billing problems across payment processors."""
    ctx.obj = CliState(config)


@cli.command()
@_json_option
@click.pass_obj
def processors(state: CliState, as_json: bool) -> None:
    """List the processors the loaded plugins know."""
    infos = state.payhelp.processors()
    if as_json:
        _print_json([_dump(info) for info in infos])
        return
    table = Table("id", "name", "regions", "capabilities", "public API", title="Processors")
    for info in infos:
        caps = ", ".join(name for name, on in info.capabilities.model_dump().items() if on) or "-"
        api = (
            f"{info.public_api.basis} ({info.public_api.base_url})"
            if info.public_api
            else "none known"
        )
        regions = ", ".join(r.value for r in info.regions)
        table.add_row(escape(info.id), escape(info.name), regions, caps, escape(api))
    _console.print(table)


@cli.command()
@_json_option
@click.pass_obj
def plugins(state: CliState, as_json: bool) -> None:
    """Every plugin tried, with its version, hooks, processors and load error (JSON)."""
    del as_json  # always JSON: this listing is for diagnosis and bug reports
    _print_json([asdict(record) for record in state.payhelp.plugins(check=True)])


@cli.group()
def plugin() -> None:
    """Tools for plugin authors."""


@plugin.command("new")
@click.argument("name")
@click.option(
    "--output",
    type=_Path(file_okay=False),
    default=".",
    show_default=True,
    help="Where to create the package directory payhelp-NAME.",
)
@click.option("--display-name", help="The processor's display name (default: NAME in title case).")
def plugin_new(name: str, output: str, display_name: str | None) -> None:
    """Generate a complete processor plugin package for processor id NAME."""
    from payhelp.scaffold import new_plugin  # noqa: PLC0415 - only this command needs it

    target = new_plugin(name, Path(output), name=display_name)
    click.echo(f"created {target}")
    click.echo(
        f"next: fill in the TODOs in {target / 'src' / f'payhelp_{name}' / 'data.py'}, then "
        f"'python -m pip install -e {target}[test]' and 'python -m pytest {target}'"
    )


@cli.command()
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
    _console.print(table)
    for warning in plan.warnings:
        _console.print(f"[bold]![/bold] {escape(warning)}")
    if plan.include:
        _console.print(_t(_INCLUDE, lang))
        for item in plan.include:
            _console.print(f"  • {escape(item)}")


def _batch_lines(handle: IO[bytes], size: int | None, what: str = "routing") -> Iterator[bytes]:
    if size is None or not sys.stderr.isatty():
        yield from handle
        return
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


def _route_batch(ph: Payhelp, path: str) -> int:
    return _stream_batch(
        path, lambda lines, report: ph.route_batch(lines, on_error=report), "routing"
    )


@cli.command()
@click.option("--processor", help="The processor, when it is already known.")
@click.option("--transaction-id", help="The processor's transaction reference.")
@click.option("--descriptor", help="The line on the card statement.")
@click.option(
    "--product", type=click.Choice([k.value for k in ProductKind]), help="What was bought."
)
@click.option(
    "--period",
    type=click.Choice([p.value for p in SubscriptionPeriod]),
    help="Subscription period.",
)
@click.option("--country", help="Customer's country, ISO 3166-1 alpha-2.")
@click.option(
    "--batch",
    type=str,
    help="JSON Lines file of transactions ('-' for stdin); one JSON line out per line.",
)
@_json_option
@click.pass_obj
def route(
    state: CliState,
    processor: str | None,
    transaction_id: str | None,
    descriptor: str | None,
    product: str | None,
    period: str | None,
    country: str | None,
    batch: str | None,
    as_json: bool,
) -> None:
    """Decide which processor handled a transaction."""
    ph = state.payhelp
    if batch is not None:
        given = [processor, transaction_id, descriptor, product, period, country]
        if any(value is not None for value in given):
            raise click.UsageError(
                "--batch takes every transaction from the file; give no other fields"
            )
        raise SystemExit(_route_batch(ph, batch))
    if country is None:
        raise click.UsageError("Missing option '--country'.")
    if period is not None and product is None:
        product = ProductKind.SUBSCRIPTION.value
    fields: dict[str, Any] = {
        "processor": processor,
        "transaction_id": transaction_id,
        "descriptor": descriptor,
        "country": country,
        "product": {"kind": product, "period": period} if product else None,
    }
    decision = ph.route({k: v for k, v in fields.items() if v is not None})
    if as_json:
        _print_json(_dump(decision))
        return
    verdict = decision.processor or "undecided"
    table = Table("processor", "score", "reasons", title=f"Route: {verdict}", caption=decision.note)
    for candidate in decision.candidates:
        reasons = escape("; ".join(candidate.reasons))
        table.add_row(candidate.processor, str(candidate.score), reasons)
    _console.print(table)


_OUTCOME = N_("outcome")
_RULE = N_("rule")
_MESSAGE = N_("message")
_DECISION = N_("Refund decision: {decision}")
_DEADLINE = N_("Last moment for an eligible request: {deadline}")
_REFUND_AMOUNT = N_("Refund: {amount}")
_ELIGIBLE_AMOUNT = N_("Can be refunded: {amount}, the whole amount paid (asked for: {requested})")
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
_DOWNGRADE = N_("Final step ({action}) at {moment}")
_RETRIES_STOP = N_("Retries stop: {why}")
_WHEN = N_("when")
_WHAT = N_("what")
_CHARGE = N_("charge attempt {number}")


@cli.group()
def refund() -> None:
    """Refund eligibility under the platform's policy."""


@refund.command("check")
@click.option(
    "--product",
    required=True,
    type=click.Choice([k.value for k in ProductKind]),
    help="What was bought.",
)
@click.option(
    "--purchased-at", required=True, help="When the purchase completed (ISO 8601, with zone)."
)
@click.option("--now", "now", help="The moment to judge at (ISO 8601; default: the current time).")
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
        _console.print(table)
    else:
        _console.print(f"[bold]{escape(title)}[/bold]")
    _console.print(escape(decision.summary))
    if decision.refund is not None:
        _console.print(_t(_REFUND_AMOUNT, lang).format(amount=decision.refund))
    elif decision.eligible_amount is not None and decision.requested is not None:
        line = _t(_ELIGIBLE_AMOUNT, lang)
        _console.print(line.format(amount=decision.eligible_amount, requested=decision.requested))
    if decision.deadline is not None:
        _console.print(_t(_DEADLINE, lang).format(deadline=decision.deadline.isoformat()))


@cli.group()
def decline() -> None:
    """Explain raw decline codes."""


_SCHEME_HELP = (
    "Code table: braintree, iso8583, stripe or a processor id (`payhelp decline schemes`)."
)
_network_option = click.option(
    "--network",
    type=click.Choice([n.value for n in Network]),
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


def _needed(value: str | None, name: str) -> str:
    """``value``, or click's own words for a missing field of a command that also takes
    --batch."""
    if value is None:
        raise click.UsageError(f"Missing {name} (or give --batch FILE).")
    return value


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
    help="JSON Lines of declines ('-' for stdin): code, scheme, network, advice_code, "
    "visa_category, ref.",
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
    """What a decline code means, whether to retry, and what to do."""
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
    code, scheme = _needed(code, "argument 'CODE'"), _needed(scheme, "option '--scheme'")
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
    _console.print(table)
    _console.print(_t(_INCLUDE, lang))
    for item in advice.include:
        _console.print(f"  • {escape(item)}")


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
    _console.print(table)


@cli.group()
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
    help="JSON Lines of failed renewals ('-' for stdin): failed_at, code, scheme, network, "
    "advice_code, visa_category, ref.",
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
    """Every charge attempt, notification and the final step, if the decline never clears."""
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
    failed_at = _needed(failed_at, "option '--failed-at'")
    code, scheme = _needed(code, "option '--decline'"), _needed(scheme, "option '--scheme'")
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
    _console.print(table)
    if plan.retries_stop:
        _console.print(escape(_t(_RETRIES_STOP, lang).format(why=plan.retries_stop)))
    _console.print(
        _t(_DOWNGRADE, lang).format(
            action=plan.final_action.value, moment=plan.downgrade_at.isoformat()
        )
    )


# -- lookups ---------------------------------------------------------------------------------

_STATUS = N_("status")
_SOURCE = N_("source")
_LOOK_HERE = N_("Look it up yourself at {url}, with: {fields}")


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


@cli.command()
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
    if processor is None:
        raise click.UsageError("Missing option '--processor'.")
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
    _console.print(
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
        _console.print(table)
    if result.self_service is not None:
        look = result.self_service
        _console.print(
            escape(_t(_LOOK_HERE, lang).format(url=look.url, fields=", ".join(look.fields) or "-"))
        )
        _console.print(escape(look.instructions))
    if result.message:
        _console.print(escape(result.message))


# -- disputes --------------------------------------------------------------------------------


@cli.group()
def dispute() -> None:
    """Submit refund and dispute requests exactly once, and see what was submitted."""


_store_sandbox_option = click.option(
    "--sandbox",
    is_flag=True,
    help="Read the sandbox's own store, where `dispute submit --sandbox` records submissions.",
)


@dispute.command("submit")
@click.option("--processor", required=True, help="Processor id.")
@click.option("--transaction-id", help="The processor's transaction id.")
@click.option(
    "--reference",
    "references",
    multiple=True,
    help="Another reference as KIND=VALUE (member, purchase, order, subscription).",
)
@click.option(
    "--reason",
    required=True,
    type=click.Choice([r.value for r in DisputeReason]),
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
    _sending.set(_Sending("submission", idempotency_key, sandbox))
    ph = state.payhelp
    refs: dict[str, str] = {}
    for item in references:
        kind, sep, value = item.partition("=")
        if not sep or not value:
            raise InvalidInputError(f"--reference takes KIND=VALUE, e.g. member=123 (got {kind!r})")
        refs[kind.strip()] = value.strip()
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
    _console.print(table)
    if receipt.detail:
        _console.print(escape(receipt.detail))


@dispute.command("list")
@click.option("--processor", help="Only this processor's submissions.")
@click.option(
    "--status",
    # The store's own list, so that a status it gains is offered without editing this one.
    type=click.Choice(STATUSES),
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
    _console.print(table)


@dispute.command("show")
@click.argument("id_or_key")
@_store_sandbox_option
@_json_option
@click.pass_obj
def dispute_show(state: CliState, id_or_key: str, sandbox: bool, as_json: bool) -> None:
    """One submission, with its receipt or error (always JSON)."""
    del as_json  # a record is nested data: JSON for people and programs alike
    _print_json(_dump(state.payhelp.dispute(id_or_key, sandbox=sandbox or None)))


# -- sandbox ----------------------------------------------------------------------------------


@cli.group()
def sandbox() -> None:
    """The processors' sandboxes: their API formats, no credentials needed."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0.0, show_default=True)
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--rate-limit", help="Requests allowed, e.g. 50/s or 600/minute (429 beyond).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the error rate.")
@click.option("--processor", "processors", multiple=True, help="Only these processors.")
@click.pass_obj
def sandbox_serve(
    state: CliState,
    host: str,
    port: int,
    latency_ms: float,
    error_rate: float,
    rate_limit: str | None,
    seed: int,
    processors: tuple[str, ...],
) -> None:
    """Serve the sandboxes over HTTP, each under /<processor>/, until interrupted."""
    import asyncio  # noqa: PLC0415

    from payhelp.sandbox import Behaviour, SandboxServer  # noqa: PLC0415

    ph = state.payhelp
    boxes = _sandboxes(ph, processors)
    behaviour = Behaviour(
        latency_ms=latency_ms, error_rate=error_rate, rate_limit=rate_limit, seed=seed
    )
    server = SandboxServer(boxes, behaviour)

    async def run() -> None:
        try:
            bound = await server.start(host, port)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise InvalidInputError(f"cannot listen on {host}:{port}: {reason}") from None
        for pid in sorted(boxes):
            click.echo(f"{pid}: http://{host}:{bound}/{pid}/", err=True)
        click.echo("payhelp sandbox: serving; Ctrl-C stops", err=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.close()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return


@sandbox.command("cases")
@click.option("--processor", "processors", multiple=True, help="Only these processors.")
@_json_option
@click.pass_obj
def sandbox_cases(state: CliState, processors: tuple[str, ...], as_json: bool) -> None:
    """The sandboxes' deterministic ids, by case."""
    boxes = _sandboxes(state.payhelp, processors)
    cases = {pid: dict(box.cases()) for pid, box in sorted(boxes.items())}
    if as_json:
        _print_json(cases)
        return
    table = Table("processor", "case", "id", title="Sandbox ids")
    for pid, found in cases.items():
        for case, value in found.items():
            table.add_row(pid, case, escape(value))
    _console.print(table)


def _sandboxes(ph: Payhelp, processors: tuple[str, ...]) -> dict[str, Sandbox]:
    infos = [ph.processor(p) for p in processors] if processors else ph.processors()
    boxes = {info.id: box for info in infos if (box := ph.host.sandbox(info)) is not None}
    if not boxes:
        raise InvalidInputError("no loaded plugin has a sandbox")
    return boxes


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


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the CLI; exit with 0, 1 (failure, or a problem of the environment: a folder payhelp
    cannot write, a store it cannot trust), 2 (bad input) or 70 (a bug in payhelp). Every error
    is one line on stderr; after a submission or a lookup, the line ends by saying whether a
    retry is safe."""
    _tolerant_streams()
    args = sys.argv[1:] if argv is None else list(argv)
    for number, arg in enumerate(args, start=1):
        if _SURROGATE.search(arg):
            # Bytes the locale could not decode (Python keeps them as lone surrogates): refused
            # here, once, rather than crashing whichever part of payhelp meets them first.
            encoding = sys.getfilesystemencoding()
            _err(f"error: argument {number} is not valid {encoding} text; check the locale")
            raise SystemExit(EXIT_BAD_INPUT)
    token = _sending.set(None)
    try:
        cli.main(args=args, prog_name="payhelp", standalone_mode=False)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.Abort:
        sending = _sending.get()
        advice = (
            _in_doubt_advice(sending.key, sandbox=sending.sandbox)
            if sending and sending.kind == "submission"
            else ""
        )
        _err("aborted", advice)
        raise SystemExit(130) from None
    except click.UsageError as exc:
        _err(f"error: {exc.format_message()}")
        raise SystemExit(EXIT_BAD_INPUT) from None
    except click.ClickException as exc:
        _err(f"error: {exc.format_message()}")
        raise SystemExit(exc.exit_code) from None
    except InvalidInputError as exc:
        _err(f"error: {exc}", _retry_advice(exc))
        raise SystemExit(EXIT_BAD_INPUT) from None
    except PayhelpError as exc:
        _err(f"error: {exc}", _retry_advice(exc))
        raise SystemExit(EXIT_FAILURE) from None
    except OSError as exc:
        # The environment refused a file or folder (permissions, a file where a folder should
        # be, a full disk): the user's to fix, not a bug. The library names such paths in a
        # StorageError; this is the net for any that still reach here.
        if os.environ.get("PAYHELP_DEBUG"):
            raise
        _err(_os_error_line(exc))
        raise SystemExit(EXIT_FAILURE) from None
    except Exception as exc:
        if os.environ.get("PAYHELP_DEBUG"):
            raise
        _err(_internal_line(exc))
        raise SystemExit(EXIT_INTERNAL) from None
    finally:
        _sending.reset(token)
    raise SystemExit(0)
