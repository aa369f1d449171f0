"""What a plugin's author is told about its data: validation errors named where they are written,
once and one line per problem; placeholders refused at registration; regions in any case, and
country aliases refused in data but folded in what people type."""

from __future__ import annotations

import re
import warnings

import pytest
from pydantic import ValidationError

from payhelp import (
    Audience,
    ChannelKind,
    ContactChannel,
    Payhelp,
    PluginLoadError,
    PluginLoadWarning,
    ProcessorInfo,
    Region,
    hookimpl,
)
from payhelp.adapters import HeaderAuth, ProcessorApi
from payhelp.authoring import describe_plugin_error, is_placeholder, placeholders
from payhelp.cases import LookupRule
from payhelp.errors import PluginError
from payhelp.geo import normalize_country, region_of
from payhelp.plugins import get_plugin_manager

from .conftest import PROV, SyntheticPlugin, make_directory, make_info

BROKEN_DATA = """
from datetime import date
from payhelp import ContactChannel, ContactDirectory, ChannelRoute, Provenance, RouteStep

P = (Provenance(source="acme docs", confidence="official", checked_on=date(2026, 1, 1)),)
DIRECTORY = ContactDirectory(
    channels={
        "email": ContactChannel(kind="email", value="help@acmepay.example.com", provenance=P),
        "phone_us": ContactChannel(
            kind="phone",
            value="1-800-555-0199",
            provenance=P,
        ),
    },
    routes=(ChannelRoute(steps=(RouteStep(channel="email", reason="write"),)),),
)
"""

BROKEN_PLUGIN = """
from payhelp import hookimpl
from tests_brokendata import DIRECTORY

@hookimpl
def payhelp_register_processors(register):
    pass
"""


def test_an_import_time_mistake_names_the_channel_key_and_the_line(install_distribution) -> None:
    install_distribution(
        "payhelp-acmepay",
        {"acmepay": "tests_brokenplugin"},
        {"tests_brokendata": BROKEN_DATA, "tests_brokenplugin": BROKEN_PLUGIN},
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ph = Payhelp(load_plugins=["acmepay"])
    record = next(r for r in ph.plugins() if r.name == "acmepay")
    assert record.error == (
        "failed to import tests_brokenplugin: ContactChannel is not valid (1 problem; every "
        "field is described in payhelp's docs/fields.md)\n"
        "  - DIRECTORY.channels.phone_us.value (tests_brokendata.py:9): phone number "
        "'1-800-555-0199' is not in E.164 form: give it in E.164: +, the country code and the "
        "number, no spaces (e.g. +442071234567)"
    )
    assert "[type=" not in record.error
    assert "errors.pydantic.dev" not in record.error
    # Reported once: one warning, saying it once.
    loads = [w for w in caught if issubclass(w.category, PluginLoadWarning)]
    assert len(loads) == 1
    assert str(loads[0].message).count("phone_us") == 1


def test_every_problem_is_one_line_and_says_what_to_give() -> None:
    with pytest.raises(ValidationError) as info:
        ProcessorInfo.model_validate(
            {
                "id": "acmepay",
                "name": "Acme",
                "website": "https://acme.example.com/",
                "regions": ["EEA", "EU"],
                "capabilities": {},
                "colour": "blue",
            },
            strict=False,
        )
    text = describe_plugin_error(info.value)
    lines = re.sub(r"test_plugin_authoring\.py:\d+", "here", text).splitlines()
    assert lines[0].startswith("ProcessorInfo is not valid (2 problems")
    assert lines[1:] == [
        "  - ProcessorInfo.regions[1] (here): the EU is not one of "
        "payhelp's regions: 'eea' is the EU with Iceland, Liechtenstein and Norway (list other "
        "countries in an audience's countries)",
        "  - ProcessorInfo.colour (here): is not a field of this model: "
        "check the spelling (docs/fields.md)",
    ]


def test_a_channel_value_error_is_on_the_value_and_says_the_form() -> None:
    cases = {
        ChannelKind.EMAIL: ("help.example.com", "give one such as support@example.com"),
        ChannelKind.WEB_FORM: ("http://example.com/form", "is an https URL"),
        ChannelKind.PHONE: ("+44 1344 586020", "must be written in E.164 as '+441344586020'"),
    }
    for kind, (value, says) in cases.items():
        with pytest.raises(ValidationError) as info:
            ContactChannel(kind=kind, value=value, provenance=PROV)
        (error,) = info.value.errors()
        assert error["loc"] == ("value",)
        assert says in error["msg"]
    with pytest.raises(ValidationError) as info:
        ContactChannel(
            kind=ChannelKind.EMAIL, value="a@b.example", toll_free_in=("US",), provenance=PROV
        )
    assert info.value.errors()[0]["loc"] == ("toll_free_in",)


# -- placeholders ------------------------------------------------------------------------------


def test_placeholders_are_what_the_scaffold_leaves() -> None:
    assert is_placeholder("https://acmepay.invalid/")
    assert is_placeholder("support@acmepay.invalid")
    assert is_placeholder("TODO: the page this comes from")
    assert not is_placeholder("https://invalid-payments.example.com/")
    assert not is_placeholder("https://acme.example.com/invalidate")
    info = make_info("acmepay").model_copy(update={"notes": ("TODO: check",)})
    assert placeholders({"INFO": info}) == ["INFO.notes[0] = 'TODO: check'"]


def _with(info: ProcessorInfo, **channel: object) -> SyntheticPlugin:
    directory = make_directory(info.id)
    if channel:
        channels = dict(directory.channels)
        channels["email"] = channels["email"].model_copy(update=channel)
        directory = directory.model_copy(update={"channels": channels})
    return SyntheticPlugin(info, directory)


def test_registration_refuses_every_placeholder_once_in_one_message() -> None:
    info = ProcessorInfo.model_validate(
        {
            **make_info("acmepay").model_dump(),
            "website": "https://acmepay.invalid/",
            "notes": ("TODO: check the regions",),
        },
        strict=False,
    )
    plugin = _with(info, value="support@acmepay.invalid")
    with pytest.raises(PluginLoadError) as caught:
        get_plugin_manager(load_entry_points=False, extra=[("acmepay", plugin)], strict=True)
    assert str(caught.value) == (
        "plugin 'acmepay': failed to register: processor 'acmepay' still holds what payhelp "
        "plugin new left to fill in, and payhelp never sends a customer to a placeholder; "
        "replace each with the fact read at its source:\n"
        "  - INFO.website = 'https://acmepay.invalid/'\n"
        "  - INFO.notes[0] = 'TODO: check the regions'\n"
        "  - DIRECTORY.channels.email.value = 'support@acmepay.invalid'"
    )
    # Not strict: recorded once, and no processor registered.
    with pytest.warns(PluginLoadWarning, match="still holds what payhelp plugin new left"):
        host = get_plugin_manager(load_entry_points=False, extra=[("acmepay", plugin)])
    assert "acmepay" not in host.processors()
    (record,) = [r for r in host.records() if r.name == "acmepay"]
    assert record.error is not None
    assert record.error.count("plugin 'acmepay'") == 0


class _TodoApi(ProcessorApi):
    processor = "acmepay"
    basis = "official"
    base_url = "https://api.acmepay.example.com/"
    reference = "TODO: where the wire format is documented"
    auth = HeaderAuth({"Authorization": "Bearer {api_key}"})
    lookup_rules = (LookupRule(fields=("transaction_id",)),)


class _ApiPlugin:
    @hookimpl
    def payhelp_register_processors(self, register) -> None:  # type: ignore[no-untyped-def]
        register(make_info("acmepay"), make_directory("acmepay"), api=_TodoApi)


def test_an_api_whose_reference_is_a_placeholder_is_refused() -> None:
    with pytest.raises(PluginError, match=r"_TodoApi\.reference is still a placeholder"):
        get_plugin_manager(load_entry_points=False, extra=[("acmepay", _ApiPlugin())], strict=True)


# -- regions and countries ---------------------------------------------------------------------


def test_regions_are_taken_in_any_letter_case() -> None:
    audience = Audience(regions=("US", " Eea ", "uk", Region.ROW))  # type: ignore[arg-type]
    assert audience.regions == (Region.US, Region.EEA, Region.UK, Region.ROW)


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("GB", "'GB' is a country; the region of the United Kingdom is 'uk'"),
        ("EU", "'eea' is the EU with Iceland, Liechtenstein and Norway"),
        ("Europe", "write 'eea' and 'uk'"),
        ("emea", r"give one of us, ca, eea, uk, row \(any letter case\)"),
    ],
)
def test_a_value_that_is_no_region_says_the_exact_values(given: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        Audience(regions=(given,))  # type: ignore[arg-type]


def test_uk_is_folded_in_what_people_type_and_refused_in_data() -> None:
    assert normalize_country("uk") == "GB"
    assert normalize_country("EL") == "GR"
    ph = Payhelp(
        load_entry_points=False, plugins=[("acmepay", SyntheticPlugin(make_info("acmepay")))]
    )
    assert ph.contacts("acmepay", "UK").country == "GB"
    with pytest.raises(
        ValidationError,
        match=r"'UK' is not an ISO 3166-1 code: write 'GB' "
        r"\(for the whole region, regions=\('uk',\)\)",
    ):
        Audience(countries=("UK",))
    with pytest.raises(ValidationError, match="write 'GR'"):
        ContactChannel(
            kind=ChannelKind.PHONE, value="+18005550123", toll_free_in=("EL",), provenance=PROV
        )
    assert Audience(countries=("gb",)).countries == ("GB",)


def test_the_gb_region_is_the_uk_and_nothing_else() -> None:
    assert region_of("GB") is Region.UK
    assert region_of("JE") is Region.ROW  # a Crown Dependency is not the United Kingdom
