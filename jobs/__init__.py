"""The scheduled jobs of `rumour-monitor run`: thin modules that build inputs and call monitor/.

`service_jobs` is the whole schedule in one place: what runs, how often, and how late a run
may still start after a misfire (a suspended machine, a long poll holding the only slot). In
distributed mode (`[queue] backend = "procrastinate"`) the same schedule only queues the work
for `rumour-monitor worker` processes (`jobs/enqueue.py`).
"""

from __future__ import annotations

from datetime import UTC

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from jobs import deliver, enqueue, maintenance, poll
from monitor.config import Config
from monitor.service import JobSpec


def service_jobs(config: Config) -> list[JobSpec]:
    tick = config.service.tick
    hour, minute = config.service.maintenance_at
    # A tick missed by less than this still runs (once, thanks to coalesce); beyond it the
    # next tick comes soon anyway.
    grace = max(300, int(10 * tick))
    if config.queue.distributed:
        return [
            JobSpec(
                "enqueue", enqueue.run, IntervalTrigger(seconds=tick), grace, run_at_start=True
            ),
            JobSpec(
                "maintenance",
                enqueue.maintenance,
                CronTrigger(hour=hour, minute=minute, timezone=UTC),
                misfire_grace_time=12 * 3600,
            ),
        ]
    return [
        JobSpec("poll", poll.run, IntervalTrigger(seconds=tick), grace, run_at_start=True),
        JobSpec("deliver", deliver.run, IntervalTrigger(seconds=tick), grace, run_at_start=True),
        JobSpec(
            "maintenance",
            maintenance.run,
            CronTrigger(hour=hour, minute=minute, timezone=UTC),
            misfire_grace_time=12 * 3600,  # a box that was off at 04:15 still tidies up today
        ),
    ]
