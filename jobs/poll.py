"""Poll the feeds that are due, process the new articles, deliver the alerts they caused.

Each feed's own schedule (interval, backoff, Retry-After) lives in `feeds.next_check_at`, so
this job can tick every few seconds and only due feeds are fetched. Articles are processed in
small batches with a look at the stop flag between them: on SIGTERM the batch in hand
finishes (each article commits alone) and the rest waits in the database for the next start.
"""

from __future__ import annotations

import logging
from typing import Any

from jobs import deliver
from monitor.polling import poll_feeds
from monitor.queries import pending_count
from monitor.reading import TransitionReport, process_pending
from monitor.service import Runtime, embedder, fetcher

log = logging.getLogger(__name__)
BATCH = 4  # articles between two looks at the stop flag


def process(runtime: Runtime) -> tuple[int, list[TransitionReport]]:
    """Process pending articles batch by batch until done or asked to stop.

    Returns how many articles were pending at the start and the state changes they caused.
    """
    with runtime.database.sessions() as session:
        pending = pending_count(session)
    batches = 0
    changes: list[TransitionReport] = []
    # An article that fails is not picked again in this pass: its next attempt waits for the
    # next pass, so a passing hiccup cannot spend all its attempts at once. Bounding the loop
    # by the count at the start keeps the job finite whatever happens.
    failed: set[int] = set()
    while batches * BATCH < pending and not runtime.stop.is_set():
        reports = process_pending(
            runtime.database, runtime.config, embedder(runtime), limit=BATCH, failed=failed
        )
        batches += 1
        changes.extend(reports)
        for report in reports:
            log.info(
                "rumour changed state",
                extra={
                    "rumour": report.rumour_id,
                    "from": report.from_state,
                    "to": report.to_state,
                    "signal": report.signal,
                    "url": report.url,
                },
            )
    return pending, changes


def run(runtime: Runtime) -> dict[str, Any]:
    reports = poll_feeds(runtime.database, runtime.config, fetcher(runtime), due_only=True)
    for report in reports:
        if report.outcome != "skipped":
            runtime.metrics.record_poll(report.outcome)
    summary: dict[str, Any] = {
        "feeds": sum(1 for r in reports if r.outcome != "skipped"),
        "failing": sum(1 for r in reports if r.outcome == "error"),
        "new_articles": sum(r.new_articles for r in reports),
    }
    if runtime.stop.is_set():
        return summary
    summary["pending"], changes = process(runtime)
    summary["transitions"] = len(changes)
    if not runtime.stop.is_set():
        summary.update({f"alerts_{k}": v for k, v in deliver.run(runtime).items()})
    return summary
