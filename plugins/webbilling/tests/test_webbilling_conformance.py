"""The plugin contract, checked by payhelp's conformance suite."""

from __future__ import annotations

from payhelp.testing import ProcessorPluginConformance


class TestWebbillingConformance(ProcessorPluginConformance):
    processor_id = "webbilling"
    plugin = "payhelp_webbilling.plugin"
