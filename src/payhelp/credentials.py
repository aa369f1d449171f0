"""What the HTTP layer masks and its defaults, importable without httpx.

Every credential a client is built with is remembered for the process, so that log lines from
any logger that sees a request (httpx's own logs the URL at INFO) are scrubbed of it; the query
parameters that carry credentials (``auth_pass``, ``UserAccessKey``), declared by the processor
APIs built in the process, are masked by name wherever a URL may be logged or raised. The
declarative half of the plugin contract (:mod:`payhelp.adapters`) needs these, and the defaults,
when a plugin loads: kept here so that loading plugins does not load the HTTP client.
:mod:`payhelp.http` re-exports them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

#: Seconds a request may take, and how many times a failed one is retried, unless configured.
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2

_SECRETS: set[str] = set()
_LOCK = threading.Lock()
_QUERY_NAMES: set[str] = set()
_QUERY_PATTERN: re.Pattern[str] | None = None


def remember_secrets(values: Iterable[str]) -> None:
    """Scrub these credential values from every log line from now on; a value shorter than four
    characters is not scrubbed by value (it would blank ordinary words)."""
    with _LOCK:
        _SECRETS.update(v for v in values if v and len(v) >= 4)


def known_secrets() -> tuple[str, ...]:
    """Every credential value a client was built with in this process (for scrubbing)."""
    with _LOCK:
        return tuple(_SECRETS)


def masks_query_credentials() -> bool:
    """Whether any credential query parameter has been declared (else nothing to mask)."""
    return _QUERY_PATTERN is not None


def mask_query_credentials(text: str) -> str:
    """``text`` with the value of every declared credential query parameter replaced by
    ``[secret]`` (``auth_pass=hunter2`` becomes ``auth_pass=[secret]``)."""
    pattern = _QUERY_PATTERN
    return pattern.sub(r"\1=[secret]", text) if pattern is not None else text


def declare_query_credentials(names: Iterable[str]) -> None:
    """Mask these query parameters by name in every URL payhelp logs or raises (idempotent)."""
    global _QUERY_PATTERN  # noqa: PLW0603 - one process-wide mask, grown as APIs are built
    with _LOCK:
        new = {n for n in names if n} - _QUERY_NAMES
        if not new:
            return
        _QUERY_NAMES.update(new)
        alternatives = "|".join(re.escape(n) for n in sorted(_QUERY_NAMES, key=len, reverse=True))
        _QUERY_PATTERN = re.compile(rf"(?i)(?<![A-Za-z0-9_])({alternatives})=[^&\s\"'>#]*")


__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "declare_query_credentials",
    "known_secrets",
    "mask_query_credentials",
    "masks_query_credentials",
    "remember_secrets",
]
