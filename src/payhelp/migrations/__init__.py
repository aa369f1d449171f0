"""The submission store's schema, versioned by Alembic.

This module imports nothing: opening a store whose schema is already at :data:`SCHEMA_REVISION`
reads these constants and never loads Alembic. The revisions are in ``versions/``; the code
that runs them (on open, and for ``payhelp store migrate``) is :mod:`payhelp.store_migrations`.
"""

from __future__ import annotations

#: The newest revision in ``versions/`` (the head). A test holds it equal to the script
#: directory's head: a new revision must update it.
SCHEMA_REVISION = "0007_timestamps_with_time_zone"
#: The table that holds the store's revision. payhelp's own name, so that a database shared
#: with an application that uses Alembic itself (its ``alembic_version``) keeps both apart.
VERSION_TABLE = "payhelp_alembic_version"
#: The PostgreSQL advisory lock held while the schema is checked and upgraded ("payhelp" read as
#: a number): one process migrates, every other waits and then finds the schema at head.
ADVISORY_LOCK_KEY = int.from_bytes(b"payhelp", "big")

__all__ = ["ADVISORY_LOCK_KEY", "SCHEMA_REVISION", "VERSION_TABLE"]
