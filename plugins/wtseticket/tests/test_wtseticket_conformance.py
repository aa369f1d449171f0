"""The plugin contract, checked by payhelp's conformance suite."""

from __future__ import annotations

from payhelp.testing import ProcessorPluginConformance


class TestWtseticketConformance(ProcessorPluginConformance):
    processor_id = "wtseticket"
    plugin = "payhelp_wtseticket.plugin"
