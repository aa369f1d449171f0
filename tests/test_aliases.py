"""Processor aliases: the names the docs use for a processor (``wts``) work wherever an id does,
and an alias can never name two processors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from payhelp import Payhelp, PluginLoadWarning, Transaction
from payhelp.cli import cli
from payhelp.errors import UnknownProcessorError
from payhelp.plugins import get_plugin_manager

from .conftest import SyntheticPlugin, make_info


@pytest.fixture(scope="module")
def ph() -> Payhelp:
    return Payhelp()


def test_alias_names_the_processor_in_the_api(ph: Payhelp) -> None:
    assert ph.processor("wts").id == "wtseticket"
    assert ph.processor(" WTS ").id == "wtseticket"
    assert ph.contacts("wts", "IT") == ph.contacts("wtseticket", "IT")
    assert ph.route(Transaction(processor="wts", country="IT")).processor == "wtseticket"


def test_unknown_name_is_still_refused(ph: Payhelp) -> None:
    with pytest.raises(UnknownProcessorError, match="unknown processor"):
        ph.processor("wtsx")
    with pytest.raises(UnknownProcessorError):
        ph.route(Transaction(processor="wtsx", country="IT"))


def test_cli_accepts_the_documented_alias() -> None:
    runner = CliRunner()
    by_alias = runner.invoke(cli, ["contacts", "--processor", "wts", "--country", "IT", "--json"])
    by_id = runner.invoke(
        cli, ["contacts", "--processor", "wtseticket", "--country", "IT", "--json"]
    )
    assert by_alias.exit_code == 0, by_alias.output
    assert by_alias.output == by_id.output


def _aliased(pid: str, *aliases: str) -> SyntheticPlugin:
    return SyntheticPlugin(make_info(pid).model_copy(update={"aliases": aliases}))


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (_aliased("onepay", "uno"), _aliased("twopay", "uno"), "alias 'uno' of 'twopay' already"),
        (_aliased("onepay"), _aliased("twopay", "onepay"), "alias 'onepay' of 'twopay' already"),
        (_aliased("onepay", "twopay"), _aliased("twopay"), "already an alias of 'onepay'"),
    ],
    ids=["same-alias", "alias-is-an-id", "id-is-an-alias"],
)
def test_an_alias_never_names_two_processors(
    first: SyntheticPlugin, second: SyntheticPlugin, message: str
) -> None:
    with pytest.warns(PluginLoadWarning, match=message):
        host = get_plugin_manager(load_entry_points=False, extra=[("one", first), ("two", second)])
    assert list(host.processors()) == ["onepay"]


def test_an_alias_equal_to_its_own_id_is_refused() -> None:
    with pytest.warns(PluginLoadWarning, match="is the processor's own id"):
        host = get_plugin_manager(
            load_entry_points=False, extra=[("one", _aliased("onepay", "onepay"))]
        )
    assert not host.processors()
