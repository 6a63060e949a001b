"""The email channel against a real aiosmtpd server: plain, STARTTLS and SSL, with login."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from conftest import (
    EVIL_TITLE_HTML,
    PASSWORD,
    USER,
    Cert,
    SmtpServer,
    add_transition,
    alert_row,
    email_toml,
    free_port,
)

from monitor.alerts.channel import channels_from_config
from monitor.alerts.delivery import deliver_pending
from monitor.alerts.email import EmailChannel
from monitor.alerts.message import make_test_message
from monitor.config import Config
from monitor.db import Database
from monitor.db.models import utcnow
from monitor.errors import ConfigError, DeliveryError


def _channel(config: Config, cert: Cert | None = None) -> EmailChannel:
    assert config.alerts.email is not None
    return EmailChannel(config.alerts.email, ssl_context=cert.client_context() if cert else None)


def test_delivers_a_multipart_alert_over_plain_smtp_with_login(
    db: Database, smtp_server: Callable[..., SmtpServer], alert_config: Callable[..., Config]
) -> None:
    server = smtp_server("none")
    config = alert_config(email_toml(server.port))
    (alert_id,) = add_transition(db, ["email"])

    report = deliver_pending(db, config, channels_from_config(config.alerts))

    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    (got,) = server.messages
    assert got.login == USER
    assert got.rcpt_tos == ["desk@example.org", "ops@example.org"]
    mail = got.message
    assert mail["Subject"] == (
        "[rumour] Xiaomi will build its cars with Great Wall Motors: unconfirmed -> formalized"
    )
    row = alert_row(db, alert_id)
    assert mail["Message-ID"] == f"<alert-{alert_id}.{row.transition_id}@rumour-monitor>"
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    assert "0.55 -> 0.93" in plain.get_content()
    assert "https://news.example/xiaomi-gwm" in html.get_content()
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None


def test_starttls_with_a_verified_self_signed_certificate(
    tls_cert: Cert, smtp_server: Callable[..., SmtpServer], alert_config: Callable[..., Config]
) -> None:
    server = smtp_server("starttls")
    config = alert_config(email_toml(server.port, "starttls"))
    _channel(config, tls_cert).send(make_test_message())
    (got,) = server.messages
    assert got.tls and got.login == USER


def test_starttls_refuses_a_certificate_it_cannot_verify(
    smtp_server: Callable[..., SmtpServer], alert_config: Callable[..., Config]
) -> None:
    server = smtp_server("starttls")
    config = alert_config(email_toml(server.port, "starttls"))
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        _channel(config).send(make_test_message())  # system trust store only
    assert server.messages == []


def test_implicit_tls_on_the_ssl_port(
    tls_cert: Cert, smtp_server: Callable[..., SmtpServer], alert_config: Callable[..., Config]
) -> None:
    server = smtp_server("ssl")
    config = alert_config(email_toml(server.port, "ssl"))
    _channel(config, tls_cert).send(make_test_message())
    (got,) = server.messages
    assert got.tls and got.login == USER


def test_a_wrong_password_is_a_clear_error(
    smtp_server: Callable[..., SmtpServer], alert_config: Callable[..., Config]
) -> None:
    server = smtp_server("none")
    config = alert_config(email_toml(server.port, password="wrong"))
    with pytest.raises(DeliveryError, match=r"login as 'monitor' refused: 535"):
        _channel(config).send(make_test_message())
    assert server.messages == []


def test_starttls_missing_on_the_server_is_refused(
    smtp_server: Callable[..., SmtpServer], alert_config: Callable[..., Config]
) -> None:
    server = smtp_server("none", auth=False)
    config = alert_config(email_toml(server.port, "starttls"))
    with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
        _channel(config).send(make_test_message())
    assert server.messages == []


def test_refused_connections_are_retried_with_backoff_and_delivered_once(
    db: Database, smtp_server: Callable[..., SmtpServer], alert_config: Callable[..., Config]
) -> None:
    port = free_port()  # nothing listens here yet: the server is "down"
    config = alert_config(email_toml(port))  # backoff 1m, max_attempts 3
    channels = channels_from_config(config.alerts)
    (alert_id,) = add_transition(db, ["email"])
    t0 = utcnow() + timedelta(seconds=1)

    report = deliver_pending(db, config, channels, now=t0)
    row = alert_row(db, alert_id)
    assert report.retrying == 1 and row.status == "pending" and row.attempts == 1
    assert "ConnectionRefusedError" in (row.last_error or "")
    assert f"127.0.0.1:{port}" in (row.last_error or "")
    assert row.next_attempt_at == t0 + timedelta(minutes=1)

    # not due yet: nothing is tried
    assert deliver_pending(db, config, channels, now=t0 + timedelta(seconds=59)).outcomes == []

    report = deliver_pending(db, config, channels, now=t0 + timedelta(minutes=1))
    row = alert_row(db, alert_id)
    assert report.retrying == 1 and row.attempts == 2
    assert row.next_attempt_at == t0 + timedelta(minutes=3)  # then 2 minutes: doubled

    server = smtp_server("none", port=port)  # the server recovers
    report = deliver_pending(db, config, channels, now=t0 + timedelta(minutes=3))
    assert report.sent == 1
    assert deliver_pending(db, config, channels, now=t0 + timedelta(days=1)).outcomes == []
    assert len(server.messages) == 1
    row = alert_row(db, alert_id)
    assert row.status == "sent" and row.attempts == 3 and row.last_error is None


def test_malicious_title_arrives_escaped_in_the_html_part(
    db: Database, smtp_server: Callable[..., SmtpServer], alert_config: Callable[..., Config]
) -> None:
    server = smtp_server("none")
    config = alert_config(email_toml(server.port))
    add_transition(db, ["email"], title=EVIL_TITLE_HTML, url="https://news.example/evil")
    assert deliver_pending(db, config, channels_from_config(config.alerts)).sent == 1
    (got,) = server.messages
    html = got.message.get_body(("html",))
    assert html is not None
    page = html.get_content()
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    plain = got.message.get_body(("plain",))
    assert plain is not None and "<script>alert('x')</script>" in plain.get_content()


def test_a_username_without_a_password_is_a_config_error(
    alert_config: Callable[..., Config],
) -> None:
    body = email_toml(25).replace(f'password = "{PASSWORD}"\n', "")
    with pytest.raises(ConfigError, match=r"alerts\.email\.password_env: username 'monitor'"):
        alert_config(body)
