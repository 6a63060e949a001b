"""Shared fixtures: real SQLite always, real PostgreSQL when RUMOUR_MONITOR_TEST_PG is set.

Each PostgreSQL test gets a schema of its own (via search_path), so tests never see each
other's rows and can run against a database that other work also uses.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, text

from monitor.db import Database, upgrade

PG_ENV = "RUMOUR_MONITOR_TEST_PG"


def _pg_schema_url(base: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'rumours.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    yield from _pg_schema_url(base)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema's URL, for behaviour only PostgreSQL has."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    yield from _pg_schema_url(base)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    database = Database(db_url)
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database, for tests that are not about the backend."""
    database = Database(f"sqlite:///{tmp_path / 'rumours.db'}")
    upgrade(database.engine)
    yield database
    database.dispose()


SEED = """
[[rumour]]
id = "acme-widgets"
claim = "Acme Corp will buy Widget Works"
entities = ["Acme|Acme Corp", "Widget Works"]
paraphrases = ["Acme to acquire Widget Works"]

[[rumour]]
id = "globex-ev"
claim = "Globex will launch an electric truck in 2027"
state = "confirmed"
confidence = 0.7
"""


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config.toml (plus a seed file) into tmp_path and return its path."""

    def write(body: str = "", *, seeds: str = SEED, db_url: str | None = None) -> Path:
        (tmp_path / "seeds").mkdir(exist_ok=True)
        (tmp_path / "seeds" / "test.toml").write_text(seeds, encoding="utf-8")
        database = f'[database]\nurl = "{db_url}"\n' if db_url else ""
        path = tmp_path / "config.toml"
        path.write_text(database + body, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def encoder() -> object:
    """The real bundled all-MiniLM-L6-v2, loaded once for the whole test session."""
    from monitor.reading.embed import shared_encoder

    return shared_encoder("bundled")


@pytest.fixture
def embedder(encoder: object) -> object:
    """A fresh Embedder (its own `encoded` count) around the session's real model."""
    from monitor.reading.embed import Embedder

    return Embedder(encoder, "bundled", 64)  # type: ignore[arg-type]


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    """A local HTTP server that answers requests in parallel (the poller fetches concurrently)."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()
