"""NovaPay's catalogue domain."""

from __future__ import annotations

from payhelp.i18n import Domain

DOMAIN = Domain("novapay", "novapay")
N_ = DOMAIN.N_
