"""``serve`` and ``api-key``: payhelp as an HTTP service (the ``service`` extra)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from payhelp.cli._output import CliState, _err, _Path
from payhelp.errors import ConfigurationError


def _service_missing() -> ConfigurationError:
    return ConfigurationError("the service needs the service extra: pip install 'payhelp[service]'")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port."
)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Processes."
)
@click.option(
    "--api-keys",
    type=_Path(dir_okay=False),
    envvar="PAYHELP_SERVICE_API_KEYS",
    help="File of API key digests (payhelp api-key new); read again when it changes.",
)
@click.option(
    "--allow-anonymous",
    is_flag=True,
    help="Serve every caller without a key (behind a gate of your own only).",
)
@click.option("--sandbox", is_flag=True, help="Send lookups and submissions to the sandboxes.")
@click.option(
    "--max-body",
    type=click.IntRange(1024),
    default=1024 * 1024,
    show_default=True,
    help="Largest request body, in bytes (a batch: 32 MiB).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds a request may take before it starts answering.",
)
@click.option(
    "--forwarded-allow-ips",
    help="Proxies whose X-Forwarded-For to trust for the client's address (comma-separated).",
)
@click.pass_obj
def serve(
    state: CliState,
    host: str,
    port: int,
    workers: int,
    api_keys: str | None,
    allow_anonymous: bool,
    sandbox: bool,
    max_body: int,
    timeout: float,
    forwarded_allow_ips: str | None,
) -> None:
    """Serve the embedding API as JSON over HTTP, and a receiver for each processor's
    notifications, until interrupted."""
    try:
        import uvicorn  # noqa: PLC0415 - the service extra

        from payhelp.service import app as service  # noqa: PLC0415
    except ImportError:
        raise _service_missing() from None
    env = {
        service.ENV_API_KEYS: str(Path(api_keys).resolve()) if api_keys else "",
        service.ENV_ANONYMOUS: "1" if allow_anonymous else "",
        service.ENV_SANDBOX: "1" if sandbox else "",
        service.ENV_MAX_BODY: str(max_body),
        service.ENV_TIMEOUT: str(timeout),
    }
    if state.config:
        env["PAYHELP_CONFIG"] = str(Path(state.config).resolve())
    os.environ.update(env)
    service.from_environment()  # every configuration problem, here, as one line
    uvicorn.run(
        "payhelp.service.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # its lines carry the query string; payhelp's own log does not
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
        log_level="info",
        log_config=_log_config(),
    )


def _log_config() -> dict[str, object]:
    """uvicorn's logging, with payhelp's access log (and its service log) beside it."""
    import copy  # noqa: PLC0415

    from uvicorn.config import LOGGING_CONFIG  # noqa: PLC0415

    config: dict[str, object] = copy.deepcopy(LOGGING_CONFIG)
    loggers = config["loggers"]
    assert isinstance(loggers, dict)
    loggers["payhelp.service"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    # uvicorn logs a failing request's traceback: card numbers and known secrets masked there.
    config["filters"] = {
        "redact": {
            "()": "payhelp.redact.RedactingFilter",
            "provider": "ext://payhelp.credentials.known_secrets",
        }
    }
    for handler in ("default", "access"):
        handlers = config["handlers"]
        assert isinstance(handlers, dict)
        handlers[handler]["filters"] = ["redact"]
    return config


@click.group("api-key")
def api_key() -> None:
    """Make and revoke the API keys the service accepts."""


@api_key.command("new")
@click.option("--file", "path", type=_Path(dir_okay=False), required=True, help="Keys file.")
@click.option("--name", required=True, help="What the access log calls the key's holder.")
def api_key_new(path: str, name: str) -> None:
    """Make a key, store its digest in the file and print the key (shown this once)."""
    from payhelp.service.keys import add_key  # noqa: PLC0415 - no web framework needed

    click.echo(add_key(path, name))


@api_key.command("revoke")
@click.option("--file", "path", type=_Path(dir_okay=False, exists=True), required=True)
@click.option("--name", required=True, help="The key to remove.")
def api_key_revoke(path: str, name: str) -> None:
    """Remove a key from the file: a running service refuses it from its next request."""
    from payhelp.service.keys import revoke_key  # noqa: PLC0415

    if not revoke_key(path, name):
        _err(f"no key named {name!r} in {path}")
        raise SystemExit(2)
