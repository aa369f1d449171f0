"""The processor plugin conformance suite: the whole plugin contract, as tests.

Subclass :class:`ProcessorPluginConformance` in a test module, in a class whose name starts with
``Test``, and give at least the processor id and the plugin::

    from payhelp.testing import ProcessorPluginConformance

    class TestAcmePayConformance(ProcessorPluginConformance):
        processor_id = "acmepay"
        plugin = "payhelp_acmepay.plugin"

pytest then runs every ``test_`` method below against the plugin, alone in a fresh plugin
manager (:func:`~payhelp.testing.harness.build_harness`, once per class). Each test calls one
check of :mod:`payhelp.testing.checks`, sync or through the async API, and each failure lists
every problem found, each with what to fix, rather than stopping at the first. A plugin that
does not load (it does not import, fails validation, or registers nothing) fails
``test_registers_cleanly`` alone, saying why; every other check is skipped, pointing at it.

A plugin with an API also says what its sandbox's cases must map to
(:attr:`~ProcessorPluginConformance.expected_lookups`) and, when its processor finds payments by
something other than the transaction id, how to ask (:meth:`~ProcessorPluginConformance.
lookup_fields`). A plugin on the current contract registers its
:class:`~payhelp.adapters.ProcessorApi` and its sandbox with its processor; one still on the
deprecated ``payhelp_adapter`` / ``payhelp_sandbox`` hooks gets the checks of that contract.
Either way lookups and submissions are made through :class:`~payhelp.AsyncPayhelp` as well and
must give the sync answers, so a plugin needs no async tests of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import pytest

from payhelp.cases import PaymentStatus
from payhelp.errors import PayhelpError
from payhelp.i18n import Language
from payhelp.testing import checks
from payhelp.testing._report import ConformanceError, NotApplicable
from payhelp.testing._report import card_number_in as _card_number_in
from payhelp.testing.checks import (
    DEPRECATED_HOOKS,
    FOREIGN,
    REQUIRED_CASES,
    SAMPLE_COUNTRIES,
)
from payhelp.testing.harness import (
    Harness,
    PluginNotLoadedError,
    build_harness,
    without_payhelp_environment,
)

#: The test that says why a plugin did not load; the others are skipped, pointing at it.
LOAD_TEST = "test_registers_cleanly"
#: The tests that run whether or not the plugin loaded.
_WITHOUT_THE_PLUGIN = frozenset({LOAD_TEST, "test_installed_under_its_entry_point"})


@contextmanager
def _reported() -> Iterator[None]:
    """A check's failure as pytest shows a conformance problem: its message alone, without the
    traceback of the suite's own code."""
    try:
        yield
    except (ConformanceError, PluginNotLoadedError) as failure:
        raise pytest.fail.Exception(str(failure), pytrace=False) from None
    except NotApplicable as why:  # reported from the suite, not from pytest's unittest support
        pytest.skip(str(why))


class ProcessorPluginConformance:
    """The contract every processor plugin keeps, as tests. Subclass it in a ``Test…`` class."""

    #: The processor id, equal to the plugin's entry-point name.
    processor_id: ClassVar[str]
    #: The plugin: the dotted name of the module with the hook implementations, or the object.
    plugin: ClassVar[object | str]
    #: Whether the plugin must be installed under the ``payhelp`` entry point ``processor_id``.
    installed: ClassVar[bool] = True
    #: The countries contact plans are checked for (at least one of every region).
    sample_countries: ClassVar[tuple[str, ...]] = SAMPLE_COUNTRIES
    #: The languages every customer-facing text must exist in.
    languages: ClassVar[tuple[Language, ...]] = ("en", "it")
    #: For plugins with an adapter: what looking up each sandbox case gives, a status or the
    #: error class from :mod:`payhelp.errors`. It must name at least :data:`REQUIRED_CASES` and
    #: one ``declined`` case.
    expected_lookups: ClassVar[Mapping[str, PaymentStatus | type[PayhelpError]]] = {}
    #: For plugins that submit through the API: the sandbox case whose payment is refunded.
    submission_case: ClassVar[str] = "approved"

    def lookup_fields(self, case: str, ident: str) -> dict[str, Any]:
        """The lookup fields for a sandbox case whose id is ``ident`` (by default the
        transaction id; override when the processor finds payments by other fields)."""
        return checks.by_transaction_id(case, ident)

    def submission_fields(self, case: str, ident: str) -> dict[str, Any]:
        """A complete refund request about the sandbox case whose id is ``ident``."""
        return checks.refund_request(case, ident)

    # -- the harness ------------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def conformance(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
        """The plugin alone in a fresh plugin manager and a :class:`Payhelp`, for the class."""
        unset = [name for name in ("processor_id", "plugin") if not hasattr(cls, name)]
        if unset:
            harness = Harness(
                getattr(cls, "processor_id", "?"), None, tmp_path_factory.getbasetemp()
            )
            harness.load_error = f"{cls.__name__} must set {' and '.join(unset)}"
            yield harness
            return
        root = tmp_path_factory.mktemp(f"conformance-{cls.processor_id}")
        with pytest.MonkeyPatch.context() as patch:
            without_payhelp_environment(patch)
            harness = build_harness(cls.processor_id, cls.plugin, root)
            try:
                yield harness
            finally:
                harness.close()

    @pytest.fixture(autouse=True)
    def _needs_a_loaded_plugin(self, request: pytest.FixtureRequest) -> None:
        """Skip every check but :data:`LOAD_TEST` when the plugin did not load, so that one
        mistake is one failure, said once."""
        if request.node.name.split("[")[0] in _WITHOUT_THE_PLUGIN:
            return
        if "conformance" not in request.fixturenames:
            return
        harness: Harness = request.getfixturevalue("conformance")
        if harness.load_error is not None:
            pytest.skip(f"the plugin did not load, so this check cannot run: {LOAD_TEST} says why")

    # -- registration -----------------------------------------------------------------------

    def test_registers_cleanly(self, conformance: Harness) -> None:
        """The plugin imports, registers exactly its own processor, and names only real hooks.
        When it does not load, this is the one failure that says why."""
        with _reported():
            checks.check_registration(conformance)

    def test_installed_under_its_entry_point(self) -> None:
        """An installed plugin is found through the ``payhelp`` entry point named after its
        processor, pointing at the plugin module."""
        if not self.installed:
            pytest.skip("the plugin is tested without being installed (installed = False)")
        with _reported():
            checks.check_entry_point(self.processor_id, self.plugin)

    # -- metadata ---------------------------------------------------------------------------

    def test_metadata_is_complete_and_valid(self, conformance: Harness) -> None:
        """Beyond what the models validate: dates of provenance, phones that are free where they
        say, channels some route offers, a route for everyone, ids and statement words that
        route to the processor."""
        with _reported():
            checks.check_metadata(conformance)

    def test_no_placeholder_is_left(self, conformance: Harness) -> None:
        """No value still holds a scaffold placeholder: ``TODO``, or an address on the reserved
        ``.invalid`` domain (``payhelp plugin new`` writes both)."""
        with _reported():
            checks.check_no_placeholders(conformance.info, conformance.directory())

    def test_toll_free_numbers_are_toll_free(self, conformance: Harness) -> None:
        """A phone marked free to call from a country is in its country's toll-free ranges."""
        with _reported():
            checks.check_toll_free_numbers(conformance.directory())

    # -- hooks ------------------------------------------------------------------------------

    def test_firstresult_hooks_return_nothing_for_foreign_processors(
        self, conformance: Harness
    ) -> None:
        """A ``firstresult`` hook that answers for another processor hides that processor's
        plugin; every such hook of this plugin must give ``None`` for a processor not its own.
        The deprecated ``payhelp_adapter`` / ``payhelp_sandbox`` are asked only of a plugin still
        on them (see :meth:`test_no_deprecated_hook_beside_a_registered_api`)."""
        with _reported():
            checks.check_foreign_processors(conformance)

    def test_no_deprecated_hook_beside_a_registered_api(self, conformance: Harness) -> None:
        """A plugin that registers its API with its processor implements neither
        ``payhelp_adapter`` nor ``payhelp_sandbox``; a plugin still on those hooks (deprecated,
        kept for one release) is skipped, told what to change."""
        with _reported():
            checks.check_no_deprecated_hooks(conformance)

    def test_refund_rules_are_a_sequence_of_rules(self, conformance: Harness) -> None:
        """``payhelp_refund_rules`` gives its own processor ``None`` or a sequence of
        ``RefundRule``, which payhelp takes; skipped for a plugin with no rules of its own."""
        with _reported():
            checks.check_refund_rules(conformance)

    # -- contact plans ----------------------------------------------------------------------

    def test_contact_plans_are_well_formed(self, conformance: Harness) -> None:
        """For a sample country of every region, in every language: a plan for this processor
        with at least one channel, each with a reason, phones dialled from the customer's
        country and free only where the directory says so."""
        with _reported():
            checks.check_contact_plans(conformance, self.sample_countries, self.languages)

    def test_texts_exist_in_every_language(self, conformance: Harness) -> None:
        """Every customer-facing text is translated: the directory's reasons, warnings, items to
        include and page fields, refund rules' messages and the plans, with no catalogue gap."""
        with _reported():
            checks.check_texts_translated(conformance, self.sample_countries, self.languages)

    # -- capabilities -----------------------------------------------------------------------

    def test_capabilities_match_what_the_plugin_does(self, conformance: Harness) -> None:
        """Each capability flag is true exactly when the plugin does it; a registered API is
        one the core can drive."""
        with _reported():
            checks.check_capabilities(conformance)

    # -- lookups ----------------------------------------------------------------------------

    def test_lookups_map_every_case_into_the_core(self, conformance: Harness) -> None:
        """Through the sandbox, each case gives its normalised status or its class of
        :mod:`payhelp.errors`, naming the processor; nothing else escapes."""
        with _reported():
            checks.check_lookups(conformance, self.expected_lookups, self.lookup_fields)

    def test_async_lookups_give_the_sync_answers(self, conformance: Harness) -> None:
        """Every lookup of :meth:`test_lookups_map_every_case_into_the_core` made again through
        :class:`AsyncPayhelp` gives the same answer or the same class of error."""
        with _reported():
            checks.check_async_lookups(conformance, self.expected_lookups, self.lookup_fields)

    # -- submissions ------------------------------------------------------------------------

    def test_submissions_by_email_or_form_are_idempotent(self, conformance: Harness) -> None:
        """The same request twice is prepared once: the second call returns the first receipt,
        and exactly one letter is written; a card number in the message never reaches it."""
        with _reported():
            checks.check_offline_submissions(conformance, self.submission_fields)

    def test_api_submissions_are_idempotent(self, conformance: Harness) -> None:
        """Through the sandbox: the same request twice reaches the processor once, and the
        repeat returns the first receipt."""
        with _reported():
            checks.check_api_submissions(conformance, self.submission_case, self.submission_fields)

    def test_async_submissions_match_the_sync_ones(self, conformance: Harness) -> None:
        """Through :class:`AsyncPayhelp`, by each channel the processor takes: the same request
        twice is sent once and the repeat's receipt says what the sync submission's says."""
        with _reported():
            checks.check_async_submissions(
                conformance, self.submission_case, self.submission_fields
            )

    # -- secrets and card numbers -----------------------------------------------------------

    def test_nothing_leaks_a_card_number_or_a_secret(self, conformance: Harness) -> None:
        """After plans, lookups and submissions (with a card number in a message and
        distinctive credentials): no log record, error message, request sent or repr holds a
        full card number, and none but the request to the processor holds a credential."""
        with _reported():
            checks.check_nothing_leaks(
                conformance,
                cases=self.expected_lookups,
                lookup_fields=self.lookup_fields,
                submission_case=self.submission_case,
                submission_fields=self.submission_fields,
                countries=self.sample_countries,
                languages=self.languages,
            )


__all__ = [
    "DEPRECATED_HOOKS",
    "FOREIGN",
    "LOAD_TEST",
    "REQUIRED_CASES",
    "SAMPLE_COUNTRIES",
    "Harness",
    "ProcessorPluginConformance",
    "_card_number_in",
]
