"""Checks of the plugin's hook implementations: silent for processors not its own, none of the
deprecated ones beside a registered API, refund rules of the type payhelp reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from payhelp.channels import (
    ChannelKind,
    ChannelRoute,
    ContactChannel,
    ContactDirectory,
    RouteStep,
)
from payhelp.errors import PayhelpError
from payhelp.geo import Region
from payhelp.models import Capabilities, ProcessorInfo
from payhelp.policies.refunds import RefundRule
from payhelp.sandbox import sandbox_base_url
from payhelp.testing._report import NotApplicable, defined_at, describe, fail_on, where
from payhelp.testing.checks._calls import hook_impls, implementations
from payhelp.testing.harness import Harness

#: A processor no plugin owns: every ``firstresult`` hook must answer it with ``None``.
FOREIGN = ProcessorInfo(
    id="conformance_foreign",
    name="Not yours",
    website="https://foreign.example.com/",  # type: ignore[arg-type]
    regions=(Region.ROW,),
    capabilities=Capabilities(),
)

#: The hooks of the old contract, deprecated for one release: a processor now registers its API
#: and sandbox with its metadata.
DEPRECATED_HOOKS = ("payhelp_adapter", "payhelp_sandbox")


def check_foreign_processors(harness: Harness) -> None:
    """A ``firstresult`` hook that answers for another processor hides that processor's plugin;
    every such hook of this plugin must give ``None`` (and not raise) for :data:`FOREIGN`. The
    deprecated ``payhelp_adapter`` / ``payhelp_sandbox`` are asked only of a plugin still on
    them: a processor registered with its API is never asked them."""
    processor_id = harness.processor_id
    provenance = next(iter(harness.directory().channels.values())).provenance
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
    if harness.api is not None:
        for hook in DEPRECATED_HOOKS:
            del arguments[hook]
    problems = []
    for hook, kwargs, implementation in implementations(harness, arguments):
        try:
            answer = implementation(**kwargs)
        except Exception as exc:
            problems.append(
                f"{hook} raised {describe(exc)}{where(exc)} for a processor that is not "
                f"its own; return None when processor.id != {processor_id!r}"
            )
            continue
        if answer is not None and not (hook == "payhelp_refund_rules" and not answer):
            problems.append(
                f"{hook} answered {type(answer).__name__} for processor {FOREIGN.id!r}; "
                f"return None when processor.id != {processor_id!r}"
            )
    fail_on("hooks answering for other processors", problems)


def check_no_deprecated_hooks(harness: Harness) -> None:
    """A plugin that registers its API with its processor implements neither
    ``payhelp_adapter`` nor ``payhelp_sandbox``: payhelp never asks them for a processor
    registered with ``api=``, so they are dead code that reads as if it mattered. A plugin
    still on those hooks (deprecated, kept for one release) is :class:`NotApplicable`, told what
    to change."""
    harness.loaded()
    found = [(hook, impl.function) for hook, impl in hook_impls(harness, DEPRECATED_HOOKS)]
    if harness.api is None:
        if found:
            raise NotApplicable(
                f"the plugin is on the old contract ({', '.join(h for h, _ in found)}, "
                "deprecated and kept for one release): register a ProcessorApi and its "
                "sandbox with the processor, register(info, directory, api=..., sandbox=...), "
                "and delete the hooks"
            )
        return
    fail_on(
        "deprecated hooks",
        [
            f"{hook} is deprecated and never asked for a processor registered with "
            f"api={harness.api.__name__}: delete it{defined_at(function)}"
            for hook, function in found
        ],
    )


def refund_rules_problems(answer: object) -> list[str]:
    """What is wrong with one answer of ``payhelp_refund_rules`` for the plugin's own processor:
    anything but ``None`` or a sequence (a tuple, a list) of :class:`RefundRule`."""
    fix = "return a tuple of RefundRule (RefundRule(id=..., when=..., outcome=..., message=...))"
    if answer is None:
        return []
    if isinstance(answer, RefundRule):
        return [
            f"it returned one RefundRule ({answer.id!r}), not a sequence of them: return a "
            "tuple, even of one rule: (rule,)"
        ]
    if isinstance(answer, str | bytes | Mapping) or not isinstance(answer, Sequence):
        return [f"it returned {type(answer).__name__}: {fix}, or None"]
    return [
        f"item {index} of its rules is {type(rule).__name__}, not a RefundRule: {fix}"
        for index, rule in enumerate(answer)
        if not isinstance(rule, RefundRule)
    ]


def check_refund_rules(harness: Harness) -> None:
    """Asked about its own processor, each of the plugin's ``payhelp_refund_rules`` returns
    ``None`` or a sequence of :class:`~payhelp.policies.refunds.RefundRule` (not one rule, a
    mapping, a string or a generator), without raising, and payhelp takes them for a refund
    check. :class:`NotApplicable` for a plugin with no such hook."""
    info = harness.info
    found = list(hook_impls(harness, ("payhelp_refund_rules",)))
    if not found:
        raise NotApplicable("the plugin has no payhelp_refund_rules: no rules of its own")
    problems: list[str] = []
    for hook, impl in found:
        at = defined_at(impl.function)
        try:
            answer = impl.function(**{a: {"processor": info}[a] for a in impl.argnames})
        except Exception as exc:
            problems.append(
                f"{hook} raised {describe(exc)}{where(exc)} for its own processor "
                f"{info.id!r}: return its rules, or None"
            )
            continue
        problems += [f"{hook}{at}: {problem}" for problem in refund_rules_problems(answer)]
    if not problems:
        try:
            harness.loaded().host.refund_rules(info)
        except PayhelpError as exc:
            harness.errors.append(exc)
            problems.append(f"payhelp cannot use the rules: {describe(exc)}")
    fail_on("refund rules", problems)
