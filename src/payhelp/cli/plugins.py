"""The commands about what is installed: ``processors``, ``plugins`` and ``plugin new``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from payhelp.cli._output import (
    CliState,
    _dump,
    _json_option,
    _Path,
    _print_json,
    _print_table,
)


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


@click.command()
@_json_option
@click.pass_obj
def plugins(state: CliState, as_json: bool) -> None:
    """Every plugin tried, with its version, hooks, processors and load error (JSON)."""
    del as_json  # always JSON: this listing is for diagnosis and bug reports
    _print_json([asdict(record) for record in state.payhelp.plugins(check=True)])


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
def plugin_new(name: str, output: str, display_name: str | None) -> None:
    """Generate a complete processor plugin package for processor id NAME."""
    from payhelp.scaffold import new_plugin  # noqa: PLC0415 - only this command needs it

    target = new_plugin(name, Path(output), name=display_name)
    click.echo(f"created {target}")
    click.echo(
        f"next: fill in the TODOs in {target / 'src' / f'payhelp_{name}' / 'data.py'}, then "
        f"'python -m pip install -e {target}[test]' and 'python -m pytest {target}'"
    )
