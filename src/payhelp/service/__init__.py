"""payhelp as an HTTP service: every method of the embedding API as JSON, and a receiver for each
processor's notifications.

Needs the ``service`` extra (``pip install 'payhelp[service]'``: FastAPI and uvicorn). Build the
ASGI application with :func:`create_app` and mount it in a platform's own app, or run it alone
with ``payhelp serve``; the guide is ``docs/service.md``.
"""

from __future__ import annotations

from payhelp.service.app import create_app
from payhelp.service.keys import ApiKeys, add_key, revoke_key

__all__ = ["ApiKeys", "add_key", "create_app", "revoke_key"]
