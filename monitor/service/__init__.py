"""The service: `run`'s scheduler and what keeps it healthy under systemd.

Takes the config and a database; runs the polling, reading, delivery and maintenance jobs on a
schedule under a one-per-database lock, answers `/healthz`, `/metrics` and the read-only web
view, and speaks systemd's notify protocol (ready, watchdog, stopping).
"""

from monitor.service.listener import SERVER_NAME
from monitor.service.lock import scheduler_holder, setup_lock
from monitor.service.maintenance import run_maintenance
from monitor.service.metrics import Metrics, TimedEncoder
from monitor.service.parts import channels, embedder, fetcher
from monitor.service.scheduler import JobSpec, Runtime, run_service

__all__ = [
    "SERVER_NAME",
    "JobSpec",
    "Metrics",
    "Runtime",
    "TimedEncoder",
    "channels",
    "embedder",
    "fetcher",
    "run_maintenance",
    "run_service",
    "scheduler_holder",
    "setup_lock",
]
