"""Procrastinate's tables, created and upgraded by `init` beside our own migrations.

Procrastinate ships its full schema (`schema.sql`) and one SQL file per change
(`sql/migrations/*.sql`, named so that they sort in the order they apply) but leaves recording
which ones ran to the application. We keep that in a one-row table, `queue_schema`: the name of
the last migration the database has. A fresh database gets `schema.sql` and the name of the
newest migration; an older one gets every migration after its name, in order, each in a
transaction of its own. Like our own schema, one that a later version upgraded is refused, not
guessed at.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.db import Database
from monitor.errors import DatabaseError

VERSION_TABLE = "queue_schema"
JOBS_TABLE = "procrastinate_jobs"


def _migrations() -> list[Path]:
    from procrastinate.schema import SchemaManager

    folder = Path(SchemaManager.get_migrations_path())
    return sorted(folder.glob("*.sql"), key=lambda path: path.name)


def newest_migration() -> str:
    """The name of the newest Procrastinate migration this installation ships."""
    return _migrations()[-1].stem


def queue_revision(database: Database) -> str | None:
    """The last Procrastinate migration the database has, or None before the first `init`."""
    with database.engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT name FROM {VERSION_TABLE}")).scalar()


def upgrade_queue(database: Database) -> tuple[str | None, str]:
    """Create or upgrade Procrastinate's schema; the migration names before and after.

    Each migration commits on its own, with the name it reached: some cannot share a
    transaction (a value added to an enum is usable only once committed), and an upgrade cut
    short resumes where it stopped. Call under `setup_lock`: two `init`s at once would both
    create the tables.
    """
    if database.engine.dialect.name != "postgresql":
        raise DatabaseError("the procrastinate queue needs PostgreSQL")
    try:
        with database.engine.begin() as conn:
            before = _recorded(conn)
            if before is None:
                return None, _create(conn)
        names = [path.stem for path in _migrations()]
        if before not in names:
            raise DatabaseError(
                f"the job queue's schema is at Procrastinate migration {before}, which this "
                f"installation does not ship (its newest is {names[-1]}): a later version of "
                "the monitor upgraded it; run that version"
            )
        for path in _migrations()[names.index(before) + 1 :]:
            with database.engine.begin() as conn:
                _run_sql(conn, path.read_text(encoding="utf-8"))
                conn.execute(text(f"UPDATE {VERSION_TABLE} SET name = :n"), {"n": path.stem})
        return before, names[-1]
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database {database.url!r}: queue schema failed: {exc}") from exc


def _recorded(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        conn.execute(text(f"CREATE TABLE {VERSION_TABLE} (name text NOT NULL)"))
        return None
    return conn.execute(text(f"SELECT name FROM {VERSION_TABLE}")).scalar()


def _create(conn: Connection) -> str:
    if inspect(conn).has_table(JOBS_TABLE):
        raise DatabaseError(
            f"the database has Procrastinate tables that `init` did not make ({JOBS_TABLE}),"
            f" and no {VERSION_TABLE} row saying which version they are: use a database "
            "(or schema) of its own for the monitor"
        )
    _run_sql(conn, resources.files("procrastinate.sql").joinpath("schema.sql").read_text())
    newest = newest_migration()
    conn.execute(text(f"INSERT INTO {VERSION_TABLE} (name) VALUES (:n)"), {"n": newest})
    return newest


def _run_sql(conn: Connection, sql: str) -> None:
    # Straight to psycopg with no parameters: the files hold `%` and `$$` bodies, and several
    # statements each, which it sends as they are.
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(sql)


def require_queue_schema(database: Database) -> None:
    """Fail with the fix unless `init` gave this database the queue's current schema."""
    try:
        revision = queue_revision(database)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read the job queue's schema: {exc}") from exc
    newest = newest_migration()
    if revision is None:
        raise DatabaseError(
            'the database has no job queue yet ([queue] backend = "procrastinate"): run '
            "`rumour-monitor init` first"
        )
    if revision != newest:
        raise DatabaseError(
            f"the job queue's schema is at {revision}, this installation needs {newest}: run "
            "`rumour-monitor init` to upgrade it"
        )
