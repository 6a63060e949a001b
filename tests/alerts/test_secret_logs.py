"""Secrets stay out of the log at every level, debug included (the README promises it)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor.cli import cli
from tests.alerts.conftest import PASSWORD, USER, SmtpServer

SLACK_PATH = "/slack/T000/B000/secret"
APPRISE_PASSWORD = "apprise-pass-42"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    # aiosmtpd logs the SMTP dialogue it receives (our AUTH included) to "mail.log": that is
    # the test's server talking, not the monitor, so it stays out of the monitor's stderr.
    server_log = logging.getLogger("mail.log")
    server_level = server_log.level
    server_log.setLevel(logging.WARNING)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    server_log.setLevel(server_level)


def test_debug_logging_names_only_hosts_of_webhooks_and_never_a_password(
    write_config: Callable[..., Path],
    smtp_server: Callable[..., SmtpServer],
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    smtp = smtp_server("none")
    httpserver.expect_request(SLACK_PATH).respond_with_data("ok")
    httpserver.expect_request("/apprise/hook").respond_with_data("ok")
    apprise = f"json://bot:{APPRISE_PASSWORD}@127.0.0.1:{httpserver.port}/apprise/hook"
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("TEST_SLACK_HOOK", httpserver.url_for(SLACK_PATH))
    monkeypatch.setenv("TEST_APPRISE_URLS", apprise)
    config = write_config(
        f"""
[alerts.email]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
username = "{USER}"
password_env = "TEST_SMTP_PASSWORD"
sender = "monitor@example.org"
recipients = ["desk@example.org"]

[alerts.slack]
webhook_url_env = "TEST_SLACK_HOOK"

[alerts.apprise]
urls_env = "TEST_APPRISE_URLS"
"""
    )
    result = CliRunner().invoke(
        cli, ["--config", str(config), "--log-level", "debug", "alerts", "test"]
    )
    assert result.exit_code == 0, result.output
    assert len(smtp.messages) == 1 and len(httpserver.log) == 2  # everything was really sent
    err = result.stderr
    slack_base = httpserver.url_for("").rstrip("/")  # localhost or 127.0.0.1
    assert f"HTTP Request: POST {slack_base}/…" in err  # debug logging ran, the host is there
    for secret in ("/T000/B000", "secret", PASSWORD, APPRISE_PASSWORD, "/apprise/hook"):
        assert secret not in err, f"{secret!r} in the debug log"
    plain = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    assert plain not in err and base64.b64encode(PASSWORD.encode()).decode() not in err
    assert f"http://127.0.0.1:{httpserver.port}/…" in err  # Apprise's request, host only
