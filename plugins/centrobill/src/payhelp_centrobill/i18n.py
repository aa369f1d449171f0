"""This plugin's catalogue domain."""

from __future__ import annotations

from payhelp.i18n import Domain

DOMAIN = Domain("payhelp_centrobill", "payhelp_centrobill")
N_ = DOMAIN.N_
