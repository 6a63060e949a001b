"""The polling stage: fetch due feeds, store each new article once, back off failing feeds.

Network work (feed GET, page GETs, extraction) runs in a thread pool bounded by
`[polling] concurrency`, each feed's pages a few at a time (`pages`); the per-host limiter
inside the Fetcher keeps it polite. Workers only read the database; every write happens on the
calling thread, one transaction per feed, so SQLite never sees two writers and one broken feed
can never roll back another's articles. New articles are stored with processed_at = NULL: the
matching stage picks them up from there, and `on_feed` lets the caller start it as soon as a
feed is stored, so a slow feed never holds back another feed's alerts.

`poll_feeds` polls every feed (or the due ones); `poll_feed` polls one, for a worker that
takes feeds one at a time.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.config import Config, PollingConfig
from monitor.db import Database
from monitor.db.models import Article, Feed, FeedEntry
from monitor.errors import FeedError, FetchError, MonitorError
from monitor.polling.articles import (
    ArticleDraft,
    PageRetry,
    RetryOutcome,
    apply_retry,
    link_entry,
    store_article,
)
from monitor.polling.feeditems import FeedItem
from monitor.polling.feeds import parse_feed
from monitor.polling.fetch import ACCEPT_FEED, Fetcher, FetchResult
from monitor.polling.outcome import (
    FeedReport,
    Outcome,
    feed_report,
    record_failure,
    record_success,
)
from monitor.polling.pages import PageReader
from monitor.urls import canonical_url

log = logging.getLogger(__name__)

_CHUNK = 500  # bound parameters per IN (...) query


@dataclass(frozen=True)
class _Job:
    """A feed as read at the start of the poll: workers never touch ORM objects."""

    id: int
    name: str
    url: str
    etag: str | None
    last_modified: str | None
    retries: tuple[PageRetry, ...]


@dataclass
class _Plan:
    """What a worker found for one feed; written to the database on the calling thread."""

    job: _Job
    allow_private: bool = False
    result: FetchResult | None = None
    error: MonitorError | None = None
    entries: int = 0
    warning: str | None = None
    known_by_url: list[tuple[str, str]] = field(default_factory=list)  # (guid, url key)
    drafts: list[ArticleDraft] = field(default_factory=list)
    retried: list[tuple[PageRetry, RetryOutcome]] = field(default_factory=list)
    pages: int = 0
    deferred: int = 0


def poll_feeds(
    db: Database,
    config: Config,
    fetcher: Fetcher,
    *,
    due_only: bool,
    now: datetime | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
    feed_ids: Sequence[int] | None = None,
) -> list[FeedReport]:
    """Poll enabled feeds (only those due, or all), store new articles; one report per feed.

    Disabled feeds get a "skipped" report. Failures are recorded on the feed (backoff) and
    reported, never raised, so one broken feed never stops the others. `on_feed` hears of
    each feed as soon as it is stored, on the calling thread (so it may write to the database):
    progress, or reading that feed's articles while the others are still being fetched.
    `feed_ids` limits the poll to those feeds (a queue worker polls one feed per job).
    """
    now = now or datetime.now(UTC)
    jobs, skipped = _load_jobs(db, due_only=due_only, now=now, feed_ids=feed_ids)
    reports = list(skipped)
    if jobs:
        workers = max(1, min(config.polling.concurrency, len(jobs)))
        with ThreadPoolExecutor(workers, thread_name_prefix="poll") as pool:
            futures: dict[Future[_Plan], _Job] = {
                pool.submit(_collect, job, db, fetcher, config.polling, now): job for job in jobs
            }
            for future in as_completed(futures):
                report = _store(db, _result_of(future, futures[future]), now)
                reports.append(report)
                if on_feed is not None:
                    _tell(on_feed, report)
    return sorted(reports, key=lambda r: r.feed)


def poll_feed(
    db: Database, config: Config, fetcher: Fetcher, feed_id: int, *, now: datetime | None = None
) -> FeedReport:
    """Poll one feed now, due or not, and store what it brought; MonitorError if it is gone."""
    now = now or datetime.now(UTC)
    jobs, skipped = _load_jobs(db, due_only=False, now=now, feed_ids=[feed_id])
    if skipped:
        return skipped[0]
    if not jobs:
        raise MonitorError(f"no feed with id {feed_id}")
    try:
        plan = _collect(jobs[0], db, fetcher, config.polling, now)
    except Exception as exc:  # a bug is recorded on the feed like any failure
        plan = _unexpected(jobs[0], exc)
    return _store(db, plan, now)


def _tell(on_feed: Callable[[FeedReport], None], report: FeedReport) -> None:
    try:
        on_feed(report)
    except Exception:  # the feeds still in flight must be stored all the same
        log.exception("feed %s: handling its report failed", report.feed)


def _result_of(future: Future[_Plan], job: _Job) -> _Plan:
    try:
        return future.result()
    except Exception as exc:  # a bug must cost one feed, not the whole poll
        return _unexpected(job, exc)


def _unexpected(job: _Job, exc: Exception) -> _Plan:
    log.error("feed %s: unexpected failure", job.name, exc_info=exc)
    return _Plan(job=job, error=MonitorError(f"{job.url}: unexpected failure: {exc!r}"))


def _load_jobs(
    db: Database, *, due_only: bool, now: datetime, feed_ids: Sequence[int] | None = None
) -> tuple[list[_Job], list[FeedReport]]:
    with db.sessions() as session:
        query = select(Feed).order_by(Feed.name)
        retry_query = select(Article.id, Article.url, Article.fetched_at, Article.feed_id).where(
            Article.retry_page.is_(True)
        )
        if feed_ids is not None:
            query = query.where(Feed.id.in_(feed_ids))
            retry_query = retry_query.where(Article.feed_id.in_(feed_ids))
        feeds = list(session.scalars(query))
        retries: dict[int, list[PageRetry]] = defaultdict(list)
        for article_id, url, fetched_at, article_feed in session.execute(retry_query):
            if article_feed is not None:
                retries[article_feed].append(PageRetry(article_id, url, fetched_at))
    jobs: list[_Job] = []
    skipped: list[FeedReport] = []
    for feed in feeds:
        if not feed.enabled:
            reason = f"disabled: {feed.disabled_reason or 'enabled = false in config'}"
            skipped.append(feed_report(feed, "skipped", error=reason))
        elif not due_only or feed.next_check_at is None or feed.next_check_at <= now:
            retry = tuple(retries.get(feed.id, ()))
            jobs.append(_Job(feed.id, feed.name, feed.url, feed.etag, feed.last_modified, retry))
    return jobs, skipped


def _collect(
    job: _Job, db: Database, fetcher: Fetcher, polling: PollingConfig, now: datetime
) -> _Plan:
    """The network half for one feed: conditional GET, parse, new entries' pages, retries."""
    # The feed's share of the poll: no page of it is started after this.
    until = time.monotonic() + polling.feed_budget
    # A feed the operator put on a private address may link to that network too.
    plan = _Plan(job=job, allow_private=fetcher.serves_privately(job.url))
    reader = PageReader(fetcher, plan.allow_private, now, until, polling.host_concurrency)
    try:
        plan.result = fetcher.fetch(
            job.url,
            allow_private=plan.allow_private,
            etag=job.etag,
            last_modified=job.last_modified,
            accept=ACCEPT_FEED,
        )
    except FetchError as exc:
        plan.error = exc
        return plan
    entries: Sequence[FeedItem] = ()
    if not plan.result.not_modified:  # else nothing to parse: only pages to read again
        try:
            parsed = parse_feed(plan.result.body, plan.result.headers, url=plan.result.final_url)
        except FeedError as exc:
            plan.error = exc
            return plan
        plan.entries, plan.warning = len(parsed.entries), parsed.problem
        entries = _new_entries(plan, parsed.entries, db)
    pages = reader.read(entries, job.retries)
    plan.drafts, plan.retried = pages.drafts, pages.retried
    plan.pages, plan.deferred = pages.fetched, pages.deferred
    return plan


def _new_entries(plan: _Plan, entries: Sequence[FeedItem], db: Database) -> list[FeedItem]:
    """The entries whose pages to read; those whose story is stored already go to known_by_url."""
    with db.sessions() as session:
        known = _known_guids(session, plan.job.id, [e.guid for e in entries])
        fresh = [e for e in entries if e.guid not in known and e.link]
        keys = {e.guid: canonical_url(e.link) for e in fresh if e.link}
        stored = _stored_urls(session, list(keys.values()))
    for entry in entries:
        if entry.guid not in known and not entry.link:
            log.info("feed %s: entry %r has no link, skipped", plan.job.name, entry.guid)
    reading: set[str] = set()
    to_read: list[FeedItem] = []
    for entry in fresh:
        key = keys[entry.guid]
        if key in stored or key in reading:
            plan.known_by_url.append((entry.guid, key))  # same story: no page fetch
            continue
        reading.add(key)
        to_read.append(entry)
    return to_read


def _known_guids(session: Session, feed_id: int, guids: list[str]) -> set[str]:
    known: set[str] = set()
    for chunk in _chunks(guids):
        query = select(FeedEntry.guid).where(
            FeedEntry.feed_id == feed_id, FeedEntry.guid.in_(chunk)
        )
        known.update(session.scalars(query))
    return known


def _stored_urls(session: Session, keys: list[str]) -> set[str]:
    stored: set[str] = set()
    for chunk in _chunks(keys):
        stored.update(
            session.scalars(select(Article.canonical_url).where(Article.canonical_url.in_(chunk)))
        )
    return stored


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _store(db: Database, plan: _Plan, now: datetime) -> FeedReport:
    """The database half for one feed, in one transaction of its own."""
    try:
        with db.transaction() as session:
            feed = session.get(Feed, plan.job.id)
            if feed is None:
                raise MonitorError(f"feed {plan.job.name!r} vanished during the poll")
            feed.last_checked_at = now
            if plan.error is not None or plan.result is None:
                return _fail(feed, plan, now)
            new_ids, updated_ids = _store_articles(session, feed, plan)
            record_success(feed, plan.result, now)
            outcome: Outcome = "not-modified" if plan.result.not_modified else "new"
            return feed_report(
                feed,
                outcome,
                new_ids=new_ids,
                updated_ids=updated_ids,
                entries=plan.entries,
                pages=plan.pages,
                deferred=plan.deferred,
                warning=plan.warning,
            )
    except (SQLAlchemyError, MonitorError) as exc:
        log.error("feed %s: could not store the poll: %s", plan.job.name, exc)
        failed = _Plan(job=plan.job, error=MonitorError(f"{plan.job.url}: storing failed: {exc}"))
        return _store_failure_only(db, failed, now)


def _fail(feed: Feed, plan: _Plan, now: datetime) -> FeedReport:
    error = plan.error or MonitorError(f"{feed.url}: no response")
    return record_failure(feed, error, now, pages=plan.pages)


def _store_failure_only(db: Database, plan: _Plan, now: datetime) -> FeedReport:
    try:
        with db.transaction() as session:
            feed = session.get(Feed, plan.job.id)
            if feed is not None:
                return _fail(feed, plan, now)
    except SQLAlchemyError as exc:
        log.error("feed %s: could not record the failure either: %s", plan.job.name, exc)
    error = str(plan.error)
    return FeedReport(plan.job.name, "error", 0, (), error, None, url=plan.job.url)


def oldest_first(drafts: Sequence[ArticleDraft]) -> list[ArticleDraft]:
    """Drafts in the order the news happened, as far as the feed tells it.

    The pipeline matches articles by (published_at, id), and the order decides which state
    changes happen (a confirmation read after its own retraction changes nothing). Items that
    share a date (a feed stamping every item with its build time, or items with no date, all
    dated "now") are told apart by their place in the feed: newest first, as feeds list them,
    unless the dated items show this feed lists oldest first.
    """
    newest_on_top = not drafts or drafts[0].published_at >= drafts[-1].published_at
    order = sorted(
        enumerate(drafts),
        key=lambda pair: (pair[1].published_at, -pair[0] if newest_on_top else pair[0]),
    )
    return [draft for _, draft in order]


def _store_articles(session: Session, feed: Feed, plan: _Plan) -> tuple[list[int], list[int]]:
    new_ids: list[int] = []
    for draft in oldest_first(plan.drafts):
        article = store_article(
            session, draft, feed_id=feed.id, source=feed.name, credibility=feed.credibility
        )
        if article is not None:
            new_ids.append(article.id)
    # After the drafts: an entry may repeat a link that a draft of this same poll stored.
    for guid, key in plan.known_by_url:
        if not link_entry(session, feed_id=feed.id, guid=guid, url_key=key):
            log.info("feed %s: %s vanished before it could be linked", feed.name, key)
    updated_ids = [r.article_id for r, outcome in plan.retried if apply_retry(session, r, outcome)]
    return new_ids, updated_ids
