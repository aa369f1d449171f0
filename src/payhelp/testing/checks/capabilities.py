"""Checks that the capability flags say what the plugin does, and that an API registered with
the processor is one the core can drive."""

from __future__ import annotations

import inspect

from payhelp.adapters import ApiAdapter, ApiDriver, ProcessorApi
from payhelp.channels import ChannelKind
from payhelp.models import Capabilities
from payhelp.testing._report import ConformanceError, describe, fail_on, where
from payhelp.testing.harness import Harness

#: Private names plugins used to override on the core's clients, and what replaces them.
REPLACED_PRIVATE_NAMES = {"_may_retry_blindly": "has_side_effects(request)"}


def check_capabilities(harness: Harness) -> None:
    """Each capability flag is true exactly when the plugin does it. With an API registered
    with the processor: ``api_lookup``, ``api_submission`` and ``public_api`` are what the
    API declares, a sandbox is registered with it, its operations are generators and it
    overrides no private name of the core (:func:`registered_api_problems`). With an adapter
    from the deprecated ``payhelp_adapter``: the flags as the plugin set them, a sandbox and a
    public API description of the adapter's basis. Either way: channels for email, web form
    and self-service lookup, and ``notifications`` exactly when a notification format is
    registered with the processor."""
    info, directory = harness.info, harness.directory()
    caps: Capabilities = info.capabilities
    api = harness.api
    registered_format = harness.registered.notifications
    problems: list[str] = []
    try:
        adapter = harness.adapter()
    except Exception as exc:
        harness.errors.append(exc)
        source = f"the registered {api.__name__}" if api is not None else "payhelp_adapter"
        raise ConformanceError(
            f"building the adapter from {source} raised {describe(exc)}{where(exc)}", []
        ) from None
    kinds = {c.kind for c in directory.channels.values()}
    expected = {
        "api_lookup": adapter is not None,
        "api_submission": adapter is not None and adapter.can_submit,
        "email_submission": ChannelKind.EMAIL in kinds,
        "web_form": ChannelKind.WEB_FORM in kinds,
        "self_service_lookup": bool({ChannelKind.LOOKUP_PAGE, ChannelKind.WEB_FORM} & kinds),
        "notifications": registered_format is not None,
    }
    why = {
        "api_lookup": "payhelp_adapter gives an adapter for the sandbox",
        "api_submission": "that adapter can submit (can_submit)",
        "email_submission": "the directory has an email channel",
        "web_form": "the directory has a web_form channel",
        "self_service_lookup": "the directory has a lookup_page or web_form channel",
        "notifications": "a notification format is registered with the processor",
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
    has_sandbox = harness.sandbox is not None
    if api is not None:
        problems += registered_api_problems(harness, api, adapter)
    elif adapter is not None:
        if not has_sandbox:
            problems.append("the plugin has an adapter but no sandbox (payhelp_sandbox)")
        if info.public_api is None:
            problems.append("the plugin has an adapter but ProcessorInfo.public_api is unset")
        elif info.public_api.basis != adapter.basis:
            problems.append(
                f"public_api.basis is {info.public_api.basis!r}, the adapter's {adapter.basis!r}"
            )
    elif has_sandbox:
        problems.append("the plugin has a sandbox but payhelp_adapter gives no adapter")
    fail_on("capabilities", problems)


def registered_api_problems(
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
            at = f"{klass.__name__}.{attribute}"
            if inspect.iscoroutinefunction(value) or inspect.isasyncgenfunction(value):
                problems.append(
                    f"{at} is async def: a plugin writes no async code; write operations "
                    "as generators of Call, which the core drives for async callers too"
                )
            if attribute in REPLACED_PRIVATE_NAMES:
                problems.append(
                    f"{at} overrides a private name of the core, which the driver never "
                    f"calls: declare it with {REPLACED_PRIVATE_NAMES[attribute]} instead"
                )
            elif attribute in core_private:
                problems.append(
                    f"{at} overrides a private name of ProcessorApi: use its public methods "
                    "(error_for, has_side_effects, lookup, submit) and class attributes"
                )
    return problems


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
