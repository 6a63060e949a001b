from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from monitor.db import Database
from monitor.db.models import Article, Feed, FeedEntry
from monitor.polling.articles import _link


def test_linking_an_entry_another_worker_just_linked_keeps_the_transaction(db: Database) -> None:
    with db.transaction() as s:
        feed = Feed(name="A", config_url="https://a/", url="https://a/", error_count=0)
        article = Article(
            canonical_url="https://a/story",
            url="https://a/story",
            content_hash="h" * 64,
            published_at=datetime(2021, 3, 30, tzinfo=UTC),
        )
        s.add_all([feed, article])
        s.flush()
        _link(s, feed.id, "guid-1", article.id)
        # what a concurrent `poll` beside `run` would hit: the same (feed, GUID) again
        _link(s, feed.id, "guid-1", article.id)
        s.add(
            Article(
                canonical_url="https://a/other",
                url="https://a/other",
                content_hash="i" * 64,
                published_at=datetime(2021, 3, 31, tzinfo=UTC),
            )
        )
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(FeedEntry)) == 1
        assert s.scalar(select(func.count()).select_from(Article)) == 2  # the rest committed


def test_placeholder_and_future_dates_count_as_unknown() -> None:
    from monitor.polling.articles import _published

    now = datetime(2024, 5, 14, 12, 0, tzinfo=UTC)
    page = datetime(2024, 5, 13, 9, 0, tzinfo=UTC)
    year_one = datetime(1, 1, 1, tzinfo=UTC)
    tomorrow = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)
    assert _published(year_one, page, now) == page  # the page's own date, then
    assert _published(tomorrow, None, now) == now
    assert _published(year_one, year_one, now) == now
    assert _published(page, None, now) == page
