"""payhelp plugin for CentroBill."""

from __future__ import annotations

PROCESSOR_ID = "centrobill"
