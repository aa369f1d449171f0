"""The shipped decline tables load, and every entry says something consistent."""

from __future__ import annotations

import pytest

from payhelp.errors import PluginError
from payhelp.policies.declines import (
    DeclineReason,
    DeclineScheme,
    builtin_retry_caps,
    builtin_schemes,
    parse_scheme,
)

SCHEMES = {scheme.id: scheme for scheme in builtin_schemes()}


def test_the_three_public_schemes_ship():
    assert set(SCHEMES) == {"braintree", "iso8583", "stripe"}


@pytest.mark.parametrize("scheme_id", sorted(SCHEMES))
def test_entries_are_consistent(scheme_id: str):
    scheme = SCHEMES[scheme_id]
    for key, code in scheme.codes.items():
        assert scheme.key(key) == key
        if code.reason is DeclineReason.APPROVED:
            assert code.severity is None, key
            assert not code.no_retry, key
        assert code.reason is not DeclineReason.UNKNOWN, f"{key}: a listed code has a reason"
    assert scheme.source.url is not None


def test_every_reason_except_unknown_is_reachable_from_some_table():
    reached = {code.reason for scheme in SCHEMES.values() for code in scheme.codes.values()}
    assert reached == set(DeclineReason) - {DeclineReason.UNKNOWN}


def test_normalisation():
    assert SCHEMES["iso8583"].key(" 5 ") == "05"
    assert SCHEMES["braintree"].key("2001 Insufficient Funds") == "2001"
    assert SCHEMES["stripe"].key("Insufficient_Funds") == "insufficient_funds"


def test_retry_caps_load():
    caps = builtin_retry_caps()
    assert {cap.network.value for cap in caps} >= {"visa", "mastercard"}


def test_a_table_with_keys_in_the_wrong_form_is_refused():
    data = {
        "id": "demo",
        "name": "Demo",
        "source": {"source": "test", "confidence": "single", "checked_on": "2026-11-22"},
        "normalise": {"case": "upper"},
        "codes": {"abc": {"label": "x", "reason": "card_declined"}},
    }
    with pytest.raises(PluginError, match="normal form"):
        parse_scheme(data, "demo")
    data["codes"] = {"ABC": {"label": "x", "reason": "card_declined"}}
    assert isinstance(parse_scheme(data, "demo"), DeclineScheme)


def test_a_bad_extract_pattern_is_refused():
    data = {
        "id": "demo",
        "name": "Demo",
        "source": {"source": "test", "confidence": "single", "checked_on": "2026-11-22"},
        "normalise": {"extract": "(\\d+)"},
        "codes": {"1": {"label": "x", "reason": "card_declined"}},
    }
    with pytest.raises(PluginError, match="named 'code'"):
        parse_scheme(data, "demo")
