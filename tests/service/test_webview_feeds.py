"""`/feeds` and `/feeds.json`: each feed's health in the web view, as `feeds` shows it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from monitor.db import Database
from monitor.db.models import Feed, Rumour
from monitor.service.webview import STYLE
from tests.service.test_webview import cli_stdout, serve

AT = datetime(2021, 3, 30, 9, 0, tzinfo=UTC)
EVIL_ERROR = "https://broken.example/rss: HTTP 500 <script>alert('feed')</script>"
EVIL_URL = "javascript:alert(document.cookie)"
FEEDS = """
[[feeds]]
name = "Wire"
url = "https://wire.example/rss?a=1&b=2"
credibility = 0.7
interval = "30m"

[[feeds]]
name = "Broken"
url = "https://broken.example/rss"

[[feeds]]
name = "Paused"
url = "https://paused.example/rss"
enabled = false

[[feeds]]
name = "Gone"
url = "https://gone.example/rss"

[[feeds]]
name = "Hostile"
url = "https://hostile.example/rss"
"""


def _set_health(db: Database) -> None:
    """After `init`: Wire healthy, Broken failing three times with a hostile error, Gone
    disabled by its server, Hostile now fetched from a `javascript:` URL; Paused as configured."""
    with db.transaction() as s:
        feeds = {f.name: f for f in s.scalars(select(Feed))}
        wire = feeds["Wire"]
        wire.last_checked_at = wire.last_success_at = AT
        wire.next_check_at = AT + timedelta(minutes=30)
        broken = feeds["Broken"]
        broken.last_checked_at, broken.error_count, broken.last_error = AT, 3, EVIL_ERROR
        broken.next_check_at = AT + timedelta(hours=2)
        gone = feeds["Gone"]
        gone.enabled, gone.disabled_reason = (
            False,
            "410 Gone at https://gone.example/rss on 2021-03-29",
        )
        gone.next_check_at = AT
        feeds["Hostile"].url = EVIL_URL


@pytest.fixture
def site(write_config: Callable[..., Path], db_url: str) -> Iterator[tuple[httpx.Client, Path]]:
    """The real listener over an `init`-ed database with five feeds, and its config."""
    config = write_config(FEEDS, db_url=db_url)
    cli_stdout(config, "init")
    database = Database(db_url)
    _set_health(database)
    with serve(database) as client:
        yield client, config
    database.dispose()


def _row(html: str, name: str) -> str:
    start = html.index(f"<td>{name}</td>")
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


def test_feeds_page_shows_each_feed_with_its_health(site: tuple[httpx.Client, Path]) -> None:
    client, _ = site
    response = client.get("/feeds")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert "<h1>Feeds</h1>" in html and "5 feeds" in html
    assert '<span class="bad">1 failing</span>' in html and "2 disabled" in html
    assert [m for m in re.findall(r"<tr class=\"\w+\"><td>(\w+)</td>", html)] == [
        "Broken",
        "Gone",
        "Hostile",
        "Paused",
        "Wire",
    ]
    wire = _row(html, "Wire")
    assert wire.startswith('<tr class="ok">') and 'f-ok">ok<' in wire
    link = '<a href="https://wire.example/rss?a=1&amp;b=2" rel="noopener noreferrer">'
    assert link in wire
    assert 'data-label="Credibility">0.70</td>' in wire and 'data-label="Interval">30m</td>' in wire
    assert "2021-03-30 09:00Z" in wire and "2021-03-30 09:30Z" in wire  # success, next check
    broken = _row(html, "Broken")
    assert broken.startswith('<tr class="failing">') and 'f-failing">failing<' in broken
    assert '<span class="bad">3</span>' in broken and "2021-03-30 11:00Z" in broken
    assert 'data-label="Credibility">0.60</td>' in broken
    assert 'data-label="Interval">15m</td>' in broken
    assert "HTTP 500" in broken
    gone = _row(html, "Gone")
    assert gone.startswith('<tr class="disabled">')
    assert "410 Gone at https://gone.example/rss on 2021-03-29" in gone and "not checked" in gone
    paused = _row(html, "Paused")
    assert paused.startswith('<tr class="disabled">') and "enabled = false in config" in paused
    assert 'f-new">new<' in _row(html, "Hostile")  # never checked yet: not "ok"
    assert "tr.failing td{" in STYLE and "tr.disabled td{" in STYLE


def test_feed_errors_are_escaped_and_unsafe_urls_are_not_links(
    site: tuple[httpx.Client, Path],
) -> None:
    client, _ = site
    html = client.get("/feeds").text
    assert "<script" not in html.lower() and 'href="javascript:' not in html.lower()
    assert "HTTP 500 &lt;script&gt;alert(&#39;feed&#39;)&lt;/script&gt;" in html
    hostile = _row(html, "Hostile")
    assert "<a " not in hostile and "javascript:alert(document.cookie)" in hostile


def test_feeds_json_is_what_the_cli_prints(site: tuple[httpx.Client, Path]) -> None:
    client, config = site
    web = client.get("/feeds.json")
    assert web.status_code == 200 and web.headers["content-type"] == "application/json"
    assert web.text == cli_stdout(config, "feeds", "--json")
    rows = {row["name"]: row for row in web.json()}
    assert rows["Broken"]["last_error"] == EVIL_ERROR and rows["Broken"]["error_count"] == 3
    assert rows["Wire"]["credibility"] == 0.7 and rows["Wire"]["interval_seconds"] == 1800
    assert rows["Gone"]["enabled"] is False and rows["Paused"]["disabled_reason"] is None


def test_feed_answers_carry_the_security_headers_and_answer_head(
    site: tuple[httpx.Client, Path],
) -> None:
    client, _ = site
    for path in ("/feeds", "/feeds.json"):
        got, head = client.get(path), client.head(path)
        for response in (got, head):
            assert response.status_code == 200, path
            assert "default-src 'none'" in response.headers["content-security-policy"]
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
        assert head.content == b"" and head.headers["content-length"] == str(len(got.content))
    assert client.post("/feeds").status_code == 405


def test_every_page_links_to_the_feeds(site: tuple[httpx.Client, Path]) -> None:
    client, _ = site
    for path in ("/", "/rumours/acme-widgets", "/feeds", "/nowhere"):
        html = client.get(path).text
        assert '<a href="/feeds">feeds</a>' in html, path
        assert '<a href="/feeds.json">' in html, path


def test_rumour_ids_do_not_wrap_at_their_hyphens(sqlite_db: Database) -> None:
    with sqlite_db.transaction() as s:
        s.add(Rumour(id="acme-widget-works-deal", claim="Acme will buy Widget Works"))
    with serve(sqlite_db) as client:
        html = client.get("/").text
    assert '<td class="id"><a href="/rumours/acme-widget-works-deal">' in html
    rule = re.search(r"([^{}]*)\{white-space:nowrap\}", STYLE)
    assert rule and "td.id" in rule.group(1).split(",")


def test_no_feeds_says_how_to_add_one(sqlite_db: Database) -> None:
    with serve(sqlite_db) as client:
        page = client.get("/feeds")
        data = client.get("/feeds.json")
    assert page.status_code == 200 and "<table>" not in page.text
    assert "<code>[[feeds]]</code>" in page.text and "rumour-monitor init" in page.text
    assert data.text == "[]\n"
