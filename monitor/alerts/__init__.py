"""Alerts: state changes in, messages on every configured channel out, each exactly once.

A transition writes one outbox row per channel in its own transaction; delivery sends them by
email, Slack, Apprise or the console, retries with back-off and marks the ones that keep failing.
"""

from monitor.alerts.channel import Channel, channels_from_config, send_test_alert
from monitor.alerts.console import ConsoleChannel
from monitor.alerts.delivery import deliver_pending
from monitor.alerts.email import EmailChannel
from monitor.alerts.outbox import (
    AlertBacklog,
    alert_backlog,
    channel_names,
    drop_unsent,
    enqueue,
    list_alerts,
    pending_for,
    requeue_failed,
    statuses,
)

__all__ = [
    "AlertBacklog",
    "Channel",
    "ConsoleChannel",
    "EmailChannel",
    "alert_backlog",
    "channel_names",
    "channels_from_config",
    "deliver_pending",
    "drop_unsent",
    "enqueue",
    "list_alerts",
    "pending_for",
    "requeue_failed",
    "send_test_alert",
    "statuses",
]
