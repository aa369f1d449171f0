"""What a command loads, and the cheap paths that replace Babel on a first call.

A plain ``payhelp contacts``, ``route`` or ``--help`` is run in a fresh interpreter through
``payhelp.cli.main``, and the modules in ``sys.modules`` at exit are read: none of the store's,
the HTTP layer's or the rate limiter's libraries may be there. No timing is measured.

The catalogue reader and the duration wording stand in for Babel on the first call; both are held
equal to Babel here, over every catalogue shipped and over many spans.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from babel.dates import format_timedelta
from babel.messages.pofile import read_po

import payhelp
from payhelp import i18n
from payhelp.policies import declines
from payhelp.policies.advice import duration

ROOT = Path(__file__).resolve().parent.parent
#: Writes the modules loaded at exit to argv[1], then runs the CLI with the rest.
WRAPPER = """
import atexit, json, sys
_out = sys.argv[1]
def _report():
    with open(_out, "w") as out:
        json.dump(sorted(sys.modules), out)
atexit.register(_report)
from payhelp.cli import main
sys.argv = ["payhelp", *sys.argv[2:]]
main()
"""
COMMANDS = {
    "contacts": ["contacts", "--processor", "segpay", "--country", "IT"],
    "route": ["route", "--descriptor", "SEGPAY*EXAMPLE", "--country", "IT"],
    "help": ["--help"],
}
NEVER = ["sqlalchemy", "httpx", "h11", "httpcore", "limits", "tenacity"]
CASES = [
    pytest.param(command, library, id=f"{command}-{library}")
    for command in sorted(COMMANDS)
    for library in NEVER
]


def _loaded(
    args: list[str], tmp_path: Path, **extra_env: str
) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The top-level packages and every module a command loaded (names with a dot are
    modules), and how it ended."""
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYHELP_")}
    env.update(COLUMNS="100", **extra_env)
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(out), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=120,
    )
    modules = set(json.loads(out.read_text()))
    return modules | {name.split(".")[0] for name in modules}, done


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    found = {}
    for name, args in COMMANDS.items():
        modules, done = _loaded(args, tmp_path_factory.mktemp(name))
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip(), name
        found[name] = modules
    return found


@pytest.mark.parametrize(("command", "library"), CASES)
def test_a_plain_command_loads_no_network_store_or_limiter(
    loaded: dict[str, set[str]], command: str, library: str
) -> None:
    assert library not in loaded[command]


def test_the_wrapper_sees_what_a_command_loads(loaded: dict[str, set[str]]) -> None:
    # What contacts needs is there: the check reads sys.modules, not an empty list.
    assert {"payhelp", "click", "rich", "pluggy", "pydantic", "payhelp_segpay"} <= loaded[
        "contacts"
    ]
    assert "babel" not in loaded["contacts"]
    # --help defines the commands without the library behind them.
    assert not loaded["help"] & {"payhelp_segpay", "phonenumbers", "pycountry", "pluggy"}


def test_a_command_loads_only_its_own_command_module(loaded: dict[str, set[str]]) -> None:
    commands = {name for name in loaded["contacts"] if name.startswith("payhelp.cli.")}
    assert commands == {"payhelp.cli._output", "payhelp.cli.route"}
    # --help lists the commands without importing one, nor rich to print tables.
    assert not {name for name in loaded["help"] if name.startswith("payhelp.cli.")} - {
        "payhelp.cli._output"
    }
    assert "rich" not in loaded["help"]


def test_a_plain_command_loads_no_sandbox_nor_mail_client(loaded: dict[str, set[str]]) -> None:
    # The plugins register their sandboxes as factories that import them when asked for, and
    # the SMTP settings live with the configuration, not with the mail client.
    for command in ("contacts", "route"):
        modules = loaded[command]
        assert {"payhelp_segpay", "payhelp_centrobill", "payhelp_epoch"} <= modules
        assert not {m for m in modules if m.startswith("payhelp_") and m.endswith(".sandbox")}
        assert not modules & {"payhelp.mail", "smtplib", "platformdirs", "xml.sax"}, command


def test_a_sandbox_command_loads_the_sandboxes(tmp_path: Path) -> None:
    modules, done = _loaded(["sandbox", "cases", "--processor", "segpay"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "payhelp_segpay.sandbox" in modules


def test_a_command_that_sends_loads_the_http_client(tmp_path: Path) -> None:
    # The client loads with the first request: a sandbox lookup has it, so the check can fail.
    modules, done = _loaded(
        ["lookup", "--processor", "centrobill", "--sandbox", "--subscription-id", "511170003"],
        tmp_path,
    )
    assert "httpx" in modules
    assert "payhelp.http" in modules
    assert "HTTP 404" in done.stderr  # the sandbox answered: the request was sent


def test_a_command_that_uses_the_store_loads_it(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    modules, done = _loaded(["dispute", "list"], tmp_path, PAYHELP_STORE_URL=store)
    assert done.returncode == 0, done.stderr
    assert "sqlalchemy" in modules


def test_import_payhelp_alone_loads_no_model_and_no_network() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, payhelp; payhelp.hookimpl; payhelp.PayhelpError; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    modules = set(json.loads(done.stdout))
    assert "pluggy" in modules
    assert not modules & {"pydantic", "httpx", "sqlalchemy", "babel", "phonenumbers"}


@pytest.mark.parametrize("name", payhelp.__all__)
def test_every_public_name_is_importable_as_before(name: str) -> None:
    value = getattr(payhelp, name)
    home = importlib.import_module(payhelp._LAZY[name])
    assert value is getattr(home, name)
    exec(f"from payhelp import {name}", {})  # the statement users write


def test_a_submodule_reads_as_an_attribute_as_before() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import payhelp; print(payhelp.models.Transaction.__name__, payhelp.router.__name__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.split() == ["Transaction", "payhelp.router"]


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        payhelp.Nope  # noqa: B018
    with pytest.raises(ImportError):
        exec("from payhelp import Nope", {})
    assert set(payhelp.__all__) <= set(dir(payhelp))


# -- the catalogue reader reads what Babel reads -------------------------------------------


def _babel_table(data: bytes, language: str) -> dict[str, str]:
    return {
        str(m.id): str(m.string)
        for m in read_po(io.BytesIO(data), locale=language)
        if m.id and m.string and not m.fuzzy
    }


CATALOGUES = sorted(
    [
        *ROOT.glob("src/payhelp/locale/*/LC_MESSAGES/*.po"),
        *ROOT.glob("plugins/*/src/*/locale/*/LC_MESSAGES/*.po"),
    ]
)


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_catalogue_reads_as_babel_reads_it(path: Path) -> None:
    data = path.read_bytes()
    language = path.parent.parent.name
    plain = i18n.read_plain_po(data)
    assert plain is not None, "a shipped catalogue should not need Babel to be read"
    assert plain == _babel_table(data, language)
    assert plain


HEADER = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: it\\n"

"""
EDGES = [
    # escapes, continuation lines, a fuzzy flag among others, an untranslated entry, comments
    HEADER
    + r"""#: src/a.py:1
msgid "Say \"hi\"\n"
msgstr "Di' \"ciao\"\n"

#, python-format, fuzzy
msgid "fuzzy one"
msgstr "sfocato"

msgid ""
"long "
"text\twith a tab"
msgstr ""
"testo "
"lungo\\ e \q"

#. a note
msgid "untranslated"
msgstr ""
#: no blank line before this comment
msgid "after"
msgstr "dopo"
""",
    HEADER + '#, fuzzy\n#: src/b.py:2\nmsgid "flag then location"\nmsgstr "x"\n',
]
FOR_BABEL = [
    HEADER + 'msgid "one"\nmsgid_plural "many"\nmsgstr[0] "uno"\nmsgstr[1] "molti"\n',
    HEADER + 'msgctxt "menu"\nmsgid "Open"\nmsgstr "Apri"\n',
    HEADER + '#~ msgid "old"\n#~ msgstr "vecchio"\n',
    HEADER + 'msgid "twice"\nmsgstr "a"\n\n#, fuzzy\nmsgid "twice"\nmsgstr "b"\n',
    HEADER.replace("UTF-8", "ISO-8859-1") + 'msgid "x"\nmsgstr "y"\n',
]


@pytest.mark.parametrize("text", EDGES)
def test_the_reader_reads_escapes_flags_and_continuations_as_babel(text: str) -> None:
    data = text.encode()
    assert i18n.read_plain_po(data) == _babel_table(data, "it")


@pytest.mark.parametrize("text", FOR_BABEL)
def test_what_the_reader_does_not_know_goes_to_babel(text: str) -> None:
    assert i18n.read_plain_po(text.encode("latin-1")) is None


def test_a_catalogue_the_reader_leaves_is_read_with_babel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The domain is registered in copies of the module's tables, so no other test sees it.
    monkeypatch.setattr(i18n, "_PACKAGES", dict(i18n._PACKAGES))
    monkeypatch.setattr(i18n, "_CATALOGUES", dict(i18n._CATALOGUES))
    monkeypatch.syspath_prepend(str(tmp_path))
    package = tmp_path / "pkg_plural"
    folder = package / "locale" / "it" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (folder / "pkg_plural.po").write_text(
        HEADER + 'msgctxt "menu"\nmsgid "Open"\nmsgstr "Apri"\n\nmsgid "Close"\nmsgstr "Chiudi"\n'
    )
    monkeypatch.delitem(sys.modules, "pkg_plural", raising=False)
    domain = i18n.Domain("pkg_plural", "pkg_plural")
    assert domain.N_("Close").render("it") == "Chiudi"
    assert i18n.catalogue("pkg_plural", "it")["Open"] == "Apri"


# -- durations read as Babel writes them ------------------------------------------------------

SPANS = [0, 1, 2, 59, 60, 89, 90, 119, 120, 150, 3599, 3600, 5400, 7199, 7200, 86_399]
SPANS += [86_400, 172_799, 172_800, 1_209_599, 1_209_600, 5_184_000, 63_072_000, 10**9, -7200]
_RNG = random.Random(13)
SPANS += [_RNG.randrange(0, 400_000) for _ in range(300)]
SPANS += [_RNG.randrange(0, 10**10) for _ in range(300)]


@pytest.mark.parametrize("language", ["en", "it"])
def test_durations_read_as_babel_writes_them(language: i18n.Language) -> None:
    for seconds in SPANS:
        span = timedelta(seconds=seconds, microseconds=_RNG.randrange(10**6))
        expected = format_timedelta(span, threshold=2, format="long", locale=language)
        assert duration(span, language) == expected, span


# -- the packaged decline tables are parsed once, each when first asked for -------------------


def test_a_packaged_table_is_parsed_once_and_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    real = declines.load_scheme

    def counting(path: Path, where: str | None = None) -> declines.DeclineScheme:
        read.append(str(where))
        return real(path, where)

    monkeypatch.setattr(declines, "load_scheme", counting)
    declines.builtin_scheme.cache_clear()
    try:
        stripe = declines.builtin_scheme("stripe")
        assert read == ["payhelp:stripe"]
        assert declines.builtin_scheme("stripe") is stripe
        assert [s.id for s in declines.builtin_schemes()] == ["braintree", "iso8583", "stripe"]
        assert read == ["payhelp:stripe", "payhelp:braintree", "payhelp:iso8583"]
        assert declines.builtin_schemes()[2] is stripe
        assert read == ["payhelp:stripe", "payhelp:braintree", "payhelp:iso8583"]
    finally:
        declines.builtin_scheme.cache_clear()
    with pytest.raises(ValueError, match="no decline table 'visa'"):
        declines.builtin_scheme("visa")
