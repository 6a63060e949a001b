"""Daily upkeep: prune old article text and unused cached embeddings, then let the database
tidy itself.

Retention drops only `articles.text`, the bulk of the database; the article row, its URL and
title, and every evidence row (which keeps its own sentence) stay, so `history` still explains
each state. Text is pruned only once the article has been processed: an article waiting for
the engine still needs it.

The embedding cache only saves model time, so a vector no article has needed for
`service.embedding_cache_days` goes; if its sentence comes back, it is encoded again. The
verdicts model workers store ahead of the reading job (distributed mode) serve it within
seconds; those older than two days go.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, text, tuple_, update
from sqlalchemy.exc import SQLAlchemyError

from monitor.config import Config
from monitor.db import Database
from monitor.db.models import Article, SentenceEmbedding, utcnow
from monitor.errors import DatabaseError
from monitor.reading.verdicts import forget_verdicts

log = logging.getLogger(__name__)

# Cache rows deleted per transaction: a huge backlog (the first run after an upgrade, say) goes
# in short transactions, none holding SQLite's write lock or many PostgreSQL row locks for long.
EMBEDDING_PRUNE_BATCH = 5000
VERDICT_DAYS = 2  # stored verdicts kept: the reading job is seconds behind, or an outage


@dataclass(frozen=True)
class MaintenanceReport:
    pruned_articles: int
    optimised: str  # what the database was asked to do
    pruned_embeddings: int = 0  # cached sentence vectors deleted
    pruned_verdicts: int = 0  # verdicts stored ahead (distributed mode) deleted


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


def prune_embeddings(
    database: Database,
    cache_days: int,
    *,
    now: datetime | None,
    batch: int = EMBEDDING_PRUNE_BATCH,
) -> int:
    """Delete cached embeddings last used more than `cache_days` ago, `batch` rows per
    transaction, oldest first; the number deleted."""
    cutoff = (now or utcnow()) - timedelta(days=cache_days)
    # Also in the DELETE itself, not just the pick: a worker that used the row since (PostgreSQL
    # re-checks a row it waited for) keeps it. A row without a last use was written by a
    # version before the column (one still running beside this one, say): its creation counts.
    used = SentenceEmbedding.last_used_at
    unused = or_(used < cutoff, and_(used.is_(None), SentenceEmbedding.created_at < cutoff))
    oldest = (
        select(SentenceEmbedding.sentence_hash, SentenceEmbedding.model)
        .where(unused)
        .order_by(SentenceEmbedding.last_used_at)
        .limit(batch)
    )
    statement = (
        delete(SentenceEmbedding)
        .where(tuple_(SentenceEmbedding.sentence_hash, SentenceEmbedding.model).in_(oldest), unused)
        .execution_options(synchronize_session=False)
    )
    total = 0
    while True:
        with database.transaction() as session:
            result = session.execute(statement)
        deleted = int(getattr(result, "rowcount", 0) or 0)
        total += deleted
        if deleted < batch:
            return total


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
    """Retention, cache pruning, then optimise; a failure names the database."""
    service = config.service
    try:
        pruned = prune_article_text(database, service.retention_days, now=now)
        dropped = prune_embeddings(database, service.embedding_cache_days, now=now)
        verdicts = forget_verdicts(database, (now or utcnow()) - timedelta(days=VERDICT_DAYS))
        done = optimise(database)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"maintenance of {engine_name(database)} failed: {exc}") from exc
    log.info(
        "maintenance done",
        extra={
            "pruned_articles": pruned,
            "retention_days": service.retention_days,
            "pruned_embeddings": dropped,
            "embedding_cache_days": service.embedding_cache_days,
            "pruned_verdicts": verdicts,
        },
    )
    return MaintenanceReport(pruned, done, dropped, verdicts)


def engine_name(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=True)
