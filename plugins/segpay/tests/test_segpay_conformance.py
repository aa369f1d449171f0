"""The plugin contract, checked by payhelp's conformance suite against SegPay's sandbox."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from payhelp import PaymentStatus
from payhelp.errors import (
    APIResponseValidationError,
    InternalServerError,
    NotFoundError,
    PayhelpError,
)
from payhelp.testing import ProcessorPluginConformance


class TestSegpayConformance(ProcessorPluginConformance):
    processor_id = "segpay"
    plugin = "payhelp_segpay.plugin"
    expected_lookups: ClassVar[Mapping[str, PaymentStatus | type[PayhelpError]]] = {
        "approved": PaymentStatus.APPROVED,
        "declined_insufficient_funds": PaymentStatus.DECLINED,
        "declined_expired_card": PaymentStatus.DECLINED,
        "refunded": PaymentStatus.REFUNDED,
        "partially_refunded": PaymentStatus.PARTIALLY_REFUNDED,
        "chargeback": PaymentStatus.CHARGEBACK,
        "cancelled_subscription": PaymentStatus.CANCELLED_SUBSCRIPTION,
        "not_found": NotFoundError,
        "failing": InternalServerError,
        "malformed": APIResponseValidationError,
    }
