"""The one interface every alert channel implements, and building the channels from config."""

from __future__ import annotations

import ssl
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, TextIO

import httpx

from monitor.alerts.message import AlertMessage, make_test_message
from monitor.alerts.outbox import channel_names
from monitor.config import AlertsConfig, AppriseConfig
from monitor.errors import DeliveryError


class Channel(Protocol):
    """Sends one alert or raises DeliveryError saying why not; never retries by itself.

    Retrying belongs to the outbox, which remembers attempts across restarts.
    """

    name: str

    def send(self, message: AlertMessage) -> None: ...


def channels_from_config(
    alerts: AlertsConfig,
    *,
    stream: TextIO | None = None,
    ssl_context: ssl.SSLContext | None = None,
    http: httpx.Client | None = None,
) -> dict[str, Channel]:
    """The configured channels by name (the console when none is), ready to send.

    `stream`, `ssl_context` and `http` let callers (and tests) choose where the console writes,
    which certificates SMTP trusts, and the HTTP client Slack posts with.
    """
    from monitor.alerts.console import ConsoleChannel
    from monitor.alerts.email import EmailChannel
    from monitor.alerts.slack import SlackChannel

    channels: dict[str, Channel] = {}
    for name in channel_names(alerts):
        if name == "email" and alerts.email is not None:
            channels[name] = EmailChannel(alerts.email, ssl_context=ssl_context)
        elif name == "slack" and alerts.slack is not None:
            channels[name] = SlackChannel(alerts.slack, http=http)
        elif name == "console":
            channels[name] = ConsoleChannel(stream or sys.stdout)
    if alerts.apprise is not None:
        channels.update(_apprise_channels(alerts.apprise))
    return channels


def _apprise_channels(cfg: AppriseConfig) -> dict[str, Channel]:
    # imported here: apprise is optional, and only an [alerts.apprise] table needs it
    from monitor.alerts.apprise import AppriseChannel

    return {
        name: AppriseChannel(name, url, timeout=cfg.timeout) for name, url in cfg.targets().items()
    }


def send_test_alert(
    channels: Mapping[str, Channel], *, now: datetime | None = None
) -> dict[str, str | None]:
    """Send one test alert on every channel; per channel None when sent, else the reason."""
    message = make_test_message(now)
    results: dict[str, str | None] = {}
    for name, channel in channels.items():
        try:
            channel.send(message)
        except DeliveryError as exc:
            results[name] = str(exc)
        except Exception as exc:  # report a channel bug as that channel's failure, go on
            results[name] = f"{name}: unexpected {type(exc).__name__}: {exc}"
        else:
            results[name] = None
    return results
