"""Input that is accepted and should not be, and input that crashes instead of being refused.

Two parts. First the cases of issue 10, each refused with a clear error before anything is
stored or sent: a refund larger than the payment or of nothing, a purchase in the future, a
channel that does not exist in ``remove_channels``, a base URL that is not https, ``plugin new
--output`` under a folder that does not exist, a 100,000-character id, full-width and invisible
characters that hid a statement word from the router.

Then a probe: every public method of :class:`Payhelp` and :class:`AsyncPayhelp` (and their
constructors) is called with each argument replaced by something wrong - ``None``, a number, a
dict, a list, bytes, a 100,000-character string, a NUL byte, a lone surrogate, an arbitrary
object - and nothing but a :class:`PayhelpError` may come out.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from payhelp import AsyncPayhelp, Payhelp
from payhelp._base import invalid_input
from payhelp.adapters import check_base_url, read_settings
from payhelp.cases import DisputeRequest, LookupQuery
from payhelp.config import ProcessorOverrides, Settings
from payhelp.errors import (
    ConfigurationError,
    InvalidInputError,
    PayhelpError,
    PluginLoadWarning,
    describe_validation_error,
)
from payhelp.models import Transaction
from payhelp.sandbox import SANDBOX_HOST, sandbox_base_url
from payhelp.scaffold import new_plugin

from .conftest import dispute_fields

NOW = datetime.now(UTC)
BUILTIN = ["paymentico", "epoch", "segpay", "centrobill", "webbilling", "wtseticket"]


def dispute(**changes: Any) -> dict[str, Any]:
    return dispute_fields(
        {"transaction_id": "700000002", "amount": {"amount": "19.99", "currency": "EUR"}}, **changes
    )


def refused(model: type[Any], data: dict[str, Any]) -> InvalidInputError:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data, strict=False)
    return invalid_input(info.value)


# -- refunds: more than nothing, not more than was paid, in its currency ---------------------------


@pytest.mark.parametrize("amount", ["0", "0.00", "-1"])
def test_a_refund_of_nothing_is_refused(amount: str) -> None:
    error = refused(DisputeRequest, dispute(amount={"amount": amount, "currency": "EUR"}))
    assert str(error).startswith("amount")


def test_a_refund_larger_than_the_payment_is_refused() -> None:
    error = refused(DisputeRequest, dispute(amount={"amount": "20.00", "currency": "EUR"}))
    assert "more than the payment (19.99 EUR)" in str(error)


def test_a_refund_in_another_currency_than_the_payment_is_refused() -> None:
    error = refused(DisputeRequest, dispute(amount={"amount": "5", "currency": "USD"}))
    assert "is in USD, the payment in EUR" in str(error)


def test_a_partial_or_whole_refund_is_accepted() -> None:
    for amount in ("0.01", "19.99"):
        body = dispute(amount={"amount": amount, "currency": "EUR"})
        assert DisputeRequest.model_validate(body, strict=False).amount is not None
    # Without the payment's amount only "more than nothing" can be checked.
    body = dispute(**{"tx.amount": None, "amount": {"amount": "500", "currency": "USD"}})
    assert DisputeRequest.model_validate(body, strict=False).amount is not None


def test_a_refund_of_nothing_is_refused_by_the_api_before_anything_is_stored(
    tmp_path: Path,
) -> None:
    ph = Payhelp(
        load_plugins=["webbilling"], store_url=f"sqlite:///{tmp_path / 's.db'}", outbox=tmp_path
    )
    with pytest.raises(InvalidInputError, match="amount"):
        ph.submit_dispute("webbilling", dispute(amount={"amount": "0", "currency": "EUR"}))
    assert ph.disputes() == []
    assert list(tmp_path.glob("*.eml")) == []


# -- purchases in the future ------------------------------------------------------------------------


def test_a_purchase_in_the_future_is_refused() -> None:
    later = (NOW + timedelta(hours=2)).isoformat()
    error = refused(Transaction, {"purchased_at": later})
    assert str(error) == "purchased_at: is in the future: give the time the payment was made"
    refused(DisputeRequest, dispute(**{"tx.purchased_at": later}))


def test_a_purchase_a_moment_ahead_is_within_the_clock_skew() -> None:
    soon = (NOW + timedelta(minutes=2)).isoformat()
    assert Transaction.model_validate({"purchased_at": soon}, strict=False).purchased_at


def test_a_lookup_for_a_purchase_after_tomorrow_is_refused() -> None:
    later = (NOW + timedelta(days=3)).date().isoformat()
    assert "purchased_on" in str(refused(LookupQuery, {"purchased_on": later}))
    today = NOW.date().isoformat()
    assert LookupQuery.model_validate({"purchased_on": today}, strict=False).purchased_on


# -- configuration ------------------------------------------------------------------------------------


def test_removing_a_channel_the_processor_does_not_have_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="remove_channels names 'fax'"):
        Payhelp(load_plugins=["segpay"], processors={"segpay": {"remove_channels": ["fax"]}})
    ph = Payhelp(load_plugins=["segpay"], processors={"segpay": {"remove_channels": ["email"]}})
    assert "email" not in ph.directory("segpay").channels


def test_remove_channels_lists_the_known_channels() -> None:
    directory = Payhelp(load_plugins=["webbilling"]).directory("webbilling")
    with pytest.raises(ValueError, match=r"known: email"):
        ProcessorOverrides(remove_channels=("phone",)).apply(directory)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://api.segpay.example/",
        "http://api.segpay.example/",
        "file:///etc/passwd",
        "api.segpay.example/v1",
        "https://user:secret@api.segpay.example/",
        "https:///no-host",
        "https://api.example/\n",
    ],
)
def test_a_base_url_that_is_not_https_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        read_settings(
            "segpay",
            {"base_url": url, "user_id": "u", "access_key": "k"},
            default_base_url="https://srs.segpay.com/",
            credential_names=("user_id", "access_key"),
            environ={},
        )
    assert "secret" not in str(info.value)


def test_a_base_url_from_the_environment_is_checked_too() -> None:
    with pytest.raises(ConfigurationError, match="https"):
        read_settings(
            "epoch",
            {"auth_user": "u", "auth_pass": "p"},
            default_base_url="https://epoch.com/",
            credential_names=("auth_user", "auth_pass"),
            environ={"PAYHELP_EPOCH_BASE_URL": "ftp://epoch.example/"},
        )


@pytest.mark.parametrize(
    "url",
    [
        "https://srs.segpay.com/",
        "http://127.0.0.1:8080/segpay/",
        "http://localhost:8080/",
        "http://[::1]:9000/",
        "http://sandbox.localhost/",
    ],
)
def test_https_and_plain_http_to_this_machine_are_accepted(url: str) -> None:
    assert check_base_url("segpay", url) == url


def test_the_in_process_sandbox_host_is_accepted_only_for_the_sandbox() -> None:
    url = sandbox_base_url("segpay")
    assert SANDBOX_HOST in url
    assert check_base_url("segpay", url, sandbox=True) == url
    with pytest.raises(ConfigurationError):
        check_base_url("segpay", url)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("timeout", "nan"),
        ("timeout", "-1"),
        ("timeout", 1e9),
        ("max_retries", "nan"),
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("max_retries", 1000),
    ],
)
def test_timeouts_and_retries_are_bounded(name: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=name):
        read_settings(
            "segpay",
            {name: value, "user_id": "u", "access_key": "k"},
            default_base_url="https://srs.segpay.com/",
            credential_names=("user_id", "access_key"),
            environ={},
        )


def test_a_configuration_path_of_the_wrong_type_is_a_configuration_error() -> None:
    for path in (123, b"payhelp.toml", "pay\x00help.toml"):
        with pytest.raises(ConfigurationError):
            Settings.load(path, environ={})  # type: ignore[arg-type]


# -- plugin new --output -----------------------------------------------------------------------------


def test_plugin_new_refuses_an_output_whose_parent_does_not_exist(tmp_path: Path) -> None:
    output = tmp_path / "no" / "such" / "tree"
    with pytest.raises(InvalidInputError, match=r"parent folder .* does not exist"):
        new_plugin("acme_pay", output)
    assert list(tmp_path.iterdir()) == []


def test_plugin_new_creates_the_output_folder_itself(tmp_path: Path) -> None:
    target = new_plugin("acme_pay", tmp_path / "plugins")
    assert target == tmp_path / "plugins" / "payhelp-acme_pay"
    assert (target / "pyproject.toml").is_file()


def test_plugin_new_refuses_an_output_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInputError, match="not a folder"):
        new_plugin("acme_pay", tmp_path / "file")


def test_plugin_new_refuses_a_path_with_a_nul_byte(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not a valid path"):
        new_plugin("acme_pay", tmp_path / "out\x00put")
    assert list(tmp_path.iterdir()) == []


def test_plugin_new_refuses_a_card_number_as_the_display_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no card number"):
        new_plugin("acme_pay", tmp_path, name="Acme 4111+1111+1111+1111")
    assert list(tmp_path.iterdir()) == []


def test_plugin_new_refuses_a_name_with_a_line_break(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="must be a processor id"):
        new_plugin("acme\n", tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- folded text: what reads the same routes the same -------------------------------------------------


@pytest.mark.parametrize(
    "descriptor",
    [
        "ＥＰＯＣＨ．ＣＯＭ＊ＬＩＶＥＳＯＤＡ",  # noqa: RUF001 - full-width, as pasted from some apps
        "EP\u200bOCH.COM*LIVESODA",
        "E\u2060P\u00adOCH.COM*LIVESODA",
        "\ufeffEPOCH.COM*LIVESODA",
    ],
)
def test_full_width_and_invisible_characters_do_not_hide_a_statement_word(descriptor: str) -> None:
    ph = Payhelp(load_plugins=BUILTIN)
    plain = ph.route(descriptor="EPOCH.COM*LIVESODA", country="US")
    assert plain.processor == "epoch"
    decision = ph.route(descriptor=descriptor, country="US")
    assert decision.processor == "epoch"
    assert decision.candidates[0].reasons == plain.candidates[0].reasons


def test_hand_built_transactions_are_folded_by_the_router_too() -> None:
    ph = Payhelp(load_plugins=BUILTIN)
    tx = Transaction.model_construct(descriptor="EP\u200bOCH*X", references={}, country="US")
    assert ph.router.decide(tx).processor == "epoch"


def test_identifiers_are_folded_and_stripped() -> None:
    tx = Transaction.model_validate(
        {
            "transaction_id": " \uff11\uff13\uff19630889\u200b ",
            "references": {"member": "M\u200d-77"},
        },
        strict=False,
    )
    assert tx.transaction_id == "139630889"
    assert tx.references == {"member": "M-77"}


@pytest.mark.parametrize("value", ["a\x00b", "line\nbreak", "tab\there", "\ud800", "\x1b[31m"])
def test_identifiers_are_one_printable_line(value: str) -> None:
    error = refused(Transaction, {"transaction_id": value})
    assert "one line of printable text" in str(error)


# -- length bounds -------------------------------------------------------------------------------


HUGE = "7" * 100_000


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (Transaction, {"transaction_id": HUGE}, "transaction_id"),
        (Transaction, {"references": {"member": HUGE}}, "references.member"),
        (Transaction, {"descriptor": HUGE}, "descriptor"),
        (Transaction, {"card_last4": HUGE}, "card_last4"),
        (LookupQuery, {"transaction_id": HUGE}, "transaction_id"),
        (LookupQuery, {"username": HUGE}, "username"),
        (LookupQuery, {"email": HUGE + "@example.org"}, "email"),
        (LookupQuery, {"references": {"purchase": HUGE}}, "references.purchase"),
        (DisputeRequest, dispute(contact_email=f"a{HUGE}@example.org"), "contact_email"),
        (DisputeRequest, dispute(message=HUGE), "message"),
        (
            DisputeRequest,
            dispute(attachments=[{"filename": HUGE, "content_type": "a/b", "data": b""}]),
            "attachments.0.filename",
        ),
    ],
)
def test_every_input_field_is_bounded(model: type[Any], data: dict[str, Any], field: str) -> None:
    error = refused(model, data)
    assert str(error).startswith(field), str(error)
    assert len(str(error)) < 300


def test_a_refused_field_says_why_in_plain_words() -> None:
    """The API's callers read the same words as the CLI's: lengths counted in what the field
    holds, no pydantic prefix, a part said once, and the last four digits asked for plainly."""
    too_long = str(refused(Transaction, {"transaction_id": "1" * 500}))
    assert too_long == "transaction_id: at most 128 characters, not 500"
    country = str(refused(Transaction, {"country": "XX"}))
    assert country.startswith("country: invalid country 'XX'"), country
    assert "Value error" not in country
    short = str(refused(Transaction, {"card_last4": "12"}))
    assert short == (
        "card_last4: give exactly the last four digits of the card, e.g. 4242; "
        "payhelp never takes a whole card number"
    )
    card = str(refused(Transaction, {"card_last4": "4111 1111 1111 1111"}))
    assert card == (
        "card_last4: that is a whole card number, which payhelp never takes: "
        "give only its last four digits"
    )
    assert "1111 1111" not in card


def test_a_collection_too_long_is_counted_in_values() -> None:
    class Few(BaseModel):
        codes: list[str] = Field(min_length=1, max_length=2)

    with pytest.raises(ValidationError) as many:
        Few.model_validate({"codes": ["a", "b", "c"]})
    assert describe_validation_error(many.value) == "codes: at most 2 values, not 3"
    with pytest.raises(ValidationError) as none:
        Few.model_validate({"codes": []})
    assert describe_validation_error(none.value) == "codes: at least 1 value"


def test_a_missing_field_is_named_as_missing() -> None:
    class Needs(BaseModel):
        scheme: str
        failed_at: str

    with pytest.raises(ValidationError) as caught:
        Needs.model_validate({})
    assert describe_validation_error(caught.value) == "scheme is missing; failed_at is missing"


def test_a_huge_id_is_bad_input_through_the_api() -> None:
    ph = Payhelp(load_plugins=BUILTIN)
    for call in (
        lambda: ph.route(transaction_id=HUGE),
        lambda: ph.lookup("segpay", sandbox=True, transaction_id=HUGE),
        lambda: ph.lookup("epoch", sandbox=True, references={"member": HUGE}),
        lambda: ph.lookup("centrobill", sandbox=True, username=HUGE),
    ):
        with pytest.raises(InvalidInputError):
            call()


# -- the probe ------------------------------------------------------------------------------------

#: Wrong values, each in place of one argument.
WRONG: dict[str, object] = {
    "None": None,
    "int": 7,
    "bool": True,
    "dict": {"a": 1},
    "list": ["a"],
    "bytes": b"segpay",
    "huge": "x" * 100_000,
    "huge_digits": "4" * 100_000,
    "nul": "seg\x00pay",
    "surrogate": "\ud800",
    "object": object(),
}

_LINE = json.dumps({"descriptor": "SEGPAY*SHOP", "country": "US"})
_DISPUTE = {
    "transaction": {"transaction_id": "700000002"},
    "reason": "duplicate_charge",
    "message": "Charged twice.",
    "contact_email": "customer@example.org",
}

#: Every public method with arguments that work; each argument is replaced in turn. Names with
#: a dot are extra probes of one method's keyword fields.
SYNC_CALLS: dict[str, dict[str, Any]] = {
    "processors": {},
    "processor": {"processor_id": "segpay"},
    "directory": {"processor_id": "segpay"},
    "plugins": {"check": False},
    "contacts": {"processor": "segpay", "country": "IT", "language": "it"},
    "route": {"transaction": {"descriptor": "SEGPAY*SHOP", "country": "US"}},
    "route.fields": {
        "transaction_id": "139630889",
        "references": {"purchase": "83476992"},
        "descriptor": "SEGPAY*SHOP",
        "product": {"kind": "tip"},
        "amount": {"amount": "9.99", "currency": "USD"},
        "purchased_at": "2026-11-01T10:00:00Z",
        "country": "US",
        "card_last4": "1111",
        "processor": "segpay",
    },
    "route_batch": {"lines": [_LINE], "on_error": None},
    "lookup": {"processor": "segpay", "query": None, "sandbox": True},
    "lookup.fields": {
        "processor": "epoch",
        "sandbox": True,
        "references": {"member": "2147483647"},
        "email": "customer@example.org",
        "username": "customer",
        "card_last4": "1111",
        "purchased_on": "2026-11-01",
        "transaction_id": "1418464163",
    },
    "alookup": {"processor": "segpay", "query": None, "sandbox": True},
    "adapter": {"processor": "segpay", "sandbox": True},
    "submit_dispute": {
        "processor": "webbilling",
        "request": _DISPUTE,
        "idempotency_key": None,
        "channel": "auto",
        "sandbox": True,
        "language": "en",
    },
    "submit_dispute.fields": {"processor": "webbilling", "sandbox": True, **_DISPUTE},
    "asubmit_dispute": {"processor": "segpay", "request": _DISPUTE, "sandbox": True},
    "disputes": {"processor": "segpay", "status": "sent", "limit": 5, "sandbox": True},
    "dispute": {"id_or_key": 1, "sandbox": True},
    "receive": {
        "processor": "segpay",
        "method": "GET",
        "headers": {"user-agent": "probe"},
        "query": "tranid=1&trantype=sale&approved=yes",
        "body": b"",
        "remote_addr": "127.0.0.1",
        "sandbox": True,
    },
    "on_event": {"callback": print},
    "events": {
        "processor": "segpay",
        "kind": "refund",
        "status": "applied",
        "transaction_id": "1",
        "limit": 5,
        "sandbox": True,
    },
    "chargebacks": {"processor": "segpay", "limit": 5, "sandbox": True},
    "event": {"number": 1, "sandbox": True},
    "reconcile": {
        "processor": "segpay",
        "due_days": 7,
        "country": "IT",
        "limit": 5,
        "sandbox": True,
        "language": "en",
    },
    "close": {},
    "aclose": {},
    "refund_check": {
        "facts": {"product": "tip", "purchased_at": "2026-11-20T10:00Z"},
        "language": "en",
    },
    "refund_check.fields": {
        "product": "private_show",
        "purchased_at": "2026-11-20T10:00Z",
        "now": "2026-11-20T11:00Z",
        "viewed_minutes": 3,
        "receipt": True,
        "model_consulted": False,
        "motivation": "The show stopped.",
        "off_site": False,
        "processor": "segpay",
    },
    "decline_schemes": {},
    "decline_scheme": {"scheme_id": "braintree"},
    "explain_decline": {
        "code": "2001",
        "scheme": "braintree",
        "network": "visa",
        "processor": "segpay",
        "country": "US",
        "language": "it",
    },
    "dunning_plan": {
        "failed_at": "2026-11-01T10:00:00Z",
        "code": "2001",
        "scheme": "braintree",
        "network": "visa",
        "language": "en",
    },
    "explain_decline.advice": {
        "code": "51",
        "scheme": "iso8583",
        "advice_code": "24",
        "language": "en",
    },
    "explain_decline.visa": {"code": "05", "scheme": "iso8583", "visa_category": 2},
    "dunning_plan.advice": {
        "failed_at": "2026-11-01T10:00:00Z",
        "code": "51",
        "scheme": "iso8583",
        "advice_code": "02",
        "visa_category": None,
    },
    "explain_batch": {
        "lines": ['{"code": "51", "scheme": "iso8583", "advice_code": "02"}'],
        "language": "en",
        "on_error": None,
    },
    "dunning_batch": {
        "lines": ['{"code": "51", "scheme": "iso8583", "failed_at": "2026-11-01T10:00:00Z"}'],
        "language": "en",
        "on_error": None,
    },
    "dunning": {"language": "en"},
    "from_config": {"path": None},
}
#: The constructor's arguments (a new object for each probe).
INIT: dict[str, Any] = {
    "settings": None,
    "config": None,
    "plugins": (),
    "load_entry_points": True,
    "weights": None,
    "route_cache_size": 16,
    "sandbox": False,
    "sandbox_behaviour": None,
    "on_event": None,
    "language": "en",
    "store_url": None,
    "outbox": None,
    "load_plugins": BUILTIN,
}

#: The async twin's names for the sync methods it mirrors.
ASYNC_NAMES = {"lookup.fields": "lookup", "alookup": "lookup", "asubmit_dispute": "submit_dispute"}


def _cases(calls: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, str]]:
    for method, arguments in calls.items():
        for argument in arguments:
            for wrong in WRONG:
                yield method, argument, wrong


def _params(cases: Iterator[tuple[str, str, str]], side: str) -> list[Any]:
    params = []
    for method, argument, wrong in cases:
        case = f"{side}:{method}:{argument}:{wrong}"
        params.append(pytest.param(method, argument, wrong, id=case))
    return params


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("probe")
    return {
        "store_url": f"sqlite:///{root / 'store.db'}",
        "outbox": root / "outbox",
        "load_plugins": BUILTIN,
    }


@pytest.fixture(scope="module")
def sync_ph(world: dict[str, Any]) -> Iterator[Payhelp]:
    ph = Payhelp(**world)
    yield ph
    ph.close()


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


@pytest.fixture(scope="module")
def async_ph(world: dict[str, Any], loop: asyncio.AbstractEventLoop) -> Iterator[AsyncPayhelp]:
    ph = AsyncPayhelp(**world)
    yield ph
    loop.run_until_complete(ph.aclose())


def _outcome(call: Callable[[], object]) -> BaseException | None:
    try:
        with warnings.catch_warnings():
            # A plugin named in load_plugins but not installed is warned about, as documented.
            warnings.simplefilter("ignore", PluginLoadWarning)
            call()
    except PayhelpError:
        return None
    except Exception as exc:  # anything else is what the probe looks for
        return exc
    return None


def _consume(result: object) -> object:
    if isinstance(result, Iterator):
        return list(result)
    return result


async def _aconsume(result: object) -> object:
    if inspect.isawaitable(result):
        result = await result
    if hasattr(result, "__aiter__"):
        return [item async for item in result]  # type: ignore[attr-defined]
    return result


def _split(method: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return method.split(".", maxsplit=1)[0], dict(arguments)


@pytest.mark.parametrize(("method", "argument", "wrong"), _params(_cases(SYNC_CALLS), "sync"))
def test_payhelp_methods_raise_only_payhelp_errors(
    sync_ph: Payhelp, method: str, argument: str, wrong: str
) -> None:
    name, arguments = _split(method, SYNC_CALLS[method])
    arguments[argument] = WRONG[wrong]
    function = getattr(Payhelp if name == "from_config" else sync_ph, name)

    def call() -> object:
        result = function(**arguments)
        if inspect.isawaitable(result):
            return asyncio.run(_aconsume(result))
        return _consume(result)

    failure = _outcome(call)
    assert failure is None, f"{name}({argument}={wrong}) raised {failure!r}"


_NO_ASYNC = {"close", "alookup", "asubmit_dispute"}
ASYNC_CALLS = {
    method: arguments for method, arguments in SYNC_CALLS.items() if method not in _NO_ASYNC
}


@pytest.mark.parametrize(("method", "argument", "wrong"), _params(_cases(ASYNC_CALLS), "async"))
def test_async_payhelp_methods_raise_only_payhelp_errors(
    async_ph: AsyncPayhelp, loop: asyncio.AbstractEventLoop, method: str, argument: str, wrong: str
) -> None:
    name, arguments = _split(ASYNC_NAMES.get(method, method), SYNC_CALLS[method])
    arguments[argument] = WRONG[wrong]
    function = getattr(AsyncPayhelp if name == "from_config" else async_ph, name)

    def call() -> object:
        result = function(**arguments)
        return loop.run_until_complete(_aconsume(result))

    failure = _outcome(call)
    assert failure is None, f"{name}({argument}={wrong}) raised {failure!r}"


@pytest.mark.parametrize(
    ("method", "argument", "wrong"),
    _params(((("__init__", a, w) for a in INIT for w in WRONG)), "init"),
)
def test_constructors_raise_only_payhelp_errors(
    world: dict[str, Any], method: str, argument: str, wrong: str
) -> None:
    arguments = {**INIT, **{k: v for k, v in world.items() if k in INIT}}
    arguments[argument] = WRONG[wrong]
    for cls in (Payhelp, AsyncPayhelp):

        def build(cls: type[Any] = cls) -> object:
            made = cls(**arguments)
            # The router and the stores are built on first use: use them.
            sync = made.sync if isinstance(made, AsyncPayhelp) else made
            sync.route(descriptor="SEGPAY*SHOP", country="US")
            sync.disputes(limit=1)
            sync.close()
            return made

        failure = _outcome(build)
        assert failure is None, f"{cls.__name__}({argument}={wrong}) raised {failure!r}"


def test_the_probe_covers_every_public_method() -> None:
    def public(cls: type[Any]) -> set[str]:
        return {
            name
            for name, member in inspect.getmembers(cls)
            if not name.startswith("_") and (inspect.isfunction(member) or inspect.ismethod(member))
        } - {"mro"}

    probed = {method.split(".")[0] for method in SYNC_CALLS}
    assert public(Payhelp) - probed == set()
    async_probed = {ASYNC_NAMES.get(m, m).split(".")[0] for m in ASYNC_CALLS}
    assert public(AsyncPayhelp) - async_probed - {"aclose"} == set()
