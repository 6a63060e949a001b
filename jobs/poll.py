"""Poll the feeds that are due, read each feed's new articles, deliver the alerts they caused.

Each feed's own schedule (interval, backoff, Retry-After) lives in `feeds.next_check_at`, so
this job can tick every few seconds and only due feeds are fetched. A feed's articles are read
and their alerts sent as soon as that feed is stored, while slower feeds are still being
fetched: a site that never answers delays its own articles, not everyone's alerts. Articles are
processed in small batches with a look at the stop flag between them: on SIGTERM the batch in
hand finishes (each article commits alone) and the rest waits in the database for the next
start. Every step is keyed by database rows, so a re-run or a crash never doubles anything.

The steps, for a scheduler that runs them apart (one feed per job, reading in another):
`poll_one` (one feed), `process` (the pending articles), then `deliver.run` (the alerts).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobs import deliver
from monitor.polling import FeedReport, poll_feed, poll_feeds
from monitor.queries import pending_count
from monitor.reading import TransitionReport, process_pending
from monitor.service import Runtime, embedder, fetcher

log = logging.getLogger(__name__)
BATCH = 4  # articles between two looks at the stop flag


def poll_one(runtime: Runtime, feed_id: int) -> FeedReport:
    """Poll one feed now and store its new articles (they wait for `process`)."""
    report = poll_feed(runtime.database, runtime.config, fetcher(runtime), feed_id)
    if report.outcome != "skipped":
        runtime.metrics.record_poll(report.outcome)
    return report


def process(runtime: Runtime, failed: set[int] | None = None) -> tuple[int, list[TransitionReport]]:
    """Process pending articles batch by batch until done or asked to stop.

    Returns how many articles were pending at the start and the state changes they caused.
    `failed` carries the articles that failed over from an earlier call of the same pass.
    """
    with runtime.database.sessions() as session:
        pending = pending_count(session)
    batches = 0
    changes: list[TransitionReport] = []
    # An article that fails is not picked again in this pass: its next attempt waits for the
    # next pass, so a passing hiccup cannot spend all its attempts at once. Bounding the loop
    # by the count at the start keeps the job finite whatever happens.
    failed = set() if failed is None else failed
    while batches * BATCH < pending and not runtime.stop.is_set():
        reports = process_pending(
            runtime.database, runtime.config, embedder(runtime), limit=BATCH, failed=failed
        )
        batches += 1
        changes.extend(reports)
        for report in reports:
            log.info("rumour changed state", extra=report.log_fields())
    return pending, changes


@dataclass
class PollRun:
    """What one pass did: the feeds' reports, the state changes, the alerts' outcomes."""

    reports: list[FeedReport] = field(default_factory=list)
    changes: list[TransitionReport] = field(default_factory=list)
    alerts: Counter[str] = field(default_factory=Counter)
    pending: int = 0  # articles found pending, summed over the pass's reading steps
    failed: set[int] = field(default_factory=set)  # articles that failed in this pass


def poll(
    runtime: Runtime,
    *,
    due_only: bool,
    on_feed: Callable[[FeedReport], None] | None = None,
    on_changes: Callable[[Sequence[TransitionReport]], None] | None = None,
) -> PollRun:
    """Poll the feeds; after each feed that brought articles, read them and send the alerts.

    `on_feed` hears of each feed as it is stored, `on_changes` of the state changes each
    reading step made, before their alerts go out.
    """
    done = PollRun()

    def after(report: FeedReport) -> None:
        if report.outcome != "skipped":
            runtime.metrics.record_poll(report.outcome)
        if on_feed is not None:
            on_feed(report)
        if report.brought_articles:
            _read_and_alert(runtime, done, on_changes)

    done.reports = poll_feeds(
        runtime.database, runtime.config, fetcher(runtime), due_only=due_only, on_feed=after
    )
    # Articles an earlier run left pending, and alerts whose retry is due.
    _read_and_alert(runtime, done, on_changes)
    return done


def _read_and_alert(
    runtime: Runtime,
    done: PollRun,
    on_changes: Callable[[Sequence[TransitionReport]], None] | None,
) -> None:
    if runtime.stop.is_set():
        return
    pending, changes = process(runtime, done.failed)
    done.pending += pending
    done.changes.extend(changes)
    if changes and on_changes is not None:
        on_changes(changes)
    if not runtime.stop.is_set():
        # counts only: {"skipped": ...} when the deliver job is sending at the same moment
        sent = deliver.run(runtime)
        done.alerts.update({k: v for k, v in sent.items() if isinstance(v, int)})


def _log_failure(report: FeedReport) -> None:
    """For the service's log; `poll` prints the same in its report, so it does not log it."""
    if report.outcome != "error":
        return
    if report.next_check_at is None:  # a 410 Gone: off until its URL changes
        log.warning("feed %s disabled: %s", report.feed, report.error, extra={"feed": report.feed})
        return
    # the feed as a field too, so `--log-format json` lines can be selected by feed
    log.warning(
        "feed %s failed (%d in a row): %s",
        report.feed,
        report.error_count,
        report.error,
        extra={"feed": report.feed},
    )


def run(runtime: Runtime) -> dict[str, Any]:
    done = poll(runtime, due_only=True, on_feed=_log_failure)
    polled = [r for r in done.reports if r.outcome != "skipped"]
    return {
        "feeds": len(polled),
        "failing": sum(1 for r in polled if r.outcome == "error"),
        "new_articles": sum(r.new_articles for r in polled),
        "pending": done.pending,
        "transitions": len(done.changes),
        **{f"alerts_{k}": v for k, v in done.alerts.items()},
    }
