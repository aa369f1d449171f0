"""A sandbox made of recorded answers, for processors that offer no test environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass(frozen=True)
class RecordedAnswer:
    """One recorded API answer: the status, the headers and the body (inline or in a file)."""

    status: int = 200
    body: bytes | str | Path = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> httpx.Response:
        """The answer as an httpx response."""
        body = self.body
        content = body.read_bytes() if isinstance(body, Path) else body
        return httpx.Response(self.status, headers=dict(self.headers), content=content)


class RecordedSandbox:
    """A :class:`~payhelp.sandbox.Sandbox` that replays recorded answers.

    ``answers`` maps ``"METHOD /path"`` (or ``"METHOD /path?query"``, matched exactly when the
    query is given) to a :class:`RecordedAnswer`; ``cases`` names the ids the recordings are
    about, as a real sandbox's :meth:`cases` does. A request nothing was recorded for answers
    404 with a body saying so, so a test shows which recording is missing.
    """

    def __init__(
        self,
        processor: str,
        answers: Mapping[str, RecordedAnswer],
        cases: Mapping[str, str],
    ) -> None:
        self.processor = processor
        self._answers = dict(answers)
        self._cases = dict(cases)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The recorded answer for ``request``."""
        path = request.url.path
        query = request.url.query.decode()
        for key in (f"{request.method} {path}?{query}", f"{request.method} {path}"):
            answer = self._answers.get(key)
            if answer is not None:
                return answer.response()
        return httpx.Response(404, text=f"nothing recorded for {request.method} {path}")

    def cases(self) -> Mapping[str, str]:
        """The ids the recordings answer, by case name."""
        return dict(self._cases)


__all__ = ["RecordedAnswer", "RecordedSandbox"]
