"""payhelp plugin for Paymentico."""

from __future__ import annotations

PROCESSOR_ID = "paymentico"
