"""Harder articles through the real model, stance and tracker: recaps beside news, re-read pages.

An invented story in our own words: Orbitel (a telecom group) and its rumoured purchase of
Tidewater Networks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from monitor.config import Config, load_config
from monitor.db import Database
from monitor.db.models import Article, Evidence
from monitor.polling.articles import ArticleDraft, PageRetry, apply_retry
from monitor.reading.embed import Embedder
from monitor.reading.pipeline import process_article
from monitor.seeds import load_seeds, sync_rumours
from tests.reading.test_pipeline import add_article, states

SEEDS = """
[[rumour]]
id = "orbitel-tidewater"
claim = "Orbitel will acquire Tidewater Networks"
entities = ["Orbitel", "Tidewater Networks|Tidewater"]
"""


@pytest.fixture
def setup(db: Database, write_config: Callable[..., Path]) -> tuple[Database, Config]:
    config = load_config(write_config(seeds=SEEDS))
    with db.transaction() as session:
        sync_rumours(session, load_seeds(config.seeds.paths))
    return db, config


def test_news_counts_over_a_recap_of_an_older_denial(
    setup: tuple[Database, Config], embedder: Embedder
) -> None:
    db, config = setup
    denial = add_article(
        db,
        "denial",
        datetime(2024, 3, 5, 9, tzinfo=UTC),
        "Orbitel denies it will acquire Tidewater Networks",
        "Orbitel said in a statement that it has no plans to acquire Tidewater Networks.",
    )
    process_article(db, config, embedder, denial)
    assert states(db)["orbitel-tidewater"][0] == "denied"
    # The recap matches the claim more closely than the news, but cannot move the rumour.
    news = add_article(
        db,
        "talks",
        datetime(2024, 6, 5, 9, tzinfo=UTC),
        "Orbitel changes course on Tidewater",
        "Orbitel said in March that it had no plans to acquire Tidewater Networks.\n"
        "On Tuesday, chief executive Mara Quill confirmed that Orbitel is in talks with "
        "Tidewater Networks about an acquisition, adding that the talks were at an early stage.\n"
        "Tidewater Networks declined to comment.",
    )
    (report,) = process_article(db, config, embedder, news)
    assert (report.from_state, report.to_state) == ("denied", "confirmed")
    assert "Mara Quill confirmed" in report.sentence
    with db.sessions() as session:
        evidence = session.scalars(select(Evidence).where(Evidence.article_id == news)).one()
        assert evidence.signal == "confirm"


def test_a_page_read_after_its_summary_counts_by_what_it_says_now(
    setup: tuple[Database, Config], embedder: Embedder
) -> None:
    # A page that failed at first is matched on its feed summary, then fetched again and
    # matched anew: its full text must replace the summary's reading, not be ignored for it.
    db, config = setup
    published = datetime(2024, 4, 10, 9, tzinfo=UTC)
    title = "Orbitel moves on Tidewater Networks"
    article_id = add_article(
        db,
        "teaser",
        published,
        title,
        "Orbitel could acquire Tidewater Networks within weeks, people familiar with the "
        "matter said.",
    )
    assert process_article(db, config, embedder, article_id) == []
    teaser_confidence = states(db)["orbitel-tidewater"][1]
    assert teaser_confidence > 0.5  # the hedged teaser moved confidence only
    page = (
        "Orbitel said on Tuesday it had signed a definitive agreement to acquire Tidewater "
        "Networks for $4.2 billion.\nThe boards of both companies approved the transaction."
    )
    draft = ArticleDraft(
        guid="",
        link_key="https://news.example/teaser",
        canonical="https://news.example/teaser",
        url="https://news.example/teaser",
        title="",
        text=page,
        author=None,
        site=None,
        extraction="page",
        retry_page=False,
        published_at=published,
        fetched_at=published,
    )
    with db.transaction() as session:
        retry = PageRetry(article_id, "https://news.example/teaser", published)
        assert apply_retry(session, retry, draft)
    (report,) = process_article(db, config, embedder, article_id)
    assert (report.from_state, report.to_state) == ("unconfirmed", "formalized")
    with db.sessions() as session:
        evidence = session.scalars(select(Evidence).where(Evidence.article_id == article_id))
        (only,) = evidence.all()  # the article still counts once
        assert only.signal == "formalize" and "definitive agreement" in only.sentence
        assert only.confidence_before == pytest.approx(0.5)  # the teaser's move taken back
    # matched a third time, unchanged: nothing moves
    with db.transaction() as session:
        session.execute(update(Article).values(processed_at=None))
    before = states(db)
    assert process_article(db, config, embedder, article_id) == []
    assert states(db) == before
