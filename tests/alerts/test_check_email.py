"""`check --alerts` and the email probe against a real aiosmtpd server: greeted, nothing sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.alerts.email import EmailChannel
from monitor.cli import cli
from monitor.config import Config
from monitor.errors import DeliveryError
from tests.alerts.conftest import Cert, SmtpServer, email_toml, free_port


def _check(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), "check", "--no-model", *args])
    return result.exit_code, result.stdout


def _email_line(out: str) -> str:
    return next(line for line in out.splitlines() if line[6:].startswith("email: "))


def test_check_alerts_greets_the_smtp_server_and_sends_nothing(
    write_config: Callable[..., Path], smtp_server: Callable[..., SmtpServer]
) -> None:
    server = smtp_server("none")
    config = write_config(email_toml(server.port))
    _, out = _check(config)  # offline by default
    assert _email_line(out).endswith(
        f"127.0.0.1:{server.port} (none) (not contacted: pass --alerts)"
    )
    _, out = _check(config, "--alerts")
    line = _email_line(out)
    assert line.startswith(f"ok    email: 127.0.0.1:{server.port} (none) answered EHLO")
    assert "no login, nothing sent" in line
    assert server.messages == []


def test_check_alerts_fails_when_nothing_listens(write_config: Callable[..., Path]) -> None:
    config = write_config(email_toml(free_port()))
    code, out = _check(config, "--alerts")
    assert code == 1
    line = _email_line(out)
    assert line.startswith("FAIL  email: email via 127.0.0.1:") and "refused" in line.lower()
    assert "service" in out  # the checks after it still ran


def test_probe_upgrades_to_starttls_with_a_verified_certificate(
    smtp_server: Callable[..., SmtpServer], alert_config: Callable[..., Config], tls_cert: Cert
) -> None:
    server = smtp_server("starttls")
    cfg = alert_config(email_toml(server.port, "starttls")).alerts.email
    assert cfg is not None
    said = EmailChannel(cfg, ssl_context=tls_cert.client_context()).probe()
    assert said.endswith("answered EHLO, STARTTLS ok")
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        EmailChannel(cfg).probe()  # the system store does not know the test certificate
    assert server.messages == []


def test_check_alerts_fails_when_the_server_offers_no_login_for_the_username(
    write_config: Callable[..., Path], smtp_server: Callable[..., SmtpServer]
) -> None:
    server = smtp_server("none", auth=False)  # a relay that takes mail without AUTH
    config = write_config(email_toml(server.port))  # ... configured with a username
    code, out = _check(config, "--alerts")
    assert code == 1
    line = _email_line(out)
    assert line.startswith(f"FAIL  email: email via 127.0.0.1:{server.port} (none): server")
    assert "offers no AUTH" in line and "remove `username`" in line
    assert server.messages == []


def test_probe_finds_the_login_offered_only_after_starttls(
    smtp_server: Callable[..., SmtpServer], alert_config: Callable[..., Config], tls_cert: Cert
) -> None:
    server = smtp_server("starttls")  # AUTH is advertised only on the secured connection
    cfg = alert_config(email_toml(server.port, "starttls")).alerts.email
    assert cfg is not None and cfg.username
    said = EmailChannel(cfg, ssl_context=tls_cert.client_context()).probe()
    assert said.endswith("answered EHLO, STARTTLS ok")
