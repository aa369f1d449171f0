"""SloppyPay's catalogue domain."""

from __future__ import annotations

from payhelp.i18n import Domain

DOMAIN = Domain("sloppypay", "sloppypay")
N_ = DOMAIN.N_
#: The mistake: texts marked with this alias are not extracted, so no catalogue gets them.
_ = DOMAIN.N_
