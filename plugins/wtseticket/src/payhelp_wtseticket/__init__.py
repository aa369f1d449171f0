"""payhelp plugin for WTS (wtseticket)."""

from __future__ import annotations

PROCESSOR_ID = "wtseticket"
