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
from pydantic_core import PydanticCustomError

from payhelp._base import Lax
from payhelp.errors import InvalidInputError
from payhelp.redact import short_echo, strip_invisible


class Region(StrEnum):
    """A group of countries that processors write their rules for. A region field takes the
    member (``Region.EEA``) or its value in any letter case (``"eea"``, ``"EEA"``)."""

    US = "us"
    """The United States (country US)."""
    CA = "ca"
    """Canada (country CA)."""
    EEA = "eea"
    """The European Economic Area: the 27 EU member states, Iceland, Liechtenstein and Norway."""
    UK = "uk"
    """The United Kingdom: the one country GB (the Crown Dependencies JE, GG, IM are ``row``)."""
    ROW = "row"
    """The rest of the world: every country not in the groups above."""


#: The 27 EU member states plus Iceland, Liechtenstein and Norway.
EEA_COUNTRIES: frozenset[str] = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
        "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
        "IS", "LI", "NO",
    }
)  # fmt: skip

#: Codes people commonly write that are not ISO 3166-1 alpha-2, and what they mean. They are
#: folded in what a customer or an agent types (``--country UK``); in a plugin's or a platform's
#: data (:data:`IsoCountry`) they are refused with the ISO code to write instead.
COUNTRY_ALIASES: dict[str, str] = {"UK": "GB", "EL": "GR"}
_ALIASES = COUNTRY_ALIASES


@lru_cache(maxsize=512)
def _known(code: str) -> bool:
    return pycountry.countries.get(alpha_2=code) is not None


def normalize_country(value: str, *, aliases: bool = True) -> str:
    """Return the ISO 3166-1 alpha-2 code for ``value`` or raise :class:`InvalidInputError`.

    Accepts any letter case and full-width letters. With ``aliases`` (the default, for what
    people type) ``UK`` is read as ``GB`` and ``EL`` as ``GR``; without it (data a plugin or a
    platform writes) they are refused with the code to write.
    """
    if not isinstance(value, str):
        raise InvalidInputError(
            "a country is an ISO 3166-1 alpha-2 code such as 'US', 'IT' or 'GB'"
        )
    code = value.strip()[:16]
    if not code.isascii():
        code = unicodedata.normalize("NFKC", strip_invisible(code)).strip()
    code = code.upper()
    if code in _ALIASES and not aliases:
        iso = _ALIASES[code]
        region = " (for the whole region, regions=('uk',))" if code == "UK" else ""
        raise InvalidInputError(
            f"country {code!r} is not an ISO 3166-1 code: write {iso!r}{region}"
        )
    code = _ALIASES.get(code, code)
    if len(code) != 2 or not code.isalpha() or not _known(code):
        raise InvalidInputError(
            f"invalid country {short_echo(value, 12)}: expected an ISO 3166-1 alpha-2 code such "
            "as US, IT or GB"
        )
    return code


@lru_cache(maxsize=1024)
def _remembered(value: str, *, aliases: bool) -> str:
    return normalize_country(value, aliases=aliases)


def country_code(value: str, *, aliases: bool = True) -> str:
    """:func:`normalize_country`, remembered for the few hundred spellings people use (plain
    ``str`` only; a refused value is not remembered: it raises again)."""
    if type(value) is str:
        return _remembered(value, aliases=aliases)
    return normalize_country(value, aliases=aliases)


def _pydantic_country(value: object) -> object:
    if isinstance(value, str):
        try:
            return country_code(value)
        except InvalidInputError as exc:
            raise ValueError(str(exc)) from None
    return value


def _pydantic_iso_country(value: object) -> object:
    if isinstance(value, str):
        try:
            return country_code(value, aliases=False)
        except InvalidInputError as exc:
            raise ValueError(str(exc)) from None
    return value


#: A country someone gives (a customer's, an agent's): ISO 3166-1 alpha-2 in any letter case,
#: stored upper case; ``UK`` is read as ``GB`` and ``EL`` as ``GR``.
Country = Annotated[str, BeforeValidator(_pydantic_country)]

#: A country in a plugin's or a platform's data (audiences, ``toll_free_in``): ISO 3166-1
#: alpha-2 in any letter case, stored upper case; ``UK`` and ``EL`` are refused with the code to
#: write, so what is written is what the reference shows.
IsoCountry = Annotated[str, BeforeValidator(_pydantic_iso_country)]


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


_NOT_REGIONS = {
    "gb": "'GB' is a country; the region of the United Kingdom is 'uk'",
    "eu": "the EU is not one of payhelp's regions: 'eea' is the EU with Iceland, Liechtenstein "
    "and Norway (list other countries in an audience's countries)",
    "europe": "Europe is not one of payhelp's regions: write 'eea' and 'uk' (list other "
    "countries in an audience's countries)",
    "world": "for every country write 'row' with the other regions, or leave the audience empty",
}


def _region(value: object) -> object:
    if not isinstance(value, str) or isinstance(value, Region):
        return value
    folded = value.strip().lower()
    if folded in _NOT_REGIONS:
        raise PydanticCustomError("region", _NOT_REGIONS[folded])
    try:
        return Region(folded)
    except ValueError:
        raise PydanticCustomError(
            "region",
            "is not a region: give one of us, ca, eea, uk, row (any letter case) or a "
            "Region member",
        ) from None


#: A region field: a :class:`Region` member or its value in any letter case (``"EEA"`` is
#: ``Region.EEA``); a country code or ``EU`` is refused with the value to write.
RegionValue = Annotated[Lax[Region], BeforeValidator(_region)]


def country_name(country: str) -> str:
    """The English short name of a country code, for tables and messages."""
    found = pycountry.countries.get(alpha_2=country)
    return str(found.name) if found is not None else country
