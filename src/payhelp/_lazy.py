"""Names a package exports without importing the modules behind them (PEP 562).

A package lists where each public name lives; :func:`exports` gives it the module-level
``__getattr__`` and ``__dir__`` that import the home module on first access and keep the value in
the package's namespace, so later look-ups are plain attribute reads. A submodule read as an
attribute (``payhelp.models`` after ``import payhelp``) is imported too, as it was when the
package imported everything up front.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping


def exports(
    package: str, homes: Mapping[str, str], namespace: MutableMapping[str, object]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public names live in the modules
    ``homes`` maps them to; ``namespace`` is the package's ``globals()``."""

    def __getattr__(name: str) -> object:  # noqa: N807 - the PEP 562 hook
        module = homes.get(name)
        if module is None:
            if name.isidentifier() and not name.startswith("__"):
                try:
                    return importlib.import_module(f"{package}.{name}")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{package}.{name}":
                        raise
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later look-ups go straight to the package's namespace
        return value

    def __dir__() -> list[str]:  # noqa: N807 - the PEP 562 hook
        return sorted({*namespace, *homes})

    return __getattr__, __dir__
