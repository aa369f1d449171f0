"""The commands about what is installed: ``processors``, ``plugins`` and ``plugin new``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from payhelp.cli._output import (
    EXIT_FAILURE,
    CliState,
    _dump,
    _json_option,
    _Path,
    _print_json,
    _print_table,
)

if TYPE_CHECKING:
    from payhelp.plugins import PluginRecord


@click.command()
@_json_option
@click.pass_obj
def processors(state: CliState, as_json: bool) -> None:
    """List the processors the loaded plugins know."""
    infos = state.payhelp.processors()
    if as_json:
        _print_json([_dump(info) for info in infos])
        return
    table = Table("id", "name", "regions", "capabilities", "public API", title="Processors")
    whole: list[str] = []
    for info in infos:
        # One capability, and the API's URL, a line each: a value an agent copies is never cut.
        caps = [name for name, on in info.capabilities.model_dump().items() if on]
        regions = [r.value for r in info.regions]
        api = info.public_api
        url = str(api.base_url) if api else ""
        api_text = f"{api.basis}\n{url}".strip() if api else "none known"
        whole += [*caps, *regions, url]
        table.add_row(
            escape(info.id), escape(info.name), ", ".join(regions), "\n".join(caps) or "-",
            escape(api_text),
        )  # fmt: skip
    _print_table(table, whole_columns=(0,), whole=whole)


#: Hooks through which an installed plugin adds something besides its processors.
_GLOBAL_HOOKS = frozenset({"payhelp_register_decline_schemes"})


def _registered_nothing(record: PluginRecord) -> str | None:
    """Why a plugin that loaded without an error contributes nothing, or ``None``.

    An installed plugin's per-processor hooks (contact plans, refund rules, its API) are asked
    about its own processors only, so without a processor they add nothing; a plugin registered
    in code is asked about every processor, so any hook of its counts."""
    if record.error is not None or record.processors:
        return None
    hooks = set(record.hooks)
    if record.source == "entry point":
        adds = hooks & _GLOBAL_HOOKS
    else:
        adds = hooks - {"payhelp_register_processors"}
    if adds:
        return None
    return (
        "registered nothing (no processor, decline scheme or refund rule): call "
        "register(INFO, DIRECTORY) from its payhelp_register_processors hook"
    )


def _plugin_problems(record: PluginRecord) -> list[str]:
    """What is wrong with a plugin, each saying what to fix: its load error, the problems the
    host found, and the failures of its hooks."""
    found: list[str] = []
    if record.error is not None:
        found.append(f"error: {record.error}")
    # The host states some problems itself; where it states none (a plugin registered in code,
    # or one with only hooks that add nothing), a plugin that registered nothing is named here.
    problems = list(record.problems)
    if not problems and (nothing := _registered_nothing(record)) is not None:
        problems.append(nothing)
    found += [f"problem: {problem}" for problem in problems]
    found += [f"hook error: {error}" for error in record.hook_errors]
    return found


@click.command()
@_json_option
@click.pass_obj
def plugins(state: CliState, as_json: bool) -> None:
    """Every plugin tried: its version, processors and whether it works, with each load error,
    problem and hook failure saying what to fix (--json: every field, for a bug report).

    Exits with 1 when a plugin needs fixing: it failed to load, registered nothing, or a hook
    failed when asked about its processors."""
    records = state.payhelp.plugins(check=True)
    if as_json:
        listing = [asdict(record) for record in records]
        for data, record in zip(listing, records, strict=True):
            if not data.get("problems") and (nothing := _registered_nothing(record)) is not None:
                data["problems"] = [nothing]
        _print_json(listing)
        raise SystemExit(EXIT_FAILURE if any(map(_plugin_problems, records)) else 0)
    table = Table("plugin", "version", "processors", "status", title="Plugins")
    broken = 0
    for record in records:
        problems = _plugin_problems(record)
        broken += bool(problems)
        status = problems or ["loaded"]
        status += [f"note: {note}" for note in record.notes]
        table.add_row(
            escape(record.name),
            escape(record.version or "-"),
            escape("\n".join(record.processors) or "-"),
            escape("\n".join(status)),
        )
    _print_table(table, whole_columns=(0, 1, 2))
    if broken:
        raise SystemExit(EXIT_FAILURE)


@click.group()
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
@click.option(
    "--no-api",
    is_flag=True,
    help="The processor has no public merchant API: no api.py or sandbox.py (customers are "
    "sent to its channels, refunds go by email or web form).",
)
def plugin_new(name: str, output: str, display_name: str | None, no_api: bool) -> None:
    """Generate a complete processor plugin package for processor id NAME."""
    from payhelp.scaffold import new_plugin  # noqa: PLC0415 - only this command needs it

    target = new_plugin(name, Path(output), name=display_name, api=not no_api)
    data = target / "src" / f"payhelp_{name}" / "data.py"
    click.echo(f"created {target}")
    click.echo(
        f"next: fill in the TODOs and .invalid addresses in {data} (payhelp registers the "
        f"processor only once none is left), then 'python -m pip install -e {target}[test]' "
        f"and 'python -m pytest {target}', which lists each one still to fill in"
    )
