"""Contact plans from data, and platform overrides from configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from payhelp import (
    Audience,
    ChannelKind,
    ChannelRoute,
    ConfigurationError,
    ContactChannel,
    ContactDirectory,
    InvalidInputError,
    Payhelp,
    RouteStep,
)
from payhelp.contacts import dial_format

from .conftest import PROV, SyntheticPlugin, make_info


@pytest.fixture
def ph() -> Payhelp:
    return Payhelp(
        load_entry_points=False, plugins=[("testpay", SyntheticPlugin(make_info("testpay")))]
    )


def test_first_matching_route_gives_the_order(ph: Payhelp) -> None:
    assert [c.key for c in ph.contacts("testpay", "US").channels] == ["phone_us", "email"]
    assert [c.key for c in ph.contacts("testpay", "CA").channels] == ["page", "email"]


def test_toll_free_only_where_it_is_free(ph: Payhelp) -> None:
    phone = ph.contacts("testpay", "US").channels[0]
    assert (phone.toll_free, phone.charges_may_apply) == (True, False)
    assert phone.value == "1 (800) 555-0123"
    assert phone.e164 == "+18005550123"


def test_dial_format_depends_on_the_caller() -> None:
    assert dial_format("+441344586020", "IT") == "00 44 1344 586020"
    assert dial_format("+441344586020", "US") == "011 44 1344 586020"
    assert dial_format("+441344586020", "GB") == "01344 586020"


def test_lowercase_and_alias_country_codes(ph: Payhelp) -> None:
    assert ph.contacts("testpay", "gb").country == "GB"
    assert ph.contacts("testpay", "UK").country == "GB"


@pytest.mark.parametrize("bad", ["XX", "ITA", "", "1A", "Italy"])
def test_invalid_country_is_a_clear_error(ph: Payhelp, bad: str) -> None:
    with pytest.raises(InvalidInputError, match="ISO 3166-1 alpha-2"):
        ph.contacts("testpay", bad)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "payhelp.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_config_changes_a_channel_value_and_adds_a_channel(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
[processors.testpay.channels.email]
value = "billing@platform.example.com"
provenance = [{source = "our billing desk", confidence = "platform", checked_on = 2026-11-01}]

[processors.testpay.channels.chat]
kind = "live_chat"
value = "https://platform.example.com/chat"
hours = "9-18 CET"
provenance = [{source = "our billing desk", confidence = "platform", checked_on = 2026-11-01}]

[[processors.testpay.routes]]
audience = {regions = ["eea"]}
steps = [
  {channel = "chat", reason = {en = "Chat with us first.", it = "Prima scrivici in chat."}},
  {channel = "email", reason = "Then write."},
]

[[processors.testpay.routes]]
steps = [{channel = "email", reason = "Write to us."}]
""",
    )
    ph = Payhelp(
        config=config,
        load_entry_points=False,
        plugins=[("testpay", SyntheticPlugin(make_info("testpay")))],
    )
    plan = ph.contacts("testpay", "IT", language="it")
    assert [(c.key, c.value) for c in plan.channels] == [
        ("chat", "https://platform.example.com/chat"),
        ("email", "billing@platform.example.com"),
    ]
    assert plan.channels[0].reason == "Prima scrivici in chat."
    assert plan.channels[0].provenance[0].confidence == "platform"
    assert [c.key for c in ph.contacts("testpay", "US").channels] == ["email"]


def test_config_removes_a_channel_everywhere(tmp_path: Path) -> None:
    config = write(tmp_path, '[processors.testpay]\nremove_channels = ["phone_us"]\n')
    ph = Payhelp(
        config=config,
        load_entry_points=False,
        plugins=[("testpay", SyntheticPlugin(make_info("testpay")))],
    )
    assert [c.key for c in ph.contacts("testpay", "US").channels] == ["email"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[processors.testpay.channels.email]\nvalue = "not-an-email"\n'
            'provenance = [{source = "desk", confidence = "platform", checked_on = 2026-11-01}]\n',
            "not an email address",
        ),
        (
            '[processors.testpay.channels.email]\nvalue = "desk@platform.example.com"\n',
            "a new value needs its own provenance",
        ),
        ("payhelp = 1\n", r"\[payhelp\] must be a table"),
        (
            '[processors.testpay.channels.new]\nkind = "email"\n',
            "invalid overrides for processor 'testpay'",
        ),
        ("[processors.ghost]\nremove_channels = []\n", "no plugin registers: ghost"),
        ("[payhelp]\nlanguage = 'fr'\n", "language"),
        ("[other]\nx = 1\n", "unknown tables: other"),
        ("this is = = not toml", "not valid TOML"),
    ],
)
def test_bad_configuration_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    config = write(tmp_path, text)
    with pytest.raises(ConfigurationError, match=message):
        Payhelp(
            config=config,
            load_entry_points=False,
            plugins=[("testpay", SyntheticPlugin(make_info("testpay")))],
        )


def test_config_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[payhelp]\nlanguage = "it" # caffè\n'.encode("latin-1"))
    with pytest.raises(ConfigurationError, match="not UTF-8"):
        Payhelp(config=path, load_entry_points=False)


def test_override_error_is_one_line(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        '[processors.testpay.channels.new]\nkind = "phone"\nvalue = "+44 1344 586020"\n'
        'provenance = [{source = "desk", confidence = "platform", checked_on = 2026-11-01}]\n',
    )
    with pytest.raises(ConfigurationError) as info:
        Payhelp(
            config=config,
            load_entry_points=False,
            plugins=[("testpay", SyntheticPlugin(make_info("testpay")))],
        )
    assert "\n" not in str(info.value)
    assert "must be written in E.164 as '+441344586020'" in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        Payhelp(config=tmp_path / "nope.toml", load_entry_points=False)


def test_route_naming_a_removed_channel_only_is_dropped(tmp_path: Path) -> None:
    config = write(tmp_path, '[processors.testpay]\nremove_channels = ["phone_us", "page"]\n')
    ph = Payhelp(
        config=config,
        load_entry_points=False,
        plugins=[("testpay", SyntheticPlugin(make_info("testpay")))],
    )
    assert [c.key for c in ph.contacts("testpay", "CA").channels] == ["email"]


def test_plan_with_no_channel_for_the_country_says_so() -> None:
    directory = ContactDirectory(
        channels={
            "phone": ContactChannel(
                kind=ChannelKind.PHONE,
                value="+18005550123",
                serves=Audience(countries=("US",)),
                provenance=PROV,
            )
        },
        routes=(ChannelRoute(steps=(RouteStep(channel="phone", reason="call"),)),),
    )
    ph = Payhelp(
        load_entry_points=False,
        plugins=[("onlyus", SyntheticPlugin(make_info("onlyus"), directory))],
    )
    plan = ph.contacts("onlyus", "JP")
    assert plan.channels == ()
    assert "forward your request" in plan.warnings[-1]


def test_the_configuration_example_in_the_docs_works(tmp_path: Path) -> None:
    text = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    ph = Payhelp(config=write(tmp_path, example))
    assert "webbilling" not in {p.id for p in ph.processors()}
    plan = ph.contacts("paymentico", "IT")
    assert plan.language == "it"
    assert [c.key for c in plan.channels] == ["desk", "email"]
    assert plan.channels[1].value == "billing@our-platform.example"
    assert [c.key for c in ph.contacts("paymentico", "JP").channels] == [
        "email",
        "phone_international",
    ]
    assert "chat" not in {c.key for c in ph.contacts("segpay", "US").channels}
    assert "Mention your username on our site." in ph.contacts("segpay", "US").warnings


def test_overrides_for_a_disabled_plugin_wait_for_it(tmp_path: Path) -> None:
    config = write(tmp_path, '[processors.segpay]\nremove_channels = ["chat"]\n')
    assert "segpay" not in {
        p.id for p in Payhelp(config=config, disable_plugins=["segpay"]).processors()
    }
    assert "segpay" not in {
        p.id for p in Payhelp(config=config, load_plugins=["epoch"]).processors()
    }
    with pytest.raises(ConfigurationError, match="no plugin registers: segpya"):
        Payhelp(config=write(tmp_path, "[processors.segpya]\nremove_channels = []\n"))
