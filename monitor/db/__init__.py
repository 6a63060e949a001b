"""Database access: engine set-up (SQLite pragmas, PostgreSQL pooling) and schema migrations."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import ConfigError, DatabaseError

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets `status` read while the service writes; busy_timeout rides out short write locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _postgres_args(query: Any, connect_timeout: float, statement_timeout: float) -> dict[str, Any]:
    """libpq settings that bound every wait. A ``connect_timeout`` or ``statement_timeout`` the
    URL sets itself wins; other ``options`` in the URL (a search_path, say) are kept."""
    args: dict[str, Any] = {}
    if "connect_timeout" not in query:
        args["connect_timeout"] = max(2, math.ceil(connect_timeout))  # libpq floors at 2 s
    options = query.get("options", "")
    options = " ".join(options) if isinstance(options, tuple) else str(options)
    if "statement_timeout" not in options:
        limit = f"-c statement_timeout={math.ceil(statement_timeout * 1000)}"
        args["options"] = f"{options} {limit}".strip()
    return args


def make_engine(
    url: str, *, connect_timeout: float = 10.0, statement_timeout: float = 600.0
) -> Engine:
    """An engine for a sqlite:/// or postgresql+psycopg:// URL, creating SQLite's folder.

    The timeouts apply to PostgreSQL; SQLite has its own busy timeout for write locks."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _writable(url, Path(parsed.database).parent)
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":  # psycopg 3 is the driver we ship, not psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg")
    args = _postgres_args(parsed.query, connect_timeout, statement_timeout)
    return create_engine(parsed, pool_pre_ping=True, connect_args=args)


def _writable(url: str, path: Path, *, file: bool = False) -> None:
    """Create the SQLite file's folder (and with `file`, the file), or say plainly that
    database.url names a place the monitor cannot write: a config error (exit 2), since
    retrying cannot fix it."""
    try:
        if file:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab"):  # an empty file is an empty SQLite database
                pass
        else:
            path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"database.url: {url}: cannot create or write {exc.filename or path} ({reason}):"
            " name a file in a folder the monitor's user can write, such as"
            ' "sqlite:///state/rumours.db" (relative to config.toml)'
        ) from exc


def libpq_conninfo(
    url: str, *, connect_timeout: float = 10.0, statement_timeout: float = 600.0
) -> str:
    """The PostgreSQL URL as a libpq conninfo string (for psycopg pools such as Procrastinate's),
    with the same bounded waits and the same `options` (a search_path, say) as our engine."""
    from psycopg.conninfo import make_conninfo

    parsed = make_url(url)
    params: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "dbname": parsed.database,
        "user": parsed.username,
        "password": parsed.password,
    }
    for key, value in parsed.query.items():
        params[key] = " ".join(value) if isinstance(value, tuple) else value
    params.update(_postgres_args(parsed.query, connect_timeout, statement_timeout))
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed together or rolled back together."""
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine) -> Any:
    """The migrations' Alembic config bound to an engine, for `alembic.command` (upgrade, or a
    downgrade when testing how an older schema is met)."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Create or upgrade the schema to the newest migration: the revisions before and after."""
    from alembic import command

    try:
        before = current_revision(engine)
        if before is not None and not _known(before):
            raise DatabaseError(_newer_schema(engine, before))
        command.upgrade(alembic_config(engine), "head")
        return before, current_revision(engine)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database {engine.url!r}: migration failed: {exc}") from exc


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _scripts() -> ScriptDirectory:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


def head_revision() -> str:
    """The newest migration this version of the monitor ships."""
    head = _scripts().get_current_head()
    assert isinstance(head, str)
    return head


def _known(revision: str) -> bool:
    """Whether this version ships the migration `revision` (a later version's is unknown)."""
    return any(script.revision == revision for script in _scripts().walk_revisions())


def _newer_schema(engine: Engine, revision: str) -> str:
    # Installing an older release over a newer one (a rollback) leaves this: migrating down
    # needs the newer code, which alone knows what its revisions did.
    return (
        f"database {engine.url!r} has schema revision {revision}, newer than this version knows"
        f" (its newest is {head_revision()}): a later version of the monitor upgraded it; run"
        " that version, or this one on a backup taken before the upgrade"
    )


def require_schema(engine: Engine) -> None:
    """Fail with a helpful message unless `init` has brought this database to our schema."""
    try:
        ready = inspect(engine).has_table("rumours")
        revision = current_revision(engine) if ready else None
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)  # the driver's own message, without SQLAlchemy's link
        cause = str(orig if orig is not None else exc)
        hint = ""
        if "timeout" in cause.lower():
            hint = (
                "\nthe server accepted the connection but did not answer: check it, or raise"
                " [database] connect_timeout / statement_timeout for a slow one"
            )
        raise DatabaseError(f"cannot open database {engine.url!r}: {cause}{hint}") from exc
    if not ready:
        raise DatabaseError(
            f"database {engine.url!r} has no monitor schema yet: run `rumour-monitor init` first"
        )
    head = head_revision()
    if revision != head and revision is not None and not _known(revision):
        raise DatabaseError(_newer_schema(engine, revision))
    if revision != head:
        # Older: this version added tables or columns since.
        raise DatabaseError(
            f"database {engine.url!r} has schema revision {revision}, this version needs "
            f"{head}: run `rumour-monitor init` to upgrade it"
        )


def installation_id(session: Session) -> str:
    """This database's random id, made once by the migration that added it (0006)."""
    from monitor.db.models import Installation

    found = session.scalar(select(Installation.id).limit(1))
    if found is None:  # only a hand-edited database lacks it: `init` cannot make one twice
        raise DatabaseError(
            "the database has no installation id (table installation is empty): restore the"
            " row, or insert one with a fresh random 32-hex-digit id"
        )
    return found


def sqlite_file(url: str) -> Path | None:
    """The file of a sqlite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


class Database:
    """An engine and its session factory, opened once per process from the config's URL."""

    def __init__(
        self,
        url: str,
        *,
        create: bool = True,
        connect_timeout: float = 10.0,
        statement_timeout: float = 600.0,
    ) -> None:
        self.url = url
        file = sqlite_file(url)
        if not create and file is not None and not file.exists():
            # Opening would create an empty file (and its folder) only to say it is empty.
            raise DatabaseError(
                f"database {file} does not exist yet: run `rumour-monitor init` first"
            )
        if create and file is not None:
            _writable(url, file, file=True)  # here, not deep inside a migration or a lock file
        self.engine = make_engine(
            url, connect_timeout=connect_timeout, statement_timeout=statement_timeout
        )
        self.sessions = session_factory(self.engine)

    def transaction(self) -> AbstractContextManager[Session]:
        return transaction(self.sessions)

    def dispose(self) -> None:
        self.engine.dispose()
