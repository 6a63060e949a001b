"""The Apprise channel: one Apprise URL (Discord, Teams, Telegram, ntfy, a JSON webhook ...).

Apprise is an optional dependency (`pip install 'rumour-monitor[apprise]'`); this module is
imported only when `[alerts.apprise]` is configured, and config loading has already checked
that the package is there.

Each URL is its own channel (`apprise:<scheme>:<hash>`, see `monitor.config.apprise_channel`),
so the outbox retries a failed URL without resending to the others. The title is the email
subject and the body the plain-text rendering, sent as Apprise's text format: Apprise converts
it for services that want HTML or Markdown, so nothing from an article is interpreted as markup.
"""

from __future__ import annotations

from typing import Any

import apprise

from monitor.alerts.message import AlertMessage, email_subject, render_text
from monitor.errors import DeliveryError

_REASON_LEVELS = ("WARNING", "ERROR", "CRITICAL")
_REASON_MAX = 300


class AppriseChannel:
    def __init__(self, name: str, url: str, *, timeout: float) -> None:
        self.name = name
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:  # config loading rejects such URLs; this guards direct use
            raise ValueError(f"{name}: not a URL Apprise can use")
        # Apprise's per-socket limits (its cto/rto URL options): connecting and each read.
        plugin.socket_connect_timeout = timeout
        plugin.socket_read_timeout = timeout
        self._plugin = plugin
        # Errors name the URL as Apprise shows it privately (tokens masked), minus its options.
        private: str = plugin.url(privacy=True)  # type: ignore[no-untyped-call]
        self.where = f"apprise {private.split('?', 1)[0]}"

    def send(self, message: AlertMessage) -> None:
        notifier = apprise.Apprise()
        notifier.add(self._plugin)
        result = notifier.notify(
            body=render_text(message),
            title=email_subject(message),
            body_format=apprise.NotifyFormat.TEXT,
        )
        if not result:
            raise DeliveryError(f"{self.where}: {_reason(result)}", channel=self.name)


def _reason(result: Any) -> str:
    """Why the notify failed: Apprise 2 returns its warnings with the result, Apprise 1 only
    logs them (to the "apprise" logger, which the service's log receives)."""
    logs = getattr(result, "logs", None)
    if callable(logs):
        lines = [entry.message for entry in logs() if entry.level in _REASON_LEVELS]
        if lines:
            text = "; ".join(dict.fromkeys(lines))  # in order, each line once
            return text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 1] + "…"
    return "notification failed (the apprise log lines say why)"
