from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select, update

from monitor.config import load_config
from monitor.db import Database
from monitor.db.models import Article, Evidence, Rumour, SentenceEmbedding, utcnow
from monitor.service.maintenance import prune_embeddings, run_maintenance

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _article(n: int, fetched_days_ago: int, processed: bool) -> Article:
    fetched = NOW - timedelta(days=fetched_days_ago)
    return Article(
        canonical_url=f"http://news.test/{n}",
        url=f"http://news.test/{n}",
        content_hash=f"{n:064d}",
        text=f"Article {n}: Acme said it will buy Widget Works.",
        published_at=fetched,
        fetched_at=fetched,
        processed_at=fetched if processed else None,
    )


def test_retention_prunes_old_processed_text_and_keeps_evidence(
    db: Database, write_config: Callable[..., Path]
) -> None:
    config = load_config(write_config("[service]\nretention_days = 30\n"))
    with db.transaction() as s:
        s.add(Rumour(id="acme", claim="Acme will buy Widget Works"))
        old, recent, unprocessed = (
            _article(1, 45, True),
            _article(2, 5, True),
            _article(3, 45, False),
        )
        s.add_all([old, recent, unprocessed])
        s.flush()
        s.add(
            Evidence(
                rumour_id="acme",
                article_id=old.id,
                sentence="Acme said it will buy.",
                stance="supports",
                signal="confirm",
                similarity=0.9,
                confidence_before=0.5,
                confidence_after=0.7,
                at=old.published_at,
            )
        )
    report = run_maintenance(db, config, now=NOW)
    assert report.pruned_articles == 1
    with db.sessions() as s:
        texts = {a.canonical_url[-1]: a.text for a in s.scalars(select(Article))}
        evidence = s.scalars(select(Evidence)).one()
    assert texts["1"] is None
    assert texts["2"] is not None  # within retention
    assert texts["3"] is not None  # not processed yet: the engine still needs it
    assert evidence.sentence == "Acme said it will buy."
    assert run_maintenance(db, config, now=NOW).pruned_articles == 0
    expected = "ANALYZE" if db.engine.dialect.name == "postgresql" else "wal_checkpoint(TRUNCATE)"
    assert expected in report.optimised


def _cached(key: str, last_used_days_ago: float, model: str = "m") -> SentenceEmbedding:
    used = NOW - timedelta(days=last_used_days_ago)
    return SentenceEmbedding(
        sentence_hash=key.ljust(64, "0"),
        model=model,
        dim=1,
        vector=b"\x00\x00\x80\x3f",
        created_at=NOW - timedelta(days=400),  # age does not matter, only the last use
        last_used_at=used,
    )


def _cached_keys(db: Database) -> set[tuple[str, str]]:
    with db.sessions() as s:
        rows = s.execute(select(SentenceEmbedding.sentence_hash, SentenceEmbedding.model))
        return {(key.rstrip("0"), model) for key, model in rows}


def test_embedding_cache_keeps_recently_used_rows_and_drops_unused_ones(
    db: Database, write_config: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(write_config("[service]\nembedding_cache_days = 10\n"))
    with db.transaction() as s:
        s.add_all(
            [
                _cached("a1", 0.5),
                _cached("a2", 9),
                _cached("b1", 11),
                _cached("b2", 300),
                _cached("b1", 12, model="other"),
            ]
        )
    with caplog.at_level(logging.INFO, logger="monitor.service.maintenance"):
        report = run_maintenance(db, config, now=NOW)
    assert report.pruned_embeddings == 3
    assert _cached_keys(db) == {("a1", "m"), ("a2", "m")}
    done = next(r for r in caplog.records if r.getMessage() == "maintenance done")
    assert (done.pruned_embeddings, done.embedding_cache_days) == (3, 10)  # type: ignore[attr-defined]
    assert run_maintenance(db, config, now=NOW).pruned_embeddings == 0


def test_cached_rows_without_a_last_use_are_pruned_by_their_age(
    db: Database, write_config: Callable[..., Path]
) -> None:
    # Written by a version before last_used_at (still running beside the upgraded one).
    old, new = _cached("old", 0), _cached("new", 0)
    new.created_at = NOW - timedelta(days=1)
    with db.transaction() as s:
        s.add_all([old, new])
        s.flush()
        s.execute(update(SentenceEmbedding).values(last_used_at=None))
    config = load_config(write_config("[service]\nembedding_cache_days = 10\n"))
    assert run_maintenance(db, config, now=NOW).pruned_embeddings == 1
    assert _cached_keys(db) == {("new", "m")}


def test_embedding_prune_works_through_a_backlog_in_batches(db: Database) -> None:
    with db.transaction() as s:
        s.add_all([_cached(f"old{n}", 40 + n) for n in range(7)] + [_cached("new", 1)])
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        deleted = prune_embeddings(db, 30, now=NOW, batch=3)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert deleted == 7
    assert _cached_keys(db) == {("new", "m")}
    deletes = [s for s in statements if s.lstrip().upper().startswith("DELETE")]
    assert len(deletes) == 3  # 3 + 3 + 1: each batch its own short statement


def test_the_maintenance_job_reports_pruned_embeddings(
    db: Database, write_config: Callable[..., Path]
) -> None:
    from jobs import maintenance as job
    from monitor.service.metrics import Metrics
    from monitor.service.scheduler import Runtime

    fresh = _cached("fresh", 0)
    fresh.last_used_at = utcnow()  # the job prunes against the real clock
    with db.transaction() as s:
        s.add_all([fresh, _cached("stale", 10_000)])  # far beyond the default 30 days
    config = load_config(write_config())
    summary = job.run(Runtime(config, db, Metrics()))
    assert summary["pruned_embeddings"] == 1
    assert _cached_keys(db) == {("fresh", "m")}
