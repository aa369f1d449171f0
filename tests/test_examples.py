"""Every fenced example in README.md and docs/*.md runs as written, and shows what it prints.

Each block is its own test, named ``page:line`` after its opening fence. How a block is run
depends on its language and on the ``<!-- example: ... -->`` comments on the lines right above
it (invisible on a rendered page; several may be stacked):

- ``python``: executed in a fresh directory, with stdout and stderr captured together as a
  terminal would show them. A ``text`` block right after it is what it prints, and is compared.
  ``continues`` runs the page's previous python block first, so the names it made are there.
- ``console`` (and ``sh`` with ``$`` prompts): each ``$ command`` is run in that directory and
  its output compared with the lines under it. ``payhelp ...`` alone is run in process through
  the CLI's entry point; a command line with pipes, redirections or other programs goes to
  ``bash`` with the environment's ``payhelp`` first on ``PATH``. ``$ cat FILE`` of a file that
  does not exist yet writes the lines shown into it: that is how the docs say what a file holds.
  A command that exits non-zero must show a ``payhelp: ...`` line.
  ``unordered`` compares the output lines in any order (answers that arrive as they finish);
  ``continues`` runs the page's previous console block first, in the same directory.
- ``toml``: parsed, and loaded as a payhelp configuration (``Payhelp.from_config``) unless
  marked ``not-config (why)``; ``scheme`` loads it as a decline-code table instead. ``file NAME`` makes any block a file named ``NAME`` that the
  page's later examples find in their directory; when ``NAME`` is a file of the repository
  (``examples/payhelp.toml``), the block must be that file, word for word.
- ``synopsis``: a list of ``payhelp COMMAND [options]`` lines: each command's ``--help`` must
  work and name every ``--option`` the line shows.
- ``no-run (why)``: not run, for a reason a reader can check (an install line, a usage
  synopsis). Any other block without a way to run it fails: nothing is skipped silently.

What is compared is normalised only where the value is truly variable: trailing spaces at line
ends (rich pads table titles), blank lines around the output, and the ``payhelp-<32 hex>``
request id payhelp makes up for every attempt. ``...`` in an expected output stands for any
text, as in doctest, where a page trims a long answer. Tables are 100 columns wide, as the
pages show them (``COLUMNS=100``).

The repository's ``examples/`` folder is copied into every example's directory, so a page can
name ``examples/payhelp.toml`` as a reader in a fresh clone would.

``payhelp sandbox serve --port N`` is started on a port the system picks (``--port 0``), and the
port it prints is read as ``N``: the page shows the port a reader would use, and the test never
depends on ``N`` being free on the machine (another test run may hold it).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from payhelp import Payhelp
from payhelp.cli import main
from payhelp.policies.declines import load_scheme

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = ROOT / "examples"

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
MARK = re.compile(r"^\s*<!--\s*example:\s*(?P<body>.*?)\s*-->\s*$")
KINDS = {"no-run", "file", "not-config", "scheme", "continues", "unordered", "synopsis"}
RUNNABLE = {"python", "console", "sh", "toml"}
SHELL_SYNTAX = {"|", "||", "&&", ";", ">", ">>", "<", "2>", "2>&1", "&"}
REQUEST_ID = re.compile(r"payhelp-[0-9a-f]{32}")

SERVE_DEFAULT_PORT = "8765"  # payhelp sandbox serve's --port default
SERVED_AT = re.compile(r"http://[^/\s]+:(?P<port>\d+)/")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    text: str
    marks: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _marks(lines: list[str], fence_index: int) -> dict[str, str]:
    marks: dict[str, str] = {}
    index = fence_index - 1
    while index >= 0 and (found := MARK.match(lines[index])):
        for part in re.split(r";\s*(?![^(]*\))", found["body"]):  # not a ";" inside (why)
            kind, _, argument = part.strip().partition(" ")
            marks[kind] = argument.strip()
        index -= 1
    return marks


def read_blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    name = page.relative_to(ROOT).as_posix()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        body = "\n".join(
            line[indent:] if line[:indent].isspace() else line for line in lines[index + 1 : end]
        )
        blocks.append(Block(name, index + 1, opening["lang"], body, _marks(lines, index)))
        index = end + 1
    return blocks


BLOCKS = {page.relative_to(ROOT).as_posix(): read_blocks(page) for page in PAGES}
ALL = [block for blocks in BLOCKS.values() for block in blocks]


def _output_of(block: Block) -> Block | None:
    """The text block right after a python block (nothing but blank lines between)."""
    blocks = BLOCKS[block.page]
    following = blocks.index(block) + 1
    if following < len(blocks) and blocks[following].lang == "text":
        candidate = blocks[following]
        page = (ROOT / block.page).read_text(encoding="utf-8").splitlines()
        closing = block.line + len(block.text.splitlines()) + 1
        if all(not line.strip() for line in page[closing : candidate.line - 1]):
            return candidate
    return None


def _is_output(block: Block) -> bool:
    blocks = BLOCKS[block.page]
    index = blocks.index(block)
    return (
        index > 0 and blocks[index - 1].lang == "python" and _output_of(blocks[index - 1]) is block
    )


def _params() -> Iterator[object]:
    for block in ALL:
        if _is_output(block):
            continue  # compared by the python block it belongs to
        yield pytest.param(block, id=block.id)


# -- running ------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    lines = [REQUEST_ID.sub("payhelp-<request id>", line.rstrip()) for line in text.splitlines()]
    return "\n".join(lines).strip("\n")


def matches(expected: str, actual: str) -> bool:
    expected, actual = normalise(expected), normalise(actual)
    if "..." not in expected:
        return expected == actual
    pattern = ".*?".join(re.escape(piece) for piece in expected.split("..."))
    return re.fullmatch(pattern, actual, re.DOTALL) is not None


def assert_output(where: str, expected: str, actual: str, *, unordered: bool = False) -> None:
    if unordered:
        expected = "\n".join(sorted(normalise(expected).splitlines()))
        actual = "\n".join(sorted(normalise(actual).splitlines()))
    if not matches(expected, actual):
        # An equality assertion, so that pytest shows the difference line by line.
        assert normalise(actual) == normalise(expected), (
            f"{where}: the output differs from the page"
        )


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh directory as a reader's shell would be in, with nothing of this machine's in the
    environment: no configuration, English, data and stores under the directory itself."""
    for var in list(os.environ):
        if var.startswith("PAYHELP_") or var in {"LC_ALL", "LC_MESSAGES", "LANGUAGE"}:
            monkeypatch.delenv(var)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / "data"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if EXAMPLES.is_dir():
        shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_synopsis(block: Block) -> None:
    entries: list[str] = []
    for line in block.text.splitlines():
        if line.startswith("payhelp "):
            entries.append(line)
        elif line.strip() and entries:
            entries[-1] += " " + line.strip()  # an option list continued on the next line
    assert entries, f"{block.id}: a synopsis without commands"
    for entry in entries:
        shown = entry.split("#", 1)[0]
        words = []
        for word in shown.split()[1:]:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            words.append(word)
        with _terminal() as buffer, pytest.raises(SystemExit) as done:
            main([*words, "--help"])
        assert done.value.code in (0, None), (
            f"{block.id}: payhelp {' '.join(words)}: {buffer.getvalue()}"
        )
        missing = [o for o in re.findall(r"--[a-z][a-z0-9-]*", shown) if o not in buffer.getvalue()]
        assert not missing, f"{block.id}: payhelp {' '.join(words)} has no {', '.join(missing)}"


def _write_files(block: Block, directory: Path) -> None:
    """Every ``file NAME`` block the page declared before this one."""
    for earlier in BLOCKS[block.page]:
        if earlier.line >= block.line:
            break
        if "file" in earlier.marks:
            target = directory / earlier.marks["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(earlier.text + "\n", encoding="utf-8")


@contextlib.contextmanager
def _terminal() -> Iterator[io.StringIO]:
    """stdout and stderr into one buffer, in the order written; the root logger without
    pytest's handlers, so that an example's ``logging.basicConfig`` works as it would alone."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield buffer
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def _chain(block: Block) -> list[Block]:
    """The block, after the page's earlier blocks of its kind that it ``continues``."""
    kind = {"python"} if block.lang == "python" else {"console", "sh"}
    chain = [block]
    while "continues" in chain[0].marks:
        earlier = [b for b in BLOCKS[block.page] if b.lang in kind and b.line < chain[0].line]
        assert earlier, f"{chain[0].id}: 'continues' but no {block.lang} block before it"
        chain.insert(0, earlier[-1])
    return chain


def run_python(block: Block) -> str:
    chain = _chain(block)
    namespace: dict[str, object] = {"__name__": "__example__"}
    output = ""
    for step in chain:
        with _terminal() as buffer:
            exec(compile(step.text, step.id, "exec"), namespace)
        output = buffer.getvalue()
    return output


def commands(text: str) -> Iterator[tuple[str, str]]:
    """Each ``$ command`` (continued on the next line after ``\\`` or ``|``) and the lines
    shown under it."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("$ "):
            raise AssertionError(f"a line outside any command: {line!r}")
        command = line[2:]
        while command.rstrip().endswith(("\\", "|")) and index + 1 < len(lines):
            index += 1
            command = command.rstrip().removesuffix("\\") + " " + lines[index].strip()
        index += 1
        shown: list[str] = []
        while index < len(lines) and not lines[index].startswith("$ "):
            shown.append(lines[index])
            index += 1
        yield command, "\n".join(shown)


def run_command(command: str, shown: str, directory: Path) -> tuple[int, str]:
    words = shlex.split(command, comments=True)
    if words[:1] == ["cat"] and len(words) == 2 and not (directory / words[1]).exists():
        (directory / words[1]).write_text(shown + "\n", encoding="utf-8")
        return 0, shown
    if words[:3] == ["payhelp", "sandbox", "serve"]:
        return _serve(words, shown, directory)
    if words[:1] == ["payhelp"] and not SHELL_SYNTAX & set(words) and "$" not in command:
        with _terminal() as buffer, pytest.raises(SystemExit) as done:
            main(words[1:])  # the CLI always ends with SystemExit
        status = done.value.code
        return (status if isinstance(status, int) else int(status is not None)), buffer.getvalue()
    finished = subprocess.run(
        ["bash", "-c", command],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    return finished.returncode, finished.stdout


def _free_port(words: list[str]) -> tuple[list[str], str]:
    """The command with ``--port 0``, and the port the page asked for (``--port N``,
    ``--port=N`` or the default)."""
    asked, rest, index = SERVE_DEFAULT_PORT, [], 0
    while index < len(words):
        word = words[index]
        if word == "--port" and index + 1 < len(words):
            asked, index = words[index + 1], index + 2
        elif word.startswith("--port="):
            asked, index = word.removeprefix("--port="), index + 1
        else:
            rest.append(word)
            index += 1
    return [*rest, "--port", "0"], asked


def _serve(words: list[str], shown: str, directory: Path) -> tuple[int, str]:
    """``payhelp sandbox serve`` runs until Ctrl-C: read the lines it prints at start, as many
    as the page shows, then stop it the way the page says. It listens on a free port, read as
    the one the page asked for (unless that is 0: then the page shows ``...`` for it)."""
    words, asked = _free_port(words)
    server = subprocess.Popen(
        [sys.executable, "-m", "payhelp", *words[1:]],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    lines: list[str] = []
    try:
        for _ in range(len(normalise(shown).splitlines())):
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()  # never left running past the test
            rest, _ = server.communicate()
            raise AssertionError(
                f"`{' '.join(words)}` did not stop within 60 s of Ctrl-C; it printed:\n"
                + "".join(lines)
                + (rest or "")
            ) from None
    output = "".join(lines)
    bound = SERVED_AT.search(output)
    if bound is not None and asked != "0":
        output = output.replace(f":{bound['port']}/", f":{asked}/")
    return 0, output


def run_console(block: Block, directory: Path) -> None:
    for earlier in _chain(block)[:-1]:  # what the page did before, in this directory
        for command, shown in commands(earlier.text):
            run_command(command, shown, directory)
    for command, shown in commands(block.text):
        code, output = run_command(command, shown, directory)
        where = f"{block.id}: $ {command}"
        assert_output(where, shown, output, unordered="unordered" in block.marks)
        if code != 0:
            assert any(line.startswith("payhelp: ") for line in shown.splitlines()), (
                f"{where}: exit code {code}, and the page shows no error line"
            )


def run_toml(block: Block, directory: Path) -> None:
    tomllib.loads(block.text)  # a syntax error names the line
    if "scheme" in block.marks:
        table = directory / "example-scheme.toml"
        table.write_text(block.text, encoding="utf-8")
        scheme = load_scheme(table)
        assert scheme.codes, f"{block.id}: a decline table without codes"
        return
    if "not-config" in block.marks:
        return
    config = directory / "example-config.toml"
    config.write_text(block.text, encoding="utf-8")
    with Payhelp.from_config(config):
        pass


@pytest.mark.parametrize("block", list(_params()))
def test_example(block: Block, workdir: Path) -> None:
    marks = block.marks
    unknown = set(marks) - KINDS
    assert not unknown, (
        f"{block.id}: unknown example mark(s) {sorted(unknown)}; known: {sorted(KINDS)}"
    )
    if "no-run" in marks:
        assert re.fullmatch(r"\(.+\)", marks["no-run"]), f"{block.id}: say why, as no-run (why)"
        return
    _write_files(block, workdir)
    if "file" in marks and (ROOT / marks["file"]).is_file():
        shipped = (ROOT / marks["file"]).read_text(encoding="utf-8")
        assert block.text + "\n" == shipped, f"{block.id}: differs from {marks['file']}"
    if "synopsis" in marks:
        run_synopsis(block)
    elif block.lang == "python":
        output = run_python(block)
        shown = _output_of(block)
        if shown is not None:
            assert_output(block.id, shown.text, output)
    elif block.lang == "console" or (block.lang == "sh" and block.text.startswith("$ ")):
        run_console(block, workdir)
    elif block.lang == "toml":
        run_toml(block, workdir)
    elif "file" in marks:
        return  # a file the page's later examples use, checked by running them
    else:
        raise AssertionError(
            f"{block.id}: a {block.lang or 'plain'} block that nothing runs; mark it"
            " <!-- example: no-run (why) --> or make it a file the next examples use"
        )


def test_readme_first_line_answers_a_real_case(workdir: Path) -> None:
    """The README's first line installs uv and asks whom to contact; the asking part runs. Its
    second line runs the tests exactly as CI's last step does."""
    first = next(block for block in BLOCKS["README.md"] if block.lang == "sh")
    line = first.text.splitlines()[0]
    words = shlex.split(line.split("uv run ", 1)[1])
    assert words[:2] == ["payhelp", "contacts"], line
    with _terminal() as buffer, pytest.raises(SystemExit) as done:
        main(words[1:])
    assert done.value.code in (0, None), buffer.getvalue()
    assert "SegPay" in buffer.getvalue()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    last_step = [line for line in ci if line.strip() and not line.lstrip().startswith("#")][-1]
    assert first.text.splitlines()[1] == last_step.strip(), ".ci/run ends otherwise"
    assert last_step.strip() == "python -m pip install uv && python -m uv run pytest"
