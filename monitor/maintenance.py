"""Daily upkeep: prune old article text, then let the database tidy itself.

Retention drops only `articles.text`, the bulk of the database; the article row, its URL and
title, and every evidence row (which keeps its own sentence) stay, so `history` still explains
each state. Text is pruned only once the article has been processed: an article waiting for
the engine still needs it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text, update
from sqlalchemy.exc import SQLAlchemyError

from monitor.config import Config
from monitor.db import Database
from monitor.db.models import Article, utcnow
from monitor.errors import DatabaseError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaintenanceReport:
    pruned_articles: int
    optimised: str  # what the database was asked to do


def prune_article_text(database: Database, retention_days: int, *, now: datetime | None) -> int:
    """Null the text of processed articles fetched more than `retention_days` ago."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    statement = (
        update(Article)
        .where(
            Article.text.is_not(None),
            Article.processed_at.is_not(None),
            Article.fetched_at < cutoff,
        )
        .values(text=None)
        .execution_options(synchronize_session=False)
    )
    with database.transaction() as session:
        result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def optimise(database: Database) -> str:
    """Refresh planner statistics; on SQLite also fold the WAL back into the database file."""
    engine = database.engine
    if engine.dialect.name == "sqlite":
        statements = ["PRAGMA optimize", "PRAGMA wal_checkpoint(TRUNCATE)"]
    else:
        statements = ["ANALYZE"]
    with engine.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
        conn.commit()
    return "; ".join(statements)


def run_maintenance(
    database: Database, config: Config, *, now: datetime | None = None
) -> MaintenanceReport:
    """Retention, then optimise; a failure names the step and the database."""
    try:
        pruned = prune_article_text(database, config.service.retention_days, now=now)
        done = optimise(database)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"maintenance of {engine_name(database)} failed: {exc}") from exc
    log.info(
        "maintenance done",
        extra={"pruned_articles": pruned, "retention_days": config.service.retention_days},
    )
    return MaintenanceReport(pruned_articles=pruned, optimised=done)


def engine_name(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=True)
