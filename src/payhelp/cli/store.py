"""``store migrate``: the submission store's schema, for operators (see docs/migrations.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from payhelp.cli._output import EXIT_FAILURE, CliState, _err

if TYPE_CHECKING:
    from payhelp.store_migrations import SchemaState


@click.group()
def store() -> None:
    """The submission store: its schema and migrations."""


def _shown(state: SchemaState) -> str:
    if not state.exists:
        return "no store yet"
    if state.current is not None:
        return state.current
    return f"{state.legacy} (made before payhelp recorded revisions; to be stamped)"


@store.command("migrate")
@click.option(
    "--store-url",
    help="The store's SQLAlchemy URL (default: store_url from the configuration).",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="The sandbox's own store beside it, where sandbox submissions are recorded.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing; exit with 1 when the store is not at the newest revision, 0 when it is.",
)
@click.option(
    "--sql",
    "as_sql",
    is_flag=True,
    help="Change nothing; print the SQL of the upgrade, for a DBA to review and run.",
)
@click.pass_obj
def store_migrate(
    state: CliState, store_url: str | None, sandbox: bool, check: bool, as_sql: bool
) -> None:
    """Bring the store's schema to this payhelp's newest revision (opening the store does this
    too); show where it was and where it is."""
    if check and as_sql:
        raise click.UsageError("--check and --sql cannot be combined")
    from payhelp.store import SubmissionStore, default_url, sandbox_url  # noqa: PLC0415
    from payhelp.store_migrations import offline_sql, schema_state  # noqa: PLC0415

    url = store_url or state.payhelp.settings.store_url
    if sandbox:
        url = sandbox_url(url)
    url = url or default_url()
    before = schema_state(url)
    if as_sql:
        sql = offline_sql(url)
        click.echo(sql if sql else f"-- {before.where}: already at {before.head}; nothing to do")
        return
    click.echo(f"store:  {before.where}")
    click.echo(f"now:    {_shown(before)}")
    click.echo(f"newest: {before.head}")
    if check:
        if not before.at_head:
            _err(
                f"the store {before.where} is not at the newest revision: "
                "`payhelp store migrate` (or opening the store) upgrades it"
            )
            raise SystemExit(EXIT_FAILURE)
        click.echo("up to date")
        return
    if before.at_head:
        click.echo("up to date: nothing to do")
        return
    SubmissionStore(url).close()  # opening migrates, under the store's lock and checks
    after = schema_state(url)
    click.echo(f"migrated: {_shown(before)} -> {_shown(after)}")
