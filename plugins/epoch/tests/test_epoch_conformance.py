"""The plugin contract, checked by payhelp's conformance suite against Epoch's sandbox."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from payhelp import PaymentStatus
from payhelp.errors import (
    APIResponseValidationError,
    InternalServerError,
    NotFoundError,
    PayhelpError,
)
from payhelp.testing import ProcessorPluginConformance


class TestEpochConformance(ProcessorPluginConformance):
    processor_id = "epoch"
    plugin = "payhelp_epoch.plugin"
    expected_lookups: ClassVar[Mapping[str, PaymentStatus | type[PayhelpError]]] = {
        "approved": PaymentStatus.APPROVED,
        "declined": PaymentStatus.DECLINED,
        "refunded": PaymentStatus.REFUNDED,
        "chargeback": PaymentStatus.CHARGEBACK,
        "cancelled_subscription": PaymentStatus.CANCELLED_SUBSCRIPTION,
        "pending": PaymentStatus.PENDING,
        "not_found": NotFoundError,
        "failing": InternalServerError,
        "malformed": APIResponseValidationError,
    }
    submission_case = "credit_approved"

    def lookup_fields(self, case: str, ident: str) -> dict[str, Any]:
        # Epoch finds a member by any two of four details; the sandbox's members have the
        # email address <case, dots for underscores>@example.com.
        return {"references": {"member": ident}, "email": f"{case.replace('_', '.')}@example.com"}

    def submission_fields(self, case: str, ident: str) -> dict[str, Any]:
        return super().submission_fields(case, ident) | {"reason": "not_recognised"}
