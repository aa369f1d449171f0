"""What a CLI command costs from spawn to exit, against the least a pluggy CLI can cost.

    .venv/bin/python bench/bench_cli_start.py            # about 1 min on 2 cores
    .venv/bin/python bench/bench_cli_start.py --json bench/results/cli_start.json

Each command runs as the installed ``payhelp`` script, in a fresh process, ``--repeat`` times
(interleaved with the anchors, so a busy machine slows them alike); the figure is the median wall
time from spawn to reap. The anchor is a process doing ``import click, pydantic, pluggy`` and the
entry-point scan (``importlib.metadata.entry_points(group="payhelp")``): the least a CLI built
on click, pydantic and pluggy can cost. ``python -c pass`` is shown for scale. Each command's
ratio to the anchor is printed beside it (the issue's goal: within 2x). Two reference rows say
what the anchor leaves out: the anchor plus one pydantic model defined and validated (``import
pydantic`` alone is lazy and loads none of the model machinery), and that plus the libraries
``contacts`` answers with (phonenumbers, pycountry, rich). Then, once per command, which of the
heavy libraries it loaded (read from ``sys.modules`` at exit).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workload import ENV, machine, set_bytecode

ANCHOR = (
    "import click, pydantic, pluggy, importlib.metadata; "
    "list(importlib.metadata.entry_points(group='payhelp'))"
)
#: What the anchor leaves out, for reading the figures: ``import pydantic`` is lazy, so the
#: anchor never loads the model machinery that the first model class needs; then the libraries
#: ``contacts`` uses for its answer (phone formats, the table, country names).
REFERENCES = {
    "anchor + one pydantic model": ANCHOR
    + "\nfrom pydantic import BaseModel\nclass A(BaseModel):\n    x: int\nA(x=1)",
    "... + phonenumbers, rich, pycountry": ANCHOR
    + "\nfrom pydantic import BaseModel\nclass A(BaseModel):\n    x: int\nA(x=1)"
    + "\nimport phonenumbers, pycountry, rich.console, rich.table",
}
COMMANDS: dict[str, list[str]] = {
    "contacts": ["contacts", "--processor", "segpay", "--country", "IT"],
    "route": ["route", "--descriptor", "SEGPAY*SITE", "--country", "IT"],
    "--help": ["--help"],
}
#: The libraries a command should load only when it uses them.
HEAVY = (
    "sqlalchemy",
    "httpx",
    "limits",
    "tenacity",
    "h11",
    "phonenumbers",
    "babel",
    "rich",
    "pygments",
    "platformdirs",
)
#: Runs payhelp.cli.main with the given arguments and writes the heavy modules loaded at exit.
_WRAPPER = """
import atexit, json, sys
_out, _heavy = sys.argv[1], sys.argv[2].split(",")
def _report():
    with open(_out, "w") as out:
        json.dump(sorted(m for m in sys.modules if m.split(".")[0] in _heavy), out)
atexit.register(_report)
from payhelp.cli import main
sys.argv = ["payhelp", *sys.argv[3:]]
main()
"""


def _script() -> str:
    return str(Path(sys.executable).with_name("payhelp"))


def wall(argv: list[str]) -> float:
    """Seconds from spawn to reap of ``argv``, its output discarded."""
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV)
    return time.perf_counter() - start


def loaded(args: list[str]) -> list[str]:
    """The top-level heavy libraries a command loads (by running it in a wrapper)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "modules.json")
        subprocess.run(
            [sys.executable, "-c", _WRAPPER, str(out), ",".join(HEAVY), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            env=ENV,
        )
        modules: list[str] = json.loads(out.read_text())
    return sorted({m.split(".")[0] for m in modules})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs of each command (median)")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--no-bytecode", action="store_true", help="compile at every start")
    opts = parser.parse_args()
    cache = set_bytecode(not opts.no_bytecode)

    env_note = os.environ.get("PAYHELP_CONFIG")
    argvs = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "anchor": [sys.executable, "-c", ANCHOR],
        **{name: [sys.executable, "-c", code] for name, code in REFERENCES.items()},
        **{name: [_script(), *args] for name, args in COMMANDS.items()},
    }
    runs: dict[str, list[float]] = {name: [] for name in argvs}
    for argv in argvs.values():  # warm the page cache once
        wall(argv)
    for _ in range(opts.repeat):
        for name, argv in argvs.items():
            runs[name].append(wall(argv))
    medians = {name: statistics.median(times) for name, times in runs.items()}
    anchor = medians["anchor"]

    info = machine()
    print("## CLI start-up\n")
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    if env_note:
        print(f"(PAYHELP_CONFIG={env_note})")
    print(f"\nmedian of {opts.repeat} runs each, wall time from spawn to reap; {cache}\n")
    print("| command | ms | x anchor | heavy libraries loaded |")
    print("|---|---:|---:|---|")
    heavy: dict[str, list[str]] = {}
    for name, seconds in medians.items():
        if name in COMMANDS:
            heavy[name] = loaded(COMMANDS[name])
        label = f"`payhelp {' '.join(COMMANDS[name])}`" if name in COMMANDS else name
        mods = ", ".join(heavy.get(name, [])) if name in COMMANDS else ""
        print(f"| {label} | {seconds * 1000:.0f} | {seconds / anchor:.2f} | {mods} |")
    print("\nanchor: `python -c " + json.dumps(ANCHOR) + "`; goal: every command ≤ 2x anchor")
    if opts.json:
        opts.json.write_text(
            json.dumps(
                {"machine": info, "runs": runs, "medians": medians, "heavy": heavy}, indent=2
            )
        )


if __name__ == "__main__":
    main()
