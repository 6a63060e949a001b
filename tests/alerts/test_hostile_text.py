"""Terminal control characters from a feed reach no reader: one hostile story, polled for real,
then every output that shows it (console alert, email, Slack, web view, history, status, feeds).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor.cli import cli
from monitor.db import Database
from monitor.db.models import Feed
from monitor.service.health import HealthCheck, StatusServer
from monitor.service.metrics import Metrics
from tests.alerts.conftest import SmtpServer, email_toml, slack_toml
from tests.conftest import SEED

# Clear the screen, home the cursor, retitle the terminal, turn red (C1 CSI), backspace,
# carriage return, DEL: what a hostile or broken feed can put in a headline.
HOSTILE = "\x1b[2J\x1b[H\x1b]0;owned\x07\x9b31m\x08\r\x7f"
TITLE = f"Acme Corp signed{HOSTILE} a definitive agreement to buy Widget Works"
TEXT = (
    f"Acme Corp signed a definitive agreement to buy Widget Works,{HOSTILE} the companies said"
    " on Monday.\x07 The deal is expected to close in May."
)
CLEAN_TITLE = "Acme Corp signed a definitive agreement to buy Widget Works"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _run(config: Path, *args: str) -> str:
    # color=True: as on a terminal, where click would not strip escape sequences itself
    result = CliRunner().invoke(cli, ["--config", str(config), *args], color=True)
    assert result.exit_code == 0, result.output
    return result.stdout


def _assert_clean(where: str, text: str) -> None:
    found = CONTROL.search(text)
    assert found is None, f"{where}: control character {found.group()!r} in {text!r}"


@pytest.fixture
def feed_url(threaded_server: HTTPServer) -> str:
    base = threaded_server.url_for("").rstrip("/")
    item = {
        "id": "story-1",
        "url": f"{base}/story-1",  # answers 404: the item's own text is used
        "title": TITLE,
        "content_text": TEXT,
        "date_published": "2024-05-06T12:00:00Z",
    }
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Wire", "items": [item]}
    threaded_server.expect_request("/feed.json").respond_with_json(feed)
    threaded_server.no_handler_status_code = 404
    return f"{base}/feed.json"


def _config(folder: Path, feed_url: str, alerts: str = "") -> Path:
    """An installation of its own in `folder`: config, the test seeds, an `init`-ed database."""
    (folder / "seeds").mkdir(parents=True)
    (folder / "seeds" / "test.toml").write_text(SEED, encoding="utf-8")
    config = folder / "config.toml"
    config.write_text(
        f'[polling]\nhost_delay = "0s"\ntimeout = "5s"\n{alerts}\n'
        f'[[feeds]]\nname = "Wire"\nurl = "{feed_url}"\n',
        encoding="utf-8",
    )
    _run(config, "init")
    return config


@pytest.fixture
def web() -> Iterator[Callable[[Path], httpx.Client]]:
    servers: list[StatusServer] = []
    databases: list[Database] = []

    def open_site(config: Path) -> httpx.Client:
        database = Database(f"sqlite:///{config.parent / 'state' / 'rumours.db'}")
        databases.append(database)
        health = HealthCheck(database, scheduler_running=lambda: True)
        server = StatusServer("127.0.0.1:0", health, Metrics()).start()
        servers.append(server)
        return httpx.Client(base_url=f"http://{server.address}", timeout=30)

    yield open_site
    for server in servers:
        server.stop()
    for database in databases:
        database.dispose()


def test_a_hostile_headline_reaches_no_output_with_its_control_characters(
    tmp_path: Path,
    feed_url: str,
    smtp_server: Callable[..., SmtpServer],
    httpserver: HTTPServer,
    web: Callable[[Path], httpx.Client],
    encoder: object,
) -> None:
    # No alert channel: the alert is printed by `poll` itself, on the console.
    console = _config(tmp_path / "console", feed_url)
    out = _run(console, "poll")
    assert f"article:    {CLEAN_TITLE}" in out  # the alert was printed, without the controls
    _assert_clean("poll (console alert)", out)

    # Email and Slack: a second installation polling the same feed.
    smtp = smtp_server("none")
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    channels = email_toml(smtp.port) + slack_toml(httpserver.url_for("/hook")).replace(
        '[alerts]\nmax_attempts = 3\nbackoff = "1m"\n', ""
    )
    delivered = _config(tmp_path / "channels", feed_url, channels)
    assert "alerts: 2 sent" in _run(delivered, "poll")
    (mail,) = smtp.messages
    plain = mail.message.get_body(("plain",))
    assert plain is not None and CLEAN_TITLE in plain.get_content()
    _assert_clean("email text part", plain.get_content().replace("\r\n", "\n"))  # SMTP's CRLF
    _assert_clean("email subject", str(mail.message["Subject"]))
    payload = json.loads(httpserver.log[0][0].get_data(as_text=True))
    assert CLEAN_TITLE in json.dumps(payload, ensure_ascii=False)
    _assert_clean("slack payload", json.dumps(payload, ensure_ascii=False))

    # What people read later: the CLI and the web view.
    for args in (["history", "acme-widgets"], ["status"], ["feeds"]):
        _assert_clean(" ".join(args), _run(console, *args))
    data = json.loads(_run(console, "history", "acme-widgets", "--json"))
    # the feed's whitespace rules made the carriage return a space
    assert " ".join(data["transitions"][0]["title"].split()) == CLEAN_TITLE
    _assert_clean("history --json", json.dumps(data, ensure_ascii=False))
    with web(console) as client:
        for page in ("/", "/rumours/acme-widgets", "/rumours/acme-widgets.json", "/feeds"):
            response = client.get(page)
            assert response.status_code == 200, page
            _assert_clean(page, response.text)
        assert CLEAN_TITLE in " ".join(client.get("/rumours/acme-widgets").text.split())


def test_a_feed_error_is_stored_without_control_characters(sqlite_db: Database) -> None:
    with sqlite_db.transaction() as session:
        session.add(
            Feed(
                name="Wire",
                config_url="https://wire.example/feed",
                url="https://wire.example/feed",
                last_error=f"https://wire.example/feed: HTTP 503: {HOSTILE}busy",
                error_count=1,
            )
        )
    with sqlite_db.sessions() as session:
        feed = session.query(Feed).one()
    assert feed.last_error == "https://wire.example/feed: HTTP 503: busy"
