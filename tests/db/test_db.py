from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from monitor.db import Database, current_revision, require_schema, upgrade
from monitor.db.models import Alert, Article, Evidence, Rumour, Transition
from monitor.errors import ConfigError, DatabaseError


def _rumour(rid: str = "r1") -> Rumour:
    return Rumour(id=rid, claim="Acme will buy Widget Works", entities=["Acme"], paraphrases=[])


def _article(url: str = "https://news.example/a") -> Article:
    at = datetime(2021, 3, 30, 9, 0, tzinfo=UTC)
    return Article(canonical_url=url, url=url, content_hash="h" * 64, published_at=at)


def test_migrations_create_every_table_and_are_idempotent(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "feeds",
        "feed_entries",
        "articles",
        "sentence_embeddings",
        "rumours",
        "evidence",
        "transitions",
        "alerts",
    } <= tables
    upgrade(db.engine)  # a second run changes nothing and does not fail
    assert current_revision(db.engine) is not None


def test_times_come_back_aware_and_in_utc(db: Database) -> None:
    shanghai = timezone(timedelta(hours=8))
    with db.transaction() as s:
        a = _article()
        a.published_at = datetime(2021, 3, 30, 17, 0, tzinfo=shanghai)
        s.add(a)
    with db.sessions() as s:
        got = s.scalars(select(Article)).one().published_at
    assert got == datetime(2021, 3, 30, 9, 0, tzinfo=UTC)
    assert got.tzinfo is not None


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.transaction() as s:
        a = _article()
        a.published_at = datetime(2021, 3, 30, 9, 0)
        s.add(a)


def test_canonical_url_is_unique(db: Database) -> None:
    with db.transaction() as s:
        s.add(_article())
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(_article())


def _transition(db: Database) -> int:
    with db.transaction() as s:
        rumour, article = _rumour(), _article()
        s.add_all([rumour, article])
        s.flush()
        ev = Evidence(
            rumour_id="r1",
            article_id=article.id,
            sentence="Acme signed.",
            stance="supports",
            signal="formalize",
            similarity=0.8,
            confidence_before=0.5,
            confidence_after=0.9,
            at=article.published_at,
        )
        s.add(ev)
        s.flush()
        tr = Transition(
            rumour_id="r1",
            evidence_id=ev.id,
            article_id=article.id,
            from_state="unconfirmed",
            to_state="formalized",
            signal="formalize",
            sentence="Acme signed.",
            confidence_before=0.5,
            confidence_after=0.9,
            at=article.published_at,
        )
        s.add(tr)
        s.flush()
        return tr.id


def test_one_alert_per_transition_and_channel(db: Database) -> None:
    tid = _transition(db)
    with db.transaction() as s:
        s.add(Alert(transition_id=tid, channel="email"))
        s.add(Alert(transition_id=tid, channel="slack"))
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(Alert(transition_id=tid, channel="email"))


def test_evidence_counts_once_per_article(db: Database) -> None:
    _transition(db)
    with pytest.raises(IntegrityError), db.transaction() as s:
        article_id = s.scalars(select(Article.id)).one()
        s.add(
            Evidence(
                rumour_id="r1",
                article_id=article_id,
                sentence="again",
                stance="reports",
                signal="none",
                similarity=0.7,
                confidence_before=0.9,
                confidence_after=0.9,
                at=datetime.now(UTC),
            )
        )


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000


def test_require_schema_tells_the_user_to_run_init(db_url: str) -> None:
    database = Database(db_url)
    with pytest.raises(DatabaseError, match="rumour-monitor init"):
        require_schema(database.engine)
    database.dispose()


def test_an_sqlite_folder_that_cannot_be_made_is_a_config_error_naming_the_key(
    tmp_path: Path,
) -> None:
    # A config error (exit 2, which systemd does not retry): database.url names a place the
    # monitor cannot write, and no restart changes that.
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ConfigError, match=r"^database\.url: .* cannot create or write .*state"):
        Database(f"sqlite:///{blocker / 'rumours.db'}")


def _setting(database: Database, name: str) -> str:
    with database.engine.connect() as conn:
        return str(conn.execute(text(f"SHOW {name}")).scalar_one())


def test_a_postgresql_statement_is_cut_off_at_the_statement_timeout(pg_url: str) -> None:
    database = Database(pg_url, statement_timeout=1)
    assert _setting(database, "statement_timeout") == "1s"
    assert _setting(database, "search_path").startswith("t_")  # the URL's own options kept
    with (
        pytest.raises(OperationalError, match="statement timeout"),
        database.engine.connect() as conn,
    ):
        conn.execute(text("SELECT pg_sleep(5)"))
    database.dispose()
    own = Database(f"{pg_url}{quote(' -cstatement_timeout=7s')}", statement_timeout=1)
    assert _setting(own, "statement_timeout") == "7s"  # the URL's own setting wins
    own.dispose()


def test_embedding_last_used_migration_backfills_and_downgrades(db_url: str) -> None:
    """An existing 0003 database with cached vectors: each gets its creation time as its last
    use; the downgrade takes the column (and its index) away again and upgrades cleanly."""
    from alembic import command

    from monitor.db import alembic_config
    from monitor.db.models import SentenceEmbedding

    db = Database(db_url)
    try:
        cfg = alembic_config(db.engine)
        command.upgrade(cfg, "0003")
        created = [datetime(2025, 1, n, 8, 30) for n in (1, 2)]  # stored naive, as UTC
        with db.engine.begin() as conn:
            for n, at in enumerate(created):
                conn.execute(
                    text(
                        "INSERT INTO sentence_embeddings (sentence_hash, model, dim, vector, "
                        "created_at) VALUES (:key, 'bundled', 1, :vector, :at)"
                    ),
                    {"key": f"{n:064d}", "vector": b"\x00\x00\x80\x3f", "at": at},
                )
        upgrade(db.engine)
        with db.sessions() as s:
            rows = s.scalars(select(SentenceEmbedding).order_by(SentenceEmbedding.sentence_hash))
            assert [r.last_used_at for r in rows] == [at.replace(tzinfo=UTC) for at in created]
        indexes = {i["name"] for i in inspect(db.engine).get_indexes("sentence_embeddings")}
        assert "ix_sentence_embeddings_last_used_at" in indexes

        command.downgrade(cfg, "0003")
        columns = {c["name"] for c in inspect(db.engine).get_columns("sentence_embeddings")}
        assert "last_used_at" not in columns and "created_at" in columns
        assert not inspect(db.engine).get_indexes("sentence_embeddings")
        with db.engine.connect() as conn:
            assert conn.scalar(text("SELECT COUNT(*) FROM sentence_embeddings")) == 2
        upgrade(db.engine)
        columns = {c["name"] for c in inspect(db.engine).get_columns("sentence_embeddings")}
        assert "last_used_at" in columns
    finally:
        db.dispose()
