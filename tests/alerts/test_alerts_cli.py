"""`rumour-monitor alerts ...` end to end, with real local SMTP and webhook servers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor.cli import cli
from monitor.config import apprise_channel
from monitor.db import Database
from monitor.db.models import Alert
from tests.alerts.conftest import USER, SmtpServer, add_transition

HOOK = "/services/T1/B1/TOKEN"


def _run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def _both(smtp_port: int) -> str:
    return f"""
[alerts.email]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
username = "{USER}"
password_env = "TEST_SMTP_PASSWORD"
sender = "monitor@example.org"
recipients = ["desk@example.org"]

[alerts.slack]
webhook_url_env = "TEST_SLACK_HOOK"
"""


def test_alerts_test_goes_to_the_console_by_default(write_config: Callable[..., Path]) -> None:
    code, out, _ = _run(write_config(), "alerts", "test")
    assert code == 0
    assert "[rumour] test: unconfirmed -> confirmed" in out
    assert out.rstrip().endswith("console: sent")


def test_alerts_test_reports_each_configured_channel(
    write_config: Callable[..., Path],
    smtp_server: Callable[..., SmtpServer],
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = smtp_server("none")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret-pass")
    monkeypatch.setenv("TEST_SLACK_HOOK", httpserver.url_for(HOOK))
    httpserver.expect_ordered_request(HOOK).respond_with_data("ok")
    httpserver.expect_ordered_request(HOOK).respond_with_data("no_service", status=404)
    config = write_config(_both(server.port))

    code, out, _ = _run(config, "alerts", "test")
    assert code == 0, out
    assert "email: sent" in out and "slack: sent" in out
    assert len(server.messages) == 1 and server.messages[0].login == USER
    assert server.messages[0].message["Subject"].startswith("[rumour] Test alert")

    code, out, _ = _run(config, "alerts", "test")
    assert code == 1
    assert "email: sent" in out
    assert "slack: FAILED: slack webhook at 127.0.0.1" in out and "HTTP 404: no_service" in out
    assert "TOKEN" not in out
    assert len(server.messages) == 2


def test_alerts_test_includes_each_apprise_url(
    write_config: Callable[..., Path], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/ok").respond_with_data("ok")
    httpserver.expect_request("/down").respond_with_data("no", status=500)
    ok = f"json://127.0.0.1:{httpserver.port}/ok"
    down = f"json://127.0.0.1:{httpserver.port}/down"
    monkeypatch.setenv("TEST_APPRISE_URLS", f"{ok}, {down}")
    config = write_config('[alerts.apprise]\nurls_env = "TEST_APPRISE_URLS"\n')

    code, out, _ = _run(config, "alerts", "test")
    assert code == 1, out
    assert f"{apprise_channel(ok)}: sent" in out
    assert f"{apprise_channel(down)}: FAILED: apprise json://127.0.0.1:" in out
    assert "error=500" in out
    assert json.loads(httpserver.log[0][0].get_data())["title"].startswith("[rumour] Test alert")


def test_alerts_deliver_and_list(
    write_config: Callable[..., Path], db: Database, smtp_server: Callable[..., SmtpServer]
) -> None:
    server = smtp_server("none", auth=False)
    config = write_config(
        f"""
[alerts.email]
host = "127.0.0.1"
port = {server.port}
security = "none"
sender = "monitor@example.org"
recipients = ["desk@example.org"]
""",
        db_url=db.url,
    )
    add_transition(db, ["email"], url="https://news.example/a")
    add_transition(db, ["slack"], url="https://news.example/b")  # slack is not configured

    code, out, _ = _run(config, "alerts", "deliver", "--json")
    assert code == 0
    outcomes = {o["channel"]: o for o in json.loads(out)}
    assert outcomes["email"]["status"] == "sent" and len(server.messages) == 1
    assert outcomes["slack"]["status"] == "pending"

    code, out, _ = _run(config, "alerts", "list", "--json")
    rows = {r["channel"]: r for r in json.loads(out)}
    assert rows["email"]["status"] == "sent" and rows["email"]["sent_at"]
    assert rows["slack"]["attempts"] == 1 and "not configured" in rows["slack"]["last_error"]
    assert rows["slack"]["from"] == "unconfirmed" and rows["slack"]["to"] == "formalized"

    code, out, _ = _run(config, "alerts", "list", "--status", "pending")
    assert code == 0 and "slack" in out and "email" not in out.splitlines()[2]

    code, out, _ = _run(config, "alerts", "deliver")  # not due again yet: nothing happens
    assert code == 0 and "0 sent, 0 to retry, 0 failed" in out
    assert len(server.messages) == 1


def test_alerts_retry_needs_ids_or_all_failed(write_config: Callable[..., Path]) -> None:
    code, _, err = _run(write_config(), "alerts", "retry")
    assert code == 2 and "--all-failed" in err


def test_alerts_retry_names_ids_it_could_not_retry(
    write_config: Callable[..., Path], db: Database
) -> None:
    config = write_config(db_url=db.url)
    failed, sent = add_transition(db, ["email", "slack"])
    with db.transaction() as s:
        s.get(Alert, failed).status = "failed"  # type: ignore[union-attr]
        s.get(Alert, sent).status = "sent"  # type: ignore[union-attr]

    code, out, err = _run(config, "alerts", "retry", str(failed), str(sent), "999")
    assert code == 2
    assert "1 failed alert(s) queued again" in out
    assert f"alert {sent} is sent, not failed" in err and "no such alert: 999" in err
    with db.transaction() as s:
        assert s.get(Alert, failed).status == "pending"  # type: ignore[union-attr]
        assert s.get(Alert, sent).status == "sent"  # type: ignore[union-attr]


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_alerts_list_limit_must_be_positive(write_config: Callable[..., Path], limit: str) -> None:
    # PostgreSQL refuses LIMIT -1 with a traceback; SQLite took it as "no limit"
    code, _, err = _run(write_config(), "alerts", "list", "--limit", limit)
    assert code == 2 and "--limit" in err


def _mark_articles_processed(db: Database) -> None:
    """The outbox rows are what matters here; the pipeline (and its model) has nothing to do."""
    from sqlalchemy import update

    from monitor.db.models import Article, utcnow

    with db.transaction() as s:
        s.execute(update(Article).values(processed_at=utcnow()))


@pytest.mark.parametrize("command", [["alerts", "deliver", "--json"], ["poll", "--json"]])
def test_json_output_stays_parseable_when_alerts_go_to_the_console(
    write_config: Callable[..., Path], db: Database, command: list[str]
) -> None:
    # No channel configured: the alert is printed on the console. stdout carries the JSON
    # document for scripts (`| jq`), so the alert must go to stderr instead.
    config = write_config(db_url=db.url)
    add_transition(db, ["console"])
    _mark_articles_processed(db)
    code, out, err = _run(config, *command)
    assert code == 0
    json.loads(out)
    assert "[rumour] xiaomi-gwm: unconfirmed -> formalized" in err


def test_alerts_test_json_reports_each_channel_and_keeps_stdout_parseable(
    write_config: Callable[..., Path], httpserver: HTTPServer
) -> None:
    code, out, err = _run(write_config(), "alerts", "test", "--json")
    assert code == 0
    assert json.loads(out) == [{"channel": "console", "status": "sent", "error": None}]
    assert "[rumour] test: unconfirmed -> confirmed" in err  # the console alert itself
    httpserver.expect_request(HOOK).respond_with_data("no_service", status=404)
    config = write_config(f'[alerts.slack]\nwebhook_url = "{httpserver.url_for(HOOK)}"\n')
    code, out, _ = _run(config, "alerts", "test", "--json")
    assert code == 1
    (slack,) = json.loads(out)
    assert (slack["channel"], slack["status"]) == ("slack", "failed")
    assert "HTTP 404: no_service" in slack["error"] and "TOKEN" not in out


def test_alerts_retry_json_names_what_it_did(
    write_config: Callable[..., Path], db: Database
) -> None:
    config = write_config(db_url=db.url)
    failed, sent = add_transition(db, ["email", "slack"])
    with db.transaction() as s:
        s.get(Alert, failed).status = "failed"  # type: ignore[union-attr]
        s.get(Alert, sent).status = "sent"  # type: ignore[union-attr]
    code, out, _ = _run(config, "alerts", "retry", str(failed), str(sent), "999", "--json")
    assert code == 2
    assert json.loads(out) == {
        "requeued": 1,
        "not_failed": [{"id": sent, "status": "sent"}],
        "unknown": [999],
    }


def test_alerts_drop_deletes_unsent_alerts_only(
    write_config: Callable[..., Path], db: Database
) -> None:
    config = write_config(db_url=db.url)
    pending, sent = add_transition(db, ["email", "slack"])
    add_transition(db, ["email"], url="https://news.example/2")  # pending too
    with db.transaction() as s:
        s.get(Alert, sent).status = "sent"  # type: ignore[union-attr]
    code, out, err = _run(config, "alerts", "drop", str(pending), str(sent))
    assert code == 0 and out.strip() == "1 unsent alert(s) dropped"
    assert f"alert {sent} is sent: left as it is" in err
    code, out, _ = _run(config, "alerts", "drop", "--all-pending", "--json")
    assert code == 0 and json.loads(out) == {"dropped": 1, "not_dropped": []}
    with db.sessions() as s:
        assert [a.id for a in s.query(Alert)] == [sent]
    assert _run(config, "alerts", "drop")[0] == 2  # names nothing: a usage error
