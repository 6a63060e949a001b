"""Distributed mode's set-up: config rules, `init` making the queue's schema, what people see."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from monitor.cli import cli
from monitor.db import Database
from monitor.queue import build_app, defer, upgrade_queue
from monitor.queue.app import EMBED, POLL, READ
from monitor.queue.schema import VERSION_TABLE, _migrations, newest_migration
from monitor.service import Metrics

QUEUE = '[queue]\nbackend = "procrastinate"\n'


def _run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.output


def test_procrastinate_on_sqlite_is_refused_naming_the_key(
    write_config: Callable[..., Path],
) -> None:
    code, out = _run(write_config(QUEUE), "init")
    assert code == 2
    assert "queue.backend: procrastinate keeps its jobs in PostgreSQL" in out
    assert 'backend = "local"' in out


def test_an_unknown_backend_is_refused(write_config: Callable[..., Path]) -> None:
    code, out = _run(write_config('[queue]\nbackend = "celery"\n'), "status")
    assert code == 2 and "queue.backend: must be local or procrastinate, got 'celery'" in out


def test_worker_in_the_embedded_default_says_what_to_set(
    write_config: Callable[..., Path],
) -> None:
    config = write_config()
    assert _run(config, "init")[0] == 0
    code, out = _run(config, "worker")
    assert code == 2 and 'needs backend = "procrastinate"' in out


def test_init_creates_the_queue_once_and_status_feeds_check_metrics_show_it(
    write_config: Callable[..., Path], pg_url: str
) -> None:
    feed = '[[feeds]]\nname = "One"\nurl = "http://127.0.0.1:9/one.xml"\n'
    config = write_config(QUEUE + feed, db_url=pg_url)
    code, out = _run(config, "init")
    assert code == 0, out
    assert f"job queue ready: Procrastinate schema {newest_migration()} created" in out
    code, out = _run(config, "init")
    assert code == 0 and f"Procrastinate schema {newest_migration()}\n" in out
    from monitor.config import load_config

    app = build_app(load_config(config), min_size=1, max_size=1).open()
    try:
        assert defer(app, POLL, feed_id=1) is not None
        assert defer(app, POLL, feed_id=1) is None  # one waiting poll per feed
    finally:
        app.close()
    code, out = _run(config, "status")
    assert code == 0 and "jobs: fetch 1 waiting / 0 running, model 0 waiting" in out
    assert "0 workers seen" in out
    assert "jobs: fetch 1 waiting" in _run(config, "feeds")[1]
    code, out = _run(config, "check")
    assert "warn  queue: jobs: fetch 1 waiting" in out and "no worker has checked in" in out
    db = Database(pg_url)
    try:
        scrape = Metrics(db, queue_stall_timeout=60).render().decode()
    finally:
        db.dispose()
    assert 'rumour_monitor_queue_jobs{queue="fetch",status="todo"} 1.0' in scrape
    assert 'rumour_monitor_queue_workers{status="alive"} 0.0' in scrape


def test_an_old_queue_schema_is_upgraded_migration_by_migration(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        first = _migrations()[0]
        with db.engine.begin() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute(first.read_text(encoding="utf-8"))
            conn.execute(text(f"CREATE TABLE {VERSION_TABLE} (name text NOT NULL)"))
            conn.execute(text(f"INSERT INTO {VERSION_TABLE} VALUES (:n)"), {"n": first.stem})
        assert upgrade_queue(db) == (first.stem, newest_migration())
        with db.engine.connect() as conn:
            functions = conn.execute(
                text(
                    "SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%'"
                    " AND pronamespace = current_schema()::regnamespace"
                )
            ).scalar_one()
            assert functions > 10
            conn.execute(text("SELECT procrastinate_prune_stalled_workers_v1(60)"))
    finally:
        db.dispose()


def test_a_free_model_worker_takes_the_waiting_reader_before_more_embedding(
    write_config: Callable[..., Path], pg_url: str
) -> None:
    """The reader reads each batch once it is embedded; taken last, it would run alone at the
    end while every other model worker waits."""
    import asyncio

    from monitor.config import load_config

    config = write_config(QUEUE, db_url=pg_url)
    assert _run(config, "init")[0] == 0
    app = build_app(load_config(config), min_size=1, max_size=1).open()
    try:
        embeds = [defer(app, EMBED, article_ids=[n]) for n in (1, 2, 3)]
        reader = defer(app, READ)
    finally:
        app.close()

    async def fetch_order() -> list[int]:
        async with build_app(load_config(config), min_size=1, max_size=1).open_async() as a:
            worker = await a.job_manager.register_worker()
            order = []
            while (job := await a.job_manager.fetch_job(["model"], worker)) is not None:
                order.append(int(job.id or 0))
            return order

    assert asyncio.run(fetch_order()) == [reader, *embeds]
