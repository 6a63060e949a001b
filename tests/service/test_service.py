"""The scheduler wiring, with small jobs of our own; `run` end to end is in test_run_e2e.py."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Config, load_config
from monitor.db import Database
from monitor.service import scheduler as service_module
from monitor.service.lock import NoLock, SchedulerLock
from monitor.service.metrics import Metrics
from monitor.service.scheduler import JobSpec, Runtime, Service
from monitor.service.sdnotify import Notifier


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Config:
    return load_config(write_config())


def _service(
    config: Config,
    db: Database,
    jobs: list[JobSpec],
    *,
    lock: SchedulerLock | None = None,
    notifier: Notifier | None = None,
) -> Service:
    runtime = Runtime(config, db, Metrics(db))
    return Service(runtime, jobs, lock or NoLock(), notifier)


def _start(service: Service) -> tuple[threading.Thread, dict[str, int]]:
    result: dict[str, int] = {}
    thread = threading.Thread(target=lambda: result.update(code=service.run()), daemon=True)
    thread.start()
    return thread, result


def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_jobs_get_explicit_ids_and_safe_options(config: Config, sqlite_db: Database) -> None:
    jobs = [
        JobSpec("poll", lambda rt: None, IntervalTrigger(seconds=30), 600, run_at_start=True),
        JobSpec("maintenance", lambda rt: None, IntervalTrigger(hours=24), 6 * 3600),
    ]
    service = _service(config, sqlite_db, jobs)
    scheduled = {job.id: job for job in service.scheduler.get_jobs()}
    assert set(scheduled) == {"poll", "maintenance"}
    for job, grace in ((scheduled["poll"], 600), (scheduled["maintenance"], 6 * 3600)):
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == grace


def test_jobs_run_on_schedule_share_objects_and_stop_cleanly(
    config: Config, sqlite_db: Database
) -> None:
    calls: list[int] = []
    built: list[object] = []

    def tick(rt: Runtime) -> Mapping[str, Any]:
        client = rt.shared("client", lambda: built.append(object()) or built[-1])
        calls.append(id(client))
        return {"count": len(calls)}

    service = _service(
        config,
        sqlite_db,
        [JobSpec("tick", tick, IntervalTrigger(seconds=0.2), 60, run_at_start=True)],
    )
    thread, result = _start(service)
    _wait(lambda: len(calls) >= 3)
    assert service.running
    service.stop()
    thread.join(timeout=5)
    assert not thread.is_alive() and result["code"] == 0
    assert len(built) == 1 and len(set(calls)) == 1  # built once, shared by every run
    assert not service.running


def test_a_failing_job_is_logged_and_the_schedule_goes_on(
    config: Config, sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []

    def flaky(_rt: Runtime) -> None:
        runs.append(1)
        raise RuntimeError("feed server exploded")

    service = _service(
        config,
        sqlite_db,
        [JobSpec("flaky", flaky, IntervalTrigger(seconds=0.2), 60, run_at_start=True)],
    )
    thread, result = _start(service)
    _wait(lambda: len(runs) >= 2)
    service.stop()
    thread.join(timeout=5)
    assert result["code"] == 0
    assert any(r.getMessage() == "job failed" and r.job == "flaky" for r in caplog.records)  # type: ignore[attr-defined]
    samples = service.runtime.metrics.render().decode()
    assert 'rumour_monitor_job_runs_total{job="flaky",outcome="error"}' in samples


def test_stop_waits_for_a_job_that_checks_the_stop_flag(
    config: Config, sqlite_db: Database
) -> None:
    finished: list[str] = []

    def long_job(rt: Runtime) -> None:
        for _ in range(200):  # "articles": stop between them
            if rt.stop.is_set():
                finished.append("stopped between articles")
                return
            time.sleep(0.05)

    service = _service(
        config,
        sqlite_db,
        [JobSpec("long", long_job, IntervalTrigger(hours=1), 60, run_at_start=True)],
    )
    thread, result = _start(service)
    _wait(lambda: "long" in service._busy)
    started = time.monotonic()
    service.stop()
    thread.join(timeout=5)
    assert result["code"] == 0 and time.monotonic() - started < 2
    assert finished == ["stopped between articles"] and service.abandoned == []


def test_a_job_that_outlives_the_grace_is_reported_abandoned(
    config: Config, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_module, "STOP_GRACE", 0.3)
    release = threading.Event()
    service = _service(
        config,
        sqlite_db,
        [
            JobSpec(
                "stuck",
                lambda rt: release.wait(10) and None,
                IntervalTrigger(hours=1),
                60,
                run_at_start=True,
            )
        ],
    )
    thread, result = _start(service)
    _wait(lambda: "stuck" in service._busy)
    service.stop()
    thread.join(timeout=5)
    release.set()
    assert result["code"] == 0 and service.abandoned == ["stuck"]


class _LostLock:
    description = "test lock"

    def alive(self) -> bool:
        return False

    def release(self) -> None:
        pass


def test_a_lost_lock_stops_the_service_with_exit_1(config: Config, sqlite_db: Database) -> None:
    ran: list[int] = []
    service = _service(
        config,
        sqlite_db,
        [
            JobSpec(
                "poll",
                lambda rt: ran.append(1) and None,
                IntervalTrigger(seconds=1),
                60,
                run_at_start=True,
            )
        ],
        lock=_LostLock(),
    )
    thread, result = _start(service)
    thread.join(timeout=5)
    assert result["code"] == 1 and ran == []


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(5)
    yield sock
    sock.close()


def test_systemd_hears_ready_watchdog_and_stopping(
    config: Config, sqlite_db: Database, notify_socket: socket.socket, tmp_path: Path
) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "600000"})
    assert notifier.watchdog_seconds == pytest.approx(0.6)
    service = _service(
        config,
        sqlite_db,
        [JobSpec("poll", lambda rt: None, IntervalTrigger(hours=1), 60)],
        notifier=notifier,
    )
    assert "watchdog" in {job.id for job in service.scheduler.get_jobs()}
    thread, result = _start(service)
    messages = [notify_socket.recv(256).decode() for _ in range(3)]
    service.stop()
    thread.join(timeout=5)
    messages.append(notify_socket.recv(256).decode())
    assert messages[0].startswith("READY=1\nSTATUS=scheduling poll")
    assert messages[1:3] == ["WATCHDOG=1", "WATCHDOG=1"]
    assert "STOPPING=1" in messages[3:] or notify_socket.recv(256) == b"STOPPING=1"
    assert result["code"] == 0


def test_notifier_is_silent_outside_systemd_and_ignores_another_pids_watchdog() -> None:
    assert Notifier({}).notify("READY=1") is False
    other = Notifier(
        {"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}
    )
    assert other.watchdog_seconds is None


def test_the_schedule_follows_the_service_config(write_config: Callable[..., Path]) -> None:
    from jobs import service_jobs

    config = load_config(write_config('[service]\ntick = "45s"\nmaintenance_at = "02:30"\n'))
    jobs = {spec.id: spec for spec in service_jobs(config)}
    assert set(jobs) == {"poll", "deliver", "maintenance"}
    assert jobs["poll"].trigger.interval.total_seconds() == 45  # type: ignore[attr-defined]
    assert jobs["poll"].run_at_start and jobs["deliver"].run_at_start
    assert str(jobs["maintenance"].trigger) == "cron[hour='2', minute='30']"
    assert jobs["maintenance"].misfire_grace_time >= 6 * 3600


@pytest.mark.parametrize(
    ("body", "key"),
    [('tick = "0s"', "service.tick"), ('maintenance_at = "25:00"', "service.maintenance_at")],
)
def test_bad_service_settings_name_the_key(
    write_config: Callable[..., Path], body: str, key: str
) -> None:
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(write_config(f"[service]\n{body}\n"))
