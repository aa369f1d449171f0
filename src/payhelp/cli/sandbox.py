"""``sandbox serve``, ``sandbox cases`` and ``sandbox notify``: the processors' sandboxes, no
credentials needed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from payhelp.cli._output import (
    CliState,
    _dump,
    _json_option,
    _print_json,
    _print_table,
)
from payhelp.errors import InvalidInputError

if TYPE_CHECKING:
    from payhelp.api import Payhelp
    from payhelp.sandbox import Sandbox


@click.group()
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
    _print_table(table, whole_columns=(0, 1, 2))


@sandbox.command("notify")
@click.option("--processor", required=True, help="Whose notification.")
@click.option(
    "--kind",
    required=True,
    help="sale, rebill, decline, refund, chargeback... (--help of the sandbox)",
)
@click.option("--transaction-id", required=True, help="The transaction it is about.")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="Change a field of the notification (repeatable).",
)
@click.option(
    "--url",
    help="Deliver it to this receiver (a running payhelp serve's /v1/notifications/<id>); "
    "without it, it is received here, into the sandbox's store.",
)
@_json_option
@click.pass_obj
def sandbox_notify(
    state: CliState,
    processor: str,
    kind: str,
    transaction_id: str,
    fields: tuple[str, ...],
    url: str | None,
    as_json: bool,
) -> None:
    """Send the notification the processor would send (signed as it signs, from the addresses
    and with the token the sandbox uses), to see it received and applied."""
    ph = state.payhelp
    info = ph.processor(processor)
    box = ph.host.sandbox(info)
    build = getattr(box, "notification", None)
    if not callable(build):
        raise InvalidInputError(f"{info.name}'s sandbox sends no notifications")
    extra: dict[str, str] = {}
    for item in fields:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidInputError(f"--field is NAME=VALUE, not {item[:40]!r}")
        extra[name] = value
    try:
        delivery = build(kind, transaction_id, **extra)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(str(exc)) from None
    if url is None:
        outcome = ph.receive(
            info.id,
            delivery["method"],
            headers=delivery.get("headers"),
            query=delivery.get("query"),
            body=delivery.get("body"),
            remote_addr=delivery.get("remote_addr", "127.0.0.1"),
            sandbox=True,
        )
        if as_json:
            _print_json(_dump(outcome))
            return
        said = outcome.reason or ", ".join(f"#{n}" for n in outcome.confirmed) or "-"
        click.echo(f"{outcome.status} (record {outcome.record_id}; {said})")
        return
    import httpx  # noqa: PLC0415 - only to deliver over HTTP

    try:
        answer = httpx.request(
            delivery["method"],
            url,
            headers=delivery.get("headers"),
            params=delivery.get("query"),
            content=delivery.get("body") or None,
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise InvalidInputError(f"cannot deliver to {url}: {type(exc).__name__}") from None
    if as_json:
        _print_json({"status": answer.status_code, "body": answer.text})
        return
    click.echo(f"HTTP {answer.status_code}: {answer.text[:200]}")
    if answer.status_code >= 400:
        raise SystemExit(1)


def _sandboxes(ph: Payhelp, processors: tuple[str, ...]) -> dict[str, Sandbox]:
    infos = [ph.processor(p) for p in processors] if processors else ph.processors()
    boxes = {info.id: box for info in infos if (box := ph.host.sandbox(info)) is not None}
    if not boxes:
        raise InvalidInputError("no loaded plugin has a sandbox")
    return boxes
