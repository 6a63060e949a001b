"""The Procrastinate app: our tasks, their queues, and deferring them by name.

A task's body lives in `monitor.queue.tasks`; here it is registered under a stable name on a
queue with its retry policy. Workers run the bodies with the process's Runtime (config,
database, the model loaded once), which Procrastinate hands over in the job context. The app is
built per process from the config, never at import time: nothing here reads a global.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.config import Config
from monitor.db import libpq_conninfo

if TYPE_CHECKING:
    from procrastinate import App, JobContext

log = logging.getLogger(__name__)

FETCH, MODEL, ALERTS = "fetch", "model", "alerts"
QUEUES = (FETCH, MODEL, ALERTS)

POLL = "rumour_monitor.poll_feed"
EMBED = "rumour_monitor.embed_articles"
READ = "rumour_monitor.read_pending"
DELIVER = "rumour_monitor.deliver"
MAINTENANCE = "rumour_monitor.maintenance"


@dataclass(frozen=True)
class TaskSpec:
    name: str
    queue: str
    # Procrastinate's own retries are for failures of the job as a whole (a database that
    # went away). A bad article or feed is recorded on its row and never fails the job.
    max_attempts: int = 5
    lock: str | None = None  # jobs with one lock run one at a time, in the order deferred
    queueing_lock: str | None = None  # at most one such job waiting
    # Higher runs first among waiting jobs. The ordered reader goes ahead of the embedding
    # jobs, so that it reads each batch as soon as it is embedded instead of all of them at
    # the end, when every other model worker would wait for it.
    priority: int = 0


SPECS = {
    POLL: TaskSpec(POLL, FETCH),
    EMBED: TaskSpec(EMBED, MODEL),
    READ: TaskSpec(READ, MODEL, lock="read", queueing_lock="read", priority=1),
    DELIVER: TaskSpec(DELIVER, ALERTS, queueing_lock="deliver"),
    MAINTENANCE: TaskSpec(MAINTENANCE, FETCH, max_attempts=2, queueing_lock="maintenance"),
}

Body = Callable[..., Mapping[str, Any] | None]


def build_app(config: Config, bodies: Mapping[str, Body] | None = None, **pool: Any) -> App:
    """An unopened app on the config's PostgreSQL, with every task registered.

    `bodies` are the task functions a worker runs (each takes the job context first); a
    process that only defers (the scheduler) registers names and queues alone.
    """
    from procrastinate import App, PsycopgConnector, RetryStrategy

    db = config.database
    conninfo = libpq_conninfo(
        db.url, connect_timeout=db.connect_timeout, statement_timeout=db.statement_timeout
    )
    app = App(connector=PsycopgConnector(conninfo=conninfo, **pool))
    for spec in SPECS.values():
        body = (bodies or {}).get(spec.name, _not_here)
        retry = RetryStrategy(max_attempts=spec.max_attempts, exponential_wait=2)
        app.task(name=spec.name, queue=spec.queue, pass_context=True, retry=retry)(body)
    return app


def _not_here(context: JobContext, **_: Any) -> None:
    raise RuntimeError(f"job {context.job.id}: this process only defers jobs")


def defer(app: App, name: str, *, delay: float = 0, **args: Any) -> int | None:
    """Queue one job of task `name`; None when its queueing lock says one already waits."""
    from procrastinate.exceptions import AlreadyEnqueued

    spec = SPECS[name]
    options: dict[str, Any] = {
        "lock": spec.lock,
        "queueing_lock": spec.queueing_lock,
        "priority": spec.priority,
    }
    if "feed_id" in args:  # one waiting poll per feed, however often it is found due
        options["queueing_lock"] = f"poll:{args['feed_id']}"
    if delay:
        options["schedule_in"] = {"seconds": delay}
    try:
        return int(app.configure_task(name, **options).defer(**args))
    except AlreadyEnqueued:
        return None
