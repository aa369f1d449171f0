"""The platform's API keys for the service, stored hashed and read again when the file changes.

A key is a random string shown once when it is made (``payhelp api-key new``); the file keeps
only its SHA-256, one ``name sha256:<hex>`` line per key (``#`` starts a comment). The service
checks the file's modification time before each request and reads it again when it changed, so
that a key is added, rotated or revoked by editing the file, without a restart. A key is
high-entropy and random, so one round of SHA-256 is what stands between a stolen file and the
key (as for GitHub's and Stripe's tokens); a password-hashing function would add nothing but
cost per request.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
from pathlib import Path

from payhelp.errors import ConfigurationError, InvalidInputError

#: A key's name in the file: what the access log says instead of the key.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_LINE = re.compile(r"(?P<name>\S+)\s+sha256:(?P<digest>[0-9a-f]{64})")
#: Every key starts so, to be recognisable in a leaked log or repository (and scrubbed).
PREFIX = "phk_"


def digest(key: str) -> str:
    """The hex SHA-256 the file stores for ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random key (256 bits)."""
    return PREFIX + secrets.token_urlsafe(32)


class ApiKeys:
    """The keys in one file, by digest; :meth:`name_of` answers which key a caller presented."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, ...] | None = None
        self._names: dict[str, str] = {}
        self._read()  # a missing or broken file is found when the service starts

    def _read(self) -> None:
        try:
            stat = self.path.stat()
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the API keys file {str(self.path)!r}: {exc.strerror}"
            ) from None
        names: dict[str, str] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            found = _LINE.fullmatch(line)
            if found is None or not _NAME.fullmatch(found["name"]):
                raise ConfigurationError(
                    f"{self.path}:{number}: each line is 'name sha256:<64 hex digits>' "
                    "(make one with payhelp api-key new)"
                )
            names[found["digest"]] = found["name"]
        self._names = names
        self._stamp = _stamp(stat)

    def refresh(self) -> None:
        """Read the file again if it changed since it was last read. A file that became
        unreadable or broken keeps the keys last read (and says so once it is fixed)."""
        try:
            stat = self.path.stat()
        except OSError:
            return
        if _stamp(stat) == self._stamp:
            return
        with self._lock:
            try:
                self._read()
            except ConfigurationError:
                return

    def name_of(self, key: str | None) -> str | None:
        """The name of the key presented, or ``None`` when it is not a current key."""
        if not key:
            return None
        self.refresh()
        return self._names.get(digest(key))

    def __len__(self) -> int:
        return len(self._names)


def _stamp(stat: os.stat_result) -> tuple[int, ...]:
    """What tells a changed file: its identity (a replaced file is another inode), its size and
    both its times (a copy may keep the modification time; the change time it cannot)."""
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def add_key(path: str | os.PathLike[str], name: str) -> str:
    """Make a key named ``name``, append its digest to the file at ``path`` (created, readable by
    its owner only) and return the key, which is never stored."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInputError(
            "a key's name is 1 to 64 letters, digits and . _ - (starting with a letter or digit)"
        )
    target = Path(path)
    key = new_key()
    existing = target.read_text(encoding="utf-8") if target.exists() else ""
    if any(
        (found := _LINE.fullmatch(line.split("#", 1)[0].strip())) and found["name"] == name
        for line in existing.splitlines()
    ):
        raise InvalidInputError(f"the file already has a key named {name!r}: revoke it first")
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as out:
        if existing and not existing.endswith("\n"):
            out.write("\n")
        out.write(f"{name} sha256:{digest(key)}\n")
    return key


def revoke_key(path: str | os.PathLike[str], name: str) -> bool:
    """Remove the key named ``name`` from the file; whether there was one."""
    target = Path(path)
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [
        line
        for line in lines
        if not ((found := _LINE.fullmatch(line.split("#", 1)[0].strip())) and found["name"] == name)
    ]
    if len(kept) == len(lines):
        return False
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
    temporary.write_text("".join(kept), encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(target)
    return True


__all__ = ["PREFIX", "ApiKeys", "add_key", "digest", "new_key", "revoke_key"]
