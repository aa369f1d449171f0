"""The checks of the plugin contract, one plain function each.

Each check takes what it needs (a :class:`~payhelp.testing.harness.Harness` built with
:func:`~payhelp.testing.harness.build_harness`, or the plugin's data), returns nothing when the
plugin keeps that part of the contract, and otherwise raises an :class:`AssertionError`
(:class:`ConformanceError`) whose message lists every problem found, each saying what to fix.
A check with nothing to look at for this plugin (no API, no refund rules…) raises
:class:`NotApplicable`, a :class:`unittest.SkipTest` that pytest and unittest report as a skip.
A check that needs a loaded plugin raises
:class:`~payhelp.testing.harness.PluginNotLoadedError` (an ``AssertionError``) when it did not load;
:func:`check_loads` says why, once.

:class:`~payhelp.testing.ProcessorPluginConformance` runs them all; a plugin's own test can run
one::

    from payhelp.testing.checks import check_toll_free_numbers
    from payhelp_acmepay.data import DIRECTORY

    def test_free_numbers_are_free():
        check_toll_free_numbers(DIRECTORY)
"""

from __future__ import annotations

from payhelp.testing._report import ConformanceError, NotApplicable, card_number_in
from payhelp.testing.checks.capabilities import check_capabilities, registered_api_problems
from payhelp.testing.checks.contacts import SAMPLE_COUNTRIES, check_contact_plans
from payhelp.testing.checks.hooks import (
    DEPRECATED_HOOKS,
    FOREIGN,
    check_foreign_processors,
    check_no_deprecated_hooks,
    check_refund_rules,
    refund_rules_problems,
)
from payhelp.testing.checks.lookups import (
    REQUIRED_CASES,
    Expected,
    LookupFields,
    by_transaction_id,
    check_async_lookups,
    check_lookups,
    missing_cases,
)
from payhelp.testing.checks.metadata import (
    channel_problems,
    check_metadata,
    check_no_placeholders,
    check_toll_free_numbers,
)
from payhelp.testing.checks.registration import check_entry_point, check_loads, check_registration
from payhelp.testing.checks.secrets import check_nothing_leaks
from payhelp.testing.checks.submissions import (
    SubmissionFields,
    check_api_submissions,
    check_async_submissions,
    check_offline_submissions,
    refund_request,
)
from payhelp.testing.checks.texts import (
    SHARED_WORDS,
    check_texts_translated,
    directory_texts,
    reads_untranslated,
    text_problem,
)

__all__ = [
    "DEPRECATED_HOOKS",
    "FOREIGN",
    "REQUIRED_CASES",
    "SAMPLE_COUNTRIES",
    "SHARED_WORDS",
    "ConformanceError",
    "Expected",
    "LookupFields",
    "NotApplicable",
    "SubmissionFields",
    "by_transaction_id",
    "card_number_in",
    "channel_problems",
    "check_api_submissions",
    "check_async_lookups",
    "check_async_submissions",
    "check_capabilities",
    "check_contact_plans",
    "check_entry_point",
    "check_foreign_processors",
    "check_loads",
    "check_lookups",
    "check_metadata",
    "check_no_deprecated_hooks",
    "check_no_placeholders",
    "check_nothing_leaks",
    "check_offline_submissions",
    "check_refund_rules",
    "check_registration",
    "check_texts_translated",
    "check_toll_free_numbers",
    "directory_texts",
    "missing_cases",
    "reads_untranslated",
    "refund_request",
    "refund_rules_problems",
    "registered_api_problems",
    "text_problem",
]
