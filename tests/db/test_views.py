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
    assert str(ev["last_transition_at"]).startswith("2021-02-22 04:30:00")
    assert str(ev["last_evidence_at"]).startswith("2021-02-22 04:30:00")
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
