from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitor.db import Database
from monitor.errors import AlreadyRunningError, DatabaseError
from monitor.service.lock import acquire_scheduler_lock, advisory_key, lock_path, setup_lock

HOLDER = """
import sys, time
from monitor.db import Database
from monitor.service.lock import acquire_scheduler_lock
lock = acquire_scheduler_lock(Database(sys.argv[1]))
print("locked", flush=True)
time.sleep(60)
"""


def test_second_lock_on_the_same_database_is_refused_then_free_after_release(db: Database) -> None:
    first = acquire_scheduler_lock(db)
    other = Database(db.url)
    try:
        with pytest.raises(AlreadyRunningError, match="already schedules") as info:
            acquire_scheduler_lock(other)
        assert "rumour-monitor poll" in str(info.value)
        assert first.alive()
        first.release()
        second = acquire_scheduler_lock(other)
        assert second.alive()
        second.release()
    finally:
        first.release()
        other.dispose()


def test_sqlite_lock_dies_with_a_killed_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state' / 'rumours.db'}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER), url], stdout=subprocess.PIPE, env=env
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"locked"
        db = Database(url)
        with pytest.raises(AlreadyRunningError, match=f"pid {holder.pid}"):
            acquire_scheduler_lock(db)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        lock = acquire_scheduler_lock(db)  # no stale lock left behind by kill -9
        assert lock_path(url) == tmp_path / "state" / "rumours.db.lock"
        lock.release()
        db.dispose()
    finally:
        holder.kill()
        holder.wait()


def test_advisory_key_is_stable_signed_64_bit_and_scoped() -> None:
    key = advisory_key("test.public")
    assert key == advisory_key("test.public")
    assert key != advisory_key("test.other")
    assert -(2**63) <= key < 2**63


def test_in_memory_sqlite_needs_no_lock() -> None:
    db = Database("sqlite:///:memory:")
    assert acquire_scheduler_lock(db).alive()
    assert acquire_scheduler_lock(db).alive()
    db.dispose()


def test_setup_lock_waits_for_its_holder_and_names_what_it_waits_for(db: Database) -> None:
    other = Database(db.url)
    try:
        with setup_lock(db):
            waiting = pytest.raises(DatabaseError, match="another `rumour-monitor init`")
            with waiting, setup_lock(other, wait=0.3):
                pass
            acquire_scheduler_lock(other).release()  # a lock of its own, not the scheduler's
        with setup_lock(other, wait=0.3):  # free once released
            pass
    finally:
        other.dispose()
