"""The processor plugin conformance suite: the whole plugin contract, as tests.

Subclass :class:`ProcessorPluginConformance` in a test module, in a class whose name starts with
``Test``, and give at least the processor id and the plugin::

    from payhelp.testing import ProcessorPluginConformance

    class TestAcmePayConformance(ProcessorPluginConformance):
        processor_id = "acmepay"
        plugin = "payhelp_acmepay.plugin"

pytest then runs every ``test_`` method below against the plugin, alone in a fresh plugin
manager. Each failure lists every problem found, each with what to fix, rather than stopping at
the first. A plugin with an API also says what its sandbox's cases must map to
(:attr:`~ProcessorPluginConformance.expected_lookups`) and, when its processor finds payments by
something other than the transaction id, how to ask (:meth:`~ProcessorPluginConformance.
lookup_fields`).

A plugin on the current contract registers its :class:`~payhelp.adapters.ProcessorApi` and its
sandbox with its processor (``register(info, directory, api=..., sandbox=...)``); the suite then
drives the API through the core's driver, checks that the capabilities and ``public_api`` derived
from it say what it declares, and that the plugin no longer implements the deprecated
``payhelp_adapter`` / ``payhelp_sandbox`` hooks. A plugin still on those hooks (kept for one
release) gets the checks of that contract. Either way the lookups and submissions are made
through the async API as well (:class:`~payhelp.AsyncPayhelp`) and must give the sync answers,
so a plugin needs no async tests of its own.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import inspect
import logging
import os
import re
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property, partial
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import httpx
import phonenumbers
import pytest

from payhelp.adapters import ApiAdapter, ApiDriver, ProcessorApi
from payhelp.api import AsyncPayhelp, Payhelp
from payhelp.cases import LookupResult, PaymentStatus, SubmissionChannel, SubmissionReceipt
from payhelp.catalogues import check as check_catalogue
from payhelp.channels import (
    ChannelKind,
    ChannelRoute,
    ContactChannel,
    ContactDirectory,
    RouteStep,
)
from payhelp.errors import InvalidInputError, PayhelpError, PluginError, PluginLoadError
from payhelp.geo import Region, region_of
from payhelp.i18n import Language, Msg, registered_domains
from payhelp.mail import eml_name
from payhelp.models import Capabilities, ProcessorInfo
from payhelp.plugins import (
    ENTRY_POINT_GROUP,
    PluginHost,
    RegisteredProcessor,
    get_plugin_manager,
)
from payhelp.redact import mask_card_numbers
from payhelp.sandbox import Behaviour, Sandbox, sandbox_base_url
from payhelp.submissions import Channel
from payhelp.testing.fixtures import (
    isolated_async_payhelp,
    isolated_payhelp,
    resolve_plugin,
    without_payhelp_environment,
)

T = TypeVar("T")

#: A processor no plugin owns: every ``firstresult`` hook must answer it with ``None``.
FOREIGN = ProcessorInfo(
    id="conformance_foreign",
    name="Not yours",
    website="https://foreign.example.com/",  # type: ignore[arg-type]
    regions=(Region.ROW,),
    capabilities=Capabilities(),
)

#: A card number (Luhn-valid, a well-known test number) the suite feeds in where a customer
#: might paste one; it must never come out anywhere.
TEST_PAN = "4111 1111 1111 1111"
_PAN_DIGITS = TEST_PAN.replace(" ", "")

#: The fake credentials the suite configures, and the pattern that finds any of them in a text.
_SECRET_PREFIX, _SECRET_SUFFIX = "conformance-secret-", "-5f0c9e"
_SECRET = re.compile(re.escape(_SECRET_PREFIX) + r"[A-Za-z0-9_]+" + re.escape(_SECRET_SUFFIX))
#: Where payhelp itself is installed: frames outside it are the plugin's.
_PAYHELP_DIR = str(Path(__file__).resolve().parent.parent)


def _problems(title: str, problems: list[str]) -> None:
    """Fail with every problem, one per line, when there are any."""
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        pytest.fail(f"{title}:\n{lines}", pytrace=False)


def _scrubbed(text: str) -> str:
    """``text`` safe to print in a failure: any card number masked to its last four digits, the
    suite's fake credentials hidden."""
    return _SECRET.sub("<credential>", mask_card_numbers(text))


def _raised(exc: BaseException) -> BaseException:
    """What the plugin itself raised: the host wraps a failing hook in a PluginError whose cause
    it is (a load error is described as it is)."""
    if (
        isinstance(exc, PluginError)
        and not isinstance(exc, PluginLoadError)
        and exc.__cause__ is not None
    ):
        return exc.__cause__
    return exc


def _describe(exc: BaseException) -> str:
    exc = _raised(exc)
    return _scrubbed(f"{type(exc).__name__}: {exc}")


def _where(exc: BaseException) -> str:
    """The plugin's own frame that raised, for 'what to fix' messages."""
    exc = _raised(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if not str(Path(frame.filename).resolve()).startswith(_PAYHELP_DIR + os.sep):
            return f" (at {Path(frame.filename).name}:{frame.lineno}, in {frame.name})"
    return ""


def _card_number_in(text: str) -> bool:
    """Whether ``text`` holds what payhelp masks as a card number: a run of 12 to 19 digits (spaces
    or dashes between) that passes the Luhn check."""
    return mask_card_numbers(text) != text


@dataclass(frozen=True)
class _Logged:
    name: str
    level: str
    where: str
    text: str


class _Capture(logging.Handler):
    """Keeps the text of every log record emitted while the suite runs a class, at every level,
    then masks card numbers and the suite's credentials in the record itself, so that the
    handlers after it (pytest's log capture among them) never show them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.logged: list[_Logged] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        error = ""
        if record.exc_info and record.exc_info[1] is not None:
            error = "".join(traceback.format_exception(record.exc_info[1]))
        where = f"{record.pathname}:{record.lineno}"
        self.logged.append(_Logged(record.name, record.levelname, where, f"{message}\n{error}"))
        masked = _scrubbed(message)
        if masked != message:
            record.msg, record.args = masked, None
        if error and _scrubbed(error) != error:
            record.exc_info, record.exc_text = None, _scrubbed(error)

    def attach(self) -> None:
        """Be the root logger's first handler, so that records are masked before the other
        handlers see them."""
        root = logging.getLogger()
        if self in root.handlers:
            root.removeHandler(self)
        root.handlers.insert(0, self)


@contextmanager
def _watching(capture: _Capture) -> Iterator[None]:
    """Every record at every level reaches ``capture`` while the block runs, whatever level
    pytest's log capture (``log_level``) left on the root logger."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    capture.attach()
    try:
        yield
    finally:
        root.setLevel(level)


@dataclass
class Harness:
    """What the suite builds once per class: the plugin alone in a fresh plugin manager, a
    :class:`Payhelp` holding it (temporary store and outbox, distinctive fake credentials, no
    retries) and an :class:`AsyncPayhelp` built the same way with a store and outbox of its own,
    the requests their sandboxes saw, the log records and the errors raised."""

    processor_id: str
    plugin: object
    root: Path
    load_error: str | None = None
    host: PluginHost | None = None
    ph: Payhelp | None = None
    aph: AsyncPayhelp | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)
    capture: _Capture = field(default_factory=_Capture)
    errors: list[BaseException] = field(default_factory=list)
    #: The first receipt of each submission the suite made, by idempotency key (a repeat's
    #: receipt says it is one instead of what the processor answered).
    receipts: dict[str, SubmissionReceipt] = field(default_factory=dict)

    def first_receipt(self, receipt: SubmissionReceipt) -> SubmissionReceipt:
        """``receipt`` as it was first given: a repeat's is replaced by the one remembered."""
        if not receipt.replayed:
            self.receipts.setdefault(receipt.idempotency_key, receipt)
        return self.receipts.get(receipt.idempotency_key, receipt)

    @property
    def info(self) -> ProcessorInfo:
        return self.loaded().processor(self.processor_id)

    def loaded(self) -> Payhelp:
        """The :class:`Payhelp`, or a failure saying the plugin did not load."""
        if self.ph is None:
            pytest.fail(
                f"the plugin did not load, so this check cannot run: {self.load_error}",
                pytrace=False,
            )
        return self.ph

    def async_loaded(self) -> AsyncPayhelp:
        """The :class:`AsyncPayhelp`, or a failure saying the plugin did not load."""
        self.loaded()
        assert self.aph is not None
        return self.aph

    def run_async(self, work: Callable[[AsyncPayhelp], Awaitable[T]]) -> T:
        """Run ``work`` on the :class:`AsyncPayhelp` in an event loop of its own, closing its
        connections in that loop afterwards."""
        aph = self.async_loaded()

        async def run() -> T:
            try:
                return await work(aph)
            finally:
                await aph.aclose()

        return asyncio.run(run())

    @property
    def registered(self) -> RegisteredProcessor:
        """The processor as the plugin registered it (with its API and sandbox, if any)."""
        self.loaded()
        assert self.host is not None
        return self.host.processors()[self.processor_id]

    @property
    def api(self) -> type[ProcessorApi] | None:
        """The :class:`ProcessorApi` registered with the processor (the current contract), or
        ``None`` (no API, or one given by the deprecated ``payhelp_adapter`` hook)."""
        return self.registered.api

    def directory(self) -> ContactDirectory:
        return self.loaded().directory(self.processor_id)

    @cached_property
    def sandbox(self) -> Sandbox | None:
        """The plugin's sandbox, asked for once."""
        return self.loaded().host.sandbox(self.info)

    def sandbox_cases(self) -> dict[str, str]:
        """The sandbox's case ids by name; none without a sandbox."""
        return dict(self.sandbox.cases()) if self.sandbox is not None else {}

    def adapter(self) -> ApiAdapter | None:
        """The adapter against the sandbox; without a sandbox, the one the fake credentials
        give (``None`` for a plugin without an adapter)."""
        return self.loaded().adapter(self.processor_id, sandbox=self.sandbox is not None)


def _build_harness(processor_id: str, plugin: object, root: Path) -> Harness:
    harness = Harness(processor_id, plugin, root)
    with _watching(harness.capture):  # what registration logs counts too
        _load(harness)
    return harness


def _load(harness: Harness) -> None:
    processor_id, plugin, root = harness.processor_id, harness.plugin, harness.root
    try:
        harness.host = get_plugin_manager(
            load_entry_points=False, extra=[(processor_id, plugin)], strict=True
        )
    except PluginLoadError as exc:
        harness.load_error = _describe(exc)
        return
    registered = harness.host.processors().get(processor_id)
    if registered is None:
        harness.load_error = f"the plugin registered no processor with the id {processor_id!r}"
        return
    # Distinctive fake credentials: the sandboxes take any, and the suite then looks for them.
    names: tuple[str, ...] = ()
    try:
        probe = harness.host.adapter(
            registered.info,
            MappingProxyType({"sandbox": True, "base_url": sandbox_base_url(processor_id)}),
        )
    except Exception as exc:  # reported by the capability check; build without credentials
        harness.errors.append(exc)
        probe = None
    if probe is not None:
        names = probe.credential_names
        probe.close()
    harness.secrets = {name: f"{_SECRET_PREFIX}{name}{_SECRET_SUFFIX}" for name in names}
    settings = {**harness.secrets, "max_retries": 0}
    harness.ph = isolated_payhelp(
        root,
        [(processor_id, plugin)],
        processors={processor_id: {"settings": settings}},
        sandbox_behaviour=Behaviour(observe=harness.seen.append),
    )
    harness.aph = isolated_async_payhelp(
        root / "async",
        [(processor_id, plugin)],
        processors={processor_id: {"settings": settings}},
        sandbox_behaviour=Behaviour(observe=harness.seen.append),
    )


#: One sample country per region, and a few more where rules usually differ.
SAMPLE_COUNTRIES = ("US", "CA", "IT", "DE", "FR", "GB", "JP", "BR", "AU", "ZA")
#: The hooks of the old contract, deprecated for one release: a processor now registers its API
#: and sandbox with its metadata.
DEPRECATED_HOOKS = ("payhelp_adapter", "payhelp_sandbox")
#: The sandbox cases every adapter's sandbox must answer (see the ``payhelp_sandbox`` hook), and
#: at least one whose name starts with ``declined``.
REQUIRED_CASES = ("approved", "refunded", "chargeback", "not_found", "failing")


def _missing_cases(names: Mapping[str, object]) -> list[str]:
    """Which of :data:`REQUIRED_CASES` (and a ``declined…`` case) ``names`` lacks."""
    missing = [name for name in REQUIRED_CASES if name not in names]
    if not any(name.startswith("declined") for name in names):
        missing.append("declined…")
    return missing


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
        return {"transaction_id": ident}

    def submission_fields(self, case: str, ident: str) -> dict[str, Any]:
        """A complete refund request about the sandbox case whose id is ``ident``."""
        return {
            "transaction": {"transaction_id": ident},
            "reason": "duplicate_charge",
            "message": "I was charged twice for the same purchase; please refund one charge.",
            "contact_email": "customer@example.com",
            "card_last4": "1111",
        }

    # -- the harness ------------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def conformance(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
        """The plugin alone in a fresh plugin manager and a :class:`Payhelp`, for the class."""
        for name in ("processor_id", "plugin"):
            if not hasattr(cls, name):
                pytest.fail(f"{cls.__name__} must set {name}", pytrace=False)
        root = tmp_path_factory.mktemp(f"conformance-{cls.processor_id}")
        with pytest.MonkeyPatch.context() as patch:
            without_payhelp_environment(patch)
            harness: Harness | None = None
            try:
                try:
                    plugin = resolve_plugin(cls.plugin)
                except Exception as exc:
                    harness = Harness(cls.processor_id, cls.plugin, root)
                    harness.load_error = f"the plugin module cannot be imported: {_describe(exc)}"
                else:
                    harness = _build_harness(cls.processor_id, plugin, root)
                yield harness
            finally:
                if harness is not None:
                    logging.getLogger().removeHandler(harness.capture)
                    if harness.ph is not None:
                        harness.ph.close()
                    if harness.aph is not None:
                        asyncio.run(harness.aph.aclose())

    def _call(self, harness: Harness, what: str, call: Callable[[], Any]) -> Any:
        """Run ``call``; an exception that is not payhelp's becomes a problem to fix."""
        try:
            return call()
        except PayhelpError as exc:
            harness.errors.append(exc)
            raise
        except Exception as exc:
            harness.errors.append(exc)
            pytest.fail(
                f"{what} raised {_describe(exc)}{_where(exc)}: a plugin must return its answer "
                "(or None for what is not its own) and report failures with payhelp.errors",
                pytrace=False,
            )

    # -- registration -----------------------------------------------------------------------

    def test_registers_cleanly(self, conformance: Harness) -> None:
        """The plugin imports, registers exactly its own processor, and names only real hooks."""
        if conformance.load_error is not None:
            pytest.fail(f"the plugin does not load: {conformance.load_error}", pytrace=False)
        assert conformance.host is not None
        problems = []
        ids = sorted(conformance.host.processors())
        if ids != [self.processor_id]:
            problems.append(
                f"it registers {ids}; a plugin registers one processor, {self.processor_id!r}"
            )
        records = [r for r in conformance.host.records() if r.name == self.processor_id]
        if records and "payhelp_register_processors" not in records[0].hooks:
            problems.append("it does not implement payhelp_register_processors")
        _problems("registration", problems)

    def test_installed_under_its_entry_point(self) -> None:
        """An installed plugin is found through the ``payhelp`` entry point named after its
        processor, pointing at the plugin module."""
        if not self.installed:
            pytest.skip("the plugin is tested without being installed (installed = False)")
        found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=self.processor_id)
        if not found:
            pytest.fail(
                f"no '{ENTRY_POINT_GROUP}' entry point named {self.processor_id!r} is installed: "
                f'add [project.entry-points.{ENTRY_POINT_GROUP}] {self.processor_id} = "<module>" '
                "to pyproject.toml and install the package",
                pytrace=False,
            )
        entry = next(iter(found))  # the same distribution may be visible twice on sys.path
        plugin = self.plugin
        expected = plugin if isinstance(plugin, str) else getattr(plugin, "__name__", None)
        if expected is not None and entry.value != expected:
            pytest.fail(
                f"the entry point points at {entry.value!r}, the test at {expected!r}",
                pytrace=False,
            )

    # -- metadata ---------------------------------------------------------------------------

    def test_metadata_is_complete_and_valid(self, conformance: Harness) -> None:
        """Beyond what the models validate: dates of provenance, phones that are free where they
        say, channels some route offers, a route for everyone, ids and statement words that
        route to the processor."""
        info, directory = conformance.info, conformance.directory()
        today = datetime.now(UTC).date()
        problems: list[str] = []
        if not info.name.strip():
            problems.append("the processor's name is empty")
        if not str(info.website).startswith("https://"):
            problems.append(f"website {info.website} must use https")
        for key, channel in directory.channels.items():
            problems += _channel_problems(key, channel, today)
        offered = {step.channel for route in directory.routes for step in route.steps}
        for key in directory.channels:
            if key not in offered:
                problems.append(
                    f"channel {key!r} is in the directory but no route offers it: add it to a "
                    "route or remove it"
                )
        if not directory.routes or not directory.routes[-1].audience.everyone:
            problems.append(
                "the last route must serve everyone (an audience with no regions or countries), "
                "or customers outside every audience get no channel"
            )
        ph = conformance.loaded()
        for shape in info.id_formats:
            fields: dict[str, Any] = (
                {"transaction_id": shape.example}
                if shape.kind.value == "transaction"
                else {"references": {shape.kind.value: shape.example}}
            )
            decision = ph.route(**fields)
            if self.processor_id not in {c.processor for c in decision.candidates}:
                problems.append(
                    f"the example {shape.example!r} of id shape {shape.label!r} does not route to "
                    f"{self.processor_id}: check its prefix, charset and lengths"
                )
        for hint in info.descriptors:
            decision = ph.route(descriptor=hint.example)
            if decision.processor != self.processor_id:
                problems.append(
                    f"the statement example {hint.example!r} does not route to "
                    f"{self.processor_id} (router chose {decision.processor})"
                )
        _problems("metadata", problems)

    def test_no_placeholder_is_left(self, conformance: Harness) -> None:
        """No value still holds a scaffold placeholder: ``TODO``, or an address on the reserved
        ``.invalid`` domain (``payhelp plugin new`` writes both)."""
        info, directory = conformance.info, conformance.directory()
        found: list[str] = []
        for label, model in (("INFO", info), ("DIRECTORY", directory)):
            for path, value in _strings(model.model_dump(mode="json"), label):
                if "TODO" in value or ".invalid" in value:
                    found.append(f"{path} = {_scrubbed(value)!r}")
        _problems("placeholders to fill in (data.py)", found)

    # -- hooks answer only for their own processor --------------------------------------------

    def test_firstresult_hooks_return_nothing_for_foreign_processors(
        self, conformance: Harness
    ) -> None:
        """A ``firstresult`` hook that answers for another processor hides that processor's
        plugin; every such hook of this plugin must give ``None`` for a processor not its own.
        The deprecated ``payhelp_adapter`` / ``payhelp_sandbox`` are asked only of a plugin still
        on them: a processor registered with its API is never asked them (see
        :meth:`test_no_deprecated_hook_beside_a_registered_api`)."""
        conformance.loaded()
        plugin = conformance.plugin
        provenance = next(iter(conformance.directory().channels.values())).provenance
        directory = ContactDirectory(
            channels={
                "email": ContactChannel(
                    kind=ChannelKind.EMAIL, value="help@foreign.example.com", provenance=provenance
                )
            },
            routes=(ChannelRoute(steps=(RouteStep(channel="email", reason="Write to us."),)),),
        )
        arguments: dict[str, dict[str, object]] = {
            "payhelp_contact_plan": {
                "processor": FOREIGN,
                "directory": directory,
                "country": "IT",
                "language": "en",
            },
            "payhelp_adapter": {
                "processor": FOREIGN,
                "settings": MappingProxyType(
                    {"sandbox": True, "base_url": sandbox_base_url(FOREIGN.id)}
                ),
            },
            "payhelp_sandbox": {"processor": FOREIGN},
            "payhelp_refund_rules": {"processor": FOREIGN},
        }
        if conformance.api is not None:
            for hook in DEPRECATED_HOOKS:
                del arguments[hook]
        problems = []
        for hook, kwargs, implementation in _implementations(conformance, plugin, arguments):
            try:
                answer = implementation(**kwargs)
            except Exception as exc:
                problems.append(
                    f"{hook} raised {_describe(exc)}{_where(exc)} for a processor that is not "
                    f"its own; return None when processor.id != {self.processor_id!r}"
                )
                continue
            if answer is not None and not (hook == "payhelp_refund_rules" and not answer):
                problems.append(
                    f"{hook} answered {type(answer).__name__} for processor {FOREIGN.id!r}; "
                    f"return None when processor.id != {self.processor_id!r}"
                )
        _problems("hooks answering for other processors", problems)

    def test_no_deprecated_hook_beside_a_registered_api(self, conformance: Harness) -> None:
        """A plugin that registers its API with its processor implements neither
        ``payhelp_adapter`` nor ``payhelp_sandbox``: payhelp never asks them for a processor
        registered with ``api=``, so they are dead code that reads as if it mattered. A plugin
        still on those hooks (deprecated, kept for one release) is told what to change."""
        conformance.loaded()
        found = list(_hook_functions(conformance, conformance.plugin, DEPRECATED_HOOKS))
        if conformance.api is None:
            if found:
                pytest.skip(
                    f"the plugin is on the old contract ({', '.join(h for h, _ in found)}, "
                    "deprecated and kept for one release): register a ProcessorApi and its "
                    "sandbox with the processor, register(info, directory, api=..., sandbox=...), "
                    "and delete the hooks"
                )
            return
        _problems(
            "deprecated hooks",
            [
                f"{hook} is deprecated and never asked for a processor registered with "
                f"api={conformance.api.__name__}: delete it{_defined_at(function)}"
                for hook, function in found
            ],
        )

    # -- contact plans ----------------------------------------------------------------------

    def test_contact_plans_are_well_formed(self, conformance: Harness) -> None:
        """For a sample country of every region, in every language: a plan for this processor
        with at least one channel, each with a reason, phones dialled from the customer's
        country and free only where the directory says so."""
        ph, directory = conformance.loaded(), conformance.directory()
        problems: list[str] = []
        regions = {region_of(c) for c in self.sample_countries}
        if regions != set(Region):
            problems.append(f"sample_countries miss the regions {sorted(set(Region) - regions)}")
        for country in self.sample_countries:
            for language in self.languages:
                where = f"{country}/{language}"
                try:
                    plan = ph.contacts(self.processor_id, country, language=language)
                except Exception as exc:
                    conformance.errors.append(exc)
                    problems.append(
                        f"{where}: the contact plan raised {_describe(exc)}{_where(exc)}"
                    )
                    continue
                if (plan.processor, plan.country, plan.language) != (
                    self.processor_id,
                    country,
                    language,
                ):
                    problems.append(
                        f"{where}: the plan is for {plan.processor}/{plan.country}/{plan.language}"
                    )
                if not plan.channels:
                    problems.append(f"{where}: the plan offers no channel")
                keys = [c.key for c in plan.channels]
                if len(set(keys)) != len(keys):
                    problems.append(f"{where}: a channel is offered twice: {keys}")
                for planned in plan.channels:
                    source = directory.channels.get(planned.key)
                    if source is None:
                        problems.append(f"{where}: channel {planned.key!r} is not in the directory")
                        continue
                    if not planned.reason.strip():
                        problems.append(f"{where}: channel {planned.key!r} has no reason")
                    if not planned.provenance:
                        problems.append(f"{where}: channel {planned.key!r} has no provenance")
                    if planned.kind is ChannelKind.PHONE:
                        if planned.e164 != source.value:
                            problems.append(f"{where}: phone {planned.key!r} lost its E.164 form")
                        if planned.toll_free and country not in source.toll_free_in:
                            problems.append(
                                f"{where}: phone {planned.key!r} is offered as free, but its "
                                f"toll_free_in is {list(source.toll_free_in)}"
                            )
                    elif planned.e164 is not None or planned.toll_free:
                        problems.append(f"{where}: {planned.key!r} is no phone but has phone data")
        _problems("contact plans", problems)

    def test_texts_exist_in_every_language(self, conformance: Harness) -> None:
        """Every customer-facing text of the plans is translated: no reason, warning or item to
        include reads the same in two languages, and the plugin's catalogues have no gap."""
        ph = conformance.loaded()
        problems: list[str] = []
        first, *others = self.languages
        untranslated: dict[tuple[str, str], str] = {}
        for country in self.sample_countries:
            try:
                base = ph.contacts(self.processor_id, country, language=first)
                texts = {
                    other: ph.contacts(self.processor_id, country, language=other)
                    for other in others
                }
            except Exception:  # noqa: S112 - reported by test_contact_plans_are_well_formed
                continue
            for other, plan in texts.items():
                pairs = [
                    *zip(
                        [c.reason for c in base.channels],
                        [c.reason for c in plan.channels],
                        strict=False,
                    ),
                    *zip(base.warnings, plan.warnings, strict=False),
                    *zip(base.include, plan.include, strict=False),
                ]
                for original, translated in pairs:
                    if original == translated and len(original) >= 12:
                        untranslated.setdefault((original, other), country)
        problems += [
            f"{text!r} is not translated into {language!r} (the plan for {country}, among "
            "others): mark it with your Domain's N_ and fill locale/<lang>/LC_MESSAGES/<domain>.po"
            for (text, language), country in untranslated.items()
        ]
        for domain, package in _domains_of(conformance.directory()).items():
            try:
                package_dir = Path(importlib.import_module(package).__file__ or "").parent
            except ImportError:
                problems.append(f"catalogue domain {domain!r} names package {package!r}, missing")
                continue
            problems += [
                f"catalogue {gap.language}: {gap.msgid!r} has no translation "
                f"(python -m payhelp.catalogues update {package_dir} {domain})"
                for gap in check_catalogue(package_dir, domain)
            ]
        _problems("languages", sorted(set(problems)))

    # -- capabilities -----------------------------------------------------------------------

    def test_capabilities_match_what_the_plugin_does(self, conformance: Harness) -> None:
        """Each capability flag is true exactly when the plugin does it. With an API registered
        with the processor: ``api_lookup``, ``api_submission`` and ``public_api`` are what the
        API declares, a sandbox is registered with it, its operations are generators and it
        overrides no private name of the core. With an adapter from the deprecated
        ``payhelp_adapter``: the flags as the plugin set them, a sandbox and a public API
        description of the adapter's basis. Either way: channels for email, web form and
        self-service lookup, no webhooks until payhelp has a hook for them."""
        info, directory = conformance.info, conformance.directory()
        caps: Capabilities = info.capabilities
        api = conformance.api
        problems: list[str] = []
        try:
            adapter = conformance.adapter()
        except Exception as exc:
            conformance.errors.append(exc)
            source = f"the registered {api.__name__}" if api is not None else "payhelp_adapter"
            pytest.fail(
                f"building the adapter from {source} raised {_describe(exc)}{_where(exc)}",
                pytrace=False,
            )
        kinds = {c.kind for c in directory.channels.values()}
        expected = {
            "api_lookup": adapter is not None,
            "api_submission": adapter is not None and adapter.can_submit,
            "email_submission": ChannelKind.EMAIL in kinds,
            "web_form": ChannelKind.WEB_FORM in kinds,
            "self_service_lookup": bool({ChannelKind.LOOKUP_PAGE, ChannelKind.WEB_FORM} & kinds),
            "notifications": False,
        }
        why = {
            "api_lookup": "payhelp_adapter gives an adapter for the sandbox",
            "api_submission": "that adapter can submit (can_submit)",
            "email_submission": "the directory has an email channel",
            "web_form": "the directory has a web_form channel",
            "self_service_lookup": "the directory has a lookup_page or web_form channel",
            "notifications": "payhelp has no hook for webhooks yet",
        }
        if api is not None:
            why["api_lookup"] = f"an API is registered with the processor ({api.__name__})"
            why["api_submission"] = f"{api.__name__}.can_submit is true"
        for name, should in expected.items():
            if getattr(caps, name) != should:
                problems.append(
                    f"capabilities.{name} is {getattr(caps, name)}, but should be {should}: it is "
                    f"true exactly when {why[name]}"
                )
        has_sandbox = conformance.sandbox is not None
        if api is not None:
            problems += _registered_api_problems(conformance, api, adapter)
        elif adapter is not None:
            if not has_sandbox:
                problems.append("the plugin has an adapter but no sandbox (payhelp_sandbox)")
            if info.public_api is None:
                problems.append("the plugin has an adapter but ProcessorInfo.public_api is unset")
            elif info.public_api.basis != adapter.basis:
                problems.append(
                    f"public_api.basis is {info.public_api.basis!r}, "
                    f"the adapter's {adapter.basis!r}"
                )
        elif has_sandbox:
            problems.append("the plugin has a sandbox but payhelp_adapter gives no adapter")
        _problems("capabilities", problems)

    # -- lookups ----------------------------------------------------------------------------

    def test_lookups_map_every_case_into_the_core(self, conformance: Harness) -> None:
        """Through the sandbox, each case gives its normalised status or its class of
        :mod:`payhelp.errors`, naming the processor; nothing else escapes."""
        adapter = conformance.adapter()
        ph = conformance.loaded()
        if adapter is None:
            result = self._call(
                conformance, "a lookup", lambda: ph.lookup(self.processor_id, transaction_id="1")
            )
            problems = []
            if result.source != "self_service" or result.status is not PaymentStatus.UNKNOWN:
                problems.append(
                    f"without an adapter a lookup must be self-service, unknown; got "
                    f"{result.source}, {result.status}"
                )
            if conformance.info.capabilities.self_service_lookup and result.self_service is None:
                problems.append("self_service_lookup is true but the lookup gives no page")
            _problems("self-service lookup", problems)
            return
        cases = conformance.sandbox_cases()
        problems = [f"the sandbox has no {name!r} case" for name in _missing_cases(cases)]
        expected = dict(self.expected_lookups)
        missing = _missing_cases(expected)
        if missing:
            problems.append(
                f"expected_lookups must say what these cases give: {missing} (a PaymentStatus "
                "or an error class of payhelp.errors)"
            )
        for case, outcome in expected.items():
            if case not in cases:
                problems.append(f"expected_lookups names {case!r}, which the sandbox lacks")
                continue
            fields = self.lookup_fields(case, cases[case])
            problems += self._check_lookup(conformance, case, fields, outcome)
        try:
            ph.lookup(self.processor_id, sandbox=True)
        except InvalidInputError:
            pass
        except Exception as exc:
            problems.append(
                f"a lookup with no field raised {_describe(exc)}, not InvalidInputError"
            )
        else:
            problems.append("a lookup with no field at all gave an answer instead of an error")
        _problems("lookups", problems)

    def _check_lookup(
        self,
        harness: Harness,
        case: str,
        fields: Mapping[str, Any],
        outcome: PaymentStatus | type[PayhelpError],
    ) -> list[str]:
        ph = harness.loaded()
        try:
            result = ph.lookup(self.processor_id, sandbox=True, **fields)
        except PayhelpError as exc:
            harness.errors.append(exc)
            if isinstance(outcome, PaymentStatus):
                return [f"{case}: expected {outcome.value}, got {_describe(exc)}"]
            problems = []
            if not isinstance(exc, outcome):
                problems.append(f"{case}: expected {outcome.__name__}, got {_describe(exc)}")
            if exc.processor != self.processor_id:
                problems.append(f"{case}: {type(exc).__name__} does not name the processor")
            return problems
        except Exception as exc:
            harness.errors.append(exc)
            return [
                f"{case}: raised {_describe(exc)}{_where(exc)}; map the processor's answers "
                "into payhelp.errors (the client's error mapping or parse_lookup)"
            ]
        if isinstance(outcome, PaymentStatus):
            if result.status is not outcome:
                return [f"{case}: expected {outcome.value}, got {result.status.value}"]
            return []
        return [f"{case}: expected {outcome.__name__}, got status {result.status.value}"]

    def test_async_lookups_give_the_sync_answers(self, conformance: Harness) -> None:
        """Every lookup of :meth:`test_lookups_map_every_case_into_the_core` made again through
        the async API (:class:`AsyncPayhelp`) gives the same answer (request ids aside) or the
        same class of error naming the same processor, so a plugin needs no async tests."""
        adapter = conformance.adapter()
        queries: dict[str, tuple[dict[str, Any], bool | None]] = {}
        if adapter is None:
            queries["self-service"] = ({"transaction_id": "1"}, None)
        else:
            cases = conformance.sandbox_cases()
            for case in self.expected_lookups:
                if case in cases:
                    queries[case] = (self.lookup_fields(case, cases[case]), True)
            queries["a lookup with no field"] = ({}, True)
        ph = conformance.loaded()
        pid = self.processor_id
        blocking = {
            name: _outcome(conformance, partial(ph.lookup, pid, sandbox=box, **fields))
            for name, (fields, box) in queries.items()
        }

        async def lookups(aph: AsyncPayhelp) -> dict[str, _Outcome]:
            return {
                name: await _aoutcome(conformance, aph.lookup(pid, sandbox=box, **fields))
                for name, (fields, box) in queries.items()
            }

        awaited = conformance.run_async(lookups)
        _problems(
            "async lookups",
            [
                f"{name}: AsyncPayhelp.lookup gives {awaited[name].text}, the sync lookup "
                f"{blocking[name].text}"
                for name in queries
                if awaited[name].same != blocking[name].same
            ],
        )

    # -- submissions ------------------------------------------------------------------------

    def test_submissions_by_email_or_form_are_idempotent(self, conformance: Harness) -> None:
        """The same request twice is prepared once: the second call returns the first receipt,
        and exactly one letter is written; a card number in the message never reaches it."""
        ph, info = conformance.loaded(), conformance.info
        channels: list[Channel] = []
        if info.capabilities.email_submission:
            channels.append("email")
        if info.capabilities.web_form:
            channels.append("web_form")
        if not channels:
            pytest.skip("the processor takes no request by email or web form")
        problems: list[str] = []
        outbox = conformance.root / "outbox"
        for channel in channels:
            fields = self.submission_fields("manual", f"CONF-{channel.upper()}-1")
            fields["message"] = f"Charged twice; my card is {TEST_PAN} ({channel})."
            first = ph.submit_dispute(self.processor_id, channel=channel, sandbox=False, **fields)
            again = ph.submit_dispute(self.processor_id, channel=channel, sandbox=False, **fields)
            if not again.replayed or again.idempotency_key != first.idempotency_key:
                problems.append(f"{channel}: a repeated request was submitted again")
            if channel == "email":
                name = eml_name(self.processor_id, first.idempotency_key)
                letters = [p for p in outbox.glob("*.eml") if p.name == name]
                if len(letters) != 1:
                    problems.append(f"email: {len(letters)} letters written for one request")
                if any(_card_number_in(p.read_text(errors="replace")) for p in letters):
                    problems.append("email: the letter holds the full card number")
            elif _card_number_in(" ".join(first.answers.values())):
                problems.append("web_form: the answers hold the full card number")
        _problems("submissions", problems)

    def test_api_submissions_are_idempotent(self, conformance: Harness) -> None:
        """Through the sandbox: the same request twice reaches the processor once, and the
        repeat returns the first receipt."""
        adapter = conformance.adapter()
        if adapter is None or not adapter.can_submit:
            pytest.skip("the plugin submits nothing through an API")
        ph = conformance.loaded()
        cases = conformance.sandbox_cases()
        if self.submission_case not in cases:
            pytest.fail(
                f"submission_case {self.submission_case!r} is not a sandbox case", pytrace=False
            )
        fields = self.submission_fields(self.submission_case, cases[self.submission_case])
        before = len(conformance.seen)
        first = self._call(
            conformance,
            "an API submission",
            lambda: ph.submit_dispute(self.processor_id, channel="api", sandbox=True, **fields),
        )
        sent = len(conformance.seen) - before
        conformance.first_receipt(first)
        again = ph.submit_dispute(self.processor_id, channel="api", sandbox=True, **fields)
        problems = []
        if first.channel is not SubmissionChannel.API:
            problems.append(f"the submission went by {first.channel.value}, not the API")
        if sent == 0:
            problems.append("the submission sent no request to the sandbox")
        if len(conformance.seen) - before != sent:
            problems.append("the repeated submission reached the processor again")
        if not again.replayed or again.idempotency_key != first.idempotency_key:
            problems.append("the repeat did not return the first receipt")
        _problems("API submissions", problems)

    def test_async_submissions_match_the_sync_ones(self, conformance: Harness) -> None:
        """Through the async API (:class:`AsyncPayhelp`, a store and outbox of its own), by each
        channel the processor takes (email, web form, the API through the sandbox): the same
        request twice is sent once (one letter; one arrival at the sandbox) and the repeat
        returns the first receipt, which says what the sync submission's says (same key,
        channel, status and, for the API, the processor's reference and answer)."""
        info, ph = conformance.loaded().processor(self.processor_id), conformance.loaded()
        channels: list[Channel] = []
        if info.capabilities.email_submission:
            channels.append("email")
        if info.capabilities.web_form:
            channels.append("web_form")
        adapter = conformance.adapter()
        cases = conformance.sandbox_cases()
        if adapter is not None and adapter.can_submit and self.submission_case in cases:
            channels.append("api")
        if not channels:
            pytest.skip("the processor takes no request by email, web form or API")
        requests: dict[Channel, dict[str, Any]] = {}
        for channel in channels:
            if channel == "api":
                # The request test_api_submissions_are_idempotent files: the sync call returns
                # its receipt (or files it), and a sandbox that remembers refunds is asked once
                # by each API, each with a sandbox of its own.
                fields = self.submission_fields(self.submission_case, cases[self.submission_case])
            else:
                fields = self.submission_fields("manual", f"CONF-ASYNC-{channel.upper()}-1")
                fields["message"] = f"{fields['message']} (async check, {channel})"
            requests[channel] = fields
        blocking = {
            channel: self._call(
                conformance,
                f"a {channel} submission",
                partial(
                    ph.submit_dispute,
                    self.processor_id,
                    channel=channel,
                    sandbox=channel == "api",
                    **fields,
                ),
            )
            for channel, fields in requests.items()
        }
        #: How many requests reached the sandbox for the first async submission and its repeat.
        arrived: dict[Channel, tuple[int, int]] = {}

        async def submit(aph: AsyncPayhelp) -> dict[Channel, tuple[_Outcome, _Outcome]]:
            found = {}
            for channel, fields in requests.items():
                counts = [len(conformance.seen)]
                answers = []
                for _ in range(2):
                    call = aph.submit_dispute(
                        self.processor_id, channel=channel, sandbox=channel == "api", **fields
                    )
                    answers.append(await _aoutcome(conformance, call))
                    counts.append(len(conformance.seen))
                arrived[channel] = (counts[1] - counts[0], counts[2] - counts[1])
                found[channel] = (answers[0], answers[1])
            return found

        outcomes = conformance.run_async(submit)
        outbox = conformance.root / "async" / "outbox"
        problems: list[str] = []
        for channel, (first, again) in outcomes.items():
            problems += _async_receipt_problems(
                self.processor_id,
                channel,
                (first, again),
                sync_receipt=conformance.first_receipt(blocking[channel]),
                arrived=arrived,
                outbox=outbox,
            )
        _problems("async submissions", problems)

    # -- secrets and card numbers -----------------------------------------------------------

    def test_nothing_leaks_a_card_number_or_a_secret(self, conformance: Harness) -> None:
        """After plans, lookups and submissions (with a card number in a message and
        distinctive credentials): no log record, error message, request sent or repr holds a
        full card number, and none but the request to the processor holds a credential."""
        ph = conformance.loaded()
        with _watching(conformance.capture):
            for country in self.sample_countries:
                for language in self.languages:
                    try:
                        ph.contacts(self.processor_id, country, language=language)
                    except Exception as exc:
                        conformance.errors.append(exc)
            adapter = conformance.adapter()
            if adapter is not None:
                cases = conformance.sandbox_cases()
                for case in self.expected_lookups:
                    if case in cases:
                        try:
                            ph.lookup(
                                self.processor_id,
                                sandbox=True,
                                **self.lookup_fields(case, cases[case]),
                            )
                        except Exception as exc:
                            conformance.errors.append(exc)
                if adapter.can_submit and self.submission_case in cases:
                    fields = self.submission_fields(
                        self.submission_case, cases[self.submission_case]
                    )
                    fields["message"] = f"Please refund; card {TEST_PAN}."
                    try:
                        ph.submit_dispute(self.processor_id, channel="api", sandbox=True, **fields)
                    except Exception as exc:
                        conformance.errors.append(exc)
            try:  # a full card number where only the last four belong is refused, never echoed
                ph.lookup(self.processor_id, card_last4=_PAN_DIGITS, transaction_id="1")
            except Exception as exc:
                conformance.errors.append(exc)
            if adapter is not None:  # the async client logs on its own
                cases = conformance.sandbox_cases()

                async def lookups(aph: AsyncPayhelp) -> None:
                    for case in self.expected_lookups:
                        if case in cases:
                            fields = self.lookup_fields(case, cases[case])
                            await _aoutcome(
                                conformance, aph.lookup(self.processor_id, sandbox=True, **fields)
                            )

                conformance.run_async(lookups)
        secrets = list(conformance.secrets.values())
        problems: list[str] = []
        for logged in conformance.capture.logged:
            text = logged.text
            where = f"log record {logged.name}:{logged.level} ({logged.where})"
            if _card_number_in(text):
                problems.append(f"{where} holds a full card number: log the last four at most")
            problems += [f"{where} holds a credential" for s in secrets if s in text]
        for error in conformance.errors:
            text = str(error)
            if _card_number_in(text):
                problems.append(f"{type(error).__name__} message holds a full card number")
            problems += [
                f"{type(error).__name__} message holds a credential" for s in secrets if s in text
            ]
        for request in conformance.seen:
            # Only the suite's own number: a timestamp or an id may pass Luhn by chance.
            body = request.content.decode(errors="replace") + str(request.url)
            if _PAN_DIGITS in body.replace(" ", "").replace("-", "").replace("%20", ""):
                problems.append(
                    f"the request {request.method} {request.url.path} holds a full card number"
                )
        if adapter is not None:
            for text in (repr(adapter), repr(adapter.settings), repr(ph.settings)):
                problems += ["a repr shows a credential" for s in secrets if s in text]
        _problems("secrets and card numbers", sorted(set(problems)))


#: What an async receipt must share with the sync one, by channel: where the email went and
#: its Message-ID differ between two outboxes, what the processor answered does not.
_BASE_RECEIPT = {"processor", "idempotency_key", "channel", "status", "processor_reason"}
_RECEIPT_FIELDS: Mapping[str, set[str]] = {
    "email": _BASE_RECEIPT,
    "web_form": _BASE_RECEIPT | {"location", "answers"},
    "api": _BASE_RECEIPT | {"reference", "detail"},
}


@dataclass(frozen=True)
class _Outcome:
    """What one call gave: an answer, or an error. ``same`` is what must agree between the sync
    and the async API (a result without its request id; an error's class, processor and HTTP
    status); ``text`` describes it for a failure."""

    answer: object
    same: object
    text: str


def _settled(harness: Harness, answer: object, error: BaseException | None) -> _Outcome:
    if error is not None:
        harness.errors.append(error)
        raised = _raised(error)
        same = (
            type(raised).__name__,
            getattr(raised, "processor", None),
            getattr(raised, "status_code", None),
        )
        return _Outcome(error, same, f"{_describe(error)}{_where(error)}")
    if isinstance(answer, LookupResult):
        dumped = answer.model_dump(mode="json", exclude={"request_id"})
        return _Outcome(answer, dumped, f"status {answer.status.value} ({_scrubbed(str(dumped))})")
    return _Outcome(answer, answer, type(answer).__name__)


def _outcome(harness: Harness, call: Callable[[], object]) -> _Outcome:
    """What ``call`` gives, its error included."""
    try:
        return _settled(harness, call(), None)
    except Exception as exc:
        return _settled(harness, None, exc)


async def _aoutcome(harness: Harness, call: Awaitable[object]) -> _Outcome:
    """What awaiting ``call`` gives, its error included."""
    try:
        return _settled(harness, await call, None)
    except Exception as exc:
        return _settled(harness, None, exc)


def _async_receipt_problems(
    processor_id: str,
    channel: Channel,
    outcomes: tuple[_Outcome, _Outcome],
    *,
    sync_receipt: SubmissionReceipt,
    arrived: Mapping[Channel, tuple[int, int]],
    outbox: Path,
) -> list[str]:
    """What is wrong with an async submission and its repeat, against the sync receipt."""
    first, again = outcomes
    if not isinstance(first.answer, SubmissionReceipt):
        return [f"{channel}: AsyncPayhelp.submit_dispute raised {first.text}"]
    if not isinstance(again.answer, SubmissionReceipt):
        return [f"{channel}: the repeated async submission raised {again.text}"]
    receipt, repeat = first.answer, again.answer
    problems = []
    if not repeat.replayed or repeat.idempotency_key != receipt.idempotency_key:
        problems.append(f"{channel}: a repeated async request was submitted again")
    if channel == "api":
        sent, resent = arrived[channel]
        if not sent:
            problems.append("api: the async submission sent no request to the sandbox")
        if resent:
            problems.append("api: the repeated async submission reached the processor again")
    if channel == "email":
        name = eml_name(processor_id, receipt.idempotency_key)
        letters = [p for p in outbox.glob("*.eml") if p.name == name]
        if len(letters) != 1:
            problems.append(f"email: {len(letters)} letters written for one async request")
    compared = set(_RECEIPT_FIELDS[channel])
    if sync_receipt.replayed:  # its first answer is not known: only what a repeat keeps
        compared.discard("detail")
    ours = receipt.model_dump(mode="json", include=compared)
    theirs = sync_receipt.model_dump(mode="json", include=compared)
    problems += [
        f"{channel}: the async receipt's {field_} is {_scrubbed(repr(ours[field_]))}, "
        f"the sync one's {_scrubbed(repr(theirs[field_]))}"
        for field_ in sorted(compared)
        if ours[field_] != theirs[field_]
    ]
    return problems


def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a JSON-like value, with where it sits (``DIRECTORY.channels.email``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _implementations(
    harness: Harness, plugin: object, arguments: Mapping[str, Mapping[str, object]]
) -> Iterator[tuple[str, dict[str, object], Callable[..., Any]]]:
    """Each of ``plugin``'s implementations of the hooks in ``arguments``, as pluggy registered
    it (any function name, with ``specname``), with the arguments it takes."""
    for hook, impl in _hook_impls(harness, plugin, tuple(arguments)):
        given = arguments[hook]
        yield hook, {a: given[a] for a in impl.argnames}, impl.function


def _hook_functions(
    harness: Harness, plugin: object, hooks: tuple[str, ...]
) -> Iterator[tuple[str, Callable[..., Any]]]:
    """Each of ``plugin``'s implementations of ``hooks``, as pluggy registered it."""
    for hook, impl in _hook_impls(harness, plugin, hooks):
        yield hook, impl.function


def _hook_impls(
    harness: Harness, plugin: object, hooks: tuple[str, ...]
) -> Iterator[tuple[str, Any]]:
    host = harness.host
    if host is None:
        return
    for caller in host.pm.get_hookcallers(plugin) or ():
        if caller.name not in hooks:
            continue
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin:
                yield caller.name, impl


#: Private names plugins used to override on the core's clients, and what replaces them.
_REPLACED_PRIVATE_NAMES = {"_may_retry_blindly": "has_side_effects(request)"}


def _registered_api_problems(
    harness: Harness, api: type[ProcessorApi], adapter: ApiAdapter | None
) -> list[str]:
    """What is wrong with an API registered with the processor: a public-API record that is
    not the one it declares, no sandbox, operations that are not generators, ``async def``,
    overrides of the core's private names, a driver that is not the core's."""
    name = api.__name__
    problems: list[str] = []
    info = harness.info
    declared = {"basis": api.basis, "base_url": api.base_url, "reference": api.reference}
    if info.public_api is None:
        problems.append(
            f"public_api is unset although {name} is registered: payhelp derives it from the API"
        )
    else:
        derived = info.public_api.model_dump(mode="json")
        wanted = (
            type(info.public_api).model_validate(declared, strict=False).model_dump(mode="json")
        )
        problems += [
            f"public_api.{field_} is {derived[field_]!r}, but {name} declares "
            f"{wanted[field_]!r}: leave public_api out of ProcessorInfo, payhelp derives it"
            for field_ in wanted
            if derived[field_] != wanted[field_]
        ]
    if harness.registered.sandbox is None:
        problems.append(
            f"{name} is registered without a sandbox: give the one that imitates it, "
            f"register(info, directory, api={name}, sandbox=...)"
        )
    if adapter is not None and not (
        isinstance(adapter, ApiDriver) and isinstance(adapter.api, api)
    ):
        problems.append(
            f"the adapter payhelp built for {name} is {type(adapter).__name__}, not the core's "
            "driver (ApiDriver)"
        )
    operations = {"lookup": True, "submit": api.can_submit}
    for operation, needed in operations.items():
        written = getattr(api, operation)
        if written is getattr(ProcessorApi, operation):
            if needed:
                problems.append(
                    f"{name} does not write {operation}(): an operation is a generator that "
                    "yields each Call it needs sent and returns its result"
                    + (" (or set can_submit = False)" if operation == "submit" else "")
                )
        elif not inspect.isgeneratorfunction(inspect.unwrap(written)):
            problems.append(
                f"{name}.{operation} is not a generator: write it with "
                "'response = yield Call(...)' and return the result; the core drives it for "
                "sync and async callers"
            )
    core_private = {n for base in ProcessorApi.__mro__ for n in vars(base) if _private(n)}
    for klass in api.__mro__:
        if klass is ProcessorApi or not issubclass(klass, ProcessorApi):
            continue
        for attribute, value in vars(klass).items():
            where = f"{klass.__name__}.{attribute}"
            if inspect.iscoroutinefunction(value) or inspect.isasyncgenfunction(value):
                problems.append(
                    f"{where} is async def: a plugin writes no async code; write operations "
                    "as generators of Call, which the core drives for async callers too"
                )
            if attribute in _REPLACED_PRIVATE_NAMES:
                problems.append(
                    f"{where} overrides a private name of the core, which the driver never "
                    f"calls: declare it with {_REPLACED_PRIVATE_NAMES[attribute]} instead"
                )
            elif attribute in core_private:
                problems.append(
                    f"{where} overrides a private name of ProcessorApi: use its public methods "
                    "(error_for, has_side_effects, lookup, submit) and class attributes"
                )
    return problems


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _defined_at(function: Callable[..., Any]) -> str:
    """`` (at plugin.py:12)`` for where ``function`` is written, when that can be told."""
    code = getattr(inspect.unwrap(function), "__code__", None)
    if code is None:
        return ""
    return f" (at {Path(code.co_filename).name}:{code.co_firstlineno})"


def _domains_of(directory: ContactDirectory) -> dict[str, str]:
    """The catalogue domains the directory's texts come from, with their packages."""
    packages = registered_domains()
    found: dict[str, str] = {}
    texts: list[object] = [*directory.include, *directory.warnings]
    for route in directory.routes:
        texts += [text for step in route.steps for text in (step.reason, step.warning)]
    for channel in directory.channels.values():
        texts += channel.fields
    for text in texts:
        if isinstance(text, Msg) and text.domain in packages and text.domain != "payhelp":
            found[text.domain] = packages[text.domain]
    return found


def _channel_problems(key: str, channel: ContactChannel, today: date) -> list[str]:
    problems = []
    for source in channel.provenance:
        if source.checked_on > today:
            problems.append(
                f"channel {key!r}: provenance checked on {source.checked_on}, a day still to come"
            )
        if source.url is not None and not str(source.url).startswith("https://"):
            problems.append(f"channel {key!r}: provenance URL {source.url} must use https")
    if channel.kind is ChannelKind.PHONE:
        number = phonenumbers.parse(channel.value, None)
        worldwide = phonenumbers.region_code_for_country_code(number.country_code or 0) == "001"
        for country in channel.toll_free_in:
            code = phonenumbers.country_code_for_region(country)
            if code != number.country_code and not worldwide:  # +800 is free from many
                problems.append(
                    f"channel {key!r}: {channel.value} is a +{number.country_code} number, so "
                    f"it cannot be free to call from {country} (+{code}); fix toll_free_in"
                )
            if not channel.serves.includes(country, region_of(country)):
                problems.append(
                    f"channel {key!r}: free from {country}, but its audience does not include "
                    f"{country}"
                )
    return problems


__all__ = ["FOREIGN", "REQUIRED_CASES", "SAMPLE_COUNTRIES", "Harness", "ProcessorPluginConformance"]
