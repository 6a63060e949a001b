"""`rumour-monitor run`: the scheduler that keeps the monitor's schedule for months unattended.

APScheduler 3's BlockingScheduler owns the main thread; jobs run on a small thread pool. Every
job has an explicit id, `coalesce` (a backlog of missed runs becomes one run), `max_instances=1`
(a slow poll is never doubled) and a generous misfire grace (a suspended laptop or a busy box
still runs the job late rather than skipping it). The jobs themselves live in `jobs/`.

Stopping: SIGTERM or SIGINT sets `Runtime.stop`, which jobs check between articles; the
scheduler shuts down and running jobs get STOP_GRACE seconds to finish the article in hand.
A job still busy after that (a fetch waiting on its deadline) is abandoned: its open transaction
never commits, so the database rolls it back, and since every stage is keyed by rows the next
start redoes it exactly once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any, TypeVar

from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Config
from monitor.db import Database
from monitor.service.lock import SchedulerLock
from monitor.service.metrics import Metrics
from monitor.service.sdnotify import Notifier

log = logging.getLogger(__name__)
T = TypeVar("T")

STOP_GRACE = 5.0  # seconds running jobs get to finish after a stop signal
WORKERS = 4  # poll, deliver, maintenance and the watchdog can each have one run in flight


class _SkippedRunFilter(logging.Filter):
    """A poll that outlasts its tick makes APScheduler warn at every tick it skips; that is
    max_instances doing its job, so it is logged at debug instead of flooding the journal."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances reached" in record.getMessage():
            if record.levelno > logging.DEBUG:
                log.debug("skipped a run: the previous one is still going (%s)", record.args)
            return False
        return True


_SKIPPED_RUNS = _SkippedRunFilter()


class Runtime:
    """What jobs share for the life of the process: config, database, metrics, the stop flag,
    and costly objects built once on first use (HTTP client, embedding model, channels)."""

    def __init__(self, config: Config, database: Database, metrics: Metrics) -> None:
        self.config = config
        self.database = database
        self.metrics = metrics
        self.stop = threading.Event()
        # Poll and deliver jobs both send alerts; one sender at a time so nothing goes out twice.
        self.delivery_lock = threading.Lock()
        self._shared: dict[str, Any] = {}
        self._shared_lock = threading.Lock()

    def shared(self, name: str, build: Callable[[], T]) -> T:
        """The object called `name`, built by `build()` the first time any job asks for it."""
        with self._shared_lock:
            if name not in self._shared:
                self._shared[name] = build()
            return self._shared[name]  # type: ignore[no-any-return]

    def close(self) -> None:
        with self._shared_lock:
            for name, thing in self._shared.items():
                close = getattr(thing, "close", None)
                if callable(close):
                    try:
                        close()
                    except Exception:  # closing must not hide the reason we stop
                        log.warning("closing %s failed", name, exc_info=True)
            self._shared.clear()


JobFunc = Callable[[Runtime], Mapping[str, Any] | None]


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: what runs, when, and how late it may still run after a misfire."""

    id: str
    func: JobFunc
    trigger: BaseTrigger
    misfire_grace_time: int
    run_at_start: bool = False


@dataclass
class _Running:
    count: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)


class Service:
    """Runs the jobs until stopped; `run()` returns the process exit code."""

    def __init__(
        self,
        runtime: Runtime,
        jobs: Sequence[JobSpec],
        lock: SchedulerLock,
        notifier: Notifier | None = None,
    ) -> None:
        self.runtime = runtime
        self.jobs = list(jobs)
        self.lock = lock
        self.notifier = notifier or Notifier({})
        self.exit_code = 0
        self.abandoned: list[str] = []  # jobs still running when the stop grace ran out
        self._running = _Running()
        self._busy: set[str] = set()
        self.scheduler = self._build_scheduler()

    def _build_scheduler(self) -> BlockingScheduler:
        scheduler_log = logging.getLogger("apscheduler.scheduler")
        if _SKIPPED_RUNS not in scheduler_log.filters:
            scheduler_log.addFilter(_SKIPPED_RUNS)
        scheduler = BlockingScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(WORKERS)}
        )
        specs = list(self.jobs)
        if self.notifier.watchdog_seconds:
            every = max(1.0, self.notifier.watchdog_seconds / 3)
            specs.append(JobSpec("watchdog", self._watchdog, IntervalTrigger(seconds=every), 30))
        for spec in specs:
            scheduler.add_job(
                self._wrap(spec),
                trigger=spec.trigger,
                id=spec.id,
                name=spec.id,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=spec.misfire_grace_time,
                **({"next_run_time": datetime.now(UTC)} if spec.run_at_start else {}),
            )
        scheduler.add_listener(self._started, EVENT_SCHEDULER_STARTED)
        return scheduler

    @property
    def running(self) -> bool:
        return self.scheduler.state == STATE_RUNNING and not self.runtime.stop.is_set()

    def run(self) -> int:
        """Block until a stop signal (or stop()); then wait briefly for jobs in flight."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        log.info("scheduler starting", extra={"lock": self.lock.description})
        self.scheduler.start()  # blocks until shutdown
        self._wait_for_jobs(self._grace())
        if not self.abandoned:  # an abandoned job may still be using them
            self.runtime.close()
        log.info("scheduler stopped", extra={"exit_code": self.exit_code})
        return self.exit_code

    def stop(self, reason: str = "requested", exit_code: int = 0) -> None:
        """Ask the jobs to wind down and the scheduler to return from run()."""
        if self.runtime.stop.is_set():
            return
        self.exit_code = exit_code
        self.runtime.stop.set()
        self.notifier.stopping()
        log.info("stopping", extra={"reason": reason})
        if self.scheduler.state == STATE_RUNNING:
            self.scheduler.shutdown(wait=False)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.runtime.stop.is_set():
            log.warning("second %s: stopping now without waiting for jobs", name)
            self.abandoned = sorted(self._busy) or ["(none)"]
            self.scheduler.wakeup()
            return
        self.stop(reason=name)

    def _started(self, _event: SchedulerEvent) -> None:
        jobs = ", ".join(spec.id for spec in self.jobs)
        self.notifier.ready(status=f"scheduling {jobs}")
        log.info("scheduler running", extra={"jobs": jobs})

    def _grace(self) -> float:
        """A send in flight gets its channel's own deadline: cutting it off could make the
        outbox send that alert again after the restart."""
        if not self.runtime.delivery_lock.locked():
            return STOP_GRACE
        alerts = self.runtime.config.alerts
        return max([STOP_GRACE, *(t + 1 for t in alerts.timeouts())])

    def _wait_for_jobs(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        with self._running.cond:
            while self._running.count and not self.abandoned:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.abandoned = sorted(self._busy)
                    break
                self._running.cond.wait(min(left, 0.1))
        if self.abandoned:
            log.warning(
                "jobs still running after the stop grace; their open work is rolled back "
                "and redone on the next start",
                extra={"jobs": ",".join(self.abandoned), "grace_seconds": grace},
            )

    def _wrap(self, spec: JobSpec) -> Callable[[], None]:
        def run_job() -> None:
            if self.runtime.stop.is_set():
                return
            if not self.lock.alive():
                log.error("scheduler lock lost; stopping so that a restart can retake it")
                self.stop(reason="lock lost", exit_code=1)
                return
            with self._running.cond:
                self._running.count += 1
                self._busy.add(spec.id)
            started = time.perf_counter()
            ok = False
            try:
                summary = spec.func(self.runtime) or {}
                ok = True
                if spec.id != "watchdog":
                    log.info("job done", extra={"job": spec.id, **summary, **_took(started)})
            except Exception:
                log.exception("job failed", extra={"job": spec.id, **_took(started)})
            finally:
                self.runtime.metrics.record_job(spec.id, time.perf_counter() - started, ok=ok)
                with self._running.cond:
                    self._running.count -= 1
                    self._busy.discard(spec.id)
                    self._running.cond.notify_all()

        run_job.__name__ = f"job_{spec.id}"
        return run_job

    def _watchdog(self, _runtime: Runtime) -> None:
        # reaching here proves the scheduler still dispatches jobs; systemd restarts us if not
        self.notifier.watchdog()


def _took(started: float) -> dict[str, float]:
    return {"seconds": round(time.perf_counter() - started, 3)}


def run_service(config: Config, database: Database, jobs: Sequence[JobSpec]) -> int:
    """Take the lock, start the status listener, schedule `jobs` until stopped; the exit code.

    Raises AlreadyRunningError (exit 1) when another `run` holds this database.
    """
    from monitor.polling import sync_feeds
    from monitor.service.health import HealthCheck, StatusServer
    from monitor.service.lock import acquire_scheduler_lock, setup_lock

    lock = acquire_scheduler_lock(database)  # before anything writes
    server: StatusServer | None = None
    try:
        # config.toml is the truth about which feeds exist; a `poll` may be syncing at once
        with setup_lock(database), database.transaction() as session:
            sync_feeds(session, config.feeds)
        stall = config.queue.stall_timeout if config.queue.distributed else None
        metrics = Metrics(database, queue_stall_timeout=stall)
        service = Service(Runtime(config, database, metrics), jobs, lock, Notifier())
        if config.service.listen:
            health = HealthCheck(database, lambda: service.running, lock.alive)
            server = StatusServer(
                config.service.listen,
                health,
                metrics,
                allowed_hosts=config.service.allowed_hosts,
            ).start()
        code = service.run()
    finally:
        if server is not None:
            server.stop()
        lock.release()
    if service.abandoned:
        # A job is stuck in a network call past its grace. Leaving now drops its connection
        # and open transaction, which the database rolls back; waiting would break the
        # promise to stop within seconds. Python's exit would join the worker thread, so we
        # flush the logs and leave directly.
        logging.shutdown()
        os._exit(code)
    return code
