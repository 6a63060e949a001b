"""The scheduler's side of distributed mode: find what is due and queue it, nothing more.

`rumour-monitor run` keeps its lock, listener and tick; with `[queue] backend =
"procrastinate"` each tick queues a poll for every due feed, a reader when articles wait, a
delivery when alerts are due, and puts back the jobs of workers that stopped answering. The
work itself is done by `rumour-monitor worker` processes on any machine. Queueing locks keep
one waiting job per feed (and one reader, one delivery), so a slow queue is never flooded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, or_, select

from monitor.db.models import Alert, Article, Feed
from monitor.queries import is_pending
from monitor.queue.app import DELIVER, MAINTENANCE, POLL, READ, build_app, defer
from monitor.queue.state import recover_stalled
from monitor.service import Runtime

if TYPE_CHECKING:
    from procrastinate import App


def queue_app(runtime: Runtime) -> App:
    """The scheduler's app, opened once: it only defers, on a small pool of its own."""
    return runtime.shared("queue", lambda: build_app(runtime.config, min_size=1, max_size=2).open())


def enqueue_due(runtime: Runtime) -> dict[str, Any]:
    app = queue_app(runtime)
    now = datetime.now(UTC)
    with runtime.database.transaction() as session:
        recovered = recover_stalled(session, runtime.config.queue.stall_timeout)
        due = list(
            session.scalars(
                select(Feed.id)
                .where(Feed.enabled.is_(True))
                .where(or_(Feed.next_check_at.is_(None), Feed.next_check_at <= now))
                .order_by(Feed.next_check_at.nulls_first(), Feed.id)
            )
        )
        pending = session.scalar(select(exists().where(is_pending()).select_from(Article)))
        alerts = session.scalar(
            select(exists().where(Alert.status == "pending", Alert.next_attempt_at <= now))
        )
    polls = sum(defer(app, POLL, feed_id=feed_id) is not None for feed_id in due)
    # After the polls: the reader waits for the polls queued before it, as `run` reads once
    # the round's articles are stored.
    read = bool(pending or polls) and defer(app, READ, retry_failed=True) is not None
    deliver = bool(alerts) and defer(app, DELIVER) is not None
    summary: dict[str, Any] = {"due_feeds": len(due), "polls_queued": polls}
    if read:
        summary["read_queued"] = True
    if deliver:
        summary["deliver_queued"] = True
    if recovered:
        summary["recovered_jobs"] = len(recovered)
    return summary


def enqueue_maintenance(runtime: Runtime) -> dict[str, Any]:
    job_id = defer(queue_app(runtime), MAINTENANCE)
    return {"maintenance_job": job_id} if job_id else {"skipped": "maintenance already queued"}
