"""payhelp plugin for Webbilling."""

from __future__ import annotations

PROCESSOR_ID = "webbilling"
