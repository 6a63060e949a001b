"""The console channel: alerts as plain text on stdout, which systemd puts in the journal."""

from __future__ import annotations

import os
from typing import TextIO

from monitor.alerts.message import AlertMessage, render_line, render_text
from monitor.errors import DeliveryError


def writes_to_journal(stream: TextIO) -> bool:
    """Whether ``stream`` is the journal: systemd sets JOURNAL_STREAM to its device:inode."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # no real file behind it (a test buffer)
        return False
    return expected == f"{info.st_dev}:{info.st_ino}"


class ConsoleChannel:
    name = "console"

    def __init__(self, stream: TextIO, *, single_line: bool | None = None) -> None:
        self.stream = stream
        # The journal makes each line an entry of its own: one alert, one entry.
        self.single_line = writes_to_journal(stream) if single_line is None else single_line

    def send(self, message: AlertMessage) -> None:
        text = render_line(message) if self.single_line else render_text(message)
        try:
            # one write then flush, so a journal line is never split between two alerts
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError) as exc:  # ValueError: write to a closed stream
            raise DeliveryError(f"console: cannot write alert: {exc}", channel=self.name) from exc
