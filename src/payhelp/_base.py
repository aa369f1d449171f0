"""The base every payhelp model inherits: strict, immutable, documented, and never echoing input.

``hide_input_in_errors`` matters: a validation error must not print back what was rejected, since a
caller may have pasted a full card number into the wrong field.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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
