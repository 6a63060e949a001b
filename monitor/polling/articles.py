"""From a feed entry to an article row: read the page (or fall back to the entry), store it once.

`read_article` does the network part (one page GET through the shared Fetcher, then
extraction); `store_article` does the database part and is where "each article once" is
decided: by the feed's GUID, then by canonical URL, then by content hash, across feeds.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.db.models import Article, FeedEntry
from monitor.errors import ExtractError, FetchError, UnsafeURLError
from monitor.polling.extract import decode_html, extract_article, is_html
from monitor.polling.feeditems import FeedItem
from monitor.polling.fetch import ACCEPT_PAGE, Fetcher
from monitor.urls import canonical_url

log = logging.getLogger(__name__)

# Texts shorter than this ("Read more...", a bare title) are too generic to prove two entries
# are the same story, so they are never merged by content hash.
MIN_HASHED_TEXT = 200
# A feed that dates entries in the future would sort them after news that really is later.
FUTURE_SLACK = timedelta(hours=1)
OLDEST = datetime(1990, 1, 1, tzinfo=UTC)  # earlier "published" dates are placeholders


@dataclass(frozen=True)
class ArticleDraft:
    """Everything needed to write one Article row, gathered off the database thread."""

    guid: str
    link_key: str  # canonical URL of the entry's link
    canonical: str  # canonical URL of the page as finally fetched
    url: str
    title: str
    text: str
    author: str | None
    site: str | None
    extraction: Literal["page", "summary"]
    retry_page: bool  # the page answered 5xx/429: fetch it again on a later poll
    published_at: datetime
    fetched_at: datetime
    note: str | None = None  # why the page was not used, for logs and reports

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)


def content_hash(text: str) -> str:
    """Hash of the text with case and spacing normalised, so re-flowed copies collide."""
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()


def is_transient(error: FetchError) -> bool:
    return error.status is not None and (error.status >= 500 or error.status == 429)


def summary_draft(entry: FeedItem, now: datetime) -> ArticleDraft:
    """The article as the feed entry alone tells it: its summary (or title) for text."""
    assert entry.link is not None
    key = canonical_url(entry.link)
    return ArticleDraft(
        guid=entry.guid,
        link_key=key,
        canonical=key,
        url=entry.link,
        title=entry.title,
        text=entry.summary or entry.title,
        author=None,
        site=None,
        extraction="summary",
        retry_page=False,
        published_at=_published(entry.published, None, now),
        fetched_at=now,
    )


def read_article(
    entry: FeedItem, fetcher: Fetcher, *, allow_private: bool, now: datetime
) -> ArticleDraft:
    """Fetch and extract the entry's page; on any failure use the entry's own text."""
    assert entry.link is not None
    draft = summary_draft(entry, now)
    try:
        result = fetcher.fetch(entry.link, allow_private=allow_private, accept=ACCEPT_PAGE)
    except UnsafeURLError as exc:
        log.warning("refused article link: %s", exc)
        return replace(draft, note=str(exc))
    except FetchError as exc:
        log.info("page failed, using the feed's summary: %s", exc)
        return replace(draft, retry_page=is_transient(exc), note=str(exc))
    if not is_html(result.content_type):
        return replace(draft, note=f"{entry.link}: not HTML ({result.content_type})")
    try:
        page = extract_article(decode_html(result.body, result.content_type), result.final_url)
    except ExtractError as exc:
        return replace(draft, note=str(exc))
    return replace(
        draft,
        canonical=canonical_url(result.final_url),
        url=result.final_url,
        title=entry.title or page.title or "",
        text=page.text,
        author=page.author,
        site=page.site,
        extraction="page",
        published_at=_published(entry.published, page.date, now),
    )


def _published(entry: datetime | None, page: datetime | None, now: datetime) -> datetime:
    """The entry's date, else the page's, else now; implausible dates count as unknown."""
    for moment in (entry, page):
        # A date far in the future or before the web existed is a feed's placeholder
        # ("0001-01-01"), and as evidence it would sort before every real article.
        if moment is not None and OLDEST <= moment <= now + FUTURE_SLACK:
            # A little ahead is a clock or zone slip: the story was out when we fetched it.
            # Kept ahead, it would make the next real news look older than its state change.
            return min(moment, now)
    return now


def store_article(
    session: Session, draft: ArticleDraft, *, feed_id: int, source: str, credibility: float
) -> Article | None:
    """Record the entry for its feed; the new Article, or None when the story was known."""
    if _entry_known(session, feed_id, draft.guid):
        return None
    existing = find_existing(session, draft)
    if existing is not None:
        _link(session, feed_id, draft.guid, existing.id)
        return None
    article = Article(
        canonical_url=draft.canonical,
        url=draft.url,
        feed_id=feed_id,
        source=source,
        credibility=credibility,
        title=draft.title,
        text=draft.text,
        author=draft.author,
        site=draft.site,
        content_hash=draft.content_hash,
        extraction=draft.extraction,
        retry_page=draft.retry_page,
        published_at=draft.published_at,
        fetched_at=draft.fetched_at,
        processed_at=None,
    )
    try:
        with session.begin_nested():  # another worker may have stored the same URL meanwhile
            session.add(article)
            session.flush()
    except IntegrityError:
        existing = find_existing(session, draft)
        if existing is None:
            raise
        _link(session, feed_id, draft.guid, existing.id)
        return None
    _link(session, feed_id, draft.guid, article.id)
    return article


def link_entry(session: Session, *, feed_id: int, guid: str, url_key: str) -> bool:
    """Record an entry whose story is already stored under url_key; False if it is not."""
    if _entry_known(session, feed_id, guid):
        return True
    article_id = session.scalar(select(Article.id).where(Article.canonical_url == url_key))
    if article_id is None:
        return False
    _link(session, feed_id, guid, article_id)
    return True


def _link(session: Session, feed_id: int, guid: str, article_id: int) -> None:
    """Record that a feed lists an article; a no-op if another worker just recorded it.

    `poll` may run beside `run`: both can store the same new entry at once, and the loser's
    duplicate (feed, GUID) row must not roll back the rest of its feed's work.
    """
    try:
        with session.begin_nested():
            session.add(FeedEntry(feed_id=feed_id, guid=guid, article_id=article_id))
            session.flush()
    except IntegrityError:
        if not _entry_known(session, feed_id, guid):
            raise


def find_existing(session: Session, draft: ArticleDraft) -> Article | None:
    keys = {draft.canonical, draft.link_key}
    found = session.scalars(select(Article).where(Article.canonical_url.in_(keys))).first()
    if found is not None or len(draft.text) < MIN_HASHED_TEXT:
        return found
    return session.scalars(
        select(Article).where(Article.content_hash == draft.content_hash).limit(1)
    ).first()


def _entry_known(session: Session, feed_id: int, guid: str) -> bool:
    query = select(FeedEntry.id).where(FeedEntry.feed_id == feed_id, FeedEntry.guid == guid)
    return session.scalar(query) is not None


@dataclass(frozen=True)
class PageRetry:
    """A stored article whose page answered 5xx earlier."""

    article_id: int
    url: str
    fetched_at: datetime


RETRY_FOR = timedelta(days=2)  # after this a page that keeps failing keeps its summary


RetryOutcome = ArticleDraft | Literal["again", "give-up"]


def retry_page(
    retry: PageRetry, fetcher: Fetcher, *, allow_private: bool, now: datetime
) -> RetryOutcome:
    """The page text for an article that fell back to its summary, or whether to try again."""
    entry = FeedItem(guid="", link=retry.url, title="", summary="", published=None)
    draft = read_article(entry, fetcher, allow_private=allow_private, now=now)
    if draft.extraction == "page":
        return draft
    if draft.retry_page and now - retry.fetched_at < RETRY_FOR:
        return "again"
    log.info("%s: giving up on the page, keeping the summary: %s", retry.url, draft.note)
    return "give-up"


def apply_retry(session: Session, retry: PageRetry, outcome: RetryOutcome) -> bool:
    """Write a retried page's text; True when the article changed and must be matched again."""
    article = session.get(Article, retry.article_id)
    if article is None or outcome == "again":
        return False
    article.retry_page = False
    if not isinstance(outcome, ArticleDraft):
        return False  # given up: the summary stays
    article.text = outcome.text
    article.content_hash = outcome.content_hash
    article.extraction = "page"
    article.author = outcome.author or article.author
    article.site = outcome.site or article.site
    article.fetched_at = outcome.fetched_at
    article.processed_at = None  # the matching stage reads it again, now with the full text
    return True
