"""One feed's pages: read a few at a time, within the feed's share of the poll.

A feed's new entries' pages (and its pages to read again) are fetched with up to
`polling.host_concurrency` in flight, so pages that never answer overlap instead of costing a
timeout each, one after another; the Fetcher's host limiter still keeps each host to its
limits. A page not started once `polling.feed_budget` has run out waits for
the next poll: a new entry is stored from its summary, marked to have its page read then (as
after a 5xx), so it is never lost even if the feed drops it; a page to read again just waits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime

from monitor.polling.articles import (
    ArticleDraft,
    PageRetry,
    RetryOutcome,
    read_article,
    retry_page,
    summary_draft,
)
from monitor.polling.feeditems import FeedItem
from monitor.polling.fetch import Fetcher

LEFT_FOR_NEXT_POLL = "page left for the next poll: the feed's share of this one ran out"


@dataclass
class PageResults:
    """Drafts in the order of the entries given (the order decides ties between equal dates)."""

    drafts: list[ArticleDraft] = field(default_factory=list)
    retried: list[tuple[PageRetry, RetryOutcome]] = field(default_factory=list)
    fetched: int = 0  # pages asked for
    deferred: int = 0  # pages left for the next poll


@dataclass(frozen=True)
class PageReader:
    """Reads one feed's pages: `until` is the time.monotonic() after which none is started."""

    fetcher: Fetcher
    allow_private: bool
    now: datetime  # the poll's time, for the drafts
    until: float
    workers: int

    def read(self, entries: Sequence[FeedItem], retries: Sequence[PageRetry]) -> PageResults:
        results = PageResults()
        if not entries and not retries:
            return results
        workers = max(1, min(self.workers, len(entries) + len(retries)))
        with ThreadPoolExecutor(workers, thread_name_prefix="page") as pool:
            # Submitted in this order, so pages read again go first: they waited longest.
            again = pool.map(self._retry, retries)
            new = pool.map(self._entry, entries)
            for (retry, outcome), fetched in again:
                results.retried.append((retry, outcome))
                results.fetched += fetched
                results.deferred += not fetched
            for draft, fetched in new:
                results.drafts.append(draft)
                results.fetched += fetched
                results.deferred += not fetched
        return results

    def _late(self) -> bool:
        return time.monotonic() >= self.until

    def _retry(self, retry: PageRetry) -> tuple[tuple[PageRetry, RetryOutcome], bool]:
        if self._late():
            return (retry, "again"), False
        outcome = retry_page(retry, self.fetcher, allow_private=self.allow_private, now=self.now)
        return (retry, outcome), True

    def _entry(self, entry: FeedItem) -> tuple[ArticleDraft, bool]:
        if self._late():
            draft = summary_draft(entry, self.now)
            return replace(draft, retry_page=True, note=LEFT_FOR_NEXT_POLL), False
        draft = read_article(entry, self.fetcher, allow_private=self.allow_private, now=self.now)
        return draft, True
