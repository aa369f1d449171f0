"""NovaPay: a sample third-party processor plugin on the current plugin contract.

NovaPay is fictional (its addresses are on ``example.com``). The plugin is written only against
payhelp's public contract, as an author outside this repository would write it: a
:class:`~payhelp.adapters.ProcessorApi` registered with the processor's metadata, its operations
written once as generators (a lookup that needs two requests, a refund), and a sandbox built with
payhelp's sandbox kit. No client class, no ``async def``, no payhelp_adapter / payhelp_sandbox.
"""
