"""systemd's notify protocol, spoken directly: one datagram per message to $NOTIFY_SOCKET.

With `Type=notify` systemd waits for READY=1 before calling the unit started, and with
`WatchdogSec=` it restarts a monitor that stops sending WATCHDOG=1. Outside systemd there is
no socket and every call is a cheap no-op.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET") or None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        # WATCHDOG_PID guards against a child process inheriting its parent's watchdog duty
        mine = not pid or pid == str(os.getpid())
        self.watchdog_seconds = int(usec) / 1e6 if usec.isdigit() and mine else None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, message: str) -> bool:
        """Send one message (e.g. "READY=1"); False when not under systemd or sending failed."""
        if self.address is None:
            return False
        # a leading "@" names a socket in the abstract namespace
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(target)
                sock.sendall(message.encode())
        except OSError as exc:
            log.warning("cannot notify systemd", extra={"socket": self.address, "error": str(exc)})
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")
