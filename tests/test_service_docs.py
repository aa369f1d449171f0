"""docs/service.md's quickstart, run as written against a real ``payhelp serve``: each ``curl``
line (when the machine has curl) and the JavaScript client (when it has Node.js)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .service_support import payhelp_serve

DOC = Path(__file__).resolve().parent.parent / "docs" / "service.md"
DOCUMENTED = "http://127.0.0.1:8000"


def _block(language: str, containing: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return next(block for block in blocks if containing in block)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, str]]]:
    home = tmp_path_factory.mktemp("service-docs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYHELP_")}
    env |= {"XDG_DATA_HOME": str(home / "data"), "HOME": str(home)}
    made = subprocess.run(
        [sys.executable, "-m", "payhelp", "api-key", "new", "--file", "keys.txt", "--name", "doc"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    key = made.stdout.strip()
    with payhelp_serve("--api-keys", "keys.txt", env=env, cwd=home) as url:
        yield url, key, {**env, "PAYHELP_KEY": key, "PAYHELP_URL": url}


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl on this machine")
def test_the_curl_quickstart_answers_as_the_page_says(
    served: tuple[str, str, dict[str, str]],
) -> None:
    url, _, env = served
    lines = [line for line in _block("sh", "curl -s").splitlines() if line.startswith("curl")]
    answers = []
    for line in lines:
        done = subprocess.run(
            ["bash", "-c", line.replace(DOCUMENTED, url)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        answers.append(json.loads(done.stdout))
    health, contacts, route, decline, receipt, shown = answers
    assert health["status"] == "ok"
    assert contacts["channels"][0]["value"] == "help@segpay.com"
    assert route["processor"] == "segpay"
    assert decline["reason"] == "insufficient_funds"
    assert receipt["idempotency_key"] == "order-1001"
    assert shown["idempotency_key"] == "order-1001"
    assert shown["status"] == "prepared"


@pytest.mark.skipif(shutil.which("node") is None, reason="no Node.js on this machine")
def test_the_javascript_client_runs(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    _, _, env = served
    script = tmp_path / "client.mjs"
    script.write_text(_block("javascript", "fetch"), encoding="utf-8")
    done = subprocess.run(
        ["node", str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["segpay", "help@segpay.com", "UnknownProcessorError"]
