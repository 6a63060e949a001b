"""A feed's pages: fetched a few at a time, and only within the feed's share of the poll."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request, Response

from monitor.config import Config, load_config
from monitor.db import Database
from monitor.db.models import Article, Feed
from monitor.errors import MonitorError
from monitor.polling import Fetcher, poll_feed, poll_feeds
from monitor.polling.subscriptions import sync_feeds

NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)
PAGE = (
    "<html><head><title>Story {n}</title></head><body><article><h1>Story {n}</h1>"
    + "<p>Northwind Motors said on Monday that story {n} is about a battery plant, a supply "
    "contract and the cost of lithium, which analysts expect to keep falling this year.</p>"
    * 3
    + "</article></body></html>"
)


def _feed_xml(base: str, count: int) -> str:
    items = "".join(
        f"<item><title>Story {n}</title><link>{base}/story/{n}</link><guid>s{n}</guid>"
        f"<pubDate>Mon, 20 May 2024 0{n % 10}:00:00 GMT</pubDate>"
        f"<description>Summary of story {n}.</description></item>"
        for n in range(count)
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>S</title>'
    return f"{head}{items}</channel></rss>"


class SlowPages:
    """Answers each page after `delay` seconds and counts how many were in flight at once."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.active = self.peak = self.served = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.delay)
        with self._lock:
            self.active -= 1
            self.served += 1
        n = request.path.rsplit("/", 1)[1]
        return Response(PAGE.format(n=n), content_type="text/html; charset=utf-8")


def _config(
    write_config: Callable[..., Path], db: Database, url: str, *, budget: str = "2m"
) -> Config:
    body = (
        f'[polling]\nhost_delay = "0s"\ntimeout = "5s"\nhost_concurrency = 2\n'
        f'feed_budget = "{budget}"\n\n[[feeds]]\nname = "Stories"\nurl = "{url}"\n'
    )
    config = load_config(write_config(body, db_url=db.url))
    with db.transaction() as session:
        sync_feeds(session, config.feeds)
    return config


def _serve(threaded_server: HTTPServer, count: int, pages: SlowPages) -> str:
    base = threaded_server.url_for("").rstrip("/")
    threaded_server.expect_request("/feed").respond_with_data(
        _feed_xml(base, count), content_type="application/rss+xml"
    )
    for n in range(count):
        threaded_server.expect_request(f"/story/{n}").respond_with_handler(pages)
    return f"{base}/feed"


def test_a_feeds_pages_are_fetched_host_concurrency_at_a_time(
    write_config: Callable[..., Path], sqlite_db: Database, threaded_server: HTTPServer
) -> None:
    pages = SlowPages(delay=0.3)
    config = _config(write_config, sqlite_db, _serve(threaded_server, 6, pages))
    with Fetcher(config.polling) as fetcher:
        (report,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    assert report.new_articles == 6 and report.pages_fetched == 6 and report.pages_deferred == 0
    assert pages.peak == 2  # one at a time before; never more than host_concurrency
    with sqlite_db.sessions() as session:
        stored = list(session.scalars(select(Article).order_by(Article.published_at)))
    assert [a.title for a in stored] == [f"Story {n}" for n in range(6)]  # feed order kept
    assert all(a.extraction == "page" for a in stored)


def test_pages_past_the_feed_budget_wait_for_the_next_poll_and_are_never_lost(
    write_config: Callable[..., Path], sqlite_db: Database, threaded_server: HTTPServer
) -> None:
    pages = SlowPages(delay=0.6)
    url = _serve(threaded_server, 6, pages)
    config = _config(write_config, sqlite_db, url, budget="1s")
    with Fetcher(config.polling) as fetcher:
        (first,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    # Two rounds of two pages fit in the budget at most; the rest is not even asked for.
    assert first.pages_deferred >= 2 and first.pages_fetched + first.pages_deferred == 6
    assert pages.served == first.pages_fetched
    assert first.new_articles == 6  # every entry is stored now, from its summary if need be
    with sqlite_db.sessions() as session:
        waiting = list(session.scalars(select(Article).where(Article.retry_page.is_(True))))
    assert len(waiting) == first.pages_deferred
    assert all(a.extraction == "summary" and a.text.startswith("Summary of") for a in waiting)

    roomy = _config(write_config, sqlite_db, url)
    with Fetcher(roomy.polling) as fetcher:
        (second,) = poll_feeds(
            sqlite_db, roomy, fetcher, due_only=False, now=NOW + timedelta(minutes=20)
        )
    assert second.new_articles == 0 and second.pages_deferred == 0
    assert sorted(second.updated_article_ids) == sorted(a.id for a in waiting)
    with sqlite_db.sessions() as session:
        articles = list(session.scalars(select(Article)))
    assert len(articles) == 6 and all(a.extraction == "page" and not a.retry_page for a in articles)
    assert all(a.processed_at is None for a in articles)  # the reading stage takes it from here


def test_poll_feed_polls_one_feed_by_id(
    write_config: Callable[..., Path], sqlite_db: Database, threaded_server: HTTPServer
) -> None:
    config = _config(write_config, sqlite_db, _serve(threaded_server, 2, SlowPages(0.0)))
    with sqlite_db.sessions() as session:
        feed_id = session.scalars(select(Feed.id)).one()
    with Fetcher(config.polling) as fetcher:
        report = poll_feed(sqlite_db, config, fetcher, feed_id, now=NOW)
        assert report.feed == "Stories" and report.new_articles == 2
        again = poll_feed(sqlite_db, config, fetcher, feed_id, now=NOW)  # due or not
        assert again.outcome == "new" and again.new_articles == 0  # nothing stored twice
        with pytest.raises(MonitorError, match="no feed with id 999"):
            poll_feed(sqlite_db, config, fetcher, 999, now=NOW)
