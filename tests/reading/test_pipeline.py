"""End to end: the invented Nimbus/Ferro timeline through the real model, stance and tracker."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from monitor.config import Config, load_config
from monitor.db import Database
from monitor.db.models import Alert, Article, Evidence, Rumour, SentenceEmbedding, Transition
from monitor.reading.embed import Embedder
from monitor.reading.pipeline import process_article, process_pending
from monitor.seeds import load_seeds, sync_rumours
from tests.story import SEEDS, TIMELINE


def add_article(
    db: Database, key: str, published: datetime, title: str, text: str, credibility: float = 0.7
) -> int:
    with db.transaction() as session:
        row = Article(
            canonical_url=f"https://news.example/{key}",
            url=f"https://news.example/{key}",
            source="Example News",
            credibility=credibility,
            title=title,
            text=text,
            content_hash=hashlib.sha256(text.encode()).hexdigest(),
            extraction="page",
            published_at=published,
            processed_at=None,
        )
        session.add(row)
        session.flush()
        return row.id


@pytest.fixture
def setup(db: Database, write_config: Callable[..., Path]) -> tuple[Database, Config]:
    config = load_config(write_config(seeds=SEEDS))
    with db.transaction() as session:
        sync_rumours(session, load_seeds(config.seeds.paths))
    return db, config


def states(db: Database) -> dict[str, tuple[str, float]]:
    with db.sessions() as session:
        return {r.id: (r.state, r.confidence) for r in session.scalars(select(Rumour))}


def counts(db: Database) -> tuple[int, int, int, int]:
    with db.sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(t))
            for t in (Evidence, Transition, Alert, SentenceEmbedding)
        )


def test_timeline_step_by_step(setup: tuple[Database, Config], embedder: Embedder) -> None:
    db, config = setup
    confidence = 0.5
    for key, published, title, text, ferro, kestrel in TIMELINE:
        article_id = add_article(db, key, published, title, text)
        reports = process_article(db, config, embedder, article_id)
        now = states(db)
        assert now["nimbus-ferro"][0] == ferro, key
        assert now["nimbus-kestrel"][0] == kestrel, key
        for report in reports:
            assert report.url == f"https://news.example/{key}"
            assert report.at == published
        if key == "hedged":  # a hedged report moves confidence up, never the state
            assert now["nimbus-ferro"][1] > confidence
            assert reports == []
        if key == "denial":
            assert now["nimbus-ferro"][1] < confidence
        confidence = now["nimbus-ferro"][1]
    with db.sessions() as session:
        trail = session.execute(
            select(Transition.from_state, Transition.to_state, Transition.signal)
            .where(Transition.rumour_id == "nimbus-ferro")
            .order_by(Transition.at)
        ).all()
    assert [tuple(t) for t in trail] == [
        ("unconfirmed", "denied", "deny"),
        ("denied", "confirmed", "confirm"),
        ("confirmed", "formalized", "formalize"),
        ("formalized", "abandoned", "abandon"),
    ]


def test_noise_is_not_evidence(setup: tuple[Database, Config], embedder: Embedder) -> None:
    db, config = setup
    ids = {key: add_article(db, key, p, t, x) for key, p, t, x, _, _ in TIMELINE}
    process_pending(db, config, embedder)
    with db.sessions() as session:
        evidence = {(e.rumour_id, e.article_id): e for e in session.scalars(select(Evidence))}
    # another pair of companies doing the same kind of deal: evidence for neither rumour
    assert ("nimbus-ferro", ids["other-pair"]) not in evidence
    assert ("nimbus-kestrel", ids["other-pair"]) not in evidence
    # Nimbus's other deal (with Kestrel) in an article that names Ferro in its title
    assert ("nimbus-ferro", ids["other-deal"]) not in evidence
    assert evidence[("nimbus-kestrel", ids["other-deal"])].signal == "confirm"
    # "declined to comment" is not a denial
    no_comment = evidence.get(("nimbus-ferro", ids["no-comment"]))
    assert no_comment is None or no_comment.signal == "none"
    # the strongest sentence of the signed-deal article is the one that counted
    signed = evidence[("nimbus-ferro", ids["signed"])]
    assert signed.signal == "formalize" and "signed" in signed.sentence


def test_replay_in_one_run_and_again_changes_nothing(
    setup: tuple[Database, Config], embedder: Embedder
) -> None:
    db, config = setup
    for key, published, title, text, _, _ in reversed(TIMELINE):  # inserted out of order
        add_article(db, key, published, title, text)
    done: list[int] = []
    reports = process_pending(db, config, embedder, on_article=done.append)
    assert len(done) == len(set(done)) == len(TIMELINE)  # progress hears of each article once
    assert [(r.rumour_id, r.to_state) for r in reports] == [
        ("nimbus-ferro", "denied"),
        ("nimbus-kestrel", "confirmed"),
        ("nimbus-ferro", "confirmed"),
        ("nimbus-ferro", "formalized"),
        ("nimbus-ferro", "abandoned"),
    ]
    after_first, first_counts = states(db), counts(db)
    assert first_counts[2] == first_counts[1]  # one console alert per transition
    encoded = embedder.encoded

    assert process_pending(db, config, embedder) == []  # nothing pending
    with db.transaction() as session:  # force a full re-run of every article
        session.execute(update(Article).values(processed_at=None))
    assert process_pending(db, config, embedder) == []
    assert states(db) == after_first
    assert counts(db) == first_counts
    assert embedder.encoded == encoded  # every sentence and claim came from the cache
    with db.sessions() as session:
        assert session.scalar(select(func.count()).where(Article.processed_at.is_(None))) == 0


def test_transition_records_article_sentence_and_alerts(
    setup: tuple[Database, Config], embedder: Embedder
) -> None:
    db, config = setup
    key, published, title, text, _, _ = TIMELINE[2]  # the denial
    article_id = add_article(db, key, published, title, text)
    (report,) = process_pending(db, config, embedder, limit=5)
    assert (report.rumour_id, report.from_state, report.to_state) == (
        "nimbus-ferro",
        "unconfirmed",
        "denied",
    )
    assert "no plans" in report.sentence or "denies" in report.sentence
    with db.sessions() as session:
        transition = session.scalars(select(Transition)).one()
        assert transition.article_id == article_id
        assert transition.at == published
        assert transition.signal == "deny"
        assert transition.confidence_after < transition.confidence_before
        assert [a.channel for a in transition.alerts] == ["console"]
        evidence = session.get_one(Evidence, transition.evidence_id)
        assert evidence.stance == "denies" and evidence.sentence == transition.sentence


def test_older_article_does_not_undo_newer_state(
    setup: tuple[Database, Config], embedder: Embedder
) -> None:
    db, config = setup
    signed = TIMELINE[6]
    denial = TIMELINE[2]
    process_article(db, config, embedder, add_article(db, *signed[:4]))
    # the older denial arrives late: it lowers confidence but the deal stays formalized
    process_article(db, config, embedder, add_article(db, *denial[:4]))
    assert states(db)["nimbus-ferro"][0] == "formalized"


def test_a_failing_article_is_set_aside_and_never_blocks_the_next(
    setup: tuple[Database, Config], embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.reading.pipeline as pipeline

    db, config = setup
    key, published, title, text, _, _ = TIMELINE[0]
    poison = add_article(db, "poison", published, "Poison", "Nimbus Mobile text that breaks.")
    good = add_article(db, key, published.replace(minute=published.minute + 1), title, text)
    real = pipeline._process

    def flaky(session: object, run: object, article_id: int) -> object:
        if article_id == poison:
            raise RuntimeError("bug in a stage")  # not a MonitorError: an unexpected failure
        return real(session, run, article_id)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_process", flaky)
    for _ in range(pipeline.MAX_ATTEMPTS + 1):
        process_pending(db, config, embedder, limit=1)  # always the oldest pending first
    with db.sessions() as session:
        bad, ok = session.get(Article, poison), session.get(Article, good)
        assert bad is not None and ok is not None
        assert bad.processed_at is None and bad.process_attempts == pipeline.MAX_ATTEMPTS
        assert bad.process_error == "RuntimeError: bug in a stage"
        assert ok.processed_at is not None  # reached once the poison was set aside


def test_one_pass_of_the_poll_job_counts_one_attempt_per_failing_article(
    setup: tuple[Database, Config], embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job processes in small batches, oldest first. A failing article used to be picked
    # again by every batch of the same pass, so one passing hiccup (a lock timeout) spent all
    # its attempts within a second and set it aside for good.
    import monitor.reading.pipeline as pipeline
    from jobs import poll as poll_job
    from monitor.service.metrics import Metrics
    from monitor.service.scheduler import Runtime

    db, config = setup
    _, published, *_ = TIMELINE[0]
    poison = add_article(db, "poison", published, "Poison", "Nimbus Mobile text that breaks.")
    for n in range(3 * poll_job.BATCH):
        add_article(db, f"other-{n}", published.replace(minute=n + 1), f"Other {n}", "Weather.")
    real = pipeline._process

    def flaky(session: object, run: object, article_id: int) -> object:
        if article_id == poison:
            raise RuntimeError("database is locked")
        return real(session, run, article_id)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_process", flaky)
    runtime = Runtime(config, db, Metrics())
    runtime.shared("embedder", lambda: embedder)
    pending, _ = poll_job.process(runtime)
    assert pending == 3 * poll_job.BATCH + 1
    with db.sessions() as session:
        bad = session.get_one(Article, poison)
        assert bad.process_attempts == 1 and bad.processed_at is None
        left = session.scalar(select(func.count()).where(Article.processed_at.is_(None)))
        assert left == 1  # every other article was reached in the same pass
