"""The ``payhelp`` command: parse, call the embedding API, print.

People get tables; ``--json`` gives programs one JSON document. Every library error becomes one
line on stderr and a non-zero exit code (2 for bad input), never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import NoReturn

import click

from payhelp.cli._output import (
    _SURROGATE,
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_INTERNAL,
    MAX_ERROR_CHARS,
    CliState,
    _err,
    _field_options,
    _in_doubt_advice,
    _in_option_words,
    _internal_line,
    _os_error_line,
    _Path,
    _retry_advice,
    _sending,
    _tolerant_streams,
    _usage_line,
)
from payhelp.errors import InvalidInputError, PayhelpError

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_INTERNAL",
    "MAX_ERROR_CHARS",
    "CliState",
    "cli",
    "main",
]


#: Each command: the module that defines it, its name there, and the line ``payhelp --help``
#: shows for it (held equal to the command's own short help by a test). A command's module is
#: imported only when that command runs, so ``payhelp contacts`` does not load the decline
#: tables and ``payhelp --help`` loads no command at all.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "processors": ("plugins", "processors", "List the processors the loaded plugins know."),
    "plugins": (
        "plugins",
        "plugins",
        "Every plugin tried: its version, processors and whether it works, with each load "
        "error, problem and hook failure saying what to fix (--json: every field, for a bug "
        "report).",
    ),
    "plugin": ("plugins", "plugin", "Tools for plugin authors."),
    "contacts": (
        "route",
        "contacts",
        "Whom a customer should contact at a processor, in order, and why.",
    ),
    "route": ("route", "route", "Decide which processor handled a transaction."),
    "refund": ("refund", "refund", "Refund eligibility under the platform's policy."),
    "decline": ("declines", "decline", "Explain raw decline codes."),
    "dunning": ("declines", "dunning", "The schedule after a failed subscription payment."),
    "lookup": (
        "lookup",
        "lookup",
        "Find a payment through the processor's API, or where to look it up.",
    ),
    "dispute": (
        "dispute",
        "dispute",
        "Submit refund and dispute requests exactly once, and see what was submitted and what "
        "the processors reported.",
    ),
    "serve": (
        "serve",
        "serve",
        "Serve the embedding API as JSON over HTTP, and a receiver for each processor's "
        "notifications, until interrupted.",
    ),
    "api-key": ("serve", "api_key", "Make and revoke the API keys the service accepts."),
    "sandbox": (
        "sandbox",
        "sandbox",
        "The processors' sandboxes: their API formats, no credentials needed.",
    ),
    "store": ("store", "store", "The submission store: its schema and migrations."),
}


class _LazyGroup(click.Group):
    """The top-level group: commands listed from :data:`COMMANDS`, imported when one runs (the
    lazy loading click's documentation describes)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, name, _ = entry
        command = getattr(importlib.import_module(f"payhelp.cli.{module}"), name)
        if not isinstance(command, click.Command):  # pragma: no cover - COMMANDS is ours
            raise TypeError(f"payhelp.cli.{module}.{name} is not a command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # As click lists them, from stand-ins holding each command's first sentence.
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit))
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
    fields = _field_options.set({})
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
        _err(f"error: {_usage_line(exc)}")
        raise SystemExit(EXIT_BAD_INPUT) from None
    except click.ClickException as exc:
        _err(f"error: {exc.format_message()}")
        raise SystemExit(exc.exit_code) from None
    except InvalidInputError as exc:
        _err(f"error: {_in_option_words(str(exc))}", _retry_advice(exc))
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
        _field_options.reset(fields)
    raise SystemExit(0)
