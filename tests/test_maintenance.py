from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from monitor.config import load_config
from monitor.db import Database
from monitor.db.models import Article, Evidence, Rumour
from monitor.maintenance import run_maintenance

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
