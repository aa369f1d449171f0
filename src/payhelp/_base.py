"""The base every payhelp model inherits: strict, immutable, documented, and never echoing input.

``hide_input_in_errors`` matters: a validation error must not print back what was rejected, since a
caller may have pasted a full card number into the wrong field.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Strict

_E = TypeVar("_E", bound=Enum)

#: An enum field that also accepts the enum's string values (``"official"`` for
#: ``Confidence.OFFICIAL``) in strict models: plugin data and configuration are written that way,
#: and turning a valid value into its member loses nothing.
Lax = Annotated[_E, Strict(False)]


class Model(BaseModel):
    """Strict, frozen pydantic model whose fields are documented by attribute docstrings."""

    model_config = ConfigDict(
        strict=True,
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
        use_attribute_docstrings=True,
        validate_default=True,
    )


class WireModel(BaseModel):
    """Base for a processor's own payloads: unknown fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow", hide_input_in_errors=True, populate_by_name=True)
