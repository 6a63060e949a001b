"""What the job queue holds, read and tidied with plain SQL on our own sessions.

Procrastinate's tables live beside ours (`procrastinate_jobs`, `_events`, `_workers`), so
`status`, `/metrics` and the scheduler read them in the same database, with the same
connection settings; nothing here needs the Procrastinate app opened.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.queue.app import EMBED, QUEUES

log = logging.getLogger(__name__)

OPEN = ("todo", "doing")
# A job whose worker died this many times is not retried again: it is likely what kills them.
MAX_STALLS = 3


def outstanding(session: Session, task: str, *, up_to: int | None = None) -> int:
    """Jobs of `task` waiting or running (only those with an id up to `up_to`, if given)."""
    query = (
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task"
        " AND status IN ('todo', 'doing') AND (CAST(:up_to AS bigint) IS NULL OR id <= :up_to)"
    )
    return int(session.execute(text(query), {"task": task, "up_to": up_to}).scalar_one())


def last_job_id(session: Session, task: str) -> int:
    query = "SELECT coalesce(max(id), 0) FROM procrastinate_jobs WHERE task_name = :task"
    return int(session.execute(text(query), {"task": task}).scalar_one())


def embedding_ahead(session: Session) -> set[int]:
    """Articles whose embedding job has not had its first try yet: the reader waits for them
    rather than encode them itself, one at a time. A retried job no longer holds it up."""
    rows = session.execute(
        text(
            "SELECT args -> 'article_ids' FROM procrastinate_jobs WHERE task_name = :task"
            " AND status IN ('todo', 'doing') AND attempts = 0"
        ),
        {"task": EMBED},
    )
    return {int(article_id) for (ids,) in rows for article_id in (ids or [])}


@dataclass(frozen=True)
class Recovered:
    job_id: int
    task: str
    retried: bool  # False: given up after MAX_STALLS (marked failed)


def recover_stalled(session: Session, stall_timeout: float) -> list[Recovered]:
    """Put the jobs of workers gone silent (killed, frozen, cut off) back in the queue.

    A worker beats every few seconds; one silent for `stall_timeout` is presumed dead and
    pruned, and each job it held goes back to 'todo' with one more attempt. The work it had
    not committed was rolled back with its connection, and every stage is keyed by rows, so
    the retry finishes it once.
    """
    session.execute(
        text("SELECT procrastinate_prune_stalled_workers_v1(:s)"), {"s": float(stall_timeout)}
    )
    rows = session.execute(
        text(
            "SELECT id, task_name, attempts FROM procrastinate_jobs WHERE status = 'doing'"
            " AND worker_id IS NULL ORDER BY id FOR UPDATE SKIP LOCKED"
        )
    ).all()
    recovered = []
    for job_id, task, attempts in rows:
        retry = attempts < MAX_STALLS
        if retry:
            _retry(session, int(job_id))
        else:
            session.execute(
                text("SELECT procrastinate_finish_job_v1(:id, 'failed', false)"), {"id": job_id}
            )
        log.warning(
            "job %d (%s) was running on a worker that stopped answering: %s",
            job_id,
            task,
            "queued again" if retry else f"given up after {attempts + 1} tries",
            extra={"job_id": job_id, "task": task},
        )
        recovered.append(Recovered(int(job_id), str(task), retry))
    return recovered


def _retry(session: Session, job_id: int) -> None:
    retry = text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)")
    try:
        with session.begin_nested():
            session.execute(retry, {"id": job_id})
    except IntegrityError:
        # An identical job already waits under the same queueing lock (a reader queues the
        # next reader before it ends): this one goes back without the lock, and runs once
        # more; every stage being keyed by rows, the second run finds its work done.
        session.execute(
            text("UPDATE procrastinate_jobs SET queueing_lock = NULL WHERE id = :id"),
            {"id": job_id},
        )
        session.execute(retry, {"id": job_id})


def delete_finished(session: Session, days: int) -> int:
    """Forget jobs that ended (succeeded, failed, cancelled, aborted) more than `days` ago."""
    result = session.execute(
        text(
            "DELETE FROM procrastinate_jobs WHERE status NOT IN ('todo', 'doing') AND id IN ("
            " SELECT job_id FROM procrastinate_events GROUP BY job_id"
            " HAVING max(at) < now() - make_interval(days => :days))"
        ),
        {"days": days},
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class QueueStats:
    """The queue at a glance: per queue the jobs waiting, running and failed; the workers."""

    todo: dict[str, int] = field(default_factory=dict)
    doing: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)  # among the jobs still kept
    failed_recent: int = 0  # failed in the last 24 hours
    workers: int = 0  # beat within the stall timeout
    workers_silent: int = 0  # registered but silent: dead, to be pruned by the scheduler
    oldest_todo_seconds: float = 0.0  # how long the longest-waiting due job has waited

    def to_json(self) -> dict[str, Any]:
        return {
            "queues": {
                q: {"todo": self.todo[q], "doing": self.doing[q], "failed": self.failed[q]}
                for q in QUEUES
            },
            "failed_last_24h": self.failed_recent,
            "workers": self.workers,
            "workers_silent": self.workers_silent,
            "oldest_todo_seconds": round(self.oldest_todo_seconds, 1),
        }

    def line(self) -> str:
        """One line for people: `fetch 3 waiting / 1 running, model ..., workers 3`."""
        parts = [
            f"{q} {self.todo[q]} waiting / {self.doing[q]} running"
            + (f" / {self.failed[q]} failed" if self.failed[q] else "")
            for q in QUEUES
        ]
        workers = f"{self.workers} worker{'s' if self.workers != 1 else ''} seen"
        if self.workers_silent:
            workers += f" ({self.workers_silent} silent)"
        return f"jobs: {', '.join(parts)}; {workers}"


def queue_stats(session: Session, stall_timeout: float) -> QueueStats:
    counts: dict[str, dict[str, int]] = {s: dict.fromkeys(QUEUES, 0) for s in (*OPEN, "failed")}
    rows = session.execute(
        text(
            "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs"
            " WHERE status IN ('todo', 'doing', 'failed') GROUP BY 1, 2"
        )
    )
    for queue, status, count in rows:
        counts[status][queue] = counts[status].get(queue, 0) + int(count)
    recent = session.execute(
        text(
            "SELECT count(DISTINCT job_id) FROM procrastinate_events"
            " WHERE type = 'failed' AND at > now() - interval '1 day'"
        )
    ).scalar_one()
    alive, silent = session.execute(
        text(
            "SELECT count(*) FILTER (WHERE last_heartbeat >= now() - make_interval(secs => :s)),"
            " count(*) FILTER (WHERE last_heartbeat < now() - make_interval(secs => :s))"
            " FROM procrastinate_workers"
        ),
        {"s": float(stall_timeout)},
    ).one()
    oldest = session.execute(
        text(
            "SELECT coalesce(extract(epoch FROM now() - min(scheduled_at)), 0) FROM ("
            " SELECT coalesce(j.scheduled_at, e.at) AS scheduled_at FROM procrastinate_jobs j"
            " JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'"
            " WHERE j.status = 'todo' AND coalesce(j.scheduled_at, e.at) <= now()) AS due"
        )
    ).scalar_one()
    return QueueStats(
        todo=counts["todo"],
        doing=counts["doing"],
        failed=counts["failed"],
        failed_recent=int(recent),
        workers=int(alive),
        workers_silent=int(silent),
        oldest_todo_seconds=max(0.0, float(oldest)),
    )


def job_ids(session: Session, task: str, statuses: Sequence[str] = OPEN) -> list[int]:
    """Ids of the jobs of `task` in these statuses, oldest first (for tests and tools)."""
    rows = session.execute(
        text(
            "SELECT id FROM procrastinate_jobs WHERE task_name = :task"
            " AND status::text = ANY(:statuses) ORDER BY id"
        ),
        {"task": task, "statuses": list(statuses)},
    )
    return [int(job_id) for (job_id,) in rows]
