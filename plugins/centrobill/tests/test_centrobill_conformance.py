"""The plugin contract, checked by payhelp's conformance suite against CentroBill's sandbox."""

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


class TestCentrobillConformance(ProcessorPluginConformance):
    processor_id = "centrobill"
    plugin = "payhelp_centrobill.plugin"
    expected_lookups: ClassVar[Mapping[str, PaymentStatus | type[PayhelpError]]] = {
        "approved": PaymentStatus.APPROVED,
        "declined_insufficient_funds": PaymentStatus.DECLINED,
        "declined_suspected_fraud": PaymentStatus.DECLINED,
        "refunded": PaymentStatus.REFUNDED,
        # Partial only against the amount the customer says was charged, which this query lacks.
        "partially_refunded": PaymentStatus.REFUNDED,
        "chargeback": PaymentStatus.CHARGEBACK,
        "cancelled_subscription": PaymentStatus.CANCELLED_SUBSCRIPTION,
        "not_found": NotFoundError,
        "failing": InternalServerError,
        "malformed": APIResponseValidationError,
    }
