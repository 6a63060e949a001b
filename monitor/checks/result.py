"""One result of `check`: what was checked, ok, warn or FAIL, and a one-line detail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True)
class Result:
    check: str  # what was checked: "config", "seeds", "feed CnEVPost", "secret SLACK_URL"...
    status: Status
    detail: str

    def __post_init__(self) -> None:
        # One line per check, also in --json: drivers and libraries add hints on lines of
        # their own, which would read as a result line of their own (or none) in the text.
        object.__setattr__(self, "detail", one_line(self.detail))

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "detail": self.detail}

    def line(self) -> str:
        return f"{self.status:<4}  {self.check}: {self.detail}"


def one_line(text: str) -> str:
    """Text on one line: its lines joined, with "; " where a line ends without punctuation."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = lines[0] if lines else ""
    for line in lines[1:]:
        joined += (" " if joined.endswith((".", ":", ";", ",", "!", "?")) else "; ") + line
    return joined


def ok(check: str, detail: str) -> Result:
    return Result(check, "ok", detail)


def warn(check: str, detail: str) -> Result:
    return Result(check, "warn", detail)


def fail(check: str, detail: str) -> Result:
    return Result(check, "FAIL", detail)
