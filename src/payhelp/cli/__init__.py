"""The ``payhelp`` command: parse, call the embedding API, print.

People get tables; ``--json`` gives programs one JSON document. Every library error becomes one
line on stderr and a non-zero exit code (2 for bad input), never a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import click

from payhelp.cli import declines, dispute, lookup, plugins, refund, route, sandbox
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


for _command in (
    plugins.processors,
    plugins.plugins,
    plugins.plugin,
    route.contacts,
    route.route,
    refund.refund,
    declines.decline,
    declines.dunning,
    lookup.lookup,
    dispute.dispute,
    sandbox.sandbox,
):
    cli.add_command(_command)


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
