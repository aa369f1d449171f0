"""Countries and the region groups that processors' contact and routing rules are written in.

Country codes are ISO 3166-1 alpha-2, checked against ``pycountry``. The groups are the ones the
source documents speak of: the United States, Canada, the EU/EEA, the United Kingdom, and the rest
of the world.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

import pycountry
from pydantic import BeforeValidator

from payhelp._base import Lax
from payhelp.errors import InvalidInputError
from payhelp.redact import short_echo, strip_invisible


class Region(StrEnum):
    """A group of countries that processors write their rules for."""

    US = "us"
    CA = "ca"
    EEA = "eea"
    UK = "uk"
    ROW = "row"


#: The 27 EU member states plus Iceland, Liechtenstein and Norway.
EEA_COUNTRIES: frozenset[str] = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
        "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
        "IS", "LI", "NO",
    }
)  # fmt: skip

#: Codes people commonly write that are not ISO 3166-1 alpha-2, and what they mean.
_ALIASES = {"UK": "GB", "EL": "GR"}


@lru_cache(maxsize=512)
def _known(code: str) -> bool:
    return pycountry.countries.get(alpha_2=code) is not None


def normalize_country(value: str) -> str:
    """Return the ISO 3166-1 alpha-2 code for ``value`` or raise :class:`InvalidInputError`.

    Accepts any letter case, full-width letters, and the aliases ``UK`` (for GB) and ``EL``
    (for GR).
    """
    if not isinstance(value, str):
        raise InvalidInputError(
            "a country is an ISO 3166-1 alpha-2 code such as 'US', 'IT' or 'GB'"
        )
    code = value.strip()[:16]
    if not code.isascii():
        code = unicodedata.normalize("NFKC", strip_invisible(code)).strip()
    code = code.upper()
    code = _ALIASES.get(code, code)
    if len(code) != 2 or not code.isalpha() or not _known(code):
        raise InvalidInputError(
            f"invalid country {short_echo(value, 12)}: expected an ISO 3166-1 alpha-2 code such "
            "as US, IT or GB"
        )
    return code


def _pydantic_country(value: object) -> object:
    if isinstance(value, str):
        try:
            return normalize_country(value)
        except InvalidInputError as exc:
            raise ValueError(str(exc)) from None
    return value


#: A validated ISO 3166-1 alpha-2 country code, upper case.
Country = Annotated[str, BeforeValidator(_pydantic_country)]


@lru_cache(maxsize=512)
def region_of(country: str) -> Region:
    """The region group of an already-normalised country code."""
    if country == "US":
        return Region.US
    if country == "CA":
        return Region.CA
    if country == "GB":
        return Region.UK
    if country in EEA_COUNTRIES:
        return Region.EEA
    return Region.ROW


#: A region field that accepts ``"eea"`` as well as ``Region.EEA``.
RegionValue = Lax[Region]


def country_name(country: str) -> str:
    """The English short name of a country code, for tables and messages."""
    found = pycountry.countries.get(alpha_2=country)
    return str(found.name) if found is not None else country
