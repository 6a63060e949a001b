"""What one poll did to a feed: its report, and its health (errors, backoff, moves, 410).

Written on the calling thread inside the feed's transaction (see poller). A failure is logged
at debug only: the caller says it once, `poll` in its printed report and the service's job
as a warning, so a terminal never shows it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from monitor.db.models import Feed
from monitor.errors import FetchError, MonitorError
from monitor.polling.fetch import FetchResult

log = logging.getLogger(__name__)

Outcome = Literal["new", "not-modified", "error", "skipped"]
MAX_BACKOFF = 24 * 3600.0
MAX_RETRY_AFTER = timedelta(days=7)  # a hostile Retry-After must not silence a feed for good


@dataclass(frozen=True)
class FeedReport:
    feed: str
    outcome: Outcome
    new_articles: int
    article_ids: tuple[int, ...]
    error: str | None
    next_check_at: datetime | None
    url: str = ""
    entries: int = 0  # entries in the feed document
    pages_fetched: int = 0
    updated_article_ids: tuple[int, ...] = ()  # retried pages that now have their full text
    warning: str | None = None  # e.g. a malformed feed whose entries were still read
    pages_deferred: int = 0  # pages left for the next poll when the feed's budget ran out
    error_count: int = 0  # failures in a row, this one included

    @property
    def brought_articles(self) -> bool:
        """New articles, or re-read pages: work for the reading stage."""
        return bool(self.article_ids or self.updated_article_ids)

    def to_json(self) -> dict[str, Any]:
        return {
            "feed": self.feed,
            "url": self.url,
            "outcome": self.outcome,
            "entries": self.entries,
            "new_articles": self.new_articles,
            "article_ids": list(self.article_ids),
            "updated_article_ids": list(self.updated_article_ids),
            "pages_fetched": self.pages_fetched,
            "pages_deferred": self.pages_deferred,
            "error": self.error,
            "warning": self.warning,
            "next_check_at": self.next_check_at.isoformat() if self.next_check_at else None,
        }


def backoff_seconds(interval: float, error_count: int) -> float:
    """Time to the next check after `error_count` failures in a row: doubling, capped at 24 h."""
    return min(interval * float(2 ** min(error_count, 32)), MAX_BACKOFF)


def record_success(feed: Feed, result: FetchResult, now: datetime) -> None:
    """Reset the feed's errors, follow a permanent move, schedule the next check."""
    if result.permanent_url and result.permanent_url != feed.url:
        log.warning(
            "feed %s moved permanently: %s -> %s",
            feed.name,
            feed.url,
            result.permanent_url,
            extra={"feed": feed.name},
        )
        feed.url = result.permanent_url
    if not result.not_modified or result.etag or result.last_modified:
        feed.etag, feed.last_modified = result.etag, result.last_modified
    feed.error_count = 0
    feed.last_error = None
    feed.last_success_at = now
    feed.next_check_at = now + timedelta(seconds=feed.interval_seconds)


def record_failure(feed: Feed, error: MonitorError, now: datetime, *, pages: int = 0) -> FeedReport:
    """Count the failure, back the feed off (or disable it on a 410); its report."""
    feed.error_count = (feed.error_count or 0) + 1
    feed.last_error = str(error)
    delay = backoff_seconds(feed.interval_seconds, feed.error_count)
    next_check = now + timedelta(seconds=delay)
    if isinstance(error, FetchError) and error.retry_after is not None:
        # Retry-After is on the real clock; `now` may be a replayed one, so carry the wait over.
        wait = min(error.retry_after - datetime.now(UTC), MAX_RETRY_AFTER)
        next_check = max(next_check, now + wait)
    feed.next_check_at = next_check
    if isinstance(error, FetchError) and error.status == 410:
        feed.enabled = False
        feed.disabled_reason = f"410 Gone at {feed.url} on {now:%Y-%m-%d}"
        log.debug(
            "feed %s disabled: %s", feed.name, feed.disabled_reason, extra={"feed": feed.name}
        )
        # No next try: it stays off until its URL changes in the config (then `init`).
        disabled = "feed disabled: give it a new url in the config, then run init"
        return feed_report(feed, "error", error=str(error), pages=pages, warning=disabled)
    # Debug only: the caller reports it (`poll` prints it, the service's job logs a warning).
    log.debug(
        "feed %s failed (%d in a row): %s",
        feed.name,
        feed.error_count,
        error,
        extra={"feed": feed.name},
    )
    return feed_report(feed, "error", error=str(error), pages=pages)


def feed_report(
    feed: Feed,
    outcome: Outcome,
    *,
    error: str | None = None,
    new_ids: Sequence[int] = (),
    updated_ids: Sequence[int] = (),
    entries: int = 0,
    pages: int = 0,
    deferred: int = 0,
    warning: str | None = None,
) -> FeedReport:
    return FeedReport(
        feed=feed.name,
        outcome=outcome,
        new_articles=len(new_ids),
        article_ids=tuple(new_ids),
        error=error,
        next_check_at=feed.next_check_at if feed.enabled else None,
        url=feed.url,
        entries=entries,
        pages_fetched=pages,
        updated_article_ids=tuple(updated_ids),
        warning=warning,
        pages_deferred=deferred,
        error_count=feed.error_count or 0,
    )
