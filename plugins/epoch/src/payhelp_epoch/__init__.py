"""payhelp plugin for Epoch."""

from __future__ import annotations

PROCESSOR_ID = "epoch"
