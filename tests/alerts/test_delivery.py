"""The outbox delivery loop: backoff, giving up, isolation, concurrent deliverers, crashes."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.alerts.channel import channels_from_config
from monitor.alerts.console import ConsoleChannel
from monitor.alerts.delivery import MAX_DELAY, deliver_pending, lease_for, retry_delay
from monitor.alerts.message import AlertMessage
from monitor.cli import cli
from monitor.config import Config
from monitor.db import Database
from monitor.db.models import utcnow
from monitor.errors import DeliveryError
from tests.alerts.conftest import SmtpServer, add_transition, alert_row, email_toml, free_port

ROOT = Path(__file__).resolve().parents[2]


class Recording:
    """A channel that keeps what it was given; optionally slow or failing (logic tests only)."""

    def __init__(self, name: str, *, delay: float = 0.0, error: Exception | None = None) -> None:
        self.name = name
        self.delay = delay
        self.error = error
        self.sent: list[AlertMessage] = []
        self.lock = threading.Lock()

    def send(self, message: AlertMessage) -> None:
        time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        with self.lock:
            self.sent.append(message)


def test_retry_delay_doubles_and_is_capped() -> None:
    assert [retry_delay(n, 60).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert retry_delay(30, 60) == MAX_DELAY
    assert retry_delay(1, 60, retry_after=900).total_seconds() == 900


def test_an_absurd_retry_after_cannot_crash_delivery() -> None:
    # "Retry-After: 99999999999999999999" (or a date in the year 9999) from a webhook
    wait = retry_delay(1, 60, retry_after=1e20)
    assert utcnow() + wait > utcnow() + timedelta(days=6)


def test_after_max_attempts_an_alert_fails_and_status_shows_it(
    db: Database, alert_config: Callable[..., Config], write_config: Callable[..., Path]
) -> None:
    config = alert_config(email_toml(free_port()))  # max_attempts = 3, nothing listening
    channels = channels_from_config(config.alerts)
    (alert_id,) = add_transition(db, ["email"])
    now = utcnow() + timedelta(seconds=1)
    statuses = []
    for _ in range(3):
        report = deliver_pending(db, config, channels, now=now)
        statuses.append(report.outcomes[0].status)
        now += timedelta(hours=1)
    assert statuses == ["pending", "pending", "failed"]
    row = alert_row(db, alert_id)
    assert row.status == "failed" and row.attempts == 3 and "ConnectionRefused" in row.last_error
    assert deliver_pending(db, config, channels, now=now + timedelta(days=9)).outcomes == []

    cfg_path = write_config(db_url=db.url)
    result = CliRunner().invoke(cli, ["--config", str(cfg_path), "status", "--json"])
    assert result.exit_code == 0, result.output
    (rumour,) = json.loads(result.stdout)
    assert rumour["id"] == "xiaomi-gwm" and rumour["alerts_failed"] == 1

    result = CliRunner().invoke(cli, ["--config", str(cfg_path), "alerts", "retry", "--all-failed"])
    assert result.exit_code == 0 and "1 failed alert(s) queued again" in result.stdout
    row = alert_row(db, alert_id)
    assert row.status == "pending" and row.attempts == 0


def test_one_failing_alert_never_stops_the_others(
    db: Database, alert_config: Callable[..., Config]
) -> None:
    config = alert_config()
    broken = Recording("slack", error=RuntimeError("bug in a channel"))
    refusing = Recording("email", error=DeliveryError("smtp down", channel="email"))
    out = io.StringIO()
    channels = {"slack": broken, "email": refusing, "console": ConsoleChannel(out)}
    add_transition(db, ["slack", "email", "console"], url="https://news.example/1")
    add_transition(db, ["console", "slack"], url="https://news.example/2")
    report = deliver_pending(db, config, channels)
    assert (report.sent, report.retrying, report.failed) == (2, 3, 0)
    assert out.getvalue().count("[rumour] xiaomi-gwm: unconfirmed -> formalized") == 2
    errors = {o.channel: o.error for o in report.outcomes if o.error}
    assert errors == {
        "slack": "slack: unexpected RuntimeError: bug in a channel",
        "email": "smtp down",
    }


def test_each_delivery_log_line_carries_the_rumour_channel_and_alert(
    db: Database, alert_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    # `--log-format json` users select a rumour's lines with jq: `select(.rumour == "...")`.
    refusing = Recording("email", error=DeliveryError("smtp down", channel="email"))
    channels = {"email": refusing, "console": ConsoleChannel(io.StringIO())}
    sent_id, failed_id = add_transition(db, ["console", "email"])
    with caplog.at_level(logging.INFO, logger="monitor.alerts.delivery"):
        deliver_pending(db, alert_config(), channels)
    fields = sorted(
        (r.alert, r.channel, r.rumour, r.levelname)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "monitor.alerts.delivery"
    )
    assert fields == [
        (sent_id, "console", "xiaomi-gwm", "INFO"),
        (failed_id, "email", "xiaomi-gwm", "WARNING"),
    ]


def test_an_alert_for_a_channel_no_longer_configured_is_kept_with_a_reason(
    db: Database, alert_config: Callable[..., Config]
) -> None:
    (alert_id,) = add_transition(db, ["slack"])
    report = deliver_pending(db, alert_config(), {"console": ConsoleChannel(io.StringIO())})
    assert report.retrying == 1
    assert "channel 'slack' is not configured any more" in (
        alert_row(db, alert_id).last_error or ""
    )


def test_each_alert_is_tried_at_most_once_per_call_even_without_backoff(
    db: Database, alert_config: Callable[..., Config]
) -> None:
    config = alert_config('[alerts]\nbackoff = "0s"\nmax_attempts = 5\n')
    failing = Recording("console", error=DeliveryError("no", channel="console"))
    (alert_id,) = add_transition(db, ["console"])
    assert len(deliver_pending(db, config, {"console": failing}).outcomes) == 1
    assert alert_row(db, alert_id).attempts == 1


def test_two_deliverers_at_once_send_every_alert_exactly_once(
    db: Database, alert_config: Callable[..., Config]
) -> None:
    config = alert_config()
    for n in range(12):
        add_transition(db, ["console"], url=f"https://news.example/{n}")
    channel = Recording("console", delay=0.05)
    reports = []

    def worker() -> None:
        own = Database(db.url)  # its own engine and connections, like a second process
        try:
            reports.append(deliver_pending(own, config, {"console": channel}))
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = sorted(m.message_id for m in channel.sent)
    assert len(ids) == 12 and len(set(ids)) == 12
    assert sum(r.sent for r in reports) == 12
    assert sum(1 for r in reports if r.sent) >= 2  # the work really was shared


CRASHING_DELIVERER = """
import os, sys
from monitor.alerts.channel import channels_from_config
from monitor.alerts.delivery import deliver_pending
from monitor.config import load_config
from monitor.db import Database

config = load_config(sys.argv[1])
inner = channels_from_config(config.alerts)["email"]

class CrashAfterSend:
    name = "email"
    def send(self, message):
        inner.send(message)
        os._exit(17)  # killed after the server took the mail, before it is marked sent

deliver_pending(Database(sys.argv[2]), config, {"email": CrashAfterSend()})
"""


def test_a_crash_between_send_and_mark_loses_nothing(
    db: Database,
    smtp_server: Callable[..., SmtpServer],
    alert_config: Callable[..., Config],
    tmp_path: Path,
) -> None:
    server = smtp_server("none")
    config = alert_config(email_toml(server.port))
    (alert_id,) = add_transition(db, ["email"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_DELIVERER, str(config.path), db.url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == 17, crashed.stderr
    assert len(server.messages) == 1
    row = alert_row(db, alert_id)
    assert row.status == "pending" and row.attempts == 1  # claimed, never marked

    channels = channels_from_config(config.alerts)
    # While the crashed deliverer's claim holds, nobody else sends it (no concurrent double).
    assert deliver_pending(db, config, channels).outcomes == []
    # Once the claim expires, the restarted deliverer sends it again.
    later = utcnow() + lease_for(config) + timedelta(seconds=1)
    assert deliver_pending(db, config, channels, now=later).sent == 1
    assert alert_row(db, alert_id).status == "sent"
    first, second = server.messages
    # at-least-once: the one duplicate carries the same Message-ID, so it is recognisable
    assert first.message["Message-ID"] == second.message["Message-ID"]
    assert deliver_pending(db, config, channels, now=later + timedelta(days=1)).outcomes == []
    assert len(server.messages) == 2
