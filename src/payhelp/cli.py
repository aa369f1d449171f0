"""The ``payhelp`` command: parse, call the embedding API, print.

People get tables; ``--json`` gives programs one JSON document. Every library error becomes one
line on stderr and a non-zero exit code (2 for bad input), never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import asdict
from typing import IO, Any, NoReturn

import click
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from payhelp.api import Payhelp
from payhelp.errors import InvalidInputError, PayhelpError
from payhelp.i18n import LANGUAGES, Language, parse_language
from payhelp.models import ProductKind, SubscriptionPeriod

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


def _err(message: str) -> None:
    click.echo(f"payhelp: {message}", err=True)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


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


_console = Console(highlight=False, soft_wrap=False)
_language_option = click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    help="Language of customer-facing text (default: from the locale).",
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
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
    _print_json([asdict(record) for record in state.payhelp.plugins()])


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
    table = Table(
        "#", "channel", "contact", "cost", "why", title=f"{plan.processor_name} — {plan.country}"
    )
    for number, channel in enumerate(plan.channels, start=1):
        cost = (
            "toll-free" if channel.toll_free else ("may cost" if channel.charges_may_apply else "")
        )
        detail = channel.reason + (f" ({'; '.join(channel.fields)})" if channel.fields else "")
        table.add_row(str(number), channel.kind.value, escape(channel.value), cost, escape(detail))
    _console.print(table)
    for warning in plan.warnings:
        _console.print(f"[bold]![/bold] {escape(warning)}")
    if plan.include:
        _console.print("Include in your message:")
        for item in plan.include:
            _console.print(f"  • {escape(item)}")


def _batch_lines(handle: IO[bytes], size: int | None) -> Iterator[bytes]:
    if size is None or not sys.stderr.isatty():
        yield from handle
        return
    columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("routing", total=size)
        for line in handle:
            progress.advance(task, len(line))
            yield line


def _route_batch(ph: Payhelp, path: str) -> int:
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
            for line in ph.route_batch(_batch_lines(handle, size), on_error=report):
                out.write(line + "\n")
        out.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return EXIT_BAD_INPUT if bad else 0


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


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the CLI; exit with 0, 1 (failure), 2 (bad input) or 70 (a bug in payhelp)."""
    try:
        cli.main(args=argv, prog_name="payhelp", standalone_mode=False)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.Abort:
        _err("aborted")
        raise SystemExit(130) from None
    except click.UsageError as exc:
        _err(f"error: {exc.format_message()}")
        raise SystemExit(EXIT_BAD_INPUT) from None
    except click.ClickException as exc:
        _err(f"error: {exc.format_message()}")
        raise SystemExit(exc.exit_code) from None
    except InvalidInputError as exc:
        _err(f"error: {exc}")
        raise SystemExit(EXIT_BAD_INPUT) from None
    except PayhelpError as exc:
        _err(f"error: {exc}")
        raise SystemExit(EXIT_FAILURE) from None
    except Exception as exc:
        if os.environ.get("PAYHELP_DEBUG"):
            raise
        _err(f"internal error: {type(exc).__name__}: {exc} (set PAYHELP_DEBUG=1 for the traceback)")
        raise SystemExit(EXIT_INTERNAL) from None
    raise SystemExit(0)
