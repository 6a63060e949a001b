from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from monitor.config import FeedConfig
from monitor.db import Database
from monitor.db.models import Feed
from monitor.polling.subscriptions import sync_feeds


def _cfg(name: str = "A", url: str = "https://a.example/feed", **kw: object) -> FeedConfig:
    fields: dict[str, object] = {"credibility": 0.6, "interval": 900.0, "enabled": True} | kw
    return FeedConfig(name=name, url=url, **fields)  # type: ignore[arg-type]


def _feed(db: Database, name: str = "A") -> Feed:
    with db.sessions() as s:
        return s.scalars(select(Feed).where(Feed.name == name)).one()


def test_added_then_unchanged(sqlite_db: Database) -> None:
    with sqlite_db.transaction() as s:
        assert sync_feeds(s, [_cfg()]).added == ("A",)
    with sqlite_db.transaction() as s:
        report = sync_feeds(s, [_cfg()])
    assert report.added == report.updated == report.removed == ()


def test_redirected_url_survives_resync_until_config_changes(sqlite_db: Database) -> None:
    with sqlite_db.transaction() as s:
        sync_feeds(s, [_cfg()])
    with sqlite_db.transaction() as s:
        row = s.scalars(select(Feed)).one()
        row.url, row.etag, row.error_count = "https://new.example/feed", '"v1"', 3
    with sqlite_db.transaction() as s:
        sync_feeds(s, [_cfg()])
    assert _feed(sqlite_db).url == "https://new.example/feed"
    with sqlite_db.transaction() as s:
        sync_feeds(s, [_cfg(url="https://b.example/rss")])
    row = _feed(sqlite_db)
    assert (row.url, row.etag, row.error_count) == ("https://b.example/rss", None, 0)


def test_removed_feeds_are_disabled_and_come_back(sqlite_db: Database) -> None:
    with sqlite_db.transaction() as s:
        sync_feeds(s, [_cfg("A"), _cfg("B")])
    with sqlite_db.transaction() as s:
        assert sync_feeds(s, [_cfg("A")]).removed == ("B",)
    assert _feed(sqlite_db, "B").enabled is False
    with sqlite_db.transaction() as s:
        sync_feeds(s, [_cfg("A"), _cfg("B")])
    assert _feed(sqlite_db, "B").enabled is True


def test_a_gone_feed_stays_disabled(sqlite_db: Database) -> None:
    with sqlite_db.transaction() as s:
        sync_feeds(s, [_cfg()])
    with sqlite_db.transaction() as s:
        row = s.scalars(select(Feed)).one()
        row.enabled, row.disabled_reason = False, "410 Gone"
    with sqlite_db.transaction() as s:
        sync_feeds(s, [_cfg()])
    assert (_feed(sqlite_db).enabled, _feed(sqlite_db).disabled_reason) == (False, "410 Gone")


def test_a_gone_feed_comes_back_when_its_url_is_fixed(sqlite_db: Database) -> None:
    # README and `feeds --help`: "fix the URL in config.toml to start it again"
    with sqlite_db.transaction() as s:
        sync_feeds(s, [_cfg()])
    with sqlite_db.transaction() as s:
        row = s.scalars(select(Feed)).one()
        row.enabled, row.disabled_reason = False, "410 Gone at https://a.example/feed"
    with sqlite_db.transaction() as s:
        assert sync_feeds(s, [_cfg(url="https://a.example/rss")]).updated == ("A",)
    row = _feed(sqlite_db)
    assert (row.enabled, row.disabled_reason, row.url) == (True, None, "https://a.example/rss")


def test_a_shorter_interval_takes_effect_from_the_last_check(sqlite_db: Database) -> None:
    checked = datetime(2024, 5, 14, 12, 0, tzinfo=UTC)
    with sqlite_db.transaction() as s:
        sync_feeds(s, [_cfg(interval=86400.0)])
    with sqlite_db.transaction() as s:
        row = s.scalars(select(Feed)).one()
        row.last_checked_at = row.last_success_at = checked
        row.next_check_at = checked + timedelta(days=1)
    with sqlite_db.transaction() as s:
        sync_feeds(s, [_cfg(interval=900.0)])  # "1d" edited to "15m" in config.toml
    assert _feed(sqlite_db).next_check_at == checked + timedelta(minutes=15)


def test_a_new_url_is_due_at_once_even_when_the_interval_changes_too(sqlite_db: Database) -> None:
    checked = datetime(2024, 5, 14, 12, 0, tzinfo=UTC)
    with sqlite_db.transaction() as s:
        sync_feeds(s, [_cfg()])
    with sqlite_db.transaction() as s:
        row = s.scalars(select(Feed)).one()
        row.last_checked_at = row.last_success_at = checked
        row.next_check_at = checked + timedelta(minutes=15)
    with sqlite_db.transaction() as s:  # the feed moved and its interval was edited together
        sync_feeds(s, [_cfg(url="https://a.example/new-feed", interval=60.0)])
    feed = _feed(sqlite_db)
    assert (feed.url, feed.interval_seconds, feed.next_check_at) == (
        "https://a.example/new-feed",
        60.0,
        None,
    )
