"""Checks of how the plugin loads: it imports, registers exactly its own processor, and is
installed under the entry point named after it."""

from __future__ import annotations

import importlib.metadata

from payhelp.plugins import ENTRY_POINT_GROUP
from payhelp.testing._report import ConformanceError, fail_on
from payhelp.testing.harness import Harness


def check_loads(harness: Harness) -> None:
    """The plugin's module imports, its registration succeeds (every model valid) and it
    registers the processor ``harness.processor_id``. The failure says what went wrong, once:
    every other check needs a loaded plugin."""
    if harness.load_error is not None:
        raise ConformanceError(f"the plugin does not load: {harness.load_error}", [])


def check_registration(harness: Harness) -> None:
    """The plugin registers exactly its own processor, from ``payhelp_register_processors``."""
    check_loads(harness)
    host = harness.host
    assert host is not None
    processor_id = harness.processor_id
    problems = []
    ids = sorted(host.processors())
    if ids != [processor_id]:
        problems.append(f"it registers {ids}; a plugin registers one processor, {processor_id!r}")
    records = [r for r in host.records() if r.name == processor_id]
    if records and "payhelp_register_processors" not in records[0].hooks:
        problems.append("it does not implement payhelp_register_processors")
    fail_on("registration", problems)


def check_entry_point(processor_id: str, plugin: object | str) -> None:
    """An installed plugin is found through the ``payhelp`` entry point named after its
    processor, pointing at the plugin module (``plugin``: the module's name or the module)."""
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=processor_id)
    if not found:
        raise ConformanceError(
            f"no '{ENTRY_POINT_GROUP}' entry point named {processor_id!r} is installed: "
            f'add [project.entry-points.{ENTRY_POINT_GROUP}] {processor_id} = "<module>" '
            "to pyproject.toml and install the package",
            [],
        )
    entry = next(iter(found))  # the same distribution may be visible twice on sys.path
    expected = plugin if isinstance(plugin, str) else getattr(plugin, "__name__", None)
    if expected is not None and entry.value != expected:
        raise ConformanceError(
            f"the entry point points at {entry.value!r}, the test at {expected!r}", []
        )
