"""The distributed mode: Procrastinate jobs in PostgreSQL, shared by any number of workers.

Takes the config (with `[queue] backend = "procrastinate"`) and the database; gives the
scheduler's enqueuing (`enqueue_due`), the worker process (`run_worker`), the queue's schema
(`upgrade_queue`, run by `init`) and its figures for `status`, `/metrics` and `check`
(`queue_stats`). The stages themselves are the ones the single process runs, keyed by rows.
"""

from monitor.queue.app import ALERTS, FETCH, MODEL, QUEUES, build_app, defer
from monitor.queue.schedule import enqueue_due, enqueue_maintenance
from monitor.queue.schema import queue_revision, require_queue_schema, upgrade_queue
from monitor.queue.state import QueueStats, queue_stats
from monitor.queue.worker import default_concurrency, run_worker

__all__ = [
    "ALERTS",
    "FETCH",
    "MODEL",
    "QUEUES",
    "QueueStats",
    "build_app",
    "default_concurrency",
    "defer",
    "enqueue_due",
    "enqueue_maintenance",
    "queue_revision",
    "queue_stats",
    "require_queue_schema",
    "run_worker",
    "upgrade_queue",
]
