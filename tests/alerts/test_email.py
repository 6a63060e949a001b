"""The email channel against a real aiosmtpd server: plain, STARTTLS and SSL, with login."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.alerts.channel import channels_from_config
from monitor.alerts.delivery import deliver_pending
from monitor.alerts.email import EmailChannel
from monitor.alerts.message import make_test_message
from monitor.config import Config
from monitor.db import Database, installation_id, upgrade
from monitor.db.models import utcnow
from monitor.errors import ConfigError, DeliveryError
from tests.alerts.conftest import (
    EVIL_TITLE_HTML,
    PASSWORD,
    PASSWORD_ENV,
    USER,
    Cert,
    SmtpServer,
    add_transition,
    alert_row,
    email_toml,
    free_port,
)


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
    assert mail["Message-ID"] == (
        f"<alert-{alert_id}.{row.transition_id}@{_installation(db)}.rumour-monitor>"
    )
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
    body = email_toml(25).replace(f'password_env = "{PASSWORD_ENV[PASSWORD]}"\n', "")
    with pytest.raises(ConfigError, match=r"alerts\.email\.password_env: username 'monitor'"):
        alert_config(body)


def _installation(db: Database) -> str:
    with db.sessions() as s:
        return installation_id(s)


def test_an_inline_password_is_refused_naming_password_env(
    alert_config: Callable[..., Config],
) -> None:
    body = email_toml(25).replace(
        f'password_env = "{PASSWORD_ENV[PASSWORD]}"', f'password = "{PASSWORD}"'
    )
    with pytest.raises(ConfigError) as info:
        alert_config(body)
    message = str(info.value)
    assert "alerts.email.password: a password in config.toml is refused" in message
    assert "password_env" in message and PASSWORD not in message
    assert info.value.exit_code == 2


def test_two_databases_never_send_the_same_message_id(
    tmp_path: Path, smtp_server: Callable[..., SmtpServer], alert_config: Callable[..., Config]
) -> None:
    # Two installations (or a copy restored beside the original): each has its alert 1.
    server = smtp_server("none")
    config = alert_config(email_toml(server.port))
    for name in ("one", "two"):
        other = Database(f"sqlite:///{tmp_path / name / 'rumours.db'}")
        upgrade(other.engine)
        (alert_id,) = add_transition(other, ["email"])
        assert alert_id == 1
        assert deliver_pending(other, config, channels_from_config(config.alerts)).sent == 1
        other.dispose()
    first, second = (got.message["Message-ID"] for got in server.messages)
    assert first != second
    assert first.startswith("<alert-1.1@") and second.startswith("<alert-1.1@")


def test_a_rumours_alerts_thread_under_its_first_alert(
    db: Database, smtp_server: Callable[..., SmtpServer], alert_config: Callable[..., Config]
) -> None:
    server = smtp_server("none")
    config = alert_config(email_toml(server.port))
    add_transition(db, ["email"], url="https://news.example/1")
    add_transition(db, ["email"], url="https://news.example/2")
    add_transition(db, ["email"], url="https://news.example/3", rumour_id="other-rumour")
    add_transition(db, ["email"], url="https://news.example/4")
    assert deliver_pending(db, config, channels_from_config(config.alerts)).sent == 4
    first, second, other, fourth = (got.message for got in server.messages)
    assert first["In-Reply-To"] is None and first["References"] is None
    for later in (second, fourth):
        assert later["In-Reply-To"] == first["Message-ID"]
        assert later["References"] == first["Message-ID"]
    # another rumour starts a thread of its own
    assert other["References"] is None and other["X-Rumour-Id"] == "other-rumour"
