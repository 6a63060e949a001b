"""The SQL views rumour_status and rumour_timeline, queried on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import inspect, text

from monitor.db import Database, alembic_config, upgrade
from monitor.db.models import Article, Evidence, Rumour, Transition

T0 = datetime(2021, 2, 19, 4, 30, tzinfo=UTC)


def _article(n: int, at: datetime) -> Article:
    url = f"https://news.example/{n}"
    return Article(
        canonical_url=url,
        url=url,
        source="Wire",
        title=f"Story {n}",
        text="...",
        content_hash=f"{n:064d}",
        published_at=at,
    )


def _evidence(rumour: str, article: Article, stance: str, signal: str, before: float) -> Evidence:
    return Evidence(
        rumour_id=rumour,
        article=article,
        sentence=f"{rumour} {stance} in {article.title}",
        stance=stance,
        signal=signal,
        similarity=0.8,
        confidence_before=before,
        confidence_after=before + 0.1,
        at=article.published_at,
    )


def _fill(db: Database) -> None:
    """Two rumours: `ev` with three evidence rows and two transitions, `quiet` with none."""
    with db.transaction() as s:
        s.add(Rumour(id="ev", claim="X will build a car", entities=["X"], paraphrases=[]))
        s.add(Rumour(id="quiet", claim="Y will buy Z", entities=["Y"], paraphrases=[]))
        a1, a2, a3 = (_article(n, T0 + timedelta(days=n)) for n in (1, 2, 3))
        s.add_all([a1, a2, a3])
        s.flush()
        e1 = _evidence("ev", a1, "denies", "deny", 0.5)
        e2 = _evidence("ev", a2, "reports", "none", 0.3)
        e3 = _evidence("ev", a3, "supports", "formalize", 0.4)
        s.add_all([e1, e2, e3])
        s.flush()
        for e, before, after in ((e1, "unconfirmed", "denied"), (e3, "denied", "formalized")):
            s.add(
                Transition(
                    rumour_id="ev",
                    evidence_id=e.id,
                    article_id=e.article_id,
                    from_state=before,
                    to_state=after,
                    signal=e.signal,
                    sentence=e.sentence,
                    confidence_before=e.confidence_before,
                    confidence_after=e.confidence_after,
                    at=e.at,
                )
            )


def _rows(db: Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text(sql), params)]


def test_rumour_status_has_one_row_per_rumour_with_last_transition(db: Database) -> None:
    _fill(db)
    rows = {r["id"]: r for r in _rows(db, "SELECT * FROM rumour_status")}
    assert set(rows) == {"ev", "quiet"}
    ev = rows["ev"]
    assert ev["evidence_count"] == 3
    assert ev["transition_count"] == 2
    assert (ev["last_from_state"], ev["last_to_state"]) == ("denied", "formalized")
    assert ev["last_signal"] == "formalize"
    assert ev["last_url"] == "https://news.example/3"
    # with their zone: an aware datetime on PostgreSQL (timestamptz), ISO 8601 text on SQLite
    for column in ("last_transition_at", "last_evidence_at"):
        assert _zoned(ev[column]) == T0 + timedelta(days=3)
    quiet = rows["quiet"]
    assert quiet["evidence_count"] == 0
    assert quiet["last_to_state"] is None and quiet["last_transition_at"] is None


def test_rumour_timeline_interleaves_evidence_and_transitions_in_time_order(db: Database) -> None:
    _fill(db)
    rows = _rows(
        db,
        "SELECT * FROM rumour_timeline WHERE rumour_id = :rid ORDER BY at, kind, row_id",
        rid="ev",
    )
    kinds = [(r["kind"], r["stance"], r["from_state"], r["to_state"]) for r in rows]
    assert kinds == [
        ("evidence", "denies", None, None),
        ("transition", None, "unconfirmed", "denied"),
        ("evidence", "reports", None, None),
        ("evidence", "supports", None, None),
        ("transition", None, "denied", "formalized"),
    ]
    assert [r["url"] for r in rows] == [f"https://news.example/{n}" for n in (1, 1, 2, 3, 3)]
    assert rows[-1]["title"] == "Story 3" and rows[-1]["source"] == "Wire"
    assert rows[-1]["sentence"] == "ev supports in Story 3"
    assert not _rows(db, "SELECT * FROM rumour_timeline WHERE rumour_id = 'quiet'")


def test_timeline_keeps_rows_whose_article_was_deleted(db: Database) -> None:
    _fill(db)
    with db.transaction() as s:
        s.execute(text("DELETE FROM transitions WHERE to_state = 'denied'"))
        s.execute(text("UPDATE transitions SET article_id = NULL"))
    rows = _rows(db, "SELECT kind, url FROM rumour_timeline WHERE kind = 'transition'")
    assert rows == [{"kind": "transition", "url": None}]


def test_downgrade_drops_the_views_and_upgrade_restores_them(db: Database) -> None:
    cfg = alembic_config(db.engine)
    command.downgrade(cfg, "0001")
    assert not {"rumour_status", "rumour_timeline"} & set(inspect(db.engine).get_view_names())
    upgrade(db.engine)
    assert {"rumour_status", "rumour_timeline"} <= set(inspect(db.engine).get_view_names())


def _zoned(value: Any) -> datetime:
    """A view's time as the reader gets it, which must carry its zone on both backends."""
    if isinstance(value, datetime):
        assert value.utcoffset() == timedelta(0), value
        return value
    assert isinstance(value, str) and value.endswith("+00:00"), value
    return datetime.fromisoformat(value)


def test_every_time_in_the_views_carries_its_zone(db: Database) -> None:
    _fill(db)
    status = _rows(db, "SELECT last_evidence_at, last_transition_at, updated_at FROM rumour_status")
    timeline = _rows(db, "SELECT at FROM rumour_timeline ORDER BY at, kind, row_id")
    times = [v for row in status + timeline for v in row.values() if v is not None]
    assert len(times) == 3 + 1 + 5  # `quiet` has only updated_at; five timeline rows
    assert [_zoned(row["at"]) for row in timeline] == sorted(_zoned(row["at"]) for row in timeline)
    if db.engine.dialect.name == "sqlite":  # one form, that of every --json
        assert timeline[0]["at"] == (T0 + timedelta(days=1)).isoformat()


def test_the_readmes_last_seven_days_query_works(db: Database) -> None:
    _fill(db)
    with db.transaction() as s:
        s.execute(text("UPDATE transitions SET at = :now WHERE to_state = 'formalized'"),
                  {"now": datetime.now(UTC).replace(tzinfo=None)})  # fmt: skip
    since = (
        "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-7 days')"
        if db.engine.dialect.name == "sqlite"
        else "now() - interval '7 days'"
    )
    rows = _rows(
        db, f"SELECT to_state FROM rumour_timeline WHERE kind = 'transition' AND at >= {since}"
    )
    assert rows == [{"to_state": "formalized"}]


def test_upgrading_cleans_control_characters_stored_by_older_versions(db_url: str) -> None:
    database = Database(db_url)
    try:
        command.upgrade(alembic_config(database.engine), "0007")
        with database.engine.begin() as conn:  # as an older version wrote it, raw
            conn.execute(
                text(
                    "INSERT INTO articles (canonical_url, url, source, title, text, content_hash,"
                    " extraction, retry_page, published_at, fetched_at, credibility) VALUES"
                    " ('u', 'u', 'Wire', :title, :body, 'h', 'page', false, :at, :at, 0.6)"
                ),
                {
                    "title": "Deal\x1b[2J\x1b[H signed",
                    "body": "a\x07b\nc",
                    "at": T0.replace(tzinfo=None),
                },
            )
        upgrade(database.engine)
        assert _rows(database, "SELECT title, text FROM articles") == [
            {"title": "Deal signed", "text": "ab\nc"}
        ]
    finally:
        database.dispose()
