from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.logs import setup_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_time_level_logger_message_and_extra_fields() -> None:
    out = io.StringIO()
    setup_logging("info", "json", stream=out)
    logging.getLogger("monitor.polling.poller").info(
        "polled %s", "feed", extra={"feed": "CnEVPost"}
    )
    logging.getLogger("monitor.reading.tracker").debug("hidden at info level")
    try:
        raise ValueError("bad page")
    except ValueError:
        logging.getLogger("monitor.reading.pipeline").exception("failed", extra={"rumour": "x-ev"})
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "info" and first["logger"] == "monitor.polling.poller"
    assert first["message"] == "polled feed" and first["feed"] == "CnEVPost"
    assert first["time"].endswith("+00:00")
    assert second["rumour"] == "x-ev" and "ValueError: bad page" in second["exception"]


def test_text_format_is_one_line_per_event_even_with_a_traceback() -> None:
    out = io.StringIO()
    setup_logging("debug", "text", stream=out)
    log = logging.getLogger("monitor.delivery")
    log.warning("alert failed", extra={"rumour": "acme", "error": "timed out"})
    try:
        raise RuntimeError("smtp down\nsecond line")
    except RuntimeError:
        log.exception("boom")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "WARNING monitor.delivery: alert failed" in lines[0]
    assert 'rumour=acme error="timed out"' in lines[0]
    assert "RuntimeError" in lines[1]


def test_text_format_keeps_a_multi_line_message_on_one_line() -> None:
    # A channel's error can quote a server's HTML error page: the journal must get one entry.
    out = io.StringIO()
    setup_logging("info", "text", stream=out)
    log = logging.getLogger("monitor.alerts.delivery")
    log.warning("alert failed: HTTP 502: <html>\n  <body>Bad gateway</body>\n</html>")
    log.warning("with a field", extra={"error": "line one\nline two"})
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "HTTP 502: <html>\\n  <body>Bad gateway</body>\\n</html>" in lines[0]
    assert 'error="line one\\nline two"' in lines[1]


def test_setup_replaces_earlier_handlers() -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging("info", "text", stream=first)
    setup_logging("info", "json", stream=second)
    logging.getLogger("monitor").info("once")
    assert first.getvalue() == "" and json.loads(second.getvalue())["message"] == "once"


def test_migration_chatter_is_quiet_at_info_but_not_when_debugging() -> None:
    out = io.StringIO()
    setup_logging("info", "text", stream=out)
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    logging.getLogger("alembic.runtime.migration").warning("a real problem")
    assert "Context impl" not in out.getvalue() and "a real problem" in out.getvalue()
    setup_logging("debug", "text", stream=out)
    logging.getLogger("alembic.runtime.migration").info("Running upgrade")
    assert "Running upgrade" in out.getvalue()


def _logged(*args: object, fmt: str = "text", **extra: object) -> str:
    out = io.StringIO()
    setup_logging("debug", "json" if fmt == "json" else "text", stream=out)
    logging.getLogger("monitor.polling").debug(*args, extra=extra)
    return out.getvalue()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T1/B2/XyZ", "https://hooks.slack.com/…"),
        ("https://discord.com/api/webhooks/123/tok", "https://discord.com/…"),
        ("https://acme.webhook.office.com/webhookb2/abc", "https://acme.webhook.office.com/…"),
        ("https://api.telegram.org/bot123:AAE/sendMessage", "https://api.telegram.org/…"),
        (
            "postgresql+psycopg://monitor:pw1234@db.internal/rumours",
            "postgresql+psycopg://db.internal/…",
        ),
        ("https://news.example/feed?token=abc123", "https://news.example/…"),
        ("https://news.example/rss?api_key=abc123&x=1", "https://news.example/…"),
        ("https://cdn.example/a.xml?X-Amz-Signature=f00", "https://cdn.example/…"),
    ],
)
def test_urls_that_may_carry_a_secret_are_cut_to_their_host(url: str, shown: str) -> None:
    line = _logged("HTTP Request: GET %s", url)
    assert shown in line and url not in line


def test_ordinary_urls_stay_readable() -> None:
    url = "https://news.example/2024/05/acme-buys-widget?page=2&utm_source=rss"
    assert url in _logged("HTTP Request: GET %s", url)
    assert "https://hooks.slack.com.evil.example/x" in _logged(
        "https://hooks.slack.com.evil.example/x"
    )


def test_the_configs_secrets_are_hidden_in_messages_fields_and_tracebacks(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.config import load_config
    from monitor.logs import protect

    monkeypatch.setenv("HOOK", "http://127.0.0.1:8080/hooks/team-7/Zq9secret")
    config = write_config(
        '[alerts.slack]\nwebhook_url_env = "HOOK"\n'
        '[alerts.apprise]\nurls = ["ntfy://watcher:hunter22@ntfy.internal/rumours"]\n'
        '[alerts.email]\nhost = "127.0.0.1"\nusername = "m"\npassword_env = "PW"\n'
        'sender = "m@example.org"\nrecipients = ["d@example.org"]\n'
    )
    monkeypatch.setenv("PW", "correct-horse")
    protect(load_config(config))
    line = _logged("POST http://127.0.0.1:8080/hooks/team-7/Zq9secret", fmt="json", to="hunter22")
    record = json.loads(line)
    assert record["message"] == "POST http://127.0.0.1:8080/…" and record["to"] == "***"
    out = io.StringIO()
    setup_logging("debug", "text", stream=out)
    try:
        raise RuntimeError("login correct-horse refused by /hooks/team-7/Zq9secret")
    except RuntimeError:
        logging.getLogger("monitor").exception("failed")
    text = out.getvalue()
    assert "correct-horse" not in text and "Zq9secret" not in text
    assert "RuntimeError: login *** refused by …" in text


def test_a_secret_path_is_hidden_as_a_path_but_not_inside_a_host_name() -> None:
    from monitor.logs import SecretFilter

    secrets = SecretFilter()
    secrets.add_url("http://127.0.0.1:8080/hook")
    assert secrets.redact('"POST /hook HTTP/1.1" 200') == '"POST … HTTP/1.1" 200'
    assert secrets.redact("connect 10.0.0.1:8080/hook failed") == "connect 10.0.0.1:8080… failed"
    # A global filter once holding "/hook" cut "https://hooks.slack.com" to "https:/…s.slack.com".
    assert (
        secrets.redact("https://hooks.example/x and /hooks") == "https://hooks.example/x and /hooks"
    )
