"""`check`'s look at the job queue in distributed mode: its schema, its jobs, its workers."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from monitor.checks.result import Result, fail, ok, warn
from monitor.config import Config
from monitor.db import Database
from monitor.errors import DatabaseError


def check_queue(config: Config, db: Database | None) -> Result | None:
    """None in the embedded default (`[queue] backend = "local"`): there is no queue."""
    if not config.queue.distributed:
        return None
    if db is None:
        return fail("queue", "the database is not reachable, so neither is the job queue")
    from monitor.queue import queue_stats, require_queue_schema

    try:
        require_queue_schema(db)
        with db.sessions() as session:
            stats = queue_stats(session, config.queue.stall_timeout)
    except (DatabaseError, SQLAlchemyError) as exc:
        return fail("queue", str(exc))
    if not stats.workers:
        return warn(
            "queue",
            f"{stats.line()}: no worker has checked in within {config.queue.stall_timeout:g}s;"
            " start `rumour-monitor worker` (systemd/rumour-monitor-worker@.service)",
        )
    if stats.failed_recent:
        return warn("queue", f"{stats.line()}; {stats.failed_recent} jobs failed in the last 24h")
    return ok("queue", stats.line())
