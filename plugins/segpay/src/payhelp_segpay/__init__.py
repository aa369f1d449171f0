"""payhelp plugin for SegPay."""

from __future__ import annotations

PROCESSOR_ID = "segpay"
