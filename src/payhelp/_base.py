"""The base every payhelp model inherits: strict, immutable, documented, and never echoing input;
and the field types that keep what comes in clean.

``hide_input_in_errors`` matters: a validation error must not print back what was rejected, since a
caller may have pasted a full card number into the wrong field.

Every field a caller fills in with an identifier or a short piece of text (a transaction id, a
reference, the statement line, a username, an email address, a file name, a batch ``ref``) uses
one of the types below. They bound its length, fold full-width and invisible characters into what
they stand for, refuse anything but one line of printable text, and refuse a full card number in
any spelling (:func:`payhelp.redact.find_card_number`) with a ``card_number`` error, which
:func:`invalid_input` turns into :class:`~payhelp.errors.CardNumberError`. The customer's own
message is the one exception: it is free text, where a customer may paste a card number while
explaining the problem, so it is masked where it is stored or sent rather than refused.
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import textwrap
import unicodedata
from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Annotated, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from payhelp.errors import CardNumberError, InvalidInputError, describe_validation_error
from payhelp.redact import find_card_number, mask_card_numbers, strip_invisible

_E = TypeVar("_E", bound=Enum)

#: An enum field that also accepts the enum's string values (``"official"`` for
#: ``Confidence.OFFICIAL``) in strict models: plugin data and configuration are written that way,
#: and turning a valid value into its member loses nothing.
Lax = Annotated[_E, Strict(False)]


class Model(BaseModel):
    """Strict, frozen pydantic model whose fields are documented by attribute docstrings.

    Both bases defer building their validators to first use (``defer_build``): a command that
    never validates a model does not pay for it, and importing the core and six plugins defines
    about eighty. The docstrings are read from the source only when asked for, by
    :func:`field_docs`, not by pydantic at class creation (``use_attribute_docstrings`` parses
    every class's source: half the cost of defining them).
    """

    model_config = ConfigDict(
        strict=True,
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
        validate_default=True,
        defer_build=True,
    )


class WireModel(BaseModel):
    """Base for a processor's own payloads: unknown fields are kept, not rejected."""

    model_config = ConfigDict(
        extra="allow", hide_input_in_errors=True, populate_by_name=True, defer_build=True
    )


@functools.cache
def field_docs(model: type[BaseModel]) -> Mapping[str, str]:
    """Each field's meaning: its ``Field(description=...)``, else the docstring under it.

    Inherited fields keep their base class's docstring unless the subclass documents them again.
    A field with neither is left out; a class whose source cannot be read (defined in a REPL)
    gives only its explicit descriptions.
    """
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if issubclass(cls, BaseModel) and cls is not BaseModel:
            docs.update(_attribute_docstrings(cls))
    for name, field in model.model_fields.items():
        if field.description:
            docs[name] = field.description
    return MappingProxyType({name: docs[name] for name in model.model_fields if name in docs})


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """The string literal right under each annotated assignment in the body of ``cls``."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    tree = ast.parse(source)
    body = next((node.body for node in tree.body if isinstance(node, ast.ClassDef)), [])
    found: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            found[node.target.id] = inspect.cleandoc(after.value.value)
    return found


#: The pydantic error type of a card number where none belongs.
CARD_NUMBER_ERROR = "card_number"
#: Longest text folded before its length is checked: longer input fails every bound anyway.
_FOLD_LIMIT = 4096


def normalize_text(value: str) -> str:
    """``value`` as it reads: NFKC (full-width letters and digits become ASCII ones) with the
    characters that show nothing (zero-width spaces, joiners, direction marks) dropped. ASCII
    text is returned as it is, at no cost."""
    if value.isascii():
        return value
    return unicodedata.normalize("NFKC", strip_invisible(value))


def card_number_error(field: str | None = None) -> PydanticCustomError:
    """The validation error for a card number in a field not meant for one (never the number)."""
    where = f"{field} " if field else ""
    return PydanticCustomError(
        CARD_NUMBER_ERROR,
        where + "holds a full card number, which payhelp refuses outside the customer's message; "
        "give an identifier, and at most the last four digits of the card where they are asked",
    )


def refuse_card_number(value: str, field: str) -> str:
    """``value`` when it holds no card number in any spelling; otherwise
    :class:`~payhelp.errors.CardNumberError` naming ``field`` and never the number. For a value
    checked outside a model (an idempotency key, a header, a form answer)."""
    if find_card_number(value) is not None:
        raise CardNumberError(
            f"{field} holds a full card number, which payhelp refuses outside the customer's "
            "message; give an identifier instead"
        )
    return value


def _fold(value: object) -> object:
    if isinstance(value, str) and len(value) <= _FOLD_LIMIT:
        return normalize_text(value).strip()
    return value


#: What "one line of text" leaves out: control characters (NUL, line breaks, escapes), line and
#: paragraph separators, lone surrogates (no file or terminal can take them) and the
#: bidirectional controls that make text read otherwise than it is stored.
_NOT_IN_A_LINE = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_one_line(value: str) -> bool:
    if value.isascii():
        return value.isprintable()
    return not any(
        unicodedata.category(char) in _NOT_IN_A_LINE or char in _BIDI_CONTROLS for char in value
    )


def check_one_line(value: str) -> str:
    """``value`` when it holds no card number and is one line of text; a pydantic error
    otherwise (an ``AfterValidator`` for text fields). The card number is looked for first, so
    that a number split by line breaks is named for what it is."""
    if find_card_number(value) is not None:
        raise card_number_error()
    if not _is_one_line(value):
        raise PydanticCustomError(
            "one_line", "must be one line of printable text (no control characters)"
        )
    return value


def _no_card(value: str) -> str:
    if find_card_number(value) is not None:
        raise card_number_error()
    return value


#: Text that may hold anything but a full card number (in any spelling).
NoCardStr = Annotated[str, AfterValidator(_no_card)]

#: Text that comes from outside payhelp and goes back out (what a processor's API answered): any
#: card number in it is masked to ``[card …1111]`` when the model is built, so no caller, table
#: or log line shows one.
MaskedText = Annotated[str, AfterValidator(mask_card_numbers)]

#: A processor's or a platform's reference (a transaction, member, purchase or subscription id,
#: a username): 1 to 128 characters of one printable line, folded by :func:`normalize_text` and
#: stripped, never a card number.
Identifier = Annotated[
    str, BeforeValidator(_fold), Field(min_length=1, max_length=128), AfterValidator(check_one_line)
]

#: The line on a card statement: like :data:`Identifier`, up to 200 characters.
StatementLine = Annotated[
    str, BeforeValidator(_fold), Field(min_length=1, max_length=200), AfterValidator(check_one_line)
]

#: A caller's own label echoed back in batch output: one printable line of at most 200
#: characters, kept as given (not folded), never a card number.
CallerRef = Annotated[str, Field(max_length=200), AfterValidator(check_one_line)]


def invalid_input(exc: ValidationError, context: str = "") -> InvalidInputError:
    """The payhelp error for a failed validation: :class:`~payhelp.errors.CardNumberError` when
    a card number stood where none belongs, :class:`~payhelp.errors.InvalidInputError`
    otherwise; the message names every invalid field, never what was in it. ``context`` is put
    in front (``"line 3: "``)."""
    message = context + describe_validation_error(exc)
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if any(error["type"] == CARD_NUMBER_ERROR for error in errors):
        return CardNumberError(message)
    return InvalidInputError(message)
