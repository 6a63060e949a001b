from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from werkzeug import Request, Response

from monitor.config import Config, load_config
from monitor.db import Database
from monitor.db.models import Article, Feed, FeedEntry
from monitor.polling.articles import read_article
from monitor.polling.feeditems import FeedItem
from monitor.polling.fetch import Fetcher
from monitor.polling.outcome import FeedReport, backoff_seconds
from monitor.polling.poller import poll_feeds
from monitor.polling.subscriptions import sync_feeds
from tests.helpers import FIXTURES, fixture_bytes, fixture_text, polling

NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)
RSS = "application/rss+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    # Roomy enough for a loaded two-core machine: a 1 s timeout failed healthy local feeds.
    with Fetcher(polling(timeout=5.0)) as f:
        yield f


Setup = Callable[..., Config]


@pytest.fixture
def setup(write_config: Callable[..., Path]) -> Setup:
    """Write a config with the given feeds and sync them into the database."""

    def make(db: Database, feeds: dict[str, str], interval: str = "15m") -> Config:
        body = '[polling]\nhost_delay = "0s"\ntimeout = "1s"\nconcurrency = 4\n'
        for name, url in feeds.items():
            body += f'\n[[feeds]]\nname = "{name}"\nurl = "{url}"\ninterval = "{interval}"\n'
        config = load_config(write_config(body, db_url=db.url))
        with db.transaction() as session:
            sync_feeds(session, config.feeds)
        return config

    return make


def _serve_page(
    threaded_server: HTTPServer, path: str, fixture: str, content_type: str = HTML
) -> None:
    threaded_server.expect_request(path).respond_with_data(
        (FIXTURES / "pages" / fixture).read_bytes(), content_type=content_type
    )


def _articles(db: Database) -> dict[str, Article]:
    with db.sessions() as s:
        return {a.title: a for a in s.scalars(select(Article))}


def _feed(db: Database, name: str) -> Feed:
    with db.sessions() as s:
        feed = s.scalars(select(Feed).where(Feed.name == name)).one()
        s.expunge(feed)
        return feed


def _by_feed(reports: list[FeedReport]) -> dict[str, FeedReport]:
    return {r.feed: r for r in reports}


def _serve_ledger(threaded_server: HTTPServer, etag: str = '"v1"') -> None:
    base = threaded_server.url_for("").rstrip("/")
    threaded_server.expect_request("/feed", headers={"If-None-Match": etag}).respond_with_data(
        "", status=304
    )
    threaded_server.expect_request("/feed").respond_with_data(
        fixture_text("feeds/rss20.xml", base), content_type=RSS, headers={"ETag": etag}
    )
    _serve_page(threaded_server, "/autos/northwind-contoso", "article_chrome.html")
    # the header claims utf-8, the bytes are windows-1252
    _serve_page(threaded_server, "/business/fabrikam-cfo", "fabrikam_cfo.html")


def test_first_poll_stores_each_article_and_a_repoll_costs_one_request(
    db: Database, threaded_server: HTTPServer, fetcher: Fetcher, setup: Setup
) -> None:
    _serve_ledger(threaded_server)
    threaded_server.expect_request("/travel/tailspin-jets").respond_with_data("gone", status=404)
    config = setup(db, {"Ledger": threaded_server.url_for("/feed")})

    (report,) = poll_feeds(db, config, fetcher, due_only=True, now=NOW)
    assert report.outcome == "new" and report.new_articles == 3 and report.entries == 3
    assert report.error is None and report.next_check_at == NOW + timedelta(minutes=15)
    arts = _articles(db)
    northwind = arts["Northwind Motors weighs battery tie-up with Contoso Cells"]
    assert northwind.id in report.article_ids
    assert northwind.canonical_url == threaded_server.url_for(
        "/autos/northwind-contoso"
    )  # no utm_*
    assert northwind.extraction == "page" and "port city of Lindqvist" in (northwind.text or "")
    assert "cookie" not in (northwind.text or "").lower()
    assert "gearhead88" not in (northwind.text or "")
    assert northwind.published_at == datetime(2024, 5, 14, 6, 30, tzinfo=UTC)  # entry's date
    assert northwind.author == "Priya Valdés" and northwind.site == "Harbour Ledger"
    assert northwind.processed_at is None and northwind.source == "Ledger"
    fabrikam = arts["Fabrikam Robotics names new chief financial officer"]
    assert "appointed Inés Okafor" in (fabrikam.text or "")  # decoded despite the wrong label
    tailspin = arts["Tailspin Air orders twelve regional jets"]
    assert tailspin.extraction == "summary" and not tailspin.retry_page  # 404: not retried
    assert (
        tailspin.text == "Tailspin Air said the order would replace its oldest turboprops by 2027."
    )
    assert tailspin.published_at == NOW  # no entry date, no page: the fetch time
    assert all(a.published_at.tzinfo is not None for a in arts.values())
    feed = _feed(db, "Ledger")
    assert feed.etag == '"v1"' and feed.last_success_at == NOW and feed.error_count == 0

    requests = fetcher.requests
    later = NOW + timedelta(minutes=20)
    (again,) = poll_feeds(db, config, fetcher, due_only=True, now=later)
    assert again.outcome == "not-modified" and again.new_articles == 0
    assert fetcher.requests == requests + 1  # the feed only: no page fetched
    assert len(_articles(db)) == 3


def test_a_json_feed_is_polled_and_stored_like_an_rss_feed(
    db: Database, threaded_server: HTTPServer, fetcher: Fetcher, setup: Setup
) -> None:
    base = threaded_server.url_for("").rstrip("/")
    threaded_server.expect_request("/feed.json").respond_with_data(
        fixture_text("feeds/jsonfeed11.json", base),
        content_type="application/feed+json",
        headers={"ETag": '"j1"'},
    )
    _serve_page(threaded_server, "/autos/northwind-contoso", "article_chrome.html")
    _serve_page(threaded_server, "/business/fabrikam-cfo", "fabrikam_cfo.html")
    threaded_server.expect_request("/travel/tailspin-jets").respond_with_data("", status=404)
    config = setup(db, {"Json": threaded_server.url_for("/feed.json")})

    (report,) = poll_feeds(db, config, fetcher, due_only=False, now=NOW)
    assert report.outcome == "new" and report.error is None and report.warning is None
    assert report.entries == 3 and report.new_articles == 3
    feed_request = threaded_server.log[0][0]
    assert "application/feed+json" in feed_request.headers["Accept"]
    arts = _articles(db)
    northwind = arts["Northwind Motors weighs battery tie-up with Contoso Cells"]
    assert northwind.canonical_url == f"{base}/autos/northwind-contoso"  # relative, no utm_*
    assert northwind.extraction == "page" and "port city of Lindqvist" in (northwind.text or "")
    assert northwind.published_at == datetime(2024, 5, 14, 6, 30, tzinfo=UTC)
    # untitled in the feed: titled from its text, so the page title does not replace it
    (fabrikam,) = [a for a in arts.values() if a.title.startswith("Fabrikam Robotics appointed")]
    assert "appointed Inés Okafor" in (fabrikam.text or "")
    assert fabrikam.published_at == datetime(2024, 5, 13, 7, 0, tzinfo=UTC)
    tailspin = arts["Tailspin Air orders twelve regional jets"]
    # dated 2999 in the feed: a placeholder, treated as no date as for RSS
    assert tailspin.extraction == "summary" and tailspin.published_at == NOW
    assert tailspin.text == (
        "Tailspin Air said the order would replace its oldest turboprops by 2027."
    )
    assert _feed(db, "Json").etag == '"j1"'

    requests = fetcher.requests
    (again,) = poll_feeds(db, config, fetcher, due_only=False, now=NOW + timedelta(hours=1))
    assert again.outcome == "new" and again.new_articles == 0  # known by id: no page fetched
    assert fetcher.requests == requests + 1 and len(_articles(db)) == 3


def test_repoll_without_validators_never_reprocesses_an_entry(
    sqlite_db: Database, threaded_server: HTTPServer, fetcher: Fetcher, setup: Setup
) -> None:
    base = threaded_server.url_for("").rstrip("/")
    threaded_server.expect_request("/rdf").respond_with_data(
        fixture_text("feeds/rss10.rdf", base), content_type="application/rdf+xml"
    )
    threaded_server.expect_request("/chips/litware-fab").respond_with_data("", status=404)
    threaded_server.expect_request("/chips/litware-dividend").respond_with_data("", status=404)
    config = setup(sqlite_db, {"Litware": threaded_server.url_for("/rdf")})
    (first,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    assert first.new_articles == 2
    requests = fetcher.requests
    (second,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    assert second.outcome == "new" and second.new_articles == 0 and second.entries == 2
    assert fetcher.requests == requests + 1
    with sqlite_db.sessions() as s:
        assert s.scalar(select(func.count(FeedEntry.id))) == 2


def test_same_story_in_two_feeds_is_one_article(
    db: Database, threaded_server: HTTPServer, fetcher: Fetcher, setup: Setup
) -> None:
    base = threaded_server.url_for("").rstrip("/")
    _serve_ledger(threaded_server)
    threaded_server.expect_request("/travel/tailspin-jets").respond_with_data("", status=404)
    # Feed two: the same Northwind story under another spelling of the URL, and the
    # Fabrikam story syndicated under a different address (same text: content hash).
    other = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
    <item><title>Northwind and Contoso in battery talks</title><guid>w-1</guid>
      <link>{base.upper().replace("HTTP://", "http://")}/autos/northwind-contoso?utm_campaign=x#top</link></item>
    <item><title>Fabrikam picks a finance chief</title><guid>w-2</guid>
      <link>{base}/syndicated/fabrikam</link></item>
    </channel></rss>"""
    threaded_server.expect_request("/wire").respond_with_data(other, content_type=RSS)
    _serve_page(threaded_server, "/syndicated/fabrikam", "fabrikam_cfo.html")
    config = setup(
        db, {"Ledger": threaded_server.url_for("/feed"), "Wire": threaded_server.url_for("/wire")}
    )
    heard: list[str] = []
    polled = poll_feeds(
        db, config, fetcher, due_only=False, now=NOW, on_feed=lambda r: heard.append(r.feed)
    )
    assert sorted(heard) == ["Ledger", "Wire"]  # progress hears of each feed once
    reports = _by_feed(polled)
    assert reports["Ledger"].new_articles + reports["Wire"].new_articles == 3
    with db.sessions() as s:
        assert s.scalar(select(func.count(Article.id))) == 3
        assert s.scalar(select(func.count(FeedEntry.id))) == 5
        wire = s.scalars(select(Feed).where(Feed.name == "Wire")).one()
        linked = {
            e.guid: e.article_id
            for e in s.scalars(select(FeedEntry).where(FeedEntry.feed_id == wire.id))
        }
        titles = {a.id: a.title for a in s.scalars(select(Article))}
    assert set(linked) == {"w-1", "w-2"}
    assert "Northwind" in titles[linked["w-1"]] and "Fabrikam" in titles[linked["w-2"]]


def test_5xx_page_falls_back_then_is_retried_and_reprocessed(
    sqlite_db: Database, threaded_server: HTTPServer, fetcher: Fetcher, setup: Setup
) -> None:
    _serve_ledger(threaded_server)
    threaded_server.expect_oneshot_request("/travel/tailspin-jets").respond_with_data(
        "", status=503
    )
    config = setup(sqlite_db, {"Ledger": threaded_server.url_for("/feed")})
    poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    title = "Tailspin Air orders twelve regional jets"
    first = _articles(sqlite_db)[title]
    assert first.extraction == "summary" and first.retry_page
    with sqlite_db.transaction() as s:  # the matching stage has read the summary
        s.get(Article, first.id).processed_at = NOW  # type: ignore[union-attr]

    page = fixture_text("pages/article_chrome.html").replace(
        "Northwind Motors is in early", "Tailspin Air is in early"
    )
    threaded_server.expect_request("/travel/tailspin-jets").respond_with_data(
        page, content_type=HTML
    )
    (report,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    assert report.outcome == "not-modified" and report.updated_article_ids == (first.id,)
    again = _articles(sqlite_db)[title]
    assert again.extraction == "page" and not again.retry_page
    assert "Tailspin Air is in early discussions" in (again.text or "")
    assert again.processed_at is None  # the next stage sees it again
    assert again.published_at == first.published_at


def test_failures_back_off_exponentially_and_success_resets(
    sqlite_db: Database, threaded_server: HTTPServer, fetcher: Fetcher, setup: Setup
) -> None:
    threaded_server.expect_request("/flaky").respond_with_data("", status=500)
    config = setup(sqlite_db, {"Flaky": threaded_server.url_for("/flaky")}, interval="10m")
    for count, minutes in [(1, 20), (2, 40), (3, 80)]:
        (report,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
        assert report.outcome == "error" and "HTTP 500" in (report.error or "")
        feed = _feed(sqlite_db, "Flaky")
        assert feed.error_count == count and "HTTP 500" in (feed.last_error or "")
        assert feed.next_check_at == NOW + timedelta(minutes=minutes)
    # not due yet: a due-only poll leaves it alone
    assert poll_feeds(sqlite_db, config, fetcher, due_only=True, now=NOW) == []
    threaded_server.clear()
    base = threaded_server.url_for("").rstrip("/")
    threaded_server.expect_request("/flaky").respond_with_data(
        fixture_text("feeds/rss10.rdf", base), content_type=RSS
    )
    threaded_server.expect_request("/chips/litware-fab").respond_with_data("", status=404)
    threaded_server.expect_request("/chips/litware-dividend").respond_with_data("", status=404)
    later = NOW + timedelta(minutes=90)
    (ok,) = poll_feeds(sqlite_db, config, fetcher, due_only=True, now=later)
    assert ok.outcome == "new" and ok.new_articles == 2
    feed = _feed(sqlite_db, "Flaky")
    assert feed.error_count == 0 and feed.last_error is None and feed.last_success_at == later
    assert feed.next_check_at == later + timedelta(minutes=10)


def test_a_feed_failure_is_reported_and_logged_only_at_debug(
    sqlite_db: Database,
    threaded_server: HTTPServer,
    fetcher: Fetcher,
    setup: Setup,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The report carries the failure; the caller says it once (`poll` prints it, the service's
    # job logs a warning: tests/service/test_poll_job.py). A warning here doubled it in `poll`.
    threaded_server.expect_request("/flaky").respond_with_data("", status=500)
    config = setup(sqlite_db, {"Flaky": threaded_server.url_for("/flaky")})
    with caplog.at_level(logging.DEBUG, logger="monitor.polling"):
        (report,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    assert report.outcome == "error" and "HTTP 500" in (report.error or "")
    assert report.error_count == 1
    (record,) = [r for r in caplog.records if "Flaky failed" in r.getMessage()]
    assert record.levelno == logging.DEBUG and record.feed == "Flaky"  # type: ignore[attr-defined]


def test_backoff_is_capped_at_a_day() -> None:
    assert backoff_seconds(900, 1) == 1800
    assert backoff_seconds(900, 7) == 86400
    assert backoff_seconds(900, 500) == 86400


def test_retry_after_is_honoured(
    sqlite_db: Database, threaded_server: HTTPServer, fetcher: Fetcher, setup: Setup
) -> None:
    threaded_server.expect_request("/busy").respond_with_data(
        "", 429, headers={"Retry-After": "7200"}
    )
    config = setup(sqlite_db, {"Busy": threaded_server.url_for("/busy")})
    (report,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    assert report.outcome == "error" and "429" in (report.error or "")
    feed = _feed(sqlite_db, "Busy")
    assert feed.error_count == 1
    # backoff alone would say 30 minutes; the server asked for two hours
    assert feed.next_check_at is not None
    assert NOW + timedelta(minutes=119) <= feed.next_check_at <= NOW + timedelta(minutes=121)


def test_410_disables_the_feed_with_a_reason(
    sqlite_db: Database, threaded_server: HTTPServer, fetcher: Fetcher, setup: Setup
) -> None:
    threaded_server.expect_request("/gone").respond_with_data("", status=410)
    config = setup(sqlite_db, {"Gone": threaded_server.url_for("/gone")})
    (report,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    assert report.outcome == "error"
    assert report.next_check_at is None and "new url" in (report.warning or "")  # no next try
    feed = _feed(sqlite_db, "Gone")
    assert not feed.enabled and "410 Gone" in (feed.disabled_reason or "")
    (skipped,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    assert skipped.outcome == "skipped" and "410 Gone" in (skipped.error or "")
    with sqlite_db.transaction() as s:  # the next config sync does not silently revive it
        sync_feeds(s, config.feeds)
    assert not _feed(sqlite_db, "Gone").enabled


def test_permanent_redirect_updates_the_feed_url(
    sqlite_db: Database, threaded_server: HTTPServer, fetcher: Fetcher, setup: Setup
) -> None:
    base = threaded_server.url_for("").rstrip("/")
    threaded_server.expect_request("/old-feed").respond_with_data(
        "", 301, headers={"Location": "/new-feed"}
    )
    threaded_server.expect_request("/new-feed").respond_with_data(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Moved</title></channel></rss>',
        content_type=RSS,
    )
    config = setup(sqlite_db, {"Moved": threaded_server.url_for("/old-feed")})
    (report,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    assert report.outcome == "new" and report.url == f"{base}/new-feed"
    feed = _feed(sqlite_db, "Moved")
    assert feed.url == f"{base}/new-feed" and feed.config_url == f"{base}/old-feed"


def test_one_broken_feed_never_stops_the_others(
    db: Database, threaded_server: HTTPServer, fetcher: Fetcher, setup: Setup
) -> None:
    base = threaded_server.url_for("").rstrip("/")

    def slow(_request: Request) -> Response:
        time.sleep(7.0)  # past the fetcher's 5 s
        return Response("late")

    feeds = {
        "Atom": ("/atom", fixture_text("feeds/atom.xml", base).encode()),
        "Sloppy": ("/sloppy", fixture_text("feeds/malformed.xml", base).encode()),
        "Bomb": ("/bomb", fixture_text("feeds/bomb.xml", base).encode()),
        "Html": ("/html", b"<html><body><p>Just a web page.</p></body></html>"),
        "Cafe": ("/cafe", fixture_bytes("feeds/rss_cp1252_declared_utf8.xml", base)),
        "Big": ("/big", b"<rss>" + b" " * 2_000_000 + b"</rss>"),
    }
    for path, body in feeds.values():
        threaded_server.expect_request(path).respond_with_data(body, content_type=RSS)
    threaded_server.expect_request("/slow").respond_with_handler(slow)
    threaded_server.expect_request("/missing").respond_with_data("", status=404)
    threaded_server.no_handler_status_code = 404  # article pages: none served, summaries are used
    names = {name: threaded_server.url_for(path) for name, (path, _) in feeds.items()}
    names["Slow"] = threaded_server.url_for("/slow")
    config = setup(db, names)

    reports = _by_feed(poll_feeds(db, config, fetcher, due_only=False, now=NOW))
    assert reports["Atom"].outcome == "new" and reports["Atom"].new_articles == 2
    assert reports["Sloppy"].outcome == "new" and reports["Sloppy"].new_articles >= 2
    assert reports["Sloppy"].warning is not None
    assert reports["Cafe"].new_articles == 1
    assert reports["Html"].outcome == "error" and "an HTML page, not a feed" in (
        reports["Html"].error or ""
    )
    assert reports["Big"].outcome == "error" and "exceeds" in (reports["Big"].error or "")
    assert reports["Slow"].outcome == "error" and "timed out" in (reports["Slow"].error or "")
    bomb = reports["Bomb"]
    arts = _articles(db)
    assert "“No plans”, says Café Lumière chief about naïve merger talk" in arts
    assert all(len(t) < 200 for t in arts) and not any(
        "lollol" in (a.text or "") for a in arts.values()
    )
    assert bomb.outcome in ("new", "error")
    for name in ("Html", "Big", "Slow"):
        feed = _feed(db, name)
        assert feed.error_count == 1 and feed.last_error


def test_a_home_page_configured_as_a_feed_names_the_feed_to_use_instead(
    sqlite_db: Database,
    threaded_server: HTTPServer,
    fetcher: Fetcher,
    setup: Setup,
    caplog: pytest.LogCaptureFixture,
) -> None:
    base = threaded_server.url_for("").rstrip("/")
    home = (
        "<!DOCTYPE html><html><head><title>Harbour Ledger</title>"
        '<link rel="alternate" type="application/rss+xml" title="Autos" href="/autos/feed.xml">'
        "</head><body><h1>Harbour Ledger</h1><p>Today's stories.</p></body></html>"
    )
    threaded_server.expect_request("/").respond_with_data(home, content_type=HTML)
    config = setup(sqlite_db, {"Ledger": f"{base}/"})
    with caplog.at_level(logging.DEBUG, logger="monitor.polling"):
        (report,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    expected = (
        f"{base}/: an HTML page, not a feed; it names its feed at {base}/autos/feed.xml: "
        "put that URL in config.toml"
    )
    assert report.outcome == "error" and report.error == expected
    feed = _feed(sqlite_db, "Ledger")
    assert feed.last_error == expected and feed.url == f"{base}/"  # not followed: config's
    assert any(expected in r.getMessage() for r in caplog.records)
    assert [r.path for r, _ in threaded_server.log] == ["/"]  # the named feed was not fetched


def test_article_links_follow_the_feeds_network(
    threaded_server: HTTPServer, fetcher: Fetcher
) -> None:
    """A private link is fetched for a feed on a private address, refused for a public one."""
    _serve_page(threaded_server, "/autos/northwind-contoso", "article_chrome.html")
    entry = FeedItem(
        guid="g",
        link=threaded_server.url_for("/autos/northwind-contoso"),
        title="Northwind",
        summary="The summary from the feed.",
        published=None,
    )
    private_feed = read_article(entry, fetcher, allow_private=True, now=NOW)
    assert private_feed.extraction == "page"
    public_feed = read_article(entry, fetcher, allow_private=False, now=NOW)
    assert public_feed.extraction == "summary" and public_feed.text == entry.summary
    assert "loopback" in (public_feed.note or "")
    assert fetcher.serves_privately(threaded_server.url_for("/feed"))


def test_many_feeds_in_parallel(
    sqlite_db: Database, threaded_server: HTTPServer, fetcher: Fetcher, setup: Setup
) -> None:
    base = threaded_server.url_for("").rstrip("/")
    feeds = {}
    for i in range(12):
        items = "".join(
            f"<item><title>Story {i}-{j}</title><guid>{i}-{j}</guid>"
            f"<link>{base}/story/{i}/{j}</link><description>Brief {i}-{j}.</description></item>"
            for j in range(3)
        )
        body = f'<rss version="2.0"><channel><title>F{i}</title>{items}</channel></rss>'
        threaded_server.expect_request(f"/f{i}").respond_with_data(body, content_type=RSS)
        feeds[f"F{i:02d}"] = threaded_server.url_for(f"/f{i}")
    threaded_server.no_handler_status_code = 404
    config = setup(sqlite_db, feeds)
    reports = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    assert [r.feed for r in reports] == sorted(feeds)
    failed = [r for r in reports if r.outcome != "new" or r.new_articles != 3]
    assert not failed, failed
    assert len(_articles(sqlite_db)) == 36


def test_a_malformed_link_costs_its_entry_not_the_feed(
    sqlite_db: Database, threaded_server: HTTPServer, fetcher: Fetcher, setup: Setup
) -> None:
    # One typo in one <link> used to fail the whole feed, at every poll, until the publisher
    # fixed it: the good entries beside it were never read.
    base = threaded_server.url_for("").rstrip("/")
    items = [
        ("bad-1", "http://[broken/story", "Broken host"),
        ("bad-2", "http://127.0.0.1:99999/story", "Port out of range"),
        ("good", f"{base}/story", "The good story"),
    ]
    rss = '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>' + "".join(
        f"<item><guid>{guid}</guid><link>{link}</link><title>{title}</title>"
        f"<description>{title}, in a few words.</description></item>"
        for guid, link, title in items
    )
    threaded_server.expect_request("/feed").respond_with_data(
        rss + "</channel></rss>", content_type=RSS
    )
    threaded_server.no_handler_status_code = 404
    config = setup(sqlite_db, {"Typo": threaded_server.url_for("/feed")})
    (report,) = poll_feeds(sqlite_db, config, fetcher, due_only=False, now=NOW)
    assert report.outcome == "new" and report.error is None
    assert report.entries == 3 and report.new_articles == 1
    assert set(_articles(sqlite_db)) == {"The good story"}
