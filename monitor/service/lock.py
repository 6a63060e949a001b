"""One scheduler per database: a lock that dies with the process that holds it.

Two schedulers on one database would poll every feed twice and race each other's deliveries.
SQLite gets an exclusive `flock` on a file next to the database; PostgreSQL a session advisory
lock on a connection kept open for the life of the process. The kernel or the server drops
either when the process dies, even by `kill -9`, so a crash never leaves a stale lock behind.
`poll` never takes the lock: its work is keyed by database rows and safe alongside a `run`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from monitor.db import Database
from monitor.errors import AlreadyRunningError, DatabaseError

_ADVICE = "stop it first (`rumour-monitor poll` stays usable alongside it for a manual refresh)"


class SchedulerLock(Protocol):
    description: str

    def alive(self) -> bool:
        """Whether the lock is still held (a PostgreSQL connection can drop under us)."""

    def release(self) -> None: ...


class FileLock:
    """An exclusive flock on `<database>.lock`; the file records the holder's pid for messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"file lock {path}"
        self._file: IO[str] | None = None

    def acquire(self) -> FileLock:
        # "a+" so that opening never truncates the holder's pid before we know we own the lock
        handle = self.path.open("a+", encoding="utf-8")
        if not _try_flock(handle):
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise AlreadyRunningError(
                f"another `rumour-monitor run` (pid {holder}) already schedules the database "
                f"next to {self.path}; {_ADVICE}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return self

    def alive(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class AdvisoryLock:
    """A PostgreSQL session advisory lock, keyed by the schema the monitor's tables live in."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.description = "PostgreSQL advisory lock"
        self._conn: Connection | None = None
        self._key = 0

    def acquire(self) -> AdvisoryLock:
        try:
            # autocommit: a session lock must not pin an idle transaction for months
            conn = self.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            scope, key = _scope_key(conn, "scheduler")
            got = _try_advisory(conn, key)
        except SQLAlchemyError as exc:
            raise DatabaseError(
                f"cannot take the scheduler lock on {self._where()}: {exc}"
            ) from exc
        if not got:
            conn.close()
            raise AlreadyRunningError(
                f"another `rumour-monitor run` already schedules {scope} on {self._where()} "
                f"(advisory lock {key} is held); {_ADVICE}"
            )
        self.description = f"PostgreSQL advisory lock {key} on {scope}"
        self._conn, self._key = conn, key
        return self

    def _where(self) -> str:
        return make_url(self.database.url).render_as_string(hide_password=True)

    def alive(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def release(self) -> None:
        if self._conn is None:
            return
        _unlock(self._conn, self._key)
        self._conn.close()
        self._conn = None


class NoLock:
    """An in-memory SQLite database belongs to one process already."""

    description = "no lock (in-memory database)"

    def alive(self) -> bool:
        return True

    def release(self) -> None:
        pass


def advisory_key(scope: str, purpose: str = "scheduler") -> int:
    """A stable signed 64-bit key for pg_try_advisory_lock, derived from the schema name."""
    digest = hashlib.sha256(f"rumour-monitor {purpose} {scope}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_path(database_url: str) -> Path | None:
    """Where the SQLite lock file lives: next to the database file (None for :memory:)."""
    url = make_url(database_url)
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database).with_name(Path(url.database).name + ".lock")


def acquire_scheduler_lock(database: Database) -> SchedulerLock:
    """Take the one-scheduler-per-database lock or raise AlreadyRunningError naming the holder."""
    if database.engine.dialect.name == "sqlite":
        path = lock_path(database.url)
        if path is None:
            return NoLock()
        path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(path).acquire()
    return AdvisoryLock(database).acquire()


def scheduler_holder(database: Database) -> str | None:
    """Who holds the scheduler lock (a running `run`), or None; looks without taking it."""
    if database.engine.dialect.name == "sqlite":
        path = lock_path(database.url)
        if path is None or not path.exists():
            return None
        with path.open(encoding="utf-8") as handle:
            # A shared lock conflicts only with the holder's exclusive one, and is dropped at
            # once: the look leaves nothing behind.
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return f"pid {handle.read().strip() or 'unknown'}"
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return None
    try:
        with database.engine.connect() as conn:
            _, key = _scope_key(conn, "scheduler")
            # pg_locks shows a bigint advisory key as its high and low halves, unsigned.
            pid = conn.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid)"
                    " AND objsubid = 1"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                ),
                {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF},
            ).scalar()
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot look for the scheduler lock: {exc}") from exc
    return None if pid is None else f"its advisory lock held by server process {pid}"


SETUP_WAIT = 120.0  # seconds; a holder needs well under one, unless it migrates a big database


@contextmanager
def setup_lock(database: Database, *, wait: float = SETUP_WAIT) -> Iterator[None]:
    """Serialise schema upgrades and config syncs (`init`, and the feed sync of `poll`/`run`).

    Two `init`s on a fresh database would both create the tables, and two `poll`s after a feed
    was added to config.toml would both insert it: the loser fails on a unique key. Unlike
    the scheduler lock this one waits its turn, since every holder is done in moments.
    """
    if database.engine.dialect.name == "sqlite":
        path = lock_path(database.url)
        if path is None:
            yield
            return
        path = path.with_name(path.name.removesuffix(".lock") + ".setup.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+", encoding="utf-8") as handle:
            _wait_for(lambda: _try_flock(handle), f"file lock {path}", wait)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return
    with _advisory_setup_lock(database, wait):
        yield


def _try_flock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def _advisory_setup_lock(database: Database, wait: float) -> Iterator[None]:
    where = make_url(database.url).render_as_string(hide_password=True)
    try:
        conn = database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot open database {where}: {exc}") from exc
    try:
        key = _take_setup_lock(conn, where, wait)
        try:
            yield  # the body's own database errors pass through unchanged
        finally:
            _unlock(conn, key)
    finally:
        conn.close()


def _take_setup_lock(conn: Connection, where: str, wait: float) -> int:
    try:
        _, key = _scope_key(conn, "setup")
        _wait_for(lambda: _try_advisory(conn, key), f"advisory lock {key} on {where}", wait)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot take the setup lock on {where}: {exc}") from exc
    return key


def _scope_key(conn: Connection, purpose: str) -> tuple[str, int]:
    """The schema the monitor's tables live in, and the advisory key for ``purpose`` there."""
    schema = conn.execute(text("SELECT current_database() || '.' || current_schema()"))
    scope = str(schema.scalar_one())
    return scope, advisory_key(scope, purpose)


def _try_advisory(conn: Connection, key: int) -> bool:
    return bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one())


def _unlock(conn: Connection, key: int) -> None:
    """Unlock explicitly, since the connection goes back to the pool; one we cannot unlock is
    discarded instead, which ends its session and the session's locks with it."""
    try:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    except SQLAlchemyError:
        conn.invalidate()


def _wait_for(attempt: Callable[[], bool], what: str, wait: float) -> None:
    deadline = time.monotonic() + wait
    while not attempt():
        if time.monotonic() > deadline:
            raise DatabaseError(
                f"waited {wait:.0f}s for the {what}: another `rumour-monitor init`, `poll` or "
                "`run` is still upgrading the database or syncing config; try again once it is done"
            )
        time.sleep(0.05)
