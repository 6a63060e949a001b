"""The console channel: alerts as plain text on stdout, which systemd puts in the journal."""

from __future__ import annotations

from typing import TextIO

from monitor.alerts.message import AlertMessage, render_text
from monitor.errors import DeliveryError


class ConsoleChannel:
    name = "console"

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def send(self, message: AlertMessage) -> None:
        try:
            # one write then flush, so a journal line is never split between two alerts
            self.stream.write(render_text(message) + "\n")
            self.stream.flush()
        except (OSError, ValueError) as exc:  # ValueError: write to a closed stream
            raise DeliveryError(f"console: cannot write alert: {exc}", channel=self.name) from exc
