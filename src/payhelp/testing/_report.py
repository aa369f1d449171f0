"""How the harness and the checks describe what they found: safe to print, pointing at the
plugin's own code, one problem per line."""

from __future__ import annotations

import inspect
import os
import re
import traceback
import unittest
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from payhelp.errors import PluginError, PluginLoadError
from payhelp.redact import mask_card_numbers

#: A card number (Luhn-valid, a well-known test number) the suite feeds in where a customer
#: might paste one; it must never come out anywhere.
TEST_PAN = "4111 1111 1111 1111"
PAN_DIGITS = TEST_PAN.replace(" ", "")

#: The fake credentials the suite configures, and the pattern that finds any of them in a text.
SECRET_PREFIX, SECRET_SUFFIX = "conformance-secret-", "-5f0c9e"
_SECRET = re.compile(re.escape(SECRET_PREFIX) + r"[A-Za-z0-9_]+" + re.escape(SECRET_SUFFIX))
#: Where payhelp itself is installed: frames outside it are the plugin's.
_PAYHELP_DIR = str(Path(__file__).resolve().parent.parent)


class ConformanceError(AssertionError):
    """A check found problems: the message has a title line, then one problem per line, each
    saying what to fix."""

    def __init__(self, title: str, problems: list[str]) -> None:
        self.title = title
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{title}:\n{lines}" if problems else title)


class NotApplicable(unittest.SkipTest):
    """A check has nothing to look at for this plugin (no API, no refund rules…); the message
    says why. It is a :class:`unittest.SkipTest`, so pytest and unittest report a skip with
    that reason."""


def fail_on(title: str, problems: list[str]) -> None:
    """Raise :class:`ConformanceError` with every problem, when there are any."""
    if problems:
        raise ConformanceError(title, problems)


def scrubbed(text: str) -> str:
    """``text`` safe to print in a failure: any card number masked to its last four digits, the
    suite's fake credentials hidden."""
    return _SECRET.sub("<credential>", mask_card_numbers(text))


def raised(exc: BaseException) -> BaseException:
    """What the plugin itself raised: the host wraps a failing hook in a PluginError whose cause
    it is (a load error is described as it is)."""
    if (
        isinstance(exc, PluginError)
        and not isinstance(exc, PluginLoadError)
        and exc.__cause__ is not None
    ):
        return exc.__cause__
    return exc


def describe(exc: BaseException) -> str:
    """``ClassName: message`` of what the plugin raised, safe to print."""
    exc = raised(exc)
    return scrubbed(f"{type(exc).__name__}: {exc}")


def where(exc: BaseException) -> str:
    """`` (at plugin.py:12, in hook)``: the plugin's own frame that raised, for 'what to fix'
    messages; empty when every frame is payhelp's."""
    exc = raised(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if not str(Path(frame.filename).resolve()).startswith(_PAYHELP_DIR + os.sep):
            return f" (at {Path(frame.filename).name}:{frame.lineno}, in {frame.name})"
    return ""


def defined_at(function: Callable[..., Any]) -> str:
    """`` (at plugin.py:12)`` for where ``function`` is written, when that can be told."""
    code = getattr(inspect.unwrap(function), "__code__", None)
    if code is None:
        return ""
    return f" (at {Path(code.co_filename).name}:{code.co_firstlineno})"


def card_number_in(text: str) -> bool:
    """Whether ``text`` holds what payhelp masks as a card number: a run of 12 to 19 digits (spaces
    or dashes between) that passes the Luhn check."""
    return mask_card_numbers(text) != text


def strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a JSON-like value, with where it sits (``DIRECTORY.channels.email``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}[{index}]")
