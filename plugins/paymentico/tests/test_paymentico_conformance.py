"""The plugin contract, checked by payhelp's conformance suite."""

from __future__ import annotations

from payhelp.testing import ProcessorPluginConformance


class TestPaymenticoConformance(ProcessorPluginConformance):
    processor_id = "paymentico"
    plugin = "payhelp_paymentico.plugin"
